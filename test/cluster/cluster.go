// Package cluster runs a local Kubernetes cluster made of real control-plane binaries — etcd,
// kube-apiserver, kube-controller-manager, kube-scheduler — with kwok playing the kubelet for fake
// nodes and, optionally, the cert-manager controller. The end-to-end tests, the demo and the
// benchmarks share it; `go run ./hack/cluster start` runs one by hand.
//
// Everything listens on 127.0.0.1 on free ports, keeps its state (data, certificates, kubeconfigs,
// logs, PID files) under Options.StateDir, and runs in its own process group with Pdeathsig, so no
// process outlives the program that started it. Stop ends them by PID: SIGTERM, then SIGKILL after
// Options.StopTimeout.
//
// Pods run on fake nodes: kwok marks them Running and Ready and gives them an IP from the node's
// podCIDR, but no container runs. Every fake node carries the taint kwok.x-k8s.io/node=fake:NoSchedule
// so that nothing lands there by accident: pods the tests create must tolerate it (see
// TolerateFakeNodes and FakeNodeToleration).
//
// Typical use, in a suite's setup:
//
//	assets, _ := testenv.AssetsDir()
//	c, err := cluster.Start(ctx, cluster.Options{
//		AssetsDir:   assets,
//		StateDir:    dir,
//		Nodes:       3,
//		CertManager: cluster.CertManagerAvailable(assets),
//	})
//	// ... DeferCleanup(c.Stop) / t.Cleanup(func() { c.Stop() })
//	cfg := c.RESTConfig() // or KUBECONFIG=c.Kubeconfig() for kubectl
package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Component names: the binaries in the assets directory, and the names of their log and PID files.
const (
	Etcd              = "etcd"
	APIServer         = "kube-apiserver"
	ControllerManager = "kube-controller-manager"
	Scheduler         = "kube-scheduler"
	Kwok              = "kwok"
	CertManager       = "cert-manager-controller"
)

// CertManagerNamespace is the namespace cert-manager runs in when installed from its own manifests
// or Helm chart, and there also its cluster resource namespace: where a CA ClusterIssuer reads its
// key pair. config/default puts the mesh CA Certificate in it, so the local cluster uses the same
// one: Start creates it and runs the controller with --cluster-resource-namespace set to it (the
// controller binary's own default, like upstream's, is kube-system).
const CertManagerNamespace = "cert-manager"

// requiredBinaries must be in the assets directory; cert-manager-controller only when asked for.
var requiredBinaries = []string{Etcd, APIServer, ControllerManager, Scheduler, Kwok}

// Options configures Start. AssetsDir and StateDir are required; the rest have defaults.
type Options struct {
	// AssetsDir holds etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok and
	// (for CertManager) cert-manager-controller: what hack/assets.sh prints, or testenv.AssetsDir().
	AssetsDir string
	// StateDir receives the etcd data, certificates, kubeconfigs, logs/<component>.log and
	// run/<component>.pid. It must be empty, absent, or a state dir of an earlier cluster whose
	// processes have ended (its contents are then replaced).
	StateDir string
	// Nodes is the number of fake nodes (default 1).
	Nodes int
	// CertManager also runs cert-manager-controller from AssetsDir, with cert-manager's CRDs
	// installed. CertManagerAvailable tells whether the binary is there.
	CertManager bool
	// CertManagerCRDDir holds cert-manager's CRD YAML files; default: deploy/crds of the
	// github.com/cert-manager/cert-manager module the main go.mod requires (found with `go mod download`).
	CertManagerCRDDir string

	// ServiceCIDR is the Service ClusterIP range (default 10.96.0.0/16).
	ServiceCIDR string
	// ClusterCIDR is the pod range (default 10.244.0.0/16); each node gets a /NodeCIDRMaskSize of it.
	ClusterCIDR string
	// NodeCIDRMaskSize is the prefix length of each node's podCIDR (default 24).
	NodeCIDRMaskSize int
	// KubeAPIQPS is the client QPS of the controller manager, scheduler, cert-manager and of
	// RESTConfig (default 500; burst is twice that). Kubernetes' default of 20–50 makes 1,000
	// replicas take ~5x longer to become Ready.
	KubeAPIQPS int

	// ExtraArgs are appended to a component's command line, keyed by component name (for example
	// {APIServer: {"--v=4"}}); a later flag overrides an earlier one.
	ExtraArgs map[string][]string
	// StopTimeout is how long Stop waits after SIGTERM before SIGKILL (default 10s).
	StopTimeout time.Duration
	// Logf, when set, receives progress lines ("etcd ready in 0.4s").
	Logf func(format string, args ...any)
}

