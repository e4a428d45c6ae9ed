package scale

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	v1 "github.com/mizzen-mesh/mizzen/api/v1alpha1"
	"github.com/mizzen-mesh/mizzen/internal/envoy"
	"github.com/mizzen-mesh/mizzen/internal/mesh"
	"github.com/mizzen-mesh/mizzen/test/cluster"
	testmanager "github.com/mizzen-mesh/mizzen/test/manager"
	"github.com/mizzen-mesh/mizzen/test/testenv"
)

// params are the benchmark's settings, from the environment.
type params struct {
	size meshSize
	// all also changes every VirtualService at once (MIZZEN_SCALE_ALL, default on).
	all bool
	// bareWorkers are the baseline's concurrent writers (MIZZEN_SCALE_BARE_WORKERS): by default the
	// proxy reconciler's MaxConcurrentReconciles default, 4.
	bareWorkers int
	// profiles: the manager serves pprof and the harness saves its heap profiles (a manager as
	// deployed serves none, and then does not sample its allocations).
	profiles bool
	// cpuProfile, when set, records the CPU profiles of the manager and kube-apiserver for that
	// long from the start of the bare rounds and of the one-VS change (MIZZEN_SCALE_CPU_PROFILE,
	// seconds) into the state dir's logs (phaseProfiler).
	cpuProfile time.Duration
	// stateDir is the cluster's state dir (MIZZEN_SCALE_STATE_DIR); default a temp dir, removed
	// after a passing run.
	stateDir string
	// stampPods is the manager's --stamp-pods (MIZZEN_SCALE_STAMP_PODS=0 turns it off: one API
	// write per proxy config change instead of two).
	stampPods bool
	// memLimit and gcPercent are the manager's GOMEMLIMIT and GOGC: config/manager's unless
	// MIZZEN_SCALE_GOMEMLIMIT (e.g. 120MiB, or off) or MIZZEN_SCALE_GOGC (e.g. 100, Go's default)
	// say otherwise; empty: not set.
	memLimit, gcPercent string
}

func paramsFromEnv(b *testing.B) params {
	num := func(name string, def int) int {
		v := os.Getenv(name)
		if v == "" {
			return def
		}
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			b.Fatalf("%s=%q: want a positive number", name, v)
		}
		return n
	}
	p := params{
		size: meshSize{services: num("MIZZEN_SCALE_SERVICES", 100), pods: num("MIZZEN_SCALE_PODS", 1000),
			namespaces: num("MIZZEN_SCALE_NAMESPACES", 1)},
		all:         os.Getenv("MIZZEN_SCALE_ALL") != "0",
		bareWorkers: num("MIZZEN_SCALE_BARE_WORKERS", 4),
		stateDir:    os.Getenv("MIZZEN_SCALE_STATE_DIR"),
		stampPods:   os.Getenv("MIZZEN_SCALE_STAMP_PODS") != "0",
	}
	shipped, err := shippedRuntimeEnv()
	if err != nil {
		b.Fatalf("reading the manager's runtime settings from config/manager: %v", err)
	}
	p.memLimit = cmp.Or(os.Getenv("MIZZEN_SCALE_GOMEMLIMIT"), shipped["GOMEMLIMIT"])
	p.gcPercent = cmp.Or(os.Getenv("MIZZEN_SCALE_GOGC"), shipped["GOGC"])
	switch e := os.Getenv("MIZZEN_SCALE_EGRESS"); e {
	case "", "all":
	case "namespace":
		p.size.scoped = true
	default:
		b.Fatalf("MIZZEN_SCALE_EGRESS=%q: want all (the default: proxies see every service) or namespace", e)
	}
	if p.size.namespaces > p.size.services {
		b.Fatalf("MIZZEN_SCALE_NAMESPACES=%d is more than MIZZEN_SCALE_SERVICES=%d", p.size.namespaces, p.size.services)
	}
	if os.Getenv("MIZZEN_SCALE_CPU_PROFILE") != "" {
		p.cpuProfile = time.Duration(num("MIZZEN_SCALE_CPU_PROFILE", 0)) * time.Second
	}
	p.profiles = os.Getenv("MIZZEN_SCALE_PROFILES") == "1" || p.cpuProfile > 0
	if p.size.pods < 2*p.size.services {
		b.Fatalf("MIZZEN_SCALE_PODS=%d is less than two per service (MIZZEN_SCALE_SERVICES=%d): each service needs a v1 and a v2 pod",
			p.size.pods, p.size.services)
	}
	return p
}

