package scale

import (
	"context"
	"errors"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// errAborted ends a wait when its health check fails.
var errAborted = errors.New("aborted")

// healthCheck says why waiting longer is pointless: a process of the cluster (the manager
// included) exited, or the manager failed in a way that no wait repairs.
type healthCheck func() error

// whileAlive returns a context that ends after timeout, when ctx ends, or as soon as check fails:
// a wait then fails at once and says why.
func whileAlive(ctx context.Context, check healthCheck, timeout time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancelTimeout := context.WithTimeout(ctx, timeout)
	ctx, cancel := context.WithCancelCause(ctx)
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := check(); err != nil {
					cancel(fmt.Errorf("%w: %w", errAborted, err))
					return
				}
			}
		}
	}()
	return ctx, func() { cancel(nil); cancelTimeout() }
}

// waitError names what was waited for and why the wait ended.
func waitError(ctx context.Context, what string, err error) error {
	if cause := context.Cause(ctx); cause != nil {
		err = cause
	}
	return fmt.Errorf("waiting for %s: %w", what, err)
}

// watchUntil lists and then watches the objects of list's kind in namespace ns until done, given
// every object seen so far by name, returns true; it is called after each event (the list's
// objects arrive as events too). A broken watch is resumed by listing again. It gives up after
// timeout, or as soon as check fails.
func watchUntil[T client.Object](ctx context.Context, check healthCheck, cl client.WithWatch, list client.ObjectList, ns string,
	timeout time.Duration, what string, done func(map[string]T) bool) error {
	ctx, cancel := whileAlive(ctx, check, timeout)
	defer cancel()
	item, err := itemOf[T](cl.Scheme(), list)
	if err != nil {
		return err
	}
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			l := list.DeepCopyObject().(client.ObjectList)
			return l, cl.List(ctx, l, client.InNamespace(ns), &client.ListOptions{Raw: &o})
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return cl.Watch(ctx, list.DeepCopyObject().(client.ObjectList), client.InNamespace(ns), &client.ListOptions{Raw: &o})
		},
	}
	seen := map[string]T{}
	_, err = watchtools.UntilWithSync(ctx, lw, item, nil, func(e watch.Event) (bool, error) {
		obj, ok := e.Object.(T)
		if !ok {
			return false, fmt.Errorf("unexpected %T in a watch of %T", e.Object, list)
		}
		if e.Type == watch.Deleted {
			delete(seen, obj.GetName())
		} else {
			seen[obj.GetName()] = obj
		}
		return done(seen), nil
	})
	if err != nil {
		return waitError(ctx, what, err)
	}
	return nil
}

// itemOf is a new, empty object of the kind list holds.
func itemOf[T client.Object](scheme *runtime.Scheme, list client.ObjectList) (T, error) {
	var zero T
	gvks, _, err := scheme.ObjectKinds(list)
	if err != nil {
		return zero, err
	}
	gvk := gvks[0]
	gvk.Kind = gvk.Kind[:len(gvk.Kind)-len("List")]
	obj, err := scheme.New(gvk)
	if err != nil {
		return zero, err
	}
	item, ok := obj.(T)
	if !ok {
		return zero, fmt.Errorf("%s is a %T, not the item type asked for", gvk, obj)
	}
	return item, nil
}

// pollUntil calls cond every interval until it returns true, for what cannot be watched (the
// manager's metrics and readiness). It gives up after timeout, or as soon as check fails; the
// error then carries cond's last error.
func pollUntil(ctx context.Context, check healthCheck, timeout, interval time.Duration, what string, cond func() (bool, error)) error {
	ctx, cancel := whileAlive(ctx, check, timeout)
	defer cancel()
	t := time.NewTicker(interval)
	defer t.Stop()
	var last error
	for {
		ok, err := cond()
		if ok {
			return nil
		}
		last = err
		select {
		case <-ctx.Done():
			return waitError(ctx, what, errors.Join(ctx.Err(), last))
		case <-t.C:
		}
	}
}
