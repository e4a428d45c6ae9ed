package controllers

import (
	"context"
	"hash/maphash"
	"slices"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	networkingv1alpha1 "github.com/mizzen-mesh/mizzen/api/v1alpha1"
	"github.com/mizzen-mesh/mizzen/internal/mesh"
)

// proxyScope is which sidecars a change of an object can shape, by their namespace and egress
// scope (mizzen.dev/egress-hosts, Istio's Sidecar egress hosts). At 1,000 services in 20 scoped
// namespaces a change then renders the proxies of its namespace, not the mesh's. A nil scope
// narrows nothing. Exports (exportTo) are decided apart (visibleTo), and gateway proxies take no
// egress scope.
type proxyScope struct {
	// hosts: a sidecar whose egress scope may see one of them.
	hosts []string
	// owner: every proxy of this namespace ("": none). A Service shapes the inbound config of
	// the pods it selects, whatever their egress scope.
	owner string
	// routes: a sidecar one of these VirtualServices shapes. A rule that routes to a host gives
	// its proxies a cluster for it even out of their egress scope.
	routes []routeScope
}

// routeScope is a sidecar VirtualService as far as its reach goes: the sidecars of the
// namespaces it is exported to whose egress scope may see one of its hosts.
type routeScope struct {
	exportTo  []string
	namespace string
	hosts     []string // resolved
}

// reaches reports whether a change in scope can shape a sidecar of namespace ns with egress
// scope egress (parsed; none: it sees everything).
func (s *proxyScope) reaches(ns string, egress []string) bool {
	if s == nil || ns == s.owner || mayLeaveFor(egress, ns, s.hosts) {
		return true
	}
	return slices.ContainsFunc(s.routes, func(r routeScope) bool {
		return mesh.Exported(r.exportTo, r.namespace, ns) && mayLeaveFor(egress, ns, r.hosts)
	})
}

// mayLeaveFor reports whether egress scope egress of a sidecar of ns may see one of hosts.
func mayLeaveFor(egress []string, ns string, hosts []string) bool {
	return slices.ContainsFunc(hosts, func(h string) bool { return mesh.EgressMaySee(egress, ns, h) })
}

// scopeOf is the scope of a change of obj, nil when it is not narrowed: a sidecar VirtualService
// reaches the sidecars whose egress scope sees one of its hosts; a DestinationRule, a Service or
// an EndpointSlice — what a host's clusters are made of — those that see the host or are routed to
// it by a VirtualService. Not narrowed: a delegate VirtualService (no hosts: its root's decide),
// one bound to gateways, a wildcard DestinationRule, a host a delegate routes to, and other kinds.
func (r *ProxyReconciler) scopeOf(ctx context.Context, obj client.Object) *proxyScope {
	settings := r.snapshots.settings
	switch o := obj.(type) {
	case *networkingv1alpha1.VirtualService:
		if len(o.Spec.Hosts) == 0 || slices.ContainsFunc(o.Spec.Gateways, func(g string) bool { return g != mesh.MeshGateway }) {
			return nil
		}
		return &proxyScope{hosts: resolvedHosts(settings, o)}
	case *networkingv1alpha1.DestinationRule:
		return r.hostScope(ctx, settings.ResolveHost(o.Spec.Host, o.Namespace), "")
	case *corev1.Service:
		return r.hostScope(ctx, settings.ResolveHost(o.Name, o.Namespace), o.Namespace)
	case *discoveryv1.EndpointSlice:
		if svc := o.Labels[discoveryv1.LabelServiceName]; svc != "" {
			return r.hostScope(ctx, settings.ResolveHost(svc, o.Namespace), o.Namespace)
		}
	}
	return nil
}

func resolvedHosts(settings mesh.Settings, vs *networkingv1alpha1.VirtualService) []string {
	hosts := make([]string, len(vs.Spec.Hosts))
	for i, h := range vs.Spec.Hosts {
		hosts[i] = settings.ResolveHost(h, vs.Namespace)
	}
	return hosts
}

// hostScope reaches the sidecars that may see host or are routed to it, and the proxies of owner.
func (r *ProxyReconciler) hostScope(ctx context.Context, host, owner string) *proxyScope {
	if strings.Contains(host, "*") {
		return nil
	}
	routes, narrowed := r.routes.to(ctx, r, host)
	if !narrowed {
		return nil
	}
	return &proxyScope{hosts: []string{host}, owner: owner, routes: routes}
}

// routeIndex memoizes the sidecar VirtualServices that route to each host: from the cache (the
// rules as they are now) and from the newest snapshot (the versions the proxies carry: an invalid
// rule's previous valid version). Within a snapshot generation it is reused as it is (every
// DestinationRule's rollout recount asks for it); after an event the rules are listed again, and
// the versions that came or went are filed or withdrawn. Rebuilding it whole after each change
// made a burst of N new rules cost N² filings (2.2 GB of allocations while a mesh of 1,000 rules
// was created).
type routeIndex struct {
	mu    sync.Mutex
	built bool
	gen   uint64 // the snapshot generation it was last checked at
	// from fingerprints the rule versions it was built from (UID, generation).
	from uint64
	// byHost: per destination host, the routes that send sidecars there.
	byHost map[string]hostRoutes
	// delegated counts, per host, the delegate VirtualService versions that route to it: the
	// proxies their roots shape are not known here, so changes about those hosts are not narrowed.
	delegated map[string]int
	seed      maphash.Seed
	// rules are the versions filed and what each files (ruleRoutes): a change re-resolves the
	// hosts of the versions that changed only.
	rules map[ruleVersion]ruleRoutes
	// want is scratch for refile, kept to be reused.
	want map[ruleVersion]*networkingv1alpha1.VirtualService
}

