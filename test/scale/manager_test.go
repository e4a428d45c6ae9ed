package scale

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mizzen-mesh/mizzen/test/cluster"
)

// managerProcess is the name the manager runs under beside the cluster: its log is
// <state>/logs/mizzen-manager.log.
const managerProcess = "mizzen-manager"

// manager is the manager binary running against the local cluster.
type manager struct {
	pid        int
	metricsURL string
	// pprofURL serves the manager's Go profiles (loopback only); "" when it serves none.
	pprofURL    string
	cluster     *cluster.Cluster
	httpClient  *http.Client
	logFilePath string

	// memMu guards the memory watchMemory has seen.
	memMu sync.Mutex
	// peakAnon is the most anonymous memory (RssAnon) seen, and fileAtPeak the file-backed
	// resident memory (RssFile: its binary's pages) at that moment.
	peakAnon, fileAtPeak int64
}

// cpuProfile records the manager's CPU profile for d into file, in the background; wait returns
// when it is written.
func (m *manager) cpuProfile(d time.Duration, file string) (wait func() error) {
	done := make(chan error, 1)
	go func() {
		c := &http.Client{Timeout: d + time.Minute}
		done <- saveProfile(c, fmt.Sprintf("%s/profile?seconds=%d", m.pprofURL, int(d.Seconds())), file)
	}()
	return func() error { return <-done }
}

// saveProfile writes what the pprof handler at url serves into file.
func saveProfile(c *http.Client, url, file string) error {
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return writeFile(file, resp.Body)
}

// writeFile writes what r reads into file.
func writeFile(file string, r io.Reader) error {
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", file, err)
	}
	return f.Close()
}

// startManager runs bin against c as it runs in a cluster, minus webhooks (ENABLE_WEBHOOKS=false)
// and cert-manager (not installed: the proxy reconciler then writes configs without
// Certificates), with plain-HTTP metrics on a loopback port (and pprof, with profiles: a manager
// without pprof does not sample its allocations), and with env added to its environment and args
// to its flags. It returns once /readyz answers. c.Stop ends it.
func startManager(ctx context.Context, c *cluster.Cluster, bin string, profiles bool, env []string, args ...string) (*manager, error) {
	metricsAddr, err := freeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	probeAddr, err := freeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	flags := []string{
		"--kubeconfig=" + c.Kubeconfig(),
		"--metrics-bind-address=" + metricsAddr,
		"--metrics-secure=false",
		"--health-probe-bind-address=" + probeAddr,
	}
	var pprofURL string
	if profiles {
		pprofAddr, err := freeLoopbackAddr()
		if err != nil {
			return nil, err
		}
		flags = append(flags, "--pprof-bind-address="+pprofAddr)
		pprofURL = "http://" + pprofAddr + "/debug/pprof"
	}
	pid, err := c.StartProcess(managerProcess, bin, append(flags, args...), append([]string{"ENABLE_WEBHOOKS=false"}, env...))
	if err != nil {
		return nil, err
	}
	m := &manager{
		pid:        pid,
		metricsURL: "http://" + metricsAddr + "/metrics",
		pprofURL:   pprofURL,
		cluster:    c,
		// Uncompressed scrapes: sampled every 500 ms, a gzipped scrape made the manager allocate a
		// compressor of about 1 MiB each time (its pool is emptied by every collection), 8% of what a
		// one-VS rollout allocated, where Prometheus scraping every 15–30 s adds next to nothing.
		httpClient:  &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableCompression: true}},
		logFilePath: c.LogFile(managerProcess),
	}
	err = pollUntil(ctx, c.CheckAlive, time.Minute, 200*time.Millisecond, "the manager's /readyz", func() (bool, error) {
		resp, err := m.httpClient.Get("http://" + probeAddr + "/readyz")
		if err != nil {
			return false, err
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, fmt.Errorf("/readyz: %s", resp.Status)
	})
	if err != nil {
		return nil, fmt.Errorf("%w (manager log: %s)", err, m.logFilePath)
	}
	return m, nil
}

