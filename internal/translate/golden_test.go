package translate_test

import (
	"bytes"
	"cmp"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	tcpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/tcp_proxy/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/mizzen-mesh/mizzen/api/v1alpha1"
	"github.com/mizzen-mesh/mizzen/internal/envoy"
	"github.com/mizzen-mesh/mizzen/internal/mesh"
	"github.com/mizzen-mesh/mizzen/internal/translate"
	"github.com/mizzen-mesh/mizzen/internal/validate"
	"github.com/mizzen-mesh/mizzen/test/golden"
)

var docSeparator = regexp.MustCompile(`(?m)^---\s*$`)

// testCase is an input file: Kubernetes objects, rules, and two test-only kinds: MeshSettings
// (mesh.Settings) and Proxy (the pod whose proxy is translated: spec.pod, spec.kind).
type testCase struct {
	in        mesh.Input
	proxyPod  string // namespace/name
	proxyKind mesh.ProxyKind
	explicit  bool // EndpointSlices given: do not derive them
}

// readObjects adds the objects of a multi-document YAML file to c. Istio's group is accepted
// for rules, as if the apiVersion had been rewritten.
func (c *testCase) readObjects(t testing.TB, data []byte, dir, defaultNS string) {
	t.Helper()
	for _, doc := range docSeparator.Split(string(data), -1) {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
			t.Fatal(err)
		}
		group, _, _ := strings.Cut(head.APIVersion, "/")
		rule := group == "networking.istio.io" || group == v1alpha1.GroupVersion.Group
		var obj interface {
			GetNamespace() string
			SetNamespace(string)
		}
		switch {
		case head.Kind == "Service" && head.APIVersion == "v1":
			c.in.Services = append(c.in.Services, &corev1.Service{})
			obj = c.in.Services[len(c.in.Services)-1]
		case head.Kind == "Pod":
			c.in.Pods = append(c.in.Pods, &corev1.Pod{})
			obj = c.in.Pods[len(c.in.Pods)-1]
		case head.Kind == "Node":
			c.in.Nodes = append(c.in.Nodes, corev1.Node{})
			obj = &c.in.Nodes[len(c.in.Nodes)-1]
		case head.Kind == "EndpointSlice":
			c.in.EndpointSlices = append(c.in.EndpointSlices, &discoveryv1.EndpointSlice{})
			obj = c.in.EndpointSlices[len(c.in.EndpointSlices)-1]
			c.explicit = true
		case rule && head.Kind == "VirtualService":
			c.in.VirtualServices = append(c.in.VirtualServices, &v1alpha1.VirtualService{})
			obj = c.in.VirtualServices[len(c.in.VirtualServices)-1]
		case rule && head.Kind == "DestinationRule":
			c.in.DestinationRules = append(c.in.DestinationRules, &v1alpha1.DestinationRule{})
			obj = c.in.DestinationRules[len(c.in.DestinationRules)-1]
		case rule && head.Kind == "Gateway":
			c.in.Gateways = append(c.in.Gateways, &v1alpha1.Gateway{})
			obj = c.in.Gateways[len(c.in.Gateways)-1]
		case head.Kind == "Secret" && head.APIVersion == "v1":
			// Only which keys it has reaches the snapshot. Test-only annotation
			// mizzen.dev/test-deleted: the Secret was seen and is gone.
			var sec corev1.Secret
			if err := yaml.Unmarshal([]byte(doc), &sec); err != nil {
				t.Fatalf("Secret: %v", err)
			}
			sec.Namespace = cmp.Or(sec.Namespace, defaultNS)
			cred := mesh.CredentialOf(&sec)
			cred.Deleted = sec.Annotations["mizzen.dev/test-deleted"] == "true"
			c.in.Credentials = append(c.in.Credentials, cred)
			continue
		case head.Kind == "MeshSettings":
			var s struct {
				Kind string
				Spec mesh.Settings
			}
			if err := yaml.UnmarshalStrict([]byte(doc), &s); err != nil {
				t.Fatal(err)
			}
			c.in.Settings = s.Spec
			continue
		case head.Kind == "Include": // test-only: the objects of another file
			var inc struct{ Spec struct{ File string } }
			if err := yaml.Unmarshal([]byte(doc), &inc); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, inc.Spec.File)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			c.readObjects(t, data, filepath.Dir(path), defaultNS)
			continue
		case head.Kind == "Proxy":
			var p struct {
				Spec struct {
					Pod  string
					Kind mesh.ProxyKind
				}
			}
			if err := yaml.Unmarshal([]byte(doc), &p); err != nil {
				t.Fatal(err)
			}
			c.proxyPod, c.proxyKind = p.Spec.Pod, p.Spec.Kind
			continue
		default:
			continue // other kinds of the samples (ServiceEntry, Deployment, ...)
		}
		if err := yaml.Unmarshal([]byte(doc), obj); err != nil {
			t.Fatalf("%s: %v", head.Kind, err)
		}
		if obj.GetNamespace() == "" && head.Kind != "Node" {
			obj.SetNamespace(defaultNS)
		}
	}
}

