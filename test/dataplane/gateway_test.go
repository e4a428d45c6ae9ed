package dataplane_test

import (
	"maps"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/mizzen-mesh/mizzen/internal/mesh"
	"github.com/mizzen-mesh/mizzen/test/testenv"
)

// The gateway tests: the gRPC client plays the ingress gateway of testdata/gateway-mesh.yaml,
// configured by Istio's bookinfo-gateway.yaml (a Gateway selecting istio: ingressgateway with an
// HTTP server on 8080 for hosts "*", and the VirtualService bookinfo bound to it). The gateway's
// listener is 0.0.0.0_8080, so a target on port 8080 reads its HCM (adapter.go, change 1); its
// host is the authority the virtual hosts are matched against.
const (
	gatewayTarget     = "bookinfo.example:8080" // any host: the server takes "*"
	productpageTarget = "productpage:8080"      // the host a VirtualService for productpage names
	productpageGet    = "/bookinfo.Productpage/Get"
	// gRPC's xDS client fails an RPC that no route of the virtual host matches with UNAVAILABLE
	// and this message (gRPC-Go internal/xds/resolver), without sending it anywhere.
	noRouteMessage = "no matched route"
)

var productpagePods = []string{"productpage-v1", "productpage-v2"}

// newGatewayMesh is mesh.yaml with gateway-mesh.yaml and bookinfo-gateway.yaml, seen by the
// ingress gateway's proxy. It skips the test when Istio's samples are absent.
func newGatewayMesh(t *testing.T, targets ...string) *meshUnderTest {
	t.Helper()
	dir := testenv.CompatDir()
	if dir == "" {
		t.Skip("Istio's samples (../shared/compat/istio) are not beside the checkout")
	}
	sample := filepath.Join(dir, "samples/bookinfo/networking/bookinfo-gateway.yaml")
	return newMeshOf(t, []string{"testdata/mesh.yaml", "testdata/gateway-mesh.yaml", sample},
		proxyUnderTest{"istio-system", "istio-ingressgateway-0", mesh.Gateway}, targets...)
}

// arrivals counts the streams of path each backend received, by pod, leaving out zeros.
func (mt *meshUnderTest) arrivals(path string) map[string]int {
	out := map[string]int{}
	for name, b := range mt.backends {
		if n := b.Arrivals(path); n > 0 {
			out[name] = n
		}
	}
	return out
}

// expectNoRoute checks that n RPCs of path through cc all fail as gRPC fails an unrouted RPC, and
// that no backend received one.
func expectNoRoute(t *testing.T, mt *meshUnderTest, cc *grpc.ClientConn, n int, path string) {
	t.Helper()
	before := mt.arrivals(path)
	for range n {
		_, err := call(cc, path)
		if status.Code(err) != codes.Unavailable || !strings.Contains(status.Convert(err).Message(), noRouteMessage) {
			t.Errorf("%s: got %v, want UNAVAILABLE %q", path, err, noRouteMessage)
			break
		}
	}
	if got := mt.arrivals(path); !maps.Equal(got, before) {
		t.Errorf("%s: matches no route, yet backends received it: streams by pod %v, before %v", path, got, before)
	}
}

// TestGatewayBookinfo: the ingress gateway routes by the bookinfo VirtualService bound to
// bookinfo-gateway, match by match.
//
// gRPC sends an RPC's method as the HTTP/2 :path, and a gRPC server accepts only
// /<service>/<method>. So:
//   - the prefix matches /static and /api/v1/products are hit by valid method paths
//     (/static/Get: service "static"; /api/v1/products/Get: service "api/v1/products"), which
//     gRPC routes and the backends answer;
//   - the exact matches /productpage, /login and /logout equal no valid method path. gRPC's client
//     still routes and sends an RPC of that path; the backend's server then refuses it
//     (UNIMPLEMENTED, malformed method name) before any handler runs. The backends' tap counts
//     the streams, which shows where the route sent them;
//   - paths the sample does not match (a longer path than an exact match, another case, another
//     service) fail in the client, reaching no pod.
func TestGatewayBookinfo(t *testing.T) {
	mt := newGatewayMesh(t, gatewayTarget)
	const n = 100
	cc := mt.dial(gatewayTarget, mt.apply(), "/api/v1/products/Get")

	for _, path := range []string{"/static/Get", "/static.Assets/Get", "/api/v1/products/Get", "/api/v1/products.Reviews/List"} {
		counts := spread(t, cc, n, path)
		expectOnly(t, counts, productpagePods...)
		for _, pod := range productpagePods {
			// Each pod is picked about half the time: none of 100 is a 1-in-10^30 event.
			if counts[pod] == 0 {
				t.Errorf("%s: no RPC reached %s: %v", path, pod, counts)
			}
		}
	}

	for _, path := range []string{"/productpage", "/login", "/logout"} {
		for range 20 {
			if _, err := call(cc, path); status.Code(err) != codes.Unimplemented {
				t.Errorf("%s: got %v, want the backend's UNIMPLEMENTED (malformed method name)", path, err)
				break
			}
		}
		got := mt.arrivals(path)
		t.Logf("%s: streams received by pod: %v", path, got)
		if got["productpage-v1"]+got["productpage-v2"] != 20 || len(got) > 2 {
			t.Errorf("%s: streams received by pod: %v, want all 20 on productpage pods", path, got)
		}
	}

	for _, path := range []string{"/productpage/Get", "/login/Get", "/Static/Get", "/api/v1/Products/Get", productpageGet, reviewsGet} {
		expectNoRoute(t, mt, cc, 20, path)
	}
}

// TestGatewayBinding: only VirtualServices bound to the Gateway route on the gateway. A rule for
// host productpage with gateways: [mesh] adds nothing to it, though the server's hosts ("*")
// would take productpage; the same rule bound to bookinfo-gateway routes the RPCs addressed to
// productpage, and only those (the virtual host's domains are productpage and productpage:8080),
// which no longer reach the bookinfo rule's "*" virtual host.
func TestGatewayBinding(t *testing.T) {
	mt := newGatewayMesh(t, gatewayTarget, productpageTarget)
	version := mt.apply("testdata/gateway-grpc-mesh-only.yaml")
	// The authority productpage:8080 falls to the "*" virtual host of the bookinfo rule.
	cc := mt.dial(productpageTarget, version, "/api/v1/products/Get")
	expectNoRoute(t, mt, cc, 20, productpageGet)

	bound := mt.apply("testdata/gateway-grpc-bound.yaml")
	mt.waitACK(bound)
	// The client applies an ACKed config asynchronously.
	NewWithT(t).Eventually(func() error { _, err := call(cc, productpageGet); return err }).
		WithTimeout(10*time.Second).Should(Succeed(), "%s once the rule is bound", productpageGet)
	counts := spread(t, cc, 20, productpageGet)
	expectOnly(t, counts, productpagePods...)
	if counts["productpage-v1"]+counts["productpage-v2"] != 20 {
		t.Errorf("bound rule: got %v, want all 20 on productpage pods", counts)
	}
	// The authority now picks the productpage virtual host, whose routes are the bound rule's
	// alone: the bookinfo rule's paths no longer route on it (a virtual host is chosen by
	// domain first; its routes do not fall back to the "*" host's).
	expectNoRoute(t, mt, cc, 20, "/static/Get")

	// Another authority has no virtual host for productpage: the bound rule does not route it.
	other := mt.dial(gatewayTarget, bound, "/api/v1/products/Get")
	expectNoRoute(t, mt, other, 20, productpageGet)
}
