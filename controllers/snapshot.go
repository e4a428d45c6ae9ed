package controllers

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	networkingv1alpha1 "github.com/mizzen-mesh/mizzen/api/v1alpha1"
	"github.com/mizzen-mesh/mizzen/internal/mesh"
	"github.com/mizzen-mesh/mizzen/internal/translate"
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
// Rules that fail internal/validate, or whose translation Envoy would refuse (translate reports
// InvalidConfig and drops the piece; see refused), are not given to translate as they are: the last
// valid version this manager saw of the same object (same UID) is used instead, so proxies keep the
// routing they had and no ConfigMap changes; a rule that was never valid here is left out. The
// memory is the process's: after a restart a rule that is invalid by then is left out (its status
// says why). A refusal is remembered per generation: a rule refused because of another object stays
// on its previous version until its own spec changes.
type snapshotSource struct {
	reader client.Reader
	// stores read the cache without copying it.
	stores   *meshStores
	settings mesh.Settings
	// minInterval spaces the builds (defaultSnapshotInterval).
	minInterval time.Duration

	gen atomic.Uint64

	mu      sync.Mutex
	snap    *mesh.Snapshot
	snapGen uint64
	builtAt time.Time // when the lists of snap began
	vs      ruleGate[networkingv1alpha1.VirtualService, *networkingv1alpha1.VirtualService]
	dr      ruleGate[networkingv1alpha1.DestinationRule, *networkingv1alpha1.DestinationRule]
	gw      ruleGate[networkingv1alpha1.Gateway, *networkingv1alpha1.Gateway]
	// firstHeld: per rule, the version the newest snapshot holds and the
	// generation of the first snapshot that held it (rollout.Target.Since).
	firstHeld map[ruleKey]heldVersion

	// onBuild are called, outside the lock, with each new snapshot.
	onBuild []func(*mesh.Snapshot)

	// secrets lists credential Secrets (keys only; nil: no credentials); seenCredentials
	// remembers them for when they are deleted (credentials.go).
	secrets         client.Reader
	seenCredentials map[types.NamespacedName]mesh.Credential
}

// ruleKey names a rule: its kind, namespace and name. A struct, not mesh.ObjectKey's string: the
// snapshot source files every rule under it at every build.
type ruleKey struct{ kind, namespace, name string }

// heldVersion is a rule version and the first snapshot that held it.
type heldVersion struct {
	uid        types.UID
	generation int64
	snapshot   uint64
	seen       uint64 // the generation of the last snapshot that held it
}

// defaultSnapshotInterval is the least time between two snapshot builds. While a mesh converges,
// events come faster than proxies are written: without a pause nearly every reconcile rebuilt the
// snapshot (2,549 builds for 5,021 renders at 1,000 services × 2,000 pods), and every worker could
// hold a different snapshot with its own translation. A caller that finds the snapshot stale within
// the interval waits out the rest of it, so one build serves every change made meanwhile; a stale
// snapshot is still never returned. Istio debounces its pushes by 100 ms for the same reason.
const defaultSnapshotInterval = 100 * time.Millisecond

func newSnapshotSource(r client.Reader, settings mesh.Settings) *snapshotSource {
	s := &snapshotSource{reader: r, stores: newMeshStores(r), settings: settings, minInterval: defaultSnapshotInterval}
	s.gen.Store(1)
	s.vs.validate = validate.VirtualService
	s.dr.validate = validate.DestinationRule
	s.gw.validate = validate.Gateway
	s.vs.clearStatus = func(vs *networkingv1alpha1.VirtualService) { vs.Status = networkingv1alpha1.VirtualServiceStatus{} }
	s.dr.clearStatus = func(dr *networkingv1alpha1.DestinationRule) { dr.Status = networkingv1alpha1.DestinationRuleStatus{} }
	s.gw.clearStatus = func(gw *networkingv1alpha1.Gateway) { gw.Status = networkingv1alpha1.GatewayStatus{} }
	s.vs.rolledOut = func(vs *networkingv1alpha1.VirtualService) *networkingv1alpha1.VirtualService {
		return rolledOutVersion(s.vs.withoutStatus(vs), vs.Status.RolledOut, func(v *networkingv1alpha1.VirtualService) *networkingv1alpha1.VirtualServiceSpec { return &v.Spec })
	}
	s.dr.rolledOut = func(dr *networkingv1alpha1.DestinationRule) *networkingv1alpha1.DestinationRule {
		return rolledOutVersion(s.dr.withoutStatus(dr), dr.Status.RolledOut, func(d *networkingv1alpha1.DestinationRule) *networkingv1alpha1.DestinationRuleSpec { return &d.Spec })
	}
	s.gw.rolledOut = func(gw *networkingv1alpha1.Gateway) *networkingv1alpha1.Gateway {
		return rolledOutVersion(s.gw.withoutStatus(gw), gw.Status.RolledOut, func(g *networkingv1alpha1.Gateway) *networkingv1alpha1.GatewaySpec { return &g.Spec })
	}
	return s
}

