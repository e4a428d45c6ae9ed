package controllers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	networkingv1alpha1 "github.com/mizzen-mesh/mizzen/api/v1alpha1"
	"github.com/mizzen-mesh/mizzen/internal/envoy"
	"github.com/mizzen-mesh/mizzen/internal/identity"
	"github.com/mizzen-mesh/mizzen/internal/mesh"
)

// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;update;delete

// Gateway credentials (credentialName): the proxy reconciler copies the Secrets a gateway pod's
// config reads (translate.Resources.Credentials) into Secret mizzen-proxy-<proxy-id>-credentials,
// owned by the pod and mounted at envoy.CredentialsDir, with the SDS documents that name the
// files (envoy.RenderCredentials). Key material never enters a ConfigMap or the mesh snapshot.
//
// Memory: the manager watches every Secret of the cluster, but through a cache of its own whose
// transform keeps only names, resourceVersions, owners, labels, Mizzen's annotations and the
// data's key names, never values (nor kubectl's last-applied annotation, which may hold them). A
// type filter (kubernetes.io/tls) would not do: Istio accepts generic Secrets (cert/key/cacert).
// The snapshot needs only which keys exist; the data of the few Secrets being copied is read
// from the API server when their resourceVersions differ from the copy's.
type credentialSync struct {
	secrets client.Reader // the stripped cache
	api     client.Reader // uncached reads of the Secrets to copy
}

// stripSecret is the secret cache's transform.
func stripSecret(obj any) (any, error) {
	s, ok := obj.(*corev1.Secret)
	if !ok {
		return obj, nil
	}
	out := &corev1.Secret{
		TypeMeta: s.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{Name: s.Name, Namespace: s.Namespace, UID: s.UID, ResourceVersion: s.ResourceVersion,
			Labels: s.Labels, OwnerReferences: s.OwnerReferences, DeletionTimestamp: s.DeletionTimestamp},
		Type: s.Type,
		Data: make(map[string][]byte, len(s.Data)),
	}
	for k, v := range s.Annotations {
		if strings.HasPrefix(k, "mizzen.dev/") {
			if out.Annotations == nil {
				out.Annotations = map[string]string{}
			}
			out.Annotations[k] = v
		}
	}
	for k := range s.Data {
		out.Data[k] = nil
	}
	return out, nil
}

// setupCredentials starts the secret cache and watches it: a change to a Secret some Gateway
// names invalidates the snapshot and reconciles the gateway pods of its namespace; a change to a
// credentials Secret reconciles its pod.
func (r *ProxyReconciler) setupCredentials(mgr ctrl.Manager, b *builder.Builder) error {
	c, err := cache.New(mgr.GetConfig(), cache.Options{
		Scheme: mgr.GetScheme(), Mapper: mgr.GetRESTMapper(), HTTPClient: mgr.GetHTTPClient(),
		ByObject: map[client.Object]cache.ByObject{&corev1.Secret{}: {Transform: stripSecret}},
	})
	if err != nil {
		return fmt.Errorf("creating the secret cache: %w", err)
	}
	if err := mgr.Add(c); err != nil {
		return fmt.Errorf("adding the secret cache: %w", err)
	}
	r.creds = &credentialSync{secrets: c, api: mgr.GetAPIReader()}
	r.snapshots.secrets = c
	b.WatchesRawSource(source.Kind[client.Object](c, &corev1.Secret{},
		handler.EnqueueRequestsFromMapFunc(r.secretRequests), changed()))
	return nil
}

// secretRequests maps a Secret event to the pods whose config or credentials it may change.
func (r *ProxyReconciler) secretRequests(ctx context.Context, obj client.Object) []reconcile.Request {
	if owner := metav1.GetControllerOf(obj); owner != nil && owner.Kind == "Pod" && strings.HasSuffix(obj.GetName(), envoy.CredentialsSecretSuffix) {
		// Someone changed or deleted the copy: the pod's config is current, its copy is not.
		key := types.NamespacedName{Namespace: obj.GetNamespace(), Name: owner.Name}
		r.written.Delete(key)
		return []reconcile.Request{{NamespacedName: key}}
	}
	stores := r.snapshots.stores
	gws, err := stores.gateways.all(ctx)
	if err != nil {
		logf.FromContext(ctx).Error(err, "listing gateways")
		return nil
	}
	drs, err := stores.destinationRules.all(ctx)
	if err != nil {
		logf.FromContext(ctx).Error(err, "listing destination rules")
		return nil
	}
	if !credentialNames(gws, drs)[obj.GetName()] {
		return nil
	}
	r.snapshots.invalidate()
	var out []reconcile.Request
	seen := map[string]bool{}
	for _, gw := range gws {
		if len(gw.Spec.Selector) == 0 {
			continue
		}
		pods := &corev1.PodList{}
		if err := r.List(ctx, pods, client.InNamespace(obj.GetNamespace()), client.MatchingLabels(gw.Spec.Selector), client.UnsafeDisableDeepCopy); err != nil {
			logf.FromContext(ctx).Error(err, "listing gateway pods", "gateway", gw.Namespace+"/"+gw.Name)
			continue
		}
		for i := range pods.Items {
			if p := &pods.Items[i]; !seen[p.Name] {
				seen[p.Name] = true
				out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(p)})
			}
		}
	}
	return out
}

