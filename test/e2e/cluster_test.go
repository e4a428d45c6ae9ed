package e2e

import (
	"net"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/mizzen-mesh/mizzen/test/cluster"
)

var _ = Describe("The local cluster", Ordered, func() {
	const (
		ns   = metav1.NamespaceDefault
		name = "web"
	)
	selector := map[string]string{"app.kubernetes.io/name": name}

	It("runs a Deployment's 3 replicas as Running, Ready pods with IPs on the fake nodes", func(ctx SpecContext) {
		_, err := k8s.CoreV1().Services(ns).Create(ctx, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.ServiceSpec{
				Selector: selector,
				Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}},
			},
		}, metav1.CreateOptions{})
		Expect(err).NotTo(HaveOccurred())

		pod := corev1.PodSpec{Containers: []corev1.Container{{
			Name:  "web",
			Image: "registry.invalid/web:1", // never pulled: kwok runs no containers
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
		}}}
		cluster.TolerateFakeNodes(&pod) // the fake nodes are tainted kwok.x-k8s.io/node=fake:NoSchedule
		start := time.Now()
		_, err = k8s.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: appsv1.DeploymentSpec{
				Replicas: ptr.To[int32](3),
				Selector: &metav1.LabelSelector{MatchLabels: selector},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: selector}, Spec: pod},
			},
		}, metav1.CreateOptions{})
		Expect(err).NotTo(HaveOccurred())

		nodes := map[string]bool{}
		for _, n := range testCluster.NodeNames() {
			nodes[n] = true
		}
		_, clusterCIDR, err := net.ParseCIDR(testCluster.Options().ClusterCIDR)
		Expect(err).NotTo(HaveOccurred())
		Eventually(func(g Gomega) {
			pods, err := k8s.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=" + name})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(pods.Items).To(HaveLen(3))
			ips := map[string]bool{}
			for _, p := range pods.Items {
				g.Expect(p.Status.Phase).To(Equal(corev1.PodRunning), "pod %s", p.Name)
				g.Expect(isPodReady(&p)).To(BeTrue(), "pod %s Ready", p.Name)
				g.Expect(nodes).To(HaveKey(p.Spec.NodeName), "pod %s on a fake node", p.Name)
				g.Expect(p.Status.PodIP).NotTo(BeEmpty(), "pod %s IP", p.Name)
				g.Expect(clusterCIDR.Contains(net.ParseIP(p.Status.PodIP))).To(BeTrue(), "pod %s IP %s in the cluster CIDR", p.Name, p.Status.PodIP)
				ips[p.Status.PodIP] = true
			}
			g.Expect(ips).To(HaveLen(3), "distinct pod IPs")
		}).WithContext(ctx).Should(Succeed())
		AddReportEntry("3 replicas Running and Ready", time.Since(start).Round(time.Millisecond).String())

		Eventually(func(g Gomega) {
			d, err := k8s.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(d.Status.ReadyReplicas).To(BeEquivalentTo(3))
			g.Expect(d.Status.AvailableReplicas).To(BeEquivalentTo(3))
		}).WithContext(ctx).Should(Succeed())
	})

	It("lists the 3 ready endpoints in the Service's EndpointSlice", func(ctx SpecContext) {
		start := time.Now()
		Eventually(func(g Gomega) {
			pods, err := k8s.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=" + name})
			g.Expect(err).NotTo(HaveOccurred())
			var podIPs []string
			for _, p := range pods.Items {
				podIPs = append(podIPs, p.Status.PodIP)
			}
			slices, err := k8s.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + name})
			g.Expect(err).NotTo(HaveOccurred())
			var ready []string
			for _, s := range slices.Items {
				g.Expect(s.Ports).To(ContainElement(HaveField("Port", HaveValue(BeEquivalentTo(8080)))))
				for _, ep := range s.Endpoints {
					if ep.Conditions.Ready != nil && *ep.Conditions.Ready {
						ready = append(ready, ep.Addresses...)
						g.Expect(ep.NodeName).NotTo(BeNil())
						g.Expect(ep.TargetRef).To(HaveField("Kind", "Pod"))
					}
				}
			}
			g.Expect(ready).To(ConsistOf(podIPs))
			g.Expect(ready).To(HaveLen(3))
		}).WithContext(ctx).Should(Succeed())
		AddReportEntry("EndpointSlice with 3 ready endpoints (after pods Ready)", time.Since(start).Round(time.Millisecond).String())
	})

	It("garbage-collects the pods when the Deployment is deleted", func(ctx SpecContext) {
		Expect(k8s.AppsV1().Deployments(ns).Delete(ctx, name, metav1.DeleteOptions{
			PropagationPolicy: ptr.To(metav1.DeletePropagationBackground),
		})).To(Succeed())
		Eventually(func(g Gomega) {
			_, err := k8s.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
			g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "Deployment gone, got %v", err)
			rs, err := k8s.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=" + name})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(rs.Items).To(BeEmpty(), "ReplicaSets collected")
			pods, err := k8s.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=" + name})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(pods.Items).To(BeEmpty(), "pods collected")
		}).WithContext(ctx).Should(Succeed())
		Expect(k8s.CoreV1().Services(ns).Delete(ctx, name, metav1.DeleteOptions{})).To(Succeed())
	})
})

func isPodReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
