/*
Copyright 2026 The Mizzen Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

// Command manager runs Mizzen's control plane: the reconcilers that turn VirtualServices,
// DestinationRules and Gateways into each meshed pod's Envoy config and identity certificate.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strconv"

	certmanagerv1 "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/certwatcher"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	networkingv1alpha1 "github.com/mizzen-mesh/mizzen/api/v1alpha1"
	"github.com/mizzen-mesh/mizzen/controllers"
	"github.com/mizzen-mesh/mizzen/internal/admission"
	"github.com/mizzen-mesh/mizzen/internal/capture"
	"github.com/mizzen-mesh/mizzen/internal/identity"
	"github.com/mizzen-mesh/mizzen/internal/inject"
	"github.com/mizzen-mesh/mizzen/internal/lazylog"
	"github.com/mizzen-mesh/mizzen/internal/metricsauth"
)

// newScheme registers every kind the manager reads or writes.
func newScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(networkingv1alpha1.AddToScheme(s))
	utilruntime.Must(certmanagerv1.AddToScheme(s))
	return s
}

// options are the manager's command-line settings, named and defaulted as kubebuilder's are.
type options struct {
	metricsAddr          string
	secureMetrics        bool
	metricsCertPath      string
	webhookCertPath      string
	webhookAddr          string
	probeAddr            string
	pprofAddr            string
	stampPods            bool
	enableLeaderElection bool
	leaderElectionNS     string
	enableHTTP2          bool
	apiCompression       bool
	enableWebhooks       bool
	controllers          controllers.Options
	webhooks             admission.Options
	zap                  zap.Options
}

func parseFlags(args []string) (*options, error) {
	o := &options{zap: zap.Options{Development: false}}
	fs := flag.NewFlagSet("manager", flag.ContinueOnError)
	fs.StringVar(&o.metricsAddr, "metrics-bind-address", "0",
		"The address the metrics endpoint binds to: :8443 for HTTPS, :8080 for HTTP, 0 to disable it.")
	fs.BoolVar(&o.secureMetrics, "metrics-secure", true,
		"Serve metrics over HTTPS behind Kubernetes authentication and authorization.")
	fs.StringVar(&o.metricsCertPath, "metrics-cert-path", "",
		"Directory holding tls.crt and tls.key for the metrics server; empty uses a self-signed certificate.")
	fs.StringVar(&o.webhookCertPath, "webhook-cert-path", "",
		"Directory holding tls.crt and tls.key for the webhook server; empty uses controller-runtime's default.")
	fs.StringVar(&o.webhookAddr, "webhook-bind-address", ":9443",
		"The address the webhook server binds to (host:port; an empty host means every interface).")
	fs.StringVar(&o.probeAddr, "health-probe-bind-address", ":8081", "The address the health and readiness probes bind to.")
	fs.StringVar(&o.pprofAddr, "pprof-bind-address", "0",
		"The address Go's pprof endpoints (/debug/pprof/) bind to, 0 to disable them. Unauthenticated: bind it to loopback.")
	fs.BoolVar(&o.enableLeaderElection, "leader-elect", false,
		"Elect a leader so that only one replica of the manager reconciles at a time.")
	fs.StringVar(&o.leaderElectionNS, "leader-election-namespace", "",
		"Namespace of the leader election lease; empty means the manager's own namespace (required when it runs outside the cluster).")
	fs.BoolVar(&o.apiCompression, "kube-api-compression", false,
		"Accept gzip-compressed responses from the API server. Off: the largest responses the manager gets are the echoes of its own ConfigMap writes, which the API server would spend CPU compressing.")
	fs.BoolVar(&o.enableHTTP2, "enable-http2", false,
		"Serve HTTP/2 on the metrics and webhook servers (off by default: HTTP/2 Rapid Reset, CVE-2023-44487).")
	fs.BoolVar(&o.stampPods, "stamp-pods", true,
		"After writing a proxy's ConfigMaps, stamp their hash on its pod (annotation mizzen.dev/config-hash): the pod update makes the kubelet refresh the config volume at once instead of at its next periodic sync (up to about 90 s). Off, a config change costs one API write instead of two, and reaches Envoy that much later.")
	id := &o.controllers.Proxy.Identity
	fs.StringVar(&id.TrustDomain, "trust-domain", identity.DefaultTrustDomain,
		"The SPIFFE trust domain of the mesh: proxies are spiffe://<trust-domain>/ns/<namespace>/sa/<service account>.")
	fs.DurationVar(&id.Duration, "proxy-cert-duration", identity.DefaultDuration,
		"Lifetime of each proxy's certificate (cert-manager's minimum is 1h).")
	fs.DurationVar(&id.RenewBefore, "proxy-cert-renew-before", identity.DefaultRenewBefore,
		"How long before expiry cert-manager renews a proxy's certificate; shorter than --proxy-cert-duration.")
	fs.StringVar(&id.IssuerKind, "proxy-issuer-kind", identity.DefaultIssuerKind,
		"Kind of the cert-manager issuer of proxy certificates: ClusterIssuer, or Issuer (one in each meshed namespace).")
	fs.StringVar(&id.IssuerName, "proxy-issuer-name", identity.DefaultIssuerName,
		"Name of the cert-manager issuer of proxy certificates.")
	fs.StringVar(&id.IssuerGroup, "proxy-issuer-group", identity.DefaultIssuerGroup,
		"API group of the issuer of proxy certificates (cert-manager.io, or an external issuer's group).")
	bindInjectFlags(fs, &o.webhooks.Inject)
	o.zap.BindFlags(fs)
	// --kubeconfig is registered on the global flag set by controller-runtime's config package.
	if kc := flag.CommandLine.Lookup("kubeconfig"); kc != nil {
		fs.Var(kc.Value, kc.Name, kc.Usage)
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if err := o.controllers.Proxy.Identity.WithDefaults().Validate(); err != nil {
		err = fmt.Errorf("invalid proxy certificate flags: %w", err)
		fmt.Fprintln(fs.Output(), err)
		return nil, err
	}
	if err := o.webhooks.Inject.WithDefaults().Validate(); err != nil {
		err = fmt.Errorf("invalid proxy injection flags: %w", err)
		fmt.Fprintln(fs.Output(), err)
		return nil, err
	}
	if _, _, err := webhookHostPort(o.webhookAddr); err != nil {
		err = fmt.Errorf("invalid --webhook-bind-address: %w", err)
		fmt.Fprintln(fs.Output(), err)
		return nil, err
	}
	// As kubebuilder does: ENABLE_WEBHOOKS=false runs the manager without serving webhooks.
	o.enableWebhooks = os.Getenv("ENABLE_WEBHOOKS") != "false"
	return o, nil
}

func main() {
	// The injected init container runs `/manager capture`: same image, no manager flags.
	if len(os.Args) > 1 && os.Args[1] == "capture" {
		os.Exit(capture.Main(os.Args[2:], os.Stdout, os.Stderr))
	}
	opts, err := parseFlags(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		os.Exit(2)
	}
	if opts.pprofAddr == "0" || opts.pprofAddr == "" {
		// No heap profile can be read: stop sampling allocations for one (the samples' records
		// were ~3 MiB of the manager's memory at 2,000 proxies).
		goruntime.MemProfileRate = 0
	}
	// Values held until a line is written: every reconcile gets a logger with four of them.
	ctrl.SetLogger(lazylog.New(zap.New(zap.UseFlagOptions(&opts.zap))))
	cfg, err := ctrl.GetConfig()
	if err != nil {
		ctrl.Log.WithName("setup").Error(err, "loading kubeconfig")
		os.Exit(1)
	}
	if err := run(ctrl.SetupSignalHandler(), cfg, opts); err != nil {
		ctrl.Log.WithName("setup").Error(err, "manager stopped")
		os.Exit(1)
	}
}

// run builds the manager from opts and blocks until ctx ends or the manager fails.
func run(ctx context.Context, cfg *rest.Config, opts *options) error {
	log := ctrl.Log.WithName("setup")
	cfg = rest.CopyConfig(cfg)
	cfg.DisableCompression = !opts.apiCompression

	var tlsOpts []func(*tls.Config)
	if !opts.enableHTTP2 {
		tlsOpts = append(tlsOpts, func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} })
	}

	var watchers []*certwatcher.CertWatcher
	host, port, err := webhookHostPort(opts.webhookAddr)
	if err != nil {
		return err
	}
	webhookOpts := webhook.Options{Host: host, Port: port, TLSOpts: tlsOpts}
	if opts.webhookCertPath != "" {
		w, serve, err := watchCertificate(opts.webhookCertPath, "webhook")
		if err != nil {
			return err
		}
		watchers = append(watchers, w)
		webhookOpts.TLSOpts = append(webhookOpts.TLSOpts, serve)
	}

	metricsOpts := metricsserver.Options{
		BindAddress:   opts.metricsAddr,
		SecureServing: opts.secureMetrics,
		TLSOpts:       tlsOpts,
	}
	if opts.secureMetrics {
		metricsOpts.FilterProvider = metricsauth.New
	}
	if opts.metricsCertPath != "" {
		w, serve, err := watchCertificate(opts.metricsCertPath, "metrics")
		if err != nil {
			return err
		}
		watchers = append(watchers, w)
		metricsOpts.TLSOpts = append(metricsOpts.TLSOpts, serve)
	}

	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                  newScheme(),
		Cache:                   controllers.CacheOptions(),
		Metrics:                 metricsOpts,
		WebhookServer:           webhook.NewServer(webhookOpts),
		HealthProbeBindAddress:  opts.probeAddr,
		PprofBindAddress:        opts.pprofAddr,
		LeaderElection:          opts.enableLeaderElection,
		LeaderElectionID:        "mizzen.networking.mizzen.dev",
		LeaderElectionNamespace: opts.leaderElectionNS,
		// The process ends as soon as the manager stops, so giving the lease up on the way out is
		// safe, and a restarted or replacement manager takes over at once instead of after the
		// lease expires.
		LeaderElectionReleaseOnCancel: true,
	})
	if err != nil {
		return fmt.Errorf("creating manager: %w", err)
	}
	for _, w := range watchers {
		if err := mgr.Add(w); err != nil {
			return fmt.Errorf("adding certificate watcher: %w", err)
		}
	}

	opts.controllers.Proxy.SkipPodStamp = !opts.stampPods
	if err := controllers.SetupWithManager(mgr, opts.controllers); err != nil {
		return err
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return fmt.Errorf("adding health check: %w", err)
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return fmt.Errorf("adding readiness check: %w", err)
	}
	if opts.enableWebhooks {
		if err := admission.SetupWithManager(mgr, opts.webhooks); err != nil {
			return err
		}
		if err := mgr.AddReadyzCheck("webhook", mgr.GetWebhookServer().StartedChecker()); err != nil {
			return fmt.Errorf("adding webhook readiness check: %w", err)
		}
	}
	log.Info("starting manager", "webhooks", opts.enableWebhooks, "leaderElection", opts.enableLeaderElection)
	if err := mgr.Start(ctx); err != nil {
		return fmt.Errorf("running manager: %w", err)
	}
	return nil
}

// webhookHostPort splits --webhook-bind-address into the webhook server's host and port.
func webhookHostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 1 || port > 65535 {
		return "", 0, fmt.Errorf("port %q is not a number from 1 to 65535", p)
	}
	return host, port, nil
}

// bindInjectFlags registers the flags of what the injection webhook adds to meshed pods.
func bindInjectFlags(fs *flag.FlagSet, o *inject.Options) {
	fs.StringVar(&o.ProxyImage, "proxy-image", inject.DefaultProxyImage,
		"Envoy image of the injected proxy container (a pod's annotation "+inject.ProxyImageAnnotation+" overrides it).")
	fs.StringVar(&o.CaptureImage, "capture-image", inject.DefaultCaptureImage,
		"Image of the traffic capture init container: the manager's own image, which holds the capture subcommand.")
	quantity := func(name string, list *corev1.ResourceList, res corev1.ResourceName, def, usage string) {
		fs.Func(name, usage+" (default "+def+").", func(v string) error {
			q, err := resource.ParseQuantity(v)
			if err != nil {
				return fmt.Errorf("%q is not a quantity", v)
			}
			if *list == nil {
				*list = corev1.ResourceList{}
			}
			(*list)[res] = q
			return nil
		})
	}
	def := inject.DefaultProxyResources()
	quantity("proxy-cpu-request", &o.ProxyResources.Requests, corev1.ResourceCPU, def.Requests.Cpu().String(), "CPU request of the proxy container")
	quantity("proxy-memory-request", &o.ProxyResources.Requests, corev1.ResourceMemory, def.Requests.Memory().String(), "Memory request of the proxy container")
	quantity("proxy-cpu-limit", &o.ProxyResources.Limits, corev1.ResourceCPU, def.Limits.Cpu().String(), "CPU limit of the proxy container")
	quantity("proxy-memory-limit", &o.ProxyResources.Limits, corev1.ResourceMemory, def.Limits.Memory().String(), "Memory limit of the proxy container")
}

// watchCertificate watches tls.crt and tls.key in dir, so a renewed certificate is served without
// a restart, and returns the TLS option that serves it.
func watchCertificate(dir, server string) (*certwatcher.CertWatcher, func(*tls.Config), error) {
	w, err := certwatcher.New(filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key"))
	if err != nil {
		return nil, nil, fmt.Errorf("watching the %s certificate in %s: %w", server, dir, err)
	}
	return w, func(c *tls.Config) { c.GetCertificate = w.GetCertificate }, nil
}
