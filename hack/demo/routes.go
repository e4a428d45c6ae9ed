package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/mizzen-mesh/mizzen/internal/envoy"
	"github.com/mizzen-mesh/mizzen/internal/mesh"
)

// weightedRoute is one outbound route of a proxy's config: the clusters it splits traffic over.
type weightedRoute struct {
	vhost    string
	clusters []string // "cluster=weight"
}

// waitForRoutes polls the config Mizzen wrote for one pod labelled app=<app> until its routes to
// host carry want (for example "=50"), and returns them. It reads the ConfigMap the pod mounts,
// named from the pod's proxy id, exactly as Envoy would see it.
func waitForRoutes(ctx context.Context, cs kubernetes.Interface, ns, app, host, want string, timeout time.Duration) (string, []weightedRoute, error) {
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		pod, routes, err := routesOf(ctx, cs, ns, app, host)
		if err == nil && len(routes) > 0 && slices.ContainsFunc(routes[0].clusters, func(c string) bool { return strings.HasSuffix(c, want) }) {
			return pod, routes, nil
		}
		last = err
		select {
		case <-ctx.Done():
			return "", nil, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	return "", nil, fmt.Errorf("no %s pod's config routes %s with weights %s within %s (last error: %v)", app, host, want, timeout, last)
}

func routesOf(ctx context.Context, cs kubernetes.Interface, ns, app, host string) (string, []weightedRoute, error) {
	pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + app})
	if err != nil || len(pods.Items) == 0 {
		return "", nil, fmt.Errorf("listing %s pods: %v", app, err)
	}
	pod := pods.Items[0]
	id := pod.Annotations[mesh.ProxyIDAnnotation]
	if id == "" {
		return pod.Name, nil, fmt.Errorf("pod %s has no proxy id yet", pod.Name)
	}
	cm, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, envoy.ConfigMapName(id), metav1.GetOptions{})
	if err != nil {
		return pod.Name, nil, err
	}
	var lds any
	if err := yaml.Unmarshal([]byte(cm.Data["lds.yaml"]), &lds); err != nil {
		return pod.Name, nil, fmt.Errorf("reading lds.yaml of %s: %w", cm.Name, err)
	}
	var routes []weightedRoute
	walk(lds, func(vhost map[string]any) {
		domains, _ := vhost["domains"].([]any)
		if !slices.Contains(domains, any(host)) {
			return
		}
		rs, _ := vhost["routes"].([]any)
		for _, r := range rs {
			rm, _ := r.(map[string]any)
			route, _ := rm["route"].(map[string]any)
			wc, _ := route["weighted_clusters"].(map[string]any)
			cl, _ := wc["clusters"].([]any)
			var clusters []string
			for _, c := range cl {
				c, _ := c.(map[string]any)
				clusters = append(clusters, fmt.Sprintf("%v=%v", c["name"], c["weight"]))
			}
			if len(clusters) == 0 {
				clusters = append(clusters, fmt.Sprintf("%v", route["cluster"]))
			}
			routes = append(routes, weightedRoute{vhost: fmt.Sprint(vhost["name"]), clusters: clusters})
		}
	})
	return pod.Name, routes, nil
}

// walk calls f on every virtual host found anywhere in a decoded xDS document.
func walk(v any, f func(map[string]any)) {
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			if k == "virtual_hosts" {
				vhosts, _ := child.([]any)
				for _, vh := range vhosts {
					if vh, ok := vh.(map[string]any); ok {
						f(vh)
					}
				}
				continue
			}
			walk(child, f)
		}
	case []any:
		for _, child := range v {
			walk(child, f)
		}
	}
}
