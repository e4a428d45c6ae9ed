package admission

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/yaml"

	v1 "github.com/mizzen-mesh/mizzen/api/v1alpha1"
	"github.com/mizzen-mesh/mizzen/test/testenv"
)

func TestAdmission(t *testing.T) {
	RegisterFailHandler(Fail)
	SetDefaultEventuallyTimeout(30 * time.Second)
	RunSpecs(t, "Admission")
}

// warnings collects the admission warnings the apiserver relays to the client.
type warnings struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warnings) HandleWarningHeaderWithContext(_ context.Context, _ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, text)
}

func (w *warnings) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	msgs := w.msgs
	w.msgs = nil
	return msgs
}

var (
	ctx       context.Context
	k8sClient client.Client
	warned    = &warnings{}
)

// The real kube-apiserver calls the webhooks over TLS: envtest installs the generated
// ValidatingWebhookConfiguration from config/webhook, pointed at the local webhook server.
var _ = BeforeSuite(func() {
	var cancel context.CancelFunc
	ctx, cancel = context.WithCancel(context.Background())
	DeferCleanup(cancel)

	env, cfg, err := testenv.Start(testenv.Options{
		WebhookManifestDirs: []string{filepath.Join(testenv.RepoRoot(), "config", "webhook", "manifests.yaml")},
	})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() { Expect(env.Stop()).To(Succeed()) })

	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(v1.AddToScheme(scheme))

	hooks := env.WebhookInstallOptions
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:        scheme,
		Metrics:       metricsserver.Options{BindAddress: "0"},
		WebhookServer: webhook.NewServer(webhook.Options{Host: hooks.LocalServingHost, Port: hooks.LocalServingPort, CertDir: hooks.LocalServingCertDir}),
	})
	Expect(err).NotTo(HaveOccurred())
	Expect(SetupWithManager(mgr, Options{})).To(Succeed())
	done := make(chan error, 1)
	go func() { defer GinkgoRecover(); done <- mgr.Start(ctx) }()
	DeferCleanup(func() { cancel(); Eventually(done).Should(Receive(BeNil())) })

	addr := net.JoinHostPort(hooks.LocalServingHost, fmt.Sprint(hooks.LocalServingPort))
	Eventually(func() error {
		conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // probing that the local test server listens
		if err != nil {
			return err
		}
		return conn.Close()
	}).Should(Succeed())

	withWarnings := rest.CopyConfig(cfg)
	withWarnings.WarningHandlerWithContext = warned
	k8sClient, err = client.New(withWarnings, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
})

func newNamespace() string {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "admission-"}}
	Expect(k8sClient.Create(ctx, ns)).To(Succeed())
	return ns.Name
}

func fromYAML[T client.Object](obj T, namespace, manifest string) T {
	Expect(yaml.UnmarshalStrict([]byte(manifest), obj)).To(Succeed())
	obj.SetNamespace(namespace)
	return obj
}

var _ = Describe("validating webhooks", func() {
	It("refuses a VirtualService the schema allows but Istio would not, naming the field and the rule", func() {
		vs := fromYAML(&v1.VirtualService{}, newNamespace(), `
metadata: {name: bad-regex}
spec:
  hosts: [reviews]
  http:
  - match: [{uri: {regex: "(unclosed"}}]
    route: [{destination: {host: reviews}}]`)
		err := k8sClient.Create(ctx, vs)
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want an Invalid error, got %v", err)
		Expect(err.Error()).To(And(
			ContainSubstring(`VirtualService.networking.mizzen.dev "bad-regex" is invalid`),
			ContainSubstring("spec.http[0].match[0].uri.regex"),
			ContainSubstring("InvalidRegex"),
		))
	})

	It("refuses an update that breaks a rule and keeps the stored object as it was", func() {
		vs := fromYAML(&v1.VirtualService{}, newNamespace(), `
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - route: [{destination: {host: reviews}}]
    retries: {attempts: 3, retryOn: "5xx"}`)
		Expect(k8sClient.Create(ctx, vs)).To(Succeed())

		vs.Spec.HTTP[0].Retries.RetryOn = "5xx,sometimes"
		err := k8sClient.Update(ctx, vs)
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want an Invalid error, got %v", err)
		Expect(err.Error()).To(ContainSubstring("spec.http[0].retries.retryOn"))

		stored := &v1.VirtualService{}
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(vs), stored)).To(Succeed())
		Expect(stored.Spec.HTTP[0].Retries.RetryOn).To(Equal("5xx"))
	})

	It("refuses a DestinationRule whose maglev table size is not prime", func() {
		dr := fromYAML(&v1.DestinationRule{}, newNamespace(), `
metadata: {name: reviews}
spec:
  host: reviews
  trafficPolicy:
    loadBalancer:
      consistentHash: {maglev: {tableSize: 65536}, httpHeaderName: x-user}`)
		err := k8sClient.Create(ctx, dr)
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want an Invalid error, got %v", err)
		Expect(err.Error()).To(ContainSubstring("tableSize"))
	})

	It("refuses a Gateway server host with a short name", func() {
		gw := fromYAML(&v1.Gateway{}, newNamespace(), `
metadata: {name: ingress}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["reviews"]`)
		err := k8sClient.Create(ctx, gw)
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want an Invalid error, got %v", err)
		Expect(err.Error()).To(ContainSubstring("spec.servers[0].hosts[0]"))
	})

	It("admits a valid spec and relays Istio's warnings for it", func() {
		vs := fromYAML(&v1.VirtualService{}, newNamespace(), `
metadata: {name: mirrored}
spec:
  hosts: [reviews]
  http:
  - route: [{destination: {host: reviews}}]
    mirror: {host: shadow}
    mirrorPercent: 5`)
		warned.take()
		Expect(k8sClient.Create(ctx, vs)).To(Succeed())
		Expect(warned.take()).To(ContainElement(ContainSubstring("spec.http[0].mirrorPercent")))
	})
})
