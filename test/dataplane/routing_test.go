package dataplane_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/mizzen-mesh/mizzen/internal/translate"
	"github.com/mizzen-mesh/mizzen/test/testenv"
)

const (
	reviews, reviewsGet = "reviews:9080", "/bookinfo.Reviews/Get"
	ratings, ratingsGet = "ratings:9080", "/bookinfo.Ratings/Get"
	details, detailsGet = "details:9080", "/bookinfo.Details/Get"
	splitRPCs           = 2000
)

// TestWeightedSplit: an 80/20 canary splits RPCs 80/20 between the subsets' pods, and moving it
// to 20/80 with a new config version moves the RPCs, without a new channel.
func TestWeightedSplit(t *testing.T) {
	mt := newMesh(t, reviews)
	cc := mt.dial(reviews, mt.apply("testdata/split-80-20.yaml"), reviewsGet)

	expectSplit(t, "80/20", spread(t, cc, splitRPCs, reviewsGet), splitRPCs, map[string]float64{"reviews-v1": 0.8, "reviews-v2": 0.2})

	mt.waitACK(mt.apply("testdata/split-20-80.yaml"))
	// The client applies an ACKed config asynchronously: wait until v2 clearly takes the most (at
	// 20%, more than 50 of 100 is 7.5 standard deviations away), then measure afresh.
	NewWithT(t).Eventually(func() int { return spread(t, cc, 100, reviewsGet)["reviews-v2"] }).
		WithTimeout(10 * time.Second).Should(BeNumerically(">", 50))
	expectSplit(t, "20/80", spread(t, cc, splitRPCs, reviewsGet), splitRPCs, map[string]float64{"reviews-v1": 0.2, "reviews-v2": 0.8})
}

// TestMatches: bookinfo's test-user rule (header end-user: jason → v2) and a regex on the gRPC
// method path (List methods → v3) take precedence in rule order; the rest goes to v1.
func TestMatches(t *testing.T) {
	mt := newMesh(t, reviews)
	cc := mt.dial(reviews, mt.apply("testdata/match.yaml"), reviewsGet)
	for _, c := range []struct {
		method  string
		headers []string
		want    string
	}{
		{reviewsGet, []string{"end-user", "jason"}, "reviews-v2"},
		{"/bookinfo.Reviews/ListAll", []string{"end-user", "jason"}, "reviews-v2"}, // first rule wins
		{"/bookinfo.Reviews/ListAll", nil, "reviews-v3"},
		{"/bookinfo.Reviews/List", nil, "reviews-v3"},
		{"/bookinfo.Reviews/GetList", nil, "reviews-v1"}, // the regex matches the whole path
		{reviewsGet, []string{"end-user", "jasonx"}, "reviews-v1"},
		{reviewsGet, []string{"end-user", "Jason"}, "reviews-v1"}, // exact is case-sensitive
		{reviewsGet, nil, "reviews-v1"},
	} {
		counts := spread(t, cc, 20, c.method, c.headers...)
		if counts[c.want] != 20 {
			t.Errorf("%s %v: got %v, want all 20 on %s", c.method, c.headers, counts, c.want)
		}
	}
}

// TestRetries: retries: {attempts: 3, retryOn: unavailable} makes 4 attempts at most; attempts: 0
// makes one.
func TestRetries(t *testing.T) {
	mt := newMesh(t, ratings)
	const retried, once = "/bookinfo.Ratings/Retried", "/bookinfo.Ratings/Once"
	cc := mt.dial(ratings, mt.apply("testdata/retries.yaml"), once)
	backend := mt.backends["ratings-v1"]
	for _, c := range []struct {
		method           string
		failures         int
		want             codes.Code
		wantAttemptsSeen int
	}{
		{retried, 3, codes.OK, 4},
		{retried, 4, codes.Unavailable, 4},
		{once, 1, codes.Unavailable, 1},
	} {
		before := backend.Calls(c.method)
		backend.FailNext(c.failures)
		_, err := call(cc, c.method)
		if status.Code(err) != c.want {
			t.Errorf("%s, %d failures: got %v, want %v", c.method, c.failures, err, c.want)
		}
		if n := backend.Calls(c.method) - before; n != c.wantAttemptsSeen {
			t.Errorf("%s, %d failures: the backend saw %d attempts, want %d", c.method, c.failures, n, c.wantAttemptsSeen)
		}
		backend.FailNext(0)
	}
}