// CertManagerAvailable reports whether assetsDir holds a cert-manager-controller binary.
func CertManagerAvailable(assetsDir string) bool {
	return isExecutable(filepath.Join(assetsDir, CertManager))
}

// MissingBinaries lists the binaries Start needs (cert-manager-controller too when certManager)
// that assetsDir lacks.
func MissingBinaries(assetsDir string, certManager bool) []string {
	var missing []string
	need := requiredBinaries
	if certManager {
		need = append(slices.Clone(need), CertManager)
	}
	for _, b := range need {
		if !isExecutable(filepath.Join(assetsDir, b)) {
			missing = append(missing, b)
		}
	}
	return missing
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path) // follows symlinks: a dangling link is missing
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// Timings says how long each phase of Start took.
type Timings struct {
	PKI        time.Duration // CA, certificates and keys generated
	Etcd       time.Duration // etcd healthy
	APIServer  time.Duration // kube-apiserver /readyz ok (from its start)
	Components time.Duration // controllers up, nodes Ready, default ServiceAccount present (from apiserver ready)
	Total      time.Duration // Start called → returned
}

func (t Timings) String() string {
	r := func(d time.Duration) string { return d.Round(10 * time.Millisecond).String() }
	return fmt.Sprintf("total %s (pki %s, etcd %s, kube-apiserver %s, controllers+nodes %s)",
		r(t.Total), r(t.PKI), r(t.Etcd), r(t.APIServer), r(t.Components))
}

// Cluster is a running local cluster. Its methods are safe for concurrent use.
type Cluster struct {
	opts       Options
	dirs       stateDirs
	ports      ports
	pki        *pki
	restConfig *rest.Config
	client     kubernetes.Interface
	timings    Timings

	mu        sync.Mutex
	procs     []*process // in start order
	nodeNames []string
	stopped   bool
	stopErr   error
}

type stateDirs struct {
	root, pki, etcd, logs, run, config, kwok string
}

type ports struct {
	etcdClient, etcdPeer, apiserver, controllerManager, scheduler, certManagerHealth int
}

const stateMarker = ".mizzen-cluster"

// Start starts the cluster and returns once it is ready to use: kube-apiserver answers /readyz,
// the controller manager and scheduler are healthy, every fake node is Ready (and no longer tainted
// not-ready) with a podCIDR, the default ServiceAccount exists, and — with CertManager — the
// cert-manager CRDs are established, namespace CertManagerNamespace exists and its controller is
// ready.
//
// ctx bounds only the start: cancelling it later does not stop the cluster (call Stop). When
// Start fails it stops whatever it had started and says why, with the end of the failing
// component's log.
func Start(ctx context.Context, opts Options) (_ *Cluster, err error) {
	begin := time.Now()
	if err := opts.complete(); err != nil {
		return nil, err
	}
	c := &Cluster{opts: opts}
	if c.dirs, err = prepareStateDir(opts.StateDir); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			if stopErr := c.Stop(); stopErr != nil {
				err = errors.Join(err, stopErr)
			}
			err = fmt.Errorf("starting the local cluster in %s: %w", opts.StateDir, err)
		}
	}()
	if c.ports, err = freePorts(); err != nil {
		return nil, err
	}

	_, serviceNet, _ := net.ParseCIDR(opts.ServiceCIDR)
	t := time.Now()
	if c.pki, err = newPKI(c.dirs.pki, firstIP(serviceNet)); err != nil {
		return nil, err
	}
	if err := c.writeConfigs(); err != nil {
		return nil, err
	}
	c.timings.PKI = time.Since(t)

	t = time.Now()
	etcd, err := c.start(Etcd, c.etcdArgs(), nil)
	if err != nil {
		return nil, err
	}
	if err := c.waitHTTP(ctx, etcd, fmt.Sprintf("http://127.0.0.1:%d/health", c.ports.etcdClient), nil); err != nil {
		return nil, err
	}
	c.timings.Etcd = time.Since(t)
	c.logf("etcd ready in %s (pid %d)", c.timings.Etcd.Round(time.Millisecond), etcd.pid())

	t = time.Now()
	apiserver, err := c.start(APIServer, c.apiserverArgs(), nil)
	if err != nil {
		return nil, err
	}
	if err := c.waitAPIServer(ctx, apiserver); err != nil {
		return nil, err
	}
	c.timings.APIServer = time.Since(t)
	c.logf("kube-apiserver ready in %s (pid %d) at %s", c.timings.APIServer.Round(time.Millisecond), apiserver.pid(), c.restConfig.Host)

	t = time.Now()
	if err := c.startComponents(ctx); err != nil {
		return nil, err
	}
	c.timings.Components = time.Since(t)
	c.timings.Total = time.Since(begin)
	c.logf("cluster ready: %s; KUBECONFIG=%s", c.timings, c.Kubeconfig())
	return c, nil
}