// podsPerNode spreads the pods over fake nodes as a kubelet's default max-pods would.
const podsPerNode = 110

// Timeouts of the phases: generous, for a 2-core machine shared with other work.
const (
	convergeTimeout = 40 * time.Minute
	rolloutTimeout  = 15 * time.Minute
	settleTimeout   = 10 * time.Minute
)

// results are the figures one run measures.
type results struct {
	clusterStart, converged      time.Duration
	settled                      time.Duration
	oneReady, allReady           time.Duration
	one, all, noop               counters
	configBytes                  int
	peakRSS                      int64
	peakAnon, fileAtPeak         int64 // sampled every 2 s
	bareRate, managerRate        float64
	managerE2ERate, windowWrites float64
	writeWindow                  time.Duration
	bareElapsed, barePairElapsed time.Duration
	barePairRate                 float64
	// CPU time of every process during the bare rounds and the one-VS rollout.
	bareCPU, barePairCPU, oneCPU  cpuTimes
	changedOne, changedAll, nodes int
}

// BenchmarkRollout is issue 4's scale harness; see the package documentation.
func BenchmarkRollout(b *testing.B) {
	p := paramsFromEnv(b)
	assets, err := testenv.AssetsDir()
	if err == nil {
		if missing := cluster.MissingBinaries(assets, false); len(missing) > 0 {
			err = fmt.Errorf("%s missing from %s", strings.Join(missing, ", "), assets)
		}
	}
	if err != nil {
		b.Skipf("the control-plane binaries are not available (build them with hack/assets.sh): %v", err)
	}
	ctx := context.Background()
	logf.SetLogger(logr.Discard()) // the harness's clients log nothing worth reading
	var r results
	s := p.size

	// The manager builds while the cluster starts.
	built := make(chan error, 1)
	var bin string
	go func() {
		var err error
		bin, err = testmanager.Build(ctx, testenv.RepoRoot(), b.TempDir())
		built <- err
	}()

	c := startCluster(b, p, assets)
	r.clusterStart = c.Timings().Total
	r.nodes = len(c.NodeNames())
	if _, err := envtest.InstallCRDs(c.RESTConfig(), envtest.CRDInstallOptions{
		Paths: []string{filepath.Join(testenv.RepoRoot(), "config", "crd", "bases")}, ErrorIfPathMissing: true,
	}); err != nil {
		b.Fatalf("installing Mizzen's CRDs: %v", err)
	}
	if err := <-built; err != nil {
		b.Fatal(err)
	}
	var env []string
	if p.memLimit != "" {
		env = append(env, "GOMEMLIMIT="+p.memLimit)
	}
	if p.gcPercent != "" {
		env = append(env, "GOGC="+p.gcPercent)
	}
	m, err := startManager(ctx, c, bin, p.profiles, env, fmt.Sprintf("--stamp-pods=%t", p.stampPods))
	if err != nil {
		b.Fatal(err)
	}
	progress("manager pid %d, log %s", m.pid, m.logFilePath)
	stopPeak := make(chan struct{})
	peakSaved := m.watchMemory(4<<20, stopPeak)
	defer func() { close(stopPeak); <-peakSaved }()
	cl, err := client.NewWithWatch(c.RESTConfig(), client.Options{Scheme: newScheme()})
	if err != nil {
		b.Fatal(err)
	}

	// Initial convergence: from the first create until every pod runs, every Service lists them
	// all, and every VirtualService is Ready on every proxy.
	start := time.Now()
	if err := createMesh(ctx, cl, s); err != nil {
		b.Fatal(err)
	}
	progress("created %d services (%d pods) in %s", s.services, s.pods, time.Since(start).Round(time.Millisecond))
	must(b, watchUntil(ctx, m.healthy, cl, &corev1.PodList{}, s.watchNamespace(), convergeTimeout, fmt.Sprintf("%d pods running", s.pods),
		func(pods map[string]*corev1.Pod) bool { return s.podsRunning(pods) == s.pods }))
	progress("%d pods running after %s", s.pods, time.Since(start).Round(time.Millisecond))
	must(b, watchUntil(ctx, m.healthy, cl, &discoveryv1.EndpointSliceList{}, s.watchNamespace(), convergeTimeout, "every pod in its Service's EndpointSlices",
		func(slices map[string]*discoveryv1.EndpointSlice) bool { return endpointsComplete(slices, s) }))
	must(b, watchUntil(ctx, m.healthy, cl, &v1.VirtualServiceList{}, s.watchNamespace(), convergeTimeout,
		fmt.Sprintf("%d VirtualServices Ready on the %d proxies they shape", s.services, s.pods),
		func(vss map[string]*v1.VirtualService) bool { return allRolledOut(vss, nil, s) }))
	r.converged = time.Since(start)
	progress("initial convergence: %s", r.converged.Round(time.Millisecond))
	must(b, settle(ctx, m))
	r.settled = time.Since(start)
	progress("manager idle after %s: %s", r.settled.Round(time.Millisecond), mustCounters(b, m))
	saveHeap(b, m, "converged")

	// The baseline, before the rollouts (each full rollout adds a proxy ConfigMap's size × pods to
	// etcd's history, which slows every later write, to timeouts at 1,000 pods): the same number
	// of ConfigMap writes of the same size from a bare client. Failures are reported, not fatal:
	// the manager's figures are still worth having.
	cpu := func() cpuTimes {
		pids := c.PIDs()
		pids["harness"] = os.Getpid() // the bare client, and the harness's watches
		t, err := readCPU(pids)
		if err != nil {
			b.Fatal(err)
		}
		return t
	}
	var profiler *phaseProfiler
	if p.cpuProfile > 0 {
		profiler = &phaseProfiler{d: p.cpuProfile, m: m, cs: c.Client(), dir: filepath.Join(c.StateDir(), "logs")}
	}
	bare, err := startBaseline(ctx, c.RESTConfig(), cl, s, p.bareWorkers, cpu, profiler, &r)
	if err != nil {
		b.Errorf("baseline: %v", err)
	} else {
		progress("bare client: %.1f writes/s (%.1f KiB ConfigMaps)", r.bareRate, float64(r.configBytes)/1024)
	}
	must(b, settle(ctx, m))

	// One VirtualService: 90/10 → 50/50. Every proxy that sees the service (every proxy when
	// unscoped, those of its namespace when scoped) routes to it, so their ConfigMaps change.
	before := podHashes(ctx, b, cl, s, p.stampPods)
	c0 := mustCounters(b, m)
	sampler := m.sampleWrites(500 * time.Millisecond)
	cpu0 := cpu()
	profiled := profiler.start(ctx, "rollout")
	start = time.Now()
	gen, err := s.setWeights(ctx, cl, 0, 50, 50)
	if err != nil {
		b.Fatal(err)
	}
	must(b, watchUntil(ctx, m.healthy, cl, &v1.VirtualServiceList{}, s.namespace(0), rolloutTimeout,
		fmt.Sprintf("%s Ready for generation %d on %d proxies", serviceName(0), gen, s.shapedBy(0)),
		func(vss map[string]*v1.VirtualService) bool {
			vs := vss[serviceName(0)]
			return vs != nil && rolledOut(vs, gen, s.shapedBy(0))
		}))
	r.oneReady = time.Since(start)
	r.oneCPU = cpu().minus(cpu0)
	if err := profiled(); err != nil {
		b.Error(err)
	}
	r.one = mustCounters(b, m).minus(c0)
	r.writeWindow, r.windowWrites = sampler.window()
	progress("one VirtualService rolled out in %s: %s", r.oneReady.Round(time.Millisecond), r.one)
	r.changedOne = changedHashes(before, podHashes(ctx, b, cl, s, p.stampPods))
	if r.changedOne != s.shapedBy(0) {
		b.Errorf("Ready for generation %d with %d pods carrying a new config hash, want the %d it shapes", gen, r.changedOne, s.shapedBy(0))
	}
	saveHeap(b, m, "one-vs")
	if r.writeWindow > 0 {
		r.managerRate = r.windowWrites / r.writeWindow.Seconds()
	}
	r.managerE2ERate = r.one.writes / r.oneReady.Seconds()
	must(b, settle(ctx, m))

	// Every VirtualService at once: → 80/20.
	if p.all {
		before = podHashes(ctx, b, cl, s, p.stampPods)
		c0 = mustCounters(b, m)
		gens := make(map[string]int64, s.services)
		start = time.Now()
		var mu sync.Mutex
		err := parallel(s.services, 8, func(i int) error {
			gen, err := s.setWeights(ctx, cl, i, 80, 20)
			mu.Lock()
			gens[serviceName(i)] = gen
			mu.Unlock()
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		must(b, watchUntil(ctx, m.healthy, cl, &v1.VirtualServiceList{}, s.watchNamespace(), rolloutTimeout,
			fmt.Sprintf("%d VirtualServices Ready for their new generation", s.services),
			func(vss map[string]*v1.VirtualService) bool { return allRolledOut(vss, gens, s) }))
		r.allReady = time.Since(start)
		r.all = mustCounters(b, m).minus(c0)
		progress("every VirtualService rolled out in %s: %s", r.allReady.Round(time.Millisecond), r.all)
		r.changedAll = changedHashes(before, podHashes(ctx, b, cl, s, p.stampPods))
		if r.changedAll != s.pods {
			b.Errorf("every VirtualService Ready with %d of %d pods carrying a new config hash", r.changedAll, s.pods)
		}
		must(b, settle(ctx, m))
	}

	// A no-op resync: a Service annotation changes no proxy's config. The manager reconciles the
	// proxies that see the Service (the fan-out of a Service change: every proxy, or its
	// namespace's when scoped: then one Service per namespace is annotated) and must write nothing.
	reached, touched := s.shapedBy(0), 1
	if s.scoped {
		reached, touched = s.pods, s.namespaces
	}
	c0 = mustCounters(b, m)
	touch := fmt.Sprintf(`{"metadata":{"annotations":{"scale.mizzen.dev/touched":%q}}}`, time.Now().Format(time.RFC3339Nano))
	for i := range touched { // service i is in namespace i mod namespaces
		svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: serviceName(i), Namespace: s.namespace(i)}}
		if err := cl.Patch(ctx, svc, client.RawPatch(types.MergePatchType, []byte(touch))); err != nil {
			b.Fatal(err)
		}
	}
	must(b, pollUntil(ctx, m.healthy, settleTimeout, 250*time.Millisecond, fmt.Sprintf("the manager to reconcile the %d proxies after a Service annotation", reached),
		func() (bool, error) {
			now, err := m.scrape()
			if err != nil {
				return false, err
			}
			done := now.counters().minus(c0).reconciles
			return done >= float64(reached) && now.proxyIdle(), fmt.Errorf("%.0f proxies reconciled", done)
		}))
	r.noop = mustCounters(b, m).minus(c0)
	progress("no-op resync: %s", r.noop)
	if r.noop.writes != 0 {
		b.Errorf("a Service annotation (no config change) made %.0f ConfigMap writes, want 0", r.noop.writes)
	}

	if r.peakRSS, r.peakAnon, r.fileAtPeak, err = m.memory(); err != nil {
		b.Fatal(err)
	}
	saveHeap(b, m, "end")

	// The baseline again, each write followed by a pod annotation patch: the API work the manager
	// does per proxy. Last, as its pod patches make the manager reconcile every proxy.
	if bare != nil {
		if err := finishBaseline(ctx, cl, bare, s, cpu, profiler, &r); err != nil {
			b.Errorf("baseline with pod patches: %v", err)
		} else {
			progress("bare client with a pod patch per write: %.1f writes/s", r.barePairRate)
		}
	}
	report(b, p, r)
}

