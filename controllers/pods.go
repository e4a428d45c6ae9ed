package controllers

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	toolscache "k8s.io/client-go/tools/cache"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// podStore walks the cached pods of a namespace without copying them. Listing the cache copies
// every pod (a corev1.Pod is 1.2 KiB) into a new slice, and the fan-out of every Service,
// EndpointSlice and rule event, and every rollout count, lists all meshed pods: at 2,000 pods the
// manager allocated about 25 GB that way while converging (a third of all its allocations), which
// kept the garbage collector busy and the heap high. The informer's namespace index hands out the
// cached pointers instead.
type podStore struct {
	reader client.Reader
	// informer is the pod informer of the manager's cache; nil until SetupWithManager.
	informer indexedInformer
}

// indexedInformer is what podStore needs of a client-go shared informer.
type indexedInformer interface {
	HasSynced() bool
	GetIndexer() toolscache.Indexer
}

// usePodIndex makes s read the pod informer's namespace index of mgr's cache, when the cache's
// informer offers one (client-go's shared informers do).
func (s *podStore) usePodIndex(mgr ctrl.Manager) error {
	inf, err := mgr.GetCache().GetInformer(context.Background(), &corev1.Pod{})
	if err != nil {
		return err
	}
	if indexed, ok := inf.(indexedInformer); ok {
		s.informer = indexed
	}
	return nil
}

// each calls fn with each cached pod of namespace ns; fn must not keep or change the pod. Until the
// informer has synced, it lists through the reader, which waits for the sync.
func (s *podStore) each(ctx context.Context, ns string, fn func(*corev1.Pod)) error {
	if s.informer != nil && s.informer.HasSynced() {
		objs, err := s.informer.GetIndexer().ByIndex(toolscache.NamespaceIndex, ns)
		if err != nil {
			return err
		}
		for _, o := range objs {
			if p, ok := o.(*corev1.Pod); ok {
				fn(p)
			}
		}
		return nil
	}
	pods := &corev1.PodList{}
	if err := s.reader.List(ctx, pods, client.InNamespace(ns), client.UnsafeDisableDeepCopy); err != nil {
		return err
	}
	for i := range pods.Items {
		fn(&pods.Items[i])
	}
	return nil
}

// all returns every cached pod, uncopied: callers must not change them.
func (s *podStore) all(ctx context.Context) ([]*corev1.Pod, error) {
	if s.informer != nil && s.informer.HasSynced() {
		objs := s.informer.GetIndexer().List()
		out := make([]*corev1.Pod, 0, len(objs))
		for _, o := range objs {
			if p, ok := o.(*corev1.Pod); ok {
				out = append(out, p)
			}
		}
		return out, nil
	}
	pods := &corev1.PodList{}
	if err := s.reader.List(ctx, pods, client.UnsafeDisableDeepCopy); err != nil {
		return nil, err
	}
	out := make([]*corev1.Pod, len(pods.Items))
	for i := range pods.Items {
		out[i] = &pods.Items[i]
	}
	return out, nil
}

// The manager's cache hands out client-go shared informers (controller-runtime's informer cache).
var _ indexedInformer = toolscache.SharedIndexInformer(nil)
