package packaging

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/operator-framework/api/pkg/manifests"
	operatorsv1alpha1 "github.com/operator-framework/api/pkg/operators/v1alpha1"
	"github.com/operator-framework/api/pkg/validation"
	interfaces "github.com/operator-framework/api/pkg/validation/interfaces"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	structuralpruning "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
)

func loadBundle(t *testing.T, dir string) *manifests.Bundle {
	t.Helper()
	b, err := manifests.GetBundleFromDir(dir)
	if err != nil {
		t.Fatalf("loading the bundle in %s: %v", dir, err)
	}
	if b.CSV == nil {
		t.Fatalf("the bundle in %s has no CSV", dir)
	}
	return b
}

// validate runs the validators on the bundle's objects and fails on any error; warnings are logged.
func validate(t *testing.T, b *manifests.Bundle, name string, validators interfaces.Validators) {
	t.Helper()
	results := validators.Validate(b.ObjectsToValidate()...)
	var errs, warns int
	for _, r := range results {
		for _, e := range r.Errors {
			errs++
			t.Errorf("%s: %s: %v", name, r.Name, e)
		}
		for _, w := range r.Warnings {
			warns++
			t.Logf("%s: warning: %s: %v", name, r.Name, w)
		}
	}
	t.Logf("%s: %d results, %d errors, %d warnings", name, len(results), errs, warns)
}

func TestBundlePassesValidators(t *testing.T) {
	b := loadBundle(t, filepath.Join(repoRoot(t), "bundle"))
	validate(t, b, "DefaultBundleValidators", validation.DefaultBundleValidators)
	validate(t, b, "OperatorHubV2Validator", interfaces.Validators{validation.OperatorHubV2Validator})
}

