package validate

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/mizzen-mesh/mizzen/api/v1alpha1"
	"github.com/mizzen-mesh/mizzen/test/testenv"
)

// istioCompat is Istio's own samples and fixtures next to the checkout (see DESIGN.md), or ""
// when absent; tests that read it then skip.
var istioCompat = testenv.CompatDir()

var docSeparator = regexp.MustCompile(`(?m)^---\s*$`)

// validateManifest runs the package's checks over every VirtualService, DestinationRule and
// Gateway (of Istio's or Mizzen's group) of a multi-document YAML file, and returns how many
// objects it checked, and the errors and the warnings by "kind namespace/name".
func validateManifest(t *testing.T, path string) (n int, errs, warns map[string][]Problem) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	errs, warns = map[string][]Problem{}, map[string][]Problem{}
	for _, doc := range docSeparator.Split(string(data), -1) {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		var head struct{ APIVersion, Kind string }
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if group, _, _ := strings.Cut(head.APIVersion, "/"); group != "networking.istio.io" && group != v1alpha1.GroupVersion.Group {
			continue // e.g. a Gateway API Gateway
		}
		var obj interface {
			GetNamespace() string
			GetName() string
			SetNamespace(string)
		}
		var check func() problems
		switch head.Kind {
		case "VirtualService":
			vs := &v1alpha1.VirtualService{}
			obj, check = vs, func() problems { return checkVirtualService(vs) }
		case "DestinationRule":
			dr := &v1alpha1.DestinationRule{}
			obj, check = dr, func() problems { return checkDestinationRule(dr) }
		case "Gateway":
			gw := &v1alpha1.Gateway{}
			obj, check = gw, func() problems { return checkGateway(gw) }
		default:
			continue
		}
		if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
			// A field the API types lack is the API's business, not this package's; read on.
			t.Logf("%s: %s not read strictly: %v", path, head.Kind, err)
			if err := yaml.Unmarshal([]byte(doc), obj); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
		}
		if obj.GetNamespace() == "" {
			obj.SetNamespace("default")
		}
		n++
		ps := check()
		key := head.Kind + " " + obj.GetNamespace() + "/" + obj.GetName()
		if len(ps.errs) > 0 {
			errs[key] = append(errs[key], ps.errs...)
		}
		if len(ps.warns) > 0 {
			warns[key] = append(warns[key], ps.warns...)
		}
	}
	return n, errs, warns
}

func yamlFiles(t *testing.T, root string) []string {
	t.Helper()
	files, err := testenv.YAMLFiles(root)
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestValidSpecs: the valid specs under testdata/valid yield no problems and no warnings.
func TestValidSpecs(t *testing.T) {
	total := 0
	for _, f := range yamlFiles(t, "testdata/valid") {
		n, errs, warns := validateManifest(t, f)
		total += n
		for obj, ps := range errs {
			t.Errorf("%s: %s: unexpected problems %v", f, obj, ps)
		}
		for obj, ps := range warns {
			t.Errorf("%s: %s: unexpected warnings %v", f, obj, ps)
		}
	}
	if total < 6 {
		t.Fatalf("checked only %d objects under testdata/valid", total)
	}
}

// TestIstioSamples: every VirtualService, DestinationRule and Gateway of Istio's samples, and
// every DestinationRule Istio's own fixtures call valid, yields no problems; the only warning is
// the unreachable rule Istio's fault-injection sample holds on purpose.
func TestIstioSamples(t *testing.T) {
	if istioCompat == "" {
		t.Skip("Istio's samples (../shared/compat/istio) are not beside the checkout")
	}
	files := append(yamlFiles(t, filepath.Join(istioCompat, "samples")),
		filepath.Join(istioCompat, "pkg/config/validation/testdata/crds/destinationrule-valid.yaml"))
	total := 0
	var warnings []string
	for _, f := range files {
		n, errs, warns := validateManifest(t, f)
		total += n
		for obj, ps := range errs {
			t.Errorf("%s: %s: unexpected problems %v", f, obj, ps)
		}
		for obj, ps := range warns {
			for _, p := range ps {
				warnings = append(warnings, filepath.Base(f)+" "+obj+" "+p.Field+" "+p.Reason)
			}
		}
	}
	wantWarnings := []string{"fault-injection-details-v1.yaml VirtualService default/details spec.http[1] UnreachableRule"}
	if strings.Join(warnings, "\n") != strings.Join(wantWarnings, "\n") {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(warnings, "\n"), strings.Join(wantWarnings, "\n"))
	}
	t.Logf("checked %d objects in %d files", total, len(files))
	if total == 0 {
		t.Fatal("no objects checked")
	}
}
