package cluster

import (
	"fmt"
	"path/filepath"
	"slices"
)

// StartProcess runs another program beside the cluster — for example the operator's manager
// binary in a benchmark — the way Start runs the cluster's own components: in its own process
// group, killed if this program dies, output in LogFile(name), PID under the state dir. Stop ends
// it with the controllers (before kube-apiserver); PeakRSS(name), PIDs and CheckAlive include it.
//
// name names its log and PID files: a plain file name, not one already running in this cluster.
func (c *Cluster) StartProcess(name, binary string, args, env []string) (pid int, err error) {
	if name == "" || filepath.Base(name) != name {
		return 0, fmt.Errorf("process name %q is not a plain file name", name)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return 0, fmt.Errorf("starting %s: the cluster is stopped", name)
	}
	if slices.ContainsFunc(c.procs, func(p *process) bool { return p.name == name }) {
		return 0, fmt.Errorf("starting %s: a process of that name already runs in this cluster", name)
	}
	p, err := startProcess(name, binary, args, env, c.dirs.logs, c.dirs.run)
	if err != nil {
		return 0, err
	}
	c.procs = append(c.procs, p)
	return p.pid(), nil
}
