// Package gen builds Mizzen's OLM bundle (registry+v1) from the kustomize tree, as operator-sdk's
// `generate bundle` would but without operator-sdk: it builds config/manifests with kustomize's
// krusty API, fills in the ClusterServiceVersion base of config/manifests/bases from the built
// objects, and returns every file of bundle/ plus bundle.Dockerfile. The output is a pure function
// of the repository and the Options: no timestamps, maps and lists in a fixed order.
package gen

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/blang/semver/v4"
	"github.com/operator-framework/api/pkg/lib/version"
	operatorsv1alpha1 "github.com/operator-framework/api/pkg/operators/v1alpha1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/api/resource"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// Options name the bundle. Defaults() are what `make bundle` uses unless told otherwise; the
// staleness test regenerates with them.
type Options struct {
	// Root is the repository root (holding config/).
	Root string
	// Package is the OLM package name.
	Package string
	// Version is the operator's semantic version, without a leading v.
	Version string
	// Image is the manager image the bundle's deployment runs.
	Image string
	// Channels the bundle is published in; DefaultChannel is one of them.
	Channels       []string
	DefaultChannel string
}

// Defaults are the options of `make bundle` without overrides.
func Defaults(root string) Options {
	return Options{
		Root:           root,
		Package:        "mizzen",
		Version:        "0.1.0",
		Image:          "ghcr.io/mizzen-mesh/mizzen:v0.1.0",
		Channels:       []string{"alpha"},
		DefaultChannel: "alpha",
	}
}

// Files maps a path relative to the repository root to its content.
type Files map[string][]byte

// Paths returns the file paths in order.
func (f Files) Paths() []string {
	ps := make([]string, 0, len(f))
	for p := range f {
		ps = append(ps, p)
	}
	sort.Strings(ps)
	return ps
}

// Write writes the files under root, replacing bundle/ as a whole so that no stale file survives.
func (f Files) Write(root string) error {
	if err := os.RemoveAll(filepath.Join(root, BundleDir)); err != nil {
		return fmt.Errorf("removing the old bundle: %w", err)
	}
	for _, p := range f.Paths() {
		full := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return fmt.Errorf("writing %s: %w", p, err)
		}
		if err := os.WriteFile(full, f[p], 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", p, err)
		}
	}
	return nil
}

const (
	// BundleDir holds the bundle: manifests/, metadata/, tests/scorecard/.
	BundleDir = "bundle"
	// Dockerfile builds the bundle image.
	Dockerfile = "bundle.Dockerfile"

	manifestsKustomization = "config/manifests"
	samplesKustomization   = "config/samples"
	iconFile               = "config/manifests/bases/mizzen-icon.svg"
	ownedGroup             = "networking.mizzen.dev"
	managerContainer       = "manager"
	builder                = "mizzen-hack-bundle"
	projectLayout          = "go.kubebuilder.io/v4"

	// Where the manager reads its webhook serving certificate: OLM mounts the certificate it
	// generates for the webhook definitions at this path (tls.crt, tls.key).
	webhookCertDir = "/tmp/k8s-webhook-server/serving-certs"
	// The manager flag naming the image of the injected capture init container.
	captureImageFlag = "--capture-image="
)

// Kustomize builds the kustomization in dir (relative to root) with the options of `kustomize build`.
func Kustomize(root, dir string) (resmap.ResMap, error) {
	opts := krusty.MakeDefaultOptions()
	opts.Reorder = krusty.ReorderOptionLegacy // as `kustomize build` orders its output
	k := krusty.MakeKustomizer(opts)
	m, err := k.Run(filesys.MakeFsOnDisk(), filepath.Join(root, filepath.FromSlash(dir)))
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	return m, nil
}

