package controllers

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	certmanagerv1 "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	networkingv1alpha1 "github.com/mizzen-mesh/mizzen/api/v1alpha1"
	"github.com/mizzen-mesh/mizzen/internal/envoy"
	"github.com/mizzen-mesh/mizzen/internal/identity"
	"github.com/mizzen-mesh/mizzen/internal/inject"
	"github.com/mizzen-mesh/mizzen/internal/mesh"
	"github.com/mizzen-mesh/mizzen/internal/rollout"
	"github.com/mizzen-mesh/mizzen/internal/translate"
	"github.com/mizzen-mesh/mizzen/internal/validate"
)

// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups="",resources=namespaces;nodes;services,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;list;watch;create;update
// +kubebuilder:rbac:groups=discovery.k8s.io,resources=endpointslices,verbs=get;list;watch
// +kubebuilder:rbac:groups=cert-manager.io,resources=certificates,verbs=get;list;watch;create;update

// Labels and annotations the proxy reconciler reads on namespaces and pods.
const (
	// MeshLabel on a namespace: "enabled" meshes its pods. The injection webhook reads the same
	// labels (internal/inject).
	MeshLabel        = inject.MeshLabel
	MeshLabelEnabled = inject.MeshEnabled
	// ProxyLabel on a pod: "disabled" opts it out of the mesh.
	ProxyLabel         = inject.ProxyLabel
	ProxyLabelDisabled = inject.ProxyDisabled
)

// Reasons of the events the proxy reconciler records on pods.
const (
	ReasonInvalidProxyID  = "InvalidProxyID"
	ReasonProxyIDConflict = "ProxyIDConflict"
	ReasonRenderFailed    = "RenderFailed"
	// ReasonConfigTooLarge: the proxy's config would not fit in a ConfigMap.
	ReasonConfigTooLarge = "ConfigTooLarge"
	// ReasonTranslationRefused, on a rule: a config built from it would not validate, so its
	// previous valid version stays in effect.
	ReasonTranslationRefused = "TranslationRefused"
)

// ProxyOptions configure the proxy reconciler (the manager's flags).
type ProxyOptions struct {
	// Identity: trust domain and how certificates are issued.
	Identity identity.Options
	// MaxConcurrentReconciles is the number of pods reconciled at once; 0 means 4.
	MaxConcurrentReconciles int
	// SkipPodStamp leaves the config hash off the pods: a config change is then one API write
	// per ConfigMap instead of that plus a pod patch, but the kubelet refreshes the volume only
	// at its periodic sync (flag --stamp-pods=false).
	SkipPodStamp bool
}

// ProxyReconciler gives every meshed pod its proxy's config and identity:
//
//   - a meshed pod is one in a namespace labelled mizzen.dev/mesh=enabled, or one a Gateway's
//     selector picks (a gateway proxy), unless the pod has the label mizzen.dev/proxy=disabled;
//   - a meshed pod without annotation mizzen.dev/proxy-id (not injected) gets a random one;
//   - Certificate mizzen-proxy-<proxy-id> (internal/identity), created as soon as the pod has an id;
//   - ConfigMaps mizzen-proxy-<proxy-id>-clusters (cds.yaml) and mizzen-proxy-<proxy-id> (the
//     rest) with the files internal/envoy renders from what internal/translate builds for the pod,
//     once the pod is scheduled. Each is written only when its content hash changes — a weight
//     change rewrites the routes, not the endpoints —, and then the hash of both is stamped on the
//     pod (annotation mizzen.dev/config-hash; unless SkipPodStamp). When rendering fails nothing
//     is written: the proxy keeps its last good config, and a Warning event on the pod says why.
//
// These objects are controlled by the pod, so the garbage collector deletes them with it; a pod that
// leaves the mesh keeps them until it is deleted (its volumes still name them).
//
// The pod's IP is not waited for: the kubelet mounts the (non-optional) ConfigMap volume before it
// creates the pod sandbox that gets the IP, so waiting would deadlock an injected pod. Without an
// IP the config has no inbound listener; the IP's arrival is a pod update that rewrites lds.yaml,
// which Envoy reloads. Scheduling is waited for: envoy.yaml, which Envoy reads once, carries the
// node's locality, and the kubelet mounts nothing before the pod is scheduled anyway.
type ProxyReconciler struct {
	client.Client
	Recorder events.EventRecorder

	opts      ProxyOptions
	snapshots *snapshotSource
	renderer  *envoy.Cache
	// writes writes the ConfigMaps and pod stamps (set by SetupWithManager).
	writes *echolessWriter
	// written: per pod (types.NamespacedName), the last config written or found current.
	written sync.Map
	// certificates is false when cert-manager's Certificate kind is not served: proxies then get
	// their config and no certificate (SetupWithManager logs it).
	certificates bool
	// tracker records what each proxy's written config carries, for the rollout status.
	tracker *rollout.Tracker
	// onRecorded are called after each proxy's record changed (the status reconcilers recount).
	onRecorded []func()
	// creds copies gateway credentials (credentials.go); set by SetupWithManager.
	creds *credentialSync
	// pods walks the cached pods of a namespace without copying them (pods.go); the snapshot
	// source's store.
	pods *podStore
	// candidates memoizes the proxies rollouts count, grouped (candidates.go).
	candidates proxyGroups
	// routes indexes the VirtualServices routing to each host (scope.go).
	routes routeIndex

	failedMu sync.Mutex
	// renderFailed are the proxies whose last render failed (mizzen_proxies{state="render_failed"}).
	renderFailed map[types.NamespacedName]bool
}

