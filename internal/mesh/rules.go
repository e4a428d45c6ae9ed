package mesh

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/mizzen-mesh/mizzen/api/v1alpha1"
	"github.com/mizzen-mesh/mizzen/internal/validate"
)

// MeshGateway is the reserved gateway name of all sidecars.
const MeshGateway = "mesh"

// Host conflicts between VirtualServices, reported on both.
const (
	// ReasonConflictingHost: a newer VirtualService claims a host an older one already routes.
	ReasonConflictingHost = "ConflictingHost"
	// ReasonShadowsNewerRule: the older VirtualService keeps a host a newer one claims too.
	ReasonShadowsNewerRule = "ShadowsNewerRule"
)

// VirtualServiceIndex is the VirtualServices that apply to the sidecars of one namespace, by host.
type VirtualServiceIndex struct {
	exact     map[string]*v1alpha1.VirtualService
	wildcards []hostRule // most specific pattern first
	// Problems are host conflicts: the newer VirtualService loses the host.
	Problems []validate.Problem
}

type hostRule struct {
	pattern string
	vs      *v1alpha1.VirtualService
}

// For returns the VirtualService routing host (an FQDN), or nil.
func (ix *VirtualServiceIndex) For(host string) *v1alpha1.VirtualService {
	if vs := ix.exact[host]; vs != nil {
		return vs
	}
	for _, w := range ix.wildcards {
		if HostMatches(w.pattern, host) {
			return w.vs
		}
	}
	return nil
}

// AppliesToSidecars reports whether a VirtualService binds to the mesh gateway.
func AppliesToSidecars(gateways []string) bool {
	return len(gateways) == 0 || slices.Contains(gateways, MeshGateway)
}

// SidecarVirtualServices indexes the VirtualServices visible to sidecars of namespace ns that bind
// to the mesh gateway, resolving hosts and conflicts (the oldest rule keeps a host). Memoized per
// view: an index depends only on which rules its namespace sees, and most rules are exported
// everywhere (the default), so namespaces that see the same restricted rules share one index — at
// 1,000 rules and 20 namespaces one index instead of 20 copies.
func (s *Snapshot) SidecarVirtualServices(ns string) *VirtualServiceIndex {
	restricted := s.Memo(restrictedVSKey{}, func() any {
		var at []int
		for i, vs := range s.VirtualServices {
			if sidecarRule(vs) && !ExportedEverywhere(vs.Spec.ExportTo) {
				at = append(at, i)
			}
		}
		return at
	}).([]int)
	view := make([]byte, 0, 8)
	for _, i := range restricted {
		if vs := s.VirtualServices[i]; Exported(vs.Spec.ExportTo, vs.Namespace, ns) {
			view = strconv.AppendInt(append(view, ','), int64(i), 36)
		}
	}
	return s.Memo(vsIndexKey(view), func() any { return s.buildVSIndex(ns) }).(*VirtualServiceIndex)
}

// vsIndexKey names a view: the positions in Snapshot.VirtualServices of the restricted rules a
// namespace sees.
type vsIndexKey string

type restrictedVSKey struct{}

// sidecarRule reports whether vs routes hosts for sidecars.
func sidecarRule(vs *v1alpha1.VirtualService) bool {
	return len(vs.Spec.Hosts) > 0 && AppliesToSidecars(vs.Spec.Gateways)
}