// Generate builds the bundle.
func Generate(o Options) (Files, error) {
	if _, err := semver.Parse(o.Version); err != nil {
		return nil, fmt.Errorf("version %q: %w", o.Version, err)
	}
	if !slices.Contains(o.Channels, o.DefaultChannel) {
		return nil, fmt.Errorf("default channel %q is not one of the channels %v", o.DefaultChannel, o.Channels)
	}
	all, err := Kustomize(o.Root, manifestsKustomization)
	if err != nil {
		return nil, err
	}
	samples, err := Kustomize(o.Root, samplesKustomization)
	if err != nil {
		return nil, err
	}
	isSample := map[string]bool{}
	for _, r := range samples.Resources() {
		isSample[r.CurId().String()] = true
	}

	g := &generator{opts: o}
	for _, r := range all.Resources() {
		if isSample[r.CurId().String()] {
			if r.GetGvk().Group == ownedGroup {
				g.examples = append(g.examples, r)
			}
			continue // the rest of the bookinfo sample is workload, not operator
		}
		if err := g.sort(r); err != nil {
			return nil, err
		}
	}
	return g.files()
}

type generator struct {
	opts Options

	csv        *operatorsv1alpha1.ClusterServiceVersion
	scorecard  map[string]any
	crds       []*apiextensionsv1.CustomResourceDefinition
	raw        map[string]map[string]any // kind/name → the object as kustomize built it
	examples   []*resource.Resource
	deployment *appsv1.Deployment
	accounts   map[string]bool
	roles      map[string]*rbacv1.Role        // namespace/name
	clusterRs  map[string]*rbacv1.ClusterRole // name
	bindings   []*rbacv1.RoleBinding
	cBindings  []*rbacv1.ClusterRoleBinding
	services   []*corev1.Service
	webhooks   []operatorsv1alpha1.WebhookDescription
	validating []*admissionregistrationv1.ValidatingWebhookConfiguration
	mutating   []*admissionregistrationv1.MutatingWebhookConfiguration
	extra      []*resource.Resource // other objects OLM installs from a bundle as they are
}

// into converts a kustomize resource into a typed object, strictly.
func into(r *resource.Resource, obj any) error {
	raw, err := r.MarshalJSON()
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, obj); err != nil {
		return fmt.Errorf("%s: %w", r.CurId(), err)
	}
	return nil
}

// Kinds OLM installs from a bundle's manifests/ as they are (operator-registry's supported kinds),
// besides those the CSV describes.
var bundleKinds = map[string]bool{
	"ConfigMap": true, "Secret": true, "Service": true, "ServiceMonitor": true, "PrometheusRule": true,
	"PodDisruptionBudget": true, "PriorityClass": true, "VerticalPodAutoscaler": true, "NetworkPolicy": true,
	"ConsoleYAMLSample": true, "ConsoleQuickStart": true, "ConsoleCLIDownload": true, "ConsoleLink": true,
}

