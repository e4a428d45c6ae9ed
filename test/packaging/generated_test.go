package packaging

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/mizzen-mesh/mizzen/hack/bundle/gen"
)

// TestInstallerIsCurrent: dist/install.yaml is `make build-installer` with the default IMG, which
// is `kustomize build config/default`.
func TestInstallerIsCurrent(t *testing.T) {
	root := repoRoot(t)
	m, err := gen.Kustomize(root, "config/default")
	if err != nil {
		t.Fatal(err)
	}
	want, err := m.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(root, "dist", "install.yaml"))
	if err != nil {
		t.Fatalf("%v: run `make build-installer` and commit dist/install.yaml", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("dist/install.yaml is stale: run `make build-installer` and commit it\n%s", firstDiff(got, want))
	}
}

// TestBundleIsCurrent: bundle/ and bundle.Dockerfile are what `make bundle` writes now, and
// bundle/ holds nothing else.
func TestBundleIsCurrent(t *testing.T) {
	root := repoRoot(t)
	files, err := gen.Generate(gen.Defaults(root))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range files.Paths() {
		got, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(p)))
		if err != nil {
			t.Errorf("%v: run `make bundle` and commit bundle/", err)
			continue
		}
		if !bytes.Equal(got, files[p]) {
			t.Errorf("%s is stale: run `make bundle` and commit bundle/\n%s", p, firstDiff(got, files[p]))
		}
	}
	err = filepath.WalkDir(filepath.Join(root, gen.BundleDir), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if _, ok := files[filepath.ToSlash(rel)]; !ok {
			t.Errorf("%s is not generated any more: run `make bundle` (it removes it) and commit", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestBundleIsDeterministic: two runs write the same bytes.
func TestBundleIsDeterministic(t *testing.T) {
	root := repoRoot(t)
	a, err := gen.Generate(gen.Defaults(root))
	if err != nil {
		t.Fatal(err)
	}
	b, err := gen.Generate(gen.Defaults(root))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range a.Paths() {
		if !bytes.Equal(a[p], b[p]) {
			t.Errorf("%s differs between two runs\n%s", p, firstDiff(a[p], b[p]))
		}
	}
}

// firstDiff shows the first differing line of two texts.
func firstDiff(got, want []byte) string {
	g, w := bytes.Split(got, []byte("\n")), bytes.Split(want, []byte("\n"))
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl []byte
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if !bytes.Equal(gl, wl) {
			return "first difference at line " + itoa(i+1) + ":\n  committed: " + string(gl) + "\n  generated: " + string(wl)
		}
	}
	return "(same lines)"
}

func itoa(i int) string {
	return string(bytes.TrimSpace([]byte(fmtInt(i))))
}
