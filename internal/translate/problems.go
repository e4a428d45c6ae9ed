package translate

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/mizzen-mesh/mizzen/internal/mesh"
	"github.com/mizzen-mesh/mizzen/internal/validate"
)

// RuleProblems returns the problems of the snapshot's rules as the status reconcilers need them,
// once per snapshot rather than per proxy: what translating the mesh's proxies reports (one
// sidecar per namespace stands for its namespace, every sidecar when rules select proxies by
// labels; every gateway proxy), plus hosts of sidecar rules that name no service (without a
// ServiceEntry API such a rule routes nothing). Sorted by field; ProblemObject splits each.
func RuleProblems(snap *mesh.Snapshot) []validate.Problem {
	var ps []validate.Problem
	deps := ruleDependencies(snap)
	seenNS := map[string]bool{}
	gatewayPods := map[string]bool{}
	for _, gw := range snap.Gateways {
		for _, p := range snap.Pods {
			if len(gw.Spec.Selector) > 0 && p.Namespace != "" && mesh.LabelsMatch(gw.Spec.Selector, p.Labels) {
				gatewayPods[p.Namespace+"/"+p.Name] = true
			}
		}
	}
	for _, p := range snap.Pods {
		if p.ProxyID == "" {
			continue
		}
		if gatewayPods[p.Namespace+"/"+p.Name] {
			_, gps := Translate(snap, mesh.ProxyFor(p, mesh.Gateway))
			ps = append(ps, gps...)
			continue
		}
		if !deps.labels && !deps.locality && seenNS[p.Namespace] {
			continue
		}
		seenNS[p.Namespace] = true
		_, sps := Translate(snap, mesh.ProxyFor(p, mesh.Sidecar))
		ps = append(ps, sps...)
	}
	for _, vs := range snap.VirtualServices {
		if !mesh.AppliesToSidecars(vs.Spec.Gateways) {
			continue
		}
		for i, h := range vs.Spec.Hosts {
			host := snap.ResolveHost(h, vs.Namespace)
			if strings.HasPrefix(host, "*") || snap.Service(host) != nil {
				continue
			}
			ps = append(ps, validate.Problem{
				Field:   mesh.ObjectKey("VirtualService", vs.Namespace, vs.Name) + fmt.Sprintf(" spec.hosts[%d]", i),
				Reason:  ReasonHostNotFound,
				Message: fmt.Sprintf("host %q is no service of the mesh; sidecars get no routes for it", host),
			})
		}
	}
	for _, dr := range snap.DestinationRules {
		host := snap.ResolveHost(dr.Spec.Host, dr.Namespace)
		if strings.HasPrefix(host, "*") || snap.Service(host) != nil {
			continue
		}
		ps = append(ps, validate.Problem{
			Field:   mesh.ObjectKey("DestinationRule", dr.Namespace, dr.Name) + " spec.host",
			Reason:  ReasonHostNotFound,
			Message: fmt.Sprintf("host %q is no service of the mesh; the rule applies to no cluster", host),
		})
	}
	// Problems about a proxy's own listeners are not about rules.
	ps = slices.DeleteFunc(ps, func(p validate.Problem) bool { return strings.HasPrefix(p.Field, "Listener ") })
	slices.SortStableFunc(ps, func(a, b validate.Problem) int {
		return cmp.Or(cmp.Compare(a.Field, b.Field), cmp.Compare(a.Reason, b.Reason), cmp.Compare(a.Message, b.Message))
	})
	// The same problem seen from several namespaces may be worded for each: keep the first.
	return slices.CompactFunc(ps, func(a, b validate.Problem) bool { return a.Field == b.Field && a.Reason == b.Reason })
}
