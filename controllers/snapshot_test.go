package controllers

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
	vs := func(gen int64) v1.VirtualService {
		return v1.VirtualService{ObjectMeta: metav1.ObjectMeta{Name: "reviews", Namespace: "default", UID: types.UID("u1"), Generation: gen}}
	}
	carried := func(items ...v1.VirtualService) []int64 {
		s.mu.Lock()
		defer s.mu.Unlock()
		var gens []int64
		for _, v := range s.vs.filter(items) {
			gens = append(gens, v.Generation)
		}
		return gens
	}
	refuse := func(gen int64) bool {
		v := vs(gen)
		snap := &mesh.Snapshot{VirtualServices: []*v1.VirtualService{&v}}
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
	expect("deleted and recreated invalid: left out", carried(v1.VirtualService{ObjectMeta: metav1.ObjectMeta{
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
