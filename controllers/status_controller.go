package controllers

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	networkingv1alpha1 "github.com/mizzen-mesh/mizzen/api/v1alpha1"
	"github.com/mizzen-mesh/mizzen/internal/mesh"
	"github.com/mizzen-mesh/mizzen/internal/rollout"
	"github.com/mizzen-mesh/mizzen/internal/translate"
	"github.com/mizzen-mesh/mizzen/internal/validate"
)

// +kubebuilder:rbac:groups=networking.mizzen.dev,resources=virtualservices;destinationrules;gateways,verbs=get;list;watch
// +kubebuilder:rbac:groups=networking.mizzen.dev,resources=virtualservices/status;destinationrules/status;gateways/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// How long kicks from snapshot builds and proxy writes are gathered before the status
// reconcilers recount: a rollout to many proxies then costs a few recounts, not one per proxy.
const (
	snapshotKickDelay = 250 * time.Millisecond
	progressKickDelay = 100 * time.Millisecond
)

// statusKind tells the status reconciler how to handle one kind.
type statusKind[T client.Object] struct {
	kind      string // as in mesh.ObjectKey: VirtualService, DestinationRule, Gateway
	newObject func() T
	validate  func(T) []validate.Problem
	// inSnapshot lists the objects of the kind a snapshot holds.
	inSnapshot func(*mesh.Snapshot) []client.Object
	// status writes the kind's own status fields (summaries, counts, kind-specific conditions)
	// and returns pointers to its conditions and observedGeneration.
	status func(T, statusFacts) (conditions *[]metav1.Condition, observedGeneration *int64)
	// rolledOut returns where the kind keeps status.rolledOut, and the spec to keep there.
	rolledOut func(T) (**networkingv1alpha1.RolledOutSpec, any)
}

// statusFacts is what the status of one rule is computed from, beyond its spec.
type statusFacts struct {
	snap     *mesh.Snapshot
	progress rollout.Progress
	accepted bool
}

// StatusReconciler keeps the status of one kind current:
//
//   - Accepted: internal/validate finds nothing wrong with the spec and translation did not refuse
//     it (reason Invalid or TranslationRefused with every problem's field and message otherwise);
//   - ResolvedRefs: the hosts, subsets, delegates, gateways and pods it refers to exist and no
//     older rule holds its hosts (translate.RuleProblems of the current mesh snapshot);
//   - Degraded: fields accepted but not translated; Conflicted: a host shared with another rule;
//   - Progressing and Ready: how many of the proxies the rule shapes carry its generation
//     (internal/rollout, from what the proxy reconciler recorded), so that
//     `kubectl wait --for=condition=Ready` returns once a change is out;
//   - observedGeneration, the printer-column summaries and the kind's counts.
//
// It runs on spec changes, on every new mesh snapshot (references may have appeared or gone) and,
// while a rollout is under way, whenever proxies were written.
type StatusReconciler[T client.Object] struct {
	client.Client
	Recorder events.EventRecorder
	kind     statusKind[T]

	snapshots *snapshotSource
	proxies   *ProxyReconciler

	// rolling holds the rules whose rollout is not done: proxy writes recount them.
	rolling sync.Map // types.NamespacedName → struct{}
	// latest is the newest snapshot, whose rules a snapshot kick recounts.
	latest                 atomic.Pointer[mesh.Snapshot]
	onSnapshot, onProgress *kicker
}

