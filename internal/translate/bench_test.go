package translate_test

import (
	"cmp"
	"fmt"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mizzen-mesh/mizzen/api/v1alpha1"
	"github.com/mizzen-mesh/mizzen/internal/envoy"
	"github.com/mizzen-mesh/mizzen/internal/mesh"
	"github.com/mizzen-mesh/mizzen/internal/translate"
)

// benchMesh is n HTTP services in one namespace, each with two pods (v1, v2), a DestinationRule
// with subsets v1 and v2 and a VirtualService splitting 90/10: the mesh of Istio's pilot
// benchmark the design compares with.
func benchMesh(n int) mesh.Input {
	in := mesh.Input{Nodes: []corev1.Node{{ObjectMeta: metav1.ObjectMeta{Name: "node-a",
		Labels: map[string]string{mesh.RegionLabel: "r1", mesh.ZoneLabel: "z1"}}}}}
	addBenchServices(&in, n, "bench", 0, "")
	return in
}

// addBenchServices adds benchMesh's n services to in, in namespace ns, with addresses of block k
// (one per namespace) and the pods' egress hosts annotation egress ("" for none).
func addBenchServices(in *mesh.Input, n int, ns string, k int, egress string) {
	ready := true
	port, pname := int32(8080), "http"
	for i := range n {
		name := fmt.Sprintf("svc-%04d", i)
		in.Services = append(in.Services, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: corev1.ServiceSpec{ClusterIP: fmt.Sprintf("10.%d.%d.%d", 96+k, i/250, i%250+1), Selector: map[string]string{"app": name},
				Ports: []corev1.ServicePort{{Name: "http", Port: 8080}}},
		})
		es := discoveryv1.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Name: name + "-x", Namespace: ns, Labels: map[string]string{discoveryv1.LabelServiceName: name}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports:       []discoveryv1.EndpointPort{{Name: &pname, Port: &port}},
		}
		for v := 1; v <= 2; v++ {
			pod := fmt.Sprintf("%s-v%d", name, v)
			ip := fmt.Sprintf("10.%d.%d.%d", v+2*k, i/250, i%250+1)
			node := "node-a"
			in.Pods = append(in.Pods, &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: pod, Namespace: ns,
					Labels:      map[string]string{"app": name, "version": fmt.Sprintf("v%d", v)},
					Annotations: map[string]string{mesh.ProxyIDAnnotation: "p-" + ns + "-" + pod}},
				Spec:   corev1.PodSpec{NodeName: node, ServiceAccountName: name},
				Status: corev1.PodStatus{PodIP: ip},
			})
			if egress != "" {
				in.Pods[len(in.Pods)-1].Annotations[mesh.EgressHostsAnnotation] = egress
			}
			es.Endpoints = append(es.Endpoints, discoveryv1.Endpoint{Addresses: []string{ip}, NodeName: &node,
				Conditions: discoveryv1.EndpointConditions{Ready: &ready},
				TargetRef:  &corev1.ObjectReference{Kind: "Pod", Name: pod, Namespace: ns}})
		}
		in.EndpointSlices = append(in.EndpointSlices, &es)
		in.DestinationRules = append(in.DestinationRules, &v1alpha1.DestinationRule{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: v1alpha1.DestinationRuleSpec{Host: name, Subsets: []v1alpha1.Subset{
				{Name: "v1", Labels: map[string]string{"version": "v1"}},
				{Name: "v2", Labels: map[string]string{"version": "v2"}},
			}},
		})
		in.VirtualServices = append(in.VirtualServices, &v1alpha1.VirtualService{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: v1alpha1.VirtualServiceSpec{Hosts: []string{name}, HTTP: []v1alpha1.HTTPRoute{{
				Route: []v1alpha1.HTTPRouteDestination{
					{Destination: v1alpha1.Destination{Host: name, Subset: "v1"}, Weight: 90},
					{Destination: v1alpha1.Destination{Host: name, Subset: "v2"}, Weight: 10},
				},
			}}},
		})
	}
}

// configBytes is the size of a proxy's config: protobuf bytes, and protojson bytes (close to
// the YAML internal/envoy writes into the ConfigMap).
func configBytes(b *testing.B, res translate.Resources) (pb, js int) {
	for _, l := range res.Listeners {
		pb += proto.Size(l)
		j, err := protojson.Marshal(l)
		if err != nil {
			b.Fatal(err)
		}
		js += len(j)
	}
	for _, c := range res.Clusters {
		pb += proto.Size(c)
		j, err := protojson.Marshal(c)
		if err != nil {
			b.Fatal(err)
		}
		js += len(j)
	}
	return pb, js
}

// configMapBytes is the size of the ConfigMap internal/envoy renders for the resources.
func configMapBytes(b *testing.B, proxy mesh.Proxy, res translate.Resources) int {
	files, err := envoy.Renderer{MaxBytes: 1 << 30}.Render(envoy.Node{ID: cmp.Or(proxy.ID, "p"), Namespace: proxy.Namespace}, res.Listeners, res.Clusters)
	if err != nil {
		b.Fatal(err)
	}
	return files.Size()
}

