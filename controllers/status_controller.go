package controllers

import (
	"context"
	"fmt"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	networkingv1alpha1 "github.com/mizzen-mesh/mizzen/api/v1alpha1"
	"github.com/mizzen-mesh/mizzen/internal/validate"
)

// +kubebuilder:rbac:groups=networking.mizzen.dev,resources=virtualservices;destinationrules;gateways,verbs=get;list;watch
// +kubebuilder:rbac:groups=networking.mizzen.dev,resources=virtualservices/status;destinationrules/status;gateways/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// statusKind tells the status reconciler how to validate one kind and where its status lives.
type statusKind[T client.Object] struct {
	name      string
	newObject func() T
	validate  func(T) []validate.Problem
	// status returns pointers to the object's conditions and observedGeneration, after writing
	// the status fields that follow from the spec alone (the printer-column summaries).
	status func(T) (conditions *[]metav1.Condition, observedGeneration *int64)
}

// StatusReconciler keeps the Accepted condition, observedGeneration and the printer-column
// summaries of one kind current: Accepted=True when internal/validate finds nothing wrong with the
// spec, Accepted=False with reason Invalid and every problem's field path and message otherwise.
type StatusReconciler[T client.Object] struct {
	client.Client
	Recorder events.EventRecorder
	kind     statusKind[T]
}

// NewVirtualServiceStatusReconciler reports whether each VirtualService is accepted.
func NewVirtualServiceStatusReconciler(c client.Client, rec events.EventRecorder) *StatusReconciler[*networkingv1alpha1.VirtualService] {
	return &StatusReconciler[*networkingv1alpha1.VirtualService]{Client: c, Recorder: rec, kind: statusKind[*networkingv1alpha1.VirtualService]{
		name:      "virtualservice",
		newObject: func() *networkingv1alpha1.VirtualService { return &networkingv1alpha1.VirtualService{} },
		validate:  validate.VirtualService,
		status: func(vs *networkingv1alpha1.VirtualService) (*[]metav1.Condition, *int64) {
			return &vs.Status.Conditions, &vs.Status.ObservedGeneration
		},
	}}
}

// NewDestinationRuleStatusReconciler reports whether each DestinationRule is accepted.
func NewDestinationRuleStatusReconciler(c client.Client, rec events.EventRecorder) *StatusReconciler[*networkingv1alpha1.DestinationRule] {
	return &StatusReconciler[*networkingv1alpha1.DestinationRule]{Client: c, Recorder: rec, kind: statusKind[*networkingv1alpha1.DestinationRule]{
		name:      "destinationrule",
		newObject: func() *networkingv1alpha1.DestinationRule { return &networkingv1alpha1.DestinationRule{} },
		validate:  validate.DestinationRule,
		status: func(dr *networkingv1alpha1.DestinationRule) (*[]metav1.Condition, *int64) {
			dr.Status.SubsetsSummary = dr.Spec.SubsetsSummary()
			return &dr.Status.Conditions, &dr.Status.ObservedGeneration
		},
	}}
}

// NewGatewayStatusReconciler reports whether each Gateway is accepted.
func NewGatewayStatusReconciler(c client.Client, rec events.EventRecorder) *StatusReconciler[*networkingv1alpha1.Gateway] {
	return &StatusReconciler[*networkingv1alpha1.Gateway]{Client: c, Recorder: rec, kind: statusKind[*networkingv1alpha1.Gateway]{
		name:      "gateway",
		newObject: func() *networkingv1alpha1.Gateway { return &networkingv1alpha1.Gateway{} },
		validate:  validate.Gateway,
		status: func(gw *networkingv1alpha1.Gateway) (*[]metav1.Condition, *int64) {
			gw.Status.ServersSummary = gw.Spec.ServersSummary()
			return &gw.Status.Conditions, &gw.Status.ObservedGeneration
		},
	}}
}

// Reconcile validates the object's spec and patches its status when what it reports changed.
func (r *StatusReconciler[T]) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	log := logf.FromContext(ctx)
	obj := r.kind.newObject()
	if err := r.Get(ctx, req.NamespacedName, obj); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	before := obj.DeepCopyObject().(T)

	conditions, observed := r.kind.status(obj)
	wasAccepted := meta.FindStatusCondition(*conditions, networkingv1alpha1.ConditionAccepted)
	accepted := acceptedCondition(r.kind.validate(obj), obj.GetGeneration())
	meta.SetStatusCondition(conditions, accepted)
	*observed = obj.GetGeneration()

	if equality.Semantic.DeepEqual(before, obj) {
		return ctrl.Result{}, nil
	}
	if err := r.Status().Patch(ctx, obj, client.MergeFrom(before)); err != nil {
		return ctrl.Result{}, fmt.Errorf("patching status of %s %s: %w", r.kind.name, req.NamespacedName, err)
	}
	if wasAccepted == nil || wasAccepted.Status != accepted.Status || wasAccepted.Message != accepted.Message {
		eventType := corev1.EventTypeNormal
		if accepted.Status != metav1.ConditionTrue {
			eventType = corev1.EventTypeWarning
		}
		r.Recorder.Eventf(obj, nil, eventType, accepted.Reason, "Validate", "%s", accepted.Message)
		log.Info("acceptance changed", "accepted", accepted.Status, "reason", accepted.Reason, "generation", obj.GetGeneration())
	}
	return ctrl.Result{}, nil
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
		c.Message = truncate(validate.Join(problems), maxConditionMessage)
	}
	return c
}

// maxConditionMessage keeps a message inside metav1.Condition's 32768-byte limit with room to spare.
const maxConditionMessage = 4096

// truncate cuts s to at most n bytes on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len(" …")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + " …"
}

// SetupWithManager registers the reconciler for its kind. Only spec changes (generation bumps)
// trigger it: its own status writes must not.
func (r *StatusReconciler[T]) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named(r.kind.name+"-status").
		For(r.kind.newObject(), builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Complete(r)
}
