package rollout_test

import (
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mizzen-mesh/mizzen/api/v1alpha1"
	"github.com/mizzen-mesh/mizzen/internal/mesh"
	"github.com/mizzen-mesh/mizzen/internal/rollout"
	"github.com/mizzen-mesh/mizzen/internal/validate"
)

const reviews = "VirtualService bookinfo/reviews"

// TestProgress walks a weight change (generation 1 → 2, first held by snapshot 10) over four
// candidate proxies: two routing by the rule, one that does not use it, one never written.
func TestProgress(t *testing.T) {
	tr := rollout.NewTracker()
	uses := func(gen int64) mesh.RuleSets {
		return mesh.RuleSets{{reviews: gen, "DestinationRule bookinfo/reviews": 1}}
	}
	tr.Record("bookinfo/a", rollout.Carried{Snapshot: 7, Rules: uses(1)})
	tr.Record("bookinfo/b", rollout.Carried{Snapshot: 7, Rules: uses(1)})
	tr.Record("other/c", rollout.Carried{Snapshot: 7, Rules: mesh.RuleSets{{"VirtualService other/x": 3}}})
	candidates := []string{"bookinfo/a", "bookinfo/b", "other/c", "bookinfo/new"}
	target := rollout.Target{Rule: reviews, Generation: 2, Since: 10}

	steps := []struct {
		name string
		do   func()
		want rollout.Progress
		done bool
	}{
		{"before any proxy caught up", func() {}, rollout.Progress{Total: 4, Updated: 0, Unknown: 2}, false},
		{"a updated", func() { tr.Record("bookinfo/a", rollout.Carried{Snapshot: 10, Rules: uses(2)}) }, rollout.Progress{Total: 4, Updated: 1, Unknown: 2}, false},
		{"c caught up without the rule", func() { tr.Record("other/c", rollout.Carried{Snapshot: 11, Rules: nil}) }, rollout.Progress{Total: 3, Updated: 1, Unknown: 1}, false},
		{"the new pod uses it", func() { tr.Record("bookinfo/new", rollout.Carried{Snapshot: 12, Rules: uses(2)}) }, rollout.Progress{Total: 3, Updated: 2}, false},
		{"b kept the old version from a later snapshot (refused)", func() { tr.Record("bookinfo/b", rollout.Carried{Snapshot: 12, Rules: uses(1)}) }, rollout.Progress{Total: 3, Updated: 2}, false},
		{"b updated", func() { tr.Record("bookinfo/b", rollout.Carried{Snapshot: 13, Rules: uses(2)}) }, rollout.Progress{Total: 3, Updated: 3}, true},
		{"a deleted", func() { tr.Forget("bookinfo/a") }, rollout.Progress{Total: 3, Updated: 2, Unknown: 1}, false},
	}
	for _, s := range steps {
		s.do()
		got := tr.Progress(target, slices.Values(candidates))
		if got != s.want || got.Done() != s.done {
			t.Errorf("%s: got %+v (done %v), want %+v (done %v)", s.name, got, got.Done(), s.want, s.done)
		}
	}
	// A generation no snapshot holds yet: nobody is caught up.
	if got := tr.Progress(rollout.Target{Rule: reviews, Generation: 3}, slices.Values([]string{"bookinfo/b"})); got.Done() || got.Total != 1 {
		t.Errorf("generation without a snapshot: %+v", got)
	}
}

