package scale

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/mizzen-mesh/mizzen/test/cluster"
)

// phaseProfiler records, for each measured phase (the bare rounds, the one-VS rollout), the CPU
// profiles of the manager and of kube-apiserver for d from the phase's start: where the CPU per
// write goes, beside the totals /proc gives (cpuTimes). The apiserver then runs with
// --profiling=true (its default; the local cluster turns it off). Profiles land beside the
// manager's log as <process>-<phase>.cpu.pprof.
type phaseProfiler struct {
	d   time.Duration
	m   *manager
	cs  kubernetes.Interface
	dir string
}

// start begins the phase's profiles; wait returns when both are written.
func (p *phaseProfiler) start(ctx context.Context, phase string) (wait func() error) {
	if p == nil {
		return func() error { return nil }
	}
	file := func(process string) string {
		return filepath.Join(p.dir, fmt.Sprintf("%s-%s.cpu.pprof", process, phase))
	}
	progress("recording the CPU profiles of the manager and kube-apiserver for %s from the start of %s", p.d, phase)
	managerDone := p.m.cpuProfile(p.d, file(managerProcess))
	apiDone := make(chan error, 1)
	go func() { apiDone <- p.apiserverProfile(ctx, file(cluster.APIServer)) }()
	return func() error {
		err1, err2 := managerDone(), <-apiDone
		if err1 != nil {
			return fmt.Errorf("the manager's CPU profile of %s: %w", phase, err1)
		}
		if err2 != nil {
			return fmt.Errorf("kube-apiserver's CPU profile of %s: %w", phase, err2)
		}
		return nil
	}
}

// apiserverProfile saves what kube-apiserver's /debug/pprof/profile serves for p.d into file.
func (p *phaseProfiler) apiserverProfile(ctx context.Context, file string) error {
	body, err := p.cs.CoreV1().RESTClient().Get().AbsPath("/debug/pprof/profile").
		Param("seconds", strconv.Itoa(int(p.d.Seconds()))).Timeout(p.d + time.Minute).Stream(ctx)
	if err != nil {
		return err
	}
	defer body.Close()
	return writeFile(file, body)
}
