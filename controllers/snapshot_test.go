package controllers

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	v1 "github.com/mizzen-mesh/mizzen/api/v1alpha1"
	"github.com/mizzen-mesh/mizzen/internal/mesh"
	"github.com/mizzen-mesh/mizzen/internal/translate"
	"github.com/mizzen-mesh/mizzen/internal/validate"
)

// The gate in front of translate: which version of each rule the snapshot carries as rules turn
// invalid (internal/validate) or are refused by translate (InvalidConfig), and back.
func TestRuleGate(t *testing.T) {
	s := newSnapshotSource(nil, mesh.Settings{})
	invalid := map[int64]bool{} // generations internal/validate refuses
	s.vs.validate = func(vs *v1.VirtualService) []validate.Problem {
		if invalid[vs.Generation] {
			return []validate.Problem{{Field: "spec", Reason: "Invalid"}}
		}
		return nil
	}
	vs := func(gen int64) *v1.VirtualService {
		return &v1.VirtualService{ObjectMeta: metav1.ObjectMeta{Name: "reviews", Namespace: "default", UID: types.UID("u1"), Generation: gen}}
	}
	carried := func(items ...*v1.VirtualService) []int64 {
		s.mu.Lock()
		defer s.mu.Unlock()
		var gens []int64
		for _, v := range s.vs.filter(items) {
			gens = append(gens, v.Generation)
		}
		return gens
	}
	refuse := func(gen int64) bool {
		snap := &mesh.Snapshot{VirtualServices: []*v1.VirtualService{vs(gen)}}
		stale, marked := s.refused(snap, []validate.Problem{
			{Field: "VirtualService default/reviews spec.http[0].fault", Reason: translate.ReasonInvalidConfig},
		})
		if len(marked) > 0 && (len(marked) != 1 || marked[0].Object.GetGeneration() != gen || len(marked[0].Problems) != 1) {
			t.Fatalf("refused(generation %d) marked %+v", gen, marked)
		}
		return stale
	}
	expect := func(step string, got []int64, want ...int64) {
		t.Helper()
		if len(got) != len(want) || (len(got) == 1 && got[0] != want[0]) {
			t.Fatalf("%s: snapshot carries generations %v, want %v", step, got, want)
		}
	}

	expect("valid", carried(vs(1)), 1)
	invalid[2] = true
	expect("invalid update keeps the last valid version", carried(vs(2)), 1)
	if refuse(1) {
		t.Fatalf("refusing the only valid version reported the snapshot stale: nothing older to fall back to")
	}
	expect("valid again", carried(vs(3)), 3)
	gen := s.gen.Load()
	if !refuse(3) {
		t.Fatalf("refusing generation 3 did not report the snapshot stale")
	}
	if s.gen.Load() == gen {
		t.Fatalf("refusing generation 3 did not invalidate the snapshot")
	}
	expect("refused by translate: back to the last valid version", carried(vs(3)), 1)
	if !refuse(3) {
		t.Fatalf("a snapshot still holding refused generation 3 must be reported stale")
	}
	if refuse(1) {
		t.Fatalf("generation 1 is what the gate picks: not stale")
	}
	expect("fixed", carried(vs(4)), 4)
	expect("deleted and recreated invalid: left out", carried(&v1.VirtualService{ObjectMeta: metav1.ObjectMeta{
		Name: "reviews", Namespace: "default", UID: "u2", Generation: 2}}))
}

func TestVisibleTo(t *testing.T) {
	for _, tc := range []struct {
		exportTo []string
		all      bool
		want     []string
	}{
		{nil, true, nil},
		{[]string{"*"}, true, nil},
		{[]string{".", "*"}, true, nil},
		{[]string{"."}, false, []string{"shop"}},
		{[]string{"~"}, false, []string{"shop"}}, // visible nowhere, but the owner's inbound config may use it
		{[]string{"web", "."}, false, []string{"shop", "web"}},
	} {
		all, got := visibleTo(tc.exportTo, "shop")
		if all != tc.all || len(got) != len(tc.want) {
			t.Errorf("visibleTo(%v) = %v, %v; want %v, %v", tc.exportTo, all, got, tc.all, tc.want)
			continue
		}
		for _, ns := range tc.want {
			if !got[ns] {
				t.Errorf("visibleTo(%v) = %v, missing %s", tc.exportTo, got, ns)
			}
		}
	}
}