func newStatusReconciler[T client.Object](c client.Client, rec events.EventRecorder, proxies *ProxyReconciler, kind statusKind[T]) *StatusReconciler[T] {
	r := &StatusReconciler[T]{Client: c, Recorder: rec, kind: kind, snapshots: proxies.snapshots, proxies: proxies}
	r.onSnapshot = newKicker(snapshotKickDelay, func() []reconcile.Request {
		snap := r.latest.Load()
		if snap == nil {
			return nil
		}
		objs := r.kind.inSnapshot(snap)
		out := make([]reconcile.Request, 0, len(objs))
		for _, o := range objs {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(o)})
		}
		return out
	})
	r.onProgress = newKicker(progressKickDelay, func() []reconcile.Request {
		var out []reconcile.Request
		r.rolling.Range(func(k, _ any) bool {
			out = append(out, reconcile.Request{NamespacedName: k.(types.NamespacedName)})
			return true
		})
		return out
	})
	proxies.snapshots.notifyBuilds(func(snap *mesh.Snapshot) {
		r.latest.Store(snap)
		r.onSnapshot.kick()
	})
	proxies.onRecorded = append(proxies.onRecorded, r.onProgress.kick)
	return r
}

// NewVirtualServiceStatusReconciler reports acceptance, references and the canary rollout of each
// VirtualService.
func NewVirtualServiceStatusReconciler(c client.Client, rec events.EventRecorder, proxies *ProxyReconciler) *StatusReconciler[*networkingv1alpha1.VirtualService] {
	return newStatusReconciler(c, rec, proxies, statusKind[*networkingv1alpha1.VirtualService]{
		kind:       "VirtualService",
		newObject:  func() *networkingv1alpha1.VirtualService { return &networkingv1alpha1.VirtualService{} },
		validate:   validate.VirtualService,
		inSnapshot: func(s *mesh.Snapshot) []client.Object { return objects(s.VirtualServices) },
		rolledOut: func(vs *networkingv1alpha1.VirtualService) (**networkingv1alpha1.RolledOutSpec, any) {
			return &vs.Status.RolledOut, vs.Spec
		},
		status: func(vs *networkingv1alpha1.VirtualService, f statusFacts) (*[]metav1.Condition, *int64) {
			weights := rollout.Weights(&vs.Spec)
			counts := proxyCounts(f.progress)
			vs.Status.Canary = &networkingv1alpha1.CanaryStatus{
				Weights:        weights,
				WeightsSummary: networkingv1alpha1.WeightsSummary(weights),
				Proxies:        *counts,
				UpdatedSummary: counts.UpdatedSummary(),
			}
			return &vs.Status.Conditions, &vs.Status.ObservedGeneration
		},
	})
}

// NewDestinationRuleStatusReconciler reports acceptance, references, subset pod counts and the
// rollout of each DestinationRule.
func NewDestinationRuleStatusReconciler(c client.Client, rec events.EventRecorder, proxies *ProxyReconciler) *StatusReconciler[*networkingv1alpha1.DestinationRule] {
	return newStatusReconciler(c, rec, proxies, statusKind[*networkingv1alpha1.DestinationRule]{
		kind:       "DestinationRule",
		newObject:  func() *networkingv1alpha1.DestinationRule { return &networkingv1alpha1.DestinationRule{} },
		validate:   validate.DestinationRule,
		inSnapshot: func(s *mesh.Snapshot) []client.Object { return objects(s.DestinationRules) },
		rolledOut: func(dr *networkingv1alpha1.DestinationRule) (**networkingv1alpha1.RolledOutSpec, any) {
			return &dr.Status.RolledOut, dr.Spec
		},
		status: func(dr *networkingv1alpha1.DestinationRule, f statusFacts) (*[]metav1.Condition, *int64) {
			dr.Status.SubsetsSummary = dr.Spec.SubsetsSummary()
			host := f.snap.ResolveHost(dr.Spec.Host, dr.Namespace)
			dr.Status.Subsets = nil
			for _, s := range dr.Spec.Subsets {
				dr.Status.Subsets = append(dr.Status.Subsets, networkingv1alpha1.SubsetStatus{
					Name: string(s.Name), Pods: int32(f.snap.SubsetPods(host, s.Labels)),
				})
			}
			dr.Status.Proxies = proxyCounts(f.progress)
			dr.Status.UpdatedSummary = dr.Status.Proxies.UpdatedSummary()
			return &dr.Status.Conditions, &dr.Status.ObservedGeneration
		},
	})
}