// NewProxyReconciler returns the proxy reconciler; opts.Identity must be valid after defaults.
func NewProxyReconciler(c client.Client, rec events.EventRecorder, opts ProxyOptions) *ProxyReconciler {
	opts.Identity = opts.Identity.WithDefaults()
	r := &ProxyReconciler{
		Client:    c,
		Recorder:  rec,
		opts:      opts,
		snapshots: newSnapshotSource(c, mesh.Settings{TrustDomain: opts.Identity.TrustDomain}),
		renderer:  &envoy.Cache{},
		tracker:   rollout.NewTracker(),
		// SetupWithManager turns this off when cert-manager is not installed.
		certificates: true,
	}
	r.pods = &r.snapshots.stores.pods
	return r
}

// Reconcile brings one pod's proxy id, Certificate and ConfigMap up to date.
func (r *ProxyReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	log := logf.FromContext(ctx)
	pod := &corev1.Pod{}
	if err := r.Get(ctx, req.NamespacedName, pod); err != nil {
		if apierrors.IsNotFound(err) {
			r.forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !proxyAlive(pod) {
		r.forget(req.NamespacedName)
		return ctrl.Result{}, nil
	}
	kind, meshed, err := r.proxyKind(ctx, pod)
	if err != nil || !meshed {
		return ctrl.Result{}, err
	}

	id := pod.Annotations[mesh.ProxyIDAnnotation]
	if id == "" {
		if id, err = r.assignProxyID(ctx, pod); apierrors.IsConflict(err) {
			// The cache is behind the pod; its update event brings the pod back here.
			log.V(1).Info("pod changed while assigning its proxy id; waiting for the cache", "error", err.Error())
			return ctrl.Result{}, nil
		} else if err != nil {
			return ctrl.Result{}, err
		}
	} else if err := identity.ValidateProxyID(id); err != nil {
		r.Recorder.Eventf(pod, nil, corev1.EventTypeWarning, ReasonInvalidProxyID, "Reconcile",
			"no proxy config or certificate for this pod: annotation %s: %v", mesh.ProxyIDAnnotation, err)
		return ctrl.Result{}, nil
	}

	if r.certificates {
		if err := r.applyCertificate(ctx, pod, id); err != nil {
			return ctrl.Result{}, err
		}
	}
	if pod.Spec.NodeName == "" {
		log.V(1).Info("waiting for the pod to be scheduled before writing its config")
		return ctrl.Result{}, nil
	}
	return r.applyConfig(ctx, pod, id, kind)
}

// selectedByGateway reports whether a Gateway of the snapshot selects the pod.
func selectedByGateway(snap *mesh.Snapshot, pod *corev1.Pod) bool {
	return slices.ContainsFunc(snap.Gateways, func(gw *networkingv1alpha1.Gateway) bool { return selects(gw, pod) })
}

// selects reports whether the Gateway's selector picks the pod (an empty selector picks none).
func selects(gw *networkingv1alpha1.Gateway, pod *corev1.Pod) bool {
	return len(gw.Spec.Selector) > 0 && mesh.LabelsMatch(gw.Spec.Selector, pod.Labels)
}

// proxyAlive reports whether a pod can run a proxy: not being deleted, not finished.
func proxyAlive(pod *corev1.Pod) bool {
	return pod.DeletionTimestamp == nil && pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed
}

// forget drops what the reconciler remembers of a pod that is gone; a rollout waiting for it is
// recounted.
func (r *ProxyReconciler) forget(key types.NamespacedName) {
	r.written.Delete(key)
	r.tracker.Forget(key.String())
	r.noteRender(key, false)
	for _, fn := range r.onRecorded {
		fn()
	}
}

// recorded notes what a proxy's config now carries and tells the status reconcilers.
func (r *ProxyReconciler) recorded(key types.NamespacedName, c rollout.Carried) {
	r.tracker.Record(key.String(), c)
	r.noteRender(key, false)
	for _, fn := range r.onRecorded {
		fn()
	}
}

// noteRender records whether the proxy's last render failed and publishes the proxy counts.
func (r *ProxyReconciler) noteRender(key types.NamespacedName, failed bool) {
	r.failedMu.Lock()
	defer r.failedMu.Unlock()
	if failed {
		if r.renderFailed == nil {
			r.renderFailed = map[types.NamespacedName]bool{}
		}
		r.renderFailed[key] = true
	} else {
		delete(r.renderFailed, key)
	}
	proxiesByState.WithLabelValues(proxyStateRenderFailed).Set(float64(len(r.renderFailed)))
	proxiesByState.WithLabelValues(proxyStateConfigured).Set(float64(r.tracker.Len()))
}

// proxyKind tells whether the pod is meshed and whether it runs a sidecar or a gateway proxy.
func (r *ProxyReconciler) proxyKind(ctx context.Context, pod *corev1.Pod) (mesh.ProxyKind, bool, error) {
	if pod.Labels[ProxyLabel] == ProxyLabelDisabled {
		return "", false, nil
	}
	gws, err := r.snapshots.stores.gateways.all(ctx)
	if err != nil {
		return "", false, fmt.Errorf("listing gateways: %w", err)
	}
	for _, gw := range gws {
		if selects(gw, pod) {
			return mesh.Gateway, true, nil
		}
	}
	ns := &metav1.PartialObjectMetadata{}
	ns.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Namespace"))
	if err := r.Get(ctx, types.NamespacedName{Name: pod.Namespace}, ns); err != nil {
		return "", false, client.IgnoreNotFound(err)
	}
	return mesh.Sidecar, ns.Labels[MeshLabel] == MeshLabelEnabled, nil
}

// assignProxyID gives a pod that was not injected a proxy id. The patch carries the pod's
// resourceVersion, so a reconcile working from a stale cache (the pod already has an id) fails
// with a conflict and retries instead of giving the pod a second id.
func (r *ProxyReconciler) assignProxyID(ctx context.Context, pod *corev1.Pod) (string, error) {
	var id string
	for range 5 {
		id = identity.NewProxyID()
		cm := configMapMeta()
		err := r.Get(ctx, types.NamespacedName{Namespace: pod.Namespace, Name: envoy.ConfigMapName(id)}, cm)
		if apierrors.IsNotFound(err) {
			break
		}
		if err != nil {
			return "", fmt.Errorf("checking that proxy id %s is free: %w", id, err)
		}
	}
	before := pod.DeepCopy()
	if pod.Annotations == nil {
		pod.Annotations = map[string]string{}
	}
	pod.Annotations[mesh.ProxyIDAnnotation] = id
	if err := r.Patch(ctx, pod, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})); err != nil {
		return "", fmt.Errorf("assigning proxy id %s to the pod: %w", id, err)
	}
	// A log line, not an event: an id is routine for a pod that predates the mesh, the annotation
	// shows it, and an event per pod was ≈40% of a 2,000-pod convergence's events, each kept by the
	// events library for 6–12 minutes.
	logf.FromContext(ctx).Info("the pod was not injected: assigned a proxy id", "proxyID", id)
	return id, nil
}