// TestBundleContents checks what issue 6 asks of the CSV beyond what the validators check.
func TestBundleContents(t *testing.T) {
	b := loadBundle(t, filepath.Join(repoRoot(t), "bundle"))
	csv := b.CSV
	if b.Package != "mizzen" || !slices.Equal(b.Channels, []string{"alpha"}) || b.DefaultChannel != "alpha" {
		t.Errorf("package %q channels %v default %q", b.Package, b.Channels, b.DefaultChannel)
	}
	if csv.Name != "mizzen.v0.1.0" || csv.Spec.Version.String() != "0.1.0" {
		t.Errorf("CSV %s version %s", csv.Name, csv.Spec.Version)
	}
	if csv.Spec.MinKubeVersion == "" {
		t.Error("no minKubeVersion")
	}
	if len(csv.Spec.Icon) != 1 || csv.Spec.Icon[0].MediaType != "image/svg+xml" || csv.Spec.Icon[0].Data == "" {
		t.Errorf("icon %+v", csv.Spec.Icon)
	}
	modes := map[operatorsv1alpha1.InstallModeType]bool{}
	for _, m := range csv.Spec.InstallModes {
		modes[m.Type] = true
	}
	for _, m := range []operatorsv1alpha1.InstallModeType{operatorsv1alpha1.InstallModeTypeOwnNamespace,
		operatorsv1alpha1.InstallModeTypeSingleNamespace, operatorsv1alpha1.InstallModeTypeMultiNamespace, operatorsv1alpha1.InstallModeTypeAllNamespaces} {
		if !modes[m] {
			t.Errorf("installModes do not say whether %s is supported", m)
		}
	}

	owned := map[string]operatorsv1alpha1.CRDDescription{}
	for _, d := range csv.Spec.CustomResourceDefinitions.Owned {
		owned[d.Kind] = d
	}
	for _, kind := range []string{"VirtualService", "DestinationRule", "Gateway"} {
		d, ok := owned[kind]
		switch {
		case !ok:
			t.Errorf("the CSV does not own %s", kind)
		case d.Version != "v1alpha1" || d.DisplayName == "" || d.Description == "":
			t.Errorf("%s: version %q displayName %q description %q", kind, d.Version, d.DisplayName, d.Description)
		case len(d.SpecDescriptors) == 0 || len(d.StatusDescriptors) == 0:
			t.Errorf("%s has no spec or status descriptors", kind)
		}
		conditions := false
		for _, sd := range d.StatusDescriptors {
			conditions = conditions || slices.Contains(sd.XDescriptors, "urn:alm:descriptor:io.kubernetes.conditions")
		}
		if !conditions {
			t.Errorf("%s: no status descriptor for conditions", kind)
		}
	}
	required := false
	for _, r := range csv.Spec.CustomResourceDefinitions.Required {
		required = required || r.Name == "certificates.cert-manager.io" && r.Version == "v1" && r.Kind == "Certificate"
	}
	if !required {
		t.Error("cert-manager's Certificate (v1) is not a required CRD")
	}

	s := csv.Spec.InstallStrategy
	if s.StrategyName != "deployment" || len(s.StrategySpec.DeploymentSpecs) != 1 {
		t.Fatalf("install strategy %s with %d deployments", s.StrategyName, len(s.StrategySpec.DeploymentSpecs))
	}
	dep := s.StrategySpec.DeploymentSpecs[0]
	sa := dep.Spec.Template.Spec.ServiceAccountName
	c := dep.Spec.Template.Spec.Containers[0]
	if c.Image != csv.Annotations["containerImage"] || c.Image == "" {
		t.Errorf("manager image %q, containerImage annotation %q", c.Image, csv.Annotations["containerImage"])
	}
	for _, a := range c.Args {
		if strings.HasPrefix(a, "--metrics-cert-path") || (strings.HasPrefix(a, "--webhook-cert-path") && len(csv.Spec.WebhookDefinitions) == 0) {
			t.Errorf("arg %s names a certificate OLM does not mount", a)
		}
	}
	if !slices.Contains(c.Args, "--capture-image="+c.Image) {
		t.Errorf("args %v: the capture init container must run the manager's image %s", c.Args, c.Image)
	}
	injectHook := false
	for _, d := range csv.Spec.WebhookDefinitions {
		if d.GenerateName != "inject.mizzen.dev" {
			continue
		}
		injectHook = true
		// Under OLM the webhook covers every namespace: Ignore, or every pod would wait for the manager.
		if d.Type != operatorsv1alpha1.MutatingAdmissionWebhook || d.WebhookPath == nil || *d.WebhookPath != "/inject-v1-pod" ||
			d.FailurePolicy == nil || *d.FailurePolicy != admissionregistrationv1.Ignore || d.ObjectSelector == nil {
			t.Errorf("injection webhook definition %+v", d)
		}
	}
	if !injectHook {
		t.Error("the CSV has no injection webhook definition")
	}
	for _, v := range dep.Spec.Template.Spec.Volumes {
		if v.Secret != nil {
			t.Errorf("volume %s mounts secret %s, which nothing creates under OLM", v.Name, v.Secret.SecretName)
		}
	}
	hasRule := func(perms []operatorsv1alpha1.StrategyDeploymentPermissions, group, resource string) bool {
		for _, p := range perms {
			if p.ServiceAccountName != sa {
				continue
			}
			for _, r := range p.Rules {
				if slices.Contains(r.APIGroups, group) && slices.Contains(r.Resources, resource) {
					return true
				}
			}
		}
		return false
	}
	if !hasRule(s.StrategySpec.Permissions, "coordination.k8s.io", "leases") {
		t.Error("permissions lack the leader election lease rule")
	}
	for _, gr := range [][2]string{{"networking.mizzen.dev", "virtualservices"}, {"authentication.k8s.io", "tokenreviews"}} {
		if !hasRule(s.StrategySpec.ClusterPermissions, gr[0], gr[1]) {
			t.Errorf("clusterPermissions lack %s/%s", gr[0], gr[1])
		}
	}

	var examples []map[string]any
	if err := json.Unmarshal([]byte(csv.Annotations["alm-examples"]), &examples); err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	for _, e := range examples {
		kinds[e["kind"].(string)] = true
	}
	for kind := range owned {
		if !kinds[kind] {
			t.Errorf("no alm-example of %s", kind)
		}
	}
}

// TestALMExamplesPassTheirSchemas validates every alm-example as the API server would on create:
// defaulting, unknown fields (pruning), the OpenAPI schema, then the CEL rules with the runtime
// cost budget.
func TestALMExamplesPassTheirSchemas(t *testing.T) {
	b := loadBundle(t, filepath.Join(repoRoot(t), "bundle"))
	var examples []map[string]any
	if err := json.Unmarshal([]byte(b.CSV.Annotations["alm-examples"]), &examples); err != nil {
		t.Fatal(err)
	}
	if len(examples) == 0 {
		t.Fatal("no alm-examples")
	}
	for _, ex := range examples {
		kind, _ := ex["kind"].(string)
		name, _ := ex["metadata"].(map[string]any)["name"].(string)
		t.Run(kind+"/"+name, func(t *testing.T) {
			crd := crdFor(t, b, ex)
			for _, e := range validateCustomResource(t, crd, ex) {
				t.Error(e)
			}
		})
	}
}

