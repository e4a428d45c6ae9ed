package admission

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	networkingv1alpha1 "github.com/mizzen-mesh/mizzen/api/v1alpha1"
	"github.com/mizzen-mesh/mizzen/internal/inject"
	"github.com/mizzen-mesh/mizzen/internal/mesh"
)

// InjectPath is where the manager serves the injection webhook.
const InjectPath = "/inject-v1-pod"

// The injection webhook. failurePolicy=fail: a meshed pod created while the webhook is down would
// run without its proxy and silently bypass the mesh (no mTLS, no routing rules), so its creation
// waits instead; the ReplicaSet controller retries. What keeps this from blocking the whole
// cluster is the webhook's scope, set in config/webhook (controller-gen cannot): a namespaceSelector
// on mizzen.dev/mesh=enabled (never the manager's own namespace) and an objectSelector skipping
// pods labelled mizzen.dev/proxy=disabled. Under OLM, which replaces the namespaceSelector with the
// OperatorGroup's namespaces, the handler's own namespace check below does the selecting.
// +kubebuilder:webhook:path=/inject-v1-pod,mutating=true,failurePolicy=fail,sideEffects=None,groups="",resources=pods,verbs=create,versions=v1,name=inject.mizzen.dev,admissionReviewVersions=v1

// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch
// +kubebuilder:rbac:groups=networking.mizzen.dev,resources=gateways,verbs=get;list;watch

// Injector is the pod injection webhook: it gathers what internal/inject needs to know about a
// new pod (its namespace's labels, whether a Gateway selects it) and answers with the JSON patch
// that adds the proxy.
type Injector struct {
	// Cache serves namespaces and Gateways from the manager's informers.
	Cache client.Reader
	// Live reads a namespace the cache has not seen yet: one created just before its first pod.
	Live    client.Reader
	Decoder admission.Decoder
	Options inject.Options
}

// NewInjector returns the webhook handler with o's defaults filled in.
func NewInjector(mgr ctrl.Manager, o inject.Options) *Injector {
	return &Injector{
		Cache:   mgr.GetClient(),
		Live:    mgr.GetAPIReader(),
		Decoder: admission.NewDecoder(mgr.GetScheme()),
		Options: o.WithDefaults(),
	}
}

// Handle injects the proxy into a meshed pod and lets every other pod through unchanged.
func (h *Injector) Handle(ctx context.Context, req admission.Request) admission.Response {
	log := logf.FromContext(ctx)
	pod := &corev1.Pod{}
	if err := h.Decoder.Decode(req, pod); err != nil {
		return admission.Errored(http.StatusBadRequest, fmt.Errorf("decoding the pod: %w", err))
	}
	// A pod created without metadata.namespace gets the request's.
	if pod.Namespace == "" {
		pod.Namespace = req.Namespace
	}
	facts, err := h.facts(ctx, pod)
	if err != nil {
		return admission.Errored(http.StatusInternalServerError, err)
	}
	if reason := inject.Skip(pod, facts); reason != "" {
		log.V(1).Info("not injecting", "namespace", pod.Namespace, "generateName", pod.GenerateName, "name", pod.Name, "reason", reason)
		return admission.Allowed(reason)
	}
	out, err := inject.Pod(pod, facts, h.Options)
	if err != nil {
		// The user's to fix (an annotation, a port): say which, and keep the pod out.
		return admission.Denied(fmt.Sprintf("injecting the mizzen proxy: %v", err))
	}
	patched, err := json.Marshal(out)
	if err != nil {
		return admission.Errored(http.StatusInternalServerError, fmt.Errorf("encoding the injected pod: %w", err))
	}
	log.V(1).Info("injected the proxy", "namespace", pod.Namespace, "generateName", pod.GenerateName, "name", pod.Name,
		"proxyID", out.Annotations[inject.ProxyIDAnnotation])
	return admission.PatchResponseFromRaw(req.Object.Raw, patched)
}

// facts reads the pod's namespace labels and whether a Gateway selects the pod, as the proxy
// reconciler decides which pods are meshed.
func (h *Injector) facts(ctx context.Context, pod *corev1.Pod) (inject.Facts, error) {
	ns := &metav1.PartialObjectMetadata{}
	ns.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Namespace"))
	key := types.NamespacedName{Name: pod.Namespace}
	err := h.Cache.Get(ctx, key, ns)
	if apierrors.IsNotFound(err) {
		err = h.Live.Get(ctx, key, ns)
	}
	if err != nil {
		return inject.Facts{}, fmt.Errorf("reading namespace %s: %w", pod.Namespace, err)
	}
	gws := &networkingv1alpha1.GatewayList{}
	if err := h.Cache.List(ctx, gws, client.UnsafeDisableDeepCopy); err != nil {
		return inject.Facts{}, fmt.Errorf("listing gateways: %w", err)
	}
	selected := false
	for i := range gws.Items {
		if sel := gws.Items[i].Spec.Selector; len(sel) > 0 && mesh.LabelsMatch(sel, pod.Labels) {
			selected = true
			break
		}
	}
	return inject.Facts{NamespaceLabels: ns.Labels, GatewaySelected: selected}, nil
}

// registerInjector serves the injection webhook on the manager's webhook server.
func registerInjector(mgr ctrl.Manager, o inject.Options) error {
	if err := o.WithDefaults().Validate(); err != nil {
		return fmt.Errorf("injection webhook options: %w", err)
	}
	mgr.GetWebhookServer().Register(InjectPath, &webhook.Admission{Handler: NewInjector(mgr, o)})
	return nil
}
