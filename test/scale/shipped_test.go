package scale

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/yaml"

	"github.com/mizzen-mesh/mizzen/test/testenv"
)

// shippedRuntimeEnv reads the Go runtime settings (GOGC, GOMEMLIMIT) config/manager gives the
// manager container, so the harness measures the manager as it is deployed.
func shippedRuntimeEnv() (map[string]string, error) {
	path := filepath.Join(testenv.RepoRoot(), "config", "manager", "manager.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	for doc := range strings.SplitSeq(string(data), "\n---\n") {
		var d appsv1.Deployment
		if err := yaml.Unmarshal([]byte(doc), &d); err != nil || d.Kind != "Deployment" {
			continue
		}
		for _, c := range d.Spec.Template.Spec.Containers {
			if c.Name != "manager" {
				continue
			}
			env := map[string]string{}
			for _, e := range c.Env {
				if e.Name == "GOGC" || e.Name == "GOMEMLIMIT" {
					env[e.Name] = e.Value
				}
			}
			return env, nil
		}
	}
	return nil, fmt.Errorf("%s: no Deployment with a container named manager", path)
}