// startComponents starts everything that needs a ready apiserver and waits for all of it. The
// cert-manager path (CRDs established, then the controller) runs beside the rest.
func (c *Cluster) startComponents(ctx context.Context) (err error) {
	begin := time.Now()
	step := func(what string) { c.logf("%s ok after %s", what, time.Since(begin).Round(time.Millisecond)) }

	var certManager chan error
	if c.opts.CertManager {
		cmCtx, cancel := context.WithCancel(ctx)
		certManager = make(chan error, 1)
		go func() { certManager <- c.startCertManager(cmCtx, step) }()
		defer func() {
			if err != nil { // do not return (and stop the cluster) while it may still start a process
				cancel()
				<-certManager
			}
			cancel()
		}()
	}

	kcm, err := c.start(ControllerManager, c.controllerManagerArgs(), nil)
	if err != nil {
		return err
	}
	sched, err := c.start(Scheduler, c.schedulerArgs(), nil)
	if err != nil {
		return err
	}
	// kwok authenticates as its own user, bound to cluster-admin.
	if err := c.bindClusterAdmin(ctx, kwokUser); err != nil {
		return err
	}
	if _, err := c.start(Kwok, c.kwokArgs(), []string{"KWOK_WORKDIR=" + c.dirs.kwok}); err != nil {
		return err
	}
	if err := c.AddNodes(ctx, c.opts.Nodes); err != nil {
		return err
	}

	insecure := insecureLoopbackClient()
	if err := c.waitHTTP(ctx, kcm, fmt.Sprintf("https://127.0.0.1:%d/healthz", c.ports.controllerManager), insecure); err != nil {
		return err
	}
	step(ControllerManager + " /healthz")
	if err := c.waitHTTP(ctx, sched, fmt.Sprintf("https://127.0.0.1:%d/healthz", c.ports.scheduler), insecure); err != nil {
		return err
	}
	step(Scheduler + " /healthz")
	if err := c.WaitForNodes(ctx); err != nil {
		return err
	}
	step(fmt.Sprintf("%d nodes Ready", c.opts.Nodes))
	if err := c.waitDefaultServiceAccount(ctx); err != nil {
		return err
	}
	step("ServiceAccount default/default")
	if certManager != nil {
		select {
		case err := <-certManager:
			certManager <- err // for the deferred wait
			return err
		case <-ctx.Done():
			return fmt.Errorf("waiting for cert-manager: %w", ctx.Err())
		}
	}
	return nil
}

// startCertManager installs cert-manager's CRDs, creates its namespace, starts its controller once
// the CRDs are established, and waits until it is ready.
func (c *Cluster) startCertManager(ctx context.Context, step func(string)) error {
	if err := c.installCertManagerCRDs(ctx); err != nil {
		return err
	}
	step("cert-manager CRDs established")
	if err := c.bindClusterAdmin(ctx, certManagerUser); err != nil {
		return err
	}
	if err := c.createNamespace(ctx, CertManagerNamespace); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	p, err := c.start(CertManager, c.certManagerArgs(), nil)
	if err != nil {
		return err
	}
	if err := c.waitHTTP(ctx, p, fmt.Sprintf("http://127.0.0.1:%d/readyz", c.ports.certManagerHealth), nil); err != nil {
		return err
	}
	step(CertManager + " /readyz")
	return nil
}

