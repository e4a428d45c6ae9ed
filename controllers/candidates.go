package controllers

import (
	"context"
	"iter"
	"slices"
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	networkingv1alpha1 "github.com/mizzen-mesh/mizzen/api/v1alpha1"
	"github.com/mizzen-mesh/mizzen/internal/mesh"
)

// proxyGroups memoizes the proxies rollouts count, grouped by what decides whether a rule's
// rollout counts them: namespace, egress scope, and whether a Gateway picked the pod (gateway pods
// count for every rule, see eachProxy). A snapshot kick recounts every rule; walking every pod per
// rule was most of the manager's CPU for a one-rule change at 1,000 rules × 2,000 pods. With the
// groups a rule costs one visibility test per group (tens) plus the keys it counts.
//
// The groups are dropped whenever the snapshot is invalidated or a pod changes in a way that
// changes them (podsChanged). The counters are read before the pods are walked, so groups are never
// kept past a change the walk did not see.
type proxyGroups struct {
	// pods counts the pod changes that can change the groups: created, deleted, scheduled, alive
	// or not, labels (opt-out), egress hosts.
	pods atomic.Uint64

	mu      sync.Mutex
	snapGen uint64
	podsGen uint64
	groups  []*proxyGroup // nil: not walked for these generations
	walks   int           // walks made (tests read it)
}

// proxyGroup is the scheduled, alive proxies of one namespace with one egress scope.
type proxyGroup struct {
	namespace string
	egress    []string // parsed mizzen.dev/egress-hosts
	gateway   bool     // picked by a Gateway
	keys      []string // namespace/name
}

// podsChanged drops the groups.
func (g *proxyGroups) podsChanged() { g.pods.Add(1) }

// get returns the groups for the current generations, walking with walk when needed. They are
// shared: callers must not change them.
func (g *proxyGroups) get(snapGen uint64, walk func() []*proxyGroup) []*proxyGroup {
	podsGen := g.pods.Load()
	g.mu.Lock()
	if g.groups != nil && g.snapGen == snapGen && g.podsGen == podsGen {
		defer g.mu.Unlock()
		return g.groups
	}
	g.mu.Unlock()
	groups := walk()
	g.mu.Lock()
	defer g.mu.Unlock()
	g.walks++
	g.snapGen, g.podsGen, g.groups = snapGen, podsGen, groups
	return groups
}

// walkProxyGroups groups every proxy eachProxy gives that rollouts count (scheduled and alive).
func (r *ProxyReconciler) walkProxyGroups(ctx context.Context) []*proxyGroup {
	picked := map[types.NamespacedName]bool{} // by a Gateway: counted for every rule
	gws, err := r.snapshots.stores.gateways.all(ctx)
	if err != nil {
		logf.FromContext(ctx).Error(err, "listing gateways")
	}
	for _, gw := range gws {
		r.eachGatewayPod(ctx, gw, func(p *corev1.Pod) { picked[client.ObjectKeyFromObject(p)] = true })
	}
	type groupKey struct {
		namespace, egress string
		gateway           bool
	}
	index := map[groupKey]*proxyGroup{}
	groups := []*proxyGroup{} // not nil: an empty mesh is a result too
	r.eachProxy(ctx, nil, func(p *corev1.Pod) {
		if p.Spec.NodeName == "" || !proxyAlive(p) {
			return
		}
		name := client.ObjectKeyFromObject(p)
		key := groupKey{namespace: p.Namespace, egress: p.Annotations[mesh.EgressHostsAnnotation], gateway: picked[name]}
		grp := index[key]
		if grp == nil {
			grp = &proxyGroup{namespace: key.namespace, egress: mesh.ParseEgressHosts(key.egress), gateway: key.gateway}
			index[key] = grp
			groups = append(groups, grp)
		}
		grp.keys = append(grp.keys, name.String())
	})
	return groups
}

// rolloutCandidates are the proxies (namespace/name) a change of rule reconciles and that get
// config: scheduled, alive pods (see proxiesSeeing; every proxy for a Gateway). A sequence over the
// selected groups: the rollout of a rule every proxy sees counts all of them, and copying their
// keys into one slice per rule per recount cost as much as the count.
func (r *ProxyReconciler) rolloutCandidates(ctx context.Context, rule client.Object) iter.Seq[string] {
	if gw, isGateway := rule.(*networkingv1alpha1.Gateway); isGateway {
		var keys []string
		r.eachGatewayPod(ctx, gw, func(p *corev1.Pod) {
			if p.Spec.NodeName != "" && proxyAlive(p) {
				keys = append(keys, client.ObjectKeyFromObject(p).String())
			}
		})
		return slices.Values(keys)
	}
	all, namespaces := visibleTo(ruleExportTo(rule), rule.GetNamespace())
	scope := r.scopeOf(ctx, rule)
	var selected []*proxyGroup
	for _, grp := range r.candidates.get(r.snapshots.gen.Load(), func() []*proxyGroup { return r.walkProxyGroups(ctx) }) {
		if !grp.gateway && !all && !namespaces[grp.namespace] {
			continue
		}
		if !grp.gateway && !scope.reaches(grp.namespace, grp.egress) {
			continue
		}
		selected = append(selected, grp)
	}
	return func(yield func(string) bool) {
		for _, grp := range selected {
			for _, key := range grp.keys {
				if !yield(key) {
					return
				}
			}
		}
	}
}
