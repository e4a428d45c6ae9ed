package inject

import (
	"path"
	"regexp"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/mizzen-mesh/mizzen/internal/envoy"
)

// TestMountsServeWhatEnvoyReads renders a proxy's files as the reconciler writes them and checks
// that every path they name is served by the injected pod: a watched directory is a mount point,
// a file is a key of the ConfigMap or of the cert-manager Secret mounted there. Envoy started on
// paths the pod does not mount would not start at all (bootstrap) or never get a certificate.
func TestMountsServeWhatEnvoyReads(t *testing.T) {
	files, err := envoy.Render(envoy.Node{ID: fixedID, Namespace: "shop"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	pod, err := Pod(&corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app"}}}},
		Facts{NamespaceLabels: map[string]string{MeshLabel: MeshEnabled}}, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	proxy := pod.Spec.Containers[0]
	volumes := map[string]corev1.Volume{}
	for _, v := range pod.Spec.Volumes {
		volumes[v.Name] = v
	}
	// keys is what each mount point holds.
	keys := map[string]map[string]bool{}
	for _, m := range proxy.VolumeMounts {
		v := volumes[m.Name]
		switch {
		case v.ConfigMap != nil && v.ConfigMap.Name == envoy.ConfigMapName(fixedID):
			keys[m.MountPath] = map[string]bool{}
			for name := range files.Data {
				keys[m.MountPath][name] = true
			}
		case v.Secret != nil && v.Secret.SecretName == envoy.ConfigMapName(fixedID):
			keys[m.MountPath] = map[string]bool{envoy.CertChainKey: true, envoy.PrivateKeyKey: true, envoy.CAKey: true}
		default:
			t.Errorf("mount %s: volume %s is neither the proxy's ConfigMap nor its Secret", m.MountPath, m.Name)
		}
	}

	boot := envoy.ConfigPath(envoy.BootstrapFile)
	if proxy.Args[0] != "-c" || proxy.Args[1] != boot || !keys[path.Dir(boot)][path.Base(boot)] {
		t.Errorf("Envoy starts on %v, which the pod does not mount", proxy.Args)
	}
	paths := regexp.MustCompile(`(?m)\b(filename|path): (/\S+)$`)
	seen := 0
	for name, data := range files.Data {
		for _, m := range paths.FindAllStringSubmatch(data, -1) {
			seen++
			kind, p := m[1], m[2]
			if kind == "path" && keys[p] != nil {
				continue // a watched directory: a mount point
			}
			if !keys[path.Dir(p)][path.Base(p)] {
				t.Errorf("%s names %s %s, which the injected pod does not mount", name, kind, p)
			}
		}
	}
	if seen == 0 {
		t.Fatal("no paths found in the rendered files: the pattern no longer matches their YAML")
	}
}
