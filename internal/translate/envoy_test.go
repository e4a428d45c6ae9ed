package translate_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/mizzen-mesh/mizzen/internal/envoy"
	"github.com/mizzen-mesh/mizzen/internal/translate"
)

// TestRenderContract: every golden case's resources render through internal/envoy, whose Verify
// decodes the files strictly, validates inside every Any and checks the references between
// files (SDS files, static clusters); and the constants both packages declare agree.
func TestRenderContract(t *testing.T) {
	if translate.WorkloadCertSecretName != envoy.WorkloadCertSecretName || translate.RootCASecretName != envoy.RootCASecretName ||
		translate.SDSPathDir != envoy.ConfigDir || translate.WorkloadSDSFile != envoy.WorkloadSDSFile ||
		translate.RootCASDSFile != envoy.RootCASDSFile || translate.PrometheusStatsCluster != envoy.PrometheusStatsCluster {
		t.Fatal("translate and envoy disagree on SDS or static cluster names")
	}
	ins, _ := filepath.Glob("testdata/*.in.yaml")
	for _, in := range ins {
		t.Run(strings.TrimSuffix(filepath.Base(in), ".in.yaml"), func(t *testing.T) {
			_, proxy, res, _ := loadCase(t, in).translate(t)
			node := envoy.Node{ID: proxy.ID, Namespace: proxy.Namespace,
				Locality: envoy.Locality{Region: proxy.Locality.Region, Zone: proxy.Locality.Zone, SubZone: proxy.Locality.SubZone}}
			files, err := envoy.Render(node, res.Listeners, res.Clusters)
			if err != nil {
				t.Fatal(err)
			}
			if err := envoy.Verify(files); err != nil {
				t.Fatal(err)
			}
			// The credentials the listeners read render into a credentials Secret.
			pems := map[envoy.Credential]envoy.CredentialPEM{}
			for _, c := range res.Credentials {
				pems[c] = envoy.CredentialPEM{Chain: []byte("chain"), Key: []byte("key"), CA: []byte("ca")}
			}
			if _, err := envoy.RenderCredentials(pems); err != nil {
				t.Fatal(err)
			}
		})
	}
}