// deriveEndpointSlices plays the EndpointSlice controller: one slice per service with the pods
// its selector picks, ready unless the pod's Ready condition is False.
func (c *testCase) deriveEndpointSlices() {
	if c.explicit {
		return
	}
	for _, svc := range c.in.Services {
		if len(svc.Spec.Selector) == 0 {
			continue
		}
		es := discoveryv1.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Name: svc.Name + "-x", Namespace: svc.Namespace, Labels: map[string]string{discoveryv1.LabelServiceName: svc.Name}},
			AddressType: discoveryv1.AddressTypeIPv4,
		}
		var pods []*corev1.Pod
		for _, p := range c.in.Pods {
			if p.Namespace == svc.Namespace && mesh.LabelsMatch(svc.Spec.Selector, p.Labels) && p.Status.PodIP != "" {
				pods = append(pods, p)
			}
		}
		for _, sp := range svc.Spec.Ports {
			target := sp.Port
			if sp.TargetPort.Type == intstr.Int && sp.TargetPort.IntVal != 0 {
				target = sp.TargetPort.IntVal
			}
			name := sp.Name
			es.Ports = append(es.Ports, discoveryv1.EndpointPort{Name: &name, Port: &target})
		}
		for _, p := range pods {
			ready := true
			for _, cond := range p.Status.Conditions {
				if cond.Type == corev1.PodReady && cond.Status == corev1.ConditionFalse {
					ready = false
				}
			}
			node := p.Spec.NodeName
			ep := discoveryv1.Endpoint{Addresses: []string{p.Status.PodIP}, Conditions: discoveryv1.EndpointConditions{Ready: &ready},
				TargetRef: &corev1.ObjectReference{Kind: "Pod", Name: p.Name, Namespace: p.Namespace}}
			if node != "" {
				ep.NodeName = &node
			}
			es.Endpoints = append(es.Endpoints, ep)
		}
		c.in.EndpointSlices = append(c.in.EndpointSlices, &es)
	}
}

func loadCase(t testing.TB, files ...string) *testCase {
	t.Helper()
	c := &testCase{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		c.readObjects(t, data, filepath.Dir(f), "default")
	}
	c.deriveEndpointSlices()
	return c
}

func (c *testCase) translate(t testing.TB) (*mesh.Snapshot, mesh.Proxy, translate.Resources, []validate.Problem) {
	t.Helper()
	snap := mesh.New(c.in)
	ns, name, _ := strings.Cut(c.proxyPod, "/")
	pod := snap.Pod(ns, name)
	if pod == nil {
		t.Fatalf("proxy pod %q not found", c.proxyPod)
	}
	kind := c.proxyKind
	if kind == "" {
		kind = mesh.Sidecar
	}
	proxy := mesh.ProxyFor(pod, kind)
	if proxy.ID == "" {
		proxy.ID = pod.Name
	}
	res, problems := translate.Translate(snap, proxy)
	return snap, proxy, res, problems
}

