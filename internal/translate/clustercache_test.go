package translate_test

import (
	"reflect"
	"strings"
	"testing"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	"google.golang.org/protobuf/proto"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mizzen-mesh/mizzen/api/v1alpha1"
	"github.com/mizzen-mesh/mizzen/internal/mesh"
	"github.com/mizzen-mesh/mizzen/internal/translate"
)

// TestClustersKeptAcrossSnapshots: a new snapshot of an unchanged mesh hands its proxies the very
// cluster objects of the previous one; a new endpoint of one service gives that service new
// clusters with the endpoint, and leaves every other service's clusters as they were.
func TestClustersKeptAcrossSnapshots(t *testing.T) {
	c := loadCase(t, "testdata/hosts-resolution.in.yaml")
	c.proxyPod = "shop/api-1"
	_, _, first, _ := c.translate(t)
	outbound := func(res translate.Resources) map[string]*clusterv3.Cluster {
		m := map[string]*clusterv3.Cluster{}
		for _, cl := range res.Clusters {
			if strings.HasPrefix(cl.GetName(), "outbound|") {
				m[cl.GetName()] = cl
			}
		}
		return m
	}
	before := outbound(first)
	if len(before) < 3 {
		t.Fatalf("fixture gives %d outbound clusters, want several", len(before))
	}

	hits, _ := translate.SharedClustersLookups()
	_, _, second, _ := c.translate(t) // a new snapshot of the same input
	if after, _ := translate.SharedClustersLookups(); after <= hits {
		t.Error("the second snapshot built its clusters again")
	}
	for name, cl := range outbound(second) {
		if before[name] != cl {
			t.Errorf("cluster %s: a new object for an unchanged service", name)
		}
	}

	// Another replica of api: its clusters change, the others stay the same objects.
	var api *corev1.Pod
	for _, p := range c.in.Pods {
		if p.Namespace == "shop" && p.Name == "api-1" {
			api = p
		}
	}
	replica := api.DeepCopy()
	replica.Name, replica.Status.PodIP, replica.Annotations[mesh.ProxyIDAnnotation] = "api-2", "10.0.3.2", "p-api-2"
	c.in.Pods = append(c.in.Pods, replica)
	c.in.EndpointSlices = nil
	c.deriveEndpointSlices()
	_, _, third, _ := c.translate(t)
	changed := 0
	for name, cl := range outbound(third) {
		isAPI := strings.HasSuffix(name, "|api.shop.svc.cluster.local")
		switch {
		case isAPI && cl == before[name]:
			t.Errorf("cluster %s kept its old object after a new endpoint", name)
		case isAPI:
			changed++
			if !strings.Contains(prototext(cl), "10.0.3.2") {
				t.Errorf("cluster %s lacks the new endpoint 10.0.3.2", name)
			}
		case cl != before[name]:
			t.Errorf("cluster %s: a new object though its service did not change", name)
		case !proto.Equal(cl, before[name]):
			t.Errorf("cluster %s changed", name)
		}
	}
	if changed == 0 {
		t.Error("no cluster of api in the proxy's config")
	}
}

