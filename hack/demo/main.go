// Command demo is the README's first command (`make demo`): on a fresh machine it builds or reuses
// the control-plane binaries, starts the local cluster (kwok plays the kubelet, so Deployments
// become Running pods without containers; cert-manager issues certificates), installs Mizzen's CRDs
// and the mesh CA, runs the manager and applies the bookinfo sample. It then shows the first-run
// story and checks it, exiting non-zero when a step does not hold: every meshed pod's proxy
// certificate issues with its SPIFFE ID, the reviews canary becomes Ready, shifting it from 90/10
// to 50/50 rolls out (each status change printed as it is watched) until Ready again, and every
// productpage proxy's Envoy config then routes reviews 50/50. CI runs it (.ci/run).
//
// Everything it starts is stopped on exit. DEMO_KEEP=1 keeps it all running until Ctrl-C and prints
// the KUBECONFIG to use.
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/mizzen-mesh/mizzen/internal/identity"
	"github.com/mizzen-mesh/mizzen/internal/inject"
	"github.com/mizzen-mesh/mizzen/internal/mesh"
	"github.com/mizzen-mesh/mizzen/internal/validate"
	"github.com/mizzen-mesh/mizzen/test/cluster"
	"github.com/mizzen-mesh/mizzen/test/manager"
	"github.com/mizzen-mesh/mizzen/test/testenv"
	"github.com/mizzen-mesh/mizzen/test/webhooks"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log.SetLogger(logr.Discard()) // the demo's clients have nothing to log; errors are returned
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "demo failed:", err)
		os.Exit(1)
	}
}

var started = time.Now()

// step prints a progress line with the time since the demo started, so long steps (the first
// build takes minutes) are never silent and each step's duration can be read off.
func step(format string, args ...any) {
	elapsed := time.Since(started).Truncate(time.Second)
	fmt.Printf("\n==> [%d:%02d] "+format+"\n", append([]any{int(elapsed.Minutes()), int(elapsed.Seconds()) % 60}, args...)...)
}

// The sample's canary and the split the demo shifts it to.
const (
	ns          = "bookinfo"
	canary      = "reviews" // the VirtualService and the host it routes
	canaryFrom  = "90/10"
	caller      = "productpage" // the app whose proxies route to the canary host
	shiftWeight = 50

	gateway     = "bookinfo-gateway" // the Gateway, and the VirtualService bound to it
	gatewayVS   = "bookinfo"
	gatewayPath = "/productpage"
)

// gatewayLabels are the Gateway's selector: the labels of the sample's ingress gateway pods.
var gatewayLabels = map[string]string{"istio": "ingressgateway"}

