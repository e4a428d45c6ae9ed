package mesh

import (
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mizzen-mesh/mizzen/api/v1alpha1"
)

func TestPortProtocol(t *testing.T) {
	str := func(s string) *string { return &s }
	for _, c := range []struct {
		name, kube string
		app        *string
		want       Protocol
	}{
		{"http", "TCP", nil, ProtocolHTTP},
		{"http-web", "TCP", nil, ProtocolHTTP},
		{"HTTP2", "TCP", nil, ProtocolHTTP2},
		{"grpc-api", "TCP", nil, ProtocolGRPC},
		{"grpc-web", "TCP", nil, ProtocolGRPCWeb},
		{"https", "TCP", nil, ProtocolHTTPS},
		{"tls-x", "TCP", nil, ProtocolTLS},
		{"tcp", "TCP", nil, ProtocolTCP},
		{"mongo", "TCP", nil, ProtocolMongo},
		{"redis-1", "TCP", nil, ProtocolRedis},
		{"mysql", "TCP", nil, ProtocolMySQL},
		{"web", "TCP", nil, ProtocolUnsupported},
		{"", "TCP", nil, ProtocolUnsupported},
		{"web", "TCP", str("http"), ProtocolHTTP},
		{"http", "TCP", str("kubernetes.io/h2c"), ProtocolHTTP2},
		{"tcp", "TCP", str("grpc"), ProtocolGRPC},
		{"http", "TCP", str("custom.io/x"), ProtocolHTTP},
		{"dns", "UDP", nil, ProtocolUDP},
	} {
		if got := PortProtocol(c.name, c.app, c.kube); got != c.want {
			t.Errorf("PortProtocol(%q, %v, %s) = %s, want %s", c.name, c.app, c.kube, got, c.want)
		}
	}
}

func TestHostsAndExport(t *testing.T) {
	s := New(Input{})
	for _, c := range []struct{ host, ns, want string }{
		{"reviews", "default", "reviews.default.svc.cluster.local"},
		{"reviews.default", "x", "reviews.default"},
		{"reviews.default.svc.cluster.local", "x", "reviews.default.svc.cluster.local"},
		{"*", "x", "*"},
		{"*.example.com", "x", "*.example.com"},
	} {
		if got := s.ResolveHost(c.host, c.ns); got != c.want {
			t.Errorf("ResolveHost(%q, %q) = %q, want %q", c.host, c.ns, got, c.want)
		}
	}
	for _, c := range []struct {
		pattern, host string
		want          bool
	}{
		{"*.default.svc.cluster.local", "a.default.svc.cluster.local", true},
		{"*.default.svc.cluster.local", "a.other.svc.cluster.local", false},
		{"*", "anything", true},
		{"a.b", "a.b", true},
	} {
		if got := HostMatches(c.pattern, c.host); got != c.want {
			t.Errorf("HostMatches(%q, %q) = %v", c.pattern, c.host, got)
		}
	}
	for _, c := range []struct {
		exportTo  []string
		owner, ns string
		want      bool
	}{
		{nil, "a", "b", true},
		{[]string{"*"}, "a", "b", true},
		{[]string{"."}, "a", "a", true},
		{[]string{"."}, "a", "b", false},
		{[]string{"b", "c"}, "a", "c", true},
		{[]string{"~"}, "a", "a", false},
	} {
		if got := Exported(c.exportTo, c.owner, c.ns); got != c.want {
			t.Errorf("Exported(%v, %s, %s) = %v", c.exportTo, c.owner, c.ns, got)
		}
	}
}

func meta(ns, name string, age int) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: ns, Name: name, CreationTimestamp: metav1.NewTime(time.Unix(int64(1_000_000-age), 0))}
}

// TestVirtualServiceConflicts: the oldest rule keeps a host; exportTo and gateways filter.
func TestVirtualServiceConflicts(t *testing.T) {
	s := New(Input{VirtualServices: []*v1alpha1.VirtualService{
		{ObjectMeta: meta("default", "new", 1), Spec: v1alpha1.VirtualServiceSpec{Hosts: []string{"r"}}},
		{ObjectMeta: meta("default", "old", 10), Spec: v1alpha1.VirtualServiceSpec{Hosts: []string{"r.default.svc.cluster.local"}}},
		{ObjectMeta: meta("other", "private", 20), Spec: v1alpha1.VirtualServiceSpec{Hosts: []string{"p.default.svc.cluster.local"}, ExportTo: []string{"."}}},
		{ObjectMeta: meta("default", "gw", 30), Spec: v1alpha1.VirtualServiceSpec{Hosts: []string{"g"}, Gateways: []string{"ingress"}}},
		{ObjectMeta: meta("default", "wild", 40), Spec: v1alpha1.VirtualServiceSpec{Hosts: []string{"*.default.svc.cluster.local"}}},
	}})
	ix := s.SidecarVirtualServices("default")
	if vs := ix.For("r.default.svc.cluster.local"); vs == nil || vs.Name != "old" {
		t.Errorf("r: got %v, want old", vs)
	}
	// Reported on both: the newer rule loses the host, the older one shadows it.
	if len(ix.Problems) != 2 ||
		ix.Problems[0].Reason != ReasonConflictingHost || ix.Problems[0].Field != "VirtualService default/new spec.hosts[0]" ||
		ix.Problems[1].Reason != ReasonShadowsNewerRule || ix.Problems[1].Field != "VirtualService default/old spec.hosts[0]" {
		t.Errorf("problems %v", ix.Problems)
	}
	if vs := ix.For("p.default.svc.cluster.local"); vs == nil || vs.Name != "wild" {
		t.Errorf("p: the private rule of namespace other must not apply in default; got %v", vs)
	}
	if vs := ix.For("g.default.svc.cluster.local"); vs == nil || vs.Name != "wild" {
		t.Errorf("g: a gateway-only rule must not apply to sidecars; got %v", vs)
	}
	if vs := s.SidecarVirtualServices("other").For("p.default.svc.cluster.local"); vs == nil || vs.Name != "private" {
		t.Errorf("p from other: got %v", vs)
	}
	// Namespaces that see the same rules share one index; one that sees a private rule has its own.
	if s.SidecarVirtualServices("third") != ix {
		t.Error("default and third see the same rules but got different indexes")
	}
	if s.SidecarVirtualServices("other") == ix {
		t.Error("other sees its private rule but got the index of default")
	}
	if vs := s.SidecarVirtualServices("third").For("p.default.svc.cluster.local"); vs == nil || vs.Name != "wild" {
		t.Errorf("p from third: got %v, want wild (the private rule is other's)", vs)
	}
}

