package controllers

import (
	"strings"
	"time"

	certmanagerv1 "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	v1 "github.com/mizzen-mesh/mizzen/api/v1alpha1"
	"github.com/mizzen-mesh/mizzen/internal/envoy"
	"github.com/mizzen-mesh/mizzen/internal/mesh"
)

// meshNamespace creates a namespace, labelled into the mesh when meshed.
func meshNamespace(prefix string, meshed bool) string {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix}}
	if meshed {
		ns.Labels = map[string]string{MeshLabel: MeshLabelEnabled}
	}
	Expect(k8sClient.Create(ctx, ns)).To(Succeed())
	return ns.Name
}

// runningPod creates a pod already scheduled on a node and gives it an IP through the status
// subresource, as the kubelet would.
func runningPod(ns, name, ip string, labels map[string]string) *corev1.Pod {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
		Spec: corev1.PodSpec{
			NodeName:           "node-1",
			ServiceAccountName: "reviews",
			Containers:         []corev1.Container{{Name: "app", Image: "example.com/reviews:1", Ports: []corev1.ContainerPort{{ContainerPort: 9080}}}},
		},
	}
	Expect(k8sClient.Create(ctx, pod)).To(Succeed())
	// The reconciler may be patching the pod (its proxy id) at the same time: retry on conflicts.
	Eventually(func() error {
		if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(pod), pod); err != nil {
			return err
		}
		pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}}}
		return k8sClient.Status().Update(ctx, pod)
	}).Should(Succeed())
	return pod
}

// proxyID waits for the pod's proxy id.
func proxyID(pod *corev1.Pod) string {
	var id string
	Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(pod), pod)).To(Succeed())
		id = pod.Annotations[mesh.ProxyIDAnnotation]
		g.Expect(id).NotTo(BeEmpty())
	}).Should(Succeed())
	return id
}

// proxyFiles is a proxy's config as its pod mounts it: its two ConfigMaps and their files merged.
type proxyFiles struct {
	main, clusters *corev1.ConfigMap
	Data           map[string]string
	// Hash is the one stamped on the pod.
	Hash string
}

func (f *proxyFiles) resourceVersions() []string {
	return []string{f.main.ResourceVersion, f.clusters.ResourceVersion}
}

// proxyConfig waits until the pod's ConfigMaps exist, each with the hash of its data, and the
// pod carries the hash of both; it returns them.
func proxyConfig(pod *corev1.Pod) *proxyFiles {
	id := proxyID(pod)
	f := &proxyFiles{main: &corev1.ConfigMap{}, clusters: &corev1.ConfigMap{}}
	Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: pod.Namespace, Name: "mizzen-proxy-" + id}, f.main)).To(Succeed())
		g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: pod.Namespace, Name: "mizzen-proxy-" + id + "-clusters"}, f.clusters)).To(Succeed())
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(pod), pod)).To(Succeed())
		for _, cm := range []*corev1.ConfigMap{f.main, f.clusters} {
			g.Expect(cm.Annotations).To(HaveKeyWithValue(envoy.HashAnnotation, envoy.HashOf(cm.Data)), "ConfigMap %s", cm.Name)
		}
		f.Data = envoy.Merge(f.main.Data, f.clusters.Data)
		f.Hash = envoy.StampOf(f.clusters.Annotations[envoy.HashAnnotation], f.main.Annotations[envoy.HashAnnotation])
		g.Expect(pod.Annotations).To(HaveKeyWithValue(envoy.HashAnnotation, f.Hash))
	}).Should(Succeed())
	return f
}

// counter sums a counter (or a gauge) of the manager's metrics registry over the series whose
// labels include the given ones.
func counter(name string, labels map[string]string) float64 {
	families, err := metrics.Registry.Gather()
	Expect(err).NotTo(HaveOccurred())
	sum := 0.0
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			for k, v := range labels {
				if !hasLabel(m, k, v) {
					continue series
				}
			}
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return sum
}

func hasLabel(m *dto.Metric, k, v string) bool {
	for _, l := range m.GetLabel() {
		if l.GetName() == k && l.GetValue() == v {
			return true
		}
	}
	return false
}

func proxyReconciles() float64 {
	return counter("controller_runtime_reconcile_total", map[string]string{"controller": "proxy"})
}

func configWrites() float64 { return counter("mizzen_proxy_config_writes_total", nil) }