// hostRoutes are the routes to one host and the rule version each comes from. Replaced on change,
// never changed in place: lookups hand out routes to be read after the index is unlocked.
type hostRoutes struct {
	versions []ruleVersion
	routes   []routeScope
}

// ruleVersion names a VirtualService version: a UID and a generation.
type ruleVersion struct {
	uid        types.UID
	generation int64
}

// ruleRoutes is what a VirtualService version adds to the index.
type ruleRoutes struct {
	sidecar  bool       // it applies to sidecars; gateway proxies are not narrowed
	delegate bool       // it has no hosts: its destinations are not narrowed
	route    routeScope // its reach
	dests    []string   // its destination hosts, resolved
}

// to returns the VirtualServices that route sidecars to host; false when the change is not to be
// narrowed.
func (ix *routeIndex) to(ctx context.Context, r *ProxyReconciler, host string) ([]routeScope, bool) {
	gen := r.snapshots.gen.Load()
	ix.mu.Lock()
	if ix.built && ix.gen == gen {
		defer ix.mu.Unlock()
		return ix.lookup(host)
	}
	ix.mu.Unlock()
	vss, err := r.snapshots.stores.virtualServices.all(ctx)
	if err != nil {
		logf.FromContext(ctx).Error(err, "listing virtual services")
		return nil, false
	}
	var held []*networkingv1alpha1.VirtualService
	if snap := r.snapshots.latest(); snap != nil {
		held = snap.VirtualServices
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.refile(r.snapshots.settings, vss, held)
	ix.gen = gen
	return ix.lookup(host)
}

// refile brings the index to the rule versions listed and held, when they are not the ones it was
// built from: the versions gone are withdrawn, the new ones filed. Callers hold ix.mu.
func (ix *routeIndex) refile(settings mesh.Settings, listed, held []*networkingv1alpha1.VirtualService) {
	if !ix.built {
		ix.seed = maphash.MakeSeed()
		ix.byHost, ix.delegated = map[string]hostRoutes{}, map[string]int{}
		ix.rules, ix.want = map[ruleVersion]ruleRoutes{}, map[ruleVersion]*networkingv1alpha1.VirtualService{}
	}
	both := [][]*networkingv1alpha1.VirtualService{listed, held}
	var h maphash.Hash
	h.SetSeed(ix.seed)
	for _, vss := range both {
		for _, vs := range vss {
			h.WriteString(string(vs.UID))
			maphash.WriteComparable(&h, vs.Generation)
		}
		h.WriteByte(0)
	}
	from := h.Sum64()
	if ix.built && from == ix.from {
		return
	}
	// A version both listed and held (the usual case) is filed once.
	for _, vss := range both {
		for _, vs := range vss {
			ix.want[ruleVersion{vs.UID, vs.Generation}] = vs
		}
	}
	for v, rr := range ix.rules {
		if ix.want[v] == nil {
			ix.withdraw(v, rr)
			delete(ix.rules, v)
		}
	}
	for v, vs := range ix.want {
		if _, filed := ix.rules[v]; !filed {
			rr := routesOf(settings, vs)
			ix.rules[v] = rr
			ix.file(v, rr)
		}
	}
	clear(ix.want) // no object outlives its listing here
	ix.from, ix.built = from, true
}

// lookup answers to from the index. Callers hold ix.mu.
func (ix *routeIndex) lookup(host string) ([]routeScope, bool) {
	if ix.delegated[host] > 0 {
		return nil, false
	}
	return ix.byHost[host].routes, true
}

// routesOf is what vs adds to the index.
func routesOf(settings mesh.Settings, vs *networkingv1alpha1.VirtualService) ruleRoutes {
	rr := ruleRoutes{sidecar: mesh.AppliesToSidecars(vs.Spec.Gateways), delegate: len(vs.Spec.Hosts) == 0}
	if !rr.sidecar {
		return rr
	}
	rr.route = routeScope{exportTo: vs.Spec.ExportTo, namespace: vs.Namespace, hosts: resolvedHosts(settings, vs)}
	for _, d := range mesh.DestinationHosts(vs) {
		rr.dests = append(rr.dests, settings.ResolveHost(d, vs.Namespace))
	}
	return rr
}

// file adds a rule version's routes. Callers hold ix.mu.
func (ix *routeIndex) file(v ruleVersion, rr ruleRoutes) {
	if !rr.sidecar {
		return
	}
	for _, host := range rr.dests {
		if rr.delegate {
			ix.delegated[host]++
			continue
		}
		cur := ix.byHost[host]
		// Clipped, so that append copies: a lookup may be reading the slices it had.
		ix.byHost[host] = hostRoutes{
			versions: append(slices.Clip(cur.versions), v),
			routes:   append(slices.Clip(cur.routes), rr.route),
		}
	}
}

// withdraw removes what file added for a rule version. Callers hold ix.mu.
func (ix *routeIndex) withdraw(v ruleVersion, rr ruleRoutes) {
	if !rr.sidecar {
		return
	}
	for _, host := range rr.dests {
		if rr.delegate {
			if ix.delegated[host]--; ix.delegated[host] <= 0 {
				delete(ix.delegated, host)
			}
			continue
		}
		cur, ok := ix.byHost[host]
		if !ok {
			continue // a host listed twice among the rule's destinations: already withdrawn
		}
		var next hostRoutes
		for i, filed := range cur.versions {
			if filed != v {
				next.versions = append(next.versions, filed)
				next.routes = append(next.routes, cur.routes[i])
			}
		}
		if len(next.versions) == 0 {
			delete(ix.byHost, host)
		} else {
			ix.byHost[host] = next
		}
	}
}
