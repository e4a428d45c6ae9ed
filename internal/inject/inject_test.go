package inject

import (
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"

	"github.com/mizzen-mesh/mizzen/internal/capture"
	"github.com/mizzen-mesh/mizzen/test/golden"
	"github.com/mizzen-mesh/mizzen/test/testenv"
)

// goldenCase is a testdata/<case>.in.yaml: the pod and what the webhook knows about it.
type goldenCase struct {
	Facts struct {
		NamespaceLabels map[string]string `json:"namespaceLabels"`
		GatewaySelected bool              `json:"gatewaySelected"`
	} `json:"facts"`
	Pod corev1.Pod `json:"pod"`
}

const fixedID = "fixedid001"

func testOptions() Options {
	return Options{NewProxyID: func() string { return fixedID }}.WithDefaults()
}

// TestGolden injects each testdata/<case>.in.yaml and compares with <case>.out.yaml: the injected
// pod, or "skipped: <reason>", or "error: <message>". Regenerate with -update and review the diff.
func TestGolden(t *testing.T) {
	inputs, err := testenv.YAMLFiles("testdata")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, in := range inputs {
		if !strings.HasSuffix(in, ".in.yaml") {
			continue
		}
		n++
		name := strings.TrimSuffix(filepath.Base(in), ".in.yaml")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			var c goldenCase
			if err := yaml.UnmarshalStrict(raw, &c); err != nil {
				t.Fatalf("%s: %v", in, err)
			}
			facts := Facts{NamespaceLabels: c.Facts.NamespaceLabels, GatewaySelected: c.Facts.GatewaySelected}
			got := run(t, &c.Pod, facts)
			golden.Check(t, filepath.Join("testdata", name+".out.yaml"), got)
		})
	}
	if n == 0 {
		t.Fatal("no golden cases in testdata")
	}
}

// run injects pod and renders the outcome; an injected pod must come back unchanged when injected
// again (the webhook may be called twice, e.g. on reinvocation).
func run(t *testing.T, pod *corev1.Pod, f Facts) []byte {
	if reason := Skip(pod, f); reason != "" {
		if injected(pod) {
			if out, err := Pod(pod, f, testOptions()); err != nil || !cmp.Equal(out, pod) {
				t.Errorf("Pod changed an injected pod (err %v):\n%s", err, cmp.Diff(pod, out))
			}
		}
		return []byte("skipped: " + reason + "\n")
	}
	out, err := Pod(pod, f, testOptions())
	if err != nil {
		return []byte("error: " + err.Error() + "\n")
	}
	for _, c := range out.Spec.InitContainers {
		if c.Name != CaptureContainer {
			continue
		}
		if _, _, err := capture.ParseFlags(c.Args[1:], io.Discard); err != nil || c.Args[0] != CaptureSubcommand {
			t.Errorf("the capture subcommand refuses the injected arguments %v: %v", c.Args, err)
		}
	}
	if reason := Skip(out, f); !strings.Contains(reason, "already has its proxy") {
		t.Errorf("an injected pod is not recognised as such: Skip says %q", reason)
	}
	again, err := Pod(out, f, testOptions())
	if err != nil || !cmp.Equal(again, out) {
		t.Errorf("injecting twice changed the pod (err %v):\n%s", err, cmp.Diff(out, again))
	}
	b, err := yaml.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The init container's command line is a contract with `manager capture`, spelled out here.
func TestDefaultCaptureArgs(t *testing.T) {
	want := "capture --proxy-uid=1337 --proxy-gid=1337 --outbound-port=15001 --inbound-port=15006 " +
		"--include-outbound-cidrs=* --exclude-outbound-cidrs= --include-inbound-ports=* " +
		"--exclude-inbound-ports=15090,15021,15020 --exclude-outbound-ports= --include-outbound-ports="
	if got := strings.Join(DefaultCapture().Args(), " "); got != want {
		t.Errorf("capture args\n got %s\nwant %s", got, want)
	}
}

// The injector's default arguments mean exactly the capture subcommand's defaults.
func TestDefaultCaptureIsTheSubcommandsDefault(t *testing.T) {
	args := DefaultCapture().Args()
	if args[0] != CaptureSubcommand {
		t.Fatalf("args %v do not start with the subcommand", args)
	}
	got, _, err := capture.ParseFlags(args[1:], io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	opts := []cmp.Option{cmpopts.EquateEmpty(), cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })}
	if want := capture.DefaultOptions(); !cmp.Equal(got, want, opts...) {
		t.Errorf("the injector's default capture differs from the subcommand's defaults:\n%s", cmp.Diff(want, got, opts...))
	}
}

func TestOptions(t *testing.T) {
	o := Options{ProxyResources: corev1.ResourceRequirements{
		Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")},
	}}.WithDefaults()
	if o.ProxyImage != DefaultProxyImage || o.CaptureImage != DefaultCaptureImage || o.NewProxyID == nil {
		t.Errorf("defaults not filled in: %+v", o)
	}
	if got := o.ProxyResources.Limits[corev1.ResourceMemory]; got.String() != "256Mi" {
		t.Errorf("memory limit %s, want the one given", got.String())
	}
	if got := o.ProxyResources.Requests[corev1.ResourceCPU]; got.String() != "100m" {
		t.Errorf("cpu request %s, want the default", got.String())
	}
	if err := o.Validate(); err != nil {
		t.Errorf("valid options: %v", err)
	}
	bad := Options{ProxyImage: "auto", ProxyResources: corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("2Gi")},
	}}.WithDefaults()
	err := bad.Validate()
	if err == nil || !strings.Contains(err.Error(), `proxy image: "auto"`) || !strings.Contains(err.Error(), "memory request 2Gi exceeds its limit 1Gi") {
		t.Errorf("got %v, want the image and the memory request named", err)
	}
}