// resourceVersions of the ConfigMaps and Certificates Mizzen wrote in a namespace.
func resourceVersions(ns string) map[string]string {
	out := map[string]string{}
	cms := &corev1.ConfigMapList{}
	Expect(k8sClient.List(ctx, cms, client.InNamespace(ns), client.MatchingLabels{"app.kubernetes.io/managed-by": "mizzen"})).To(Succeed())
	for _, cm := range cms.Items {
		out["ConfigMap "+cm.Name] = cm.ResourceVersion
	}
	certs := &certmanagerv1.CertificateList{}
	Expect(k8sClient.List(ctx, certs, client.InNamespace(ns))).To(Succeed())
	for _, c := range certs.Items {
		out["Certificate "+c.Name] = c.ResourceVersion
	}
	return out
}

var _ = Describe("Proxy reconciler", Ordered, func() {
	var (
		ns             string
		v1Pod, v2Pod   *corev1.Pod
		before         map[string]*proxyFiles
		reviewsCluster func(subset string) string
	)

	BeforeAll(func() {
		ns = meshNamespace("proxy-", true)
		reviewsCluster = func(subset string) string { return "outbound|9080|" + subset + "|reviews." + ns + ".svc.cluster.local" }
		svc := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "reviews", Namespace: ns},
			Spec: corev1.ServiceSpec{
				Selector: map[string]string{"app": "reviews"},
				Ports:    []corev1.ServicePort{{Name: "http", Port: 9080}},
			},
		}
		Expect(k8sClient.Create(ctx, svc)).To(Succeed())
		v1Pod = runningPod(ns, "reviews-v1", "10.1.0.11", map[string]string{"app": "reviews", "version": "v1"})
		v2Pod = runningPod(ns, "reviews-v2", "10.1.0.12", map[string]string{"app": "reviews", "version": "v2"})
		endpoint := func(p *corev1.Pod) discoveryv1.Endpoint {
			return discoveryv1.Endpoint{
				Addresses:  []string{p.Status.PodIP},
				Conditions: discoveryv1.EndpointConditions{Ready: ptr(true)},
				NodeName:   ptr("node-1"),
				TargetRef:  &corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: p.Name, UID: p.UID},
			}
		}
		Expect(k8sClient.Create(ctx, &discoveryv1.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Name: "reviews-abcde", Namespace: ns, Labels: map[string]string{discoveryv1.LabelServiceName: "reviews"}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Endpoints:   []discoveryv1.Endpoint{endpoint(v1Pod), endpoint(v2Pod)},
			Ports:       []discoveryv1.EndpointPort{{Name: ptr("http"), Port: ptr[int32](9080)}},
		})).To(Succeed())
	})

	It("gives each meshed pod a proxy id, its ConfigMap and its Certificate, owned by the pod", func() {
		before = map[string]*proxyFiles{}
		for _, pod := range []*corev1.Pod{v1Pod, v2Pod} {
			cfg := proxyConfig(pod)
			id := pod.Annotations[mesh.ProxyIDAnnotation]
			Expect(cfg.Data).To(HaveLen(5))
			Expect(cfg.clusters.Data).To(HaveLen(1))
			Expect(cfg.clusters.Data).To(HaveKey("cds.yaml"))
			Expect(cfg.main.Data).To(And(HaveKey("envoy.yaml"), HaveKey("lds.yaml"),
				HaveKey("sds-default.yaml"), HaveKey("sds-rootca.yaml")))
			Expect(cfg.Data["envoy.yaml"]).To(ContainSubstring("id: " + id))
			Expect(cfg.Data["cds.yaml"]).To(ContainSubstring(reviewsCluster("")))
			// The inbound listener: the pod's IP and port are known.
			Expect(cfg.Data["lds.yaml"]).To(ContainSubstring("virtualInbound"))
			for _, data := range cfg.Data {
				Expect(data).NotTo(ContainSubstring("PRIVATE KEY"))
			}
			for _, cm := range []*corev1.ConfigMap{cfg.main, cfg.clusters} {
				Expect(cm.Labels).To(HaveKeyWithValue("app.kubernetes.io/managed-by", "mizzen"))
				Expect(cm.OwnerReferences).To(ConsistOf(And(
					HaveField("Kind", "Pod"), HaveField("Name", pod.Name), HaveField("UID", pod.UID), HaveField("Controller", ptr(true)))))
			}
			before[pod.Name] = cfg

			cert := &certmanagerv1.Certificate{}
			Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "mizzen-proxy-" + id}, cert)).To(Succeed())
			Expect(cert.Spec.SecretName).To(Equal("mizzen-proxy-" + id))
			Expect(cert.Spec.URIs).To(Equal([]string{"spiffe://cluster.local/ns/" + ns + "/sa/reviews"}))
			Expect(cert.Spec.DNSNames).To(BeEmpty())
			Expect(cert.Spec.IssuerRef.Kind).To(Equal("ClusterIssuer"))
			Expect(cert.Spec.IssuerRef.Name).To(Equal("mizzen-mesh-ca"))
			Expect(cert.Spec.PrivateKey.Algorithm).To(Equal(certmanagerv1.ECDSAKeyAlgorithm))
			Expect(cert.Spec.PrivateKey.Size).To(Equal(256))
			Expect(cert.Spec.Usages).To(ContainElements(certmanagerv1.UsageServerAuth, certmanagerv1.UsageClientAuth))
			Expect(cert.OwnerReferences).To(ConsistOf(And(HaveField("Kind", "Pod"), HaveField("UID", pod.UID))))
		}
		Expect(v1Pod.Annotations[mesh.ProxyIDAnnotation]).NotTo(Equal(v2Pod.Annotations[mesh.ProxyIDAnnotation]))
	})

	It("gives nothing to a pod of an unmeshed namespace or an opted-out pod", func() {
		plain := meshNamespace("plain-", false)
		outside := runningPod(plain, "outside", "10.1.0.21", map[string]string{"app": "outside"})
		optedOut := runningPod(ns, "opted-out", "10.1.0.22", map[string]string{"app": "batch", ProxyLabel: ProxyLabelDisabled})
		// A meshed pod created after them: once it has its config, the others have been seen.
		marker := runningPod(ns, "marker", "10.1.0.23", map[string]string{"app": "marker"})
		proxyConfig(marker)
		Consistently(func(g Gomega) {
			for _, p := range []*corev1.Pod{outside, optedOut} {
				g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(p), p)).To(Succeed())
				g.Expect(p.Annotations).NotTo(HaveKey(mesh.ProxyIDAnnotation))
				g.Expect(p.Annotations).NotTo(HaveKey(envoy.HashAnnotation))
			}
			g.Expect(resourceVersions(plain)).To(BeEmpty())
			g.Expect(resourceVersions(ns)).To(HaveLen(9)) // reviews-v1, reviews-v2, marker: two ConfigMaps and one Certificate each
		}, 2*time.Second).Should(Succeed())
		Expect(k8sClient.Delete(ctx, marker)).To(Succeed())
	})

	It("rewrites the pods' ConfigMaps and hashes when a 90/10 VirtualService and its DestinationRule arrive", func() {
		dr := fromYAML(&v1.DestinationRule{}, ns, `
metadata: {name: reviews}
spec:
  host: reviews
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}`)
		Expect(k8sClient.Create(ctx, dr)).To(Succeed())
		vs := fromYAML(&v1.VirtualService{}, ns, `
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - route:
    - {destination: {host: reviews, subset: v1}, weight: 90}
    - {destination: {host: reviews, subset: v2}, weight: 10}`)
		Expect(k8sClient.Create(ctx, vs)).To(Succeed())

		for _, pod := range []*corev1.Pod{v1Pod, v2Pod} {
			var cm *proxyFiles
			Eventually(func(g Gomega) {
				cm = proxyConfig(pod)
				g.Expect(cm.Data["lds.yaml"]).To(ContainSubstring(reviewsCluster("v1")))
			}).Should(Succeed())
			Expect(cm.Hash).NotTo(Equal(before[pod.Name].Hash))
			Expect(cm.Data["lds.yaml"]).To(And(
				MatchRegexp(`- name: `+strings.ReplaceAll(reviewsCluster("v1"), "|", `\|`)+`\s+weight: 90`),
				MatchRegexp(`- name: `+strings.ReplaceAll(reviewsCluster("v2"), "|", `\|`)+`\s+weight: 10`)))
			Expect(cm.Data["cds.yaml"]).To(And(ContainSubstring(reviewsCluster("v1")), ContainSubstring(reviewsCluster("v2"))))
			before[pod.Name] = cm
		}
	})

	It("writes nothing when a change leaves every proxy's config as it was", func() {
		rvs := resourceVersions(ns)
		writes, reconciles := configWrites(), proxyReconciles()
		// A Service annotation no proxy config depends on: every proxy is reconciled again.
		svc := &corev1.Service{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "reviews"}, svc)).To(Succeed())
		svc.Annotations = map[string]string{"example.com/touched": "yes"}
		Expect(k8sClient.Update(ctx, svc)).To(Succeed())
		Eventually(proxyReconciles).Should(BeNumerically(">=", reconciles+2))
		Consistently(func(g Gomega) {
			g.Expect(resourceVersions(ns)).To(Equal(rvs))
			g.Expect(configWrites()).To(Equal(writes))
		}, 2*time.Second).Should(Succeed())
	})

	It("keeps every ConfigMap unchanged when the VirtualService becomes invalid", func() {
		rvs := resourceVersions(ns)
		writes, reconciles := configWrites(), proxyReconciles()
		vs := &v1.VirtualService{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "reviews"}}
		update(vs, func(vs *v1.VirtualService) {
			// Passes the schema, fails internal/validate (no webhook in this suite to refuse it).
			vs.Spec.HTTP[0].Match = []v1.HTTPMatchRequest{{URI: &v1.StringMatch{Regex: ptr("(unclosed")}}}
			vs.Spec.HTTP[0].Route[0].Weight, vs.Spec.HTTP[0].Route[1].Weight = 50, 50
		})

		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(vs), vs)).To(Succeed())
			c := meta.FindStatusCondition(vs.Status.Conditions, v1.ConditionAccepted)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.ObservedGeneration).To(Equal(vs.Generation))
			g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
		}).Should(Succeed())
		Eventually(proxyReconciles).Should(BeNumerically(">=", reconciles+2))
		Consistently(func(g Gomega) {
			g.Expect(resourceVersions(ns)).To(Equal(rvs))
			g.Expect(configWrites()).To(Equal(writes))
		}, 2*time.Second).Should(Succeed())
		for _, pod := range []*corev1.Pod{v1Pod, v2Pod} {
			cm := proxyConfig(pod)
			Expect(cm.Data).To(Equal(before[pod.Name].Data))
		}
	})

	It("rolls out the VirtualService once it is fixed", func() {
		vs := &v1.VirtualService{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "reviews"}}
		update(vs, func(vs *v1.VirtualService) {
			vs.Spec.HTTP[0].Match = nil
			vs.Spec.HTTP[0].Route[0].Weight, vs.Spec.HTTP[0].Route[1].Weight = 50, 50
		})
		for _, pod := range []*corev1.Pod{v1Pod, v2Pod} {
			Eventually(func(g Gomega) {
				cm := proxyConfig(pod)
				g.Expect(cm.Data["lds.yaml"]).To(MatchRegexp(`- name: ` + strings.ReplaceAll(reviewsCluster("v2"), "|", `\|`) + `\s+weight: 50`))
				// A weight change rewrites the routes, not the clusters and their endpoints.
				g.Expect(cm.clusters.ResourceVersion).To(Equal(before[pod.Name].clusters.ResourceVersion))
				before[pod.Name] = cm
			}).Should(Succeed())
		}
	})

	It("puts back a ConfigMap someone deleted", func() {
		for _, cm := range []*corev1.ConfigMap{before[v1Pod.Name].main, before[v1Pod.Name].clusters} {
			Expect(k8sClient.Delete(ctx, cm)).To(Succeed())
			Eventually(func(g Gomega) {
				got := &corev1.ConfigMap{}
				g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(cm), got)).To(Succeed())
				g.Expect(got.UID).NotTo(Equal(cm.UID))
				g.Expect(got.Data).To(Equal(cm.Data))
			}).Should(Succeed())
		}
	})
})

