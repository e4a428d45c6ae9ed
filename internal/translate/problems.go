package translate

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/mizzen-mesh/mizzen/internal/mesh"
	"github.com/mizzen-mesh/mizzen/internal/validate"
)

// RuleProblems returns the problems of the snapshot's rules as the status reconcilers need them,
// once per snapshot rather than per proxy: what translating the mesh's proxies reports (one
// sidecar per namespace stands for its namespace, every sidecar when rules select proxies by
// labels; every gateway proxy), plus hosts of sidecar rules that name no service (without a
// ServiceEntry API such a rule routes nothing), gateways a VirtualService names that do not
// exist, Gateways whose selector picks no pod and DestinationRule subsets that select no ready pod.
// Sorted by field; ProblemObject splits each. Memoized in the snapshot.
func RuleProblems(snap *mesh.Snapshot) []validate.Problem {
	return snap.Memo(ruleProblemsKey{}, func() any { return ruleProblems(snap) }).([]validate.Problem)
}

type ruleProblemsKey struct{}

// ProblemsOf returns the problems RuleProblems reports about one rule (kind, namespace, name).
func ProblemsOf(snap *mesh.Snapshot, kind, namespace, name string) []validate.Problem {
	byRule := snap.Memo(problemsByRuleKey{}, func() any {
		m := map[string][]validate.Problem{}
		for _, p := range RuleProblems(snap) {
			k, ns, n, _ := ProblemObject(p)
			key := mesh.ObjectKey(k, ns, n)
			m[key] = append(m[key], p)
		}
		return m
	}).(map[string][]validate.Problem)
	return byRule[mesh.ObjectKey(kind, namespace, name)]
}

type problemsByRuleKey struct{}

func ruleProblems(snap *mesh.Snapshot) []validate.Problem {
	return ruleProblemsFrom(snap, &sidecarProblems, &translatedProblems)
}

// ruleProblemsFrom is ruleProblems with the caches it keeps translations' problems in.
func ruleProblemsFrom(snap *mesh.Snapshot, sidecars *outboundProblemCache, translated *problemCache) []validate.Problem {
	// A sidecar's problems are its outbound config's (those about its inbound listener are not
	// about rules), kept per namespace: see outboundreads.go. Those of the VirtualService index are
	// the whole view's, taken once per view. When rules select proxies by labels each sidecar
	// translates apart, and those and the gateway proxies are kept under a digest of the mesh.
	var ps []validate.Problem
	var rest []mesh.Proxy
	views := map[*mesh.VirtualServiceIndex]bool{}
	byLabels := ruleDependencies(snap).labels
	for _, p := range problemProxies(snap) {
		if p.Kind != mesh.Sidecar || byLabels {
			rest = append(rest, p)
			continue
		}
		ps = append(ps, sidecars.get(snap, p)...)
		if ix := snap.SidecarVirtualServices(p.Namespace); !views[ix] {
			views[ix] = true
			ps = append(ps, ix.Problems...)
		}
	}
	if len(rest) > 0 {
		ps = append(ps, translated.get(problemInputs(snap, rest), func() []validate.Problem {
			var ps []validate.Problem
			for _, p := range rest {
				_, pps := Translate(snap, p)
				ps = append(ps, pps...)
			}
			return ps
		})...)
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
	ps = append(ps, gatewayRefProblems(snap)...)
	for _, gw := range snap.Gateways {
		if len(gw.Spec.Selector) > 0 && !slices.ContainsFunc(snap.Pods, func(p *mesh.Pod) bool { return mesh.LabelsMatch(gw.Spec.Selector, p.Labels) }) {
			ps = append(ps, validate.Problem{
				Field:   mesh.ObjectKey("Gateway", gw.Namespace, gw.Name) + " spec.selector",
				Reason:  ReasonNoMatchingPods,
				Message: fmt.Sprintf("no pod matches the selector %s: no proxy serves this gateway", labelString(gw.Spec.Selector)),
			})
		}
	}
	for _, dr := range snap.DestinationRules {
		host := snap.ResolveHost(dr.Spec.Host, dr.Namespace)
		if snap.Service(host) != nil {
			for i, sub := range dr.Spec.Subsets {
				if snap.SubsetPods(host, sub.Labels) == 0 {
					ps = append(ps, validate.Problem{
						Field:  mesh.ObjectKey("DestinationRule", dr.Namespace, dr.Name) + fmt.Sprintf(" spec.subsets[%d]", i),
						Reason: ReasonNoMatchingPods,
						Message: fmt.Sprintf("subset %s selects no ready pod of %s (labels %s): requests routed to it fail with 503 (no healthy upstream)",
							sub.Name, host, labelString(sub.Labels)),
					})
				}
			}
		}
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

// gatewayRefProblems reports the gateways VirtualServices name that do not exist.
func gatewayRefProblems(snap *mesh.Snapshot) []validate.Problem {
	exists := map[string]bool{}
	for _, gw := range snap.Gateways {
		exists[gw.Namespace+"/"+gw.Name] = true
	}
	var ps []validate.Problem
	for _, vs := range snap.VirtualServices {
		for i, g := range vs.Spec.Gateways {
			if g == mesh.MeshGateway {
				continue
			}
			ref := g
			if !strings.Contains(g, "/") {
				ref = vs.Namespace + "/" + g
			}
			if !exists[ref] {
				ps = append(ps, validate.Problem{
					Field:   mesh.ObjectKey("VirtualService", vs.Namespace, vs.Name) + fmt.Sprintf(" spec.gateways[%d]", i),
					Reason:  ReasonGatewayNotFound,
					Message: fmt.Sprintf("gateway %s does not exist (or is not valid): no gateway proxy routes by this rule for it", ref),
				})
			}
		}
	}
	return ps
}

// problemProxies are the proxies whose translation RuleProblems reports: every gateway proxy, and a
// sidecar per namespace standing for its namespace — every sidecar when rules select proxies by
// labels or locality.
func problemProxies(snap *mesh.Snapshot) []mesh.Proxy {
	deps := ruleDependencies(snap)
	gatewayPods := map[*mesh.Pod]bool{}
	for _, gw := range snap.Gateways {
		for _, p := range snap.Pods {
			if len(gw.Spec.Selector) > 0 && p.Namespace != "" && mesh.LabelsMatch(gw.Spec.Selector, p.Labels) {
				gatewayPods[p] = true
			}
		}
	}
	var proxies []mesh.Proxy
	seenNS := map[string]bool{}
	for _, p := range snap.Pods {
		switch {
		case p.ProxyID == "":
		case gatewayPods[p]:
			proxies = append(proxies, mesh.ProxyFor(p, mesh.Gateway))
		case deps.labels || deps.locality || !seenNS[p.Namespace]:
			seenNS[p.Namespace] = true
			proxies = append(proxies, mesh.ProxyFor(p, mesh.Sidecar))
		}
	}
	return proxies
}

// labelString writes labels as k=v pairs, sorted.
func labelString(labels map[string]string) string {
	keys := slices.Sorted(maps.Keys(labels))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + labels[k]
	}
	return strings.Join(parts, ",")
}