// NewGatewayStatusReconciler reports acceptance, references and how many gateway proxies are
// programmed with each Gateway.
func NewGatewayStatusReconciler(c client.Client, rec events.EventRecorder, proxies *ProxyReconciler) *StatusReconciler[*networkingv1alpha1.Gateway] {
	return newStatusReconciler(c, rec, proxies, statusKind[*networkingv1alpha1.Gateway]{
		kind:       "Gateway",
		newObject:  func() *networkingv1alpha1.Gateway { return &networkingv1alpha1.Gateway{} },
		validate:   validate.Gateway,
		inSnapshot: func(s *mesh.Snapshot) []client.Object { return objects(s.Gateways) },
		rolledOut: func(gw *networkingv1alpha1.Gateway) (**networkingv1alpha1.RolledOutSpec, any) {
			return &gw.Status.RolledOut, gw.Spec
		},
		status: func(gw *networkingv1alpha1.Gateway, f statusFacts) (*[]metav1.Condition, *int64) {
			gw.Status.ServersSummary = gw.Spec.ServersSummary()
			gw.Status.Proxies = proxyCounts(f.progress)
			gw.Status.UpdatedSummary = gw.Status.Proxies.UpdatedSummary()
			meta.SetStatusCondition(&gw.Status.Conditions, programmedCondition(f, gw.Generation))
			return &gw.Status.Conditions, &gw.Status.ObservedGeneration
		},
	})
}

// programmedCondition: True when every gateway proxy the Gateway shapes carries its generation.
func programmedCondition(f statusFacts, generation int64) metav1.Condition {
	c := metav1.Condition{Type: networkingv1alpha1.ConditionProgrammed, ObservedGeneration: generation, Status: metav1.ConditionFalse}
	p := f.progress
	switch {
	case !f.accepted:
		c.Reason, c.Message = networkingv1alpha1.ReasonNotAccepted, "the spec is not accepted; gateway proxies keep the last accepted version"
	case p.Total == 0:
		c.Reason, c.Message = networkingv1alpha1.ReasonNoProxies, "no gateway proxy serves this Gateway"
	case !p.Done():
		c.Reason, c.Message = networkingv1alpha1.ReasonRollingOut, fmt.Sprintf("%d/%d gateway proxies carry generation %d", p.Updated, p.Total, generation)
	default:
		c.Status, c.Reason, c.Message = metav1.ConditionTrue, networkingv1alpha1.ConditionProgrammed, fmt.Sprintf("%d/%d gateway proxies carry generation %d", p.Updated, p.Total, generation)
	}
	return c
}

func proxyCounts(p rollout.Progress) *networkingv1alpha1.ProxyCounts {
	return &networkingv1alpha1.ProxyCounts{Total: int32(p.Total), Updated: int32(p.Updated)}
}

func objects[T client.Object](items []T) []client.Object {
	out := make([]client.Object, len(items))
	for i, o := range items {
		out[i] = o
	}
	return out
}

