// Command cluster runs Mizzen's local cluster (package test/cluster) in the foreground:
//
//	go run ./hack/cluster start [--state-dir DIR] [--nodes N] [--cert-manager=auto|true|false] [--assets DIR]
//
// It prints the KUBECONFIG export line and the PID file, then waits; SIGINT or SIGTERM (Ctrl-C, or
// `kill $(cat <pid file>)`) stops every process and exits. The state dir defaults to
// ${XDG_CACHE_HOME:-$HOME/.cache}/mizzen/cluster-state (outside the checkout, so nothing to ignore);
// it is cleared on each start and kept after stop, with every component's log in logs/.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/mizzen-mesh/mizzen/test/cluster"
	"github.com/mizzen-mesh/mizzen/test/testenv"
)

func main() {
	if len(os.Args) < 2 || os.Args[1] != "start" {
		fmt.Fprintln(os.Stderr, "usage: go run ./hack/cluster start [flags]   (-h for the flags)")
		os.Exit(2)
	}
	fs := flag.NewFlagSet("start", flag.ExitOnError)
	stateDir := fs.String("state-dir", defaultStateDir(), "directory for data, certificates, kubeconfig, logs and PID files")
	nodes := fs.Int("nodes", 3, "number of fake (kwok) nodes")
	assets := fs.String("assets", "", "directory of the control-plane binaries (default: $KUBEBUILDER_ASSETS, else hack/assets.sh)")
	certManager := fs.String("cert-manager", "auto", "run cert-manager-controller: auto (when the binary is in the assets dir), true, false")
	timeout := fs.Duration("timeout", 3*time.Minute, "how long to wait for the cluster to become ready")
	_ = fs.Parse(os.Args[2:])

	if err := run(*stateDir, *assets, *certManager, *nodes, *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		os.Exit(1)
	}
}

func run(stateDir, assets, certManager string, nodes int, timeout time.Duration) error {
	if assets == "" {
		var err error
		if assets, err = testenv.AssetsDir(); err != nil {
			return err
		}
	}
	withCertManager := cluster.CertManagerAvailable(assets)
	switch certManager {
	case "auto":
	case "true", "false":
		withCertManager, _ = strconv.ParseBool(certManager)
	default:
		return fmt.Errorf("--cert-manager=%q: want auto, true or false", certManager)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	startCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, err := cluster.Start(startCtx, cluster.Options{
		AssetsDir:   assets,
		StateDir:    stateDir,
		Nodes:       nodes,
		CertManager: withCertManager,
		Logf:        func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) },
	})
	if err != nil {
		return err
	}
	pidFile := filepath.Join(c.StateDir(), "run", "cluster.pid")
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return errors.Join(err, c.Stop())
	}
	fmt.Printf("export KUBECONFIG=%s\n", c.Kubeconfig())
	fmt.Printf("# PID file: %s (kill $(cat %s) to stop); logs in %s\n", pidFile, pidFile, filepath.Join(c.StateDir(), "logs"))
	if !withCertManager {
		fmt.Println("# cert-manager-controller not started (not in the assets dir, or --cert-manager=false)")
	}

	var exited error
	select {
	case <-ctx.Done():
		fmt.Fprintln(os.Stderr, "stopping the cluster")
	case exited = <-watchExit(c):
		fmt.Fprintln(os.Stderr, "a component exited; stopping the cluster")
	}
	stopErr := c.Stop()
	os.Remove(pidFile)
	return errors.Join(exited, stopErr)
}

// watchExit sends the error of the first component that exits on its own (the cluster is then unusable).
func watchExit(c *cluster.Cluster) <-chan error {
	ch := make(chan error, 1)
	go func() {
		for {
			if err := c.CheckAlive(); err != nil {
				ch <- err
				return
			}
			time.Sleep(time.Second)
		}
	}()
	return ch
}

func defaultStateDir() string {
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			home = os.TempDir()
		}
		cache = filepath.Join(home, ".cache")
	}
	return filepath.Join(cache, "mizzen", "cluster-state")
}
