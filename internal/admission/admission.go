// Package admission serves the manager's admission webhooks: the injection webhook that adds the
// proxy to meshed pods (inject.go, internal/inject), and the validating webhooks of
// VirtualService, DestinationRule and Gateway. These run the same checks (internal/validate) as
// the Accepted condition, so a spec the CRD's schema and CEL rules let through but Istio would
// refuse is refused at `kubectl apply` when the webhook is installed, and reported in status when
// it is not.
package admission

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	networkingv1alpha1 "github.com/mizzen-mesh/mizzen/api/v1alpha1"
	"github.com/mizzen-mesh/mizzen/internal/inject"
	"github.com/mizzen-mesh/mizzen/internal/validate"
)

// failurePolicy=fail: while the manager is down, changes to these kinds wait rather than skip the
// checks; the CRD's CEL rules still guard the schema either way.
// +kubebuilder:webhook:path=/validate-networking-mizzen-dev-v1alpha1-virtualservice,mutating=false,failurePolicy=fail,sideEffects=None,groups=networking.mizzen.dev,resources=virtualservices,verbs=create;update,versions=v1alpha1,name=virtualservices.networking.mizzen.dev,admissionReviewVersions=v1
// +kubebuilder:webhook:path=/validate-networking-mizzen-dev-v1alpha1-destinationrule,mutating=false,failurePolicy=fail,sideEffects=None,groups=networking.mizzen.dev,resources=destinationrules,verbs=create;update,versions=v1alpha1,name=destinationrules.networking.mizzen.dev,admissionReviewVersions=v1
// +kubebuilder:webhook:path=/validate-networking-mizzen-dev-v1alpha1-gateway,mutating=false,failurePolicy=fail,sideEffects=None,groups=networking.mizzen.dev,resources=gateways,verbs=create;update,versions=v1alpha1,name=gateways.networking.mizzen.dev,admissionReviewVersions=v1

// Options configure the webhooks (the manager's flags).
type Options struct {
	// Inject: images and resources of what the injection webhook adds to pods.
	Inject inject.Options
}

// SetupWithManager registers the injection webhook and the three validating webhooks on the
// manager's webhook server.
func SetupWithManager(mgr ctrl.Manager, o Options) error {
	if err := registerInjector(mgr, o.Inject); err != nil {
		return err
	}
	if err := register(mgr, &networkingv1alpha1.VirtualService{}, validate.VirtualService, validate.VirtualServiceWarnings); err != nil {
		return err
	}
	if err := register(mgr, &networkingv1alpha1.DestinationRule{}, validate.DestinationRule, validate.DestinationRuleWarnings); err != nil {
		return err
	}
	return register(mgr, &networkingv1alpha1.Gateway{}, validate.Gateway, validate.GatewayWarnings)
}

func register[T client.Object](mgr ctrl.Manager, obj T, problems, warnings func(T) []validate.Problem) error {
	gvk, err := apiutil.GVKForObject(obj, mgr.GetScheme())
	if err != nil {
		return fmt.Errorf("registering the validating webhook: %w", err)
	}
	v := validator[T]{kind: gvk.GroupKind(), problems: problems, warnings: warnings}
	if err := ctrl.NewWebhookManagedBy(mgr, obj).WithValidator(v).Complete(); err != nil {
		return fmt.Errorf("registering the %s validating webhook: %w", gvk.Kind, err)
	}
	return nil
}

// validator admits an object when its spec has no problems, and passes on the warnings Istio
// would give (deprecated fields, unreachable rules, ...) as admission warnings.
type validator[T client.Object] struct {
	kind     schema.GroupKind
	problems func(T) []validate.Problem
	warnings func(T) []validate.Problem
}

func (v validator[T]) ValidateCreate(_ context.Context, obj T) (admission.Warnings, error) {
	return v.check(obj)
}

func (v validator[T]) ValidateUpdate(_ context.Context, _, obj T) (admission.Warnings, error) {
	return v.check(obj)
}

func (v validator[T]) ValidateDelete(context.Context, T) (admission.Warnings, error) {
	return nil, nil
}

func (v validator[T]) check(obj T) (admission.Warnings, error) {
	var warnings admission.Warnings
	for _, w := range v.warnings(obj) {
		warnings = append(warnings, w.String())
	}
	problems := v.problems(obj)
	if len(problems) == 0 {
		return warnings, nil
	}
	errs := make(field.ErrorList, 0, len(problems))
	for _, p := range problems {
		errs = append(errs, &field.Error{Type: field.ErrorTypeInvalid, Field: p.Field, BadValue: field.OmitValueType{}, Detail: p.Message + " (" + p.Reason + ")"})
	}
	return warnings, apierrors.NewInvalid(v.kind, obj.GetName(), errs)
}
