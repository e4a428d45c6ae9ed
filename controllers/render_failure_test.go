package controllers

import (
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mizzen-mesh/mizzen/internal/mesh"
)

var _ = Describe("Proxy whose config outgrows a ConfigMap", func() {
	It("keeps its last good config, says why on the pod and counts as render_failed until it fits again", func() {
		ns := meshNamespace("too-large-", true)
		pod := runningPod(ns, "caller", "10.1.9.1", map[string]string{"app": "caller"})
		proxyConfig(pod)
		written := resourceVersions(ns)
		failed := func() float64 { return counter("mizzen_proxies", map[string]string{"state": proxyStateRenderFailed}) }
		failedBefore := failed()

		// One Service (visible in this namespace alone) with 2,000 ports: a cluster and a listener
		// each, more than a ConfigMap holds. One object: the config goes from fitting to too large
		// at once.
		ports := make([]corev1.ServicePort, 2000)
		for i := range ports {
			ports[i] = corev1.ServicePort{Name: fmt.Sprintf("http-%d", i), Port: int32(10000 + i)}
		}
		wide := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "wide", Namespace: ns, Annotations: map[string]string{mesh.ExportToAnnotation: "."}},
			Spec:       corev1.ServiceSpec{Selector: map[string]string{"app": "wide"}, Ports: ports},
		}
		Expect(k8sClient.Create(ctx, wide)).To(Succeed())
		// Unscoped, a proxy that cannot be configured holds every rollout of the mesh back.
		DeferCleanup(func() { Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, pod))).To(Succeed()) })

		Eventually(func(g Gomega) {
			evs := &eventsv1.EventList{}
			g.Expect(k8sClient.List(ctx, evs, client.InNamespace(ns))).To(Succeed())
			var reasons []string
			for _, e := range evs.Items {
				if e.Regarding.Name == pod.Name {
					reasons = append(reasons, e.Reason)
				}
			}
			g.Expect(reasons).To(ContainElement(ReasonConfigTooLarge))
		}).Should(Succeed())
		Eventually(failed).Should(Equal(failedBefore + 1))
		Expect(resourceVersions(ns)).To(Equal(written), "the proxy keeps its last good config")

		Expect(k8sClient.Delete(ctx, wide)).To(Succeed())
		Eventually(failed).Should(Equal(failedBefore))
		Expect(resourceVersions(ns)).To(Equal(written), "the config it fits back to is the one it kept")
	})
})