// checkResources checks the resources as Envoy will read them: every message passes ValidateAll,
// including those inside Anys (which ValidateAll does not enter); each resource survives a
// strict protojson round trip; every cluster a route or TCP proxy names exists; every SDS
// reference names a secret of the file it reads.
func checkResources(t testing.TB, proxy mesh.Proxy, res translate.Resources) {
	t.Helper()
	clusters := map[string]bool{translate.PrometheusStatsCluster: true}
	for _, c := range res.Clusters {
		if clusters[c.GetName()] {
			t.Errorf("cluster %s defined twice", c.GetName())
		}
		clusters[c.GetName()] = true
	}
	names := map[string]bool{}
	for _, l := range res.Listeners {
		if names[l.GetName()] {
			t.Errorf("listener %s defined twice", l.GetName())
		}
		names[l.GetName()] = true
		deepCheck(t, "listener "+l.GetName(), l, clusters)
		roundTrip(t, l, &listenerv3.Listener{})
	}
	for _, c := range res.Clusters {
		deepCheck(t, "cluster "+c.GetName(), c, clusters)
		roundTrip(t, c, &clusterv3.Cluster{})
	}
}

type validatable interface{ ValidateAll() error }

func deepCheck(t testing.TB, what string, m proto.Message, clusters map[string]bool) {
	t.Helper()
	if v, ok := m.(validatable); ok {
		if err := v.ValidateAll(); err != nil {
			t.Errorf("%s: %T: %v", what, m, err)
		}
	}
	switch m := m.(type) {
	case *routev3.RouteAction:
		refs := []string{m.GetCluster()}
		for _, w := range m.GetWeightedClusters().GetClusters() {
			refs = append(refs, w.GetName())
		}
		for _, mp := range m.GetRequestMirrorPolicies() {
			refs = append(refs, mp.GetCluster())
		}
		checkRefs(t, what, refs, clusters)
	case *listenerv3.Listener:
		// Envoy refuses two filter chains with the same match (server names one by one).
		seen := map[string]bool{}
		for _, fc := range m.GetFilterChains() {
			mm := proto.Clone(fc.GetFilterChainMatch())
			var names []string
			if fcm, ok := mm.(*listenerv3.FilterChainMatch); ok && fcm != nil {
				names = fcm.GetServerNames()
				fcm.ServerNames = nil
			}
			b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(mm)
			if len(names) == 0 {
				names = []string{""}
			}
			for _, n := range names {
				k := string(b) + "\x00" + n
				if seen[k] {
					t.Errorf("%s: two filter chains match the same connections (server name %q)", what, n)
				}
				seen[k] = true
			}
		}
	case *endpointv3.LocalityLbEndpoints:
		if m.GetLocality() == nil || m.GetLoadBalancingWeight() == nil {
			t.Errorf("%s: an endpoint group without locality or weight", what)
		}
	case *tcpv3.TcpProxy:
		refs := []string{m.GetCluster()}
		for _, w := range m.GetWeightedClusters().GetClusters() {
			refs = append(refs, w.GetName())
		}
		checkRefs(t, what, refs, clusters)
	case *tlsv3.SdsSecretConfig:
		if p := m.GetSdsConfig().GetPathConfigSource(); strings.HasPrefix(p.GetPath(), envoy.CredentialsDir+"/") {
			// A gateway credential: its document is in the credentials Secret's volume.
			if !strings.HasPrefix(m.GetName(), "kubernetes://") || p.GetWatchedDirectory().GetPath() != envoy.CredentialsDir {
				t.Errorf("%s: credential %q read from %q (watching %q)", what, m.GetName(), p.GetPath(), p.GetWatchedDirectory().GetPath())
			}
			break
		}
		want := map[string]string{translate.WorkloadCertSecretName: translate.WorkloadSDSFile, translate.RootCASecretName: translate.RootCASDSFile}[m.GetName()]
		p := m.GetSdsConfig().GetPathConfigSource()
		if want == "" || p.GetPath() != translate.SDSPathDir+"/"+want || p.GetWatchedDirectory().GetPath() != translate.SDSPathDir {
			t.Errorf("%s: secret %q read from %q (watching %q)", what, m.GetName(), p.GetPath(), p.GetWatchedDirectory().GetPath())
		}
	}
	m.ProtoReflect().Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		visit := func(mv protoreflect.Message) {
			inner := mv.Interface()
			if a, ok := inner.(*anypb.Any); ok {
				u, err := a.UnmarshalNew()
				if err != nil {
					t.Errorf("%s: %v", what, err)
					return
				}
				inner = u
			}
			deepCheck(t, what, inner, clusters)
		}
		switch {
		case fd.IsMap():
			if fd.MapValue().Message() != nil {
				v.Map().Range(func(_ protoreflect.MapKey, e protoreflect.Value) bool { visit(e.Message()); return true })
			}
		case fd.Message() == nil:
		case fd.IsList():
			for i := 0; i < v.List().Len(); i++ {
				visit(v.List().Get(i).Message())
			}
		default:
			visit(v.Message())
		}
		return true
	})
}