// latest is the newest snapshot built, nil before the first.
func (s *snapshotSource) latest() *mesh.Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snap
}

// invalidate marks the current snapshot stale.
func (s *snapshotSource) invalidate() { s.gen.Add(1) }

// get returns a snapshot no older than the last invalidate, and its generation: two calls that
// return the same generation return the same snapshot. Within minInterval of the last build it
// waits (unlocked) for the interval to end before building.
func (s *snapshotSource) get(ctx context.Context) (*mesh.Snapshot, uint64, error) {
	for {
		s.mu.Lock()
		gen := s.gen.Load()
		if s.snap != nil && s.snapGen == gen {
			defer s.mu.Unlock()
			return s.snap, gen, nil
		}
		if wait := s.minInterval - time.Since(s.builtAt); s.snap != nil && wait > 0 {
			s.mu.Unlock()
			if err := sleep(ctx, wait); err != nil {
				return nil, 0, fmt.Errorf("waiting for the next mesh snapshot: %w", err)
			}
			continue
		}
		s.builtAt = time.Now()
		snap, err := s.build(ctx)
		if err != nil {
			s.mu.Unlock()
			return nil, 0, err
		}
		s.snap, s.snapGen = snap, gen
		s.noteHeld(snap, gen)
		listeners := s.onBuild
		s.mu.Unlock()
		meshSnapshotBuilds.Inc()
		for _, fn := range listeners {
			fn(snap)
		}
		return snap, gen, nil
	}
}

// translationIdleRelease is how long the newest snapshot keeps what its proxies' translations
// share once no translation asks for it. At 1,000 services × 2,000 pods that is about 10 MB of
// protos per snapshot, and a snapshot stays the newest as long as nothing changes: once every
// proxy is written they only cost memory (translate.ReleaseIdle).
const translationIdleRelease = 10 * time.Second

// releaseIdleTranslations releases the newest snapshot's idle translations until ctx is done.
func (s *snapshotSource) releaseIdleTranslations(ctx context.Context) error {
	return every(ctx, translationIdleRelease/2, func() {
		if snap := s.latest(); snap != nil {
			translate.ReleaseIdle(snap, translationIdleRelease)
		}
	})
}

// every calls fn every d until ctx is done.
func every(ctx context.Context, d time.Duration, fn func()) error {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			fn()
		}
	}
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// noteHeld records, for each rule version snap holds, the first snapshot that held it. Callers
// hold s.mu.
func (s *snapshotSource) noteHeld(snap *mesh.Snapshot, gen uint64) {
	if s.firstHeld == nil {
		s.firstHeld = map[ruleKey]heldVersion{}
	}
	// Updated in place (a build used to make a new map of every rule): the rules snap does not
	// hold are those whose entry was not seen at gen.
	note := func(kind string, obj client.Object) {
		key := ruleKey{kind, obj.GetNamespace(), obj.GetName()}
		h, ok := s.firstHeld[key]
		if !ok || h.uid != obj.GetUID() || h.generation != obj.GetGeneration() {
			h = heldVersion{uid: obj.GetUID(), generation: obj.GetGeneration(), snapshot: gen}
		}
		h.seen = gen
		s.firstHeld[key] = h
	}
	for _, vs := range snap.VirtualServices {
		note("VirtualService", vs)
	}
	for _, dr := range snap.DestinationRules {
		note("DestinationRule", dr)
	}
	for _, gw := range snap.Gateways {
		note("Gateway", gw)
	}
	maps.DeleteFunc(s.firstHeld, func(_ ruleKey, h heldVersion) bool { return h.seen != gen })
}

