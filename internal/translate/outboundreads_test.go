package translate_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mizzen-mesh/mizzen/api/v1alpha1"
	"github.com/mizzen-mesh/mizzen/internal/mesh"
	"github.com/mizzen-mesh/mizzen/internal/translate"
	"github.com/mizzen-mesh/mizzen/internal/validate"
)

// The problems kept per namespace across snapshots must be those a fresh translation finds:
// through a long run of small changes — rules added, replaced, removed and re-exported, services
// changed, pods meshed or scoped, endpoints moved — every snapshot's RuleProblems (with the
// caches it kept) equals RuleProblems with empty caches. Most lookups must hit, or the test
// would not be testing the cache. Twelve seeds: with fewer, leaving one kind of question out of
// the replay (the DestinationRules, the destination services, the delegates) could go unseen.
func TestRuleProblemsKeptPerNamespaceMatchAFreshTranslation(t *testing.T) {
	for seed := range uint64(12) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) { checkProblemsKeptPerNamespace(t, seed) })
	}
}

func checkProblemsKeptPerNamespace(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(11, seed))
	fuzzBytes := func() []byte {
		b := make([]byte, 256)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	base, _ := fuzzMesh(fuzzBytes())
	unlabel(base)
	hits0, misses0 := translate.SidecarProblemsLookups()
	for step := range 400 {
		donor, _ := fuzzMesh(fuzzBytes())
		what := mutate(rng, &base, donor)
		c := &testCase{in: base}
		c.in.EndpointSlices = nil
		c.deriveEndpointSlices()
		base = c.in
		got := translate.RuleProblems(mesh.New(c.in))
		want := translate.RuleProblemsUncached(mesh.New(c.in))
		if !slices.Equal(got, want) {
			t.Fatalf("step %d (%s): problems kept across snapshots\n%s\nwant\n%s", step, what, problemLines(got), problemLines(want))
		}
	}
	hits, misses := translate.SidecarProblemsLookups()
	hits, misses = hits-hits0, misses-misses0
	if hits < misses {
		t.Errorf("%d hits, %d misses: the per-namespace cache was hardly used", hits, misses)
	}
	t.Logf("%d hits, %d misses", hits, misses)
}

// unlabel drops what makes every sidecar translate apart (rules selecting proxies by labels),
// so that the per-namespace cache is used.
func unlabel(in mesh.Input) {
	for _, vs := range in.VirtualServices {
		for i := range vs.Spec.HTTP {
			for j := range vs.Spec.HTTP[i].Match {
				vs.Spec.HTTP[i].Match[j].SourceLabels = nil
			}
		}
	}
	for _, dr := range in.DestinationRules {
		dr.Spec.WorkloadSelector = nil
	}
}