func (s *Snapshot) buildVSIndex(ns string) *VirtualServiceIndex {
	ix := &VirtualServiceIndex{exact: map[string]*v1alpha1.VirtualService{}}
	owner := map[string]*v1alpha1.VirtualService{}
	ownerAt := map[string]int{}            // host → index in the owner's spec.hosts
	for _, vs := range s.VirtualServices { // oldest first
		if !sidecarRule(vs) || !Exported(vs.Spec.ExportTo, vs.Namespace, ns) {
			continue
		}
		for i, h := range vs.Spec.Hosts {
			host := s.ResolveHost(h, vs.Namespace)
			if prev := owner[host]; prev != nil {
				if prev != vs {
					ix.Problems = append(ix.Problems, validate.Problem{
						Field:  ObjectKey("VirtualService", vs.Namespace, vs.Name) + " " + fmt.Sprintf("spec.hosts[%d]", i),
						Reason: ReasonConflictingHost,
						Message: fmt.Sprintf("host %q is already routed by the older VirtualService %s/%s; this rule is ignored for it",
							host, prev.Namespace, prev.Name),
					}, validate.Problem{
						Field:  ObjectKey("VirtualService", prev.Namespace, prev.Name) + " " + fmt.Sprintf("spec.hosts[%d]", ownerAt[host]),
						Reason: ReasonShadowsNewerRule,
						Message: fmt.Sprintf("host %q is also claimed by the newer VirtualService %s/%s; this rule keeps it",
							host, vs.Namespace, vs.Name),
					})
				}
				continue
			}
			owner[host], ownerAt[host] = vs, i
			if strings.HasPrefix(host, "*") {
				ix.wildcards = append(ix.wildcards, hostRule{host, vs})
			} else {
				ix.exact[host] = vs
			}
		}
	}
	slices.SortStableFunc(ix.wildcards, func(a, b hostRule) int { return cmp.Compare(len(b.pattern), len(a.pattern)) })
	return ix
}

// VirtualService returns a VirtualService by namespace and name (for delegates), or nil.
func (s *Snapshot) VirtualService(ns, name string) *v1alpha1.VirtualService {
	m := s.Memo(vsByNameKey{}, func() any {
		m := map[string]*v1alpha1.VirtualService{}
		for _, vs := range s.VirtualServices {
			m[vs.Namespace+"/"+vs.Name] = vs
		}
		return m
	}).(map[string]*v1alpha1.VirtualService)
	return m[ns+"/"+name]
}

type vsByNameKey struct{}

// drIndex groups DestinationRules by namespace, exact hosts apart from wildcards.
type drIndex struct {
	exact    map[string]map[string][]*v1alpha1.DestinationRule // ns → host → rules, oldest first
	wildcard map[string][]hostDR                               // ns → wildcard rules, most specific first
}

type hostDR struct {
	pattern string
	dr      *v1alpha1.DestinationRule
}

type drIndexKey struct{}

func (s *Snapshot) drIndex() *drIndex {
	return s.Memo(drIndexKey{}, func() any {
		ix := &drIndex{exact: map[string]map[string][]*v1alpha1.DestinationRule{}, wildcard: map[string][]hostDR{}}
		for _, dr := range s.DestinationRules {
			host := s.ResolveHost(dr.Spec.Host, dr.Namespace)
			if strings.HasPrefix(host, "*") {
				ix.wildcard[dr.Namespace] = append(ix.wildcard[dr.Namespace], hostDR{host, dr})
				continue
			}
			if ix.exact[dr.Namespace] == nil {
				ix.exact[dr.Namespace] = map[string][]*v1alpha1.DestinationRule{}
			}
			ix.exact[dr.Namespace][host] = append(ix.exact[dr.Namespace][host], dr)
		}
		for _, w := range ix.wildcard {
			slices.SortStableFunc(w, func(a, b hostDR) int { return cmp.Compare(len(b.pattern), len(a.pattern)) })
		}
		return ix
	}).(*drIndex)
}

// DestinationRuleFor returns the DestinationRule that applies to traffic from proxy to the service
// host, as Istio chooses it: a rule of the proxy's namespace (one selecting the proxy's workload
// first), then of the service's namespace, then of the root namespace; in each, an exact host
// before the most specific wildcard, and the oldest rule first. Rules not exported to the proxy's
// namespace are skipped.
func (s *Snapshot) DestinationRuleFor(proxy Proxy, host, serviceNS string) *v1alpha1.DestinationRule {
	ix := s.drIndex()
	for _, ns := range []string{proxy.Namespace, serviceNS, s.Settings.RootNamespace} {
		if dr := ix.find(ns, host, proxy, true); dr != nil {
			return dr
		}
		if dr := ix.find(ns, host, proxy, false); dr != nil {
			return dr
		}
	}
	return nil
}

