package packaging

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	kyaml "sigs.k8s.io/yaml"

	"github.com/mizzen-mesh/mizzen/test/testenv"
)

// TestInstallerAppliesServerSide applies dist/install.yaml with `kubectl apply --server-side`, as
// `make deploy` does, to a real kube-apiserver holding cert-manager's CRDs (cert-manager's own
// namespace exists, as it does wherever cert-manager is installed), and checks every object landed.
func TestInstallerAppliesServerSide(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a kube-apiserver")
	}
	root := repoRoot(t)
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/cert-manager/cert-manager").Output()
	if err != nil {
		t.Fatalf("finding the cert-manager module: %v", err)
	}
	env, cfg, err := testenv.Start(testenv.Options{ExtraCRDDirs: []string{filepath.Join(strings.TrimSpace(string(out)), "deploy", "crds")}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("stopping envtest: %v", err)
		}
	})
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "cert-manager"}}); err != nil {
		t.Fatal(err)
	}

	admin, err := env.AddUser(envtest.User{Name: "installer", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig, err := admin.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	kcPath := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kcPath, kubeconfig, 0o600); err != nil {
		t.Fatal(err)
	}
	install := filepath.Join(root, "dist", "install.yaml")
	kubectl := filepath.Join(env.BinaryAssetsDirectory, "kubectl")
	for i := 0; i < 2; i++ { // the second apply must be a clean no-op
		cmd := exec.CommandContext(ctx, kubectl, "--kubeconfig", kcPath, "apply", "--server-side", "--field-manager=mizzen-install-test", "-f", install)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("kubectl apply --server-side -f dist/install.yaml (run %d): %v\n%s%s", i+1, err, stdout.String(), stderr.String())
		}
		if i == 0 {
			t.Logf("kubectl apply --server-side:\n%s", stdout.String())
		}
	}

	raw, err := os.ReadFile(install)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, doc := range strings.Split(string(raw), "\n---\n") {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		want := &unstructured.Unstructured{}
		if err := kyaml.Unmarshal([]byte(doc), &want.Object); err != nil {
			t.Fatal(err)
		}
		got := &unstructured.Unstructured{}
		got.SetGroupVersionKind(want.GroupVersionKind())
		key := client.ObjectKey{Namespace: want.GetNamespace(), Name: want.GetName()}
		if namespaced, err := c.IsObjectNamespaced(got); err != nil {
			t.Fatalf("%s: %v", id(want), err)
		} else if !namespaced {
			key.Namespace = "" // kustomize writes a namespace onto ClusterIssuers; the API drops it
		}
		if err := c.Get(ctx, key, got); err != nil {
			t.Errorf("%s: %v", id(want), err)
			continue
		}
		n++
	}
	t.Logf("%d objects of dist/install.yaml are in the cluster", n)
}
