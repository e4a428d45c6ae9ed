package translate_test

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mizzen-mesh/mizzen/api/v1alpha1"
	"github.com/mizzen-mesh/mizzen/internal/mesh"
	"github.com/mizzen-mesh/mizzen/internal/translate"
)

// bytesReader hands out fuzz input as small choices; exhausted input reads as zeros.
type bytesReader struct {
	b []byte
	i int
}

func (r *bytesReader) next() byte {
	if r.i >= len(r.b) {
		return 0
	}
	r.i++
	return r.b[r.i-1]
}

func (r *bytesReader) intn(n int) int { return int(r.next()) % n }
func (r *bytesReader) bool() bool     { return r.next()&1 == 1 }

func pick[T any](r *bytesReader, xs ...T) T { return xs[r.intn(len(xs))] }

func ptr[T any](v T) *T { return &v }

// fuzzMesh builds a small mesh, its rules and a proxy from fuzz input: services with random
// protocols and ports, pods with versions in random localities, VirtualServices and
// DestinationRules drawing on every feature.
func fuzzMesh(data []byte) (mesh.Input, int) {
	r := &bytesReader{b: data}
	in := mesh.Input{Settings: mesh.Settings{MTLS: pick(r, mesh.MTLSPermissive, mesh.MTLSStrict, mesh.MTLSDisable)}}
	zones := []string{"z1", "z2", "z3"}
	for i, z := range zones {
		in.Nodes = append(in.Nodes, corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n" + z,
			Labels: map[string]string{mesh.RegionLabel: fmt.Sprintf("r%d", i%2), mesh.ZoneLabel: z}}})
	}
	nsvc := 1 + r.intn(4)
	for i := range nsvc {
		name := fmt.Sprintf("s%d", i)
		ns := pick(r, "default", "other")
		svc := corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: corev1.ServiceSpec{ClusterIP: fmt.Sprintf("10.96.0.%d", i+1), Selector: map[string]string{"app": name}}}
		if r.intn(5) == 0 {
			svc.Spec.ClusterIP = "None"
		}
		for j := range 1 + r.intn(2) {
			proto := pick(r, "http", "http2", "grpc", "tcp", "https", "tls", "mongo", "web", "udp")
			svc.Spec.Ports = append(svc.Spec.Ports, corev1.ServicePort{Name: fmt.Sprintf("%s-%d", proto, j),
				Port: pick(r, int32(80), 8080, 9080, 443, 15001, 3306)})
		}
		in.Services = append(in.Services, &svc)
		for v := range 1 + r.intn(3) {
			in.Pods = append(in.Pods, &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-v%d", name, v), Namespace: ns,
					Labels: map[string]string{"app": name, "version": fmt.Sprintf("v%d", v)}},
				Spec:   corev1.PodSpec{NodeName: "n" + pick(r, zones...), ServiceAccountName: name},
				Status: corev1.PodStatus{PodIP: fmt.Sprintf("10.0.%d.%d", i, v+1)},
			})
			if r.bool() {
				in.Pods[len(in.Pods)-1].Annotations = map[string]string{mesh.ProxyIDAnnotation: fmt.Sprintf("p%d%d", i, v)}
			}
		}
	}
	dest := func() v1alpha1.Destination {
		d := v1alpha1.Destination{Host: fmt.Sprintf("s%d", r.intn(nsvc+1))}
		if r.bool() {
			d.Subset = v1alpha1.SubsetName(fmt.Sprintf("v%d", r.intn(3)))
		}
		if r.intn(4) == 0 {
			d.Port = &v1alpha1.PortSelector{Number: pick(r, int32(80), 8080, 9080)}
		}
		return d
	}
	sm := func() *v1alpha1.StringMatch {
		switch r.intn(4) {
		case 0:
			return &v1alpha1.StringMatch{Exact: ptr("/a")}
		case 1:
			return &v1alpha1.StringMatch{Prefix: ptr(pick(r, "/", "/b", ""))}
		case 2:
			return &v1alpha1.StringMatch{Regex: ptr("/c/[0-9]+")}
		}
		return &v1alpha1.StringMatch{}
	}
	for i := range r.intn(4) {
		vs := v1alpha1.VirtualService{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("vs%d", i), Namespace: pick(r, "default", "other")},
			Spec: v1alpha1.VirtualServiceSpec{Hosts: []string{pick(r, "s0", "s1", "*.default.svc.cluster.local", "s2.other.svc.cluster.local")}}}
		if r.intn(4) == 0 {
			vs.Spec.Gateways = []string{pick(r, "mesh", "gw")}
		}
		for range 1 + r.intn(3) {
			h := v1alpha1.HTTPRoute{Name: pick(r, "", "r")}
			if r.bool() {
				m := v1alpha1.HTTPMatchRequest{URI: sm(), IgnoreURICase: r.bool(), Port: pick(r, int32(0), 80, 9080)}
				if r.bool() {
					m.Headers = map[string]v1alpha1.StringMatch{"x-h": *sm()}
					m.QueryParams = map[string]v1alpha1.StringMatch{"q": *sm()}
					m.WithoutHeaders = map[string]v1alpha1.StringMatch{"x-w": *sm()}
				}
				if r.bool() {
					m.SourceLabels = map[string]string{"app": "s0"}
				}
				h.Match = append(h.Match, m)
			}
			switch r.intn(6) {
			case 0:
				h.Redirect = &v1alpha1.HTTPRedirect{URI: "/x", RedirectCode: pick(r, int32(0), 301, 302, 399)}
			case 1:
				h.DirectResponse = &v1alpha1.HTTPDirectResponse{Status: 503, Body: &v1alpha1.HTTPBody{String: ptr("no")}}
			default:
				for range 1 + r.intn(3) {
					h.Route = append(h.Route, v1alpha1.HTTPRouteDestination{Destination: dest(), Weight: int32(r.intn(3) * 50)})
				}
				if r.bool() {
					h.Retries = &v1alpha1.HTTPRetry{Attempts: int32(r.intn(3)), RetryOn: pick(r, "", "5xx,503", "gateway-error")}
				}
				if r.bool() {
					h.Fault = &v1alpha1.HTTPFaultInjection{Delay: &v1alpha1.HTTPFaultDelay{FixedDelay: ptr(v1alpha1.Duration("1s")),
						Percentage: &v1alpha1.Percent{Value: float64(r.intn(101))}}, Abort: &v1alpha1.HTTPFaultAbort{HTTPStatus: ptr(int32(503))}}
				}
				if r.bool() {
					h.Mirror = ptr(dest())
					h.MirrorPercentage = &v1alpha1.Percent{Value: 12.5}
				}
				if r.bool() {
					h.Rewrite = &v1alpha1.HTTPRewrite{URI: "/r", Authority: "a"}
				}
				if r.bool() {
					h.CorsPolicy = &v1alpha1.CorsPolicy{AllowOrigins: []v1alpha1.StringMatch{*sm()}, AllowMethods: []string{"GET"}}
				}
			}
			vs.Spec.HTTP = append(vs.Spec.HTTP, h)
		}
		if r.bool() {
			vs.Spec.TCP = []v1alpha1.TCPRoute{{Route: []v1alpha1.RouteDestination{{Destination: dest()}}}}
		}
		if r.bool() {
			vs.Spec.TLS = []v1alpha1.TLSRoute{{Match: []v1alpha1.TLSMatchAttributes{{SniHosts: []string{"a.example.com"}}},
				Route: []v1alpha1.RouteDestination{{Destination: dest(), Weight: 100}}}}
		}
		in.VirtualServices = append(in.VirtualServices, &vs)
	}
	for i := range r.intn(3) {
		tp := &v1alpha1.TrafficPolicy{}
		switch r.intn(5) {
		case 0:
			tp.LoadBalancer = &v1alpha1.LoadBalancerSettings{Simple: ptr(pick(r, v1alpha1.SimpleLBRoundRobin, v1alpha1.SimpleLBPassthrough, v1alpha1.SimpleLBRandom))}
		case 1:
			tp.LoadBalancer = &v1alpha1.LoadBalancerSettings{ConsistentHash: &v1alpha1.ConsistentHashLB{HTTPHeaderName: ptr("x"), Maglev: &v1alpha1.MagLev{TableSize: 65537}}}
		case 2:
			tp.LoadBalancer = &v1alpha1.LoadBalancerSettings{LocalityLbSetting: &v1alpha1.LocalityLoadBalancerSetting{
				Distribute: []v1alpha1.LocalityDistribute{{From: "r0/*", To: map[string]int64{"r0/z1/*": 60, "r1/*": 40}}}}}
		case 3:
			tp.ConnectionPool = &v1alpha1.ConnectionPoolSettings{TCP: &v1alpha1.TCPSettings{MaxConnections: 5},
				HTTP: &v1alpha1.HTTPSettings{H2UpgradePolicy: v1alpha1.H2Upgrade, MaxRequestsPerConnection: 1}}
		}
		if r.bool() {
			tp.OutlierDetection = &v1alpha1.OutlierDetection{Consecutive5xxErrors: ptr(int64(r.intn(3)))}
		}
		if r.bool() {
			tp.TLS = &v1alpha1.ClientTLSSettings{Mode: pick(r, v1alpha1.ClientTLSDisable, v1alpha1.ClientTLSSimple, v1alpha1.ClientTLSMutual, v1alpha1.ClientTLSIstioMutual)}
		}
		dr := v1alpha1.DestinationRule{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("dr%d", i), Namespace: "default"},
			Spec: v1alpha1.DestinationRuleSpec{Host: fmt.Sprintf("s%d", r.intn(nsvc)), TrafficPolicy: tp}}
		for v := range r.intn(3) {
			dr.Spec.Subsets = append(dr.Spec.Subsets, v1alpha1.Subset{Name: v1alpha1.SubsetName(fmt.Sprintf("v%d", v)),
				Labels: map[string]string{"version": fmt.Sprintf("v%d", v)}})
		}
		if r.bool() {
			dr.Spec.WorkloadSelector = &v1alpha1.WorkloadSelector{MatchLabels: map[string]string{"app": "s0"}}
		}
		in.DestinationRules = append(in.DestinationRules, &dr)
	}
	if r.bool() {
		gw := v1alpha1.Gateway{ObjectMeta: metav1.ObjectMeta{Name: "gw", Namespace: "default"},
			Spec: v1alpha1.GatewaySpec{Selector: map[string]string{"app": "s0"}}}
		for i := range 1 + r.intn(3) {
			srv := v1alpha1.Server{Port: v1alpha1.Port{Number: pick(r, int32(80), 443, 8443), Name: fmt.Sprintf("p%d", i),
				Protocol: pick(r, "HTTP", "HTTPS", "TLS", "TCP")}, Hosts: []string{pick(r, "*", "a.example.com", "default/*.example.com")}}
			if srv.Port.Protocol != "HTTP" || r.bool() {
				srv.TLS = &v1alpha1.ServerTLSSettings{Mode: pick(r, v1alpha1.ServerTLSSimple, v1alpha1.ServerTLSPassthrough, v1alpha1.ServerTLSMutual, v1alpha1.ServerTLSIstioMutual),
					ServerCertificate: pick(r, "", "/c.pem"), PrivateKey: "/k.pem", CaCertificates: pick(r, "", "/ca.pem"), HTTPSRedirect: r.bool()}
			}
			gw.Spec.Servers = append(gw.Spec.Servers, srv)
		}
		in.Gateways = append(in.Gateways, &gw)
		for i := range in.VirtualServices {
			if r.bool() {
				in.VirtualServices[i].Spec.Gateways = []string{pick(r, "gw", "default/gw", "mesh")}
			}
		}
	}
	return in, r.intn(len(in.Pods))
}

// FuzzTranslate: any generated mesh translates without panicking, for any of its pods as a
// sidecar and as a gateway, into resources that validate (deep), round-trip strictly and
// reference only existing clusters; RuleProblems does not panic either.
func FuzzTranslate(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20})
	f.Add([]byte("the quick brown fox jumps over the lazy dog, twice: the quick brown fox jumps"))
	f.Fuzz(func(t *testing.T, data []byte) {
		in, podIndex := fuzzMesh(data)
		c := &testCase{in: in}
		c.deriveEndpointSlices()
		snap := mesh.New(c.in)
		for _, kind := range []mesh.ProxyKind{mesh.Sidecar, mesh.Gateway} {
			proxy := mesh.ProxyFor(snap.Pods[podIndex], kind)
			proxy.ID = "p"
			res, _ := translate.Translate(snap, proxy)
			checkResources(t, proxy, res)
		}
		translate.RuleProblems(snap)
	})
}