// BenchmarkTranslate measures one proxy's translation. "warm": proxies of a snapshot whose
// shared work (indexes, per-service clusters) is done, the steady state of a reconcile over many
// pods; "cold": the first proxy of a fresh snapshot, which pays for the shared work.
func BenchmarkTranslate(b *testing.B) {
	for _, n := range []int{100, 1000} {
		in := benchMesh(n)
		b.Run(fmt.Sprintf("services=%d/warm", n), func(b *testing.B) {
			snap := mesh.New(in)
			proxies := make([]mesh.Proxy, len(snap.Pods))
			for i, p := range snap.Pods {
				proxies[i] = mesh.ProxyFor(p, mesh.Sidecar)
			}
			res, _ := translate.Translate(snap, proxies[0])
			pb, js := configBytes(b, res)
			cm := configMapBytes(b, proxies[0], res)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				translate.Translate(snap, proxies[i%len(proxies)])
			}
			b.ReportMetric(float64(pb), "pb-bytes/proxy")
			b.ReportMetric(float64(js), "json-bytes/proxy")
			b.ReportMetric(float64(cm), "configmap-bytes/proxy")
			b.ReportMetric(float64(len(res.Listeners)), "listeners")
			b.ReportMetric(float64(len(res.Clusters)), "clusters")
		})
		// The remedy for size: a proxy scoped (mizzen.dev/egress-hosts) to the 10 services it
		// calls gets config for those only.
		b.Run(fmt.Sprintf("services=%d/scoped-10", n), func(b *testing.B) {
			snap := mesh.New(in)
			proxy := mesh.ProxyFor(snap.Pods[0], mesh.Sidecar)
			for i := range 10 {
				proxy.EgressHosts = append(proxy.EgressHosts, fmt.Sprintf("./svc-%04d.bench.svc.cluster.local", i*7))
			}
			res, _ := translate.Translate(snap, proxy)
			pb, js := configBytes(b, res)
			cm := configMapBytes(b, proxy, res)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				translate.Translate(snap, proxy)
			}
			b.ReportMetric(float64(pb), "pb-bytes/proxy")
			b.ReportMetric(float64(js), "json-bytes/proxy")
			b.ReportMetric(float64(cm), "configmap-bytes/proxy")
			b.ReportMetric(float64(len(res.Clusters)), "clusters")
		})
		b.Run(fmt.Sprintf("services=%d/cold", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				snap := mesh.New(in)
				proxy := mesh.ProxyFor(snap.Pods[0], mesh.Sidecar)
				b.StartTimer()
				translate.Translate(snap, proxy)
			}
		})
	}
}

// BenchmarkRuleProblemsAfterChange measures what the status reconcilers pay for the rule problems
// of a new snapshot after one VirtualService changed, in a mesh of 1,000 services in 20 namespaces
// whose sidecars see their own namespace (the scale harness's): the snapshot build is not timed.
func BenchmarkRuleProblemsAfterChange(b *testing.B) {
	in := mesh.Input{}
	for k := range 20 {
		addBenchServices(&in, 50, fmt.Sprintf("bench-%d", k), k, "./*")
	}
	translate.RuleProblems(mesh.New(in))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		snap := changeWeights(&in, i)
		b.StartTimer()
		translate.RuleProblems(snap)
	}
}

// BenchmarkSnapshot measures building the snapshot from API objects.
func BenchmarkSnapshot(b *testing.B) {
	for _, n := range []int{100, 1000} {
		in := benchMesh(n)
		b.Run(fmt.Sprintf("services=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				mesh.New(in)
			}
		})
	}
}

// BenchmarkWeightChangeRender measures what a proxy's config costs the proxy reconciler when one
// VirtualService's weights change (the scale harness's one-VS rollout): a new snapshot, then each
// proxy translated and rendered through one envoy.Cache warmed by the snapshot before, as the
// reconciler does. Reported per proxy; the snapshot build is not timed.
func BenchmarkWeightChangeRender(b *testing.B) {
	in := benchMesh(100)
	cache := &envoy.Cache{Renderer: envoy.Renderer{MaxBytes: 1 << 30}}
	renderAll := func(snap *mesh.Snapshot) {
		for _, p := range snap.Pods {
			proxy := mesh.ProxyFor(p, mesh.Sidecar)
			res, _ := translate.Translate(snap, proxy)
			if _, err := cache.Render(envoy.Node{ID: proxy.ID, Namespace: proxy.Namespace}, res.Listeners, res.Clusters); err != nil {
				b.Fatal(err)
			}
		}
	}
	renderAll(mesh.New(in))
	b.ReportAllocs()
	proxies := 0
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		snap := changeWeights(&in, i)
		b.StartTimer()
		renderAll(snap)
		proxies += len(snap.Pods)
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(proxies), "µs/proxy")
}

// changeWeights gives VirtualService i (mod their number) of in a new split, as a user's edit
// does (a new object), and returns the snapshot of the changed mesh.
func changeWeights(in *mesh.Input, i int) *mesh.Snapshot {
	vs := in.VirtualServices[i%len(in.VirtualServices)].DeepCopy()
	vs.Spec.HTTP[0].Route[0].Weight, vs.Spec.HTTP[0].Route[1].Weight = 50+int32(i%40), 50-int32(i%40)
	in.VirtualServices[i%len(in.VirtualServices)] = vs
	return mesh.New(*in)
}
