package packaging

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/mizzen-mesh/mizzen/hack/bundle/gen"
	"github.com/mizzen-mesh/mizzen/test/cluster"
)

var crds = []string{
	"CustomResourceDefinition destinationrules.networking.mizzen.dev",
	"CustomResourceDefinition gateways.networking.mizzen.dev",
	"CustomResourceDefinition virtualservices.networking.mizzen.dev",
}

// userRoles are the admin/editor/viewer ClusterRoles of each kind, with the given name prefix.
func userRoles(prefix string) []string {
	var out []string
	for _, kind := range []string{"virtualservice", "destinationrule", "gateway"} {
		for _, role := range []string{"admin", "editor", "viewer"} {
			out = append(out, "ClusterRole "+prefix+kind+"-"+role+"-role")
		}
	}
	return out
}

// rbacObjects are what config/rbac holds, with a name prefix and namespace.
func rbacObjects(prefix, ns string) []string {
	return append([]string{
		"ServiceAccount " + ns + "/" + prefix + "controller-manager",
		"ClusterRole " + prefix + "manager-role",
		"ClusterRoleBinding " + prefix + "manager-rolebinding",
		"Role " + ns + "/" + prefix + "leader-election-role",
		"RoleBinding " + ns + "/" + prefix + "leader-election-rolebinding",
		"ClusterRole " + prefix + "metrics-auth-role",
		"ClusterRoleBinding " + prefix + "metrics-auth-rolebinding",
		"ClusterRole " + prefix + "metrics-reader",
	}, userRoles(prefix)...)
}

// operatorObjects are what config/default holds in namespace ns; caNamespace is where the mesh CA
// Certificate goes.
func operatorObjects(ns, caNamespace string) []string {
	out := append([]string{
		"Namespace " + ns,
		"Deployment " + ns + "/mizzen-controller-manager",
		"Service " + ns + "/mizzen-controller-manager-metrics-service",
		"Service " + ns + "/mizzen-webhook-service",
		"Issuer " + ns + "/mizzen-selfsigned-issuer",
		"Certificate " + ns + "/mizzen-serving-cert",
		"Certificate " + ns + "/mizzen-metrics-certs",
		"Certificate " + caNamespace + "/mizzen-mesh-ca",
		// kustomize does not know ClusterIssuer is cluster-scoped and gives it a namespace; the API
		// server ignores it. The self-signed one moves with the CA Certificate (config/default).
		"ClusterIssuer " + caNamespace + "/mizzen-mesh-ca-selfsigned",
		"ClusterIssuer " + ns + "/mizzen-mesh-ca",
	}, crds...)
	return append(out, rbacObjects("mizzen-", ns)...)
}

// kustomizations lists every kustomization under config/ and what its build must contain (exactly,
// when exact). TestEveryKustomizationIsListed keeps the list complete.
var kustomizations = map[string]struct {
	want  []string
	exact bool
}{
	"config/crd":  {want: crds, exact: true},
	"config/rbac": {want: rbacObjects("", "system"), exact: true},
	"config/manager": {want: []string{
		"Namespace system",
		"Deployment system/controller-manager",
	}, exact: true},
	"config/webhook": {want: []string{"Service system/webhook-service"}},
	"config/certmanager": {want: []string{
		"Issuer system/selfsigned-issuer",
		"Certificate system/serving-cert",
		"Certificate system/metrics-certs",
		"Certificate system/mesh-ca",
		"ClusterIssuer mesh-ca-selfsigned",
		"ClusterIssuer mesh-ca",
	}, exact: true},
	"config/default":        {want: operatorObjects("mizzen-system", "cert-manager"), exact: true},
	"config/prometheus":     {want: []string{"ServiceMonitor system/controller-manager-metrics-monitor"}, exact: true},
	"config/network-policy": {want: []string{"NetworkPolicy system/allow-metrics-traffic", "NetworkPolicy system/allow-webhook-traffic"}, exact: true},
	"config/scorecard":      {want: []string{"Configuration config"}, exact: true},
	"config/samples": {want: []string{
		"Namespace bookinfo",
		"VirtualService bookinfo/reviews",
		"VirtualService bookinfo/bookinfo",
		"DestinationRule bookinfo/reviews",
		"Gateway bookinfo/bookinfo-gateway",
	}},
	"config/manifests": {want: append(operatorObjects("mizzen-system", "cert-manager"),
		"ClusterServiceVersion mizzen.v0.0.0",
		"Configuration config",
		"VirtualService bookinfo/reviews",
	)},
	"config/overlays/acme": {want: append(operatorObjects("acme-mesh", "cert-manager"),
		"ServiceMonitor acme-mesh/controller-manager-metrics-monitor",
		"NetworkPolicy acme-mesh/allow-metrics-traffic",
		"NetworkPolicy acme-mesh/allow-webhook-traffic",
	), exact: true},
}

