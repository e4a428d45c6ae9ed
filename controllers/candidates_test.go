package controllers

import (
	"slices"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/mizzen-mesh/mizzen/api/v1alpha1"
	"github.com/mizzen-mesh/mizzen/internal/envoy"
	"github.com/mizzen-mesh/mizzen/internal/mesh"
)

var _ = Describe("Rollout candidates", func() {
	It("are grouped once until a pod change that can change them, then regrouped", func() {
		ns := meshNamespace("groups-", true)
		runningPod(ns, "a", "10.9.0.1", map[string]string{"app": "a"})
		r := NewProxyReconciler(k8sClient, nil, ProxyOptions{}) // its own: reads the API server
		dr := &v1.DestinationRule{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "a"}, Spec: v1.DestinationRuleSpec{Host: "a"}}
		candidates := func() []string { return slices.Collect(r.rolloutCandidates(ctx, dr)) }

		Expect(candidates()).To(ContainElement(ns + "/a"))
		Expect(candidates()).To(ContainElement(ns + "/a"))
		Expect(r.candidates.walks).To(Equal(1), "the second count reuses the groups")

		runningPod(ns, "b", "10.9.0.2", map[string]string{"app": "b"})
		r.candidates.podsChanged() // what the pod handler does for a new pod
		Expect(candidates()).To(ContainElements(ns+"/a", ns+"/b"))
		Expect(r.candidates.walks).To(Equal(2))

		r.snapshots.invalidate() // any change the snapshot sees regroups too
		Expect(candidates()).To(ContainElements(ns+"/a", ns+"/b"))
		Expect(r.candidates.walks).To(Equal(3))
	})

	It("are regrouped for the pod updates that change them, not for the config stamp", func() {
		base := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", Labels: map[string]string{"app": "a"},
				Annotations: map[string]string{envoy.HashAnnotation: "h1"}},
			Spec: corev1.PodSpec{NodeName: "node-1"},
		}
		changed := func(edit func(*corev1.Pod)) bool {
			p := base.DeepCopy()
			edit(p)
			return candidateChanged(base, p)
		}
		Expect(changed(func(p *corev1.Pod) { p.Annotations[envoy.HashAnnotation] = "h2" })).To(BeFalse(), "the stamp")
		Expect(changed(func(p *corev1.Pod) { p.Status.PodIP = "10.0.0.9" })).To(BeFalse(), "an IP: endpoints, not candidates")
		Expect(changed(func(p *corev1.Pod) { now := metav1.Now(); p.DeletionTimestamp = &now })).To(BeTrue(), "deleted")
		Expect(changed(func(p *corev1.Pod) { p.Status.Phase = corev1.PodSucceeded })).To(BeTrue(), "finished")
		Expect(changed(func(p *corev1.Pod) { p.Spec.NodeName = "node-2" })).To(BeTrue(), "scheduled elsewhere")
		Expect(changed(func(p *corev1.Pod) { p.Labels[ProxyLabel] = ProxyLabelDisabled })).To(BeTrue(), "opted out")
		Expect(changed(func(p *corev1.Pod) { p.Annotations[mesh.EgressHostsAnnotation] = "./*" })).To(BeTrue(), "scoped")
	})
})