func (g *generator) sort(r *resource.Resource) error {
	gvk := r.GetGvk()
	if g.raw == nil {
		g.raw = map[string]map[string]any{}
	}
	m, err := r.Map()
	if err != nil {
		return fmt.Errorf("%s: %w", r.CurId(), err)
	}
	g.raw[gvk.Kind+"/"+r.GetName()] = m
	switch {
	case gvk.Kind == "ClusterServiceVersion":
		g.csv = &operatorsv1alpha1.ClusterServiceVersion{}
		return into(r, g.csv)
	case gvk.Group == "scorecard.operatorframework.io" && gvk.Kind == "Configuration":
		g.scorecard = m
		return nil
	case gvk.Kind == "CustomResourceDefinition":
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := into(r, crd); err != nil {
			return err
		}
		g.crds = append(g.crds, crd)
	case gvk.Kind == "Deployment":
		if g.deployment != nil {
			return fmt.Errorf("two Deployments (%s, %s): the CSV generator handles one", g.deployment.Name, r.GetName())
		}
		g.deployment = &appsv1.Deployment{}
		return into(r, g.deployment)
	case gvk.Kind == "ServiceAccount":
		if g.accounts == nil {
			g.accounts = map[string]bool{}
		}
		g.accounts[r.GetName()] = true // OLM creates the accounts the CSV's permissions name
	case gvk.Kind == "Role":
		role := &rbacv1.Role{}
		if err := into(r, role); err != nil {
			return err
		}
		if g.roles == nil {
			g.roles = map[string]*rbacv1.Role{}
		}
		g.roles[role.Namespace+"/"+role.Name] = role
	case gvk.Kind == "ClusterRole":
		role := &rbacv1.ClusterRole{}
		if err := into(r, role); err != nil {
			return err
		}
		if g.clusterRs == nil {
			g.clusterRs = map[string]*rbacv1.ClusterRole{}
		}
		g.clusterRs[role.Name] = role
	case gvk.Kind == "RoleBinding":
		b := &rbacv1.RoleBinding{}
		if err := into(r, b); err != nil {
			return err
		}
		g.bindings = append(g.bindings, b)
	case gvk.Kind == "ClusterRoleBinding":
		b := &rbacv1.ClusterRoleBinding{}
		if err := into(r, b); err != nil {
			return err
		}
		g.cBindings = append(g.cBindings, b)
	case gvk.Kind == "Service":
		s := &corev1.Service{}
		if err := into(r, s); err != nil {
			return err
		}
		g.services = append(g.services, s)
	case gvk.Kind == "ValidatingWebhookConfiguration":
		c := &admissionregistrationv1.ValidatingWebhookConfiguration{}
		if err := into(r, c); err != nil {
			return err
		}
		g.validating = append(g.validating, c)
	case gvk.Kind == "MutatingWebhookConfiguration":
		c := &admissionregistrationv1.MutatingWebhookConfiguration{}
		if err := into(r, c); err != nil {
			return err
		}
		g.mutating = append(g.mutating, c)
	case gvk.Kind == "Namespace":
		// OLM installs into the namespace of the OperatorGroup.
	case gvk.Group == "cert-manager.io":
		// The serving certificates: OLM issues and mounts the webhook's own. The mesh CA: bundles
		// cannot carry cert-manager objects; the CSV's description says how to create it.
	case bundleKinds[gvk.Kind]:
		g.extra = append(g.extra, r)
	default:
		return fmt.Errorf("%s: no place for this kind in an OLM bundle", r.CurId())
	}
	return nil
}

func (g *generator) files() (Files, error) {
	if g.csv == nil {
		return nil, fmt.Errorf("%s has no ClusterServiceVersion base", manifestsKustomization)
	}
	if g.deployment == nil {
		return nil, fmt.Errorf("%s has no Deployment", manifestsKustomization)
	}
	if g.scorecard == nil {
		return nil, fmt.Errorf("%s has no scorecard Configuration", manifestsKustomization)
	}
	files := Files{}
	add := func(name string, obj any) error {
		b, err := marshal(obj)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		files[path.Join(BundleDir, "manifests", name)] = b
		return nil
	}

	if err := g.webhookDefinitions(); err != nil {
		return nil, err
	}
	csv, err := g.fillCSV()
	if err != nil {
		return nil, err
	}
	if err := add(g.opts.Package+".clusterserviceversion.yaml", csv); err != nil {
		return nil, err
	}
	for _, crd := range g.crds {
		if err := add(crd.Spec.Group+"_"+crd.Spec.Names.Plural+".yaml", g.raw["CustomResourceDefinition/"+crd.Name]); err != nil {
			return nil, err
		}
	}
	// ClusterRoles bound to no account of the operator (metrics reader, the aggregated user
	// roles) go into the bundle as they are.
	bound := g.boundRoles()
	for _, name := range sortedKeys(g.clusterRs) {
		if bound["ClusterRole/"+name] {
			continue
		}
		if err := add(objectFile(name, "rbac.authorization.k8s.io", "v1", "ClusterRole"), g.raw["ClusterRole/"+name]); err != nil {
			return nil, err
		}
	}
	for _, s := range g.services {
		if g.isWebhookService(s) {
			continue // OLM creates the webhook's Service from the webhook definitions
		}
		m := g.raw["Service/"+s.Name]
		delete(m["metadata"].(map[string]any), "namespace")
		if err := add(objectFile(s.Name, "", "v1", "Service"), m); err != nil {
			return nil, err
		}
	}
	for _, r := range g.extra {
		m := g.raw[r.GetKind()+"/"+r.GetName()]
		if md, ok := m["metadata"].(map[string]any); ok {
			delete(md, "namespace")
		}
		gvk := r.GetGvk()
		if err := add(objectFile(r.GetName(), gvk.Group, gvk.Version, gvk.Kind), m); err != nil {
			return nil, err
		}
	}

	meta := g.annotations()
	b, err := marshal(map[string]any{"annotations": meta})
	if err != nil {
		return nil, err
	}
	files[path.Join(BundleDir, "metadata", "annotations.yaml")] = b
	if files[path.Join(BundleDir, "tests", "scorecard", "config.yaml")], err = marshal(g.scorecard); err != nil {
		return nil, err
	}
	files[Dockerfile] = dockerfile(meta)
	return files, nil
}

