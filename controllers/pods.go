package controllers

import (
	"context"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	toolscache "k8s.io/client-go/tools/cache"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// cacheStore reads one kind's cached objects without copying them. Listing the cache copies every
// object into a new slice (reflection, and then the caller's own copies): at 2,000 pods and 1,000
// services the snapshot builds, fan-outs and rollout counts of a convergence allocated tens of
// gigabytes that way, which kept the garbage collector busy and the heap high. The informer's
// indexer hands out the cached pointers instead. Informers replace objects rather than change
// them, so a pointer taken here stays what it was; callers must not change what they get.
type cacheStore[P client.Object] struct {
	reader client.Reader
	// newList makes the list type of P, for reading through reader before the informer syncs.
	newList func() client.ObjectList
	// lookup finds P's informer in the manager's cache once it runs; nil: read through reader.
	lookup func(context.Context) (indexedInformer, error)
	mu     sync.Mutex
	// informer is what lookup found (or a test's index).
	informer indexedInformer
}

// indexedInformer is what cacheStore needs of a client-go shared informer.
type indexedInformer interface {
	HasSynced() bool
	GetIndexer() toolscache.Indexer
}

// useInformer makes s read obj's informer of mgr's cache. The informer is looked up at first use,
// not while the manager is set up: asking the cache for informers then made a manager stopped
// right after it started hang (controller-runtime's start keeps waiting for its runnables after
// its context is cancelled; main_test). The reconcilers' watches register every informer the
// stores read.
func (s *cacheStore[P]) useInformer(mgr ctrl.Manager, obj P) {
	s.lookup = func(ctx context.Context) (indexedInformer, error) {
		inf, err := mgr.GetCache().GetInformer(ctx, obj, cache.BlockUntilSynced(false))
		if err != nil {
			return nil, err
		}
		indexed, ok := inf.(indexedInformer)
		if !ok {
			return nil, fmt.Errorf("the cache's informer for %T has no indexer", obj)
		}
		return indexed, nil
	}
}

// synced is the informer's indexer once it has synced, else nil.
func (s *cacheStore[P]) synced(ctx context.Context) toolscache.Indexer {
	s.mu.Lock()
	if s.informer == nil && s.lookup != nil {
		if inf, err := s.lookup(ctx); err == nil {
			s.informer = inf
		}
	}
	inf := s.informer
	s.mu.Unlock()
	if inf == nil || !inf.HasSynced() {
		return nil
	}
	return inf.GetIndexer()
}

// all returns every cached object, uncopied. Until the informer has synced, it lists through the
// reader, which waits for the sync.
func (s *cacheStore[P]) all(ctx context.Context) ([]P, error) {
	if idx := s.synced(ctx); idx != nil {
		return typed[P](idx.List()), nil
	}
	return s.list(ctx)
}

func (s *cacheStore[P]) list(ctx context.Context, opts ...client.ListOption) ([]P, error) {
	l := s.newList()
	if err := s.reader.List(ctx, l, append(opts, client.UnsafeDisableDeepCopy)...); err != nil {
		return nil, err
	}
	items, err := meta.ExtractList(l) // pointers to the list's items
	if err != nil {
		return nil, err
	}
	return typed[P](items), nil
}

// typed keeps the elements of objs that are Ps.
func typed[P any, O any](objs []O) []P {
	out := make([]P, 0, len(objs))
	for _, o := range objs {
		if p, ok := any(o).(P); ok {
			out = append(out, p)
		}
	}
	return out
}

// podStore is the pods' cacheStore; it also walks one namespace, through the informer's namespace
// index.
type podStore struct{ cacheStore[*corev1.Pod] }

func newPodStore(r client.Reader) podStore {
	return podStore{cacheStore[*corev1.Pod]{reader: r, newList: func() client.ObjectList { return &corev1.PodList{} }}}
}

// each calls fn with each cached pod of namespace ns; fn must not keep or change the pod. Until the
// informer has synced, it lists through the reader, which waits for the sync.
func (s *podStore) each(ctx context.Context, ns string, fn func(*corev1.Pod)) error {
	if idx := s.synced(ctx); idx != nil {
		objs, err := idx.ByIndex(toolscache.NamespaceIndex, ns)
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
	pods, err := s.list(ctx, client.InNamespace(ns))
	if err != nil {
		return err
	}
	for _, p := range pods {
		fn(p)
	}
	return nil
}

// The manager's cache hands out client-go shared informers (controller-runtime's informer cache).
var _ indexedInformer = toolscache.SharedIndexInformer(nil)
