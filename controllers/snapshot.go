package controllers

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	networkingv1alpha1 "github.com/mizzen-mesh/mizzen/api/v1alpha1"
	"github.com/mizzen-mesh/mizzen/internal/mesh"
	"github.com/mizzen-mesh/mizzen/internal/validate"
)

// snapshotSource builds the mesh.Snapshot from the cache once per batch of changes and shares it
// between reconciles: translate memoizes the work all proxies share in the snapshot, so reusing it
// makes the N-th proxy of a fan-out cheap.
//
// Staleness: the watch handlers call invalidate (a counter) for every event that changes what the
// snapshot reads, before they enqueue anything. get reads the counter before listing the cache, so
// a snapshot is never reused after an event that was handled after its lists began; a change that
// lands during the lists is rebuilt by the next get. (Informers update their store before they call
// the handlers, so an invalidated snapshot always sees the change once rebuilt.)
//
// Rules that fail internal/validate are not given to translate as they are: the last valid spec
// this manager saw of the same object (same UID) is used instead, so proxies keep the routing they
// had and no ConfigMap changes; a rule that was never valid here is left out. The memory is the
// process's: after a restart a rule that is invalid by then is left out (its status says why).
type snapshotSource struct {
	reader   client.Reader
	settings mesh.Settings

	gen atomic.Uint64

	mu      sync.Mutex
	snap    *mesh.Snapshot
	snapGen uint64
	vs      ruleGate[networkingv1alpha1.VirtualService, *networkingv1alpha1.VirtualService]
	dr      ruleGate[networkingv1alpha1.DestinationRule, *networkingv1alpha1.DestinationRule]
	gw      ruleGate[networkingv1alpha1.Gateway, *networkingv1alpha1.Gateway]
}

func newSnapshotSource(r client.Reader, settings mesh.Settings) *snapshotSource {
	s := &snapshotSource{reader: r, settings: settings}
	s.gen.Store(1)
	s.vs.validate = validate.VirtualService
	s.dr.validate = validate.DestinationRule
	s.gw.validate = validate.Gateway
	return s
}

// invalidate marks the current snapshot stale.
func (s *snapshotSource) invalidate() { s.gen.Add(1) }

// get returns a snapshot no older than the last invalidate.
func (s *snapshotSource) get(ctx context.Context) (*mesh.Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	gen := s.gen.Load()
	if s.snap != nil && s.snapGen == gen {
		return s.snap, nil
	}
	snap, err := s.build(ctx)
	if err != nil {
		return nil, err
	}
	s.snap, s.snapGen = snap, gen
	meshSnapshotBuilds.Inc()
	return snap, nil
}

// build lists the cache. The lists skip the cache's deep copy: the snapshot only reads them, and
// informers replace objects rather than change them.
func (s *snapshotSource) build(ctx context.Context) (*mesh.Snapshot, error) {
	in := mesh.Input{Settings: s.settings}
	svcs := &corev1.ServiceList{}
	slices := &discoveryv1.EndpointSliceList{}
	pods := &corev1.PodList{}
	vss := &networkingv1alpha1.VirtualServiceList{}
	drs := &networkingv1alpha1.DestinationRuleList{}
	gws := &networkingv1alpha1.GatewayList{}
	nodes := &metav1.PartialObjectMetadataList{}
	nodes.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("NodeList"))
	for _, l := range []client.ObjectList{svcs, slices, pods, vss, drs, gws, nodes} {
		if err := s.reader.List(ctx, l, client.UnsafeDisableDeepCopy); err != nil {
			return nil, fmt.Errorf("building the mesh snapshot: listing %T: %w", l, err)
		}
	}
	in.Services, in.EndpointSlices, in.Pods = svcs.Items, slices.Items, pods.Items
	in.Nodes = make([]corev1.Node, len(nodes.Items))
	for i, n := range nodes.Items {
		in.Nodes[i] = corev1.Node{ObjectMeta: n.ObjectMeta}
	}
	in.VirtualServices = s.vs.filter(vss.Items)
	in.DestinationRules = s.dr.filter(drs.Items)
	in.Gateways = s.gw.filter(gws.Items)
	return mesh.New(in), nil
}

// ruleGate remembers, per object (UID), the verdict of internal/validate on its current generation
// and the last valid version. Callers hold snapshotSource.mu.
type ruleGate[V any, P interface {
	*V
	client.Object
}] struct {
	validate func(P) []validate.Problem
	seen     map[types.UID]gateEntry[V]
}

type gateEntry[V any] struct {
	generation int64
	valid      bool
	lastValid  *V // nil when no version of the object was valid
}

// filter returns the rules to translate: each valid rule as it is, an invalid one as its last valid
// version, if any. Objects no longer listed are forgotten.
func (g *ruleGate[V, P]) filter(items []V) []V {
	next := make(map[types.UID]gateEntry[V], len(items))
	out := make([]V, 0, len(items))
	for i := range items {
		obj := P(&items[i])
		e, ok := g.seen[obj.GetUID()]
		if !ok || e.generation != obj.GetGeneration() {
			e.generation, e.valid = obj.GetGeneration(), len(g.validate(obj)) == 0
		}
		if e.valid {
			e.lastValid = &items[i]
		}
		next[obj.GetUID()] = e
		if e.lastValid != nil {
			out = append(out, *e.lastValid)
		}
	}
	g.seen = next
	return out
}
