package controllers

import (
	"maps"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mizzen-mesh/mizzen/internal/identity"
)

// CacheOptions are the manager's informer cache settings: every object is kept without the
// bookkeeping of the tools that wrote it (stripBookkeeping), and pods keep only what the
// reconcilers read (trimPod). At 2,000 pods the pods' specs, statuses and managed fields were most
// of what the cache held.
func CacheOptions() cache.Options {
	return cache.Options{
		DefaultTransform: stripBookkeeping,
		// A ByObject transform replaces the default one: trimPod strips the bookkeeping too.
		ByObject: map[client.Object]cache.ByObject{&corev1.Pod{}: {Transform: trimPod}},
	}
}

// managedByLabels are the labels of the objects Mizzen writes (ConfigMaps, Certificates), one map
// for all of them in the cache: a map of one entry takes about 300 bytes, 1.2 MB for the 4,000
// ConfigMaps of 2,000 proxies. Cached objects are never changed in place, so they can share it.
var managedByLabels = map[string]string{identity.ManagedByLabel: identity.ManagedBy}

// stripBookkeeping drops what nothing here reads and can be as large as the object itself: its
// managed fields (server-side apply) and kubectl apply's copy of the last applied manifest (Istio
// YAML moved over with `kubectl apply`, as the README shows, carries one per rule); labels that are
// just Mizzen's managed-by label become the shared managedByLabels. The reconcilers
// write cached objects back only as merge patches between two copies or as objects they own, so the
// dropped fields never reach the API server.
func stripBookkeeping(obj any) (any, error) {
	o, err := meta.Accessor(obj)
	if err != nil {
		return obj, nil // a tombstone: nothing to strip
	}
	if o.GetManagedFields() != nil {
		o.SetManagedFields(nil)
	}
	if l := o.GetLabels(); len(l) == 1 && l[identity.ManagedByLabel] == identity.ManagedBy {
		o.SetLabels(managedByLabels)
	}
	if a := o.GetAnnotations(); a[corev1.LastAppliedConfigAnnotation] != "" {
		a = maps.Clone(a) // the map may be shared with the object a transform copied
		delete(a, corev1.LastAppliedConfigAnnotation)
		if len(a) == 0 {
			a = nil
		}
		o.SetAnnotations(a)
	}
	return obj, nil
}

// trimPod is the pod cache's transform. Of the metadata it keeps the name, namespace, UID (the
// owner of the proxy's objects), resourceVersion (the optimistic lock of assignProxyID), deletion
// timestamp, labels (selectors, subsets) and the mizzen.dev/ annotations, the only ones read (proxy
// id, egress hosts, the stamped hashes); of the spec and status what the reconcilers and
// internal/mesh read: node (scheduled, locality), service account (identity), phase (alive) and IP
// (endpoints, inbound listener). Owner references, finalizers and other tools' annotations can be
// most of a pod's metadata. The reconcilers patch pods with patches computed between two copies of
// the cached pod or naming one annotation, so the dropped fields never reach the API server.
func trimPod(obj any) (any, error) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil
	}
	m := &p.ObjectMeta
	out := &corev1.Pod{
		TypeMeta: p.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{
			Name: m.Name, Namespace: m.Namespace, UID: m.UID, ResourceVersion: m.ResourceVersion,
			Generation: m.Generation, CreationTimestamp: m.CreationTimestamp,
			DeletionTimestamp: m.DeletionTimestamp, DeletionGracePeriodSeconds: m.DeletionGracePeriodSeconds,
			Labels: m.Labels, Annotations: mizzenAnnotations(m.Annotations),
		},
		Spec:   corev1.PodSpec{NodeName: p.Spec.NodeName, ServiceAccountName: p.Spec.ServiceAccountName},
		Status: corev1.PodStatus{Phase: p.Status.Phase, PodIP: p.Status.PodIP},
	}
	return out, nil
}

// mizzenAnnotations returns the mizzen.dev/ annotations of a (nil when there are none); a itself
// when it has no others.
func mizzenAnnotations(a map[string]string) map[string]string {
	n := 0
	for k := range a {
		if strings.HasPrefix(k, mizzenAnnotationPrefix) {
			n++
		}
	}
	switch {
	case n == 0:
		return nil
	case n == len(a):
		return a
	}
	out := make(map[string]string, n)
	for k, v := range a {
		if strings.HasPrefix(k, mizzenAnnotationPrefix) {
			out[k] = v
		}
	}
	return out
}

const mizzenAnnotationPrefix = "mizzen.dev/"