func (ix *drIndex) find(ns, host string, proxy Proxy, selected bool) *v1alpha1.DestinationRule {
	ok := func(dr *v1alpha1.DestinationRule) bool {
		if sel := dr.Spec.WorkloadSelector; sel != nil {
			return selected && dr.Namespace == proxy.Namespace && LabelsMatch(sel.MatchLabels, proxy.Labels)
		}
		return !selected && Exported(dr.Spec.ExportTo, dr.Namespace, proxy.Namespace)
	}
	for _, dr := range ix.exact[ns][host] {
		if ok(dr) {
			return dr
		}
	}
	for _, w := range ix.wildcard[ns] {
		if HostMatches(w.pattern, host) && ok(w.dr) {
			return w.dr
		}
	}
	return nil
}

// VisibleServices returns the services a proxy of namespace ns sees, by hostname. Memoized.
func (s *Snapshot) VisibleServices(ns string) []*Service {
	return s.Memo(visibleKey(ns), func() any {
		out := make([]*Service, 0, len(s.Services))
		for _, svc := range s.Services {
			if Exported(svc.ExportTo, svc.Namespace, ns) {
				out = append(out, svc)
			}
		}
		return out
	}).([]*Service)
}

type visibleKey string

// WorkloadPort is a port a workload serves for a service: inbound traffic to TargetPort belongs
// to Service's port Port.
type WorkloadPort struct {
	Service    *Service
	Port       Port
	TargetPort int32
}

type workloadPortsKey struct{}

// WorkloadPorts returns the service ports an IP serves, by target port then service hostname.
// The index over all endpoints is built once per snapshot.
func (s *Snapshot) WorkloadPorts(ip string) []WorkloadPort {
	ix := s.Memo(workloadPortsKey{}, func() any {
		m := map[string][]WorkloadPort{}
		for _, svc := range s.Services {
			for _, p := range svc.Ports {
				for _, e := range svc.Endpoints[p.Number] {
					m[e.Address] = append(m[e.Address], WorkloadPort{Service: svc, Port: p, TargetPort: e.Port})
				}
			}
		}
		for _, wps := range m {
			slices.SortStableFunc(wps, func(a, b WorkloadPort) int {
				return cmp.Or(cmp.Compare(a.TargetPort, b.TargetPort), cmp.Compare(a.Service.Hostname, b.Service.Hostname))
			})
		}
		return m
	}).(map[string][]WorkloadPort)
	return ix[ip]
}

type scopedKey struct{ ns, egress string }

// ScopedServices returns the services visible to namespace ns that egress (Proxy.EgressHosts)
// selects, by hostname; all visible services when egress is empty. Memoized.
func (s *Snapshot) ScopedServices(ns string, egress []string) []*Service {
	if len(egress) == 0 {
		return s.VisibleServices(ns)
	}
	return s.Memo(scopedKey{ns, strings.Join(egress, ",")}, func() any {
		var out []*Service
		for _, svc := range s.VisibleServices(ns) {
			if EgressSelects(egress, ns, svc) {
				out = append(out, svc)
			}
		}
		return out
	}).([]*Service)
}

// EgressSelects reports whether egress hosts of a proxy in namespace ns select svc.
func EgressSelects(egress []string, ns string, svc *Service) bool {
	for _, e := range egress {
		ens, host, ok := strings.Cut(e, "/")
		if !ok {
			ens, host = "*", e
		}
		if ens == "." {
			ens = ns
		}
		if (ens == "*" || ens == svc.Namespace) && HostMatches(host, svc.Hostname) {
			return true
		}
	}
	return false
}

// DestinationHosts are the hosts a VirtualService sends traffic to, as written (resolve them
// against its namespace): the route, mirror and mirrors destinations of its http rules and the
// route destinations of its tls and tcp rules. A proxy the rule shapes gets a cluster for each,
// even out of its egress scope. A delegating rule's are in its delegates.
func DestinationHosts(vs *v1alpha1.VirtualService) []string {
	var out []string
	add := func(d v1alpha1.Destination) {
		if !slices.Contains(out, d.Host) {
			out = append(out, d.Host)
		}
	}
	for _, r := range vs.Spec.HTTP {
		for _, d := range r.Route {
			add(d.Destination)
		}
		if r.Mirror != nil {
			add(*r.Mirror)
		}
		for _, m := range r.Mirrors {
			add(m.Destination)
		}
	}
	for _, r := range vs.Spec.TLS {
		for _, d := range r.Route {
			add(d.Destination)
		}
	}
	for _, r := range vs.Spec.TCP {
		for _, d := range r.Route {
			add(d.Destination)
		}
	}
	return out
}