// After a restart the gate has seen no valid version: it falls back to the one status.rolledOut
// keeps, both for an invalid spec and for one translation refuses.
func TestRuleGateAfterRestart(t *testing.T) {
	invalid := map[int64]bool{5: true}
	newSource := func() *snapshotSource {
		s := newSnapshotSource(nil, mesh.Settings{})
		s.vs.validate = func(vs *v1.VirtualService) []validate.Problem {
			if invalid[vs.Generation] {
				return []validate.Problem{{Field: "spec", Reason: "Invalid"}}
			}
			return nil
		}
		return s
	}
	rolledOut := &v1.RolledOutSpec{Generation: 3, Spec: runtime.RawExtension{Raw: []byte(`{"hosts":["reviews"],"http":[{"route":[{"destination":{"host":"reviews","subset":"v1"},"weight":90},{"destination":{"host":"reviews","subset":"v2"},"weight":10}]}]}`)}}
	vs := func(gen int64, weight int32) *v1.VirtualService {
		return &v1.VirtualService{
			ObjectMeta: metav1.ObjectMeta{Name: "reviews", Namespace: "default", UID: "u1", Generation: gen},
			Spec: v1.VirtualServiceSpec{Hosts: []string{"reviews"}, HTTP: []v1.HTTPRoute{{Route: []v1.HTTPRouteDestination{
				{Destination: v1.Destination{Host: "reviews", Subset: "v1"}, Weight: weight},
			}}}},
			Status: v1.VirtualServiceStatus{RolledOut: rolledOut},
		}
	}
	check := func(step string, got []*v1.VirtualService) {
		t.Helper()
		if len(got) != 1 || got[0].Generation != 3 || len(got[0].Spec.HTTP[0].Route) != 2 || got[0].Spec.HTTP[0].Route[1].Weight != 10 {
			t.Fatalf("%s: carried %+v, want generation 3 with the 90/10 spec of status.rolledOut", step, got)
		}
	}

	s := newSource()
	s.mu.Lock()
	check("invalid generation 5", s.vs.filter([]*v1.VirtualService{vs(5, 50)}))
	s.mu.Unlock()

	s = newSource()
	s.mu.Lock()
	got := s.vs.filter([]*v1.VirtualService{vs(6, 50)})
	s.mu.Unlock()
	if len(got) != 1 || got[0].Generation != 6 {
		t.Fatalf("valid generation 6 must be carried as it is, got %+v", got)
	}
	if stale, _ := s.refused(&mesh.Snapshot{VirtualServices: []*v1.VirtualService{vs(6, 50)}}, []validate.Problem{
		{Field: "VirtualService default/reviews spec.http[0]", Reason: translate.ReasonInvalidConfig},
	}); !stale {
		t.Fatal("refusing generation 6 must make the snapshot stale")
	}
	s.mu.Lock()
	check("generation 6 refused by translate", s.vs.filter([]*v1.VirtualService{vs(6, 50)}))
	s.mu.Unlock()
}

// The gate hands the snapshot each rule without its status, sharing its spec with the cache's
// object, and makes one copy per object the cache holds: the same copy while the object is the
// same (its resourceVersion), a new one once a status write replaced it. The cache's object keeps
// its status.
func TestRuleGateCarriesRulesWithoutStatus(t *testing.T) {
	s := newSnapshotSource(nil, mesh.Settings{})
	vs := func(rv, message string) *v1.VirtualService {
		return &v1.VirtualService{
			ObjectMeta: metav1.ObjectMeta{Name: "reviews", Namespace: "default", UID: "u1", Generation: 2, ResourceVersion: rv},
			Spec:       v1.VirtualServiceSpec{Hosts: []string{"reviews"}},
			Status: v1.VirtualServiceStatus{ObservedGeneration: 2, Conditions: []metav1.Condition{{Type: v1.ConditionReady, Message: message}},
				RolledOut: &v1.RolledOutSpec{Generation: 1, Spec: runtime.RawExtension{Raw: []byte(`{"hosts":["reviews"]}`)}}},
		}
	}
	filter := func(obj *v1.VirtualService) *v1.VirtualService {
		s.mu.Lock()
		defer s.mu.Unlock()
		got := s.vs.filter([]*v1.VirtualService{obj})
		if len(got) != 1 {
			t.Fatalf("carried %d versions, want 1", len(got))
		}
		return got[0]
	}
	first := vs("10", "1/3 proxies")
	got := filter(first)
	if got == first || got.Status.Conditions != nil || got.Status.RolledOut != nil || got.Status.ObservedGeneration != 0 {
		t.Errorf("carried %p with status %+v; want a copy without status", got, got.Status)
	}
	if got.Generation != 2 || got.ResourceVersion != "10" || &got.Spec.Hosts[0] != &first.Spec.Hosts[0] {
		t.Error("the copy does not carry the object's metadata and share its spec")
	}
	if first.Status.Conditions == nil || first.Status.RolledOut == nil {
		t.Error("the cache's object lost its status")
	}
	if again := filter(first); again != got {
		t.Error("a second build made another copy of the same object")
	}
	if next := filter(vs("11", "3/3 proxies")); next == got || next.ResourceVersion != "11" || next.Status.Conditions != nil {
		t.Errorf("after a status write: carried %+v, want a new copy of the new object without status", next.ObjectMeta)
	}
}