// TestFaults: an abort at 100% fails every RPC with its gRPC status before it reaches the
// backend; an abort at 25% (HTTP 429, UNAVAILABLE to gRPC) fails a quarter; a fixed delay holds
// each RPC at least that long.
func TestFaults(t *testing.T) {
	mt := newMesh(t, ratings)
	cc := mt.dial(ratings, mt.apply("testdata/fault.yaml"), ratingsGet)
	backend := mt.backends["ratings-v1"]

	before := backend.Calls(ratingsGet)
	counts := spread(t, cc, 20, ratingsGet, "x-fault", "abort")
	if counts["code:PermissionDenied"] != 20 {
		t.Errorf("abort: got %v, want all 20 PERMISSION_DENIED", counts)
	}
	if n := backend.Calls(ratingsGet) - before; n != 0 {
		t.Errorf("abort: the backend saw %d calls, want none", n)
	}

	const quarterRPCs = 1000
	before = backend.Calls(ratingsGet)
	counts = spread(t, cc, quarterRPCs, ratingsGet, "x-fault", "abort-quarter")
	expectSplit(t, "abort 25%", counts, quarterRPCs, map[string]float64{"ratings-v1": 0.75, "code:Unavailable": 0.25})
	if n := backend.Calls(ratingsGet) - before; n != counts["ratings-v1"] {
		t.Errorf("abort 25%%: the backend saw %d calls, want the %d that succeeded", n, counts["ratings-v1"])
	}

	const delay = 300 * time.Millisecond // fault.yaml
	for range 3 {
		start := time.Now()
		got, err := call(cc, ratingsGet, "x-fault", "delay")
		took := time.Since(start)
		t.Logf("delayed RPC took %v", took)
		if err != nil || got != "ratings-v1" {
			t.Errorf("delay: got %q, %v; want success", got, err)
		}
		if took < delay {
			t.Errorf("delay: the RPC took %v, less than the fault's %v", took, delay)
		}
	}
	if got, err := call(cc, ratingsGet); err != nil || got != "ratings-v1" {
		t.Errorf("no fault: got %q, %v; want success", got, err)
	}
}

// expectOnly checks that counts has no keys but allowed.
func expectOnly(t *testing.T, counts map[string]int, allowed ...string) {
	t.Helper()
	rest := map[string]int{}
	for k, v := range counts {
		rest[k] = v
	}
	for _, k := range allowed {
		delete(rest, k)
	}
	if len(rest) > 0 {
		t.Errorf("unexpected outcomes %v (all: %v)", rest, counts)
	}
	t.Logf("outcomes: %v", counts)
}

// TestDefaultRoute: without rules, a service's RPCs spread over all its pods.
func TestDefaultRoute(t *testing.T) {
	mt := newMesh(t, reviews)
	cc := mt.dial(reviews, mt.apply(), reviewsGet)
	counts := spread(t, cc, 300, reviewsGet)
	expectOnly(t, counts, "reviews-v1", "reviews-v2", "reviews-v3")
	for _, pod := range []string{"reviews-v1", "reviews-v2", "reviews-v3"} {
		// Picked about a third of the time: none in 300 would be a 1-in-10^52 event.
		if counts[pod] == 0 {
			t.Errorf("no RPC reached %s: %v", pod, counts)
		}
	}
}

// TestMissingSubset: a route to a subset no DestinationRule defines fails its RPCs (the
// translation sends them to BlackHoleCluster and reports SubsetNotFound); it does not fall back to
// the other pods.
func TestMissingSubset(t *testing.T) {
	mt := newMesh(t, reviews)
	version, problems := mt.push("testdata/missing-subset.yaml")
	if len(problems) != 1 || problems[0].Reason != translate.ReasonSubsetNotFound {
		t.Errorf("problems: got %v, want one SubsetNotFound", problems)
	}
	cc := mt.dial(reviews, version, reviewsGet)
	const missing = "/bookinfo.Reviews/Missing"
	counts := spread(t, cc, 20, missing)
	if counts["code:Unavailable"] != 20 {
		t.Errorf("route to a missing subset: got %v, want all 20 UNAVAILABLE", counts)
	}
	for name, b := range mt.backends {
		if n := b.Calls(missing); n != 0 {
			t.Errorf("%s got %d calls of %s", name, n, missing)
		}
	}
}

