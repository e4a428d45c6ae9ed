package controllers

import (
	"context"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
)

// syncedIndex is an informer's side that podStore reads: a client-go indexer, synced.
type syncedIndex struct{ toolscache.Indexer }

func (syncedIndex) HasSynced() bool                  { return true }
func (s syncedIndex) GetIndexer() toolscache.Indexer { return s.Indexer }

func TestPodStoreWalksOneNamespaceOfTheIndex(t *testing.T) {
	idx := toolscache.NewIndexer(toolscache.MetaNamespaceKeyFunc,
		toolscache.Indexers{toolscache.NamespaceIndex: toolscache.MetaNamespaceIndexFunc})
	for _, key := range []struct{ ns, name string }{{"a", "p1"}, {"a", "p2"}, {"b", "p3"}} {
		if err := idx.Add(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: key.ns, Name: key.name}}); err != nil {
			t.Fatal(err)
		}
	}
	stored, _, _ := idx.GetByKey("a/p1")
	s := podStore{cacheStore[*corev1.Pod]{informer: syncedIndex{idx}}}
	var names []string
	var given *corev1.Pod
	err := s.each(context.Background(), "a", func(p *corev1.Pod) {
		names = append(names, p.Name)
		if p.Name == "p1" {
			given = p
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"p1", "p2"}) {
		t.Errorf("namespace a: %v, want [p1 p2]", names)
	}
	if given != stored {
		t.Error("the pod given is a copy, not the cached object")
	}
}