// applyCertificate creates or updates the pod's Certificate when it differs from the desired one.
func (r *ProxyReconciler) applyCertificate(ctx context.Context, pod *corev1.Pod, id string) error {
	desired := identity.Certificate(pod, id, r.opts.Identity)
	cur := &certmanagerv1.Certificate{}
	err := r.Get(ctx, client.ObjectKeyFromObject(desired), cur)
	if apierrors.IsNotFound(err) {
		// AlreadyExists: the cache lags behind an earlier create; the next event reconciles again.
		if err := r.Create(ctx, desired); apierrors.IsAlreadyExists(err) {
			return nil
		} else if err != nil {
			return fmt.Errorf("creating certificate %s: %w", desired.Name, err)
		}
		proxyCertificateWrites.WithLabelValues("create").Inc()
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading certificate %s: %w", desired.Name, err)
	}
	if !identity.IsControlledBy(cur.OwnerReferences, pod) {
		r.conflict(pod, "Certificate", desired.Name)
		return nil
	}
	next := cur.DeepCopy()
	next.Spec = desired.Spec
	next.Labels = mergeMaps(next.Labels, desired.Labels)
	next.OwnerReferences = desired.OwnerReferences
	if equality.Semantic.DeepEqual(cur, next) {
		return nil
	}
	if err := r.Update(ctx, next); err != nil {
		return fmt.Errorf("updating certificate %s: %w", desired.Name, err)
	}
	proxyCertificateWrites.WithLabelValues("update").Inc()
	return nil
}