// mutate makes one small change to in, drawing new objects from donor, and says what it did.
// Objects are replaced, not changed in place: earlier snapshots keep theirs, as informers do.
func mutate(rng *rand.Rand, in *mesh.Input, donor mesh.Input) string {
	unlabel(donor)
	namespaces := []string{"default", "other"}
	switch rng.IntN(14) {
	case 0: // a VirtualService replaced or added
		if len(donor.VirtualServices) == 0 {
			return "nothing"
		}
		vs := donor.VirtualServices[0].DeepCopy()
		vs.Name = fmt.Sprintf("vs%d", rng.IntN(4))
		var did string
		in.VirtualServices, did = upsert(in.VirtualServices, vs)
		return "VirtualService " + vs.Name + " " + did
	case 1: // a rule removed
		if len(in.VirtualServices) > 0 && rng.IntN(2) == 0 {
			i := rng.IntN(len(in.VirtualServices))
			in.VirtualServices = slices.Delete(slices.Clone(in.VirtualServices), i, i+1)
			return "VirtualService removed"
		}
		if len(in.DestinationRules) > 0 {
			i := rng.IntN(len(in.DestinationRules))
			in.DestinationRules = slices.Delete(slices.Clone(in.DestinationRules), i, i+1)
			return "DestinationRule removed"
		}
		return "nothing"
	case 2: // a DestinationRule replaced or added, in either namespace
		if len(donor.DestinationRules) == 0 {
			return "nothing"
		}
		dr := donor.DestinationRules[0].DeepCopy()
		dr.Name, dr.Namespace = fmt.Sprintf("dr%d", rng.IntN(3)), namespaces[rng.IntN(2)]
		var did string
		in.DestinationRules, did = upsert(in.DestinationRules, dr)
		return "DestinationRule " + dr.Name + " " + did
	case 3: // a rule exported elsewhere
		exportTo := [][]string{nil, {"."}, {"other"}, {"default"}, {"~"}}[rng.IntN(5)]
		if len(in.VirtualServices) > 0 && rng.IntN(2) == 0 {
			i := rng.IntN(len(in.VirtualServices))
			vs := in.VirtualServices[i].DeepCopy()
			vs.Spec.ExportTo = exportTo
			in.VirtualServices = slices.Clone(in.VirtualServices)
			in.VirtualServices[i] = vs
			return fmt.Sprintf("VirtualService %s exported to %v", vs.Name, exportTo)
		}
		if len(in.DestinationRules) > 0 {
			i := rng.IntN(len(in.DestinationRules))
			dr := in.DestinationRules[i].DeepCopy()
			dr.Spec.ExportTo = exportTo
			in.DestinationRules = slices.Clone(in.DestinationRules)
			in.DestinationRules[i] = dr
			return fmt.Sprintf("DestinationRule %s exported to %v", dr.Name, exportTo)
		}
		return "nothing"
	case 4: // a service's ports or exportTo changed, or a service added from the donor
		if len(donor.Services) == 0 {
			return "nothing"
		}
		svc := donor.Services[rng.IntN(len(donor.Services))].DeepCopy()
		if rng.IntN(3) == 0 {
			svc.Annotations = map[string]string{mesh.ExportToAnnotation: []string{".", "default", "other"}[rng.IntN(3)]}
		}
		var did string
		in.Services, did = upsert(in.Services, svc)
		return "Service " + svc.Name + " " + did
	case 5, 6: // a pod meshed or not, scoped or not, with another service account
		if len(in.Pods) == 0 {
			return "nothing"
		}
		i := rng.IntN(len(in.Pods))
		pod := in.Pods[i].DeepCopy()
		if pod.Annotations == nil {
			pod.Annotations = map[string]string{}
		}
		what := ""
		switch rng.IntN(3) {
		case 0:
			if pod.Annotations[mesh.ProxyIDAnnotation] == "" {
				pod.Annotations[mesh.ProxyIDAnnotation], what = fmt.Sprintf("p-%s", pod.Name), "meshed"
			} else {
				delete(pod.Annotations, mesh.ProxyIDAnnotation)
				what = "not meshed"
			}
		case 1:
			pod.Annotations[mesh.EgressHostsAnnotation] = []string{"", "./*", "default/*", "./*,other/s1.other.svc.cluster.local"}[rng.IntN(4)]
			what = "egress " + pod.Annotations[mesh.EgressHostsAnnotation]
		default:
			pod.Spec.ServiceAccountName, what = pod.Spec.ServiceAccountName+"x", "new service account"
		}
		in.Pods = slices.Clone(in.Pods)
		in.Pods[i] = pod
		return "pod " + pod.Name + " " + what
	case 9: // a DestinationRule's subsets alone
		if len(in.DestinationRules) == 0 {
			return "nothing"
		}
		i := rng.IntN(len(in.DestinationRules))
		dr := in.DestinationRules[i].DeepCopy()
		dr.Spec.Subsets = nil
		for v := range 3 {
			if rng.IntN(2) == 0 {
				dr.Spec.Subsets = append(dr.Spec.Subsets, v1alpha1.Subset{Name: v1alpha1.SubsetName(fmt.Sprintf("v%d", v)),
					Labels: map[string]string{"version": fmt.Sprintf("v%d", v)}})
			}
		}
		in.DestinationRules = slices.Clone(in.DestinationRules)
		in.DestinationRules[i] = dr
		return fmt.Sprintf("DestinationRule %s/%s subsets %d", dr.Namespace, dr.Name, len(dr.Spec.Subsets))
	case 10: // a service's ports alone
		if len(in.Services) == 0 {
			return "nothing"
		}
		i := rng.IntN(len(in.Services))
		svc := in.Services[i].DeepCopy()
		svc.Spec.Ports = nil
		for _, p := range []corev1.ServicePort{{Name: "http", Port: 80}, {Name: "http-api", Port: 9080}, {Name: "grpc", Port: 8080}, {Name: "tcp", Port: 3306}} {
			if rng.IntN(2) == 0 {
				svc.Spec.Ports = append(svc.Spec.Ports, p)
			}
		}
		in.Services = slices.Clone(in.Services)
		in.Services[i] = svc
		return fmt.Sprintf("Service %s/%s ports %d", svc.Namespace, svc.Name, len(svc.Spec.Ports))
	case 11: // a delegate written, replaced or named by a root rule
		d := v1alpha1.Destination{Host: fmt.Sprintf("s%d", rng.IntN(4))}
		if rng.IntN(2) == 0 {
			d.Subset = v1alpha1.SubsetName(fmt.Sprintf("v%d", rng.IntN(3)))
		}
		dlg := &v1alpha1.VirtualService{}
		dlg.Name, dlg.Namespace = fmt.Sprintf("dlg%d", rng.IntN(2)), "default"
		dlg.Spec.HTTP = []v1alpha1.HTTPRoute{{Route: []v1alpha1.HTTPRouteDestination{{Destination: d}}}}
		if rng.IntN(4) == 0 {
			dlg.Spec.ExportTo = []string{"other"}
		}
		in.VirtualServices, _ = upsert(in.VirtualServices, dlg)
		for i, vs := range in.VirtualServices {
			if len(vs.Spec.Hosts) > 0 && len(vs.Spec.HTTP) > 0 && rng.IntN(2) == 0 {
				root := vs.DeepCopy()
				root.Spec.HTTP[0] = v1alpha1.HTTPRoute{Delegate: &v1alpha1.Delegate{Name: fmt.Sprintf("dlg%d", rng.IntN(3)), Namespace: "default"}}
				in.VirtualServices[i] = root
				return "delegate " + dlg.Name + " named by " + root.Name
			}
		}
		return "delegate " + dlg.Name
	case 12: // a namespace's sidecars scoped, or not
		ns := namespaces[rng.IntN(2)]
		egress := []string{"", "./*", "default/*", "./*,default/s1.default.svc.cluster.local"}[rng.IntN(4)]
		in.Pods = slices.Clone(in.Pods)
		for i, pod := range in.Pods {
			if pod.Namespace == ns {
				p := pod.DeepCopy()
				if p.Annotations == nil {
					p.Annotations = map[string]string{}
				}
				p.Annotations[mesh.EgressHostsAnnotation] = egress
				in.Pods[i] = p
			}
		}
		return "namespace " + ns + " egress " + egress
	case 13: // the mesh's mTLS mode
		in.Settings.MTLS = []mesh.MTLSMode{mesh.MTLSPermissive, mesh.MTLSStrict, mesh.MTLSDisable}[rng.IntN(3)]
		return "mTLS " + string(in.Settings.MTLS)
	default: // 7 and 8: endpoints moved, a pod's address (problems do not depend on it: cache hits)
		if len(in.Pods) == 0 {
			return "nothing"
		}
		i := rng.IntN(len(in.Pods))
		pod := in.Pods[i].DeepCopy()
		pod.Status.PodIP = fmt.Sprintf("10.9.%d.%d", rng.IntN(250), rng.IntN(250))
		in.Pods = slices.Clone(in.Pods)
		in.Pods[i] = pod
		return "pod " + pod.Name + " moved"
	}
}

// upsert returns a copy of objs with obj in place of the object of its namespace and name, or
// added, and which of the two it did.
func upsert[T metav1.Object](objs []T, obj T) ([]T, string) {
	objs = slices.Clone(objs)
	if i := slices.IndexFunc(objs, func(o T) bool { return o.GetNamespace() == obj.GetNamespace() && o.GetName() == obj.GetName() }); i >= 0 {
		objs[i] = obj
		return objs, "replaced"
	}
	return append(objs, obj), "added"
}

func problemLines(ps []validate.Problem) string {
	var out string
	for _, p := range ps {
		out += "  " + p.Field + " " + p.Reason + ": " + p.Message + "\n"
	}
	return out
}
