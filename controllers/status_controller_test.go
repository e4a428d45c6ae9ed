package controllers

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	v1 "github.com/mizzen-mesh/mizzen/api/v1alpha1"
)

func newNamespace() string {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "status-"}}
	Expect(k8sClient.Create(ctx, ns)).To(Succeed())
	return ns.Name
}

// fromYAML fills obj from a manifest, so specs read as users write them.
func fromYAML[T client.Object](obj T, namespace, manifest string) T {
	Expect(yaml.UnmarshalStrict([]byte(manifest), obj)).To(Succeed())
	obj.SetNamespace(namespace)
	return obj
}

// accepted returns the object's Accepted condition once the reconciler has observed its current
// generation, or nil before.
func accepted(obj client.Object, conditions func() []metav1.Condition) func(Gomega) *metav1.Condition {
	return func(g Gomega) *metav1.Condition {
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(obj), obj)).To(Succeed())
		c := meta.FindStatusCondition(conditions(), v1.ConditionAccepted)
		if c == nil || c.ObservedGeneration != obj.GetGeneration() {
			return nil
		}
		return c
	}
}

var _ = Describe("Accepted status", func() {
	It("accepts a valid VirtualService and stamps the generation it describes", func() {
		ns := newNamespace()
		vs := fromYAML(&v1.VirtualService{}, ns, `
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - route:
    - {destination: {host: reviews, subset: v1}, weight: 90}
    - {destination: {host: reviews, subset: v2}, weight: 10}`)
		Expect(k8sClient.Create(ctx, vs)).To(Succeed())

		Eventually(accepted(vs, func() []metav1.Condition { return vs.Status.Conditions })).Should(And(
			Not(BeNil()),
			HaveField("Status", metav1.ConditionTrue),
			HaveField("Reason", v1.ReasonAccepted),
		))
		Expect(vs.Status.ObservedGeneration).To(Equal(vs.Generation))
	})

	It("rejects a spec that passes the schema but breaks a rule, names the field, records an event, and recovers when fixed", func() {
		ns := newNamespace()
		vs := fromYAML(&v1.VirtualService{}, ns, `
metadata: {name: bad-regex}
spec:
  hosts: [reviews]
  http:
  - match: [{uri: {regex: "(unclosed"}}]
    route: [{destination: {host: reviews}}]`)
		Expect(k8sClient.Create(ctx, vs)).To(Succeed())

		Eventually(accepted(vs, func() []metav1.Condition { return vs.Status.Conditions })).Should(And(
			Not(BeNil()),
			HaveField("Status", metav1.ConditionFalse),
			HaveField("Reason", v1.ReasonInvalid),
			HaveField("Message", And(ContainSubstring("spec.http[0].match[0].uri.regex"), ContainSubstring("InvalidRegex"))),
		))

		Eventually(func(g Gomega) []string {
			var list eventsv1.EventList
			g.Expect(k8sClient.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
			var notes []string
			for _, e := range list.Items {
				if e.Regarding.Name == vs.Name && e.Type == corev1.EventTypeWarning && e.Reason == v1.ReasonInvalid {
					notes = append(notes, e.Note)
				}
			}
			return notes
		}).Should(ContainElement(ContainSubstring("spec.http[0].match[0].uri.regex")))

		update(vs, func(vs *v1.VirtualService) { vs.Spec.HTTP[0].Match[0].URI.Regex = ptr("/api/v[0-9]+/.*") })
		Eventually(accepted(vs, func() []metav1.Condition { return vs.Status.Conditions })).Should(And(
			Not(BeNil()),
			HaveField("Status", metav1.ConditionTrue),
		))
	})

	It("reports a DestinationRule's subsets and a broken rule in it", func() {
		ns := newNamespace()
		dr := fromYAML(&v1.DestinationRule{}, ns, `
metadata: {name: reviews}
spec:
  host: reviews
  trafficPolicy:
    loadBalancer:
      consistentHash: {maglev: {tableSize: 65536}, httpHeaderName: x-user}
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}`)
		Expect(k8sClient.Create(ctx, dr)).To(Succeed())
		Eventually(accepted(dr, func() []metav1.Condition { return dr.Status.Conditions })).Should(And(
			Not(BeNil()),
			HaveField("Status", metav1.ConditionFalse),
			HaveField("Message", ContainSubstring("tableSize")),
		))
		Expect(dr.Status.SubsetsSummary).To(Equal("v1,v2"))
	})

	It("accepts a Gateway and summarises its servers for the printer column", func() {
		ns := newNamespace()
		gw := fromYAML(&v1.Gateway{}, ns, `
metadata: {name: ingress}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*"]
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: ["*"]
    tls: {mode: SIMPLE, credentialName: ingress-cert}`)
		Expect(k8sClient.Create(ctx, gw)).To(Succeed())
		Eventually(accepted(gw, func() []metav1.Condition { return gw.Status.Conditions })).Should(And(
			Not(BeNil()),
			HaveField("Status", metav1.ConditionTrue),
		))
		Expect(gw.Status.ServersSummary).To(Equal("HTTP/80,HTTPS/443"))
	})
})

func ptr[T any](v T) *T { return &v }