// applyConfig translates and renders the pod's config, writes its ConfigMap when the hash changed
// and stamps the hash on the pod.
func (r *ProxyReconciler) applyConfig(ctx context.Context, pod *corev1.Pod, id string, kind mesh.ProxyKind) (ctrl.Result, error) {
	log := logf.FromContext(ctx)
	snap, gen, err := r.snapshots.get(ctx)
	if err != nil {
		return ctrl.Result{}, err
	}
	key := client.ObjectKeyFromObject(pod)
	if kind == mesh.Sidecar && selectedByGateway(snap, pod) {
		// The snapshot already holds a Gateway the cache did not when proxyKind looked: render
		// the gateway proxy it describes. A sidecar config recorded from a snapshot holding the
		// Gateway would count as caught up and not shaped by it, and the Gateway would read
		// Ready with 0/0 proxies until its own event came round.
		kind = mesh.Gateway
	}
	from := renderedFrom{gen: gen, uid: pod.UID, id: id, kind: kind}
	if r.upToDate(ctx, pod, from) {
		return ctrl.Result{}, nil
	}
	var res translate.Resources
	var proxy mesh.Proxy
	for attempt := 0; ; attempt++ {
		mp := snap.Pod(pod.Namespace, pod.Name)
		if mp == nil {
			// The pod reached the cache after the snapshot was built and its create event has not
			// invalidated it yet: rebuild once, else come back when it has.
			r.snapshots.invalidate()
			if snap, gen, err = r.snapshots.get(ctx); err != nil {
				return ctrl.Result{}, err
			}
			if mp = snap.Pod(pod.Namespace, pod.Name); mp == nil {
				return ctrl.Result{RequeueAfter: time.Second}, nil
			}
		}
		proxy = mesh.ProxyFor(mp, kind)
		proxy.ID = id // the snapshot may predate the id's assignment
		var problems []validate.Problem
		res, problems = translate.Translate(snap, proxy)
		// A rule translate refused (and dropped) must not change the config: translate again with
		// its last valid version. Each round removes at least one rule version, so this ends; the
		// bound only keeps a reconcile short.
		stale, marked := r.snapshots.refused(snap, problems)
		for _, m := range marked {
			r.Recorder.Eventf(m.Object, nil, corev1.EventTypeWarning, ReasonTranslationRefused, "Translate",
				"generation %d is not rolled out, proxies keep the previous valid version: %s", m.Object.GetGeneration(),
				rollout.Truncate(validate.Join(m.Problems), rollout.MaxMessage))
		}
		if !stale {
			if len(problems) > 0 {
				// The status reconcilers report problems on the rules they are about.
				log.V(1).Info("translation problems", "proxy", id, "count", len(problems))
			}
			break
		}
		if attempt == 3 {
			return ctrl.Result{RequeueAfter: time.Second}, nil
		}
		if snap, gen, err = r.snapshots.get(ctx); err != nil {
			return ctrl.Result{}, err
		}
	}
	proxyConfigRenders.Inc()
	files, err := r.renderer.Render(nodeFor(pod, proxy), res.Listeners, res.Clusters)
	if err != nil {
		reason, hint := ReasonRenderFailed, ""
		if sizeErr := (*envoy.SizeError)(nil); errors.As(err, &sizeErr) {
			// The one render failure a user fixes: the proxy sees too much of the mesh.
			reason = ReasonConfigTooLarge
			hint = fmt.Sprintf("; list the hosts it calls in annotation %s (as Istio's Sidecar egress hosts, e.g. \"./*,istio-system/*\")",
				mesh.EgressHostsAnnotation)
		}
		r.Recorder.Eventf(pod, nil, corev1.EventTypeWarning, reason, "Reconcile",
			"proxy config not updated, the proxy keeps its last good config: %v%s", err, hint)
		log.Error(err, "rendering proxy config; keeping the last good config", "proxy", id, "reason", reason)
		proxyRenderFailures.Inc()
		r.noteRender(key, true)
		return ctrl.Result{}, nil
	}

	// The files the config reads first: the kubelet may swap the two volumes in any order.
	if err := r.applyCredentials(ctx, pod, id, res.Credentials); err != nil {
		return ctrl.Result{}, err
	}
	cms := files.ConfigMaps()
	for _, cm := range cms {
		if owned, err := r.applyConfigMap(ctx, pod, cm); err != nil || !owned {
			return ctrl.Result{}, err
		}
	}

	if !r.opts.SkipPodStamp && pod.Annotations[envoy.HashAnnotation] != files.Hash {
		// The merge patch written out: diffing two copies of the pod would cost more than the
		// write itself.
		patch := fmt.Appendf(nil, `{"metadata":{"annotations":{%q:%q}}}`, envoy.HashAnnotation, files.Hash)
		if err := r.writes.mergePatchPod(ctx, key, patch); err != nil {
			return ctrl.Result{}, fmt.Errorf("stamping config hash %s on the pod: %w", files.Hash, err)
		}
	}
	w := written{from: from, hash: files.Hash, configMaps: make([]configMapHash, len(cms))}
	for i, cm := range cms {
		w.configMaps[i] = configMapHash{name: cm.Name, hash: cm.Hash}
	}
	r.written.Store(key, w)
	r.recorded(key, rollout.Carried{Snapshot: gen, Rules: res.Rules})
	return ctrl.Result{}, nil
}

// sweepRendered drops, every translationIdleRelease until ctx is done, the rendered resources no
// render used since the previous sweep (envoy.Cache.SweepUnused): those earlier snapshots left
// behind, which otherwise stay until the cache's bound is reached. While nothing renders it keeps
// what the last renders used, for the next change.
func (r *ProxyReconciler) sweepRendered(ctx context.Context) error {
	return every(ctx, translationIdleRelease, func() { r.renderer.SweepUnused() })
}

