package controllers

import (
	"slices"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/mizzen-mesh/mizzen/api/v1alpha1"
	"github.com/mizzen-mesh/mizzen/internal/mesh"
)

var _ = Describe("Scoped fan-out", func() {
	It("reaches, for a host's Service, EndpointSlice or DestinationRule, the sidecars that see it or are routed to it", func() {
		a, b, c := meshNamespace("host-a-", true), meshNamespace("host-b-", true), meshNamespace("host-c-", true)
		pod := func(ns, name, egress string) string {
			p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": name}},
				Spec: corev1.PodSpec{NodeName: "node-1", Containers: []corev1.Container{{Name: "app", Image: "example.com/app:1"}}}}
			if egress != "" {
				p.Annotations = map[string]string{mesh.EgressHostsAnnotation: egress}
			}
			Expect(k8sClient.Create(ctx, p)).To(Succeed())
			return ns + "/" + name
		}
		server := pod(a, "server", "./*") // backs the host: its inbound config
		near := pod(b, "near", a+"/*")    // sees the host
		routed := pod(b, "routed", "./*") // a rule of its namespace routes it to the host
		open := pod(c, "open", "")        // sees everything
		far := pod(c, "far", "./*")       // none of these

		web := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: a},
			Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}}}
		slice := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: a,
			Labels: map[string]string{discoveryv1.LabelServiceName: "web"}}, AddressType: discoveryv1.AddressTypeIPv4}
		dr := &v1.DestinationRule{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: a}, Spec: v1.DestinationRuleSpec{Host: "web"}}
		front := fromYAML(&v1.VirtualService{}, b, `
metadata: {name: front}
spec:
  hosts: [front]
  exportTo: ["."]
  http:
  - route:
    - destination: {host: web.`+a+`.svc.cluster.local}`)
		Expect(k8sClient.Create(ctx, web)).To(Succeed()) // the slice's exportTo is its Service's
		Expect(k8sClient.Create(ctx, front)).To(Succeed())

		r := NewProxyReconciler(k8sClient, nil, ProxyOptions{}) // its own: reads the API server
		reached := func(obj client.Object) []string {
			var keys []string
			for _, req := range r.proxiesSeeing(ctx, obj) {
				keys = append(keys, req.String())
			}
			return keys
		}
		for _, obj := range []client.Object{web, slice, dr} {
			Expect(reached(obj)).To(ContainElements(server, near, routed, open), "%T", obj)
			Expect(reached(obj)).NotTo(ContainElement(far), "%T", obj)
		}
		// The rollout of the DestinationRule counts the proxies its change reconciles.
		counted := slices.Collect(r.rolloutCandidates(ctx, dr))
		Expect(counted).To(ContainElements(near, routed, open))
		Expect(counted).NotTo(ContainElement(far))

		// A delegate routing to the host: which proxies its roots shape is not known here, so
		// nothing is narrowed.
		delegate := fromYAML(&v1.VirtualService{}, c, `
metadata: {name: delegate}
spec:
  http:
  - route:
    - destination: {host: web.`+a+`.svc.cluster.local}`)
		Expect(k8sClient.Create(ctx, delegate)).To(Succeed())
		r.snapshots.invalidate() // what the rule's event does
		Expect(reached(slice)).To(ContainElement(far))
	})
})
