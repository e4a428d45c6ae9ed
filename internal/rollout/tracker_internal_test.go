package rollout

import (
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/mizzen-mesh/mizzen/internal/mesh"
)

// Equal rule sets recorded from different snapshots are kept once, and dropped with the last
// proxy carrying them.
func TestTrackerInternsRuleSets(t *testing.T) {
	set := func(gen int64) mesh.RuleVersions {
		return mesh.RuleVersions{"VirtualService ns/a": gen, "DestinationRule ns/a": 1}
	}
	same := func(a, b mesh.RuleVersions) bool {
		return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
	}
	tr := NewTracker()
	tr.Record("ns/p1", Carried{Snapshot: 1, Rules: mesh.RuleSets{set(1)}})
	tr.Record("ns/p2", Carried{Snapshot: 2, Rules: mesh.RuleSets{set(1)}})
	tr.Record("ns/p3", Carried{Snapshot: 3, Rules: mesh.RuleSets{set(2)}})
	if n := tr.distinctSets(); n != 2 {
		t.Fatalf("%d distinct sets, want 2", n)
	}
	if !same(tr.proxies["ns/p1"].Rules[0], tr.proxies["ns/p2"].Rules[0]) {
		t.Error("equal sets of p1 and p2 are two maps")
	}
	if same(tr.proxies["ns/p1"].Rules[0], tr.proxies["ns/p3"].Rules[0]) {
		t.Error("different sets share a map")
	}
	// Counting is unchanged by interning.
	p := tr.Progress(Target{Rule: "VirtualService ns/a", Generation: 2, Since: 1}, slices.Values([]string{"ns/p1", "ns/p2", "ns/p3"}))
	if p != (Progress{Total: 3, Updated: 1}) {
		t.Errorf("progress %+v, want 3 counted, 1 updated", p)
	}

	tr.Record("ns/p1", Carried{Snapshot: 4, Rules: mesh.RuleSets{set(2)}})
	tr.Forget("ns/p2")
	if n := tr.distinctSets(); n != 1 {
		t.Errorf("after p1 moved to generation 2 and p2 left: %d distinct sets, want 1", n)
	}
	tr.Forget("ns/p1")
	tr.Forget("ns/p3")
	tr.Forget("ns/never-recorded")
	if n := tr.distinctSets(); n != 0 || tr.Len() != 0 {
		t.Errorf("after every proxy left: %d sets, %d proxies", n, tr.Len())
	}
}

// The content hash ignores map order, tells apart sets whose rules swapped generations, and
// allocates nothing (Record hashes two sets per proxy).
func TestTrackerHashIsOrderFreeAndCheap(t *testing.T) {
	tr := NewTracker()
	a := mesh.RuleVersions{}
	b := mesh.RuleVersions{}
	for i := range 200 {
		a[fmt.Sprintf("VirtualService ns/vs-%d", i)] = int64(i)
	}
	for i := 199; i >= 0; i-- { // another insertion order
		b[fmt.Sprintf("VirtualService ns/vs-%d", i)] = int64(i)
	}
	if tr.hash(a) != tr.hash(b) {
		t.Fatal("equal sets built in another order hash differently")
	}
	swapped := mesh.RuleVersions{"VirtualService ns/x": 1, "VirtualService ns/y": 2}
	if tr.hash(swapped) == tr.hash(mesh.RuleVersions{"VirtualService ns/x": 2, "VirtualService ns/y": 1}) {
		t.Error("sets whose rules swapped generations hash the same")
	}
	if n := testing.AllocsPerRun(10, func() { tr.hash(a) }); n != 0 {
		t.Errorf("hashing a set of 200 rules allocates %.0f times", n)
	}
}