// applyConfigMap creates or updates one of the proxy's ConfigMaps when its hash differs; owned is
// false when a ConfigMap of that name belongs to another object (an event says so).
func (r *ProxyReconciler) applyConfigMap(ctx context.Context, pod *corev1.Pod, want envoy.ConfigMapData) (owned bool, err error) {
	cur := configMapMeta()
	err = r.Get(ctx, types.NamespacedName{Namespace: pod.Namespace, Name: want.Name}, cur)
	switch {
	case apierrors.IsNotFound(err):
		if err := r.writes.createConfigMap(ctx, desiredConfigMap(pod, want, nil)); err != nil {
			return false, fmt.Errorf("creating config map %s: %w", want.Name, err)
		}
		proxyConfigWrites.WithLabelValues("create").Inc()
	case err != nil:
		return false, fmt.Errorf("reading config map %s: %w", want.Name, err)
	case !identity.IsControlledBy(cur.OwnerReferences, pod):
		r.conflict(pod, "ConfigMap", want.Name)
		return false, nil
	case cur.Annotations[envoy.HashAnnotation] != want.Hash:
		if err := r.writes.updateConfigMap(ctx, desiredConfigMap(pod, want, cur)); err != nil {
			return false, fmt.Errorf("updating config map %s: %w", want.Name, err)
		}
		proxyConfigWrites.WithLabelValues("update").Inc()
	default:
		return true, nil
	}
	proxyConfigBytes.Add(float64(want.Size()))
	logf.FromContext(ctx).V(1).Info("config written", "configMap", want.Name, "hash", want.Hash, "previous", cur.Annotations[envoy.HashAnnotation])
	return true, nil
}

// written is what the reconciler last wrote (or found current) for a pod: the hash stamped on the
// pod and those of its ConfigMaps.
type written struct {
	from       renderedFrom
	hash       string
	configMaps []configMapHash
}

type configMapHash struct{ name, hash string }

// renderedFrom is what a pod's config was made from. The config is a function of the snapshot,
// the pod's proxy id and its kind (everything else it reads from the pod is in the snapshot), so
// the echoes of the reconciler's own writes — the ConfigMap updates and the pod's hash stamp each
// bring the pod back — and other events within one snapshot skip translation and rendering.
type renderedFrom struct {
	gen  uint64
	uid  types.UID
	id   string
	kind mesh.ProxyKind
}

// upToDate reports whether the pod's config was written from the same inputs and is still in
// place: the pod and each of its ConfigMaps (in the cache) carry their hashes.
func (r *ProxyReconciler) upToDate(ctx context.Context, pod *corev1.Pod, now renderedFrom) bool {
	v, ok := r.written.Load(client.ObjectKeyFromObject(pod))
	if !ok {
		return false
	}
	last := v.(written)
	if last.from != now || (!r.opts.SkipPodStamp && pod.Annotations[envoy.HashAnnotation] != last.hash) {
		return false
	}
	for _, want := range last.configMaps {
		cm := configMapMeta()
		if err := r.Get(ctx, types.NamespacedName{Namespace: pod.Namespace, Name: want.name}, cm); err != nil {
			return false
		}
		if cm.Annotations[envoy.HashAnnotation] != want.hash || !identity.IsControlledBy(cm.OwnerReferences, pod) {
			return false
		}
	}
	return true
}

func (r *ProxyReconciler) conflict(pod *corev1.Pod, kind, name string) {
	r.Recorder.Eventf(pod, nil, corev1.EventTypeWarning, ReasonProxyIDConflict, "Reconcile",
		"%s %s belongs to another object: the proxy id %s is taken; not writing it", kind, name, pod.Annotations[mesh.ProxyIDAnnotation])
}

// configMapMeta is a ConfigMap read from the metadata-only cache: the reconciler needs its hash
// annotation and owner, not its (large) data.
func configMapMeta() *metav1.PartialObjectMetadata {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ConfigMap"))
	return m
}

// desiredConfigMap is one of a proxy's ConfigMaps; cur, when set, is the existing one whose
// resourceVersion, labels and annotations it keeps.
func desiredConfigMap(pod *corev1.Pod, want envoy.ConfigMapData, cur *metav1.PartialObjectMetadata) *corev1.ConfigMap {
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name:            want.Name,
			Namespace:       pod.Namespace,
			Labels:          map[string]string{identity.ManagedByLabel: identity.ManagedBy},
			Annotations:     map[string]string{envoy.HashAnnotation: want.Hash},
			OwnerReferences: []metav1.OwnerReference{identity.PodOwnerReference(pod)},
		},
		Data: want.Data,
	}
	if cur != nil {
		cm.ResourceVersion = cur.ResourceVersion
		cm.Labels = mergeMaps(cur.Labels, cm.Labels)
		cm.Annotations = mergeMaps(cur.Annotations, cm.Annotations)
	}
	return cm
}

// nodeFor describes the proxy to Envoy (envoy.yaml): only what stays fixed for the pod's life.
func nodeFor(pod *corev1.Pod, p mesh.Proxy) envoy.Node {
	app := cmp.Or(pod.Labels["service.istio.io/canonical-name"], pod.Labels["app.kubernetes.io/name"], pod.Labels["app"], p.ServiceAccount)
	return envoy.Node{
		ID:        p.ID,
		Cluster:   app + "." + pod.Namespace,
		Namespace: pod.Namespace,
		Locality:  envoy.Locality{Region: p.Locality.Region, Zone: p.Locality.Zone, SubZone: p.Locality.SubZone},
		Metadata: map[string]string{
			"NAME":            pod.Name,
			"SERVICE_ACCOUNT": p.ServiceAccount,
			"PROXY_KIND":      string(p.Kind),
		},
	}
}

// mergeMaps returns base with over's entries set, as a new map.
func mergeMaps(base, over map[string]string) map[string]string {
	out := make(map[string]string, len(base)+len(over))
	maps.Copy(out, base)
	maps.Copy(out, over)
	return out
}