// TestSchemaValidationCatchesErrors keeps TestALMExamplesPassTheirSchemas honest: broken examples
// fail it, for the schema, for unknown fields and for a CEL rule.
func TestSchemaValidationCatchesErrors(t *testing.T) {
	b := loadBundle(t, filepath.Join(repoRoot(t), "bundle"))
	vs := func(http any) map[string]any {
		return map[string]any{
			"apiVersion": "networking.mizzen.dev/v1alpha1", "kind": "VirtualService",
			"metadata": map[string]any{"name": "bad"},
			"spec":     map[string]any{"hosts": []any{"reviews"}, "http": http},
		}
	}
	for name, obj := range map[string]map[string]any{
		"wrong type": vs("not a list"),
		"unknown field": vs([]any{map[string]any{
			"route": []any{map[string]any{"destination": map[string]any{"host": "reviews"}}}, "noSuchField": true}}),
		"minimum: negative weight": vs([]any{map[string]any{"route": []any{
			map[string]any{"destination": map[string]any{"host": "reviews", "subset": "v1"}, "weight": -5},
			map[string]any{"destination": map[string]any{"host": "reviews", "subset": "v2"}, "weight": 105},
		}}}),
		"CEL: several destinations, zero total weight": vs([]any{map[string]any{"route": []any{
			map[string]any{"destination": map[string]any{"host": "reviews", "subset": "v1"}, "weight": 0},
			map[string]any{"destination": map[string]any{"host": "reviews", "subset": "v2"}, "weight": 0},
		}}}),
		"CEL: route and redirect": vs([]any{map[string]any{
			"route":    []any{map[string]any{"destination": map[string]any{"host": "reviews"}}},
			"redirect": map[string]any{"uri": "/elsewhere"},
		}}),
	} {
		t.Run(name, func(t *testing.T) {
			errs := validateCustomResource(t, crdFor(t, b, obj), obj)
			if len(errs) == 0 {
				t.Errorf("%s: accepted", name)
			}
			t.Logf("%v", errs)
		})
	}
}

func crdFor(t *testing.T, b *manifests.Bundle, obj map[string]any) *apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	apiVersion, _ := obj["apiVersion"].(string)
	group, version, _ := strings.Cut(apiVersion, "/")
	for _, crd := range b.V1CRDs {
		if crd.Spec.Group != group || crd.Spec.Names.Kind != obj["kind"] {
			continue
		}
		for _, v := range crd.Spec.Versions {
			if v.Name == version && v.Served {
				return crd
			}
		}
	}
	t.Fatalf("no CRD in the bundle serves %s %v", apiVersion, obj["kind"])
	return nil
}

func validateCustomResource(t *testing.T, v1 *apiextensionsv1.CustomResourceDefinition, obj map[string]any) field.ErrorList {
	t.Helper()
	crd := v1.DeepCopy()
	apiextensionsv1.SetObjectDefaults_CustomResourceDefinition(crd)
	var internal apiextensions.CustomResourceDefinition
	if err := apiextensionsv1.Convert_v1_CustomResourceDefinition_To_apiextensions_CustomResourceDefinition(crd, &internal, nil); err != nil {
		t.Fatal(err)
	}
	_, version, _ := strings.Cut(obj["apiVersion"].(string), "/")
	var schema *apiextensions.JSONSchemaProps
	for _, v := range internal.Spec.Versions {
		if v.Name == version && v.Schema != nil {
			schema = v.Schema.OpenAPIV3Schema
		}
	}
	if schema == nil && internal.Spec.Validation != nil {
		schema = internal.Spec.Validation.OpenAPIV3Schema
	}
	if schema == nil {
		t.Fatalf("%s has no schema for %s", crd.Name, version)
	}
	structural, err := structuralschema.NewStructural(schema)
	if err != nil {
		t.Fatalf("%s: structural schema: %v", crd.Name, err)
	}

	// A deep copy through JSON: the validators expect JSON types (int64 or float64, not int).
	raw, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	var u map[string]any
	if err := json.Unmarshal(raw, &u); err != nil {
		t.Fatal(err)
	}
	u = jsonNumbers(u).(map[string]any)

	var errs field.ErrorList
	structuraldefaulting.Default(u, structural)
	for _, p := range structuralpruning.PruneWithOptions(u, structural, true, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true}) {
		errs = append(errs, field.Invalid(field.NewPath(p), nil, "unknown field"))
	}
	validator, _, err := apiservervalidation.NewSchemaValidator(schema)
	if err != nil {
		t.Fatalf("%s: %v", crd.Name, err)
	}
	errs = append(errs, apiservervalidation.ValidateCustomResource(nil, u, validator)...)
	celErrs, _ := cel.NewValidator(structural, true, celconfig.PerCallLimit).
		Validate(context.Background(), nil, structural, u, nil, celconfig.RuntimeCELCostBudget)
	return append(errs, celErrs...)
}

// jsonNumbers turns float64 values that are whole numbers into int64, as the API server's JSON
// decoding does.
func jsonNumbers(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = jsonNumbers(e)
		}
	case []any:
		for i := range t {
			t[i] = jsonNumbers(t[i])
		}
	case float64:
		if t == float64(int64(t)) {
			return int64(t)
		}
	}
	return v
}