// since returns the generation of the first snapshot that held obj (a rule of kind) at its
// current generation, 0 when the newest snapshot does not hold that version.
func (s *snapshotSource) since(kind string, obj client.Object) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	h, ok := s.firstHeld[ruleKey{kind, obj.GetNamespace(), obj.GetName()}]
	if !ok || h.uid != obj.GetUID() || h.generation != obj.GetGeneration() {
		return 0
	}
	return h.snapshot
}

// refusal returns why translation refused obj's current generation (a rule of kind), or nil.
func (s *snapshotSource) refusal(kind string, obj client.Object) []validate.Problem {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch kind {
	case "VirtualService":
		return s.vs.refusal(obj)
	case "DestinationRule":
		return s.dr.refusal(obj)
	case "Gateway":
		return s.gw.refusal(obj)
	}
	return nil
}

// notifyBuilds registers fn to be called with every new snapshot.
func (s *snapshotSource) notifyBuilds(fn func(*mesh.Snapshot)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onBuild = append(s.onBuild, fn)
}

// build reads the cache. Nothing is copied: the snapshot only reads the objects, and informers
// replace objects rather than change them.
func (s *snapshotSource) build(ctx context.Context) (*mesh.Snapshot, error) {
	in := mesh.Input{Settings: s.settings}
	var err error
	if in.Pods, err = s.stores.pods.all(ctx); err != nil {
		return nil, fmt.Errorf("building the mesh snapshot: listing pods: %w", err)
	}
	if in.Services, err = s.stores.services.all(ctx); err != nil {
		return nil, fmt.Errorf("building the mesh snapshot: listing services: %w", err)
	}
	if in.EndpointSlices, err = s.stores.slices.all(ctx); err != nil {
		return nil, fmt.Errorf("building the mesh snapshot: listing endpoint slices: %w", err)
	}
	vss, err := s.stores.virtualServices.all(ctx)
	if err != nil {
		return nil, fmt.Errorf("building the mesh snapshot: listing virtual services: %w", err)
	}
	drs, err := s.stores.destinationRules.all(ctx)
	if err != nil {
		return nil, fmt.Errorf("building the mesh snapshot: listing destination rules: %w", err)
	}
	gws, err := s.stores.gateways.all(ctx)
	if err != nil {
		return nil, fmt.Errorf("building the mesh snapshot: listing gateways: %w", err)
	}
	nodes := &metav1.PartialObjectMetadataList{}
	nodes.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("NodeList"))
	if err := s.reader.List(ctx, nodes, client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("building the mesh snapshot: listing nodes: %w", err)
	}
	in.Nodes = make([]corev1.Node, len(nodes.Items))
	for i, n := range nodes.Items {
		in.Nodes[i] = corev1.Node{ObjectMeta: n.ObjectMeta}
	}
	in.VirtualServices = s.vs.filter(vss)
	in.DestinationRules = s.dr.filter(drs)
	in.Gateways = s.gw.filter(gws)
	creds, err := s.credentials(ctx, in.Gateways, in.DestinationRules)
	if err != nil {
		return nil, err
	}
	in.Credentials = creds
	return mesh.New(in), nil
}

// meshStores are the cached kinds a snapshot is built from, read uncopied (cacheStore).
type meshStores struct {
	pods             podStore
	services         cacheStore[*corev1.Service]
	slices           cacheStore[*discoveryv1.EndpointSlice]
	virtualServices  cacheStore[*networkingv1alpha1.VirtualService]
	destinationRules cacheStore[*networkingv1alpha1.DestinationRule]
	gateways         cacheStore[*networkingv1alpha1.Gateway]
}

func newMeshStores(r client.Reader) *meshStores {
	return &meshStores{
		pods:             newPodStore(r),
		services:         cacheStore[*corev1.Service]{reader: r, newList: func() client.ObjectList { return &corev1.ServiceList{} }},
		slices:           cacheStore[*discoveryv1.EndpointSlice]{reader: r, newList: func() client.ObjectList { return &discoveryv1.EndpointSliceList{} }},
		virtualServices:  cacheStore[*networkingv1alpha1.VirtualService]{reader: r, newList: func() client.ObjectList { return &networkingv1alpha1.VirtualServiceList{} }},
		destinationRules: cacheStore[*networkingv1alpha1.DestinationRule]{reader: r, newList: func() client.ObjectList { return &networkingv1alpha1.DestinationRuleList{} }},
		gateways:         cacheStore[*networkingv1alpha1.Gateway]{reader: r, newList: func() client.ObjectList { return &networkingv1alpha1.GatewayList{} }},
	}
}

