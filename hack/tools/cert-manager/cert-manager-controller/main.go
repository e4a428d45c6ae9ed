// Command cert-manager-controller runs cert-manager's control loops for CA and SelfSigned issuers,
// built from the packages of github.com/cert-manager/cert-manager (whose own controller main module
// is not on the Go module proxy). It exists for Mizzen's local test clusters only.
//
// What it runs: the Issuer and ClusterIssuer controllers, the CertificateRequest approver, the
// CertificateRequest signers for the CA and SelfSigned issuer types, and the Certificate controllers
// (trigger, key-manager, request-manager, issuing, readiness, revision-manager, metrics). ACME,
// Vault and Venafi issuers, the ingress/gateway shims and the experimental CertificateSigningRequest
// signers are not linked in: an Issuer of those types is reported not Ready.
//
// It serves nothing unless asked: --metrics-listen-address and --healthz-listen-address default to
// "0" (off); pass a loopback address to serve Prometheus metrics, or /livez and /readyz (ready once
// every informer cache has synced and the control loops run). SIGINT or SIGTERM stops the loops,
// releases the leader lease (when --leader-elect) and exits 0; a second signal exits at once.
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	"github.com/spf13/pflag"
	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apiserver/pkg/server/healthz"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	logsapi "k8s.io/component-base/logs/api/v1"

	"github.com/cert-manager/cert-manager/pkg/controller"
	"github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/approver"
	crca "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/ca"
	crselfsigned "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/selfsigned"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/issuing"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/keymanager"
	certmetrics "github.com/cert-manager/cert-manager/pkg/controller/certificates/metrics"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/readiness"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/requestmanager"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/revisionmanager"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/trigger"
	"github.com/cert-manager/cert-manager/pkg/controller/clusterissuers"
	"github.com/cert-manager/cert-manager/pkg/controller/issuers"
	logf "github.com/cert-manager/cert-manager/pkg/logs"
	utilfeature "github.com/cert-manager/cert-manager/pkg/util/feature"

	// The issuer implementations the Issuer/ClusterIssuer controllers can set up. Importing one
	// registers it with cert-manager's issuer factory.
	_ "github.com/cert-manager/cert-manager/pkg/issuer/ca"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/selfsigned"
)

// linked lists the control loops this binary carries, in the order they are started. Each package
// imported above registers its constructor with controller.Known() in its init.
var linked = []string{
	issuers.ControllerName,
	clusterissuers.ControllerName,
	approver.ControllerName,
	crca.CRControllerName,
	crselfsigned.CRControllerName,
	trigger.ControllerName,
	keymanager.ControllerName,
	requestmanager.ControllerName,
	issuing.ControllerName,
	readiness.ControllerName,
	revisionmanager.ControllerName,
	certmetrics.ControllerName,
}

// clusterScoped are the loops that only make sense when watching every namespace.
var clusterScoped = []string{clusterissuers.ControllerName}

// options holds the command line. Defaults follow cert-manager's controller, except that leader
// election and both listeners are off (this binary runs in tests).
type options struct {
	kubeconfig               string
	master                   string
	namespace                string
	clusterResourceNamespace string
	controllers              []string
	workers                  int
	qps                      float32
	burst                    int

	leaderElect          bool
	leaderElectNamespace string
	leaseDuration        time.Duration
	renewDeadline        time.Duration
	retryPeriod          time.Duration

	metricsAddress string
	healthzAddress string

	clusterIssuerAmbientCredentials bool
	issuerAmbientCredentials        bool
	enableCertificateOwnerRef       bool
	copiedAnnotationPrefixes        []string
	minBackoff                      time.Duration
	maxBackoff                      time.Duration

	logging *logsapi.LoggingConfiguration
}

