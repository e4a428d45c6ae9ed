package controllers

import (
	"context"
	"testing"
	"time"

	certmanagerv1 "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	networkingv1alpha1 "github.com/mizzen-mesh/mizzen/api/v1alpha1"
	"github.com/mizzen-mesh/mizzen/test/testenv"
)

func TestControllers(t *testing.T) {
	RegisterFailHandler(Fail)
	// Generous: the suite shares two cores with the apiserver and etcd, and the first spec waits
	// for the informers to sync.
	SetDefaultEventuallyTimeout(30 * time.Second)
	SetDefaultEventuallyPollingInterval(100 * time.Millisecond)
	RunSpecs(t, "Controllers")
}

var (
	ctx       context.Context
	k8sClient client.Client
)

// The suite runs the real reconcilers in a manager against envtest's kube-apiserver and etcd.
var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	var cancel context.CancelFunc
	ctx, cancel = context.WithCancel(context.Background())
	DeferCleanup(cancel)

	// cert-manager's CRDs: the proxy reconciler writes Certificates (no cert-manager controller
	// runs here, so none is issued).
	crds, err := testenv.CertManagerCRDDir()
	Expect(err).NotTo(HaveOccurred())
	env, cfg, err := testenv.Start(testenv.Options{ExtraCRDDirs: []string{crds}})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() { Expect(env.Stop()).To(Succeed()) })

	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(networkingv1alpha1.AddToScheme(scheme))
	utilruntime.Must(certmanagerv1.AddToScheme(scheme))
	k8sClient, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	mgr, err := ctrl.NewManager(cfg, ctrl.Options{Scheme: scheme, Metrics: metricsserver.Options{BindAddress: "0"},
		Cache: CacheOptions()})
	Expect(err).NotTo(HaveOccurred())
	Expect(SetupWithManager(mgr, Options{})).To(Succeed())
	done := make(chan error, 1)
	go func() { defer GinkgoRecover(); done <- mgr.Start(ctx) }()
	DeferCleanup(func() { cancel(); Eventually(done).Should(Receive(BeNil())) })
})
