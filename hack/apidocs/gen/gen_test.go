package gen

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/fixture.md")

// TestFixtureGolden renders the fixture package and compares the page with testdata/fixture.md
// (rewrite it with -update and review the diff).
func TestFixtureGolden(t *testing.T) {
	p, err := Load("testdata/fixture", []string{"Widget"})
	if err != nil {
		t.Fatal(err)
	}
	got := Render(p, Options{Source: "testdata/fixture", Command: "go test -update"})
	golden := filepath.Join("testdata", "fixture.md")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("the page differs from %s (go test ./hack/apidocs/gen -update rewrites it):\n%s", golden, got)
	}
	again := Render(p, Options{Source: "testdata/fixture", Command: "go test -update"})
	if !bytes.Equal(got, again) {
		t.Error("two renders of the same package differ")
	}
}

func TestFixtureModel(t *testing.T) {
	p, err := Load("testdata/fixture", []string{"Widget"})
	if err != nil {
		t.Fatal(err)
	}
	if got := []string{p.Kinds[0].Name, p.Kinds[1].Name}; len(p.Kinds) != 2 || !reflect.DeepEqual(got, []string{"Widget", "Gadget"}) {
		t.Errorf("kinds %v, want Widget then Gadget (lists are not kinds)", got)
	}
	if p.Group != "toys.example.com" {
		t.Errorf("group %q", p.Group)
	}
	spec := p.Types["WidgetSpec"]
	var names []string
	for _, f := range spec.Fields {
		names = append(names, f.JSONName)
	}
	if want := []string{"color", "size", "parts", "labels"}; !reflect.DeepEqual(names, want) {
		t.Errorf("WidgetSpec fields %v, want %v (inline flattened, json:\"-\" and unexported dropped)", names, want)
	}
	required := map[string]bool{}
	for _, f := range spec.Fields {
		required[f.JSONName] = f.Required
	}
	if want := map[string]bool{"color": true, "size": false, "parts": false, "labels": true}; !reflect.DeepEqual(required, want) {
		t.Errorf("required %v, want %v (+required beats omitempty; no marker: required unless omitempty)", required, want)
	}
	page := string(Render(p, Options{}))
	if strings.Contains(page, "Unused") || strings.Contains(page, "WidgetList") {
		t.Error("a type no kind reaches is documented")
	}
	if !strings.Contains(page, "## Shared types\n\nTypes that more than one kind uses.\n\n### Part") {
		t.Error("Part, used by both kinds, is not under Shared types")
	}
}

func TestLoadRejectsBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(src string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "types.go"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("package v1\n\n// T is a kind.\n// +kubebuilder:validation:XValidation:rule=\"self.a,message=\"oops\"\ntype T struct{}\n")
	if _, err := Load(dir, nil); err == nil || !strings.Contains(err.Error(), "types.go:5") || !strings.Contains(err.Error(), "XValidation") {
		t.Errorf("a malformed marker: want an error naming the file, line and marker, got %v", err)
	}
	write("package v1\n\n// T is a type.\ntype T struct{}\n")
	if _, err := Load(dir, []string{"Missing"}); err == nil || !strings.Contains(err.Error(), "kind Missing is not in the package") {
		t.Errorf("an unknown kind: want an error naming it, got %v", err)
	}
}

func TestParseMarker(t *testing.T) {
	for _, tc := range []struct {
		line string
		want Marker
	}{
		{"+optional", Marker{Name: "optional"}},
		{"+kubebuilder:validation:Enum=A;B", Marker{Name: "kubebuilder:validation:Enum", Value: "A;B"}},
		{`+kubebuilder:validation:XValidation:rule="a, \"b\" || c",message="m, n"`,
			Marker{Name: "kubebuilder:validation:XValidation", Args: map[string]string{"rule": `a, "b" || c`, "message": "m, n"}}},
		{"+kubebuilder:printcolumn:name=\"R\",type=string,JSONPath=`.status[?(@.x==\"y\")]`",
			Marker{Name: "kubebuilder:printcolumn", Args: map[string]string{"name": "R", "type": "string", "JSONPath": `.status[?(@.x=="y")]`}}},
		{"+kubebuilder:resource:shortName={a,b},scope=Cluster",
			Marker{Name: "kubebuilder:resource", Args: map[string]string{"shortName": "a,b", "scope": "Cluster"}}},
	} {
		got, err := parseMarker(tc.line)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("parseMarker(%s) = %+v, %v; want %+v", tc.line, got, err, tc.want)
		}
	}
	for _, bad := range []string{`+kubebuilder:validation:XValidation:rule="open`, `+kubebuilder:resource:shortName`, `+kubebuilder:resource:a=1,a=2`, `+=x`} {
		if _, err := parseMarker(bad); err == nil {
			t.Errorf("parseMarker(%s): want an error", bad)
		}
	}
}

// TestAPIFieldsDocumented keeps the real reference complete: every field the kinds reach has a
// doc comment.
func TestAPIFieldsDocumented(t *testing.T) {
	p, err := Load(filepath.Join("..", "..", "..", "api", "v1alpha1"), nil)
	if err != nil {
		t.Fatal(err)
	}
	r := &renderer{p: p, owner: map[string]string{}}
	r.assignTypes()
	for name := range r.owner {
		for _, f := range p.Types[name].Fields {
			if f.Doc == "" && !f.TypeMeta && f.JSONName != "metadata" {
				t.Errorf("%s.%s has no doc comment: the API reference would show an empty description", name, f.GoName)
			}
		}
	}
	if len(r.owner) < 40 {
		t.Errorf("only %d types reached from the kinds", len(r.owner))
	}
}