// SetupWithManager registers the reconciler and its watches.
//
// Fan-out: a pod event reconciles that pod; a change to a VirtualService, DestinationRule,
// Service or EndpointSlice reconciles the proxies of the namespaces it is exported to (all by
// default) that its scope reaches (scopeOf: minus the sidecars whose egress scope sees none of its
// hosts and that no rule routes to them) and the gateway proxies (proxiesSeeing); a change to a
// Gateway reconciles the pods its old and new selectors pick (gatewayProxies: sidecars never read
// Gateways); a change to node topology labels, and a change of a pod with an IP to what other
// proxies see of it (labels, service account, proxy id: subsets and auto-mTLS of the endpoints it
// backs), reconciles every proxy of the mesh. Every such event also invalidates the shared
// snapshot; a periodic resync (same resourceVersion) and a rule's status update (same generation)
// do neither. Reconciling a proxy whose config did not change writes nothing, so the cost of a
// broad fan-out is translation time, not API writes. The rollout status counts over the same sets
// (rolloutCandidates), so every proxy it waits for is reconciled.
func (r *ProxyReconciler) SetupWithManager(mgr ctrl.Manager) error {
	writes, err := newEcholessWriter(mgr)
	if err != nil {
		return err
	}
	r.writes = writes
	all := func(ctx context.Context, _ client.Object) []reconcile.Request { return r.allProxies(ctx, nil) }
	invalidateAll := r.invalidating(all)
	visible := r.invalidating(r.proxiesSeeing)
	b := ctrl.NewControllerManagedBy(mgr).
		Named("proxy").
		For(&corev1.Pod{}).
		Owns(&corev1.ConfigMap{}, builder.OnlyMetadata)
	certGVK := certmanagerv1.SchemeGroupVersion.WithKind(certmanagerv1.CertificateKind)
	_, err = mgr.GetRESTMapper().RESTMapping(certGVK.GroupKind(), certGVK.Version)
	switch {
	case meta.IsNoMatchError(err):
		r.certificates = false
		mgr.GetLogger().WithName("proxy").Info("cert-manager's Certificate kind is not served: proxies get their config but no certificate; install cert-manager and restart the manager",
			"kind", certGVK.String())
	case err != nil:
		return fmt.Errorf("looking up cert-manager's Certificate kind: %w", err)
	default:
		b = b.Owns(&certmanagerv1.Certificate{})
	}
	if err := r.setupCredentials(mgr, b); err != nil {
		return err
	}
	r.snapshots.stores.useInformers(mgr)
	if err := mgr.Add(manager.RunnableFunc(r.snapshots.releaseIdleTranslations)); err != nil {
		return err
	}
	if err := mgr.Add(manager.RunnableFunc(r.sweepRendered)); err != nil {
		return err
	}
	return b.
		Watches(&corev1.Pod{}, r.podSnapshotHandler()).
		Watches(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(r.invalidating(r.namespacePods)),
			builder.WithPredicates(predicate.LabelChangedPredicate{}), builder.OnlyMetadata).
		Watches(&corev1.Node{}, handler.EnqueueRequestsFromMapFunc(invalidateAll),
			builder.WithPredicates(topologyChanged()), builder.OnlyMetadata).
		Watches(&corev1.Service{}, handler.EnqueueRequestsFromMapFunc(visible), builder.WithPredicates(changed())).
		Watches(&discoveryv1.EndpointSlice{}, handler.EnqueueRequestsFromMapFunc(visible), builder.WithPredicates(changed())).
		Watches(&networkingv1alpha1.VirtualService{}, handler.EnqueueRequestsFromMapFunc(visible), builder.WithPredicates(specChanged)).
		Watches(&networkingv1alpha1.DestinationRule{}, handler.EnqueueRequestsFromMapFunc(visible), builder.WithPredicates(specChanged)).
		Watches(&networkingv1alpha1.Gateway{}, handler.EnqueueRequestsFromMapFunc(r.invalidating(r.gatewayProxies)), builder.WithPredicates(specChanged)).
		WithOptions(controller.Options{MaxConcurrentReconciles: cmp.Or(r.opts.MaxConcurrentReconciles, 4)}).
		Complete(r)
}

// invalidating wraps a map function so that the snapshot is invalidated before the requests are
// computed (and so before any of them can be reconciled).
func (r *ProxyReconciler) invalidating(fn handler.MapFunc) handler.MapFunc {
	return func(ctx context.Context, obj client.Object) []reconcile.Request {
		r.snapshots.invalidate()
		return fn(ctx, obj)
	}
}