// healthy fails when a process of the cluster or the manager exited, or when the manager failed to
// render a proxy's config (a config over the ConfigMap size limit, for one): that proxy never
// carries the current generation, so no rollout can become Ready.
func (m *manager) healthy() error {
	if err := m.cluster.CheckAlive(); err != nil {
		return err
	}
	now, err := m.scrape()
	if err != nil {
		return nil // a slow scrape is not a failure; an exit is caught above
	}
	if n := now.sum(renderFailures); n > 0 {
		return fmt.Errorf("the manager failed to render %.0f proxy configs (RenderFailed events on the pods; log %s)", n, m.logFilePath)
	}
	return nil
}

// saveHeapProfile writes the manager's heap profile (/debug/pprof/heap) beside its log, as
// manager-heap-<name>.pprof, and returns the file's path. With gc, the manager collects garbage
// first, so the profile's inuse figures are the live heap of this moment; without, they are as of
// the last collection. Read it with: go tool pprof -top -sample_index=inuse_space <file>.
func (m *manager) saveHeapProfile(name string, gc bool) (string, error) {
	url := m.pprofURL + "/heap"
	if gc {
		url += "?gc=1"
	}
	path := filepath.Join(filepath.Dir(m.logFilePath), "manager-heap-"+name+".pprof")
	if err := saveProfile(m.httpClient, url, path); err != nil {
		return "", fmt.Errorf("saving the manager's heap profile: %w", err)
	}
	return path, nil
}

// watchMemory samples the manager's memory every two seconds until stop is closed: it keeps the
// peak of its anonymous memory (VmHWM counts its binary's pages too), and saves a heap profile
// (manager-heap-peak.pprof, without a forced collection; when it serves profiles, with its metrics
// beside it in manager-metrics-peak.txt) each time the peak RSS has grown by step since the last
// one, so that the last one saved shows the heap near the run's peak.
func (m *manager) watchMemory(step int64, stop <-chan struct{}) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		var saved int64
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			mem, err := m.sampleMemory()
			if err != nil || mem.Peak < saved+step || m.pprofURL == "" {
				continue
			}
			if _, err := m.saveHeapProfile("peak", false); err == nil {
				saved = mem.Peak
				// The runtime's own account of the moment (go_memstats_*: heap in use, idle and
				// released, stacks, metadata) says what lies between the heap and the RSS.
				_ = saveProfile(m.httpClient, m.metricsURL, filepath.Join(filepath.Dir(m.logFilePath), "manager-metrics-peak.txt"))
			}
		}
	}()
	return done
}

// sampleMemory reads the manager's memory and notes a new anonymous peak.
func (m *manager) sampleMemory() (cluster.Memory, error) {
	mem, err := m.cluster.Memory(managerProcess)
	if err != nil {
		return mem, err
	}
	m.memMu.Lock()
	defer m.memMu.Unlock()
	if mem.Anon > m.peakAnon {
		m.peakAnon, m.fileAtPeak = mem.Anon, mem.File
	}
	return mem, nil
}

// memory is the manager's peak RSS so far (VmHWM), the peak of its anonymous part among the
// samples, and the file-backed part at that sample.
func (m *manager) memory() (peak, anon, file int64, err error) {
	mem, err := m.sampleMemory()
	if err != nil {
		return 0, 0, 0, err
	}
	m.memMu.Lock()
	defer m.memMu.Unlock()
	return mem.Peak, m.peakAnon, m.fileAtPeak, nil
}

// metrics are the samples of one scrape, keyed by series as exposed: name{labels}.
type metrics map[string]float64

// scrape reads the manager's metrics endpoint.
func (m *manager) scrape() (metrics, error) {
	resp, err := m.httpClient.Get(m.metricsURL)
	if err != nil {
		return nil, fmt.Errorf("scraping the manager's metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scraping the manager's metrics: %s", resp.Status)
	}
	return parseMetrics(resp.Body)
}

// parseMetrics reads the Prometheus text format: "name{labels} value" lines; comments skipped.
func parseMetrics(r io.Reader) (metrics, error) {
	out := metrics{}
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		end := strings.LastIndex(line, "}") + 1 // 0 without labels
		if end == 0 {
			end = strings.IndexByte(line, ' ')
		}
		if end <= 0 || end >= len(line) {
			return nil, fmt.Errorf("metrics line %q: no value", line)
		}
		fields := strings.Fields(line[end:])
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return nil, fmt.Errorf("metrics line %q: %w", line, err)
		}
		out[line[:end]] = v
	}
	return out, s.Err()
}

