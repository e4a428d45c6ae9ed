package controllers

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/mizzen-mesh/mizzen/api/v1alpha1"
	"github.com/mizzen-mesh/mizzen/internal/mesh"
)

// condition reads one condition of obj once the status reconciler has observed its current
// generation (status.observedGeneration and the condition's own), or fails the attempt.
func condition(g Gomega, obj client.Object, conditions func() []metav1.Condition, typ string) metav1.Condition {
	g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(obj), obj)).To(Succeed())
	c := meta.FindStatusCondition(conditions(), typ)
	g.Expect(c).NotTo(BeNil(), "condition %s", typ)
	g.Expect(c.ObservedGeneration).To(Equal(obj.GetGeneration()), "condition %s describes an older generation", typ)
	return *c
}

// endpointSlice publishes the pods as ready endpoints of a service's port 9080.
func endpointSlice(ns, service string, pods ...*corev1.Pod) *discoveryv1.EndpointSlice {
	es := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: service + "-slice", Namespace: ns, Labels: map[string]string{discoveryv1.LabelServiceName: service}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr("http"), Port: ptr[int32](9080)}},
	}
	for _, p := range pods {
		es.Endpoints = append(es.Endpoints, discoveryv1.Endpoint{
			Addresses:  []string{p.Status.PodIP},
			Conditions: discoveryv1.EndpointConditions{Ready: ptr(true)},
			NodeName:   ptr("node-1"),
			TargetRef:  &corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: p.Name, UID: p.UID},
		})
	}
	return es
}

// update changes obj with mutate and writes it, retrying on conflicts with the status writers.
func update[T client.Object](obj T, mutate func(T)) {
	Eventually(func() error {
		if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			return err
		}
		mutate(obj)
		return k8sClient.Update(ctx, obj)
	}).Should(Succeed())
}

func service(ns, name string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": name},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 9080}},
		},
	}
}

