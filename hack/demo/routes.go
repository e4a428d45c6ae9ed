package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/mizzen-mesh/mizzen/internal/envoy"
	"github.com/mizzen-mesh/mizzen/internal/mesh"
)

// weightedRoute is one outbound route of a proxy's config: the clusters it splits traffic over.
type weightedRoute struct {
	vhost    string
	match    string // e.g. "path /productpage", "prefix /"
	clusters []weightedCluster
}

type weightedCluster struct {
	name   string // outbound|<port>|<subset>|<host>
	weight int
}

func (r weightedRoute) String() string {
	var cs []string
	for _, c := range r.clusters {
		cs = append(cs, fmt.Sprintf("%s=%d", c.name, c.weight))
	}
	return r.vhost + " " + r.match + " -> " + strings.Join(cs, ", ")
}

// subsetWeights maps the subset of each cluster (the third field of an outbound cluster name) to
// its weight.
func (r weightedRoute) subsetWeights() map[string]int {
	out := map[string]int{}
	for _, c := range r.clusters {
		if parts := strings.Split(c.name, "|"); len(parts) == 4 {
			out[parts[2]] = c.weight
		} else {
			out[c.name] = c.weight
		}
	}
	return out
}

// checkRoutes reads the Envoy config (lds.yaml of the ConfigMap named from the proxy id, exactly
// as Envoy would see it) of every pod labelled app=<app> and checks that each of its routes to
// host splits traffic over the subsets with the weights want. It returns the routes of the first
// pod, to show.
func checkRoutes(ctx context.Context, cl client.Client, ns, app, host string, want map[string]int) (string, []weightedRoute, error) {
	pods := &corev1.PodList{}
	if err := cl.List(ctx, pods, client.InNamespace(ns), client.MatchingLabels{"app": app}); err != nil {
		return "", nil, err
	}
	if len(pods.Items) == 0 {
		return "", nil, fmt.Errorf("no pod labelled app=%s in %s", app, ns)
	}
	var shown []weightedRoute
	for i := range pods.Items {
		pod := &pods.Items[i]
		routes, err := routesOf(ctx, cl, pod, func(vhost, _ map[string]any) bool {
			domains, _ := vhost["domains"].([]any)
			return slices.Contains(domains, any(host))
		})
		if err != nil {
			return "", nil, err
		}
		if len(routes) == 0 {
			return "", nil, fmt.Errorf("pod %s: lds.yaml has no route to %s", pod.Name, host)
		}
		for _, r := range routes {
			if got := r.subsetWeights(); !maps.Equal(got, want) {
				return "", nil, fmt.Errorf("pod %s: lds.yaml routes %s with weights %v, want %v", pod.Name, r, got, want)
			}
		}
		if i == 0 {
			shown = routes
		}
	}
	return pods.Items[0].Name, shown, nil
}

// gatewayRoutes reads the Envoy config of every pod labelled selector (the pods a Gateway selects)
// and checks that it routes requests for path, and only to host's clusters. It returns the first
// pod's name and routes, to show, and the number of pods.
func gatewayRoutes(ctx context.Context, cl client.Client, ns string, selector map[string]string, path, host string) (string, int, []weightedRoute, error) {
	pods := &corev1.PodList{}
	if err := cl.List(ctx, pods, client.InNamespace(ns), client.MatchingLabels(selector)); err != nil {
		return "", 0, nil, err
	}
	if len(pods.Items) == 0 {
		return "", 0, nil, fmt.Errorf("no pod labelled %v in %s", selector, ns)
	}
	var shown []weightedRoute
	for i := range pods.Items {
		pod := &pods.Items[i]
		routes, err := routesOf(ctx, cl, pod, func(_, route map[string]any) bool {
			m, _ := route["match"].(map[string]any)
			prefix, isPrefix := m["prefix"].(string)
			return m["path"] == path || (isPrefix && strings.HasPrefix(path, prefix))
		})
		if err != nil {
			return "", 0, nil, err
		}
		if len(routes) == 0 {
			return "", 0, nil, fmt.Errorf("pod %s: lds.yaml has no route for %s", pod.Name, path)
		}
		for _, r := range routes {
			for _, c := range r.clusters {
				if !strings.HasSuffix(c.name, "|"+host) {
					return "", 0, nil, fmt.Errorf("pod %s: lds.yaml routes %s to %s, want a cluster of %s", pod.Name, path, c.name, host)
				}
			}
		}
		if i == 0 {
			shown = routes
		}
	}
	return pods.Items[0].Name, len(pods.Items), shown, nil
}

// routesOf returns the routes of pod's Envoy config (lds.yaml of the ConfigMap named from its
// proxy id, exactly as Envoy would see it) that keep accepts, given the route and its virtual host.
func routesOf(ctx context.Context, cl client.Client, pod *corev1.Pod, keep func(vhost, route map[string]any) bool) ([]weightedRoute, error) {
	id := pod.Annotations[mesh.ProxyIDAnnotation]
	if id == "" {
		return nil, fmt.Errorf("pod %s has no proxy id", pod.Name)
	}
	cm := &corev1.ConfigMap{}
	if err := cl.Get(ctx, client.ObjectKey{Namespace: pod.Namespace, Name: envoy.ConfigMapName(id)}, cm); err != nil {
		return nil, fmt.Errorf("pod %s: %w", pod.Name, err)
	}
	var lds any
	if err := yaml.Unmarshal([]byte(cm.Data["lds.yaml"]), &lds); err != nil {
		return nil, fmt.Errorf("reading lds.yaml of %s: %w", cm.Name, err)
	}
	var routes []weightedRoute
	var bad error
	walk(lds, func(vhost map[string]any) {
		rs, _ := vhost["routes"].([]any)
		for _, r := range rs {
			rm, _ := r.(map[string]any)
			if !keep(vhost, rm) {
				continue
			}
			route, _ := rm["route"].(map[string]any)
			wc, _ := route["weighted_clusters"].(map[string]any)
			cl, _ := wc["clusters"].([]any)
			var clusters []weightedCluster
			for _, c := range cl {
				c, _ := c.(map[string]any)
				w, ok := c["weight"].(float64)
				if !ok {
					bad = fmt.Errorf("%s: weighted cluster %v has no numeric weight", cm.Name, c["name"])
				}
				clusters = append(clusters, weightedCluster{name: fmt.Sprint(c["name"]), weight: int(w)})
			}
			if len(clusters) == 0 {
				clusters = append(clusters, weightedCluster{name: fmt.Sprint(route["cluster"]), weight: 100})
			}
			routes = append(routes, weightedRoute{vhost: fmt.Sprint(vhost["name"]), match: matchOf(rm), clusters: clusters})
		}
	})
	return routes, bad
}

// matchOf describes a route's path match as "<kind> <value>".
func matchOf(route map[string]any) string {
	m, _ := route["match"].(map[string]any)
	for _, kind := range []string{"path", "prefix", "path_separated_prefix"} {
		if v, ok := m[kind].(string); ok {
			return kind + " " + v
		}
	}
	if re, ok := m["safe_regex"].(map[string]any); ok {
		return fmt.Sprintf("regex %v", re["regex"])
	}
	return "(any path)"
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