// progress prints a line at once (b.Log shows only the first lines of a benchmark's log, at its end).
func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "scale: "+format+"\n", args...)
}

// startBaseline creates the baseline's ConfigMaps, as large as a real proxy's, and times one
// round of updates into r (see bareLoop).
func startBaseline(ctx context.Context, cfg *rest.Config, cl client.Client, s meshSize, workers int, cpu func() cpuTimes, profiler *phaseProfiler, r *results) (*bareLoop, error) {
	data, err := proxyConfigData(ctx, cl, s.namespace(0))
	if err != nil {
		return nil, err
	}
	r.configBytes = configSize(data)
	bare, err := newBareLoop(ctx, cfg, data, s.pods, workers)
	if err != nil {
		return nil, err
	}
	cpu0 := cpu()
	profiled := profiler.start(ctx, "bare")
	if r.bareElapsed, err = bare.round(ctx, 1, nil); err != nil {
		return nil, err
	}
	r.bareCPU = cpu().minus(cpu0)
	if err := profiled(); err != nil {
		progress("%v", err)
	}
	r.bareRate = float64(s.pods) / r.bareElapsed.Seconds()
	return bare, nil
}

// finishBaseline times a round of updates each followed by a patch of a mesh pod into r.
func finishBaseline(ctx context.Context, cl client.Client, bare *bareLoop, s meshSize, cpu func() cpuTimes, profiler *phaseProfiler, r *results) error {
	var names []types.NamespacedName
	for _, ns := range s.meshNamespaces() {
		pods := &corev1.PodList{}
		if err := cl.List(ctx, pods, client.InNamespace(ns)); err != nil {
			return err
		}
		for i := range pods.Items {
			names = append(names, client.ObjectKeyFromObject(&pods.Items[i]))
		}
	}
	if len(names) < s.pods {
		return fmt.Errorf("%d mesh pods, want %d", len(names), s.pods)
	}
	names = names[:s.pods]
	var err error
	cpu0 := cpu()
	profiled := profiler.start(ctx, "bare-pod")
	if r.barePairElapsed, err = bare.round(ctx, 2, names); err != nil {
		return err
	}
	r.barePairCPU = cpu().minus(cpu0)
	if err := profiled(); err != nil {
		progress("%v", err)
	}
	r.barePairRate = float64(s.pods) / r.barePairElapsed.Seconds()
	return nil
}