// useInformers makes every store read its informer of mgr's cache.
func (m *meshStores) useInformers(mgr ctrl.Manager) {
	m.pods.useInformer(mgr, &corev1.Pod{})
	m.services.useInformer(mgr, &corev1.Service{})
	m.slices.useInformer(mgr, &discoveryv1.EndpointSlice{})
	m.virtualServices.useInformer(mgr, &networkingv1alpha1.VirtualService{})
	m.destinationRules.useInformer(mgr, &networkingv1alpha1.DestinationRule{})
	m.gateways.useInformer(mgr, &networkingv1alpha1.Gateway{})
}

// rolledOutVersion turns cp, a copy of a rule made for it, into the version status.rolledOut
// keeps: that generation and spec (spec returns cp's spec field). nil when there is none or it
// does not decode.
func rolledOutVersion[P client.Object, S any](cp P, rolled *networkingv1alpha1.RolledOutSpec, spec func(P) *S) P {
	var none P
	if rolled == nil || len(rolled.Spec.Raw) == 0 {
		return none
	}
	cp.SetGeneration(rolled.Generation)
	into := spec(cp)
	*into = *new(S)
	if err := json.Unmarshal(rolled.Spec.Raw, into); err != nil {
		return none
	}
	return cp
}

// ruleGate remembers, per object (UID), the verdict on its current generation (internal/validate,
// or a translation refusal reported by refuse) and the versions that were valid. Callers hold
// snapshotSource.mu.
type ruleGate[V any, P interface {
	*V
	client.Object
}] struct {
	validate func(P) []validate.Problem
	// rolledOut returns the version status.rolledOut keeps (a generation that reached every proxy),
	// or nil: what a restarted manager falls back to when it has seen no valid version itself.
	rolledOut func(P) P
	// clearStatus empties a copy's status (withoutStatus).
	clearStatus func(P)
	seen        map[types.UID]*gateEntry[P]
}

// withoutStatus is a copy of obj without its status, sharing everything else with obj (which
// nobody changes). Snapshots hold these: translation reads no status, and a snapshot outlives the
// informers' versions of its rules — each status write replaces a rule's object, so at 1,000
// services the newest snapshot held a second, older status (conditions, canary weights, the
// rolled-out spec) of nearly every rule.
func (g *ruleGate[V, P]) withoutStatus(obj P) P {
	cp := P(new(V))
	*(*V)(cp) = *(*V)(obj)
	g.clearStatus(cp)
	return cp
}

// gateEntry holds versions without their status (ruleGate.withoutStatus), each made once per
// object the cache hands over (informers replace objects, never change them).
type gateEntry[P any] struct {
	generation int64 // of the listed version
	valid      bool  // verdict on the listed version
	good       P     // the newest valid version, nil when none was
	// goodOf is the resourceVersion of the listed object good was copied from, "" when good is
	// another version: a build reuses good while the cache holds that object.
	goodOf string
	older  P // the valid version good replaced, for when good is refused later
	// refused: why translation refused the listed version (valid is then false).
	refused []validate.Problem
}

// filter returns the rules to translate: each valid rule as it is, an invalid one as its newest
// valid version, if any. Objects no longer listed are forgotten.
func (g *ruleGate[V, P]) filter(items []P) []P {
	next := make(map[types.UID]*gateEntry[P], len(items))
	out := make([]P, 0, len(items))
	for _, obj := range items {
		e := g.seen[obj.GetUID()]
		if e == nil {
			e = &gateEntry[P]{generation: -1}
		}
		if e.generation != obj.GetGeneration() {
			e.generation, e.valid, e.refused = obj.GetGeneration(), len(g.validate(obj)) == 0, nil
		}
		if e.valid {
			if e.good != nil && e.good.GetGeneration() != e.generation {
				e.older = e.good
			}
			if rv := obj.GetResourceVersion(); e.good == nil || rv == "" || e.goodOf != rv {
				e.good, e.goodOf = g.withoutStatus(obj), rv
			}
		} else if e.good == nil {
			e.good = g.fromStatus(obj)
		}
		next[obj.GetUID()] = e
		if e.good != nil {
			out = append(out, e.good)
		}
	}
	g.seen = next
	return out
}

