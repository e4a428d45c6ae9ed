package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mizzen-mesh/mizzen/internal/inject"
)

// injectedDeployments checks that every pod of every Deployment of ns came back from the
// injection webhook with its proxy: the Envoy container (the placeholder filled in, for a gateway)
// and, for a sidecar, the capture init container, a gateway having none. It returns one line per
// Deployment saying so, or an error naming the first pod without its proxy.
func injectedDeployments(ctx context.Context, cl client.Client, ns string) ([]string, error) {
	deploys := &appsv1.DeploymentList{}
	if err := cl.List(ctx, deploys, client.InNamespace(ns)); err != nil {
		return nil, err
	}
	if len(deploys.Items) == 0 {
		return nil, fmt.Errorf("no Deployment in %s", ns)
	}
	var lines []string
	for _, d := range deploys.Items {
		sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
		if err != nil {
			return nil, fmt.Errorf("deployment %s: %w", d.Name, err)
		}
		pods := &corev1.PodList{}
		if err := cl.List(ctx, pods, client.InNamespace(ns), client.MatchingLabelsSelector{Selector: sel}); err != nil {
			return nil, err
		}
		if len(pods.Items) == 0 {
			return nil, fmt.Errorf("deployment %s has no pods", d.Name)
		}
		gateway := d.Spec.Template.Annotations[inject.TemplateAnnotation] == inject.TemplateGateway
		var ids []string
		for i := range pods.Items {
			if err := checkInjected(&pods.Items[i], gateway); err != nil {
				return nil, fmt.Errorf("deployment %s: %w", d.Name, err)
			}
			ids = append(ids, pods.Items[i].Annotations[inject.ProxyIDAnnotation])
		}
		slices.Sort(ids)
		what := inject.ProxyContainer + " + " + inject.CaptureContainer
		if gateway {
			what = inject.ProxyContainer + ", gateway template: no capture"
		}
		lines = append(lines, fmt.Sprintf("%s: %d/%d pods injected (%s; proxy ids %s)",
			d.Name, len(pods.Items), len(pods.Items), what, strings.Join(ids, ", ")))
	}
	return lines, nil
}

func checkInjected(pod *corev1.Pod, gateway bool) error {
	if pod.Annotations[inject.ProxyIDAnnotation] == "" {
		return fmt.Errorf("pod %s has no proxy id annotation: it was not injected (is the webhook registered?)", pod.Name)
	}
	i := slices.IndexFunc(pod.Spec.Containers, func(c corev1.Container) bool { return c.Name == inject.ProxyContainer })
	switch {
	case i < 0:
		return fmt.Errorf("pod %s has no %s container", pod.Name, inject.ProxyContainer)
	case pod.Spec.Containers[i].Image == inject.AutoImage:
		return fmt.Errorf("pod %s: container %s is still the image: %s placeholder", pod.Name, inject.ProxyContainer, inject.AutoImage)
	}
	capture := slices.ContainsFunc(pod.Spec.InitContainers, func(c corev1.Container) bool { return c.Name == inject.CaptureContainer })
	if capture == gateway {
		return fmt.Errorf("pod %s: init container %s present=%t, want %t for a %s", pod.Name, inject.CaptureContainer, capture, !gateway,
			map[bool]string{true: "gateway", false: "sidecar"}[gateway])
	}
	return nil
}

// brokenVirtualService is refused by the validating webhook only: its regex passes the CRD's
// schema and CEL rules but is not RE2.
const brokenVirtualService = `apiVersion: networking.mizzen.dev/v1alpha1
kind: VirtualService
metadata:
  name: broken-regex
  namespace: bookinfo
spec:
  hosts:
  - reviews
  http:
  - match:
    - uri:
        regex: "/api/(v1|v2"
    route:
    - destination:
        host: reviews
        subset: v1
`