func run(ctx context.Context) (err error) {
	root := testenv.RepoRoot()
	state, err := os.MkdirTemp("", "mizzen-demo-")
	if err != nil {
		return err
	}

	step("Building or reusing the control-plane binaries (first run on a machine: about 25 minutes on 2 cores)")
	assets, err := buildAssets(ctx, root)
	if err != nil {
		return err
	}
	if !cluster.CertManagerAvailable(assets) {
		return fmt.Errorf("no %s in %s: the proxies' certificates need cert-manager (hack/assets.sh builds it; unset KUBEBUILDER_ASSETS to use its cache)", cluster.CertManager, assets)
	}
	kubectlBin := filepath.Join(assets, "kubectl")

	step("Building the manager")
	managerBin, err := manager.Build(ctx, root, state)
	if err != nil {
		return err
	}

	step("Starting the local cluster: etcd, kube-apiserver, controller manager, scheduler, kwok (3 fake nodes), cert-manager")
	startCtx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	c, err := cluster.Start(startCtx, cluster.Options{
		AssetsDir:   assets,
		StateDir:    filepath.Join(state, "cluster"),
		Nodes:       3,
		CertManager: true,
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
	// kubectl runs the real kubectl against the cluster, showing the command as a user would type it.
	kubectl := func(args ...string) error {
		shown := make([]string, len(args))
		for i, a := range args {
			if rel, err := filepath.Rel(root, a); err == nil && filepath.IsAbs(a) && !strings.HasPrefix(rel, "..") {
				a = rel // kubectl runs in the checkout
			}
			if strings.ContainsAny(a, ` "[]{}*`) {
				a = "'" + a + "'"
			}
			shown[i] = a
		}
		fmt.Printf("    $ kubectl %s\n", strings.Join(shown, " "))
		return runCmd(ctx, root, kubectlBin, append([]string{"--kubeconfig", c.Kubeconfig()}, args...)...)
	}
	cl, dyn, err := clients(c)
	if err != nil {
		return err
	}

	step("Installing Mizzen's CRDs")
	if err := kubectl("apply", "--server-side", "-f", filepath.Join(root, "config", "crd", "bases")); err != nil {
		return err
	}
	if err := kubectl("wait", "--for=condition=Established", "--timeout=60s",
		"crd/virtualservices.networking.mizzen.dev", "crd/destinationrules.networking.mizzen.dev", "crd/gateways.networking.mizzen.dev"); err != nil {
		return err
	}

	step("Creating the mesh CA from %s: self-signed ClusterIssuer -> CA Certificate -> ClusterIssuer %s", installKustomization, identity.DefaultIssuerName)
	ca, err := meshCAFromInstall(root)
	if err != nil {
		return err
	}
	caFile := filepath.Join(state, "mesh-ca.yaml")
	if err := os.WriteFile(caFile, ca.manifest, 0o600); err != nil {
		return err
	}
	if err := kubectl("apply", "--server-side", "-f", caFile); err != nil {
		return err
	}
	if err := kubectl(append([]string{"-n", ca.namespace, "wait", "--for=condition=Ready", "--timeout=60s"}, ca.waitFor...)...); err != nil {
		return fmt.Errorf("the mesh CA is not Ready, so no proxy certificate can issue (cert-manager's log: %s): %w", c.LogFile(cluster.CertManager), err)
	}

	step("Starting the manager with its webhooks (validation of the three kinds, proxy injection) on a free loopback port")
	certDir := filepath.Join(state, "webhook-certs")
	if err := os.Mkdir(certDir, 0o700); err != nil {
		return err
	}
	serving, err := webhooks.NewServing(certDir)
	if err != nil {
		return err
	}
	mgr, err := manager.Start(ctx, manager.Options{Binary: managerBin, Kubeconfig: c.Kubeconfig(), LogPath: filepath.Join(state, "manager.log"), Webhooks: &serving})
	if err != nil {
		return err
	}
	fmt.Printf("    manager ready (pid %d), webhooks at %s, log: %s\n", mgr.PID(), serving.URL(), mgr.LogPath())
	defer func() {
		if !keep || err != nil {
			err = errors.Join(err, mgr.Stop())
		}
	}()
	hooks, err := webhooks.FromManifests(root, "mizzen-demo-", serving)
	if err != nil {
		return err
	}
	// As config/webhook scopes it: the injection webhook fails closed, so only meshed namespaces'
	// pods depend on it.
	hooks.ScopeMutating(&metav1.LabelSelector{MatchLabels: map[string]string{inject.MeshLabel: inject.MeshEnabled}})
	if err := hooks.Install(ctx, c.Client()); err != nil {
		return err
	}
	// Runs before the manager stops: no request may wait on a webhook nobody serves.
	defer func() {
		if !keep || err != nil {
			err = errors.Join(err, hooks.Uninstall(context.WithoutCancel(ctx), c.Client()))
		}
	}()
	fmt.Printf("    registered from %s, calling %s with its certificate as caBundle: %s\n", webhooks.ManifestsFile, serving.URL(), hooks)

	step("Applying the bookinfo sample: meshed namespace, Deployments, Services, DestinationRules, a %s VirtualService, the Gateway and its ingress gateway Deployment", canaryFrom)
	if err := kubectl("apply", "-k", filepath.Join(root, "config", "samples")); err != nil {
		return err
	}
	step("Waiting for kwok to run the bookinfo pods")
	if err := kubectl("-n", ns, "wait", "--for=condition=Available", "--timeout=120s", "deployment", "--all"); err != nil {
		return err
	}
	if err := kubectl("-n", ns, "get", "pods", "-o", "wide"); err != nil {
		return err
	}

	step("The injection webhook gave every pod its proxy as the ReplicaSet controller created it")
	lines, err := injectedDeployments(ctx, cl, ns)
	if err != nil {
		return err
	}
	for _, l := range lines {
		fmt.Println("    " + l)
	}

	step("The validating webhook refuses a VirtualService whose regex is not RE2 (the CRD's schema lets it through)")
	brokenFile := filepath.Join(state, "broken-virtualservice.yaml")
	if err := os.WriteFile(brokenFile, []byte(brokenVirtualService), 0o600); err != nil {
		return err
	}
	if err := expectRefused(ctx, root, kubectlBin, c.Kubeconfig(), brokenFile, validate.ReasonInvalidRegex); err != nil {
		return err
	}

	step("Each meshed pod gets its proxy config (two ConfigMaps named from its proxy id: routes and the rest, clusters with endpoints) and a SPIFFE certificate from %s", identity.DefaultIssuerName)
	if err := kubectl("-n", ns, "get", "configmaps", "-l", identity.ManagedByLabel+"="+identity.ManagedBy); err != nil {
		return err
	}
	pods, err := waitProxyCertificates(ctx, cl, ns, 2*time.Minute)
	if err != nil {
		return err
	}
	shown := false
	for i := range pods {
		pod := &pods[i]
		leaf, err := podIdentity(ctx, cl, pod)
		if err != nil {
			return err
		}
		if !shown && pod.Labels["app"] == caller {
			fmt.Printf("    pod %s: secret %s holds a certificate for %s, signed by %q\n",
				pod.Name, identity.CertificateName(pod.Annotations[mesh.ProxyIDAnnotation]), leaf.URIs[0], leaf.Issuer.CommonName)
			shown = true
		}
	}
	fmt.Printf("    in all %d, the only URI SAN is the pod's SPIFFE ID, and the certificate chains to the mesh CA\n", len(pods))

	step("Waiting for Mizzen to accept every rule, then for the %s canary to be Ready on every proxy", canaryFrom)
	if err := kubectl("-n", ns, "wait", "--for=condition=Accepted", "--timeout=60s", "virtualservice,destinationrule,gateway", "--all"); err != nil {
		return err
	}
	if err := kubectl("-n", ns, "wait", "--for=condition=Ready", "--timeout=120s", "vs/"+canary); err != nil {
		return err
	}

	step("Shifting the %s canary from %s to %d/%d, watching its status roll out", canary, canaryFrom, shiftWeight, 100-shiftWeight)
	patch := fmt.Sprintf(`[{"op":"replace","path":"/spec/http/0/route/0/weight","value":%d},{"op":"replace","path":"/spec/http/0/route/1/weight","value":%d}]`, shiftWeight, 100-shiftWeight)
	took, err := watchRollout(ctx, dyn, ns, canary, func() error {
		return kubectl("-n", ns, "patch", "vs", canary, "--type=json", "-p", patch)
	}, 2*time.Minute)
	if err != nil {
		return err
	}
	if err := kubectl("-n", ns, "wait", "--for=condition=Ready", "--timeout=60s", "vs/"+canary); err != nil {
		return err
	}
	fmt.Printf("    the rollout took %s (kubectl patch -> Ready: every proxy carries the new generation)\n", took.Round(10*time.Millisecond))

	step("The %s routes in the %s pods' Envoy config (lds.yaml), read right after Ready", canary, caller)
	want := map[string]int{"v1": shiftWeight, "v2": 100 - shiftWeight}
	pod, routes, err := checkRoutes(ctx, cl, ns, caller, canary, want)
	if err != nil {
		return fmt.Errorf("vs/%s is Ready but not rolled out as %d/%d: %w", canary, shiftWeight, 100-shiftWeight, err)
	}
	fmt.Printf("    pod %s:\n", pod)
	for _, r := range routes {
		fmt.Printf("      %s\n", r)
	}
	fmt.Printf("    every %s pod routes %s %d/%d\n", caller, canary, shiftWeight, 100-shiftWeight)

	step("The ingress gateway: Gateway %s is Ready on its pod, which routes %s (VirtualService %s, bound to the Gateway) to %s", gateway, gatewayPath, gatewayVS, caller)
	if err := kubectl("-n", ns, "wait", "--for=condition=Ready", "--timeout=60s", "gw/"+gateway); err != nil {
		return err
	}
	gwPod, gwPods, gwRoutes, err := gatewayRoutes(ctx, cl, ns, gatewayLabels, gatewayPath, caller+"."+ns+".svc.cluster.local")
	if err != nil {
		return fmt.Errorf("gw/%s is Ready but its proxies do not route %s to %s: %w", gateway, gatewayPath, caller, err)
	}
	programmed, err := gatewayProgrammed(ctx, cl, ns, gateway, gwPods)
	if err != nil {
		return err
	}
	fmt.Printf("    gw/%s: PROGRAMMED %s, Ready=True\n", gateway, programmed)
	fmt.Printf("    pod %s:\n", gwPod)
	for _, r := range gwRoutes {
		fmt.Printf("      %s\n", r)
	}

	step("What the cluster holds")
	if err := kubectl("-n", ns, "get", "vs,dr,gw"); err != nil {
		return err
	}
	if err := explainNotReady(ctx, cl, ns); err != nil {
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

// expectRefused runs `kubectl apply -f file`, shows kubectl's output, and fails unless the
// validating webhook refused it for reason (internal/validate's reasons end its messages; the
// API server's own schema and CEL checks know none of them).
func expectRefused(ctx context.Context, root, kubectlBin, kubeconfig, file, reason string) error {
	rel, _ := filepath.Rel(root, file)
	if strings.HasPrefix(rel, "..") {
		rel = file
	}
	fmt.Printf("    $ kubectl apply -f %s\n", rel)
	cmd := exec.CommandContext(ctx, kubectlBin, "--kubeconfig", kubeconfig, "apply", "-f", file)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	for _, l := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		fmt.Println("    " + l)
	}
	if err == nil {
		return fmt.Errorf("kubectl apply -f %s succeeded: the validating webhook let an invalid VirtualService in", file)
	}
	if !strings.Contains(string(out), "("+reason+")") {
		return fmt.Errorf("kubectl apply -f %s failed, but not by the validating webhook for %s: %w", file, reason, err)
	}
	return nil
}

// runCmd runs a command with its output on the terminal, indented under the current step.
func runCmd(ctx context.Context, dir string, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
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