// Reconcile recomputes the object's status and patches it when what it reports changed.
func (r *StatusReconciler[T]) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	log := logf.FromContext(ctx)
	obj := r.kind.newObject()
	if err := r.Get(ctx, req.NamespacedName, obj); err != nil {
		if client.IgnoreNotFound(err) == nil {
			r.rolling.Delete(req.NamespacedName)
			forgetRolloutMetrics(r.kind.kind, req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	snap, _, err := r.snapshots.get(ctx)
	if err != nil {
		return ctrl.Result{}, err
	}
	before := obj.DeepCopyObject().(T)
	gen := obj.GetGeneration()

	accepted := acceptedCondition(r.kind.validate(obj), gen)
	if accepted.Status == metav1.ConditionTrue {
		if ps := r.snapshots.refusal(r.kind.kind, obj); len(ps) > 0 {
			accepted = refusedCondition(ps, gen)
		}
	}
	isAccepted := accepted.Status == metav1.ConditionTrue
	refs, unsupported, conflicts := classify(translate.ProblemsOf(snap, r.kind.kind, obj.GetNamespace(), obj.GetName()))
	resolved := rollout.ResolvedRefs(refs, gen)
	target := rollout.Target{
		Rule:       mesh.ObjectKey(r.kind.kind, obj.GetNamespace(), obj.GetName()),
		Generation: gen,
		Since:      r.snapshots.since(r.kind.kind, obj),
	}
	// Marked as rolling out before the count, so a proxy recorded after the count kicks a recount.
	if isAccepted {
		r.rolling.Store(req.NamespacedName, struct{}{})
	}
	progress := r.proxies.tracker.Progress(target, r.proxies.rolloutCandidates(ctx, obj))

	conditions, observed := r.kind.status(obj, statusFacts{snap: snap, progress: progress, accepted: isAccepted})
	wasAccepted := meta.FindStatusCondition(*conditions, networkingv1alpha1.ConditionAccepted)
	wasReady := meta.FindStatusCondition(*conditions, networkingv1alpha1.ConditionReady)
	wasResolved := meta.FindStatusCondition(*conditions, networkingv1alpha1.ConditionResolvedRefs)
	ready := rollout.Ready(accepted, resolved, progress, gen)
	for _, c := range []metav1.Condition{
		accepted, resolved, degradedCondition(unsupported, gen),
		rollout.Progressing(isAccepted, progress, gen), ready,
	} {
		meta.SetStatusCondition(conditions, c)
	}
	if len(conflicts) > 0 {
		meta.SetStatusCondition(conditions, metav1.Condition{Type: networkingv1alpha1.ConditionConflicted, Status: metav1.ConditionTrue,
			Reason: networkingv1alpha1.ReasonConflictingHost, ObservedGeneration: gen, Message: rollout.Truncate(validate.Join(conflicts), rollout.MaxMessage)})
	} else {
		meta.RemoveStatusCondition(conditions, networkingv1alpha1.ConditionConflicted)
	}
	*observed = gen
	if isAccepted && progress.Done() {
		if err := r.keepRolledOut(obj, gen); err != nil {
			return ctrl.Result{}, err
		}
	}

	if !isAccepted || progress.Done() {
		r.rolling.Delete(req.NamespacedName)
	}
	setRolloutMetrics(r.kind.kind, req.NamespacedName, progress)

	if equality.Semantic.DeepEqual(before, obj) {
		return ctrl.Result{}, nil
	}
	if err := r.Status().Patch(ctx, obj, client.MergeFrom(before)); err != nil {
		return ctrl.Result{}, fmt.Errorf("patching status of %s %s: %w", r.kind.kind, req.NamespacedName, err)
	}
	switch {
	case conditionChanged(wasAccepted, accepted):
		r.event(obj, accepted, "Validate")
		log.Info("acceptance changed", "accepted", accepted.Status, "reason", accepted.Reason, "generation", gen)
	case conditionChanged(wasResolved, resolved) && resolved.Status != metav1.ConditionTrue:
		r.event(obj, resolved, "ResolveRefs")
	}
	if conditionChanged(wasReady, ready) && ready.Status == metav1.ConditionTrue {
		r.Recorder.Eventf(obj, nil, corev1.EventTypeNormal, networkingv1alpha1.ReasonRolledOut, "Rollout", "%s", ready.Message)
		log.Info("rolled out", "generation", gen, "proxies", progress.Total)
	}
	return ctrl.Result{}, nil
}

// keepRolledOut records in status that generation gen reached every proxy it shapes, with its
// spec: the version proxies stay on, across manager restarts, while a later one is refused.
func (r *StatusReconciler[T]) keepRolledOut(obj T, gen int64) error {
	field, spec := r.kind.rolledOut(obj)
	if *field != nil && (*field).Generation == gen {
		return nil
	}
	raw, err := json.Marshal(spec)
	if err != nil {
		return fmt.Errorf("encoding the rolled-out spec of %s %s/%s: %w", r.kind.kind, obj.GetNamespace(), obj.GetName(), err)
	}
	*field = &networkingv1alpha1.RolledOutSpec{Generation: gen, Spec: runtime.RawExtension{Raw: raw}}
	return nil
}

// conditionChanged reports whether a condition's status or message differs from what was reported.
func conditionChanged(was *metav1.Condition, now metav1.Condition) bool {
	return was == nil || was.Status != now.Status || was.Message != now.Message
}

// event records a condition as an event: Warning unless it is True.
func (r *StatusReconciler[T]) event(obj T, c metav1.Condition, action string) {
	eventType := corev1.EventTypeNormal
	if c.Status != metav1.ConditionTrue {
		eventType = corev1.EventTypeWarning
	}
	r.Recorder.Eventf(obj, nil, eventType, c.Reason, action, "%s", c.Message)
}

// classify sorts the problems translation reports about a rule by the condition they belong to.
// InvalidConfig is not among them: the snapshot source turns it into a refusal (Accepted=False).
func classify(problems []validate.Problem) (refs, unsupported, conflicts []validate.Problem) {
	for _, p := range problems {
		switch p.Reason {
		case translate.ReasonInvalidConfig:
		case translate.ReasonUnsupported:
			unsupported = append(unsupported, p)
		case translate.ReasonShadowsNewerRule:
			conflicts = append(conflicts, p)
		case translate.ReasonConflictingHost:
			conflicts = append(conflicts, p)
			refs = append(refs, p)
		default:
			refs = append(refs, p)
		}
	}
	return refs, unsupported, conflicts
}

// acceptedCondition turns the problems found in a spec into the Accepted condition.
func acceptedCondition(problems []validate.Problem, generation int64) metav1.Condition {
	c := metav1.Condition{
		Type:               networkingv1alpha1.ConditionAccepted,
		Status:             metav1.ConditionTrue,
		Reason:             networkingv1alpha1.ReasonAccepted,
		Message:            "the spec is valid",
		ObservedGeneration: generation,
	}
	if len(problems) > 0 {
		c.Status = metav1.ConditionFalse
		c.Reason = networkingv1alpha1.ReasonInvalid
		c.Message = rollout.Truncate(validate.Join(problems), rollout.MaxMessage)
	}
	return c
}

// refusedCondition is Accepted=False for a generation whose Envoy config did not validate.
func refusedCondition(problems []validate.Problem, generation int64) metav1.Condition {
	return metav1.Condition{
		Type: networkingv1alpha1.ConditionAccepted, Status: metav1.ConditionFalse, ObservedGeneration: generation,
		Reason: networkingv1alpha1.ReasonTranslationRefused,
		Message: rollout.Truncate(fmt.Sprintf("the Envoy config built from generation %d does not validate; proxies keep the previous version: %s",
			generation, validate.Join(problems)), rollout.MaxMessage),
	}
}

// degradedCondition: True while fields are accepted but not translated.
func degradedCondition(unsupported []validate.Problem, generation int64) metav1.Condition {
	if len(unsupported) == 0 {
		return metav1.Condition{Type: networkingv1alpha1.ConditionDegraded, Status: metav1.ConditionFalse, ObservedGeneration: generation,
			Reason: networkingv1alpha1.ReasonFullySupported, Message: "every field is translated"}
	}
	return metav1.Condition{Type: networkingv1alpha1.ConditionDegraded, Status: metav1.ConditionTrue, ObservedGeneration: generation,
		Reason: networkingv1alpha1.ReasonUnsupported, Message: rollout.Truncate(validate.Join(unsupported), rollout.MaxMessage)}
}

// SetupWithManager registers the reconciler for its kind: spec changes (generation bumps; its own
// status writes must not trigger it) and the kicks of snapshot builds and proxy writes.
func (r *StatusReconciler[T]) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named(strings.ToLower(r.kind.kind)+"-status").
		For(r.kind.newObject(), builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		WatchesRawSource(r.onSnapshot).
		WatchesRawSource(r.onProgress).
		Complete(r)
}