func newFlags(o *options) *pflag.FlagSet {
	fs := pflag.NewFlagSet("cert-manager-controller", pflag.ContinueOnError)
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "Path to a kubeconfig. Empty: in-cluster config.")
	fs.StringVar(&o.master, "master", "", "Kubernetes API server address; overrides the kubeconfig's.")
	fs.StringVar(&o.namespace, "namespace", "", "Watch only this namespace (empty: all). Disables the cluster-scoped loops ("+strings.Join(clusterScoped, ", ")+").")
	fs.StringVar(&o.clusterResourceNamespace, "cluster-resource-namespace", "kube-system",
		"Namespace holding the Secrets that ClusterIssuers refer to (e.g. the CA key pair of a CA ClusterIssuer).")
	fs.StringSliceVar(&o.controllers, "controllers", []string{"*"},
		"Control loops to run: '*' for all, 'name' to add one, '-name' to remove one. Linked in: "+strings.Join(linked, ", ")+".")
	fs.IntVar(&o.workers, "concurrent-workers", 5, "Workers per control loop.")
	fs.Float32Var(&o.qps, "kube-api-qps", 20, "Client QPS to the API server (used only when API Priority and Fairness is off).")
	fs.IntVar(&o.burst, "kube-api-burst", 50, "Client burst to the API server (used only when API Priority and Fairness is off).")

	fs.BoolVar(&o.leaderElect, "leader-elect", false, "Hold the Lease cert-manager-controller before running the control loops.")
	fs.StringVar(&o.leaderElectNamespace, "leader-election-namespace", "kube-system", "Namespace of the leader election Lease.")
	fs.DurationVar(&o.leaseDuration, "leader-election-lease-duration", 60*time.Second, "Leader election lease duration.")
	fs.DurationVar(&o.renewDeadline, "leader-election-renew-deadline", 40*time.Second, "Leader election renew deadline.")
	fs.DurationVar(&o.retryPeriod, "leader-election-retry-period", 15*time.Second, "Leader election retry period.")

	fs.StringVar(&o.metricsAddress, "metrics-listen-address", "0",
		"host:port serving Prometheus metrics on /metrics; '0' turns it off. Port 0 picks a free port (logged).")
	fs.StringVar(&o.healthzAddress, "healthz-listen-address", "0",
		"host:port serving /livez and /readyz; '0' turns it off. Port 0 picks a free port (logged).")
	fs.StringVar(&o.healthzAddress, "internal-healthz-listen-address", "0", "Alias of --healthz-listen-address (cert-manager's name).")
	_ = fs.MarkHidden("internal-healthz-listen-address")

	fs.BoolVar(&o.clusterIssuerAmbientCredentials, "cluster-issuer-ambient-credentials", true, "Let ClusterIssuers use ambient credentials (unused by CA/SelfSigned).")
	fs.BoolVar(&o.issuerAmbientCredentials, "issuer-ambient-credentials", false, "Let Issuers use ambient credentials (unused by CA/SelfSigned).")
	fs.BoolVar(&o.enableCertificateOwnerRef, "enable-certificate-owner-ref", false, "Make each Certificate the owner of its Secret, so deleting it deletes the Secret.")
	fs.StringSliceVar(&o.copiedAnnotationPrefixes, "copied-annotation-prefixes",
		[]string{"*", "-kubectl.kubernetes.io/", "-fluxcd.io/", "-argocd.argoproj.io/"},
		"Annotations copied from a Certificate to its CertificateRequests ('*' all, '-prefix' excluded).")
	fs.DurationVar(&o.minBackoff, "certificate-request-minimum-backoff-duration", time.Hour, "First backoff after a failed issuance.")
	fs.DurationVar(&o.maxBackoff, "certificate-request-maximum-backoff-duration", 32*time.Hour, "Longest backoff after repeated failed issuances.")

	utilfeature.DefaultMutableFeatureGate.AddFlag(fs)
	o.logging = logsapi.NewLoggingConfiguration()
	logf.AddFlags(o.logging, fs)
	return fs
}

// enabled resolves --controllers against the linked-in loops.
func (o *options) enabled() ([]string, error) {
	want := map[string]bool{}
	for _, c := range o.controllers {
		name, off := strings.CutPrefix(strings.TrimSpace(c), "-")
		switch {
		case name == "*" && !off:
			for _, n := range linked {
				if _, set := want[n]; !set {
					want[n] = true
				}
			}
		case slices.Contains(linked, name):
			want[name] = !off
		default:
			return nil, fmt.Errorf("--controllers: %q is not linked into this binary (have: %s)", c, strings.Join(linked, ", "))
		}
	}
	var out []string
	for _, n := range linked {
		if want[n] && !(o.namespace != "" && slices.Contains(clusterScoped, n)) {
			out = append(out, n)
		}
	}
	return out, nil
}

func main() {
	o := &options{}
	fs := newFlags(o)
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "unexpected arguments: %v\n", fs.Args())
		os.Exit(2)
	}
	logf.InitLogs()
	if err := logf.ValidateAndApply(o.logging); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	defer logf.FlushLogs()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // a second signal kills the process the default way
	}()
	log := logf.Log.WithName("controller")
	ctx = logf.NewContext(ctx, log)

	if err := run(ctx, log, o); err != nil {
		log.Error(err, "cert-manager-controller failed")
		logf.FlushLogs()
		os.Exit(1)
	}
	log.Info("stopped cleanly")
}