var _ = Describe("Proxy reconciler for gateway pods", func() {
	It("configures a pod a Gateway selects as a gateway proxy, even outside meshed namespaces", func() {
		ns := meshNamespace("ingress-", false)
		gw := fromYAML(&v1.Gateway{}, ns, `
metadata: {name: ingress}
spec:
  selector: {istio: ingressgateway-e2e}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*"]`)
		Expect(k8sClient.Create(ctx, gw)).To(Succeed())
		pod := runningPod(ns, "ingress", "10.1.0.31", map[string]string{"istio": "ingressgateway-e2e"})
		cm := proxyConfig(pod)
		Expect(cm.Data["envoy.yaml"]).To(MatchRegexp(`PROXY_KIND:\s+Gateway`))
		Expect(cm.Data["lds.yaml"]).NotTo(ContainSubstring("virtualOutbound"))
	})
})

var _ = Describe("Proxy reconciler with scoped proxies", func() {
	It("rolls a VirtualService out to the scoped proxies whose egress hosts see its host", func() {
		a, b := meshNamespace("scope-a-", true), meshNamespace("scope-b-", true)
		svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: a},
			Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"}, Ports: []corev1.ServicePort{{Name: "http", Port: 80}}}}
		Expect(k8sClient.Create(ctx, svc)).To(Succeed())
		webPod := runningPod(a, "web", "10.1.3.1", map[string]string{"app": "web"})
		// Pods get their egress scope at creation (the annotation is read from the pod).
		scoped := func(name, egress string) *corev1.Pod {
			p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: b, Labels: map[string]string{"app": name},
				Annotations: map[string]string{mesh.EgressHostsAnnotation: egress}},
				Spec: corev1.PodSpec{NodeName: "node-1", Containers: []corev1.Container{{Name: "app", Image: "example.com/app:1"}}}}
			Expect(k8sClient.Create(ctx, p)).To(Succeed())
			return p
		}
		sees := scoped("sees", a+"/*")
		blind := scoped("blind", "./*")
		Expect(proxyConfig(sees).Data["cds.yaml"]).To(ContainSubstring("web." + a + ".svc.cluster.local"))
		Expect(proxyConfig(blind).Data["cds.yaml"]).NotTo(ContainSubstring("web." + a + ".svc.cluster.local"))

		vs := fromYAML(&v1.VirtualService{}, a, `
metadata: {name: web}
spec:
  hosts: [web]
  http:
  - route:
    - destination: {host: web}
    timeout: 7s`)
		Expect(k8sClient.Create(ctx, vs)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(proxyConfig(sees).Data["lds.yaml"]).To(ContainSubstring("timeout: 7s"))
		}).Should(Succeed())
		Expect(proxyConfig(blind).Data["lds.yaml"]).NotTo(ContainSubstring("timeout: 7s"))
		// Ready counts the proxies it shapes: the web pod's own sidecar, the one that sees it, and
		// the unscoped sidecars other specs left in the mesh.
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(vs), vs)).To(Succeed())
			ready := meta.FindStatusCondition(vs.Status.Conditions, v1.ConditionReady)
			g.Expect(ready).NotTo(BeNil())
			g.Expect(ready.Status).To(Equal(metav1.ConditionTrue), ready.Message)
			g.Expect(ready.ObservedGeneration).To(Equal(vs.Generation))
		}).Should(Succeed())
		Expect(vs.Status.Canary).NotTo(BeNil())
		Expect(vs.Status.Canary.Proxies.Total).To(BeNumerically(">=", 2))
		Expect(vs.Status.Canary.Proxies.Updated).To(Equal(vs.Status.Canary.Proxies.Total))

		// A blind proxy that a rule of its namespace routes to web gets web's cluster, and web's
		// endpoints reach it as they reach the proxy that sees web (scope_test: and no other).
		routed := scoped("routed", "./*")
		Expect(k8sClient.Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "front", Namespace: b},
			Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "front"}, Ports: []corev1.ServicePort{{Name: "http", Port: 80}}}})).To(Succeed())
		front := fromYAML(&v1.VirtualService{}, b, `
metadata: {name: front}
spec:
  hosts: [front]
  exportTo: ["."]
  http:
  - match: [{headers: {x-routed: {exact: "1"}}}]
    route:
    - destination: {host: web.`+a+`.svc.cluster.local}`)
		Expect(k8sClient.Create(ctx, front)).To(Succeed())
		webCluster := "outbound|80||web." + a + ".svc.cluster.local"
		Eventually(func(g Gomega) {
			g.Expect(proxyConfig(routed).Data["cds.yaml"]).To(ContainSubstring(webCluster))
		}).Should(Succeed())
		Expect(proxyConfig(routed).Data["cds.yaml"]).NotTo(ContainSubstring(webPod.Status.PodIP))
		Expect(k8sClient.Create(ctx, &discoveryv1.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Name: "web-1", Namespace: a, Labels: map[string]string{discoveryv1.LabelServiceName: "web"}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Endpoints: []discoveryv1.Endpoint{{Addresses: []string{webPod.Status.PodIP}, Conditions: discoveryv1.EndpointConditions{Ready: ptr(true)},
				TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: a, Name: webPod.Name, UID: webPod.UID}}},
			Ports: []discoveryv1.EndpointPort{{Name: ptr("http"), Port: ptr[int32](80)}},
		})).To(Succeed())
		for _, p := range []*corev1.Pod{sees, routed} {
			Eventually(func(g Gomega) {
				g.Expect(proxyConfig(p).Data["cds.yaml"]).To(ContainSubstring(webPod.Status.PodIP), p.Name)
			}).Should(Succeed())
		}
	})
})
