package packaging

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
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

	"github.com/mizzen-mesh/mizzen/test/cluster"
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
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: cluster.CertManagerNamespace}}); err != nil {
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

	t.Run("cert-manager issues from the mesh CA", func(t *testing.T) {
		certManagerIssues(t, ctx, c, env.BinaryAssetsDirectory, kcPath)
	})
}

// certManagerIssues runs the real cert-manager controller (built by hack/assets.sh) with its
// cluster resource namespace where cert-manager's own manifests put it (as test/cluster does), and checks that the objects of
// dist/install.yaml become Ready: the serving certificates, the mesh CA chain, and a SPIFFE
// workload certificate from ClusterIssuer mizzen-mesh-ca, as the manager will request them.
func certManagerIssues(t *testing.T, ctx context.Context, c client.Client, assets, kubeconfig string) {
	bin := filepath.Join(assets, "cert-manager-controller")
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("no cert-manager-controller in %s (hack/tools/cert-manager builds it)", assets)
	}
	cmd := exec.Command(bin, "--kubeconfig="+kubeconfig, "--cluster-resource-namespace="+cluster.CertManagerNamespace, "--leader-elect=false")
	logs := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("cert-manager-controller log:\n%s", logs.String())
		}
	})

	const spiffeID = "spiffe://cluster.local/ns/default/sa/default"
	workload := &unstructured.Unstructured{}
	if err := kyaml.Unmarshal([]byte(`
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: mizzen-proxy-test, namespace: default}
spec:
  secretName: mizzen-proxy-test
  uris: ["`+spiffeID+`"]
  duration: 1h
  renewBefore: 20m
  privateKey: {algorithm: ECDSA, size: 256}
  issuerRef: {group: cert-manager.io, kind: ClusterIssuer, name: mizzen-mesh-ca}`), &workload.Object); err != nil {
		t.Fatal(err)
	}
	if err := c.Create(ctx, workload); err != nil {
		t.Fatal(err)
	}

	for _, o := range []struct{ kind, ns, name string }{
		{"ClusterIssuer", "", "mizzen-mesh-ca-selfsigned"},
		{"Certificate", "cert-manager", "mizzen-mesh-ca"},
		{"ClusterIssuer", "", "mizzen-mesh-ca"},
		{"Issuer", "mizzen-system", "mizzen-selfsigned-issuer"},
		{"Certificate", "mizzen-system", "mizzen-serving-cert"},
		{"Certificate", "mizzen-system", "mizzen-metrics-certs"},
		{"Certificate", "default", "mizzen-proxy-test"},
	} {
		if err := waitReady(ctx, c, o.kind, o.ns, o.name); err != nil {
			t.Fatalf("%s %s/%s: %v", o.kind, o.ns, o.name, err)
		}
	}

	for _, s := range []struct{ ns, name string }{{"mizzen-system", "webhook-server-cert"}, {"mizzen-system", "metrics-server-cert"}} {
		secret := &corev1.Secret{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: s.ns, Name: s.name}, secret); err != nil {
			t.Errorf("the manager mounts secret %s/%s: %v", s.ns, s.name, err)
		}
	}
	secret := &corev1.Secret{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "mizzen-proxy-test"}, secret); err != nil {
		t.Fatal(err)
	}
	leaf := parseCert(t, secret.Data["tls.crt"])
	if len(leaf.URIs) != 1 || leaf.URIs[0].String() != spiffeID {
		t.Errorf("URI SANs %v, want %s", leaf.URIs, spiffeID)
	}
	if leaf.Issuer.CommonName != "Mizzen mesh CA" {
		t.Errorf("issued by %q, want the mesh CA", leaf.Issuer.CommonName)
	}
	roots := x509.NewCertPool()
	roots.AddCert(parseCert(t, secret.Data["ca.crt"]))
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Errorf("the workload certificate does not chain to the mesh CA: %v", err)
	}
}

// waitReady waits for a cert-manager object's Ready condition to be True.
func waitReady(ctx context.Context, c client.Client, kind, ns, name string) error {
	last := "not found"
	for {
		o := &unstructured.Unstructured{}
		o.SetAPIVersion("cert-manager.io/v1")
		o.SetKind(kind)
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, o); err == nil {
			conds, _, _ := unstructured.NestedSlice(o.Object, "status", "conditions")
			last = "no Ready condition"
			for _, cond := range conds {
				m, _ := cond.(map[string]any)
				if m["type"] == "Ready" {
					if m["status"] == "True" {
						return nil
					}
					last = fmt.Sprintf("Ready=%v: %v", m["status"], m["message"])
				}
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not Ready: %s", last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func parseCert(t *testing.T, data []byte) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatal("no PEM certificate")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}
