package packaging

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	operatorsv1alpha1 "github.com/operator-framework/api/pkg/operators/v1alpha1"
	"github.com/operator-framework/api/pkg/validation"
	interfaces "github.com/operator-framework/api/pkg/validation/interfaces"

	"github.com/mizzen-mesh/mizzen/hack/bundle/gen"
)

// controllerGenWebhooks is config/webhook/manifests.yaml as controller-gen writes it for a pod
// injection webhook and a validating webhook of one kind: what the tree will hold once the
// webhooks exist.
const controllerGenWebhooks = `---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata:
  name: mutating-webhook-configuration
webhooks:
- admissionReviewVersions:
  - v1
  clientConfig:
    service:
      name: webhook-service
      namespace: system
      path: /mutate--v1-pod
  failurePolicy: Fail
  name: mpod.mizzen.dev
  rules:
  - apiGroups:
    - ""
    apiVersions:
    - v1
    operations:
    - CREATE
    resources:
    - pods
  sideEffects: None
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: validating-webhook-configuration
webhooks:
- admissionReviewVersions:
  - v1
  clientConfig:
    service:
      name: webhook-service
      namespace: system
      path: /validate-networking-mizzen-dev-v1alpha1-virtualservice
  failurePolicy: Fail
  name: vvirtualservice-v1alpha1.kb.io
  rules:
  - apiGroups:
    - networking.mizzen.dev
    apiVersions:
    - v1alpha1
    operations:
    - CREATE
    - UPDATE
    resources:
    - virtualservices
  sideEffects: None
`