func (o *Options) complete() error {
	if o.AssetsDir == "" || o.StateDir == "" {
		return errors.New("cluster.Options: AssetsDir and StateDir are required")
	}
	var err error
	if o.AssetsDir, err = filepath.Abs(o.AssetsDir); err != nil {
		return err
	}
	if o.StateDir, err = filepath.Abs(o.StateDir); err != nil {
		return err
	}
	if missing := MissingBinaries(o.AssetsDir, o.CertManager); len(missing) > 0 {
		return fmt.Errorf("cluster.Options: %s missing from the assets directory %s (build them with hack/assets.sh)",
			strings.Join(missing, ", "), o.AssetsDir)
	}
	if o.Nodes <= 0 {
		o.Nodes = 1
	}
	if o.ServiceCIDR == "" {
		o.ServiceCIDR = "10.96.0.0/16"
	}
	if o.ClusterCIDR == "" {
		o.ClusterCIDR = "10.244.0.0/16"
	}
	if o.NodeCIDRMaskSize == 0 {
		o.NodeCIDRMaskSize = 24
	}
	if o.KubeAPIQPS <= 0 {
		o.KubeAPIQPS = 500
	}
	if o.StopTimeout <= 0 {
		o.StopTimeout = 10 * time.Second
	}
	_, svc, err := net.ParseCIDR(o.ServiceCIDR)
	if err != nil || svc.IP.To4() == nil {
		return fmt.Errorf("cluster.Options: ServiceCIDR %q is not an IPv4 CIDR", o.ServiceCIDR)
	}
	_, pods, err := net.ParseCIDR(o.ClusterCIDR)
	if err != nil || pods.IP.To4() == nil {
		return fmt.Errorf("cluster.Options: ClusterCIDR %q is not an IPv4 CIDR", o.ClusterCIDR)
	}
	if svc.Contains(pods.IP) || pods.Contains(svc.IP) {
		return fmt.Errorf("cluster.Options: ServiceCIDR %s and ClusterCIDR %s overlap", o.ServiceCIDR, o.ClusterCIDR)
	}
	if ones, _ := pods.Mask.Size(); o.NodeCIDRMaskSize < ones || o.NodeCIDRMaskSize > 30 {
		return fmt.Errorf("cluster.Options: NodeCIDRMaskSize %d does not fit ClusterCIDR %s", o.NodeCIDRMaskSize, o.ClusterCIDR)
	}
	return nil
}

// prepareStateDir makes sure no cluster runs from dir, clears it, and creates the layout.
func prepareStateDir(root string) (stateDirs, error) {
	d := stateDirs{
		root:   root,
		pki:    filepath.Join(root, "pki"),
		etcd:   filepath.Join(root, "etcd"),
		logs:   filepath.Join(root, "logs"),
		run:    filepath.Join(root, "run"),
		config: filepath.Join(root, "config"),
		kwok:   filepath.Join(root, "kwok"),
	}
	entries, err := os.ReadDir(root)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return d, fmt.Errorf("reading the state dir: %w", err)
	case len(entries) > 0:
		if _, err := os.Stat(filepath.Join(root, stateMarker)); err != nil {
			return d, fmt.Errorf("state dir %s is not empty and was not made by this package (no %s); refusing to clear it", root, stateMarker)
		}
		if alive := alivePIDs(d.run, root); len(alive) > 0 {
			return d, fmt.Errorf("a cluster still runs from state dir %s (pids %v); stop it first", root, alive)
		}
		for _, e := range entries {
			if err := os.RemoveAll(filepath.Join(root, e.Name())); err != nil {
				return d, fmt.Errorf("clearing the state dir: %w", err)
			}
		}
	}
	for _, dir := range []string{d.root, d.pki, d.etcd, d.logs, d.run, d.config, d.kwok} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return d, fmt.Errorf("creating %s: %w", dir, err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, stateMarker), []byte("state of a local cluster started by github.com/mizzen-mesh/mizzen/test/cluster\n"), 0o644); err != nil {
		return d, err
	}
	return d, nil
}

// freePorts reserves distinct loopback ports by listening on port 0, all at once, then releases
// them for the components to bind. Another process could take one in between; the component then
// fails to start and Start says so.
func freePorts() (ports, error) {
	var p ports
	targets := []*int{&p.etcdClient, &p.etcdPeer, &p.apiserver, &p.controllerManager, &p.scheduler, &p.certManagerHealth}
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	for _, t := range targets {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return p, fmt.Errorf("finding a free port: %w", err)
		}
		listeners = append(listeners, l)
		*t = l.Addr().(*net.TCPAddr).Port
	}
	return p, nil
}

func (c *Cluster) start(name string, args, env []string) (*process, error) {
	args = append(args, c.opts.ExtraArgs[name]...)
	p, err := startProcess(name, filepath.Join(c.opts.AssetsDir, name), args, env, c.dirs.logs, c.dirs.run)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.procs = append(c.procs, p)
	c.mu.Unlock()
	return p, nil
}