// startCluster starts the local cluster with a fake node per podsPerNode pods; b's cleanup stops
// it, and removes its state dir when the run passed and the dir was a temporary one.
func startCluster(b *testing.B, p params, assets string) *cluster.Cluster {
	state, temporary := p.stateDir, false
	if state == "" {
		var err error
		if state, err = os.MkdirTemp("", "mizzen-scale-"); err != nil {
			b.Fatal(err)
		}
		temporary = true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	opts := cluster.Options{
		AssetsDir: assets,
		StateDir:  state,
		Nodes:     (p.size.pods + podsPerNode - 1) / podsPerNode,
		Logf:      progress,
	}
	if p.cpuProfile > 0 {
		opts.ExtraArgs = map[string][]string{cluster.APIServer: {"--profiling=true"}} // phaseProfiler
	}
	c, err := cluster.Start(ctx, opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := c.Stop(); err != nil {
			b.Errorf("stopping the local cluster: %v", err)
		}
		if b.Failed() || !temporary {
			b.Logf("local cluster state and logs (the manager's too) kept in %s", filepath.Join(state, "logs"))
			return
		}
		os.RemoveAll(state)
	})
	return c
}

func newScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(v1.AddToScheme(s))
	return s
}

// allRolledOut reports whether every one of the mesh's VirtualServices is rolled out on every
// proxy it shapes (meshSize.shapedBy): at the generation gens names, or (gens nil) at its current one.
func allRolledOut(vss map[string]*v1.VirtualService, gens map[string]int64, s meshSize) bool {
	for i := range s.services {
		vs := vss[serviceName(i)]
		if vs == nil {
			return false
		}
		gen := vs.Generation
		if gens != nil {
			gen = gens[vs.Name]
		}
		if !rolledOut(vs, gen, s.shapedBy(i)) {
			return false
		}
	}
	return true
}