func TestKustomizationsBuild(t *testing.T) {
	root := repoRoot(t)
	for dir, tc := range kustomizations {
		t.Run(dir, func(t *testing.T) {
			got := build(t, root, dir).ids()
			want := slices.Clone(tc.want)
			if dir == "config/default" || dir == "config/manifests" || strings.HasPrefix(dir, "config/overlays/") {
				// The webhook configurations controller-gen generates join in, prefixed.
				for _, o := range build(t, root, "config/webhook") {
					if k := o.GetKind(); k == "ValidatingWebhookConfiguration" || k == "MutatingWebhookConfiguration" {
						want = append(want, k+" mizzen-"+o.GetName())
					}
				}
			}
			mustContainAll(t, dir, got, want)
			if tc.exact {
				slices.Sort(want)
				if !slices.Equal(got, want) {
					t.Errorf("%s builds\n  %s\nwant exactly\n  %s", dir, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
				}
			}
		})
	}
}

// TestEveryKustomizationIsListed: a new kustomization (an overlay, say) is built by
// TestKustomizationsBuild only when it is in the table.
func TestEveryKustomizationIsListed(t *testing.T) {
	root := repoRoot(t)
	err := filepath.WalkDir(filepath.Join(root, "config"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != "kustomization.yaml" {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(p))
		rel = filepath.ToSlash(rel)
		if _, ok := kustomizations[rel]; !ok {
			t.Errorf("%s is not in test/packaging's kustomizations table: add what it must build", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func webhooksExist(root string) bool {
	_, err := os.Stat(filepath.Join(root, "config", "webhook", "manifests.yaml"))
	return err == nil
}

// TestWebhookManifestsAreIncluded: controller-gen writes config/webhook/manifests.yaml only once
// webhooks exist, and kustomize cannot list a missing file, so the kustomization has it commented
// out until then. This fails the moment the file appears and is not listed.
func TestWebhookManifestsAreIncluded(t *testing.T) {
	root := repoRoot(t)
	if !webhooksExist(root) {
		t.Skip("no config/webhook/manifests.yaml yet (no +kubebuilder:webhook markers)")
	}
	if err := webhookManifestsListed(root); err != nil {
		t.Fatal(err)
	}
	def := build(t, root, "config/default")
	for _, kind := range []string{"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"} {
		for _, o := range def.ofKind(kind) {
			if got := o.GetAnnotations()["cert-manager.io/inject-ca-from"]; got != "mizzen-system/mizzen-serving-cert" {
				t.Errorf("%s: cert-manager.io/inject-ca-from = %q, want mizzen-system/mizzen-serving-cert", id(o), got)
			}
		}
	}
}

// webhookManifestsListed fails when config/webhook/manifests.yaml exists but config/webhook does
// not build it.
func webhookManifestsListed(root string) error {
	m, err := gen.Kustomize(root, "config/webhook")
	if err != nil {
		return err
	}
	for _, r := range m.Resources() {
		if k := r.GetKind(); k == "ValidatingWebhookConfiguration" || k == "MutatingWebhookConfiguration" {
			return nil
		}
	}
	return errors.New("config/webhook/manifests.yaml exists but config/webhook does not build it: uncomment `- manifests.yaml` in config/webhook/kustomization.yaml")
}

// checkOperator checks the invariants of a whole installation (config/default or an overlay).
func checkOperator(t *testing.T, objs objects, ns string) {
	t.Helper()
	dep := &appsv1.Deployment{}
	into(t, objs.get(t, "Deployment", "mizzen-controller-manager"), dep)
	pod := dep.Spec.Template.Spec

	t.Run("injection webhook scope", func(t *testing.T) {
		hooks := &admissionregistrationv1.MutatingWebhookConfiguration{}
		into(t, objs.get(t, "MutatingWebhookConfiguration", "mizzen-mutating-webhook-configuration"), hooks)
		if len(hooks.Webhooks) != 1 || hooks.Webhooks[0].Name != "inject.mizzen.dev" {
			t.Fatalf("webhooks %+v, want inject.mizzen.dev alone", hooks.Webhooks)
		}
		w := hooks.Webhooks[0]
		if w.FailurePolicy == nil || *w.FailurePolicy != admissionregistrationv1.Fail {
			t.Errorf("failurePolicy %v, want Fail (scoped to meshed namespaces)", w.FailurePolicy)
		}
		nsSel, err := metav1.LabelSelectorAsSelector(w.NamespaceSelector)
		if err != nil || w.NamespaceSelector == nil {
			t.Fatalf("namespaceSelector %v: %v", w.NamespaceSelector, err)
		}
		meshed := func(name string) labels.Set {
			return labels.Set{"kubernetes.io/metadata.name": name, "mizzen.dev/mesh": "enabled"}
		}
		if !nsSel.Matches(meshed("shop")) || nsSel.Matches(labels.Set{"kubernetes.io/metadata.name": "shop"}) {
			t.Errorf("namespaceSelector %s does not select exactly the meshed namespaces", nsSel)
		}
		if nsSel.Matches(meshed(ns)) {
			t.Errorf("namespaceSelector %s selects the operator's namespace %s once meshed", nsSel, ns)
		}
		objSel, err := metav1.LabelSelectorAsSelector(w.ObjectSelector)
		if err != nil || w.ObjectSelector == nil {
			t.Fatalf("objectSelector %v: %v", w.ObjectSelector, err)
		}
		if objSel.Matches(labels.Set(dep.Spec.Template.Labels)) || !objSel.Matches(labels.Set{"app": "web"}) {
			t.Errorf("objectSelector %s: want every pod but opted-out ones such as the manager's", objSel)
		}
		if c := pod.Containers[0]; !slices.Contains(c.Args, "--capture-image="+c.Image) {
			t.Errorf("args %v: --capture-image is not the manager's image %s", c.Args, c.Image)
		}
	})

	t.Run("hardened pod", func(t *testing.T) {
		if pod.SecurityContext == nil || pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot {
			t.Error("pod securityContext.runAsNonRoot is not true")
		}
		if pod.SecurityContext == nil || pod.SecurityContext.SeccompProfile == nil || pod.SecurityContext.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Error("pod seccompProfile is not RuntimeDefault")
		}
		if len(pod.Containers) != 1 {
			t.Fatalf("%d containers, want the manager alone", len(pod.Containers))
		}
		c := pod.Containers[0]
		sc := c.SecurityContext
		switch {
		case sc == nil:
			t.Fatal("manager has no securityContext")
		case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
			t.Error("root filesystem is writable")
		case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
			t.Error("privilege escalation is allowed")
		case sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0:
			t.Errorf("capabilities %+v, want drop [ALL] and nothing added", sc.Capabilities)
		}
		if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
			t.Errorf("resources %+v: want cpu and memory requests and a memory limit", c.Resources)
		}
		if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" {
			t.Error("no /healthz liveness probe")
		}
		if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
			t.Error("no /readyz readiness probe")
		}
		if !slices.Equal(c.Command, []string{"/manager"}) {
			t.Errorf("command %v, want [/manager]", c.Command)
		}
		for _, a := range []string{"--leader-elect", "--health-probe-bind-address=:8081", "--metrics-bind-address=:8443",
			"--webhook-cert-path=/tmp/k8s-webhook-server/serving-certs", "--metrics-cert-path=/tmp/k8s-metrics-server/metrics-certs"} {
			if !slices.Contains(c.Args, a) {
				t.Errorf("manager args %v lack %s", c.Args, a)
			}
		}
		mounts := map[string]string{}
		for _, m := range c.VolumeMounts {
			mounts[m.Name] = m.MountPath
		}
		for _, v := range pod.Volumes {
			if _, ok := mounts[v.Name]; !ok {
				t.Errorf("volume %s is not mounted", v.Name)
			}
		}
	})

	t.Run("namespaces and names", func(t *testing.T) {
		for _, o := range objs {
			if o.GetKind() == "CustomResourceDefinition" {
				continue
			}
			if !strings.HasPrefix(o.GetName(), "mizzen-") && o.GetKind() != "Namespace" &&
				o.GetKind() != "ServiceMonitor" && o.GetKind() != "NetworkPolicy" {
				t.Errorf("%s lacks the name prefix mizzen-", id(o))
			}
			if o.GetNamespace() != ns && o.GetNamespace() != "" && id(o) != "Certificate cert-manager/mizzen-mesh-ca" &&
				id(o) != "ClusterIssuer cert-manager/mizzen-mesh-ca-selfsigned" {
				t.Errorf("%s is outside namespace %s", id(o), ns)
			}
		}
	})

	t.Run("references resolve", func(t *testing.T) {
		if sa := pod.ServiceAccountName; sa != "mizzen-controller-manager" {
			t.Errorf("serviceAccountName %q", sa)
		}
		objs.get(t, "ServiceAccount", pod.ServiceAccountName)
		for _, o := range objs.ofKind("ClusterRoleBinding") {
			b := &rbacv1.ClusterRoleBinding{}
			into(t, o, b)
			objs.get(t, b.RoleRef.Kind, b.RoleRef.Name)
			for _, s := range b.Subjects {
				if s.Kind == "ServiceAccount" && (s.Name != pod.ServiceAccountName || s.Namespace != ns) {
					t.Errorf("%s binds %s/%s, not the manager's account %s/%s", b.Name, s.Namespace, s.Name, ns, pod.ServiceAccountName)
				}
			}
		}
		for _, o := range objs.ofKind("RoleBinding") {
			b := &rbacv1.RoleBinding{}
			into(t, o, b)
			objs.get(t, b.RoleRef.Kind, b.RoleRef.Name)
		}
		podLabels := labels.Set(dep.Spec.Template.Labels)
		for _, o := range objs.ofKind("Service") {
			s := &corev1.Service{}
			into(t, o, s)
			if !labels.SelectorFromSet(s.Spec.Selector).Matches(podLabels) {
				t.Errorf("Service %s selects %v, which the manager's pods (%v) do not match", s.Name, s.Spec.Selector, podLabels)
			}
			for _, p := range s.Spec.Ports {
				if !hasPort(pod, p.TargetPort.IntValue()) {
					t.Errorf("Service %s forwards to port %s, which the manager does not declare", s.Name, p.TargetPort.String())
				}
			}
		}
		for _, o := range objs.ofKind("Certificate") {
			kind, name := str(o, "spec", "issuerRef", "kind"), str(o, "spec", "issuerRef", "name")
			objs.get(t, kind, name)
			if kind == "Issuer" && objs.get(t, kind, name).GetNamespace() != o.GetNamespace() {
				t.Errorf("%s uses Issuer %s of another namespace", id(o), name)
			}
		}
	})

	t.Run("serving certificates name their Services", func(t *testing.T) {
		for cert, svc := range map[string]string{"mizzen-serving-cert": "mizzen-webhook-service", "mizzen-metrics-certs": "mizzen-controller-manager-metrics-service"} {
			names, _, _ := unstructured.NestedStringSlice(objs.get(t, "Certificate", cert).Object, "spec", "dnsNames")
			want := []string{svc + "." + ns + ".svc", svc + "." + ns + ".svc.cluster.local"}
			if !slices.Equal(names, want) {
				t.Errorf("Certificate %s dnsNames %v, want %v", cert, names, want)
			}
		}
		secrets := map[string]bool{}
		for _, v := range pod.Volumes {
			if v.Secret != nil {
				secrets[v.Secret.SecretName] = true
			}
		}
		for _, cert := range []string{"mizzen-serving-cert", "mizzen-metrics-certs"} {
			if s := str(objs.get(t, "Certificate", cert), "spec", "secretName"); !secrets[s] {
				t.Errorf("the manager does not mount %s's secret %s", cert, s)
			}
		}
	})

	t.Run("webhooks reach the manager", func(t *testing.T) {
		for _, kind := range []string{"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"} {
			for _, o := range objs.ofKind(kind) {
				if got, want := o.GetAnnotations()["cert-manager.io/inject-ca-from"], ns+"/mizzen-serving-cert"; got != want {
					t.Errorf("%s: cert-manager.io/inject-ca-from %q, want %q", id(o), got, want)
				}
				whs, _, _ := unstructured.NestedSlice(o.Object, "webhooks")
				for _, w := range whs {
					svc, _, _ := unstructured.NestedStringMap(w.(map[string]any), "clientConfig", "service")
					if svc["name"] != "mizzen-webhook-service" || svc["namespace"] != ns {
						t.Errorf("%s calls Service %s/%s, want %s/mizzen-webhook-service", id(o), svc["namespace"], svc["name"], ns)
					}
				}
			}
		}
	})

	t.Run("mesh CA", func(t *testing.T) {
		ca := objs.get(t, "Certificate", "mizzen-mesh-ca")
		if isCA, _, _ := unstructured.NestedBool(ca.Object, "spec", "isCA"); !isCA {
			t.Error("the mesh CA Certificate is not isCA")
		}
		if alg := str(ca, "spec", "privateKey", "algorithm"); alg != "ECDSA" {
			t.Errorf("mesh CA key algorithm %q, want ECDSA", alg)
		}
		if size, _, _ := unstructured.NestedFieldNoCopy(ca.Object, "spec", "privateKey", "size"); size != float64(256) && size != int64(256) {
			t.Errorf("mesh CA key size %v, want 256 (P-256)", size)
		}
		if k := str(ca, "spec", "issuerRef", "kind"); k != "ClusterIssuer" {
			t.Errorf("the mesh CA is issued by a %s, want a ClusterIssuer", k)
		}
		if _, ok, _ := unstructured.NestedMap(objs.get(t, "ClusterIssuer", str(ca, "spec", "issuerRef", "name")).Object, "spec", "selfSigned"); !ok {
			t.Error("the mesh CA's issuer is not self-signed")
		}
		issuer := objs.get(t, "ClusterIssuer", "mizzen-mesh-ca")
		if got, want := str(issuer, "spec", "ca", "secretName"), str(ca, "spec", "secretName"); got != want || got == "" {
			t.Errorf("ClusterIssuer mizzen-mesh-ca signs with secret %q, the CA Certificate writes %q", got, want)
		}
		if ca.GetNamespace() != cluster.CertManagerNamespace {
			t.Errorf("the mesh CA Certificate is in %q: a CA ClusterIssuer reads its key pair from cert-manager's cluster resource namespace (%s)", ca.GetNamespace(), cluster.CertManagerNamespace)
		}
	})

	t.Run("user roles aggregate", func(t *testing.T) {
		want := map[string]string{"admin": "rbac.authorization.k8s.io/aggregate-to-admin", "editor": "rbac.authorization.k8s.io/aggregate-to-edit", "viewer": "rbac.authorization.k8s.io/aggregate-to-view"}
		for _, kind := range []string{"virtualservice", "destinationrule", "gateway"} {
			for role, label := range want {
				r := objs.get(t, "ClusterRole", "mizzen-"+kind+"-"+role+"-role")
				if r.GetLabels()[label] != "true" {
					t.Errorf("%s lacks label %s=true", r.GetName(), label)
				}
			}
		}
	})
}

func hasPort(pod corev1.PodSpec, port int) bool {
	for _, c := range pod.Containers {
		for _, p := range c.Ports {
			if int(p.ContainerPort) == port {
				return true
			}
		}
	}
	return false
}

func TestDefault(t *testing.T) {
	objs := build(t, repoRoot(t), "config/default")
	checkOperator(t, objs, "mizzen-system")
	c := objs.get(t, "Deployment", "mizzen-controller-manager")
	if img, _, _ := unstructured.NestedSlice(c.Object, "spec", "template", "spec", "containers"); str(&unstructured.Unstructured{Object: img[0].(map[string]any)}, "image") != "ghcr.io/mizzen-mesh/mizzen:latest" {
		t.Errorf("default image %v, want the Makefile's IMG ghcr.io/mizzen-mesh/mizzen:latest", img[0].(map[string]any)["image"])
	}
	ns := objs.get(t, "Namespace", "mizzen-system")
	if ns.GetLabels()["mizzen.dev/mesh"] == "enabled" {
		t.Error("the operator's own namespace is meshed")
	}
	if ns.GetLabels()["pod-security.kubernetes.io/enforce"] != "restricted" {
		t.Error("the operator namespace does not enforce the restricted pod security standard")
	}
}

func TestAcmeOverlay(t *testing.T) {
	objs := build(t, repoRoot(t), "config/overlays/acme")
	checkOperator(t, objs, "acme-mesh")
	dep := &appsv1.Deployment{}
	into(t, objs.get(t, "Deployment", "mizzen-controller-manager"), dep)
	c := dep.Spec.Template.Spec.Containers[0]
	if c.Image != "registry.acme.example/platform/mizzen:v0.1.0" {
		t.Errorf("image %s, want ACME's mirror", c.Image)
	}
	if !slices.Contains(c.Args, "--trust-domain=acme.example") {
		t.Errorf("args %v lack --trust-domain=acme.example", c.Args)
	}
	if dep.Spec.Replicas == nil || *dep.Spec.Replicas != 2 {
		t.Errorf("replicas %v, want 2", dep.Spec.Replicas)
	}
	sm := objs.get(t, "ServiceMonitor", "controller-manager-metrics-monitor")
	eps, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
	if got := eps[0].(map[string]any)["tlsConfig"].(map[string]any)["serverName"]; got != "mizzen-controller-manager-metrics-service.acme-mesh.svc" {
		t.Errorf("ServiceMonitor serverName %v, want the metrics Service in acme-mesh", got)
	}
	for _, np := range objs.ofKind("NetworkPolicy") {
		sel, _, _ := unstructured.NestedStringMap(np.Object, "spec", "podSelector", "matchLabels")
		if !labels.SelectorFromSet(sel).Matches(labels.Set(dep.Spec.Template.Labels)) {
			t.Errorf("%s does not select the manager's pods", id(np))
		}
	}
}