func checkRefs(t testing.TB, what string, refs []string, clusters map[string]bool) {
	t.Helper()
	for _, r := range refs {
		if r != "" && !clusters[r] {
			t.Errorf("%s: unknown cluster %q", what, r)
		}
	}
}

func roundTrip(t testing.TB, m proto.Message, into proto.Message) {
	t.Helper()
	j, err := protojson.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := protojson.Unmarshal(j, into); err != nil {
		t.Fatalf("strict decode of %T: %v", m, err)
	}
	if !proto.Equal(canonical(t, m), canonical(t, into)) {
		t.Errorf("%T does not survive a protojson round trip", m)
	}
}

// canonical re-encodes m through protojson, which decodes Any contents, so that proto.Equal
// does not compare Any bytes of two encoders.
func canonical(t testing.TB, m proto.Message) proto.Message {
	j, err := protojson.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	out := m.ProtoReflect().New().Interface()
	if err := protojson.Unmarshal(j, out); err != nil {
		t.Fatal(err)
	}
	b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(out)
	out2 := m.ProtoReflect().New().Interface()
	_ = proto.Unmarshal(b, out2)
	return out2
}

var jsonOut = protojson.MarshalOptions{UseProtoNames: true}

// render is the golden form: problems, then listeners and clusters as protojson, as YAML.
func render(t testing.TB, res translate.Resources, problems []validate.Problem) []byte {
	t.Helper()
	type problem struct {
		Field   string `json:"field"`
		Reason  string `json:"reason"`
		Message string `json:"message"`
	}
	doc := struct {
		Problems    []problem          `json:"problems"`
		Credentials []envoy.Credential `json:"credentials,omitempty"`
		// Rules: the rule versions the config was built from (what a rollout waits for).
		Rules     map[string]int64  `json:"rules"`
		Listeners []json.RawMessage `json:"listeners"`
		Clusters  []json.RawMessage `json:"clusters"`
	}{Problems: []problem{}, Credentials: res.Credentials, Rules: map[string]int64{}}
	for _, set := range res.Rules {
		for k, g := range set {
			doc.Rules[k] = g
		}
	}
	for _, p := range problems {
		doc.Problems = append(doc.Problems, problem{p.Field, p.Reason, p.Message})
	}
	for _, l := range res.Listeners {
		j, err := jsonOut.Marshal(l)
		if err != nil {
			t.Fatal(err)
		}
		doc.Listeners = append(doc.Listeners, j)
	}
	for _, c := range res.Clusters {
		j, err := jsonOut.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		doc.Clusters = append(doc.Clusters, j)
	}
	j, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	y, err := yaml.JSONToYAML(j)
	if err != nil {
		t.Fatal(err)
	}
	return y
}

// TestGolden translates every testdata/<case>.in.yaml and compares with <case>.out.yaml.
func TestGolden(t *testing.T) {
	ins, err := filepath.Glob("testdata/*.in.yaml")
	if err != nil || len(ins) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	for _, in := range ins {
		name := strings.TrimSuffix(filepath.Base(in), ".in.yaml")
		t.Run(name, func(t *testing.T) {
			c := loadCase(t, in)
			_, proxy, res, problems := c.translate(t)
			checkResources(t, proxy, res)
			out := render(t, res, problems)
			golden.Check(t, strings.TrimSuffix(in, ".in.yaml")+".out.yaml", out)
			// Deterministic: a second translation of a fresh snapshot gives the same bytes.
			_, _, res2, problems2 := loadCase(t, in).translate(t)
			if !bytes.Equal(out, render(t, res2, problems2)) {
				t.Error("translation is not deterministic")
			}
		})
	}
}