// withWebhooks copies config/ into a temporary root and adds controller-gen's webhook manifests,
// listed in config/webhook/kustomization.yaml when list is true.
func withWebhooks(t *testing.T, list bool) string {
	t.Helper()
	root := t.TempDir()
	if out, err := exec.Command("cp", "-r", filepath.Join(repoRoot(t), "config"), root).CombinedOutput(); err != nil {
		t.Fatalf("copying config/: %v: %s", err, out)
	}
	if err := os.WriteFile(filepath.Join(root, "config", "webhook", "manifests.yaml"), []byte(controllerGenWebhooks), 0o644); err != nil {
		t.Fatal(err)
	}
	// Whatever the real tree says, list manifests.yaml or leave it commented out, as asked.
	k := filepath.Join(root, "config", "webhook", "kustomization.yaml")
	b, err := os.ReadFile(k)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	found := false
	for i, l := range lines {
		if l == "- manifests.yaml" || l == "# - manifests.yaml" {
			found = true
			lines[i] = "- manifests.yaml"
			if !list {
				lines[i] = "# - manifests.yaml"
			}
		}
	}
	if !found {
		t.Fatal("config/webhook/kustomization.yaml has no `- manifests.yaml` line, listed or commented out")
	}
	if err := os.WriteFile(k, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

// TestWebhooksOnceTheyExist: with controller-gen's manifests.yaml listed, config/default wires the
// webhooks to the prefixed Service in mizzen-system with cert-manager's CA injection, and the
// bundle turns them into CSV webhook definitions that pass the validators.
func TestWebhooksOnceTheyExist(t *testing.T) {
	root := withWebhooks(t, true)
	if err := webhookManifestsListed(root); err != nil {
		t.Fatal(err)
	}
	objs := build(t, root, "config/default")
	for _, name := range []string{"mizzen-mutating-webhook-configuration", "mizzen-validating-webhook-configuration"} {
		kind := "MutatingWebhookConfiguration"
		if strings.Contains(name, "validating") {
			kind = "ValidatingWebhookConfiguration"
		}
		o := objs.get(t, kind, name)
		if got := o.GetAnnotations()["cert-manager.io/inject-ca-from"]; got != "mizzen-system/mizzen-serving-cert" {
			t.Errorf("%s: inject-ca-from %q", name, got)
		}
		whs, _, _ := unstructuredSlice(o, "webhooks")
		svc := whs[0].(map[string]any)["clientConfig"].(map[string]any)["service"].(map[string]any)
		if svc["name"] != "mizzen-webhook-service" || svc["namespace"] != "mizzen-system" {
			t.Errorf("%s calls Service %v/%v", name, svc["namespace"], svc["name"])
		}
	}

	o := gen.Defaults(root)
	files, err := gen.Generate(o)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if err := files.Write(out); err != nil {
		t.Fatal(err)
	}
	b := loadBundle(t, filepath.Join(out, "bundle"))
	validate(t, b, "DefaultBundleValidators", validation.DefaultBundleValidators)
	validate(t, b, "OperatorHubV2Validator", interfaces.Validators{validation.OperatorHubV2Validator})

	defs := b.CSV.Spec.WebhookDefinitions
	if len(defs) != 2 {
		t.Fatalf("%d webhook definitions, want 2: %+v", len(defs), defs)
	}
	want := map[string]operatorsv1alpha1.WebhookAdmissionType{
		"mpod.mizzen.dev":                operatorsv1alpha1.MutatingAdmissionWebhook,
		"vvirtualservice-v1alpha1.kb.io": operatorsv1alpha1.ValidatingAdmissionWebhook,
	}
	for _, d := range defs {
		if want[d.GenerateName] != d.Type {
			t.Errorf("webhook %s is %s", d.GenerateName, d.Type)
		}
		if d.DeploymentName != "mizzen-controller-manager" || d.ContainerPort != 443 || d.TargetPort == nil || d.TargetPort.IntValue() != 9443 {
			t.Errorf("webhook %s: deployment %s port %d → %v", d.GenerateName, d.DeploymentName, d.ContainerPort, d.TargetPort)
		}
		if d.WebhookPath == nil || !strings.HasPrefix(*d.WebhookPath, "/") || d.SideEffects == nil || len(d.AdmissionReviewVersions) == 0 || len(d.Rules) == 0 {
			t.Errorf("webhook %s is incomplete: %+v", d.GenerateName, d)
		}
	}
	args := b.CSV.Spec.InstallStrategy.StrategySpec.DeploymentSpecs[0].Spec.Template.Spec.Containers[0].Args
	if !slices.Contains(args, "--webhook-cert-path=/tmp/k8s-webhook-server/serving-certs") {
		t.Errorf("args %v: the manager must read the certificate OLM mounts", args)
	}
	for _, p := range files.Paths() {
		if strings.Contains(p, "webhook-service") {
			t.Errorf("%s: OLM creates the webhook Service itself", p)
		}
	}
}

// TestWebhookManifestsGuard: once controller-gen writes manifests.yaml, leaving it out of the
// kustomization fails (TestWebhookManifestsAreIncluded on the real tree).
func TestWebhookManifestsGuard(t *testing.T) {
	err := webhookManifestsListed(withWebhooks(t, false))
	if err == nil || !strings.Contains(err.Error(), "uncomment") {
		t.Fatalf("got %v, want the instruction to uncomment manifests.yaml", err)
	}
}

// TestBundleRefusesWebhookNamespaceSelector: OLM webhook definitions have no namespaceSelector (OLM
// sets it to the OperatorGroup's namespaces), so a webhook that relies on one must not be published
// silently without it. The injection webhook's is removed on purpose (config/manifests: its handler
// selects meshed namespaces itself); any other webhook's selector stops the bundle.
func TestBundleRefusesWebhookNamespaceSelector(t *testing.T) {
	root := withWebhooks(t, true)
	p := filepath.Join(root, "config", "webhook", "manifests.yaml")
	b, _ := os.ReadFile(p)
	s := strings.Replace(string(b), "  failurePolicy: Fail\n  name: vvirtualservice-v1alpha1.kb.io\n",
		"  failurePolicy: Fail\n  name: vvirtualservice-v1alpha1.kb.io\n  namespaceSelector:\n    matchLabels:\n      team: a\n", 1)
	if s == string(b) {
		t.Fatal("the fixture changed: no validating webhook to give a namespaceSelector")
	}
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := gen.Generate(gen.Defaults(root))
	if err == nil || !strings.Contains(err.Error(), "namespaceSelector") {
		t.Fatalf("got %v, want a namespaceSelector error", err)
	}
}
