// Package packaging checks the install paths without a cluster: every kustomization under config/
// builds through kustomize's krusty API and yields the objects it should, dist/install.yaml and the
// OLM bundle are what their generators write today, the bundle passes operator-framework's
// validators, and every alm-example passes its CRD's schema and CEL rules.
package packaging

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/resmap"

	"github.com/mizzen-mesh/mizzen/hack/bundle/gen"
)

// repoRoot is the directory holding go.mod, found from this file's location.
func repoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the test source")
	}
	dir := filepath.Dir(file)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test")
		}
		dir = parent
	}
}

// objects is a kustomize build result as unstructured objects, in output order.
type objects []*unstructured.Unstructured

func build(t testing.TB, root, dir string) objects {
	t.Helper()
	m, err := gen.Kustomize(root, dir)
	if err != nil {
		t.Fatal(err)
	}
	return toObjects(t, m)
}

func toObjects(t testing.TB, m resmap.ResMap) objects {
	t.Helper()
	var out objects
	for _, r := range m.Resources() {
		raw, err := r.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		u := &unstructured.Unstructured{}
		if err := json.Unmarshal(raw, &u.Object); err != nil {
			t.Fatal(err)
		}
		out = append(out, u)
	}
	return out
}

// ids lists "Kind name" or "Kind namespace/name" for every object, sorted.
func (os objects) ids() []string {
	var ids []string
	for _, o := range os {
		ids = append(ids, id(o))
	}
	sort.Strings(ids)
	return ids
}

func id(o *unstructured.Unstructured) string {
	if o.GetNamespace() == "" {
		return o.GetKind() + " " + o.GetName()
	}
	return o.GetKind() + " " + o.GetNamespace() + "/" + o.GetName()
}

// get returns the one object of that kind and name, or fails.
func (os objects) get(t testing.TB, kind, name string) *unstructured.Unstructured {
	t.Helper()
	var found *unstructured.Unstructured
	for _, o := range os {
		if o.GetKind() == kind && o.GetName() == name {
			if found != nil {
				t.Fatalf("two %s %s", kind, name)
			}
			found = o
		}
	}
	if found == nil {
		t.Fatalf("no %s %s among %s", kind, name, strings.Join(os.ids(), ", "))
	}
	return found
}

func (os objects) ofKind(kind string) objects {
	var out objects
	for _, o := range os {
		if o.GetKind() == kind {
			out = append(out, o)
		}
	}
	return out
}

// into converts an unstructured object into a typed one, strictly enough for tests.
func into(t testing.TB, o *unstructured.Unstructured, typed any) {
	t.Helper()
	raw, err := json.Marshal(o.Object)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(typed); err != nil {
		t.Fatalf("%s: %v", id(o), err)
	}
}

func str(o *unstructured.Unstructured, fields ...string) string {
	s, _, _ := unstructured.NestedString(o.Object, fields...)
	return s
}

func mustContainAll(t testing.TB, what string, got, want []string) {
	t.Helper()
	have := map[string]bool{}
	for _, g := range got {
		have[g] = true
	}
	var missing []string
	for _, w := range want {
		if !have[w] {
			missing = append(missing, w)
		}
	}
	if len(missing) > 0 {
		t.Errorf("%s lacks %v; it has:\n  %s", what, missing, strings.Join(got, "\n  "))
	}
}

func fmtList[T any](xs []T) string {
	var b strings.Builder
	for _, x := range xs {
		fmt.Fprintf(&b, "\n  %v", x)
	}
	return b.String()
}

func fmtInt(i int) string { return fmt.Sprint(i) }

func unstructuredSlice(o *unstructured.Unstructured, fields ...string) ([]any, bool, error) {
	return unstructured.NestedSlice(o.Object, fields...)
}
