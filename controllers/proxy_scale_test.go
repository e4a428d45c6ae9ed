package controllers

import (
	"fmt"
	"os"
	"strconv"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/mizzen-mesh/mizzen/api/v1alpha1"
	"github.com/mizzen-mesh/mizzen/internal/envoy"
)

// A rough measurement, not a timed test: MIZZEN_PROXY_SCALE=<pods> (10 services, pods spread over
// them) runs it, e.g.
//
//	MIZZEN_PROXY_SCALE=300 go test ./controllers -run TestControllers -args -ginkgo.label-filter=scale -ginkgo.v
//
// It reports the time until every pod carries its config, then until a 90/10 VirtualService on
// one service (seen by every pod) reached every ConfigMap, with the writes, snapshot builds and
// reconciles each phase took. The scale harness (test/, on the local cluster) is the
// real benchmark.
var _ = Describe("Proxy reconciler at scale", Label("scale"), func() {
	It("converges and rolls out a weight change", func() {
		n, _ := strconv.Atoi(os.Getenv("MIZZEN_PROXY_SCALE"))
		if n == 0 {
			Skip("set MIZZEN_PROXY_SCALE=<pods> to run")
		}
		const services = 10
		ns := meshNamespace("scale-", true)
		for s := range services {
			name := fmt.Sprintf("svc-%d", s)
			Expect(k8sClient.Create(ctx, &corev1.Service{
				ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
				Spec:       corev1.ServiceSpec{Selector: map[string]string{"app": name}, Ports: []corev1.ServicePort{{Name: "http", Port: 80}}},
			})).To(Succeed())
		}
		start := time.Now()
		writes0, builds0, rec0 := configWrites(), counter("mizzen_mesh_snapshot_builds_total", nil), proxyReconciles()
		renders := func() float64 { return counter("mizzen_proxy_config_renders_total", nil) }
		renders0 := renders()
		endpoints := make([][]discoveryv1.Endpoint, services)
		for i := range n {
			s := i % services
			ip := fmt.Sprintf("10.2.%d.%d", i/250, i%250+1)
			version := "v1"
			if i%2 == 1 {
				version = "v2"
			}
			p := runningPod(ns, fmt.Sprintf("pod-%d", i), ip, map[string]string{"app": fmt.Sprintf("svc-%d", s), "version": version})
			endpoints[s] = append(endpoints[s], discoveryv1.Endpoint{Addresses: []string{ip}, Conditions: discoveryv1.EndpointConditions{Ready: ptr(true)},
				TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: p.Name}})
		}
		for s := range services {
			Expect(k8sClient.Create(ctx, &discoveryv1.EndpointSlice{
				ObjectMeta:  metav1.ObjectMeta{Name: fmt.Sprintf("svc-%d-x", s), Namespace: ns, Labels: map[string]string{discoveryv1.LabelServiceName: fmt.Sprintf("svc-%d", s)}},
				AddressType: discoveryv1.AddressTypeIPv4, Endpoints: endpoints[s],
				Ports: []discoveryv1.EndpointPort{{Name: ptr("http"), Port: ptr[int32](80)}},
			})).To(Succeed())
		}
		created := time.Since(start)
		// hashes waits until every pod carries the hash of its ConfigMaps and returns them by pod.
		hashes := func(changedFrom map[string]string) map[string]string {
			out := map[string]string{}
			Eventually(func(g Gomega) {
				pods := &corev1.PodList{}
				g.Expect(k8sClient.List(ctx, pods, client.InNamespace(ns))).To(Succeed())
				cms := &corev1.ConfigMapList{}
				g.Expect(k8sClient.List(ctx, cms, client.InNamespace(ns))).To(Succeed())
				byName := map[string]string{}
				for _, cm := range cms.Items {
					byName[cm.Name] = cm.Annotations[envoy.HashAnnotation]
				}
				g.Expect(pods.Items).To(HaveLen(n))
				for _, p := range pods.Items {
					h := p.Annotations[envoy.HashAnnotation]
					g.Expect(h).NotTo(BeEmpty())
					id := p.Annotations["mizzen.dev/proxy-id"]
					g.Expect(envoy.StampOf(byName[envoy.ClustersConfigMapName(id)], byName[envoy.ConfigMapName(id)])).To(Equal(h))
					if changedFrom != nil {
						g.Expect(h).NotTo(Equal(changedFrom[p.Name]))
					}
					out[p.Name] = h
				}
			}).WithTimeout(5 * time.Minute).WithPolling(250 * time.Millisecond).Should(Succeed())
			return out
		}
		first := hashes(nil)
		AddReportEntry("converged", fmt.Sprintf("%d pods, %d services: %s after the first create (creating took %s); %v config writes, %v snapshot builds, %v reconciles, %v renders",
			n, services, time.Since(start).Round(time.Millisecond), created.Round(time.Millisecond),
			configWrites()-writes0, counter("mizzen_mesh_snapshot_builds_total", nil)-builds0, proxyReconciles()-rec0, renders()-renders0))

		writes0, builds0, rec0, renders0 = configWrites(), counter("mizzen_mesh_snapshot_builds_total", nil), proxyReconciles(), renders()
		bytes0 := counter("mizzen_proxy_config_written_bytes_total", nil)
		start = time.Now()
		Expect(k8sClient.Create(ctx, fromYAML(&v1.DestinationRule{}, ns, `
metadata: {name: svc-0}
spec: {host: svc-0, subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]}`))).To(Succeed())
		Expect(k8sClient.Create(ctx, fromYAML(&v1.VirtualService{}, ns, `
metadata: {name: svc-0}
spec:
  hosts: [svc-0]
  http:
  - route:
    - {destination: {host: svc-0, subset: v1}, weight: 90}
    - {destination: {host: svc-0, subset: v2}, weight: 10}`))).To(Succeed())
		hashes(first)
		AddReportEntry("rolled out", fmt.Sprintf("DR + 90/10 VS to %d pods: %s; %v config writes (%.0f KiB), %v snapshot builds, %v reconciles, %v renders",
			n, time.Since(start).Round(time.Millisecond), configWrites()-writes0,
			(counter("mizzen_proxy_config_written_bytes_total", nil)-bytes0)/1024, counter("mizzen_mesh_snapshot_builds_total", nil)-builds0, proxyReconciles()-rec0,
			renders()-renders0))
	})
})