// proxiesSeeing lists the proxies whose config a change of obj can change: the meshed pods of the
// namespaces obj is exported to (its exportTo; a Service's exportTo annotation; an EndpointSlice's
// Service's) and of its own namespace (inbound config), and every gateway proxy. Visibility is
// computed for the old and the new object alike (the handler maps both), so a namespace that loses
// sight of a rule is reconciled too.
func (r *ProxyReconciler) proxiesSeeing(ctx context.Context, obj client.Object) []reconcile.Request {
	exportTo := ruleExportTo(obj)
	switch o := obj.(type) {
	case *corev1.Service:
		exportTo = serviceExportTo(o)
	case *discoveryv1.EndpointSlice:
		svc := &corev1.Service{}
		err := r.Get(ctx, types.NamespacedName{Namespace: o.Namespace, Name: o.Labels[discoveryv1.LabelServiceName]}, svc)
		if err != nil {
			return r.allProxies(ctx, nil) // unknown service: assume it is visible everywhere
		}
		exportTo = serviceExportTo(svc)
	}
	all, namespaces := visibleTo(exportTo, obj.GetNamespace())
	var inNS func(string) bool
	if !all {
		inNS = func(ns string) bool { return namespaces[ns] }
	}
	var out []reconcile.Request
	scope := r.scopeOf(ctx, obj)
	r.eachProxy(ctx, inNS, func(p *corev1.Pod) {
		if scope.reaches(p.Namespace, mesh.ParseEgressHosts(p.Annotations[mesh.EgressHostsAnnotation])) {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(p)})
		}
	})
	return out
}

// ruleExportTo is a VirtualService's or DestinationRule's exportTo; nil for other objects.
func ruleExportTo(obj client.Object) []string {
	switch o := obj.(type) {
	case *networkingv1alpha1.VirtualService:
		return o.Spec.ExportTo
	case *networkingv1alpha1.DestinationRule:
		return o.Spec.ExportTo
	}
	return nil
}

// serviceExportTo reads a Service's exportTo annotation as internal/mesh does.
func serviceExportTo(svc *corev1.Service) []string {
	var out []string
	for _, ns := range strings.Split(cmp.Or(svc.Annotations[mesh.MizzenExportTo], svc.Annotations[mesh.ExportToAnnotation]), ",") {
		if ns = strings.TrimSpace(ns); ns != "" {
			out = append(out, ns)
		}
	}
	return out
}

// visibleTo tells which namespaces see an object of namespace owner exported to exportTo, as
// mesh.Exported decides, plus owner itself (its pods' inbound config may depend on the object):
// all, or the set.
func visibleTo(exportTo []string, owner string) (all bool, namespaces map[string]bool) {
	if mesh.ExportedEverywhere(exportTo) {
		return true, nil
	}
	namespaces = map[string]bool{owner: true}
	for _, e := range exportTo {
		switch e {
		case ".", "~":
		default:
			namespaces[e] = true
		}
	}
	return false, namespaces
}

// allProxies lists the meshed pods of the namespaces inNS accepts (nil: all), and every pod a
// Gateway selects, minus opted-out pods.
func (r *ProxyReconciler) allProxies(ctx context.Context, inNS func(string) bool) []reconcile.Request {
	var out []reconcile.Request
	r.eachProxy(ctx, inNS, func(p *corev1.Pod) {
		out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(p)})
	})
	return out
}

// eachProxy calls fn once for each meshed pod of the namespaces inNS accepts (nil: all) and each
// pod a Gateway selects, minus opted-out pods. The pods come from the cache: fn must not keep or
// change them.
func (r *ProxyReconciler) eachProxy(ctx context.Context, inNS func(string) bool, fn func(*corev1.Pod)) {
	log := logf.FromContext(ctx)
	// Every pod of a namespace walked here is given (unless opted out), so a gateway pod is given
	// below only when its namespace was not walked.
	walked := map[string]bool{}
	seen := map[types.NamespacedName]bool{} // gateway pods picked by several Gateways
	nss := &metav1.PartialObjectMetadataList{}
	nss.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("NamespaceList"))
	if err := r.List(ctx, nss, client.MatchingLabels{MeshLabel: MeshLabelEnabled}); err != nil {
		log.Error(err, "listing meshed namespaces")
		return
	}
	for _, ns := range nss.Items {
		if inNS != nil && !inNS(ns.Name) {
			continue
		}
		err := r.pods.each(ctx, ns.Name, func(p *corev1.Pod) {
			if p.Labels[ProxyLabel] != ProxyLabelDisabled {
				fn(p)
			}
		})
		if err != nil {
			log.Error(err, "listing pods", "namespace", ns.Name)
			continue
		}
		walked[ns.Name] = true
	}
	gws, err := r.snapshots.stores.gateways.all(ctx)
	if err != nil {
		log.Error(err, "listing gateways")
		return
	}
	for _, gw := range gws {
		r.eachGatewayPod(ctx, gw, func(p *corev1.Pod) {
			if key := client.ObjectKeyFromObject(p); !walked[p.Namespace] && !seen[key] {
				seen[key] = true
				fn(p)
			}
		})
	}
}

// gatewayProxies lists the pods a Gateway's selector picks: only gateway proxies read Gateways,
// so a Gateway change reconciles them alone (the handler maps the old and the new object, so the
// pods a changed selector drops are reconciled too).
func (r *ProxyReconciler) gatewayProxies(ctx context.Context, obj client.Object) []reconcile.Request {
	gw, ok := obj.(*networkingv1alpha1.Gateway)
	if !ok {
		return nil
	}
	var out []reconcile.Request
	r.eachGatewayPod(ctx, gw, func(p *corev1.Pod) {
		out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(p)})
	})
	return out
}

