package admission

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/mizzen-mesh/mizzen/api/v1alpha1"
	"github.com/mizzen-mesh/mizzen/internal/envoy"
	"github.com/mizzen-mesh/mizzen/internal/identity"
	"github.com/mizzen-mesh/mizzen/internal/inject"
)

func meshedNamespace() string {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		GenerateName: "meshed-", Labels: map[string]string{inject.MeshLabel: inject.MeshEnabled},
	}}
	Expect(k8sClient.Create(ctx, ns)).To(Succeed())
	return ns.Name
}

// barePod is what a ReplicaSet creates: no name yet, one workload container.
func barePod(namespace string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "web-", Namespace: namespace, Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "web", Image: "registry.example/web:1", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
		}}},
	}
}

func containerNames(cs []corev1.Container) []string {
	names := make([]string, 0, len(cs))
	for _, c := range cs {
		names = append(names, c.Name)
	}
	return names
}

// expectInjected checks what the API server stored: the proxy first, capture last among the init
// containers (when withCapture), and volumes naming the pod's proxy id. It returns the id.
func expectInjected(pod *corev1.Pod, withCapture bool) string {
	id := pod.Annotations[inject.ProxyIDAnnotation]
	Expect(identity.ValidateProxyID(id)).To(Succeed())
	Expect(containerNames(pod.Spec.Containers)).To(Equal([]string{inject.ProxyContainer, "web"}))
	proxy := pod.Spec.Containers[0]
	Expect(proxy.Image).To(Equal(inject.DefaultProxyImage))
	Expect(proxy.Args).To(ContainElements("-c", envoy.ConfigPath(envoy.BootstrapFile)))
	if withCapture {
		Expect(containerNames(pod.Spec.InitContainers)).To(Equal([]string{inject.CaptureContainer}))
		Expect(pod.Spec.InitContainers[0].Args).To(Equal(inject.DefaultCapture().Args()))
	} else {
		Expect(pod.Spec.InitContainers).To(BeEmpty())
	}
	Expect(pod.Spec.Volumes).To(ContainElements(
		HaveField("Projected.Sources", ConsistOf(
			HaveField("ConfigMap.Name", envoy.ConfigMapName(id)),
			HaveField("ConfigMap.Name", envoy.ClustersConfigMapName(id)))),
		HaveField("Secret.SecretName", envoy.ConfigMapName(id)),
	))
	Expect(pod.Annotations).To(HaveKeyWithValue(inject.PrometheusPortAnnotation, "15090"))
	return id
}

func expectUntouched(pod *corev1.Pod) {
	Expect(containerNames(pod.Spec.Containers)).To(Equal([]string{"web"}))
	Expect(pod.Spec.InitContainers).To(BeEmpty())
	Expect(pod.Annotations).NotTo(HaveKey(inject.ProxyIDAnnotation))
}

var _ = Describe("injection webhook", func() {
	It("injects the proxy into a pod without a name in a meshed namespace, and not again into an injected pod", func() {
		pod := barePod(meshedNamespace())
		Expect(k8sClient.Create(ctx, pod)).To(Succeed())
		id := expectInjected(pod, true)

		// The same pod created again, e.g. from a saved manifest: left as it is.
		again := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{
			GenerateName: "again-", Namespace: pod.Namespace, Labels: pod.Labels, Annotations: pod.Annotations,
		}, Spec: pod.Spec}
		Expect(k8sClient.Create(ctx, again)).To(Succeed())
		Expect(again.Annotations[inject.ProxyIDAnnotation]).To(Equal(id))
		Expect(again.Spec.Containers).To(HaveLen(2))
		Expect(again.Spec.InitContainers).To(HaveLen(1))
		Expect(again.Spec.Volumes).To(HaveLen(len(pod.Spec.Volumes)))
	})

	It("gives each pod its own proxy id", func() {
		ns := meshedNamespace()
		a, b := barePod(ns), barePod(ns)
		Expect(k8sClient.Create(ctx, a)).To(Succeed())
		Expect(k8sClient.Create(ctx, b)).To(Succeed())
		Expect(a.Annotations[inject.ProxyIDAnnotation]).NotTo(Equal(b.Annotations[inject.ProxyIDAnnotation]))
	})

	It("leaves opted-out pods and pods in namespaces outside the mesh alone", func() {
		optedOut := barePod(meshedNamespace())
		optedOut.Labels[inject.ProxyLabel] = inject.ProxyDisabled
		Expect(k8sClient.Create(ctx, optedOut)).To(Succeed())
		expectUntouched(optedOut)

		outside := barePod(newNamespace())
		Expect(k8sClient.Create(ctx, outside)).To(Succeed())
		expectUntouched(outside)
	})

	It("refuses a pod with a malformed traffic annotation, naming the annotation", func() {
		pod := barePod(meshedNamespace())
		pod.Annotations = map[string]string{inject.AnnotationExcludeOutboundIPRanges: "10.0.0.0/8,not-a-cidr"}
		err := k8sClient.Create(ctx, pod)
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "want a Forbidden error, got %v", err)
		Expect(err.Error()).To(And(
			ContainSubstring(inject.AnnotationExcludeOutboundIPRanges),
			ContainSubstring(`"not-a-cidr" is neither a CIDR nor an IP address`),
		))
	})

	It("injects a gateway proxy, without capture, into a pod a Gateway selects outside the mesh", func() {
		ns := newNamespace()
		gw := fromYAML(&v1.Gateway{}, ns, `
metadata: {name: ingress}
spec:
  selector: {app: web}
  servers:
  - port: {number: 8080, name: http, protocol: HTTP}
    hosts: ["*"]`)
		Expect(k8sClient.Create(ctx, gw)).To(Succeed())
		// The webhook reads Gateways from its cache: dry-run creates until it has seen this one.
		Eventually(func(g Gomega) {
			pod := barePod(ns)
			g.Expect(k8sClient.Create(ctx, pod, client.DryRunAll)).To(Succeed())
			g.Expect(pod.Spec.Containers).To(HaveLen(2))
		}).Should(Succeed())
		pod := barePod(ns)
		Expect(k8sClient.Create(ctx, pod)).To(Succeed())
		expectInjected(pod, false)
	})
})