// fillCSV completes the CSV base.
func (g *generator) fillCSV() (*operatorsv1alpha1.ClusterServiceVersion, error) {
	csv := g.csv.DeepCopy()
	o := g.opts
	csv.TypeMeta.APIVersion, csv.TypeMeta.Kind = "operators.coreos.com/v1alpha1", "ClusterServiceVersion"
	csv.Name = o.Package + ".v" + o.Version
	csv.Namespace = ""
	v := semver.MustParse(o.Version)
	csv.Spec.Version = version.OperatorVersion{Version: v}
	if csv.Annotations == nil {
		csv.Annotations = map[string]string{}
	}
	csv.Annotations["containerImage"] = o.Image
	csv.Annotations["operators.operatorframework.io/builder"] = builder
	csv.Annotations["operators.operatorframework.io/project_layout"] = projectLayout

	examples, err := g.almExamples()
	if err != nil {
		return nil, err
	}
	csv.Annotations["alm-examples"] = examples

	icon, err := os.ReadFile(filepath.Join(o.Root, filepath.FromSlash(iconFile)))
	if err != nil {
		return nil, fmt.Errorf("reading the icon: %w", err)
	}
	csv.Spec.Icon = []operatorsv1alpha1.Icon{{Data: base64.StdEncoding.EncodeToString(icon), MediaType: "image/svg+xml"}}

	if err := g.ownedCRDs(csv); err != nil {
		return nil, err
	}

	dep, err := g.installDeployment()
	if err != nil {
		return nil, err
	}
	perms, clusterPerms, err := g.permissions()
	if err != nil {
		return nil, err
	}
	csv.Spec.InstallStrategy = operatorsv1alpha1.NamedInstallStrategy{
		StrategyName: operatorsv1alpha1.InstallStrategyNameDeployment,
		StrategySpec: operatorsv1alpha1.StrategyDetailsDeployment{
			DeploymentSpecs:    []operatorsv1alpha1.StrategyDeploymentSpec{dep},
			Permissions:        perms,
			ClusterPermissions: clusterPerms,
		},
	}
	csv.Spec.WebhookDefinitions = g.webhooks
	csv.Spec.RelatedImages = []operatorsv1alpha1.RelatedImage{{Name: managerContainer, Image: o.Image}}
	return csv, nil
}