// sum adds the series of a metric whose labels include every one of labels (`name="value"`).
func (m metrics) sum(name string, labels ...string) float64 {
	total := 0.0
	for series, v := range m {
		n, rest, _ := strings.Cut(series, "{")
		if n != name {
			continue
		}
		match := true
		for _, l := range labels {
			if !strings.Contains(rest, l) {
				match = false
				break
			}
		}
		if match {
			total += v
		}
	}
	return total
}

// Metric names this harness reads.
const (
	configWrites      = "mizzen_proxy_config_writes_total"
	configBytes       = "mizzen_proxy_config_written_bytes_total"
	configRenders     = "mizzen_proxy_config_renders_total"
	renderFailures    = "mizzen_proxy_config_render_failures_total"
	snapshotBuilds    = "mizzen_mesh_snapshot_builds_total"
	reconciles        = "controller_runtime_reconcile_total"
	queueDepth        = "workqueue_depth"
	activeWorkers     = "controller_runtime_active_workers"
	proxyController   = `controller="proxy"`
	successfulResults = `result="success"`
)

// counters are the manager's counters this harness reports, at one moment.
type counters struct {
	writes, bytes, renders, builds, reconciles float64
}

func (m metrics) counters() counters {
	return counters{
		writes:     m.sum(configWrites),
		bytes:      m.sum(configBytes),
		renders:    m.sum(configRenders),
		builds:     m.sum(snapshotBuilds),
		reconciles: m.sum(reconciles, proxyController),
	}
}

func (c counters) String() string {
	return fmt.Sprintf("%.0f ConfigMap writes (%.1f MiB), %.0f proxy reconciles, %.0f renders, %.0f snapshot builds",
		c.writes, c.bytes/(1<<20), c.reconciles, c.renders, c.builds)
}

func (c counters) minus(o counters) counters {
	return counters{c.writes - o.writes, c.bytes - o.bytes, c.renders - o.renders, c.builds - o.builds, c.reconciles - o.reconciles}
}

// proxyIdle reports whether the proxy controller has nothing queued and nothing in progress.
func (m metrics) proxyIdle() bool {
	return m.sum(queueDepth, proxyController) == 0 && m.sum(activeWorkers, proxyController) == 0
}

func freeLoopbackAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free loopback port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// writeSampler scrapes the manager's ConfigMap write counter every interval, to find when a
// rollout's writes began and ended: the write window, free of the time the change takes to reach
// the manager and its status to come back.
type writeSampler struct {
	stop    chan struct{}
	done    chan struct{}
	samples []writeSample
}

type writeSample struct {
	at     time.Time
	writes float64
}

// sampleWrites starts sampling; the first sample is taken before it returns.
func (m *manager) sampleWrites(interval time.Duration) *writeSampler {
	s := &writeSampler{stop: make(chan struct{}), done: make(chan struct{})}
	take := func() {
		if now, err := m.scrape(); err == nil {
			s.samples = append(s.samples, writeSample{time.Now(), now.sum(configWrites)})
		}
	}
	take()
	go func() {
		defer close(s.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				take()
				return
			case <-t.C:
				take()
			}
		}
	}()
	return s
}

// window stops sampling and returns the write window of the samples (see writeWindow).
func (s *writeSampler) window() (time.Duration, float64) {
	close(s.stop)
	<-s.done
	return writeWindow(s.samples)
}

// writeWindow is how long the writes the samples saw took — from the last sample before the first
// write to the first sample that saw the last one, so at most two intervals too long — and how
// many there were.
func writeWindow(samples []writeSample) (time.Duration, float64) {
	if len(samples) < 2 {
		return 0, 0
	}
	base, final := samples[0].writes, samples[len(samples)-1].writes
	if final == base {
		return 0, 0
	}
	var from, to time.Time
	for _, x := range samples {
		if x.writes == base {
			from = x.at
		}
		if x.writes == final && to.IsZero() {
			to = x.at
		}
	}
	return to.Sub(from), final - base
}