func run(ctx context.Context, log logr.Logger, o *options) error {
	enabled, err := o.enabled()
	if err != nil {
		return err
	}
	log.Info("starting cert-manager controller", "cert-manager", moduleVersion(), "controllers", enabled,
		"clusterResourceNamespace", o.clusterResourceNamespace, "namespace", o.namespace, "leaderElect", o.leaderElect)

	factory, err := newContextFactory(ctx, o)
	if err != nil {
		return fmt.Errorf("building the controller context: %w", err)
	}
	base, err := factory.Build()
	if err != nil {
		return fmt.Errorf("building the controller context: %w", err)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, gctx := errgroup.WithContext(ctx)

	var ready atomic.Bool
	leaderHealth := leaderelection.NewLeaderHealthzAdaptor(20 * time.Second)

	if o.metricsAddress != "0" {
		base.Metrics.SetupCertificateCollector(base.SharedInformerFactory.Certmanager().V1().Certificates().Lister())
		base.Metrics.SetupIssuerCollector(base.SharedInformerFactory.Certmanager().V1().Issuers().Lister())
		if slices.Contains(enabled, clusterissuers.ControllerName) {
			base.Metrics.SetupClusterIssuerCollector(base.SharedInformerFactory.Certmanager().V1().ClusterIssuers().Lister())
		}
		ln, err := listen(gctx, o.metricsAddress)
		if err != nil {
			return fmt.Errorf("metrics listener: %w", err)
		}
		log.Info("serving metrics", "address", ln.Addr().String())
		serve(g, gctx, base.Metrics.NewServer(ln), ln)
	}
	if o.healthzAddress != "0" {
		ln, err := listen(gctx, o.healthzAddress)
		if err != nil {
			return fmt.Errorf("healthz listener: %w", err)
		}
		mux := http.NewServeMux()
		livez := []healthz.HealthChecker{healthz.PingHealthz}
		if o.leaderElect {
			livez = append(livez, leaderHealth)
		}
		healthz.InstallLivezHandler(mux, livez...)
		healthz.InstallReadyzHandler(mux, healthz.NamedCheck("informers-synced", func(*http.Request) error {
			if !ready.Load() {
				return errors.New("informer caches not synced yet")
			}
			return nil
		}))
		log.Info("serving health checks", "address", ln.Addr().String())
		serve(g, gctx, &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}, ln)
	}

	leading := make(chan struct{})
	if o.leaderElect {
		le, err := newLeaderElector(factory, o, leaderHealth, func() { close(leading) })
		if err != nil {
			return err
		}
		g.Go(func() error {
			log.Info("waiting for the leader lease", "namespace", o.leaderElectNamespace)
			le.Run(gctx) // returns once gctx is done (lease released) or the lease is lost
			if gctx.Err() == nil {
				return errors.New("leader lease lost")
			}
			return nil
		})
	} else {
		close(leading)
	}

	select {
	case <-gctx.Done():
		return waitErr(ctx, g)
	case <-leading:
	}

	known := controller.Known()
	for _, name := range enabled {
		newLoop, ok := known[name]
		if !ok {
			return fmt.Errorf("control loop %q is not registered", name)
		}
		loop, err := newLoop(factory)
		if err != nil {
			cancel()
			return errors.Join(fmt.Errorf("creating control loop %s: %w", name, err), waitErr(ctx, g))
		}
		g.Go(func() error {
			if err := loop.Run(o.workers, gctx); err != nil && gctx.Err() == nil {
				return fmt.Errorf("control loop %s: %w", name, err)
			}
			return nil
		})
	}

	// Every loop has registered its informers on the shared factories: start them.
	base.SharedInformerFactory.Start(gctx.Done())
	base.KubeSharedInformerFactory.Start(gctx.Done())
	base.HTTP01ResourceMetadataInformersFactory.Start(gctx.Done())
	g.Go(func() error {
		start := time.Now()
		synced := allSynced(base.SharedInformerFactory.WaitForCacheSync(gctx.Done())) &&
			allSynced(base.KubeSharedInformerFactory.WaitForCacheSync(gctx.Done()))
		if synced && gctx.Err() == nil {
			ready.Store(true)
			log.Info("informer caches synced; control loops running", "after", time.Since(start).Round(time.Millisecond).String())
		}
		return nil
	})

	err = waitErr(ctx, g)
	base.HTTP01ResourceMetadataInformersFactory.Shutdown()
	base.KubeSharedInformerFactory.Shutdown()
	base.SharedInformerFactory.Shutdown()
	return err
}

