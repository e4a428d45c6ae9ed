// Package manager builds the Mizzen manager binary and runs it as a separate process against a
// cluster, for the end-to-end suite, the demo and the scale harness: what users run, with its own
// flags, leader election and memory, rather than the reconcilers inside the test process.
package manager

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/mizzen-mesh/mizzen/test/webhooks"
)

// Build compiles the manager (the module at repoRoot) into dir and returns the binary's path.
func Build(ctx context.Context, repoRoot, dir string) (string, error) {
	out := filepath.Join(dir, "manager")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, ".")
	cmd.Dir = repoRoot
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the manager: %w\n%s", err, b)
	}
	return out, nil
}

// Options say how to run the manager.
type Options struct {
	Binary     string
	Kubeconfig string
	// LogPath receives the manager's stdout and stderr (appended).
	LogPath string
	// Args are extra flags, such as --leader-elect or --proxy-issuer-name.
	Args []string
	// Env is added to the environment; ENABLE_WEBHOOKS=false unless Webhooks is set.
	Env []string
	// Webhooks, when set, turns the admission webhooks on, served at its address with its
	// certificate; Start then also waits for the webhook server. Register the configurations
	// (webhooks.FromManifests) once Start returns.
	Webhooks *webhooks.Serving
	// ReadyTimeout bounds the wait for the readiness probe; 0 means 60 s.
	ReadyTimeout time.Duration
}

// Process is a running manager.
type Process struct {
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
	probe   string
	metrics string
	logPath string
}

// Start runs the manager with its probes and (plain HTTP) metrics on free loopback ports and
// waits until its readiness probe answers. With leader election on, a manager waiting for the
// lease is not ready: pass the wait to Ready instead by setting ReadyTimeout < 0.
func Start(ctx context.Context, opts Options) (*Process, error) {
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	p := &Process{probe: ports[0], metrics: ports[1], logPath: opts.LogPath, exited: make(chan struct{})}
	logFile, err := os.OpenFile(opts.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	args := append([]string{"--kubeconfig", opts.Kubeconfig, "--health-probe-bind-address", p.probe,
		"--metrics-bind-address", p.metrics, "--metrics-secure=false"}, opts.Args...)
	env := append(os.Environ(), "ENABLE_WEBHOOKS=false")
	if w := opts.Webhooks; w != nil {
		args = append(args, "--webhook-bind-address="+w.Address(), "--webhook-cert-path="+w.CertDir)
		env[len(env)-1] = "ENABLE_WEBHOOKS=true"
	}
	p.cmd = exec.Command(opts.Binary, args...)
	p.cmd.Env = append(env, opts.Env...)
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	// Its own process group, and killed with the test process should that die first.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("starting the manager: %w", err)
	}
	go func() { p.waitErr = p.cmd.Wait(); logFile.Close(); close(p.exited) }()
	if opts.ReadyTimeout < 0 {
		return p, nil
	}
	timeout := opts.ReadyTimeout
	if timeout == 0 {
		timeout = time.Minute
	}
	if err := p.WaitReady(ctx, timeout); err != nil {
		return nil, errors.Join(err, p.Kill())
	}
	return p, nil
}

// WaitReady waits for the readiness probe.
func (p *Process) WaitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if resp, err := http.Get("http://" + p.probe + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.exited:
			return fmt.Errorf("the manager exited before it was ready (%v); see %s", p.waitErr, p.logPath)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the manager was not ready within %s; see %s", timeout, p.logPath)
		}
	}
}

// PID is the manager's process id.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// MetricsURL is the manager's Prometheus endpoint.
func (p *Process) MetricsURL() string { return "http://" + p.metrics + "/metrics" }

// LogPath is where the manager logs.
func (p *Process) LogPath() string { return p.logPath }

// Stop asks the manager to shut down (SIGTERM) and kills it after 15 s.
func (p *Process) Stop() error { return p.signal(syscall.SIGTERM, 15*time.Second) }

// Kill stops the manager at once (SIGKILL), as a crash would: no lease release, nothing flushed.
func (p *Process) Kill() error { return p.signal(syscall.SIGKILL, 0) }

func (p *Process) signal(sig syscall.Signal, grace time.Duration) error {
	select {
	case <-p.exited:
		return nil
	default:
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, sig)
	select {
	case <-p.exited:
	case <-time.After(grace):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.exited
	}
	return nil
}

// freePorts returns n free loopback addresses.
func freePorts(n int) ([]string, error) {
	var out []string
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		out = append(out, l.Addr().String())
	}
	return out, nil
}
