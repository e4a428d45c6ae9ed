package e2e

import (
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/mizzen-mesh/mizzen/controllers"
	"github.com/mizzen-mesh/mizzen/internal/admission"
	"github.com/mizzen-mesh/mizzen/internal/envoy"
	"github.com/mizzen-mesh/mizzen/internal/identity"
	"github.com/mizzen-mesh/mizzen/internal/inject"
	"github.com/mizzen-mesh/mizzen/test/cluster"
	"github.com/mizzen-mesh/mizzen/test/testenv"
	"github.com/mizzen-mesh/mizzen/test/webhooks"
)

// The injection webhook, served by a manager in this process, registered with the local cluster's
// kube-apiserver as config/webhook generates it (test/webhooks: pointed at 127.0.0.1): the pods the ReplicaSet
// controller creates, with no name yet, come back injected, kwok runs them, and the proxy
// reconciler writes the objects their volumes name.
var _ = Describe("Proxy injection on the local cluster", Ordered, func() {
	const (
		ns     = "inject-e2e"
		name   = "shop"
		issuer = "e2e-inject-selfsigned"
	)
	selector := map[string]string{"app.kubernetes.io/name": name}

	BeforeAll(func(ctx SpecContext) {
		_, err := envtest.InstallCRDs(testCluster.RESTConfig(), envtest.CRDInstallOptions{
			Paths: []string{filepath.Join(testenv.RepoRoot(), "config", "crd", "bases")}, ErrorIfPathMissing: true,
		})
		Expect(err).NotTo(HaveOccurred())
		if withCertManager {
			createCertManagerObjects(ctx, `
apiVersion: cert-manager.io/v1
kind: ClusterIssuer
metadata: {name: `+issuer+`}
spec: {selfSigned: {}}`)
		}

		serving, err := webhooks.NewServing(GinkgoT().TempDir())
		Expect(err).NotTo(HaveOccurred())

		mgr := startManager(webhook.NewServer(webhook.Options{Host: serving.Host, Port: serving.Port, CertDir: serving.CertDir}), func(mgr ctrl.Manager) error {
			if err := controllers.SetupWithManager(mgr, controllers.Options{Proxy: controllers.ProxyOptions{
				Identity: identity.Options{IssuerName: issuer},
			}}); err != nil {
				return err
			}
			return admission.SetupWithManager(mgr, admission.Options{})
		})
		started := mgr.GetWebhookServer().StartedChecker()
		Eventually(func() error { return started(nil) }).Should(Succeed())

		// Only the injection webhook, scoped to this spec's namespace so that the other specs'
		// pods never depend on it.
		all, err := webhooks.FromManifests(testenv.RepoRoot(), "e2e-", serving)
		Expect(err).NotTo(HaveOccurred())
		hooks := &webhooks.Configurations{Mutating: all.Mutating}
		hooks.ScopeMutating(&metav1.LabelSelector{MatchLabels: map[string]string{
			inject.MeshLabel: inject.MeshEnabled, "kubernetes.io/metadata.name": ns,
		}})
		Expect(hooks.Install(ctx, k8s)).To(Succeed())
		// Runs before the manager stops (cleanups run last first): no pod creation may meet a
		// registered webhook nobody serves.
		DeferCleanup(func(ctx SpecContext) {
			Expect(hooks.Uninstall(ctx, k8s)).To(Succeed())
		})

		_, err = k8s.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
			Name: ns, Labels: map[string]string{inject.MeshLabel: inject.MeshEnabled},
		}}, metav1.CreateOptions{})
		Expect(err).NotTo(HaveOccurred())
	}, NodeTimeout(2*time.Minute))

	It("injects the pods of a Deployment, kwok runs them, and the reconciler writes the config and certificate they mount", func(ctx SpecContext) {
		pod := corev1.PodSpec{Containers: []corev1.Container{{
			Name: "web", Image: "registry.invalid/web:1", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
		}}}
		cluster.TolerateFakeNodes(&pod)
		start := time.Now()
		_, err := k8s.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: appsv1.DeploymentSpec{
				Replicas: ptr.To[int32](2),
				Selector: &metav1.LabelSelector{MatchLabels: selector},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: selector}, Spec: pod},
			},
		}, metav1.CreateOptions{})
		Expect(err).NotTo(HaveOccurred())

		var pods []corev1.Pod
		Eventually(func(g Gomega) {
			list, err := k8s.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=" + name})
			g.Expect(err).NotTo(HaveOccurred())
			pods = list.Items
			g.Expect(pods).To(HaveLen(2))
			for _, p := range pods {
				g.Expect(p.Status.Phase).To(Equal(corev1.PodRunning), "pod %s phase", p.Name)
			}
		}).WithContext(ctx).WithTimeout(90 * time.Second).Should(Succeed())
		AddReportEntry("2 injected replicas Running", time.Since(start).Round(time.Millisecond).String())

		ids := map[string]bool{}
		for _, p := range pods {
			// Made by the ReplicaSet controller: named by the API server after admission.
			Expect(p.GenerateName).NotTo(BeEmpty())
			id := p.Annotations[inject.ProxyIDAnnotation]
			Expect(identity.ValidateProxyID(id)).To(Succeed(), "pod %s", p.Name)
			ids[id] = true
			Expect(p.Spec.Containers[0].Name).To(Equal(inject.ProxyContainer))
			Expect(p.Spec.InitContainers).To(ConsistOf(HaveField("Name", inject.CaptureContainer)))
			Expect(p.Spec.Volumes).To(ContainElements(
				HaveField("Projected.Sources", ConsistOf(
					HaveField("ConfigMap.Name", envoy.ConfigMapName(id)),
					HaveField("ConfigMap.Name", envoy.ClustersConfigMapName(id)))),
				HaveField("Secret.SecretName", envoy.ConfigMapName(id)),
			))
		}
		Expect(ids).To(HaveLen(2), "each pod has its own proxy id")

		Eventually(func(g Gomega) {
			for _, p := range pods {
				objName := envoy.ConfigMapName(p.Annotations[inject.ProxyIDAnnotation])
				cur, err := k8s.CoreV1().Pods(ns).Get(ctx, p.Name, metav1.GetOptions{})
				g.Expect(err).NotTo(HaveOccurred())
				files, err := proxyFiles(ctx, cur)
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(files).To(And(HaveKey(envoy.BootstrapFile), HaveKey(envoy.CDSFile)))
				if withCertManager {
					_, err := dyn.Resource(certificates).Namespace(ns).Get(ctx, objName, metav1.GetOptions{})
					g.Expect(err).NotTo(HaveOccurred(), "Certificate %s", objName)
					_, err = k8s.CoreV1().Secrets(ns).Get(ctx, objName, metav1.GetOptions{})
					g.Expect(err).NotTo(HaveOccurred(), "Secret %s", objName)
				}
			}
			cms, err := k8s.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{LabelSelector: identity.ManagedByLabel + "=" + identity.ManagedBy})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(cms.Items).To(HaveLen(4), "the two ConfigMaps of each pod, no other")
			for _, cm := range cms.Items {
				g.Expect(cm.OwnerReferences).To(ConsistOf(HaveField("UID", BeElementOf(pods[0].UID, pods[1].UID))), "ConfigMap %s", cm.Name)
			}
		}).WithContext(ctx).Should(Succeed())
		AddReportEntry("config (and certificate) of both pods written", time.Since(start).Round(time.Millisecond).String())
	})
})