// almExamples lists the samples of the owned kinds: CRD order (as the CSV lists them), then
// namespace and name.
func (g *generator) almExamples() (string, error) {
	order := map[string]int{}
	for i, crd := range g.csv.Spec.CustomResourceDefinitions.Owned {
		order[crd.Kind] = i
	}
	ex := slices.Clone(g.examples)
	sort.SliceStable(ex, func(i, j int) bool {
		a, b := ex[i], ex[j]
		if order[a.GetKind()] != order[b.GetKind()] {
			return order[a.GetKind()] < order[b.GetKind()]
		}
		if a.GetNamespace() != b.GetNamespace() {
			return a.GetNamespace() < b.GetNamespace()
		}
		return a.GetName() < b.GetName()
	})
	list := make([]map[string]any, 0, len(ex))
	seen := map[string]bool{}
	for _, r := range ex {
		m, err := r.Map()
		if err != nil {
			return "", fmt.Errorf("%s: %w", r.CurId(), err)
		}
		if md, ok := m["metadata"].(map[string]any); ok {
			delete(md, "namespace") // examples are created in the namespace the user is in
		}
		seen[r.GetKind()] = true
		list = append(list, m)
	}
	for _, crd := range g.crds {
		if !seen[crd.Spec.Names.Kind] {
			return "", fmt.Errorf("config/samples has no %s: alm-examples need one for every owned kind", crd.Spec.Names.Kind)
		}
	}
	b, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// ownedCRDs makes the CSV's owned list match the bundle's CRDs: every CRD is listed (base
// descriptors kept), with the storage version; the base may not name a CRD that does not exist.
func (g *generator) ownedCRDs(csv *operatorsv1alpha1.ClusterServiceVersion) error {
	base := map[string]operatorsv1alpha1.CRDDescription{}
	order := map[string]int{}
	for i, d := range csv.Spec.CustomResourceDefinitions.Owned {
		base[d.Name] = d
		order[d.Name] = i
	}
	// The base's order first (it is how the console lists them), then any CRD it does not name.
	sort.SliceStable(g.crds, func(i, j int) bool {
		oi, iok := order[g.crds[i].Name]
		oj, jok := order[g.crds[j].Name]
		if iok != jok {
			return iok
		}
		if iok {
			return oi < oj
		}
		return g.crds[i].Name < g.crds[j].Name
	})
	var owned []operatorsv1alpha1.CRDDescription
	for _, crd := range g.crds {
		for _, v := range crd.Spec.Versions {
			if !v.Served {
				continue
			}
			d, ok := base[crd.Name]
			if !ok {
				d = operatorsv1alpha1.CRDDescription{DisplayName: crd.Spec.Names.Kind}
			}
			d.Name, d.Version, d.Kind = crd.Name, v.Name, crd.Spec.Names.Kind
			if d.Description == "" && v.Schema != nil && v.Schema.OpenAPIV3Schema != nil {
				d.Description = v.Schema.OpenAPIV3Schema.Description
			}
			owned = append(owned, d)
		}
		delete(base, crd.Name)
	}
	if len(base) > 0 {
		return fmt.Errorf("the CSV base owns CRDs that config/crd does not have: %v", sortedKeys(base))
	}
	csv.Spec.CustomResourceDefinitions.Owned = owned
	return nil
}

// installDeployment turns the manager Deployment into the CSV's install strategy deployment. The
// cert-manager certificate mounts of config/default are removed: under OLM the metrics endpoint
// uses its self-signed certificate, and OLM mounts the webhook certificate itself.
func (g *generator) installDeployment() (operatorsv1alpha1.StrategyDeploymentSpec, error) {
	d := g.deployment.DeepCopy()
	spec := &d.Spec.Template.Spec
	certVolumes := map[string]bool{}
	var volumes []corev1.Volume
	for _, v := range spec.Volumes {
		if v.Secret != nil && (v.Secret.SecretName == "webhook-server-cert" || v.Secret.SecretName == "metrics-server-cert") {
			certVolumes[v.Name] = true
			continue
		}
		volumes = append(volumes, v)
	}
	spec.Volumes = volumes
	found := false
	for i := range spec.Containers {
		c := &spec.Containers[i]
		if c.Name != managerContainer {
			continue
		}
		found = true
		c.Image = g.opts.Image
		var args []string
		for _, a := range c.Args {
			switch {
			case strings.HasPrefix(a, "--metrics-cert-path="):
				continue
			case strings.HasPrefix(a, captureImageFlag):
				// The capture init container runs the manager's own image.
				a = captureImageFlag + g.opts.Image
			case strings.HasPrefix(a, "--webhook-cert-path="):
				if len(g.webhooks) == 0 {
					continue // no webhooks: OLM mounts no certificate
				}
				a = "--webhook-cert-path=" + webhookCertDir
			}
			args = append(args, a)
		}
		c.Args = args
		var mounts []corev1.VolumeMount
		for _, m := range c.VolumeMounts {
			if !certVolumes[m.Name] {
				mounts = append(mounts, m)
			}
		}
		c.VolumeMounts = mounts
	}
	if !found {
		return operatorsv1alpha1.StrategyDeploymentSpec{}, fmt.Errorf("deployment %s has no container %q", d.Name, managerContainer)
	}
	return operatorsv1alpha1.StrategyDeploymentSpec{Name: d.Name, Spec: d.Spec, Label: d.Labels}, nil
}

// boundRoles are the roles bound to the operator's own ServiceAccounts: their rules become the
// CSV's permissions and clusterPermissions.
func (g *generator) boundRoles() map[string]bool {
	bound := map[string]bool{}
	for _, b := range g.bindings {
		if g.bindsOperator(b.Subjects) {
			bound[b.RoleRef.Kind+"/"+b.Namespace+"/"+b.RoleRef.Name] = true
			if b.RoleRef.Kind == "ClusterRole" {
				bound["ClusterRole/"+b.RoleRef.Name] = true
			}
		}
	}
	for _, b := range g.cBindings {
		if g.bindsOperator(b.Subjects) {
			bound["ClusterRole/"+b.RoleRef.Name] = true
		}
	}
	return bound
}

func (g *generator) bindsOperator(subjects []rbacv1.Subject) bool {
	for _, s := range subjects {
		if s.Kind == "ServiceAccount" && g.accounts[s.Name] {
			return true
		}
	}
	return false
}

// permissions collects, per operator ServiceAccount, the rules of the Roles bound to it in its
// namespace (permissions) and of the ClusterRoles bound to it (clusterPermissions).
func (g *generator) permissions() (perms, clusterPerms []operatorsv1alpha1.StrategyDeploymentPermissions, err error) {
	ns := map[string][]rbacv1.PolicyRule{}
	cluster := map[string][]rbacv1.PolicyRule{}
	for _, b := range g.bindings {
		for _, s := range b.Subjects {
			if s.Kind != "ServiceAccount" || !g.accounts[s.Name] {
				continue
			}
			switch b.RoleRef.Kind {
			case "Role":
				r, ok := g.roles[b.Namespace+"/"+b.RoleRef.Name]
				if !ok {
					return nil, nil, fmt.Errorf("RoleBinding %s names Role %s, which does not exist", b.Name, b.RoleRef.Name)
				}
				ns[s.Name] = append(ns[s.Name], r.Rules...)
			case "ClusterRole":
				r, ok := g.clusterRs[b.RoleRef.Name]
				if !ok {
					return nil, nil, fmt.Errorf("RoleBinding %s names ClusterRole %s, which does not exist", b.Name, b.RoleRef.Name)
				}
				ns[s.Name] = append(ns[s.Name], r.Rules...)
			}
		}
	}
	for _, b := range g.cBindings {
		for _, s := range b.Subjects {
			if s.Kind != "ServiceAccount" || !g.accounts[s.Name] {
				continue
			}
			r, ok := g.clusterRs[b.RoleRef.Name]
			if !ok {
				return nil, nil, fmt.Errorf("ClusterRoleBinding %s names ClusterRole %s, which does not exist", b.Name, b.RoleRef.Name)
			}
			cluster[s.Name] = append(cluster[s.Name], r.Rules...)
		}
	}
	if sa := g.deployment.Spec.Template.Spec.ServiceAccountName; !g.accounts[sa] {
		return nil, nil, fmt.Errorf("the deployment runs as ServiceAccount %q, which config/rbac does not define", sa)
	}
	for _, sa := range sortedKeys(ns) {
		perms = append(perms, operatorsv1alpha1.StrategyDeploymentPermissions{ServiceAccountName: sa, Rules: ns[sa]})
	}
	for _, sa := range sortedKeys(cluster) {
		clusterPerms = append(clusterPerms, operatorsv1alpha1.StrategyDeploymentPermissions{ServiceAccountName: sa, Rules: cluster[sa]})
	}
	return perms, clusterPerms, nil
}

// isWebhookService: the Service the webhook configurations call, or (before they exist) the one
// that forwards to the manager's webhook port.
func (g *generator) isWebhookService(s *corev1.Service) bool {
	for _, c := range g.validating {
		for _, w := range c.Webhooks {
			if w.ClientConfig.Service != nil && w.ClientConfig.Service.Name == s.Name {
				return true
			}
		}
	}
	for _, c := range g.mutating {
		for _, w := range c.Webhooks {
			if w.ClientConfig.Service != nil && w.ClientConfig.Service.Name == s.Name {
				return true
			}
		}
	}
	for _, p := range s.Spec.Ports {
		if p.TargetPort.IntValue() == 9443 || p.TargetPort.String() == "webhook-server" {
			return true
		}
	}
	return false
}

// webhookDefinitions turns the webhook configurations into the CSV's webhook definitions: OLM
// creates the configurations, their Service and serving certificate from these.
func (g *generator) webhookDefinitions() error {
	var defs []operatorsv1alpha1.WebhookDescription
	for _, c := range g.validating {
		for _, w := range c.Webhooks {
			d, err := g.webhookDescription(operatorsv1alpha1.ValidatingAdmissionWebhook, w.Name, w.ClientConfig, w.Rules,
				w.FailurePolicy, w.MatchPolicy, w.NamespaceSelector, w.ObjectSelector, w.SideEffects, w.TimeoutSeconds, w.AdmissionReviewVersions)
			if err != nil {
				return err
			}
			defs = append(defs, d)
		}
	}
	for _, c := range g.mutating {
		for _, w := range c.Webhooks {
			d, err := g.webhookDescription(operatorsv1alpha1.MutatingAdmissionWebhook, w.Name, w.ClientConfig, w.Rules,
				w.FailurePolicy, w.MatchPolicy, w.NamespaceSelector, w.ObjectSelector, w.SideEffects, w.TimeoutSeconds, w.AdmissionReviewVersions)
			if err != nil {
				return err
			}
			d.ReinvocationPolicy = w.ReinvocationPolicy
			defs = append(defs, d)
		}
	}
	sort.SliceStable(defs, func(i, j int) bool {
		if defs[i].Type != defs[j].Type {
			return defs[i].Type < defs[j].Type
		}
		return defs[i].GenerateName < defs[j].GenerateName
	})
	g.webhooks = defs
	return nil
}

func (g *generator) webhookDescription(typ operatorsv1alpha1.WebhookAdmissionType, name string, cc admissionregistrationv1.WebhookClientConfig,
	rules []admissionregistrationv1.RuleWithOperations, fp *admissionregistrationv1.FailurePolicyType, mp *admissionregistrationv1.MatchPolicyType,
	nsSel, objSel *metav1.LabelSelector, se *admissionregistrationv1.SideEffectClass, timeout *int32, versions []string,
) (operatorsv1alpha1.WebhookDescription, error) {
	if cc.Service == nil {
		return operatorsv1alpha1.WebhookDescription{}, fmt.Errorf("webhook %s: OLM serves only webhooks behind a Service", name)
	}
	if nsSel != nil && (len(nsSel.MatchLabels) > 0 || len(nsSel.MatchExpressions) > 0) {
		// OLM sets the namespaceSelector to the OperatorGroup's namespaces; a webhook that must
		// select namespaces by label has to do it in its handler (or by objectSelector).
		return operatorsv1alpha1.WebhookDescription{}, fmt.Errorf("webhook %s: OLM webhook definitions cannot carry a namespaceSelector", name)
	}
	containerPort := int32(443)
	if cc.Service.Port != nil {
		containerPort = *cc.Service.Port
	}
	target := intstr.FromInt32(9443)
	for _, s := range g.services {
		if s.Name != cc.Service.Name {
			continue
		}
		for _, p := range s.Spec.Ports {
			if p.Port == containerPort {
				target = p.TargetPort
			}
		}
	}
	return operatorsv1alpha1.WebhookDescription{
		GenerateName:            name,
		Type:                    typ,
		DeploymentName:          g.deployment.Name,
		ContainerPort:           containerPort,
		TargetPort:              &target,
		Rules:                   rules,
		FailurePolicy:           fp,
		MatchPolicy:             mp,
		ObjectSelector:          objSel,
		SideEffects:             se,
		TimeoutSeconds:          timeout,
		AdmissionReviewVersions: versions,
		WebhookPath:             cc.Service.Path,
	}, nil
}

func (g *generator) annotations() map[string]string {
	return map[string]string{
		"operators.operatorframework.io.bundle.mediatype.v1":       "registry+v1",
		"operators.operatorframework.io.bundle.manifests.v1":       "manifests/",
		"operators.operatorframework.io.bundle.metadata.v1":        "metadata/",
		"operators.operatorframework.io.bundle.package.v1":         g.opts.Package,
		"operators.operatorframework.io.bundle.channels.v1":        strings.Join(g.opts.Channels, ","),
		"operators.operatorframework.io.bundle.channel.default.v1": g.opts.DefaultChannel,
		"operators.operatorframework.io.metrics.builder":           builder,
		"operators.operatorframework.io.metrics.mediatype.v1":      "metrics+v1",
		"operators.operatorframework.io.metrics.project_layout":    projectLayout,
		"operators.operatorframework.io.test.mediatype.v1":         "scorecard+v1",
		"operators.operatorframework.io.test.config.v1":            "tests/scorecard/",
	}
}

func dockerfile(annotations map[string]string) []byte {
	var b bytes.Buffer
	b.WriteString("# The OLM bundle image of Mizzen, written by `make bundle` (go run ./hack/bundle). Do not edit.\n")
	b.WriteString("FROM scratch\n\n")
	b.WriteString("# Core bundle labels.\n")
	for _, k := range sortedKeys(annotations) {
		fmt.Fprintf(&b, "LABEL %s=%s\n", k, annotations[k])
	}
	b.WriteString("\n# Copy files to locations specified by labels.\n")
	b.WriteString("COPY bundle/manifests /manifests/\n")
	b.WriteString("COPY bundle/metadata /metadata/\n")
	b.WriteString("COPY bundle/tests/scorecard /tests/scorecard/\n")
	return b.Bytes()
}

// objectFile names a bundle manifest as operator-sdk does: <name>_<group>_<version>_<kind>.yaml.
func objectFile(name, group, version, kind string) string {
	parts := []string{name}
	if group != "" {
		parts = append(parts, group)
	}
	parts = append(parts, version, strings.ToLower(kind))
	return strings.Join(parts, "_") + ".yaml"
}

// marshal writes obj as YAML without the empty fields typed objects carry (creationTimestamp: null,
// status: {}), so the files read like hand-written manifests.
func marshal(obj any) ([]byte, error) {
	var m any
	switch o := obj.(type) {
	case map[string]any:
		m = o
	default:
		u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
		if err != nil {
			return nil, err
		}
		m = u
	}
	m = clean(m)
	return yaml.Marshal(m)
}

func clean(v any) any {
	if m, ok := v.(map[string]any); ok {
		delete(m, "status")
	}
	return dropNil(v)
}

func dropNil(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			if e == nil {
				delete(t, k)
				continue
			}
			t[k] = dropNil(e)
		}
	case []any:
		for i := range t {
			t[i] = dropNil(t[i])
		}
	}
	return v
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