// settle waits until the manager is done with the last change: the proxy controller idle and its
// write and render counters unchanged between two scrapes a second apart. Events still in flight
// (the echoes of its own writes) would otherwise count towards the next measurement.
func settle(ctx context.Context, m *manager) error {
	var last *counters
	return pollUntil(ctx, m.healthy, settleTimeout, time.Second, "the manager to settle", func() (bool, error) {
		now, err := m.scrape()
		if err != nil {
			return false, err
		}
		cur := now.counters()
		quiet := last != nil && cur.writes == last.writes && cur.renders == last.renders && cur.reconciles == last.reconciles
		last = &cur
		return quiet && now.proxyIdle(), fmt.Errorf("still working: %.0f writes, %.0f reconciles so far", cur.writes, cur.reconciles)
	})
}

func mustCounters(b *testing.B, m *manager) counters {
	b.Helper()
	now, err := m.scrape()
	if err != nil {
		b.Fatal(err)
	}
	return now.counters()
}

func must(b *testing.B, err error) {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
}

// podHashes maps each mesh pod (namespace/name) to its config hash: the one the manager stamped
// on it, or, when it stamps none, the one its ConfigMaps' hashes make (and then no pod may carry
// one).
func podHashes(ctx context.Context, b *testing.B, cl client.Client, s meshSize, stamped bool) map[string]string {
	b.Helper()
	out := make(map[string]string, s.pods)
	for _, ns := range s.meshNamespaces() {
		pods := &corev1.PodList{}
		if err := cl.List(ctx, pods, client.InNamespace(ns)); err != nil {
			b.Fatal(err)
		}
		written := map[string]string{}
		if !stamped {
			cms := &metav1.PartialObjectMetadataList{}
			cms.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ConfigMapList"))
			if err := cl.List(ctx, cms, client.InNamespace(ns)); err != nil {
				b.Fatal(err)
			}
			for _, cm := range cms.Items {
				written[cm.Name] = cm.Annotations[envoy.HashAnnotation]
			}
		}
		for _, p := range pods.Items {
			key := p.Namespace + "/" + p.Name
			if stamped {
				out[key] = p.Annotations[envoy.HashAnnotation]
				continue
			}
			if h, ok := p.Annotations[envoy.HashAnnotation]; ok {
				b.Fatalf("pod %s carries config hash %s although the manager runs with --stamp-pods=false", key, h)
			}
			id := p.Annotations[mesh.ProxyIDAnnotation]
			if c, m := written[envoy.ClustersConfigMapName(id)], written[envoy.ConfigMapName(id)]; c != "" && m != "" {
				out[key] = envoy.StampOf(c, m)
			}
		}
	}
	return out
}

