// Command demo is the README's first command (`make demo`): on a fresh machine it builds or reuses
// the control-plane binaries, starts the local cluster (kwok plays the kubelet, so Deployments
// become Running pods without containers), installs Mizzen's CRDs, runs the manager, applies the
// bookinfo sample, shifts the reviews canary from 90/10 to 50/50 and shows what the cluster holds.
//
// Everything it starts is stopped on exit. DEMO_KEEP=1 keeps it all running until Ctrl-C and prints
// the KUBECONFIG to use.
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/mizzen-mesh/mizzen/test/cluster"
	"github.com/mizzen-mesh/mizzen/test/testenv"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "demo failed:", err)
		os.Exit(1)
	}
}

// step prints a progress line, so long steps (the first build takes minutes) are never silent.
func step(format string, args ...any) {
	fmt.Printf("\n==> "+format+"\n", args...)
}

func run(ctx context.Context) (err error) {
	root := testenv.RepoRoot()
	state, err := os.MkdirTemp("", "mizzen-demo-")
	if err != nil {
		return err
	}

	step("Building or reusing the control-plane binaries (first run on a machine: about 12 minutes)")
	assets, err := buildAssets(ctx, root)
	if err != nil {
		return err
	}
	kubectlBin := filepath.Join(assets, "kubectl")

	step("Building the manager")
	manager := filepath.Join(state, "manager")
	if err := runCmd(ctx, root, nil, "go", "build", "-o", manager, "."); err != nil {
		return err
	}

	withCertManager := cluster.CertManagerAvailable(assets)
	step("Starting the local cluster: etcd, kube-apiserver, controller manager, scheduler, kwok (3 fake nodes)%s",
		map[bool]string{true: ", cert-manager", false: ""}[withCertManager])
	startCtx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	c, err := cluster.Start(startCtx, cluster.Options{
		AssetsDir:   assets,
		StateDir:    filepath.Join(state, "cluster"),
		Nodes:       3,
		CertManager: withCertManager,
		Logf:        func(format string, args ...any) { fmt.Printf("    "+format+"\n", args...) },
	})
	if err != nil {
		return err
	}
	keep := os.Getenv("DEMO_KEEP") == "1"
	defer func() {
		if keep && err == nil {
			return
		}
		step("Stopping everything the demo started")
		err = errors.Join(err, c.Stop())
		if err == nil {
			os.RemoveAll(state)
		}
	}()
	kubectl := func(args ...string) error {
		return runCmd(ctx, root, nil, kubectlBin, append([]string{"--kubeconfig", c.Kubeconfig()}, args...)...)
	}

	step("Installing Mizzen's CRDs")
	if err := kubectl("apply", "--server-side", "-f", filepath.Join(root, "config", "crd", "bases")); err != nil {
		return err
	}
	if err := kubectl("wait", "--for=condition=Established", "--timeout=60s",
		"crd/virtualservices.networking.mizzen.dev", "crd/destinationrules.networking.mizzen.dev", "crd/gateways.networking.mizzen.dev"); err != nil {
		return err
	}

	step("Starting the manager (webhooks off: ENABLE_WEBHOOKS=false)")
	stopManager, err := startManager(ctx, manager, c.Kubeconfig(), state)
	if err != nil {
		return err
	}
	defer func() {
		if !keep || err != nil {
			err = errors.Join(err, stopManager())
		}
	}()

	step("Applying the bookinfo sample: meshed namespace, Deployments, Services, DestinationRules, a 90/10 VirtualService, the Gateway")
	if err := kubectl("apply", "-k", filepath.Join(root, "config", "samples")); err != nil {
		return err
	}
	step("Waiting for kwok to run the bookinfo pods")
	if err := kubectl("-n", "bookinfo", "wait", "--for=condition=Available", "--timeout=120s", "deployment", "--all"); err != nil {
		return err
	}
	if err := kubectl("-n", "bookinfo", "get", "pods", "-o", "wide"); err != nil {
		return err
	}

	step("Shifting the reviews canary from 90/10 to 50/50")
	patch := `[{"op":"replace","path":"/spec/http/0/route/0/weight","value":50},{"op":"replace","path":"/spec/http/0/route/1/weight","value":50}]`
	if err := kubectl("-n", "bookinfo", "patch", "virtualservice", "reviews", "--type=json", "-p", patch); err != nil {
		return err
	}
	if err := kubectl("-n", "bookinfo", "get", "virtualservice", "reviews", "-o", "jsonpath={range .spec.http[0].route[*]}{.destination.host}:{.destination.subset}={.weight}{\"\\n\"}{end}"); err != nil {
		return err
	}

	step("Waiting for Mizzen to accept every VirtualService, DestinationRule and Gateway")
	if err := kubectl("-n", "bookinfo", "wait", "--for=condition=Accepted", "--timeout=60s", "virtualservice,destinationrule,gateway", "--all"); err != nil {
		return err
	}

	step("The proxies' configs: one ConfigMap per meshed pod, named from its proxy id")
	if err := kubectl("-n", "bookinfo", "get", "configmaps", "-l", "app.kubernetes.io/managed-by=mizzen"); err != nil {
		return err
	}

	step("The reviews routes in one productpage pod's Envoy config (lds.yaml), once the 50/50 split is written")
	pod, routes, err := waitForRoutes(ctx, c.Client(), "bookinfo", "productpage", "reviews", "=50", 90*time.Second)
	if err != nil {
		return err
	}
	fmt.Printf("    pod %s:\n", pod)
	for _, r := range routes {
		fmt.Printf("      %s -> %s\n", r.vhost, strings.Join(r.clusters, ", "))
	}

	step("What the cluster holds (the rollout columns Weights, Updated and Ready come with rollout status)")
	if err := kubectl("-n", "bookinfo", "get", "vs,dr,gw"); err != nil {
		return err
	}

	if keep {
		fmt.Printf("\nDEMO_KEEP=1: everything stays up.\n  export KUBECONFIG=%s\nStop it with Ctrl-C here.\n", c.Kubeconfig())
		<-ctx.Done()
		keep = false
		return nil
	}
	fmt.Println("\nDemo finished.")
	return nil
}

