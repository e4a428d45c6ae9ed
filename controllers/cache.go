package controllers

import (
	"maps"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
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

// stripBookkeeping drops what nothing here reads and can be as large as the object itself: its
// managed fields (server-side apply) and kubectl apply's copy of the last applied manifest (Istio
// YAML moved over with `kubectl apply`, as the README shows, carries one per rule). The reconcilers
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

// trimPod is the pod cache's transform. It keeps the metadata but its bookkeeping (labels,
// annotations, UID, owner, deletion timestamp, resourceVersion for the optimistic lock of
// assignProxyID) and of the spec
// and status what the reconcilers and internal/mesh read: node (scheduled, locality), service
// account (identity), phase (alive) and IP (endpoints, inbound listener). The reconcilers patch
// pods with merge patches computed between two copies of the cached pod, so the dropped fields
// never reach the API server.
func trimPod(obj any) (any, error) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil
	}
	out := &corev1.Pod{
		TypeMeta:   p.TypeMeta,
		ObjectMeta: p.ObjectMeta,
		Spec:       corev1.PodSpec{NodeName: p.Spec.NodeName, ServiceAccountName: p.Spec.ServiceAccountName},
		Status:     corev1.PodStatus{Phase: p.Status.Phase, PodIP: p.Status.PodIP},
	}
	return stripBookkeeping(out)
}