// credentialNames are the Secret names gateway proxies may read: Gateway servers'
// credentialName(s), caCertCredentialName, DestinationRules' client credentialName, and the
// <name>-cacert Secrets of credentialNames.
func credentialNames(gws []*networkingv1alpha1.Gateway, drs []*networkingv1alpha1.DestinationRule) map[string]bool {
	names := map[string]bool{}
	for _, dr := range drs {
		for _, n := range mesh.ClientCredentialNames(dr) {
			names[n], names[n+mesh.CredentialSuffixCA] = true, true
		}
	}
	for _, gw := range gws {
		for _, s := range gw.Spec.Servers {
			if s.TLS == nil {
				continue
			}
			for _, n := range append([]string{s.TLS.CredentialName}, s.TLS.CredentialNames...) {
				if n != "" {
					names[n], names[n+mesh.CredentialSuffixCA] = true, true
				}
			}
			if n := s.TLS.CaCertCredentialName; n != "" {
				names[n] = true
			}
		}
	}
	return names
}

// credentials lists the Secrets the gateways may read, for the snapshot: the keys they have, and
// those seen before and deleted since (Deleted), which proxies holding a copy keep using. The
// memory of deleted Secrets is the process's, like the rule gate's; a Secret no Gateway names
// any more is forgotten. Callers hold s.mu.
func (s *snapshotSource) credentials(ctx context.Context, gws []*networkingv1alpha1.Gateway, drs []*networkingv1alpha1.DestinationRule) ([]mesh.Credential, error) {
	names := credentialNames(gws, drs)
	if s.secrets == nil || len(names) == 0 {
		s.seenCredentials = nil
		return nil, nil
	}
	list := &corev1.SecretList{}
	if err := s.secrets.List(ctx, list, client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("building the mesh snapshot: listing secrets: %w", err)
	}
	now := map[types.NamespacedName]mesh.Credential{}
	for i := range list.Items {
		if sec := &list.Items[i]; names[sec.Name] {
			now[client.ObjectKeyFromObject(sec)] = mesh.CredentialOf(sec)
		}
	}
	out := make([]mesh.Credential, 0, len(now))
	for k, c := range s.seenCredentials {
		if _, ok := now[k]; !ok && names[k.Name] {
			c.Deleted = true
			now[k] = c
		}
	}
	for _, c := range now {
		out = append(out, c)
	}
	s.seenCredentials = now
	return out, nil
}

