package controllers

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	v1 "github.com/mizzen-mesh/mizzen/api/v1alpha1"
	"github.com/mizzen-mesh/mizzen/internal/mesh"
)

// The route index is kept up to date change by change; after any sequence of rules created,
// changed and deleted, with the snapshot holding older versions of some, it must answer as an
// index built from scratch from the same rules.
func TestRouteIndexRefilesAsABuildFromScratch(t *testing.T) {
	settings := mesh.Settings{}
	rng := rand.New(rand.NewPCG(4, 2))
	namespaces := []string{"ns-a", "ns-b", "ns-c"}
	hosts := []string{"web", "api", "db", "web.ns-a.svc.cluster.local", "api.ns-b.svc.cluster.local", "*.example.com"}
	pick := func(from []string, n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = from[rng.IntN(len(from))] // repeats on purpose: a host twice in one rule
		}
		return out
	}
	spec := func() v1.VirtualServiceSpec {
		var s v1.VirtualServiceSpec
		switch rng.IntN(6) {
		case 0: // a delegate: no hosts
		case 1:
			s.Hosts, s.Gateways = pick(hosts, 1), []string{"ns-a/ingress"} // bound to a gateway only
		default:
			s.Hosts = pick(hosts, 1+rng.IntN(2))
		}
		if rng.IntN(3) == 0 {
			s.ExportTo = []string{"."}
		}
		for range 1 + rng.IntN(2) {
			var route v1.HTTPRoute
			for _, h := range pick(hosts, 1+rng.IntN(3)) {
				route.Route = append(route.Route, v1.HTTPRouteDestination{Destination: v1.Destination{Host: h}})
			}
			s.HTTP = append(s.HTTP, route)
		}
		return s
	}

	var listed []*v1.VirtualService             // as the cache has them now
	older := map[types.UID]*v1.VirtualService{} // a previous version the snapshot may still hold
	ix := &routeIndex{}
	for step := range 400 {
		switch op := rng.IntN(10); {
		case op < 4 || len(listed) == 0: // create
			vs := &v1.VirtualService{ObjectMeta: metav1.ObjectMeta{
				Name: fmt.Sprintf("vs-%d", step), Namespace: namespaces[rng.IntN(len(namespaces))],
				UID: types.UID(fmt.Sprintf("uid-%d", step)), Generation: 1,
			}, Spec: spec()}
			listed = append(listed, vs)
		case op < 8: // change: a new generation; the snapshot may keep the old one
			i := rng.IntN(len(listed))
			older[listed[i].UID] = listed[i]
			next := listed[i].DeepCopy()
			next.Generation++
			next.Spec = spec()
			listed[i] = next
		default: // delete
			i := rng.IntN(len(listed))
			listed = slices.Delete(listed, i, i+1)
		}
		var held []*v1.VirtualService
		for _, vs := range listed {
			if old := older[vs.UID]; old != nil && rng.IntN(2) == 0 {
				held = append(held, old)
			} else if rng.IntN(4) > 0 { // not yet in the snapshot at all
				held = append(held, vs)
			}
		}

		ix.refile(settings, listed, held)
		fresh := &routeIndex{}
		fresh.refile(settings, listed, held)
		if diff := indexDiff(ix, fresh); diff != "" {
			t.Fatalf("step %d: the refiled index differs from one built from scratch: %s", step, diff)
		}
	}
}

// A lookup's routes stay as they were while the index files and withdraws rules after it.
func TestRouteIndexLookupsAreNotChangedByLaterFilings(t *testing.T) {
	settings := mesh.Settings{}
	vs := func(uid, ns string) *v1.VirtualService {
		return &v1.VirtualService{
			ObjectMeta: metav1.ObjectMeta{Name: uid, Namespace: ns, UID: types.UID(uid), Generation: 1},
			Spec: v1.VirtualServiceSpec{Hosts: []string{"front"}, HTTP: []v1.HTTPRoute{{
				Route: []v1.HTTPRouteDestination{{Destination: v1.Destination{Host: "web.ns-a.svc.cluster.local"}}},
			}}},
		}
	}
	a, b, c := vs("a", "ns-a"), vs("b", "ns-b"), vs("c", "ns-c")
	ix := &routeIndex{}
	ix.refile(settings, []*v1.VirtualService{a, b}, nil)
	before, _ := ix.lookup("web.ns-a.svc.cluster.local")
	kept := slices.Clone(before)
	ix.refile(settings, []*v1.VirtualService{a, c}, nil) // b withdrawn, c filed
	if !slices.EqualFunc(before, kept, func(x, y routeScope) bool { return x.namespace == y.namespace }) {
		t.Fatalf("a lookup's routes changed under it: %v, was %v", before, kept)
	}
	after, _ := ix.lookup("web.ns-a.svc.cluster.local")
	var got []string
	for _, r := range after {
		got = append(got, r.namespace)
	}
	if slices.Sort(got); !slices.Equal(got, []string{"ns-a", "ns-c"}) {
		t.Fatalf("routes to web after the change: %v, want ns-a and ns-c's", got)
	}
}

// indexDiff describes how two indexes differ in what they answer ("" when they do not): the
// routes to each host (in any order) and the delegated hosts.
func indexDiff(got, want *routeIndex) string {
	type filed struct {
		version   ruleVersion
		namespace string
		hosts     string
		exportTo  string
	}
	entries := func(ix *routeIndex) map[string][]filed {
		out := map[string][]filed{}
		for host, hr := range ix.byHost {
			for i, v := range hr.versions {
				r := hr.routes[i]
				out[host] = append(out[host], filed{v, r.namespace, fmt.Sprint(r.hosts), fmt.Sprint(r.exportTo)})
			}
			slices.SortFunc(out[host], func(a, b filed) int {
				return cmp.Or(cmp.Compare(a.version.uid, b.version.uid), cmp.Compare(a.version.generation, b.version.generation))
			})
		}
		return out
	}
	g, w := entries(got), entries(want)
	for host := range w {
		if !slices.Equal(g[host], w[host]) {
			return fmt.Sprintf("host %s: routes %v, want %v", host, g[host], w[host])
		}
	}
	for host := range g {
		if _, ok := w[host]; !ok {
			return fmt.Sprintf("host %s: routes %v, want none", host, g[host])
		}
	}
	if fmt.Sprint(got.delegated) != fmt.Sprint(want.delegated) {
		return fmt.Sprintf("delegated hosts %v, want %v", got.delegated, want.delegated)
	}
	if len(got.rules) != len(want.rules) {
		return fmt.Sprintf("%d rule versions filed, want %d", len(got.rules), len(want.rules))
	}
	return ""
}