func prototext(m proto.Message) string {
	b, err := proto.Marshal(m)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// TestClusterInputsCoverEveryField: changing any field of an endpoint, the port, the settings or
// the DestinationRule's version changes the digest the clusters are kept under (so a field added
// to those types later cannot leave a proxy with clusters built from old values).
func TestClusterInputsCoverEveryField(t *testing.T) {
	snap := mesh.New(mesh.Input{})
	base := func() *mesh.Service {
		return &mesh.Service{Name: "api", Namespace: "shop", Hostname: "api.shop.svc.cluster.local",
			Endpoints: map[int32][]mesh.Endpoint{8080: {{Address: "10.0.0.1", Port: 8080, Labels: map[string]string{"v": "1"},
				ServiceAccount: "api", Locality: mesh.Locality{Region: "r"}, Pod: "shop/api-1", Meshed: true}}}}
	}
	port := mesh.Port{Name: "http", Number: 8080, Protocol: mesh.ProtocolHTTP}
	want := translate.ClusterInputs(snap, base(), port, nil)
	if translate.ClusterInputs(snap, base(), port, nil) != want {
		t.Fatal("the digest of equal inputs differs")
	}

	// Field by field, into nested structs (an endpoint's locality): the digest writes them one by one.
	for _, path := range leafFields(reflect.TypeFor[mesh.Endpoint]()) {
		svc := base()
		f := reflect.ValueOf(&svc.Endpoints[8080][0]).Elem().FieldByIndex(path)
		name := fieldName(reflect.TypeFor[mesh.Endpoint](), path)
		if !changeValue(f) {
			t.Fatalf("test cannot change field %s of kind %s", name, f.Kind())
		}
		if translate.ClusterInputs(snap, svc, port, nil) == want {
			t.Errorf("endpoint field %s is not in the digest", name)
		}
	}
	for _, path := range leafFields(reflect.TypeFor[mesh.Port]()) {
		p := port
		name := fieldName(reflect.TypeFor[mesh.Port](), path)
		if !changeValue(reflect.ValueOf(&p).Elem().FieldByIndex(path)) {
			t.Fatalf("test cannot change port field %s", name)
		}
		if translate.ClusterInputs(snap, base(), p, nil) == want {
			t.Errorf("port field %s is not in the digest", name)
		}
	}
	st := reflect.TypeFor[mesh.Settings]()
	for i := range st.NumField() {
		in := mesh.Input{}
		if !changeValue(reflect.ValueOf(&in.Settings).Elem().Field(i)) {
			t.Fatalf("test cannot change settings field %s", st.Field(i).Name)
		}
		if translate.ClusterInputs(mesh.New(in), base(), port, nil) == want {
			t.Errorf("settings field %s is not in the digest", st.Field(i).Name)
		}
	}

	dr := &v1alpha1.DestinationRule{ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: "shop", UID: "u1", Generation: 1}}
	withDR := translate.ClusterInputs(snap, base(), port, dr)
	if withDR == want {
		t.Error("a DestinationRule is not in the digest")
	}
	dr.Generation = 2
	if translate.ClusterInputs(snap, base(), port, dr) == withDR {
		t.Error("the DestinationRule's generation is not in the digest")
	}
	// A rule without an API server's identity is digested by its spec.
	fixture := &v1alpha1.DestinationRule{ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: "shop"}}
	plain := translate.ClusterInputs(snap, base(), port, fixture)
	fixture.Spec.Subsets = []v1alpha1.Subset{{Name: "v1", Labels: map[string]string{"v": "1"}}}
	if translate.ClusterInputs(snap, base(), port, fixture) == plain {
		t.Error("the spec of a DestinationRule without UID is not in the digest")
	}
}

// changeValue sets v to a value other than its own; false for a kind it does not know.
// leafFields are the index paths of t's fields that are not structs, nested structs' included.
func leafFields(t reflect.Type) [][]int {
	var out [][]int
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Type.Kind() != reflect.Struct {
			out = append(out, []int{i})
			continue
		}
		for _, sub := range leafFields(f.Type) {
			out = append(out, append([]int{i}, sub...))
		}
	}
	return out
}

// fieldName writes an index path of t as Field.Sub.
func fieldName(t reflect.Type, path []int) string {
	var parts []string
	for _, i := range path {
		f := t.Field(i)
		parts, t = append(parts, f.Name), f.Type
	}
	return strings.Join(parts, ".")
}

func changeValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.String:
		v.SetString(v.String() + "-changed")
	case reflect.Bool:
		v.SetBool(!v.Bool())
	case reflect.Int32, reflect.Int64, reflect.Int:
		v.SetInt(v.Int() + 1)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		for _, k := range v.MapKeys() {
			m.SetMapIndex(k, v.MapIndex(k))
		}
		m.SetMapIndex(reflect.ValueOf("added"), reflect.ValueOf("x"))
		v.Set(m)
	case reflect.Struct:
		for i := range v.NumField() {
			if !changeValue(v.Field(i)) {
				return false
			}
		}
	default:
		return false
	}
	return true
}

// BenchmarkClusterInputs digests a service port with two endpoints, as every translation does
// for every service port it builds clusters for.
func BenchmarkClusterInputs(b *testing.B) {
	snap := mesh.New(mesh.Input{})
	svc := &mesh.Service{Name: "api", Namespace: "shop", Hostname: "api.shop.svc.cluster.local",
		Endpoints: map[int32][]mesh.Endpoint{8080: {
			{Address: "10.0.0.1", Port: 8080, Labels: map[string]string{"app": "api", "version": "v1", "pod-template-hash": "5d8f7c9b6"},
				ServiceAccount: "api", Locality: mesh.Locality{Region: "r", Zone: "z"}, Pod: "shop/api-v1-1", Meshed: true},
			{Address: "10.0.0.2", Port: 8080, Labels: map[string]string{"app": "api", "version": "v2", "pod-template-hash": "7c9b65d8f"},
				ServiceAccount: "api", Locality: mesh.Locality{Region: "r", Zone: "z"}, Pod: "shop/api-v2-1", Meshed: true},
		}}}
	port := mesh.Port{Name: "http", Number: 8080, Protocol: mesh.ProtocolHTTP}
	dr := &v1alpha1.DestinationRule{ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: "shop", UID: "u1", Generation: 1}}
	b.ReportAllocs()
	for b.Loop() {
		translate.ClusterInputs(snap, svc, port, dr)
	}
}
