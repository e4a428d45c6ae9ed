package controllers

import (
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// CacheOptions are the manager's informer cache settings: every object is kept without its
// managed fields (server-side apply bookkeeping nothing here reads), and pods keep only what the
// reconcilers read (trimPod). At 2,000 pods the pods' specs, statuses and managed fields were most
// of what the cache held.
func CacheOptions() cache.Options {
	return cache.Options{
		DefaultTransform: cache.TransformStripManagedFields(),
		// A ByObject transform replaces the default one: trimPod strips managed fields too.
		ByObject: map[client.Object]cache.ByObject{&corev1.Pod{}: {Transform: trimPod}},
	}
}

// trimPod is the pod cache's transform. It keeps the metadata (labels, annotations, UID, owner,
// deletion timestamp, resourceVersion for the optimistic lock of assignProxyID) and of the spec
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
	out.ManagedFields = nil
	return out, nil
}