// TestDestinationRuleFor: the proxy's namespace first (workload selector first), then the
// service's, then the root namespace; exact hosts before wildcards.
func TestDestinationRuleFor(t *testing.T) {
	dr := func(ns, name, host string, sel map[string]string, exportTo ...string) *v1alpha1.DestinationRule {
		d := &v1alpha1.DestinationRule{ObjectMeta: meta(ns, name, 1), Spec: v1alpha1.DestinationRuleSpec{Host: host, ExportTo: exportTo}}
		if sel != nil {
			d.Spec.WorkloadSelector = &v1alpha1.WorkloadSelector{MatchLabels: sel}
		}
		return d
	}
	s := New(Input{DestinationRules: []*v1alpha1.DestinationRule{
		dr("svcns", "in-service-ns", "api", nil),
		dr("client", "client-wild", "*.svcns.svc.cluster.local", nil),
		dr("client", "client-selected", "api.svcns.svc.cluster.local", map[string]string{"app": "a"}),
		dr("mizzen-system", "root", "*.svc.cluster.local", nil),
		dr("svcns", "hidden", "db", nil, "."),
	}})
	host := "api.svcns.svc.cluster.local"
	for _, c := range []struct {
		proxy Proxy
		host  string
		want  string
	}{
		{Proxy{Namespace: "client", Labels: map[string]string{"app": "a"}}, host, "client-selected"},
		{Proxy{Namespace: "client", Labels: map[string]string{"app": "b"}}, host, "client-wild"},
		{Proxy{Namespace: "third"}, host, "in-service-ns"},
		{Proxy{Namespace: "third"}, "x.y.svc.cluster.local", "root"},
		{Proxy{Namespace: "third"}, "db.svcns.svc.cluster.local", "root"},
		{Proxy{Namespace: "svcns"}, "db.svcns.svc.cluster.local", "hidden"},
	} {
		got := s.DestinationRuleFor(c.proxy, c.host, "svcns")
		if got == nil || got.Name != c.want {
			t.Errorf("proxy %s %v, host %s: got %v, want %s", c.proxy.Namespace, c.proxy.Labels, c.host, got, c.want)
		}
	}
}

func TestDestinationHosts(t *testing.T) {
	dest := func(h string) v1alpha1.Destination { return v1alpha1.Destination{Host: h} }
	vs := &v1alpha1.VirtualService{Spec: v1alpha1.VirtualServiceSpec{
		HTTP: []v1alpha1.HTTPRoute{
			{Route: []v1alpha1.HTTPRouteDestination{{Destination: dest("reviews")}, {Destination: dest("reviews")}}},
			{Route: []v1alpha1.HTTPRouteDestination{{Destination: dest("ratings.other.svc.cluster.local")}},
				Mirror: &v1alpha1.Destination{Host: "shadow"}},
			{Delegate: &v1alpha1.Delegate{Name: "delegated"},
				Mirrors: []v1alpha1.HTTPMirrorPolicy{{Destination: dest("audit")}}},
		},
		TLS: []v1alpha1.TLSRoute{{Route: []v1alpha1.RouteDestination{{Destination: dest("tls-backend")}}}},
		TCP: []v1alpha1.TCPRoute{{Route: []v1alpha1.RouteDestination{{Destination: dest("db")}}}},
	}}
	want := []string{"reviews", "ratings.other.svc.cluster.local", "shadow", "audit", "tls-backend", "db"}
	if got := DestinationHosts(vs); !slices.Equal(got, want) {
		t.Errorf("DestinationHosts = %v, want %v", got, want)
	}
}

// TestForgetIdle: a memoized value idle since the cutoff and forgettable is dropped and built again
// on the next call; one asked for after the cutoff, or not forgettable, stays.
func TestForgetIdle(t *testing.T) {
	s := New(Input{})
	builds := map[string]int{}
	memo := func(key string) any {
		return s.Memo(key, func() any { builds[key]++; return new(int) })
	}
	first := memo("idle")
	memo("kept")
	cutoff := time.Now()
	memo("recent")
	if n := s.ForgetIdle(cutoff, func(key any) bool { return key != "kept" }); n != 1 {
		t.Errorf("forgot %d values, want 1 (idle)", n)
	}
	if again := memo("idle"); again == first || builds["idle"] != 2 {
		t.Errorf("idle value: built %d times, same object %v; want it built again", builds["idle"], again == first)
	}
	memo("kept")
	memo("recent")
	if builds["kept"] != 1 || builds["recent"] != 1 {
		t.Errorf("builds %v: the unforgettable and the recent value must stay memoized", builds)
	}
}