// TestBookinfoSamples: Istio's own bookinfo routing samples, on top of its destination-rule-all.yaml,
// route RPCs as their guide says.
func TestBookinfoSamples(t *testing.T) {
	dir := testenv.CompatDir()
	if dir == "" {
		t.Skip("Istio's samples (../shared/compat/istio) are not beside the checkout")
	}
	dir = filepath.Join(dir, "samples/bookinfo/networking")
	jason := []string{"end-user", "jason"}
	for _, c := range []struct {
		sample  string
		target  string
		headers []string
		want    map[string]float64 // outcome → probability
	}{
		{"virtual-service-all-v1.yaml", reviews, nil, map[string]float64{"reviews-v1": 1}},
		{"virtual-service-all-v1.yaml", ratings, nil, map[string]float64{"ratings-v1": 1}},
		{"virtual-service-reviews-80-20.yaml", reviews, nil, map[string]float64{"reviews-v1": 0.8, "reviews-v2": 0.2}},
		{"virtual-service-reviews-90-10.yaml", reviews, nil, map[string]float64{"reviews-v1": 0.9, "reviews-v2": 0.1}},
		{"virtual-service-reviews-50-v3.yaml", reviews, nil, map[string]float64{"reviews-v1": 0.5, "reviews-v3": 0.5}},
		{"virtual-service-reviews-v2-v3.yaml", reviews, nil, map[string]float64{"reviews-v2": 0.5, "reviews-v3": 0.5}},
		{"virtual-service-reviews-v3.yaml", reviews, nil, map[string]float64{"reviews-v3": 1}},
		{"virtual-service-reviews-test-v2.yaml", reviews, jason, map[string]float64{"reviews-v2": 1}},
		{"virtual-service-reviews-test-v2.yaml", reviews, nil, map[string]float64{"reviews-v1": 1}},
		{"virtual-service-reviews-jason-v2-v3.yaml", reviews, jason, map[string]float64{"reviews-v2": 1}},
		{"virtual-service-reviews-jason-v2-v3.yaml", reviews, nil, map[string]float64{"reviews-v3": 1}},
		// HTTP 500 is UNKNOWN to gRPC.
		{"virtual-service-ratings-test-abort.yaml", ratings, jason, map[string]float64{"code:Unknown": 1}},
		{"virtual-service-ratings-test-abort.yaml", ratings, nil, map[string]float64{"ratings-v1": 1}},
	} {
		name := strings.TrimSuffix(c.sample, ".yaml") + " " + strings.Join(append([]string{c.target}, c.headers...), " ")
		t.Run(name, func(t *testing.T) {
			mt := newMesh(t, c.target)
			mt.base = []string{"testdata/mesh.yaml", filepath.Join(dir, "destination-rule-all.yaml")}
			method := "/bookinfo.Service/Get"
			cc := mt.dial(c.target, mt.apply(filepath.Join(dir, c.sample)), method)
			n := 20
			if len(c.want) > 1 {
				n = splitRPCs
			}
			expectSplit(t, c.sample, spread(t, cc, n, method, c.headers...), n, c.want)
		})
	}
}

// TestLocalityDistribute: a distribute rule's shares split RPCs between localities.
func TestLocalityDistribute(t *testing.T) {
	mt := newMesh(t, details)
	cc := mt.dial(details, mt.apply("testdata/locality-distribute.yaml"), detailsGet)
	expectSplit(t, "distribute 70/20/10", spread(t, cc, splitRPCs, detailsGet), splitRPCs,
		map[string]float64{"details-eu-b": 0.7, "details-eu-c": 0.2, "details-us": 0.1})
}

// TestLocalityFailover: RPCs stay in the client's zone while its pod serves, then fail over to
// the region's other zone, then to the failover region.
func TestLocalityFailover(t *testing.T) {
	mt := newMesh(t, details)
	cc := mt.dial(details, mt.apply("testdata/locality-failover.yaml"), detailsGet)
	g := NewWithT(t)
	for _, step := range []struct{ stop, want string }{
		{"", "details-eu-b"},
		{"details-eu-b", "details-eu-c"},
		{"details-eu-c", "details-us"},
	} {
		if step.stop != "" {
			mt.backends[step.stop].Stop()
			// gRPC moves to the next priority once it sees the pod gone.
			g.Eventually(func() map[string]int { return spread(t, cc, 20, detailsGet) }).
				WithTimeout(10*time.Second).Should(Equal(map[string]int{step.want: 20}), "after %s stopped", step.stop)
		}
		// Then everything stays there: no RPC to a farther locality.
		expectSplit(t, "stopped "+step.stop, spread(t, cc, 100, detailsGet), 100, map[string]float64{step.want: 1})
	}
}

// TestConsistentHash: with a ring hash on a header, every RPC of a user goes to one pod, and the
// users spread over the pods.
func TestConsistentHash(t *testing.T) {
	mt := newMesh(t, details)
	cc := mt.dial(details, mt.apply("testdata/consistent-hash.yaml"), detailsGet)
	used := map[string]int{}
	for i := range 30 {
		user := fmt.Sprintf("user-%d", i)
		counts := spread(t, cc, 10, detailsGet, "x-user", user)
		if len(counts) != 1 {
			t.Errorf("%s: RPCs went to %v, want one pod", user, counts)
		}
		for pod := range counts {
			used[pod]++
		}
	}
	t.Logf("users per pod: %v", used)
	// Each pod holds about a third of the ring; even with 60% of it, one pod would take all 30
	// users once in 5 million runs.
	if len(used) < 2 {
		t.Errorf("all users on %v, want them spread", used)
	}
}
