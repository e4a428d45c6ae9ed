package e2e

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/yaml"

	"github.com/mizzen-mesh/mizzen/controllers"
	"github.com/mizzen-mesh/mizzen/internal/admission"
	"github.com/mizzen-mesh/mizzen/internal/envoy"
	"github.com/mizzen-mesh/mizzen/internal/identity"
	"github.com/mizzen-mesh/mizzen/internal/inject"
	"github.com/mizzen-mesh/mizzen/test/cluster"
	"github.com/mizzen-mesh/mizzen/test/testenv"
)

// The injection webhook, served by a manager in this process, registered with the local cluster's
// kube-apiserver as config/webhook generates it (pointed at 127.0.0.1): the pods the ReplicaSet
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

		certDir := GinkgoT().TempDir()
		caBundle := writeServingCert(certDir)
		port := freePort()

		mgr := startManager(webhook.NewServer(webhook.Options{Host: "127.0.0.1", Port: port, CertDir: certDir}), func(mgr ctrl.Manager) error {
			if err := controllers.SetupWithManager(mgr, controllers.Options{Proxy: controllers.ProxyOptions{
				Identity: identity.Options{IssuerName: issuer},
			}}); err != nil {
				return err
			}
			return admission.SetupWithManager(mgr, admission.Options{})
		})
		started := mgr.GetWebhookServer().StartedChecker()
		Eventually(func() error { return started(nil) }).Should(Succeed())

		hooks := injectionWebhook(fmt.Sprintf("https://127.0.0.1:%d", port), caBundle, ns)
		_, err = k8s.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(ctx, hooks, metav1.CreateOptions{})
		Expect(err).NotTo(HaveOccurred())
		// Runs before the manager stops (cleanups run last first): no pod creation may meet a
		// registered webhook nobody serves.
		DeferCleanup(func(ctx SpecContext) {
			Expect(k8s.AdmissionregistrationV1().MutatingWebhookConfigurations().Delete(ctx, hooks.Name, metav1.DeleteOptions{})).To(Succeed())
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
				HaveField("ConfigMap.Name", envoy.ConfigMapName(id)),
				HaveField("Secret.SecretName", envoy.ConfigMapName(id)),
			))
		}
		Expect(ids).To(HaveLen(2), "each pod has its own proxy id")

		Eventually(func(g Gomega) {
			for _, p := range pods {
				objName := envoy.ConfigMapName(p.Annotations[inject.ProxyIDAnnotation])
				cm, err := k8s.CoreV1().ConfigMaps(ns).Get(ctx, objName, metav1.GetOptions{})
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(cm.OwnerReferences).To(ConsistOf(HaveField("UID", p.UID)))
				g.Expect(cm.Data).To(HaveKey(envoy.BootstrapFile))
				if withCertManager {
					_, err := dyn.Resource(certificates).Namespace(ns).Get(ctx, objName, metav1.GetOptions{})
					g.Expect(err).NotTo(HaveOccurred(), "Certificate %s", objName)
					_, err = k8s.CoreV1().Secrets(ns).Get(ctx, objName, metav1.GetOptions{})
					g.Expect(err).NotTo(HaveOccurred(), "Secret %s", objName)
				}
			}
			cms, err := k8s.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{LabelSelector: identity.ManagedByLabel + "=" + identity.ManagedBy})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(cms.Items).To(HaveLen(2), "one ConfigMap per pod, no other")
		}).WithContext(ctx).Should(Succeed())
		AddReportEntry("config (and certificate) of both pods written", time.Since(start).Round(time.Millisecond).String())
	})
})

// injectionWebhook is the MutatingWebhookConfiguration controller-gen wrote to config/webhook,
// calling url instead of the in-cluster Service, and scoped to one namespace so that the other
// specs' pods never depend on it.
func injectionWebhook(url string, caBundle []byte, namespace string) *admissionregistrationv1.MutatingWebhookConfiguration {
	GinkgoHelper()
	docs, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "config", "webhook", "manifests.yaml"))
	Expect(err).NotTo(HaveOccurred())
	for _, doc := range bytes.Split(docs, []byte("\n---")) {
		hooks := &admissionregistrationv1.MutatingWebhookConfiguration{}
		if err := yaml.Unmarshal(doc, hooks); err != nil || hooks.Kind != "MutatingWebhookConfiguration" {
			continue
		}
		hooks.Name = "e2e-" + hooks.Name
		for i := range hooks.Webhooks {
			w := &hooks.Webhooks[i]
			Expect(w.ClientConfig.Service).NotTo(BeNil())
			path := ptr.Deref(w.ClientConfig.Service.Path, "/")
			w.ClientConfig = admissionregistrationv1.WebhookClientConfig{URL: ptr.To(url + path), CABundle: caBundle}
			w.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{
				inject.MeshLabel: inject.MeshEnabled, "kubernetes.io/metadata.name": namespace,
			}}
		}
		return hooks
	}
	Fail("config/webhook/manifests.yaml has no MutatingWebhookConfiguration")
	return nil
}

// writeServingCert writes a self-signed certificate for 127.0.0.1 (tls.crt, tls.key) into dir and
// returns it as the caBundle the API server verifies the webhook with.
func writeServingCert(dir string) []byte {
	GinkgoHelper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	Expect(err).NotTo(HaveOccurred())
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "mizzen-e2e-webhook"},
		NotBefore:             time.Now().Add(-time.Minute),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	Expect(err).NotTo(HaveOccurred())
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	Expect(err).NotTo(HaveOccurred())
	crt := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	Expect(os.WriteFile(filepath.Join(dir, "tls.crt"), crt, 0o600)).To(Succeed())
	Expect(os.WriteFile(filepath.Join(dir, "tls.key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600)).To(Succeed())
	return crt
}

// freePort is a loopback port nobody listens on right now.
func freePort() int {
	GinkgoHelper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
