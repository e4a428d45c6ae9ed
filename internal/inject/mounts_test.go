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
// a file is a key of one of the ConfigMaps projected there or of the cert-manager Secret mounted
// there. Envoy started on paths the pod does not mount would not start at all (bootstrap) or
// never get a certificate.
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
		case v.Projected != nil:
			// Each source must be one of the proxy's ConfigMaps, and all of them must be there.
			data := map[string]map[string]string{}
			for _, cm := range files.ConfigMaps() {
				data[cm.Name] = cm.Data
			}
			keys[m.MountPath] = map[string]bool{}
			for _, src := range v.Projected.Sources {
				if src.ConfigMap == nil || data[src.ConfigMap.Name] == nil || (src.ConfigMap.Optional != nil && *src.ConfigMap.Optional) {
					t.Errorf("mount %s: projected source %+v is not one of the proxy's (non-optional) ConfigMaps", m.MountPath, src)
					continue
				}
				for name := range data[src.ConfigMap.Name] {
					keys[m.MountPath][name] = true
				}
				delete(data, src.ConfigMap.Name)
			}
			for name := range data {
				t.Errorf("mount %s: ConfigMap %s is not projected", m.MountPath, name)
			}
		case v.Secret != nil && v.Secret.SecretName == envoy.ConfigMapName(fixedID):
			keys[m.MountPath] = map[string]bool{envoy.CertChainKey: true, envoy.PrivateKeyKey: true, envoy.CAKey: true}
		default:
			t.Errorf("mount %s: volume %s is neither the proxy's ConfigMaps nor its Secret", m.MountPath, m.Name)
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

// A gateway proxy also mounts the Secret where the proxy reconciler copies its servers'
// credentials, at the directory the gateway's listeners read them from; optional, so a gateway
// without TLS servers starts.
func TestGatewayMountsCredentials(t *testing.T) {
	pod, err := Pod(&corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: ProxyContainer, Image: "auto"}}}},
		Facts{GatewaySelected: true}, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	var mounted bool
	for _, m := range pod.Spec.Containers[0].VolumeMounts {
		mounted = mounted || (m.Name == envoy.CredentialsVolume && m.MountPath == envoy.CredentialsDir && m.ReadOnly)
	}
	var volume bool
	for _, v := range pod.Spec.Volumes {
		volume = volume || (v.Name == envoy.CredentialsVolume && v.Secret != nil &&
			v.Secret.SecretName == envoy.CredentialsSecretName(fixedID) && v.Secret.Optional != nil && *v.Secret.Optional)
	}
	if !mounted || !volume {
		t.Errorf("gateway proxy: credentials mount %v, optional Secret volume %v", mounted, volume)
	}
	if len(pod.Spec.InitContainers) != 0 {
		t.Errorf("a gateway proxy gets no capture: %v", pod.Spec.InitContainers)
	}
}