// newContextFactory builds cert-manager's ContextFactory with the defaults of cert-manager's own
// controller (ACME options included: the shared context carries them even though no ACME loop runs).
func newContextFactory(ctx context.Context, o *options) (*controller.ContextFactory, error) {
	return controller.NewContextFactory(ctx, controller.ContextOptions{
		APIServerHost:      o.master,
		Kubeconfig:         o.kubeconfig,
		KubernetesAPIQPS:   o.qps,
		KubernetesAPIBurst: o.burst,
		Namespace:          o.namespace,
		IssuerOptions: controller.IssuerOptions{
			ClusterResourceNamespace:        o.clusterResourceNamespace,
			ClusterIssuerAmbientCredentials: o.clusterIssuerAmbientCredentials,
			IssuerAmbientCredentials:        o.issuerAmbientCredentials,
		},
		ACMEOptions: controller.ACMEOptions{
			HTTP01SolverImage:                 "quay.io/jetstack/cert-manager-acmesolver:" + moduleVersion(),
			HTTP01SolverResourceRequestCPU:    resource.MustParse("10m"),
			HTTP01SolverResourceRequestMemory: resource.MustParse("64Mi"),
			HTTP01SolverResourceLimitsCPU:     resource.MustParse("100m"),
			HTTP01SolverResourceLimitsMemory:  resource.MustParse("64Mi"),
			ACMEHTTP01SolverRunAsNonRoot:      true,
			DNS01CheckAuthoritative:           true,
			DNS01CheckRetryPeriod:             10 * time.Second,
		},
		IngressShimOptions: controller.IngressShimOptions{
			DefaultIssuerKind:                 "Issuer",
			DefaultIssuerGroup:                "cert-manager.io",
			DefaultAutoCertificateAnnotations: []string{"kubernetes.io/tls-acme"},
		},
		CertificateOptions: controller.CertificateOptions{
			EnableOwnerRef:                           o.enableCertificateOwnerRef,
			CopiedAnnotationPrefixes:                 o.copiedAnnotationPrefixes,
			CertificateRequestMinimumBackoffDuration: o.minBackoff,
			CertificateRequestMaximumBackoffDuration: o.maxBackoff,
		},
		SchedulerOptions: controller.SchedulerOptions{MaxConcurrentChallenges: 60},
	})
}

func newLeaderElector(factory *controller.ContextFactory, o *options, health *leaderelection.HealthzAdaptor,
	started func()) (*leaderelection.LeaderElector, error) {
	lctx, err := factory.Build("leader-election")
	if err != nil {
		return nil, fmt.Errorf("building the leader election context: %w", err)
	}
	host, err := os.Hostname()
	if err != nil {
		return nil, fmt.Errorf("leader election identity: %w", err)
	}
	lock, err := resourcelock.NewWithLabels(resourcelock.LeasesResourceLock, o.leaderElectNamespace, "cert-manager-controller",
		lctx.Client.CoreV1(), lctx.Client.CoordinationV1(),
		resourcelock.ResourceLockConfig{Identity: fmt.Sprintf("%s_%d", host, os.Getpid()), EventRecorder: lctx.Recorder},
		map[string]string{"app.kubernetes.io/managed-by": "cert-manager"})
	if err != nil {
		return nil, fmt.Errorf("leader election lock: %w", err)
	}
	return leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:            lock,
		LeaseDuration:   o.leaseDuration,
		RenewDeadline:   o.renewDeadline,
		RetryPeriod:     o.retryPeriod,
		ReleaseOnCancel: true,
		WatchDog:        health,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(context.Context) { started() },
			OnStoppedLeading: func() {}, // Run returns; the caller stops everything
		},
	})
}

// listen opens a TCP listener; port 0 picks a free one.
func listen(ctx context.Context, addr string) (net.Listener, error) {
	var lc net.ListenConfig
	return lc.Listen(ctx, "tcp", addr)
}

// serve runs srv on ln until ctx is done, then shuts it down within 5 s.
func serve(g *errgroup.Group, ctx context.Context, srv *http.Server, ln net.Listener) {
	g.Go(func() error {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	g.Go(func() error {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(sctx) //nolint:contextcheck // ctx is already done
	})
}

// waitErr waits for the group; an error caused only by shutdown is not an error.
func waitErr(ctx context.Context, g *errgroup.Group) error {
	err := g.Wait()
	if err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

func allSynced[K comparable](m map[K]bool) bool {
	for _, ok := range m {
		if !ok {
			return false
		}
	}
	return true
}

// moduleVersion is the cert-manager version linked in, from the build info.
func moduleVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/cert-manager/cert-manager" {
				if d.Replace != nil {
					return d.Replace.Version
				}
				return d.Version
			}
		}
	}
	return "unknown"
}
