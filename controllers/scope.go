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
// it is rebuilt only if a rule version changed.
type routeIndex struct {
	mu    sync.Mutex
	built bool
	gen   uint64 // the snapshot generation it was last checked at
	// from fingerprints the rule versions it was built from (UID, generation).
	from   uint64
	byHost map[string][]routeScope
	// delegated are the hosts a delegate VirtualService routes to: the proxies its roots shape
	// are not known here, so changes about them are not narrowed.
	delegated map[string]bool
	seed      maphash.Seed
	// rules memoizes what each rule version files (ruleRoutes): a rebuild after one rule changed
	// then re-resolves that rule's hosts only. Creating a mesh's 1,000 rules rebuilt the index
	// after each, resolving every rule's hosts every time.
	rules map[ruleVersion]ruleRoutes
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
	snap := r.snapshots.latest()
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if !ix.built {
		ix.seed = maphash.MakeSeed()
	}
	var h maphash.Hash
	h.SetSeed(ix.seed)
	version := func(vs *networkingv1alpha1.VirtualService) {
		h.WriteString(string(vs.UID))
		maphash.WriteComparable(&h, vs.Generation)
	}
	for _, vs := range vss {
		version(vs)
	}
	if snap != nil {
		h.WriteByte(0)
		for _, vs := range snap.VirtualServices {
			version(vs)
		}
	}
	if from := h.Sum64(); !ix.built || from != ix.from {
		ix.byHost, ix.delegated = map[string][]routeScope{}, map[string]bool{}
		prev := ix.rules
		ix.rules = make(map[ruleVersion]ruleRoutes, len(prev))
		// A version both listed and held by the snapshot (the usual case) is filed once.
		add := func(vs *networkingv1alpha1.VirtualService) {
			key := ruleVersion{vs.UID, vs.Generation}
			if _, added := ix.rules[key]; added {
				return
			}
			rr, ok := prev[key]
			if !ok {
				rr = routesOf(r.snapshots.settings, vs)
			}
			ix.rules[key] = rr
			ix.add(rr)
		}
		for _, vs := range vss {
			add(vs)
		}
		if snap != nil {
			for _, vs := range snap.VirtualServices {
				add(vs)
			}
		}
		ix.from, ix.built = from, true
	}
	ix.gen = gen
	return ix.lookup(host)
}

// lookup answers to from the index. Callers hold ix.mu.
func (ix *routeIndex) lookup(host string) ([]routeScope, bool) {
	if ix.delegated[host] {
		return nil, false
	}
	return ix.byHost[host], true
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

// add files a rule version's routes. Callers hold ix.mu.
func (ix *routeIndex) add(rr ruleRoutes) {
	if !rr.sidecar {
		return
	}
	for _, host := range rr.dests {
		if rr.delegate {
			ix.delegated[host] = true
			continue
		}
		ix.byHost[host] = append(ix.byHost[host], rr.route)
	}
}