func TestConditions(t *testing.T) {
	accepted := metav1.Condition{Type: v1alpha1.ConditionAccepted, Status: metav1.ConditionTrue}
	resolved := rollout.ResolvedRefs(nil, 4)
	if resolved.Status != metav1.ConditionTrue || resolved.ObservedGeneration != 4 {
		t.Errorf("resolved: %+v", resolved)
	}
	missing := rollout.ResolvedRefs([]validate.Problem{{Field: "VirtualService a/b spec.http[0]", Reason: "SubsetNotFound", Message: "no v3"}}, 4)
	if missing.Status != metav1.ConditionFalse || missing.Reason != "SubsetNotFound" || !strings.Contains(missing.Message, "no v3") {
		t.Errorf("missing: %+v", missing)
	}
	cases := []struct {
		name                 string
		accepted, resolved   metav1.Condition
		p                    rollout.Progress
		progressing, ready   metav1.ConditionStatus
		readyReason, message string
	}{
		{"rolling out", accepted, resolved, rollout.Progress{Total: 12, Updated: 7}, metav1.ConditionTrue, metav1.ConditionFalse, v1alpha1.ReasonRollingOut, "7/12 proxies carry generation 4"},
		{"unknown proxies", accepted, resolved, rollout.Progress{Total: 3, Updated: 1, Unknown: 2}, metav1.ConditionTrue, metav1.ConditionFalse, v1alpha1.ReasonRollingOut, "(2 not yet reconciled)"},
		{"rolled out", accepted, resolved, rollout.Progress{Total: 12, Updated: 12}, metav1.ConditionFalse, metav1.ConditionTrue, v1alpha1.ReasonReady, "12/12 proxies carry generation 4"},
		{"no proxies", accepted, resolved, rollout.Progress{}, metav1.ConditionFalse, metav1.ConditionTrue, v1alpha1.ReasonNoProxies, "no proxy"},
		{"refs missing", accepted, missing, rollout.Progress{Total: 2, Updated: 2}, metav1.ConditionFalse, metav1.ConditionFalse, v1alpha1.ReasonRefsNotResolved, "no v3"},
		{"not accepted", metav1.Condition{Status: metav1.ConditionFalse, Message: "bad regex"}, resolved, rollout.Progress{Total: 2}, metav1.ConditionFalse, metav1.ConditionFalse, v1alpha1.ReasonNotAccepted, "bad regex"},
	}
	for _, c := range cases {
		pr := rollout.Progressing(c.accepted.Status == metav1.ConditionTrue, c.p, 4)
		rd := rollout.Ready(c.accepted, c.resolved, c.p, 4)
		if pr.Status != c.progressing || rd.Status != c.ready || rd.Reason != c.readyReason || !strings.Contains(rd.Message, c.message) || rd.ObservedGeneration != 4 {
			t.Errorf("%s: progressing %+v, ready %+v", c.name, pr, rd)
		}
	}
}

func TestWeights(t *testing.T) {
	dest := func(host, subset string, w int32) v1alpha1.HTTPRouteDestination {
		return v1alpha1.HTTPRouteDestination{Destination: v1alpha1.Destination{Host: host, Subset: v1alpha1.SubsetName(subset)}, Weight: w}
	}
	spec := &v1alpha1.VirtualServiceSpec{HTTP: []v1alpha1.HTTPRoute{
		{Route: []v1alpha1.HTTPRouteDestination{dest("reviews", "v2", 0)}}, // the header route of bookinfo
		{Redirect: &v1alpha1.HTTPRedirect{URI: "/x"}},
		{Route: []v1alpha1.HTTPRouteDestination{dest("reviews", "v1", 90), dest("reviews", "v3", 10)}},
	}}
	got := v1alpha1.WeightsSummary(rollout.Weights(spec))
	if got != "reviews:v1=90 reviews:v3=10" {
		t.Errorf("catch-all split: %q", got)
	}
	lone := &v1alpha1.VirtualServiceSpec{TCP: []v1alpha1.TCPRoute{{Route: []v1alpha1.RouteDestination{{Destination: v1alpha1.Destination{Host: "mongo"}}}}}}
	if got := v1alpha1.WeightsSummary(rollout.Weights(lone)); got != "mongo=100" {
		t.Errorf("lone TCP destination: %q", got)
	}
	if rollout.Weights(&v1alpha1.VirtualServiceSpec{}) != nil {
		t.Error("no route: want nil")
	}
}

// TestTruncate: a long message stays within the limit, cut on a rune boundary and marked.
func TestTruncate(t *testing.T) {
	msg := rollout.Truncate(strings.Repeat("é", rollout.MaxMessage), rollout.MaxMessage)
	if len(msg) > rollout.MaxMessage || !strings.HasSuffix(msg, " …") || strings.ToValidUTF8(msg, "?") != msg {
		t.Errorf("truncated to %d bytes, suffix %q", len(msg), msg[len(msg)-8:])
	}
	if rollout.Truncate("short", 10) != "short" {
		t.Error("a short message must stay as it is")
	}
}
