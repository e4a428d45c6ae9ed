package translate_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mizzen-mesh/mizzen/api/v1alpha1"
	"github.com/mizzen-mesh/mizzen/test/golden"
	"github.com/mizzen-mesh/mizzen/test/testenv"
)

// istioSamples is Istio's own samples next to the checkout (see DESIGN.md), or "" when absent.
var istioSamples = func() string {
	if dir := testenv.CompatDir(); dir != "" {
		return filepath.Join(dir, "samples")
	}
	return ""
}()

func yamlFiles(t *testing.T, root string) []string {
	t.Helper()
	files, err := testenv.YAMLFiles(root)
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestBookinfoSamples translates each of Istio's bookinfo networking samples on the bookinfo
// mesh, for productpage's sidecar, against testdata/bookinfo/<sample>.out.yaml; VirtualService
// samples are applied with destination-rule-all.yaml, which defines their subsets.
func TestBookinfoSamples(t *testing.T) {
	if istioSamples == "" {
		t.Skip("Istio's samples (../shared/compat/istio) are not beside the checkout")
	}
	dir := filepath.Join(istioSamples, "bookinfo/networking")
	for _, f := range yamlFiles(t, dir) {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		t.Run(name, func(t *testing.T) {
			// As Istio's bookinfo guide does, routing rules go on top of destination-rule-all.yaml.
			files := []string{"testdata/bookinfo/mesh.yaml", f}
			if strings.HasPrefix(name, "virtual-service") || strings.HasPrefix(name, "fault-injection") {
				files = []string{"testdata/bookinfo/mesh.yaml", filepath.Join(dir, "destination-rule-all.yaml"), f}
			}
			c := loadCase(t, files...)
			c.proxyPod = "default/productpage-v1"
			_, proxy, res, problems := c.translate(t)
			checkResources(t, proxy, res)
			golden.Check(t, filepath.Join("testdata/bookinfo", name+".out.yaml"), render(t, res, problems))
		})
	}
}

// TestIstioSamples: every VirtualService and DestinationRule of Istio's samples translates to
// config that validates and renders. Each file is translated on the bookinfo mesh plus a service
// for every cluster-local host it names, with a pod per subset it defines.
func TestIstioSamples(t *testing.T) {
	if istioSamples == "" {
		t.Skip("Istio's samples (../shared/compat/istio) are not beside the checkout")
	}
	rules := 0
	for _, f := range yamlFiles(t, istioSamples) {
		c := loadCase(t, "testdata/bookinfo/mesh.yaml")
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		base := len(c.in.VirtualServices) + len(c.in.DestinationRules)
		c.readObjects(t, data, filepath.Dir(f), "default")
		n := len(c.in.VirtualServices) + len(c.in.DestinationRules) - base
		if n == 0 {
			continue
		}
		rules += n
		t.Run(strings.TrimPrefix(f, istioSamples+"/"), func(t *testing.T) {
			synthesizeServices(c)
			c.explicit = false
			c.in.EndpointSlices = nil
			c.deriveEndpointSlices()
			c.proxyPod = "default/productpage-v1"
			_, proxy, res, problems := c.translate(t)
			checkResources(t, proxy, res)
			for _, p := range problems {
				t.Logf("%s", p)
			}
		})
	}
	t.Logf("translated %d rules", rules)
	if rules == 0 {
		t.Fatal("no rules found")
	}
}

// synthesizeServices adds a Service (HTTP on 80 and every port a destination names) for each
// cluster-local host of the case's rules that no Service defines, and a pod per DestinationRule
// subset carrying its labels.
func synthesizeServices(c *testCase) {
	type svcKey struct{ name, ns string }
	ports := map[svcKey]map[int32]bool{}
	labels := map[svcKey][]map[string]string{}
	known := map[svcKey]bool{}
	for _, s := range c.in.Services {
		known[svcKey{s.Name, s.Namespace}] = true
	}
	resolve := func(host, ns string) (svcKey, bool) {
		if !strings.Contains(host, ".") {
			return svcKey{host, ns}, host != "*"
		}
		if rest, ok := strings.CutSuffix(host, ".svc.cluster.local"); ok {
			if name, ns, ok := strings.Cut(rest, "."); ok && !strings.Contains(ns, ".") && name != "*" {
				return svcKey{name, ns}, true
			}
		}
		return svcKey{}, false
	}
	add := func(host, ns string, port *v1alpha1.PortSelector) {
		k, ok := resolve(host, ns)
		if !ok {
			return
		}
		if ports[k] == nil {
			ports[k] = map[int32]bool{80: true}
		}
		if port != nil {
			ports[k][port.Number] = true
		}
	}
	for _, vs := range c.in.VirtualServices {
		for _, h := range vs.Spec.Hosts {
			add(h, vs.Namespace, nil)
		}
		for _, r := range vs.Spec.HTTP {
			for _, d := range r.Route {
				add(d.Destination.Host, vs.Namespace, d.Destination.Port)
			}
		}
		for _, r := range vs.Spec.TCP {
			for _, d := range r.Route {
				add(d.Destination.Host, vs.Namespace, d.Destination.Port)
			}
		}
		for _, r := range vs.Spec.TLS {
			for _, d := range r.Route {
				add(d.Destination.Host, vs.Namespace, d.Destination.Port)
			}
		}
	}
	for _, dr := range c.in.DestinationRules {
		add(dr.Spec.Host, dr.Namespace, nil)
		if k, ok := resolve(dr.Spec.Host, dr.Namespace); ok {
			for _, s := range dr.Spec.Subsets {
				labels[k] = append(labels[k], s.Labels)
			}
		}
	}
	keys := make([]svcKey, 0, len(ports))
	for k := range ports {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].ns+"/"+keys[i].name < keys[j].ns+"/"+keys[j].name })
	for i, k := range keys {
		if known[k] {
			continue
		}
		svc := corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: k.name, Namespace: k.ns},
			Spec: corev1.ServiceSpec{ClusterIP: fmt.Sprintf("10.97.%d.%d", i/200, i%200+1), Selector: map[string]string{"synthetic": k.name}}}
		var nums []int
		for p := range ports[k] {
			nums = append(nums, int(p))
		}
		sort.Ints(nums)
		for _, p := range nums {
			svc.Spec.Ports = append(svc.Spec.Ports, corev1.ServicePort{Name: fmt.Sprintf("http-%d", p), Port: int32(p)})
		}
		c.in.Services = append(c.in.Services, &svc)
		sets := labels[k]
		if len(sets) == 0 {
			sets = []map[string]string{{}}
		}
		for j, l := range sets {
			pl := map[string]string{"synthetic": k.name}
			for lk, lv := range l {
				pl[lk] = lv
			}
			c.in.Pods = append(c.in.Pods, &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%d", k.name, j), Namespace: k.ns, Labels: pl,
					Annotations: map[string]string{"mizzen.dev/proxy-id": fmt.Sprintf("p-%s-%d", k.name, j)}},
				Spec:   corev1.PodSpec{NodeName: "node-a"},
				Status: corev1.PodStatus{PodIP: fmt.Sprintf("10.98.%d.%d", i, j+1)},
			})
		}
	}
}
