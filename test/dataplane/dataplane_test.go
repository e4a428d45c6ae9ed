package dataplane_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	_ "google.golang.org/grpc/xds" // the xds:/// resolver and the xDS balancers and HTTP filters

	"github.com/mizzen-mesh/mizzen/internal/mesh"
	"github.com/mizzen-mesh/mizzen/internal/translate"
	"github.com/mizzen-mesh/mizzen/internal/validate"
	"github.com/mizzen-mesh/mizzen/test/dataplane"
)

// bootstrapEnv names gRPC's xDS bootstrap file. gRPC reads the variable once, when its packages
// initialise, and offers no public in-process way to give a bootstrap to the xds:/// resolver
// (only APIs marked for testing), so TestMain runs the test binary again with the variable set,
// and the child writes the file, naming its control plane, before the first xDS channel reads it.
const bootstrapEnv = "GRPC_XDS_BOOTSTRAP"

// The pod whose sidecar config the gRPC client plays, and its proxy id (testdata/mesh.yaml),
// which names the client to the control plane.
const clientNS, clientPod, clientProxyID = "default", "productpage-v1", "p-prod"

var controlPlane *dataplane.ControlPlane

func TestMain(m *testing.M) {
	path := os.Getenv(bootstrapEnv)
	if path == "" {
		os.Exit(runWithBootstrapFile())
	}
	cp, err := dataplane.StartControlPlane(clientProxyID)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	controlPlane = cp
	if err := os.WriteFile(path, cp.Bootstrap(), 0o600); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	cp.Stop()
	os.Exit(code)
}