// saveHeap saves the manager's live heap profile beside its log (see manager.saveHeapProfile); a
// failure is reported, not fatal.
func saveHeap(b *testing.B, m *manager, name string) {
	if m.pprofURL == "" {
		return
	}
	path, err := m.saveHeapProfile(name, true)
	if err != nil {
		b.Errorf("heap profile %s: %v", name, err)
		return
	}
	progress("heap profile: %s", path)
}

// changedHashes counts the pods of after whose hash is set and differs from before.
func changedHashes(before, after map[string]string) int {
	n := 0
	for pod, h := range after {
		if h != "" && h != before[pod] {
			n++
		}
	}
	return n
}

// proxyConfigData is the data of one proxy's main ConfigMap (routes) in namespace ns, the payload
// the baseline writes.
func proxyConfigData(ctx context.Context, cl client.Client, ns string) (map[string]string, error) {
	pods := &corev1.PodList{}
	if err := cl.List(ctx, pods, client.InNamespace(ns), client.Limit(1)); err != nil {
		return nil, fmt.Errorf("reading a mesh pod: %w", err)
	}
	if len(pods.Items) == 0 {
		return nil, fmt.Errorf("no pod in namespace %s", ns)
	}
	// The ConfigMap a weight change rewrites: routes, not clusters.
	cm := &corev1.ConfigMap{}
	name := envoy.ConfigMapName(pods.Items[0].Annotations[mesh.ProxyIDAnnotation])
	if err := cl.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, cm); err != nil {
		return nil, fmt.Errorf("reading proxy ConfigMap %s: %w", name, err)
	}
	return cm.Data, nil
}

