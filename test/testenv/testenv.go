// Package testenv starts the real control plane the integration suites run against: envtest's
// kube-apiserver and etcd, built from the module proxy by hack/assets.sh, with Mizzen's CRDs.
package testenv

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// RepoRoot is the checkout's top directory, found from this source file so tests in any package agree.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// AssetsDir returns the directory holding kube-apiserver, etcd, kubectl and the other control-plane
// binaries: $KUBEBUILDER_ASSETS when set (the Makefile sets it), otherwise what hack/assets.sh
// builds or finds in its cache.
func AssetsDir() (string, error) {
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		return dir, nil
	}
	cmd := exec.Command("bash", filepath.Join(RepoRoot(), "hack", "assets.sh"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building control-plane binaries with hack/assets.sh: %w\n%s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	return lines[len(lines)-1], nil
}

// CompatDir is the folder of Istio's public samples shared beside the checkout, or "" when absent
// (suites that need it skip and say why).
func CompatDir() string {
	dir := filepath.Join(RepoRoot(), "..", "shared", "compat", "istio")
	if _, err := os.Stat(dir); err != nil {
		return ""
	}
	return dir
}

// CertManagerCRDDir is deploy/crds of the cert-manager module this checkout requires: its CRDs,
// for Options.ExtraCRDDirs.
func CertManagerCRDDir() (string, error) {
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/cert-manager/cert-manager")
	cmd.Dir = RepoRoot()
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("finding the cert-manager module: %w", err)
	}
	return filepath.Join(strings.TrimSpace(string(out)), "deploy", "crds"), nil
}

// Options adjusts the environment a suite starts.
type Options struct {
	// ExtraCRDDirs are installed beside Mizzen's own CRDs (for example cert-manager's).
	ExtraCRDDirs []string
	// WebhookManifestDirs, when set, installs these webhook configurations and serves them locally.
	WebhookManifestDirs []string
}

// Start starts kube-apiserver and etcd with Mizzen's CRDs installed and returns the environment
// (stop it with Stop) and a rest.Config for an admin client.
func Start(opts Options) (*envtest.Environment, *rest.Config, error) {
	assets, err := AssetsDir()
	if err != nil {
		return nil, nil, err
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDDirectoryPaths:     append([]string{filepath.Join(RepoRoot(), "config", "crd", "bases")}, opts.ExtraCRDDirs...),
		ErrorIfCRDPathMissing: true,
	}
	if len(opts.WebhookManifestDirs) > 0 {
		env.WebhookInstallOptions = envtest.WebhookInstallOptions{Paths: opts.WebhookManifestDirs}
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, nil, fmt.Errorf("starting envtest with assets from %s: %w", assets, err)
	}
	return env, cfg, nil
}

// YAMLFiles lists the .yaml and .yml files under root, in lexical order, for tests that read
// manifests from a folder (Istio's samples, golden inputs).
func YAMLFiles(root string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("listing YAML files under %s: %w", root, err)
	}
	sort.Strings(files)
	return files, nil
}