// refuse marks the version of obj translate refused (an Envoy config it built from the rule did not
// validate): from now on its previous valid version stands in for it, or nothing. It returns
// whether a snapshot holding obj is stale: obj was refused now or before. It returns false when
// obj is still what the gate picks (a previous valid version that translate now refuses too stays:
// there is nothing older to fall back to).
func (g *ruleGate[V, P]) refuse(obj P, problems []validate.Problem) (stale, marked bool) {
	e := g.seen[obj.GetUID()]
	if e == nil {
		return false, false
	}
	if e.generation == obj.GetGeneration() && e.valid {
		e.valid, e.refused = false, problems
		if e.good != nil && e.good.GetGeneration() == e.generation {
			e.good, e.goodOf, e.older = e.older, "", nil
			if e.good == nil {
				e.good = g.fromStatus(obj)
			}
		}
		return true, true
	}
	return e.good == nil || e.good.GetGeneration() != obj.GetGeneration(), false
}

// fromStatus returns the version obj's status.rolledOut keeps, if it is older than obj.
func (g *ruleGate[V, P]) fromStatus(obj P) P {
	if g.rolledOut == nil {
		return nil
	}
	v := g.rolledOut(obj)
	if v == nil || v.GetGeneration() >= obj.GetGeneration() {
		return nil
	}
	return v
}

// refusal returns why translation refused obj's current generation, or nil.
func (g *ruleGate[V, P]) refusal(obj client.Object) []validate.Problem {
	e := g.seen[obj.GetUID()]
	if e == nil || e.generation != obj.GetGeneration() {
		return nil
	}
	return e.refused
}

// refused reports the rules of snap that translation refused for some proxy (problems with reason
// InvalidConfig naming a VirtualService, DestinationRule or Gateway; not SecretNotFound: a
// deleted Secret leaves the Gateway's generation as it was, so refusing it would drop the
// Gateway rather than keep it — the snapshot remembers deleted Secrets instead, credentials.go), marks their versions so that
// the next snapshot carries their last valid versions instead, and invalidates snap. A caller that
// gets true must not write what it translated from snap: it translates again from a new snapshot.
//
// marked lists the rules refused by this call (each once per generation), with their problems,
// for the caller to report.
func (s *snapshotSource) refused(snap *mesh.Snapshot, problems []validate.Problem) (stale bool, marked []refusal) {
	var keys map[string][]validate.Problem
	for _, p := range problems {
		if p.Reason != translate.ReasonInvalidConfig {
			continue
		}
		kind, ns, name, _ := translate.ProblemObject(p)
		if keys == nil {
			keys = map[string][]validate.Problem{}
		}
		k := mesh.ObjectKey(kind, ns, name)
		keys[k] = append(keys[k], p)
	}
	if len(keys) == 0 {
		return false, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	note := func(obj client.Object, ps []validate.Problem, st, mk bool) {
		stale = stale || st
		if mk {
			marked = append(marked, refusal{Object: obj, Problems: ps})
		}
	}
	for _, vs := range snap.VirtualServices {
		if ps := keys[mesh.ObjectKey("VirtualService", vs.Namespace, vs.Name)]; ps != nil {
			st, mk := s.vs.refuse(vs, ps)
			note(vs, ps, st, mk)
		}
	}
	for _, dr := range snap.DestinationRules {
		if ps := keys[mesh.ObjectKey("DestinationRule", dr.Namespace, dr.Name)]; ps != nil {
			st, mk := s.dr.refuse(dr, ps)
			note(dr, ps, st, mk)
		}
	}
	for _, gw := range snap.Gateways {
		if ps := keys[mesh.ObjectKey("Gateway", gw.Namespace, gw.Name)]; ps != nil {
			st, mk := s.gw.refuse(gw, ps)
			note(gw, ps, st, mk)
		}
	}
	if len(marked) > 0 {
		s.gen.Add(1)
	}
	return stale, marked
}

// refusal is a rule version translation refused, and why.
type refusal struct {
	Object   client.Object
	Problems []validate.Problem
}