var _ = Describe("Rollout status", Ordered, func() {
	var (
		ns      string
		vs      *v1.VirtualService
		dr      *v1.DestinationRule
		vsConds = func() []metav1.Condition { return vs.Status.Conditions }
		drConds = func() []metav1.Condition { return dr.Status.Conditions }
	)

	BeforeAll(func() {
		ns = meshNamespace("rollout-", true)
		Expect(k8sClient.Create(ctx, service(ns, "reviews"))).To(Succeed())
		pods := []*corev1.Pod{
			runningPod(ns, "reviews-v1-a", "10.2.0.11", map[string]string{"app": "reviews", "version": "v1"}),
			runningPod(ns, "reviews-v1-b", "10.2.0.12", map[string]string{"app": "reviews", "version": "v1"}),
			runningPod(ns, "reviews-v2-a", "10.2.0.13", map[string]string{"app": "reviews", "version": "v2"}),
		}
		runningPod(ns, "productpage", "10.2.0.14", map[string]string{"app": "productpage"})
		Expect(k8sClient.Create(ctx, endpointSlice(ns, "reviews", pods...))).To(Succeed())
	})

	It("counts the pods of each DestinationRule subset and says which subset selects none", func() {
		dr = fromYAML(&v1.DestinationRule{}, ns, `
metadata: {name: reviews}
spec:
  host: reviews
  exportTo: ["."] # pods of other specs' namespaces see the service too: count this namespace's
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
  - {name: v3, labels: {version: v3}}`)
		Expect(k8sClient.Create(ctx, dr)).To(Succeed())
		Eventually(func(g Gomega) {
			refs := condition(g, dr, drConds, v1.ConditionResolvedRefs)
			g.Expect(refs.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(refs.Reason).To(Equal(v1.ReasonNoMatchingPods))
			g.Expect(refs.Message).To(ContainSubstring("subset v3 selects no ready pod"))
			g.Expect(dr.Status.Subsets).To(Equal([]v1.SubsetStatus{{Name: "v1", Pods: 2}, {Name: "v2", Pods: 1}, {Name: "v3", Pods: 0}}))
			ready := condition(g, dr, drConds, v1.ConditionReady)
			g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(ready.Reason).To(Equal(v1.ReasonRefsNotResolved))
		}).Should(Succeed())
	})

	It("turns the DestinationRule Ready once the empty subset is gone, with every proxy counted", func() {
		update(dr, func(dr *v1.DestinationRule) { dr.Spec.Subsets = dr.Spec.Subsets[:2] })
		Eventually(func(g Gomega) {
			ready := condition(g, dr, drConds, v1.ConditionReady)
			g.Expect(ready.Status).To(Equal(metav1.ConditionTrue), ready.Message)
			g.Expect(dr.Status.Proxies).To(Equal(&v1.ProxyCounts{Total: 4, Updated: 4}))
			g.Expect(dr.Status.UpdatedSummary).To(Equal("4/4"))
		}).Should(Succeed())
	})

	It("reports a 90/10 VirtualService Ready once every proxy carries it, with its weights", func() {
		vs = fromYAML(&v1.VirtualService{}, ns, `
metadata: {name: reviews}
spec:
  hosts: [reviews]
  exportTo: ["."]
  http:
  - match: [{headers: {end-user: {exact: jason}}}]
    route: [{destination: {host: reviews, subset: v2}}]
  - route:
    - {destination: {host: reviews, subset: v1}, weight: 90}
    - {destination: {host: reviews, subset: v2}, weight: 10}`)
		Expect(k8sClient.Create(ctx, vs)).To(Succeed())
		Eventually(func(g Gomega) {
			ready := condition(g, vs, vsConds, v1.ConditionReady)
			g.Expect(ready.Status).To(Equal(metav1.ConditionTrue), ready.Message)
			g.Expect(ready.Message).To(Equal("4/4 proxies carry generation 1"))
			g.Expect(condition(g, vs, vsConds, v1.ConditionProgressing).Reason).To(Equal(v1.ReasonRolledOut))
			g.Expect(condition(g, vs, vsConds, v1.ConditionResolvedRefs).Status).To(Equal(metav1.ConditionTrue))
			g.Expect(vs.Status.Canary).NotTo(BeNil())
			g.Expect(vs.Status.Canary.Weights).To(Equal(map[string]int32{"reviews:v1": 90, "reviews:v2": 10}))
			g.Expect(vs.Status.Canary.WeightsSummary).To(Equal("reviews:v1=90 reviews:v2=10"))
			g.Expect(vs.Status.Canary.Proxies).To(Equal(v1.ProxyCounts{Total: 4, Updated: 4}))
			// What a restarted manager keeps proxies on while a later generation is refused.
			g.Expect(vs.Status.RolledOut).NotTo(BeNil())
			g.Expect(vs.Status.RolledOut.Generation).To(Equal(vs.Generation))
			g.Expect(string(vs.Status.RolledOut.Spec.Raw)).To(ContainSubstring(`"weight":90`))
		}).Should(Succeed())
		Expect(rolloutRatio("VirtualService", ns, "reviews")).To(Equal(1.0))
	})

	It("stays Progressing while a proxy cannot take the new weights, and turns Ready when it is gone", func() {
		// A meshed pod whose proxy id is unusable gets no config: the rollout cannot reach it.
		stuck := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "stuck", Namespace: ns, Labels: map[string]string{"app": "stuck"},
				Annotations: map[string]string{mesh.ProxyIDAnnotation: "Not_DNS_Safe"}},
			Spec: corev1.PodSpec{NodeName: "node-1", Containers: []corev1.Container{{Name: "app", Image: "example.com/stuck:1"}}},
		}
		Expect(k8sClient.Create(ctx, stuck)).To(Succeed())

		update(vs, func(vs *v1.VirtualService) { vs.Spec.HTTP[1].Route[0].Weight, vs.Spec.HTTP[1].Route[1].Weight = 50, 50 })
		Eventually(func(g Gomega) {
			progressing := condition(g, vs, vsConds, v1.ConditionProgressing)
			g.Expect(progressing.Status).To(Equal(metav1.ConditionTrue))
			g.Expect(progressing.Reason).To(Equal(v1.ReasonRollingOut))
			g.Expect(progressing.Message).To(Equal("4/5 proxies carry generation 2 (1 not yet reconciled)"))
			ready := condition(g, vs, vsConds, v1.ConditionReady)
			g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(ready.Reason).To(Equal(v1.ReasonRollingOut))
			g.Expect(vs.Status.Canary.WeightsSummary).To(Equal("reviews:v1=50 reviews:v2=50"))
			g.Expect(vs.Status.Canary.UpdatedSummary).To(Equal("4/5"))
			g.Expect(rolloutRatio("VirtualService", ns, "reviews")).To(Equal(0.8))
		}).Should(Succeed())
		Consistently(func(g Gomega) {
			g.Expect(condition(g, vs, vsConds, v1.ConditionReady).Status).To(Equal(metav1.ConditionFalse))
		}, time.Second).Should(Succeed())

		Expect(k8sClient.Delete(ctx, stuck, client.GracePeriodSeconds(0))).To(Succeed())
		Eventually(func(g Gomega) {
			ready := condition(g, vs, vsConds, v1.ConditionReady)
			g.Expect(ready.Status).To(Equal(metav1.ConditionTrue), ready.Message)
			g.Expect(vs.Status.Canary.UpdatedSummary).To(Equal("4/4"))
			g.Expect(condition(g, vs, vsConds, v1.ConditionProgressing).Status).To(Equal(metav1.ConditionFalse))
		}).Should(Succeed())
	})

	It("reports a host conflict on both VirtualServices; the older one stays Ready", func() {
		dup := fromYAML(&v1.VirtualService{}, ns, `
metadata: {name: reviews-dup}
spec:
  hosts: [reviews]
  http: [{route: [{destination: {host: reviews, subset: v1}}]}]`)
		dupConds := func() []metav1.Condition { return dup.Status.Conditions }
		Expect(k8sClient.Create(ctx, dup)).To(Succeed())
		Eventually(func(g Gomega) {
			refs := condition(g, dup, dupConds, v1.ConditionResolvedRefs)
			g.Expect(refs.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(refs.Reason).To(Equal(v1.ReasonConflictingHost))
			g.Expect(refs.Message).To(ContainSubstring("already routed by the older VirtualService " + ns + "/reviews"))
			g.Expect(condition(g, dup, dupConds, v1.ConditionConflicted).Status).To(Equal(metav1.ConditionTrue))
			g.Expect(condition(g, dup, dupConds, v1.ConditionReady).Status).To(Equal(metav1.ConditionFalse))

			conflicted := condition(g, vs, vsConds, v1.ConditionConflicted)
			g.Expect(conflicted.Status).To(Equal(metav1.ConditionTrue))
			g.Expect(conflicted.Message).To(ContainSubstring("also claimed by the newer VirtualService " + ns + "/reviews-dup"))
			g.Expect(condition(g, vs, vsConds, v1.ConditionReady).Status).To(Equal(metav1.ConditionTrue))
		}).Should(Succeed())

		Expect(k8sClient.Delete(ctx, dup)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(vs), vs)).To(Succeed())
			g.Expect(meta.FindStatusCondition(vs.Status.Conditions, v1.ConditionConflicted)).To(BeNil())
		}).Should(Succeed())
	})

	It("reports gateways that do not exist, and a Gateway without pods, then Programmed once a pod serves it", func() {
		bound := fromYAML(&v1.VirtualService{}, ns, `
metadata: {name: via-gateway}
spec:
  hosts: [bookinfo.example.com]
  gateways: [ingress]
  http: [{route: [{destination: {host: reviews, subset: v1}}]}]`)
		boundConds := func() []metav1.Condition { return bound.Status.Conditions }
		Expect(k8sClient.Create(ctx, bound)).To(Succeed())
		Eventually(func(g Gomega) {
			refs := condition(g, bound, boundConds, v1.ConditionResolvedRefs)
			g.Expect(refs.Reason).To(Equal(v1.ReasonGatewayNotFound))
			g.Expect(refs.Message).To(ContainSubstring("gateway " + ns + "/ingress does not exist"))
		}).Should(Succeed())

		gw := fromYAML(&v1.Gateway{}, ns, `
metadata: {name: ingress}
spec:
  selector: {app: rollout-ingress}
  servers: [{port: {number: 8080, name: http, protocol: HTTP}, hosts: ["*"]}]`)
		gwConds := func() []metav1.Condition { return gw.Status.Conditions }
		Expect(k8sClient.Create(ctx, gw)).To(Succeed())
		Eventually(func(g Gomega) {
			refs := condition(g, gw, gwConds, v1.ConditionResolvedRefs)
			g.Expect(refs.Reason).To(Equal(v1.ReasonNoMatchingPods))
			programmed := condition(g, gw, gwConds, v1.ConditionProgrammed)
			g.Expect(programmed.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(programmed.Reason).To(Equal(v1.ReasonNoProxies))
			g.Expect(condition(g, bound, boundConds, v1.ConditionResolvedRefs).Status).To(Equal(metav1.ConditionTrue))
		}).Should(Succeed())

		runningPod(ns, "ingress-gateway", "10.2.0.30", map[string]string{"app": "rollout-ingress"})
		Eventually(func(g Gomega) {
			programmed := condition(g, gw, gwConds, v1.ConditionProgrammed)
			g.Expect(programmed.Status).To(Equal(metav1.ConditionTrue), programmed.Message)
			g.Expect(gw.Status.UpdatedSummary).To(Equal("1/1"))
			g.Expect(condition(g, gw, gwConds, v1.ConditionReady).Status).To(Equal(metav1.ConditionTrue))
			// The gateway proxy routes by the bound rule: it is that rule's only proxy.
			ready := condition(g, bound, boundConds, v1.ConditionReady)
			g.Expect(ready.Status).To(Equal(metav1.ConditionTrue), ready.Message)
			g.Expect(bound.Status.Canary.UpdatedSummary).To(Equal("1/1"))
		}).Should(Succeed())

		// A TLS server whose credential Secret does not exist: ResolvedRefs says so, and the
		// gateway proxy keeps the config it has (the server is left out).
		gwPod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ingress-gateway"}}
		before := proxyConfig(gwPod)
		update(gw, func(gw *v1.Gateway) {
			gw.Spec.Servers = append(gw.Spec.Servers, v1.Server{
				Port:  v1.Port{Number: 8443, Name: "https", Protocol: "HTTPS"},
				Hosts: []string{"*"},
				TLS:   &v1.ServerTLSSettings{Mode: v1.ServerTLSSimple, CredentialName: "missing-cert"},
			})
		})
		Eventually(func(g Gomega) {
			refs := condition(g, gw, gwConds, v1.ConditionResolvedRefs)
			g.Expect(refs.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(refs.Reason).To(Equal(v1.ReasonSecretNotFound))
			g.Expect(refs.Message).To(ContainSubstring("missing-cert"))
			ready := condition(g, gw, gwConds, v1.ConditionReady)
			g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(ready.Reason).To(Equal(v1.ReasonRefsNotResolved))
		}).Should(Succeed())
		Consistently(func() []string { return proxyConfig(gwPod).resourceVersions() }, time.Second).Should(Equal(before.resourceVersions()))
	})
})

// rolloutRatio is the rule's mizzen_rollout_updated_ratio.
func rolloutRatio(kind, ns, name string) float64 {
	return counter("mizzen_rollout_updated_ratio", map[string]string{"kind": kind, "namespace": ns, "name": name})
}
