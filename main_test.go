package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/mizzen-mesh/mizzen/internal/identity"
	"github.com/mizzen-mesh/mizzen/internal/inject"
	"github.com/mizzen-mesh/mizzen/test/testenv"
)

func TestManager(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Manager")
}

var (
	env *envtest.Environment
	cfg *rest.Config
)

var _ = BeforeSuite(func() {
	// Without cert-manager's CRDs: the manager still starts, its proxy reconciler writes configs
	// and no certificates (the controllers suite and e2e run with cert-manager).
	var err error
	env, cfg, err = testenv.Start(testenv.Options{})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() { Expect(env.Stop()).To(Succeed()) })
})

// freeAddr returns a loopback address with a port nobody listens on right now.
func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	defer l.Close()
	return l.Addr().String()
}

var _ = Describe("flags", func() {
	It("defaults as kubebuilder does: metrics off and secure, probes on :8081, no leader election", func() {
		o, err := parseFlags(nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(o.metricsAddr).To(Equal("0"))
		Expect(o.pprofAddr).To(Equal("0"), "pprof is off unless asked for")
		Expect(o.secureMetrics).To(BeTrue())
		Expect(o.probeAddr).To(Equal(":8081"))
		Expect(o.enableLeaderElection).To(BeFalse())
		Expect(o.enableHTTP2).To(BeFalse())
		Expect(o.enableWebhooks).To(BeTrue())
		Expect(o.webhookAddr).To(Equal(":9443"))
	})

	It("takes the webhook server's address and refuses one without a valid port", func() {
		o, err := parseFlags([]string{"--webhook-bind-address=127.0.0.1:19443"})
		Expect(err).NotTo(HaveOccurred())
		host, port, err := webhookHostPort(o.webhookAddr)
		Expect(err).NotTo(HaveOccurred())
		Expect(host).To(Equal("127.0.0.1"))
		Expect(port).To(Equal(19443))
		for _, bad := range []string{"127.0.0.1", "127.0.0.1:http", ":0", ":70000"} {
			_, err := parseFlags([]string{"--webhook-bind-address=" + bad})
			Expect(err).To(MatchError(ContainSubstring("invalid --webhook-bind-address")), bad)
		}
	})

	It("turns webhooks off with ENABLE_WEBHOOKS=false and takes the standard flags", func() {
		GinkgoT().Setenv("ENABLE_WEBHOOKS", "false")
		o, err := parseFlags([]string{"--metrics-bind-address=:8443", "--leader-elect", "--health-probe-bind-address=:9999", "--zap-log-level=debug"})
		Expect(err).NotTo(HaveOccurred())
		Expect(o.enableWebhooks).To(BeFalse())
		Expect(o.metricsAddr).To(Equal(":8443"))
		Expect(o.enableLeaderElection).To(BeTrue())
		Expect(o.probeAddr).To(Equal(":9999"))
	})

	It("defaults the proxy identity flags and takes them", func() {
		o, err := parseFlags(nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(o.controllers.Proxy.Identity).To(Equal(identity.Options{}.WithDefaults()))
		o, err = parseFlags([]string{"--trust-domain=corp.example", "--proxy-cert-duration=4h", "--proxy-cert-renew-before=1h",
			"--proxy-issuer-kind=Issuer", "--proxy-issuer-name=mesh-ca"})
		Expect(err).NotTo(HaveOccurred())
		Expect(o.controllers.Proxy.Identity).To(Equal(identity.Options{TrustDomain: "corp.example", Duration: 4 * time.Hour,
			RenewBefore: time.Hour, IssuerKind: "Issuer", IssuerName: "mesh-ca", IssuerGroup: "cert-manager.io"}))
	})

	It("rejects proxy certificate flags cert-manager would refuse", func() {
		_, err := parseFlags([]string{"--proxy-cert-duration=2h", "--proxy-cert-renew-before=3h"})
		Expect(err).To(MatchError(ContainSubstring("renewBefore")))
		_, err = parseFlags([]string{"--trust-domain=Bad Domain"})
		Expect(err).To(MatchError(ContainSubstring("trust domain")))
	})

	It("defaults the injection flags and takes them", func() {
		o, err := parseFlags(nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(o.webhooks.Inject.ProxyImage).To(Equal(inject.DefaultProxyImage))
		Expect(o.webhooks.Inject.CaptureImage).To(Equal(inject.DefaultCaptureImage))
		Expect(o.webhooks.Inject.ProxyResources.Requests).To(BeEmpty(), "unset resources take the injector's defaults")
		o, err = parseFlags([]string{"--proxy-image=mirror.example/envoy:v1.40.0", "--capture-image=mirror.example/mizzen:v0.1.0",
			"--proxy-cpu-request=250m", "--proxy-memory-limit=2Gi"})
		Expect(err).NotTo(HaveOccurred())
		in := o.webhooks.Inject.WithDefaults()
		Expect(in.ProxyImage).To(Equal("mirror.example/envoy:v1.40.0"))
		Expect(in.CaptureImage).To(Equal("mirror.example/mizzen:v0.1.0"))
		Expect(in.ProxyResources.Requests.Cpu().String()).To(Equal("250m"))
		Expect(in.ProxyResources.Requests.Memory().String()).To(Equal("128Mi"))
		Expect(in.ProxyResources.Limits.Memory().String()).To(Equal("2Gi"))
	})

	It("rejects injection flags the API server would refuse in every pod", func() {
		_, err := parseFlags([]string{"--proxy-memory-request=lots"})
		Expect(err).To(MatchError(ContainSubstring(`"lots" is not a quantity`)))
		_, err = parseFlags([]string{"--proxy-cpu-request=3"})
		Expect(err).To(MatchError(ContainSubstring("cpu request 3 exceeds its limit 2")))
	})

	It("rejects an unknown flag", func() {
		_, err := parseFlags([]string{"--no-such-flag"})
		Expect(err).To(MatchError(ContainSubstring("no-such-flag")))
	})
})

var _ = Describe("the manager against a real apiserver", func() {
	It("serves health and readiness probes, HTTP metrics and pprof, then stops when its context ends", func() {
		GinkgoT().Setenv("ENABLE_WEBHOOKS", "false")
		probe, metrics, pprof := freeAddr(), freeAddr(), freeAddr()
		opts, err := parseFlags([]string{"--health-probe-bind-address=" + probe, "--metrics-bind-address=" + metrics, "--metrics-secure=false",
			"--pprof-bind-address=" + pprof})
		Expect(err).NotTo(HaveOccurred())

		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- run(ctx, cfg, opts) }()
		DeferCleanup(func() { cancel(); Eventually(done).Should(Receive(BeNil())) })

		for _, url := range []string{"http://" + probe + "/healthz", "http://" + probe + "/readyz", "http://" + metrics + "/metrics",
			"http://" + pprof + "/debug/pprof/heap"} {
			Eventually(func() (int, error) {
				resp, err := http.Get(url)
				if err != nil {
					return 0, err
				}
				defer resp.Body.Close()
				return resp.StatusCode, nil
			}).Should(Equal(http.StatusOK), fmt.Sprintf("GET %s", url))
		}
	})
})