// report publishes the figures as benchmark metrics and a summary.
func report(b *testing.B, p params, r results) {
	const mib = 1 << 20
	s := p.size
	percent := func(rate, of float64) float64 {
		if of == 0 {
			return 0 // the baseline failed
		}
		return 100 * rate / of
	}
	ratio, e2eRatio, pairRatio := percent(r.managerRate, r.bareRate), percent(r.managerE2ERate, r.bareRate), percent(r.managerRate, r.barePairRate)
	b.ReportMetric(0, "ns/op") // one run is minutes of setup; the figures below are what counts
	b.ReportMetric(r.converged.Seconds(), "converge-s")
	b.ReportMetric(r.settled.Seconds(), "idle-s")
	b.ReportMetric(r.oneReady.Seconds(), "ready-one-s")
	b.ReportMetric(r.one.writes, "writes-one")
	b.ReportMetric(r.one.bytes/mib, "MiB-one")
	if p.all {
		b.ReportMetric(r.allReady.Seconds(), "ready-all-s")
		b.ReportMetric(r.all.writes, "writes-all")
		b.ReportMetric(r.all.bytes/mib, "MiB-all")
	}
	b.ReportMetric(r.noop.writes, "noop-writes")
	b.ReportMetric(float64(r.peakRSS)/mib, "peak-RSS-MiB")
	b.ReportMetric(float64(r.peakAnon)/mib, "peak-anon-MiB")
	b.ReportMetric(r.bareRate, "bare-writes/s")
	b.ReportMetric(r.barePairRate, "bare+pod-writes/s")
	b.ReportMetric(r.managerRate, "mgr-writes/s")
	b.ReportMetric(ratio, "mgr/bare-%")
	b.ReportMetric(pairRatio, "mgr/bare+pod-%")
	b.ReportMetric(e2eRatio, "mgr-e2e/bare-%")

	var sb strings.Builder
	scope := "unscoped proxies (each sees every service)"
	if s.scoped {
		scope = fmt.Sprintf("scoped proxies (%s %q: each sees its namespace's services)", mesh.EgressHostsAnnotation, egressOwnNamespace)
	}
	fmt.Fprintf(&sb, "\n%d services × %d pods in %d namespace(s), %s, on %d fake nodes (cluster started in %s)\n",
		s.services, s.pods, len(s.meshNamespaces()), scope, r.nodes, r.clusterStart.Round(time.Second))
	fmt.Fprintf(&sb, "  initial convergence (create → pods running, endpoints complete, every VS Ready): %s; manager idle after %s\n",
		r.converged.Round(time.Millisecond), r.settled.Round(time.Millisecond))
	fmt.Fprintf(&sb, "  one VS 90/10→50/50: Ready in %s; %.0f ConfigMap writes (%.1f MiB), %d/%d proxies with a new config hash, %.0f renders, %.0f snapshot builds\n",
		r.oneReady.Round(time.Millisecond), r.one.writes, r.one.bytes/mib, r.changedOne, s.shapedBy(0), r.one.renders, r.one.builds)
	if p.all {
		fmt.Fprintf(&sb, "  all %d VS →80/20: all Ready in %s; %.0f ConfigMap writes (%.1f MiB; %.2f per proxy), %d/%d proxies with a new config hash, %.0f renders, %.0f snapshot builds\n",
			s.services, r.allReady.Round(time.Millisecond), r.all.writes, r.all.bytes/mib, r.all.writes/float64(s.pods), r.changedAll, s.pods, r.all.renders, r.all.builds)
	}
	fmt.Fprintf(&sb, "  no-op resync (Service annotated): %.0f reconciles, %.0f renders, %.0f ConfigMap writes (target 0)\n", r.noop.reconciles, r.noop.renders, r.noop.writes)
	limit := fmt.Sprintf("GOGC=%s, GOMEMLIMIT=%s", cmp.Or(p.gcPercent, "100"), cmp.Or(p.memLimit, "off"))
	fmt.Fprintf(&sb, "  manager peak RSS: %.0f MiB, %s (target < 150 MiB at 1,000 services / 2,000 pods); of it, at the anonymous peak: %.0f MiB anonymous (heap, stacks), %.0f MiB file pages (the binary)\n",
		float64(r.peakRSS)/mib, limit, float64(r.peakAnon)/mib, float64(r.fileAtPeak)/mib)
	fmt.Fprintf(&sb, "  proxy ConfigMap: %.1f KiB\n", float64(r.configBytes)/1024)
	fmt.Fprintf(&sb, "  bare client, %d workers: %d updates of that size in %s = %.1f writes/s; each with a pod patch: %s = %.1f writes/s\n",
		p.bareWorkers, s.pods, r.bareElapsed.Round(time.Millisecond), r.bareRate, r.barePairElapsed.Round(time.Millisecond), r.barePairRate)
	fmt.Fprintf(&sb, "  manager, one-VS rollout: %.0f writes in a %s window = %.1f writes/s = %.0f%% of bare (target ≥ 70%% at 1,000 pods), %.0f%% of bare+pod; patch to Ready: %.1f writes/s = %.0f%%\n",
		r.windowWrites, r.writeWindow.Round(time.Millisecond), r.managerRate, ratio, pairRatio, r.managerE2ERate, e2eRatio)
	// The same comparison in CPU: what each write costs every process of the run together.
	fmt.Fprintf(&sb, "  CPU per ConfigMap write, bare: %s\n", r.bareCPU.per(s.pods))
	fmt.Fprintf(&sb, "  CPU per ConfigMap write + pod patch, bare: %s\n", r.barePairCPU.per(s.pods))
	fmt.Fprintf(&sb, "  CPU per proxy updated, one-VS rollout (patch to Ready): %s\n", r.oneCPU.per(int(r.one.writes)))
	if r.one.writes > 0 && r.oneCPU.total() > 0 && r.bareCPU != nil {
		cpuRatio := 100 * (r.bareCPU.total().Seconds() / float64(s.pods)) / (r.oneCPU.total().Seconds() / r.one.writes)
		b.ReportMetric(cpuRatio, "bare/mgr-cpu-%")
		fmt.Fprintf(&sb, "  bare CPU per write / manager CPU per proxy updated = %.0f%% (the write-rate ratio a CPU-bound machine allows)\n", cpuRatio)
	}
	b.Log(sb.String())
	progress("%s", sb.String())
}