// runWithBootstrapFile runs this test binary again, with the same arguments, bootstrapEnv naming a
// file in a temporary directory, and returns its exit code.
func runWithBootstrapFile() int {
	dir, err := os.MkdirTemp("", "mizzen-dataplane-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	cmd := exec.Command(os.Args[0], os.Args[1:]...)
	cmd.Env = append(os.Environ(), bootstrapEnv+"="+filepath.Join(dir, "bootstrap.json"))
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	var exit *exec.ExitError
	switch err := cmd.Run(); {
	case errors.As(err, &exit):
		return exit.ExitCode()
	case err != nil:
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// meshUnderTest is the mesh of testdata/mesh.yaml with a backend playing each of its pods.
type meshUnderTest struct {
	t        *testing.T
	backends map[string]*dataplane.Backend // by pod name
	byAddr   map[string]string             // pod IP:target port → backend address
	targets  []string                      // what the client dials
	base     []string                      // the files every push starts from: mesh and subsets
	proxy    proxyUnderTest                // whose config the client plays
	nacks    int                           // NACKs before the test
}

// proxyUnderTest names the pod whose proxy config is translated, and its kind. The gRPC client
// keeps its node id (clientProxyID) whatever it plays: the control plane serves it that config.
type proxyUnderTest struct {
	namespace, pod string
	kind           mesh.ProxyKind
}

func newMesh(t *testing.T, targets ...string) *meshUnderTest {
	t.Helper()
	return newMeshOf(t, []string{"testdata/mesh.yaml", "testdata/reviews-subsets.yaml"},
		proxyUnderTest{clientNS, clientPod, mesh.Sidecar}, targets...)
}

// newMeshOf is the mesh of the base files, with a backend playing each of their pods, seen by proxy.
func newMeshOf(t *testing.T, base []string, proxy proxyUnderTest, targets ...string) *meshUnderTest {
	t.Helper()
	mt := &meshUnderTest{t: t, backends: map[string]*dataplane.Backend{}, byAddr: map[string]string{}, targets: targets,
		base: base, proxy: proxy}
	in := loadMesh(t, base...)
	for _, p := range in.Pods {
		b, err := dataplane.StartBackend(p.Name)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(b.Stop)
		mt.backends[p.Name] = b
		mt.byAddr[p.Status.PodIP+":9080"] = b.Addr
	}
	mt.nacks = len(controlPlane.NACKs())
	t.Cleanup(func() {
		if err := mt.rejected(); err != nil {
			t.Error(err)
		}
	})
	return mt
}

// rejected is an error listing the NACKs since the test started, if any.
func (mt *meshUnderTest) rejected() error {
	got := controlPlane.NACKs()[mt.nacks:]
	if len(got) == 0 {
		return nil
	}
	return fmt.Errorf("gRPC rejected the config (%d NACKs), first: %s", len(got), got[0])
}

// apply is push for rules that translate without problems.
func (mt *meshUnderTest) apply(files ...string) string {
	mt.t.Helper()
	version, problems := mt.push(files...)
	for _, p := range problems {
		mt.t.Errorf("translation problem: %s: %s: %s", p.Field, p.Reason, p.Message)
	}
	return version
}

// push translates the mesh with the rules of files for the proxy under test, adapts it for gRPC
// and pushes it; it returns the version pushed and the translation's problems.
func (mt *meshUnderTest) push(files ...string) (string, []validate.Problem) {
	t := mt.t
	t.Helper()
	snap := mesh.New(loadMesh(t, append(slices.Clone(mt.base), files...)...))
	pod := snap.Pod(mt.proxy.namespace, mt.proxy.pod)
	if pod == nil {
		t.Fatalf("no pod %s/%s in %v", mt.proxy.namespace, mt.proxy.pod, mt.base)
	}
	res, problems := translate.Translate(snap, mesh.ProxyFor(pod, mt.proxy.kind))
	adapted, err := dataplane.Adapt(res, mt.targets, mt.byAddr)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range adapted.Changes {
		t.Log("adapter:", c)
	}
	version, err := controlPlane.Push(adapted)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("pushed %v as version %s", files, version)
	return version, problems
}

// dial connects to target through xDS and waits until the client ACKed version and an RPC of
// method succeeds.
func (mt *meshUnderTest) dial(target, version, method string) *grpc.ClientConn {
	t := mt.t
	t.Helper()
	cc, err := grpc.NewClient("xds:///"+target, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	cc.Connect() // leave idle: start the xDS stream now
	mt.waitACK(version)
	NewWithT(t).Eventually(func() error { _, err := call(cc, method); return err }).
		WithTimeout(10*time.Second).Should(Succeed(), "first RPC through %s", target)
	return cc
}

func (mt *meshUnderTest) waitACK(version string) {
	mt.t.Helper()
	NewWithT(mt.t).Eventually(func() bool {
		if err := mt.rejected(); err != nil {
			StopTrying("NACK").Wrap(err).Now()
		}
		return controlPlane.Acked(version)
	}).
		WithTimeout(10*time.Second).Should(BeTrue(), "gRPC ACKs config version %s", version)
}

// call makes one RPC of method with the request headers given as name, value pairs, and returns
// the name of the backend that answered.
func call(cc *grpc.ClientConn, method string, headers ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, headers...)
	var resp wrapperspb.StringValue
	err := cc.Invoke(ctx, method, wrapperspb.String("hello"), &resp)
	return resp.GetValue(), err
}

// spread makes n RPCs of method and counts them by the backend that answered, or by status code
// ("code:Unavailable") when they fail.
func spread(t *testing.T, cc *grpc.ClientConn, n int, method string, headers ...string) map[string]int {
	t.Helper()
	counts := map[string]int{}
	for range n {
		backend, err := call(cc, method, headers...)
		if err != nil {
			backend = "code:" + status.Code(err).String()
		}
		counts[backend]++
	}
	return counts
}

// expectSplit checks counts of n RPCs against the probability of each outcome: an outcome of
// probability 1 must take every RPC, others must lie within binomial bounds, and no other outcome
// may occur.
func expectSplit(t *testing.T, what string, counts map[string]int, n int, want map[string]float64) {
	t.Helper()
	t.Logf("%s: outcomes of %d RPCs: %v", what, n, counts)
	for outcome, got := range counts {
		if _, ok := want[outcome]; !ok {
			t.Errorf("%s: %d RPCs had the unexpected outcome %s", what, got, outcome)
		}
	}
	for outcome, p := range want {
		if p == 1 {
			if counts[outcome] != n {
				t.Errorf("%s: %d of %d RPCs had outcome %s, want all", what, counts[outcome], n, outcome)
			}
			continue
		}
		expectBinomial(t, what+": "+outcome, counts[outcome], n, p)
	}
}

// expectBinomial checks that got successes of n trials of probability p lie within 4.5 standard
// deviations of the mean: a correct split fails this about once in 150,000 runs.
func expectBinomial(t *testing.T, what string, got, n int, p float64) {
	t.Helper()
	mean, sd := float64(n)*p, math.Sqrt(float64(n)*p*(1-p))
	lo, hi := int(math.Ceil(mean-4.5*sd)), int(math.Floor(mean+4.5*sd))
	t.Logf("%s: %d of %d (expected %.0f, bounds [%d, %d])", what, got, n, mean, lo, hi)
	if got < lo || got > hi {
		t.Errorf("%s: %d of %d, outside [%d, %d] for p = %.2f", what, got, n, lo, hi, p)
	}
}