// eachGatewayPod calls fn for each pod gw's selector picks, minus opted-out pods; fn must not keep
// or change them.
func (r *ProxyReconciler) eachGatewayPod(ctx context.Context, gw *networkingv1alpha1.Gateway, fn func(*corev1.Pod)) {
	if len(gw.Spec.Selector) == 0 {
		return
	}
	pods := &corev1.PodList{}
	if err := r.List(ctx, pods, client.MatchingLabels(gw.Spec.Selector), client.UnsafeDisableDeepCopy); err != nil {
		logf.FromContext(ctx).Error(err, "listing gateway pods", "gateway", gw.Namespace+"/"+gw.Name)
		return
	}
	for i := range pods.Items {
		if pods.Items[i].Labels[ProxyLabel] != ProxyLabelDisabled {
			fn(&pods.Items[i])
		}
	}
}

// namespacePods reconciles the pods of a namespace whose labels changed (it may have joined or
// left the mesh).
func (r *ProxyReconciler) namespacePods(ctx context.Context, ns client.Object) []reconcile.Request {
	var out []reconcile.Request
	err := r.pods.each(ctx, ns.GetName(), func(p *corev1.Pod) {
		out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(p)})
	})
	if err != nil {
		logf.FromContext(ctx).Error(err, "listing pods", "namespace", ns.GetName())
		return nil
	}
	return out
}

// podSnapshotHandler invalidates the snapshot when a pod changes what mesh.New reads from it, and
// then reconciles every proxy if the pod can be an endpoint (it has an IP) and what other proxies
// see of it changed. The pod itself is reconciled by For.
func (r *ProxyReconciler) podSnapshotHandler() handler.EventHandler {
	return handler.Funcs{
		CreateFunc: func(ctx context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			r.candidates.podsChanged()
			r.snapshots.invalidate()
		},
		UpdateFunc: func(ctx context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			oldPod, ok1 := e.ObjectOld.(*corev1.Pod)
			newPod, ok2 := e.ObjectNew.(*corev1.Pod)
			if !ok1 || !ok2 {
				return
			}
			if candidateChanged(oldPod, newPod) {
				r.candidates.podsChanged()
			}
			if !podSnapshotChanged(oldPod, newPod) {
				return
			}
			r.snapshots.invalidate()
			if newPod.Status.PodIP == "" || !podEndpointChanged(oldPod, newPod) {
				return
			}
			for _, req := range r.allProxies(ctx, nil) {
				q.Add(req)
			}
		},
		DeleteFunc: func(ctx context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			r.candidates.podsChanged()
			r.snapshots.invalidate()
		},
	}
}

// candidateChanged reports whether a pod update can change which rollouts count it
// (walkProxyGroups): scheduled, alive, labels (opt-out), egress hosts.
func candidateChanged(a, b *corev1.Pod) bool {
	return a.Spec.NodeName != b.Spec.NodeName || proxyAlive(a) != proxyAlive(b) ||
		a.Annotations[mesh.EgressHostsAnnotation] != b.Annotations[mesh.EgressHostsAnnotation] ||
		!maps.Equal(a.Labels, b.Labels)
}

// podEndpointChanged reports whether a pod update changes what other proxies see of the pod as an
// endpoint: labels (subsets), service account, proxy id (auto mTLS). Its IP and node reach them
// through the EndpointSlices, whose updates fan out on their own.
func podEndpointChanged(a, b *corev1.Pod) bool {
	return a.Spec.ServiceAccountName != b.Spec.ServiceAccountName ||
		a.Annotations[mesh.ProxyIDAnnotation] != b.Annotations[mesh.ProxyIDAnnotation] ||
		!maps.Equal(a.Labels, b.Labels)
}

// podSnapshotChanged reports whether a pod update changes what mesh.New reads from the pod.
func podSnapshotChanged(a, b *corev1.Pod) bool {
	return a.Status.PodIP != b.Status.PodIP ||
		a.Spec.NodeName != b.Spec.NodeName ||
		a.Spec.ServiceAccountName != b.Spec.ServiceAccountName ||
		a.Annotations[mesh.ProxyIDAnnotation] != b.Annotations[mesh.ProxyIDAnnotation] ||
		a.Annotations[mesh.EgressHostsAnnotation] != b.Annotations[mesh.EgressHostsAnnotation] ||
		!maps.Equal(a.Labels, b.Labels)
}

// specChanged passes rule updates that change the spec (the generation). Proxy config is built from
// the rules' specs only, and the status reconcilers patch the rules' status at every step of a
// rollout: fanning those out would re-render every proxy each time (issue 4's scale harness saw
// it). Creates and deletes pass.
var specChanged = predicate.GenerationChangedPredicate{}

// changed drops periodic resyncs: updates that carry the same resourceVersion.
func changed() predicate.Predicate {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		return e.ObjectOld.GetResourceVersion() != e.ObjectNew.GetResourceVersion()
	}}
}

// topologyChanged passes node events that change the localities mesh.New reads.
func topologyChanged() predicate.Predicate {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		a, b := e.ObjectOld.GetLabels(), e.ObjectNew.GetLabels()
		for _, k := range []string{mesh.RegionLabel, mesh.ZoneLabel, mesh.SubZoneLabel} {
			if a[k] != b[k] {
				return true
			}
		}
		return false
	}}
}
