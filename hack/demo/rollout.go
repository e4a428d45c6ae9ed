package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"

	"github.com/mizzen-mesh/mizzen/api/v1alpha1"
)

var virtualServices = v1alpha1.GroupVersion.WithResource("virtualservices")

// rolloutLine is a VirtualService's rollout on one line: the generation, Progressing and Ready
// (with their reasons, and the generation they describe when it is not the current one), how many
// proxies carry it and the weights.
func rolloutLine(vs *v1alpha1.VirtualService) string {
	parts := []string{fmt.Sprintf("generation %d", vs.Generation)}
	for _, t := range []string{v1alpha1.ConditionProgressing, v1alpha1.ConditionReady} {
		c := apimeta.FindStatusCondition(vs.Status.Conditions, t)
		if c == nil {
			parts = append(parts, t+"=?")
			continue
		}
		stale := ""
		if c.ObservedGeneration != vs.Generation {
			stale = fmt.Sprintf(", of generation %d", c.ObservedGeneration)
		}
		parts = append(parts, fmt.Sprintf("%s=%s (%s%s)", t, c.Status, c.Reason, stale))
	}
	if cs := vs.Status.Canary; cs != nil {
		parts = append(parts, "updated "+cs.UpdatedSummary, "weights "+cs.WeightsSummary)
	}
	return strings.Join(parts, "  ")
}

// readyFor reports whether vs is Ready for its current generation.
func readyFor(vs *v1alpha1.VirtualService) bool {
	c := apimeta.FindStatusCondition(vs.Status.Conditions, v1alpha1.ConditionReady)
	return c != nil && c.Status == metav1.ConditionTrue && c.ObservedGeneration == vs.Generation
}

// watchRollout watches VirtualService ns/name, runs change (which must change its spec), and
// prints a line each time the rollout status moves, until the VirtualService is Ready for the
// new generation. It returns the time from starting change to that Ready.
func watchRollout(ctx context.Context, dyn dynamic.Interface, ns, name string, change func() error, timeout time.Duration) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := dyn.Resource(virtualServices).Namespace(ns)
	current, err := client.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return 0, err
	}
	before, err := toVirtualService(current)
	if err != nil {
		return 0, err
	}
	selector := fields.OneTermEqualSelector("metadata.name", name).String()
	w, err := watchtools.NewRetryWatcherWithContext(ctx, current.GetResourceVersion(), &cache.ListWatch{
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = selector
			return client.Watch(ctx, o)
		},
	})
	if err != nil {
		return 0, err
	}
	defer w.Stop()

	last := rolloutLine(before)
	fmt.Printf("    before:  %s\n", last)
	start := time.Now()
	if err := change(); err != nil {
		return 0, err
	}
	for {
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("virtualservice %s/%s was not Ready for its new generation within %s; last status: %s", ns, name, timeout, last)
		case ev, ok := <-w.ResultChan():
			if !ok {
				return 0, fmt.Errorf("the watch of virtualservice %s/%s ended; last status: %s", ns, name, last)
			}
			if ev.Type == watch.Error {
				return 0, fmt.Errorf("watching virtualservice %s/%s: %v", ns, name, apiError(ev.Object))
			}
			u, ok := ev.Object.(*unstructured.Unstructured)
			if !ok || ev.Type == watch.Bookmark {
				continue
			}
			vs, err := toVirtualService(u)
			if err != nil {
				return 0, err
			}
			if line := rolloutLine(vs); line != last {
				fmt.Printf("    +%-6s  %s\n", time.Since(start).Round(10*time.Millisecond), line)
				last = line
			}
			if vs.Generation > before.Generation && readyFor(vs) {
				return time.Since(start), nil
			}
		}
	}
}

func toVirtualService(u *unstructured.Unstructured) (*v1alpha1.VirtualService, error) {
	vs := &v1alpha1.VirtualService{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, vs); err != nil {
		return nil, fmt.Errorf("decoding virtualservice %s/%s: %w", u.GetNamespace(), u.GetName(), err)
	}
	return vs, nil
}

// apiError renders the Status object of a watch error event.
func apiError(o runtime.Object) string {
	if u, ok := o.(*unstructured.Unstructured); ok {
		if msg, _, _ := unstructured.NestedString(u.Object, "message"); msg != "" {
			return msg
		}
	}
	return fmt.Sprint(o)
}