func (c *Cluster) logf(format string, args ...any) {
	if c.opts.Logf != nil {
		c.opts.Logf(format, args...)
	}
}

// Stop ends every process, controllers first (in parallel), then kube-apiserver, then etcd: SIGTERM to
// its process group, SIGKILL after Options.StopTimeout. It is idempotent and keeps the state dir
// (logs stay readable); the next Start on the same dir clears it.
func (c *Cluster) Stop() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return c.stopErr
	}
	c.stopped = true
	var errs []error
	var mu sync.Mutex
	var wg sync.WaitGroup
	var core []*process
	for _, p := range c.procs {
		if p.name == Etcd || p.name == APIServer {
			core = append(core, p)
			continue
		}
		wg.Go(func() {
			if err := p.stop(c.opts.StopTimeout); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for i := len(core) - 1; i >= 0; i-- { // kube-apiserver, then etcd
		if err := core[i].stop(c.opts.StopTimeout); err != nil {
			errs = append(errs, err)
		}
	}
	c.stopErr = errors.Join(errs...)
	return c.stopErr
}

// Kubeconfig is the path of an admin kubeconfig (user kubernetes-admin, group system:masters).
func (c *Cluster) Kubeconfig() string { return filepath.Join(c.dirs.root, "kubeconfig") }

// RESTConfig returns a new admin rest.Config (client certificate, QPS Options.KubeAPIQPS).
func (c *Cluster) RESTConfig() *rest.Config { return rest.CopyConfig(c.restConfig) }

// Client is an admin clientset.
func (c *Cluster) Client() kubernetes.Interface { return c.client }

// Options are the options the cluster runs with, defaults filled in (e.g. ClusterCIDR).
func (c *Cluster) Options() Options { return c.opts }

// StateDir is the absolute state directory.
func (c *Cluster) StateDir() string { return c.dirs.root }

// LogFile is the path of a component's log (stdout and stderr), e.g. LogFile(cluster.APIServer).
func (c *Cluster) LogFile(component string) string {
	return filepath.Join(c.dirs.logs, component+".log")
}

// Timings says how long Start took, by phase.
func (c *Cluster) Timings() Timings { return c.timings }

// PIDs maps each running component to its process id.
func (c *Cluster) PIDs() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	pids := map[string]int{}
	for _, p := range c.procs {
		if done, _ := p.exited(); !done {
			pids[p.name] = p.pid()
		}
	}
	return pids
}

// PeakRSS is the highest resident memory (VmHWM, bytes) a running component has used so far.
func (c *Cluster) PeakRSS(component string) (int64, error) {
	m, err := c.Memory(component)
	return m.Peak, err
}

// Memory is a process's resident memory in bytes, from /proc/<pid>/status.
type Memory struct {
	Peak int64 // VmHWM: the most it has had resident so far
	Anon int64 // RssAnon now: heap, stacks; what the process itself allocated
	File int64 // RssFile now: mapped file pages, its binary's mostly (shared with the page cache)
}

// Memory reads a running component's resident memory.
func (c *Cluster) Memory(component string) (Memory, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.procs {
		if p.name == component {
			return p.memory()
		}
	}
	return Memory{}, fmt.Errorf("%s is not running in this cluster", component)
}

// CheckAlive returns an error naming the first component that has exited (with its log's end).
func (c *Cluster) CheckAlive() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.procs {
		if done, _ := p.exited(); done {
			return p.exitError()
		}
	}
	return nil
}

// NodeNames are the fake nodes this cluster created.
func (c *Cluster) NodeNames() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.nodeNames)
}

// firstIP is the first usable address of n (the kubernetes Service's ClusterIP).
func firstIP(n *net.IPNet) net.IP {
	ip := slices.Clone(n.IP.To4())
	ip[3]++
	return ip
}

// findModuleDir returns the directory of a module in the main module's build list, downloading it
// into the module cache if needed.
func findModuleDir(module string) (string, error) {
	cmd := exec.Command("go", "mod", "download", "-json", module)
	cmd.Dir = repoRoot()
	out, err := cmd.Output()
	var info struct{ Dir, Error string }
	if jsonErr := json.Unmarshal(out, &info); jsonErr != nil || info.Dir == "" {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = fmt.Errorf("%w: %s", err, ee.Stderr)
		}
		return "", fmt.Errorf("go mod download %s (in %s): %s %v", module, cmd.Dir, info.Error, errors.Join(err, jsonErr))
	}
	return info.Dir, nil
}

// repoRoot is the checkout's top directory, found from this source file.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}