// applyCredentials brings the pod's credentials Secret to what its config reads: a copy of each
// credential's Secret. A Secret that is gone keeps the copy the pod has (the proxy keeps serving
// it); nothing is written when the copy's sources did not change. With no credentials the
// Secret is deleted.
func (r *ProxyReconciler) applyCredentials(ctx context.Context, pod *corev1.Pod, id string, creds []envoy.Credential) error {
	if r.creds == nil {
		return nil
	}
	name := envoy.CredentialsSecretName(id)
	key := types.NamespacedName{Namespace: pod.Namespace, Name: name}
	cur := &corev1.Secret{}
	err := r.creds.secrets.Get(ctx, key, cur)
	exists := err == nil
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("reading secret %s: %w", name, err)
	}
	if exists && !identity.IsControlledBy(cur.OwnerReferences, pod) {
		r.conflict(pod, "Secret", name)
		return nil
	}
	if len(creds) == 0 {
		if exists {
			if err := r.Delete(ctx, cur); client.IgnoreNotFound(err) != nil {
				return fmt.Errorf("deleting secret %s: %w", name, err)
			}
		}
		return nil
	}
	cached := func(src string) (*corev1.Secret, error) {
		s := &corev1.Secret{}
		return s, r.creds.secrets.Get(ctx, types.NamespacedName{Namespace: pod.Namespace, Name: src}, s)
	}
	if want, err := credentialsHash(creds, cached); err != nil {
		return err
	} else if exists && cur.Annotations[envoy.CredentialsHashAnnotation] == want {
		return nil
	}

	// Read what is copied from the API server: the sources, and the pod's copy for sources gone.
	var old map[string][]byte
	if exists {
		full := &corev1.Secret{}
		if err := r.creds.api.Get(ctx, key, full); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("reading secret %s: %w", name, err)
		}
		old = full.Data
	}
	fetched := map[string]*corev1.Secret{} // nil: not found
	fetch := func(src string) (*corev1.Secret, error) {
		if s, ok := fetched[src]; ok {
			return s, nil
		}
		s := &corev1.Secret{}
		if err := r.creds.api.Get(ctx, types.NamespacedName{Namespace: pod.Namespace, Name: src}, s); apierrors.IsNotFound(err) {
			s = nil
		} else if err != nil {
			return nil, fmt.Errorf("reading secret %s: %w", src, err)
		}
		fetched[src] = s
		return s, nil
	}
	pems := map[envoy.Credential]envoy.CredentialPEM{}
	for _, c := range creds {
		src, err := fetch(c.Source)
		if err != nil {
			return err
		}
		if src == nil {
			// Gone: keep the pod's copy, if it has one (translate reports the Secret missing).
			if p := pemFrom(c, old); p != nil {
				pems[c] = *p
			}
			continue
		}
		p := envoy.CredentialPEM{Chain: mesh.CredentialPart(src.Data, mesh.CredentialCertKeys),
			Key: mesh.CredentialPart(src.Data, mesh.CredentialKeyKeys), CA: mesh.CredentialPart(src.Data, mesh.CredentialCAKeys)}
		if complete(c, p) { // else it lost a key since the snapshot: its event brings the pod back
			pems[c] = p
		}
	}
	data, err := envoy.RenderCredentials(pems)
	if err != nil {
		return fmt.Errorf("credentials of proxy %s: %w", id, err)
	}
	hash, err := credentialsHash(creds, func(src string) (*corev1.Secret, error) {
		if s := fetched[src]; s != nil {
			return s, nil
		}
		return nil, apierrors.NewNotFound(corev1.Resource("secrets"), src)
	})
	if err != nil {
		return err
	}
	sec := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: pod.Namespace,
			Labels:          map[string]string{identity.ManagedByLabel: identity.ManagedBy},
			Annotations:     map[string]string{envoy.CredentialsHashAnnotation: hash},
			OwnerReferences: []metav1.OwnerReference{identity.PodOwnerReference(pod)}},
		Type: corev1.SecretTypeOpaque,
		Data: data,
	}
	if !exists {
		if err := r.Create(ctx, sec); apierrors.IsAlreadyExists(err) {
			return nil // the cache lags behind an earlier create; its event brings the pod back
		} else if err != nil {
			return fmt.Errorf("creating secret %s: %w", name, err)
		}
	} else {
		sec.ResourceVersion = cur.ResourceVersion
		sec.Labels = mergeMaps(cur.Labels, sec.Labels)
		if err := r.Update(ctx, sec); err != nil {
			return fmt.Errorf("updating secret %s: %w", name, err)
		}
	}
	logf.FromContext(ctx).V(1).Info("credentials written", "secret", name, "hash", hash)
	// As with the config hash: a pod update makes the kubelet resync its volumes now rather than
	// within its sync period, so a rotated certificate reaches Envoy at once.
	if pod.Annotations[envoy.CredentialsHashAnnotation] != hash {
		before := pod.DeepCopy()
		if pod.Annotations == nil {
			pod.Annotations = map[string]string{}
		}
		pod.Annotations[envoy.CredentialsHashAnnotation] = hash
		if err := r.Patch(ctx, pod, client.MergeFrom(before)); err != nil {
			return fmt.Errorf("stamping credentials hash %s on the pod: %w", hash, err)
		}
	}
	return nil
}

// pemFrom reads a credential's files back from a credentials Secret's data; nil when absent.
func pemFrom(c envoy.Credential, data map[string][]byte) *envoy.CredentialPEM {
	p := envoy.CredentialPEM{Chain: data[c.ChainKey()], Key: data[c.PrivateKeyKey()], CA: data[c.CAKey()]}
	if !complete(c, p) {
		return nil
	}
	return &p
}

// complete: p has what c's files need.
func complete(c envoy.Credential, p envoy.CredentialPEM) bool {
	if c.Kind == envoy.CredentialCA {
		return len(p.CA) > 0
	}
	return len(p.Chain) > 0 && len(p.Key) > 0
}

// credentialsHash fingerprints a copy by its credentials and the versions of their sources
// ("-" for a source that is gone), as get finds them.
func credentialsHash(creds []envoy.Credential, get func(string) (*corev1.Secret, error)) (string, error) {
	h := sha256.New()
	for _, c := range creds {
		rv := "-"
		s, err := get(c.Source)
		switch {
		case err == nil:
			rv = string(s.UID) + "/" + s.ResourceVersion
		case !apierrors.IsNotFound(err):
			return "", fmt.Errorf("reading secret %s: %w", c.Source, err)
		}
		fmt.Fprintf(h, "%s\x00%s\x00%s\n", c.Source, c.Kind, rv)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}
