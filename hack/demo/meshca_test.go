package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/mizzen-mesh/mizzen/test/cluster"
	"github.com/mizzen-mesh/mizzen/test/testenv"
)

// The demo's mesh CA is the install's: the chain the manager's default issuer needs, with the CA
// Certificate where cert-manager's CA ClusterIssuer reads its key pair, and nothing else of
// config/default (the demo runs the manager as a process).
func TestMeshCAFromInstall(t *testing.T) {
	ca, err := meshCAFromInstall(testenv.RepoRoot())
	if err != nil {
		t.Fatal(err)
	}
	got := slices.Sorted(slices.Values(ca.waitFor))
	want := []string{"certificate/mizzen-mesh-ca", "clusterissuer/mizzen-mesh-ca", "clusterissuer/mizzen-mesh-ca-selfsigned"}
	if !slices.Equal(got, want) {
		t.Errorf("objects %v, want %v", got, want)
	}
	if ca.namespace != cluster.CertManagerNamespace {
		t.Errorf("the CA Certificate is in namespace %q, want cert-manager's %q", ca.namespace, cluster.CertManagerNamespace)
	}
	if docs := strings.Count(string(ca.manifest), "\nkind: "); docs != len(want) {
		t.Errorf("the manifest holds %d objects, want %d:\n%s", docs, len(want), ca.manifest)
	}
}