// buildAssets runs hack/assets.sh with its progress on the terminal and returns the assets directory.
func buildAssets(ctx context.Context, root string) (string, error) {
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		return dir, nil
	}
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(root, "hack", "assets.sh"))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("hack/assets.sh: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return lines[len(lines)-1], nil
}

// runCmd runs a command with its output on the terminal, indented under the current step.
func runCmd(ctx context.Context, dir string, env []string, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	pr, pw, err := os.Pipe()
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	done := indent(pr)
	err = cmd.Run()
	pw.Close()
	<-done
	if err != nil {
		return fmt.Errorf("%s %s: %w", filepath.Base(name), strings.Join(args, " "), err)
	}
	return nil
}

func indent(r *os.File) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer r.Close()
		s := bufio.NewScanner(r)
		for s.Scan() {
			fmt.Println("    " + s.Text())
		}
	}()
	return done
}

// startManager runs the manager binary against the cluster and waits for its readiness probe.
// The returned function stops it (SIGTERM, then SIGKILL after 10 s).
func startManager(ctx context.Context, binary, kubeconfig, state string) (func() error, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	probe := l.Addr().String()
	l.Close()
	logPath := filepath.Join(state, "manager.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(binary, "--kubeconfig", kubeconfig, "--health-probe-bind-address", probe, "--metrics-bind-address", "0")
	cmd.Env = append(os.Environ(), "ENABLE_WEBHOOKS=false")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("starting the manager: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); logFile.Close() }()
	stop := func() error {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		return nil
	}

	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get("http://" + probe + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				fmt.Printf("    manager ready (pid %d), log: %s\n", cmd.Process.Pid, logPath)
				return stop, nil
			}
		}
		select {
		case err := <-exited:
			return nil, fmt.Errorf("the manager exited before it was ready (%v); see %s", err, logPath)
		case <-ctx.Done():
			return nil, errors.Join(ctx.Err(), stop())
		case <-time.After(250 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return nil, errors.Join(fmt.Errorf("the manager was not ready within 60s; see %s", logPath), stop())
		}
	}
}
