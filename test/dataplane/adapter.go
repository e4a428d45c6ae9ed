package dataplane

// The adapter: the only place where the tests change what internal/translate produced before a
// gRPC client reads it. Every change here could hide a translator bug, so it makes as few as it
// can, each one named in Resources.Changes (the tests log them), and refuses what it does not
// expect instead of guessing.
//
// What it changes, and why:
//
//  1. Listeners. An Envoy sidecar gets 0.0.0.0_<port> with an HTTP connection manager (HCM) in a
//     filter chain; a gRPC client reads an API listener named by the target it dials
//     ("reviews:9080"). The adapter copies the translated HCM, unchanged apart from (2), into an
//     API listener for each target, taking it from the listener of the target's port. The route
//     table inside it (virtual hosts, matches, weights, retries, faults) is the translator's.
//     A gateway proxy's HTTP server gets the same shape (0.0.0.0_<server port>, one chain, one
//     HCM, the virtual hosts of the VirtualServices bound to its Gateway), so the same code reads
//     it: a target on the server's port plays a client of the gateway.
//  2. HTTP filters gRPC does not implement (CORS: a browser concern) are marked is_optional, which
//     makes gRPC skip them instead of rejecting the listener. Fault and router pass as they are.
//  3. Clusters. Envoy reads the translator's STATIC clusters with endpoints inline; gRPC accepts
//     only EDS (or LOGICAL_DNS, aggregate) clusters. Each outbound|… cluster and BlackHoleCluster
//     becomes an EDS cluster read over the same ADS stream, and its load_assignment becomes the
//     ClusterLoadAssignment of that name: localities, their weights and priorities as translated,
//     each endpoint's address replaced by the loopback address of the backend playing that pod. An
//     endpoint without a backend is an error, not a guess.
//  4. The mesh mTLS transport socket (UpstreamTlsContext with SDS *file* secrets) is removed: gRPC
//     takes certificates only from certificate-provider plugins named in its bootstrap and rejects
//     SDS. The backends serve plaintext.
//  5. MAGLEV and RANDOM load balancing (which gRPC rejects) become ROUND_ROBIN. The tests' inputs
//     use the default (LEAST_REQUEST, which gRPC implements), so this does not fire for them.
//
// Left out: inbound|… clusters (the proxy's own app), Passthrough and InboundPassthrough
// (ORIGINAL_DST, which gRPC lacks) and listeners not named by a target. gRPC asks only for the
// clusters of the virtual host it picks, and no service's virtual host routes to them.
//
// Passed unchanged, and ignored by gRPC (so not tested by these tests): route timeouts and
// per-try timeouts, rewrites, CORS policies, mirror policies, retry host predicates and
// retriable status codes, circuit-breaker limits other than max_requests, consecutive-5xx and
// gateway-error outlier detection, locality weights under LEAST_REQUEST, hash policies on
// cookies, query parameters or source IPs, HTTP/2 protocol options, connect timeouts.

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	faultv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/fault/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/mizzen-mesh/mizzen/internal/translate"
)

// Resources are what a gRPC xDS client is served for one proxy.
type Resources struct {
	Listeners []*listenerv3.Listener // API listeners, one per target
	Clusters  []*clusterv3.Cluster   // EDS clusters
	Endpoints []*endpointv3.ClusterLoadAssignment
	Changes   []string // what the adapter changed, one line per kind of change and object
}

// grpcImplements tells the HTTP filters gRPC's client implements, by their config's type.
func grpcImplements(config *anypb.Any) bool {
	return config.MessageIs(&faultv3.HTTPFault{}) || config.MessageIs(&routerv3.Router{})
}

// Adapt serves res, one proxy's translation, to gRPC clients dialling targets ("host:port", as in
// xds:///reviews:9080, or a gateway's host:port). backends maps each endpoint address of the translation ("10.0.1.7:9080")
// to the loopback address of the process playing that pod. res is not modified (translations
// share messages).
func Adapt(res translate.Resources, targets []string, backends map[string]string) (Resources, error) {
	var out Resources
	for _, target := range targets {
		l, err := apiListener(res, target, &out.Changes)
		if err != nil {
			return Resources{}, err
		}
		out.Listeners = append(out.Listeners, l)
	}
	for _, c := range res.Clusters {
		if !strings.HasPrefix(c.GetName(), "outbound|") && c.GetName() != "BlackHoleCluster" {
			continue
		}
		ec, cla, err := edsCluster(c, backends, &out.Changes)
		if err != nil {
			return Resources{}, err
		}
		out.Clusters = append(out.Clusters, ec)
		out.Endpoints = append(out.Endpoints, cla)
	}
	return out, nil
}

// apiListener is the API listener named target, carrying the HCM of the outbound listener of the
// target's port (changes 1 and 2).
func apiListener(res translate.Resources, target string, changes *[]string) (*listenerv3.Listener, error) {
	_, port, err := net.SplitHostPort(target)
	if err != nil {
		return nil, fmt.Errorf("target %q: %w", target, err)
	}
	name := "0.0.0.0_" + port
	i := slices.IndexFunc(res.Listeners, func(l *listenerv3.Listener) bool { return l.GetName() == name })
	if i < 0 {
		return nil, fmt.Errorf("target %q: the translation has no listener %s", target, name)
	}
	chains := res.Listeners[i].GetFilterChains()
	if len(chains) != 1 || len(chains[0].GetFilters()) != 1 {
		return nil, fmt.Errorf("listener %s: want one filter chain with one filter (an HCM), got %d chains", name, len(chains))
	}
	hcm := &hcmv3.HttpConnectionManager{} // unmarshalled: a copy, the translation stays as it was
	if err := chains[0].GetFilters()[0].GetTypedConfig().UnmarshalTo(hcm); err != nil {
		return nil, fmt.Errorf("listener %s: %w", name, err)
	}
	for _, f := range hcm.GetHttpFilters() {
		if !grpcImplements(f.GetTypedConfig()) {
			f.IsOptional = true
			*changes = append(*changes, fmt.Sprintf("listener %s: HTTP filter %s marked optional (gRPC lacks it)", target, f.GetName()))
		}
	}
	a, err := anypb.New(hcm)
	if err != nil {
		return nil, err
	}
	*changes = append(*changes, fmt.Sprintf("listener %s: the HCM of %s as an API listener", target, name))
	return &listenerv3.Listener{Name: target, ApiListener: &listenerv3.ApiListener{ApiListener: a}}, nil
}

// edsCluster is c read through EDS, and its endpoints on the backends (changes 3 to 5).
func edsCluster(c *clusterv3.Cluster, backends map[string]string, changes *[]string) (*clusterv3.Cluster, *endpointv3.ClusterLoadAssignment, error) {
	if c.GetType() != clusterv3.Cluster_STATIC {
		return nil, nil, fmt.Errorf("cluster %s: type %v, the adapter expects STATIC", c.GetName(), c.GetType())
	}
	out := proto.Clone(c).(*clusterv3.Cluster)
	cla := out.GetLoadAssignment()
	if cla == nil {
		cla = &endpointv3.ClusterLoadAssignment{}
	}
	cla.ClusterName = c.GetName()
	out.LoadAssignment = nil
	out.ClusterDiscoveryType = &clusterv3.Cluster_Type{Type: clusterv3.Cluster_EDS}
	out.EdsClusterConfig = &clusterv3.Cluster_EdsClusterConfig{
		EdsConfig: &corev3.ConfigSource{ConfigSourceSpecifier: &corev3.ConfigSource_Ads{Ads: &corev3.AggregatedConfigSource{}}},
	}
	*changes = append(*changes, fmt.Sprintf("cluster %s: STATIC → EDS", c.GetName()))
	for _, group := range cla.GetEndpoints() {
		for _, lbe := range group.GetLbEndpoints() {
			sa := lbe.GetEndpoint().GetAddress().GetSocketAddress()
			from := net.JoinHostPort(sa.GetAddress(), strconv.Itoa(int(sa.GetPortValue())))
			to, ok := backends[from]
			if !ok {
				return nil, nil, fmt.Errorf("cluster %s: no backend plays endpoint %s", c.GetName(), from)
			}
			host, port, err := net.SplitHostPort(to)
			if err != nil {
				return nil, nil, fmt.Errorf("backend of %s: %w", from, err)
			}
			p, _ := strconv.Atoi(port)
			sa.Address, sa.PortSpecifier = host, &corev3.SocketAddress_PortValue{PortValue: uint32(p)}
		}
	}
	if ts := out.GetTransportSocket(); ts != nil {
		if !ts.GetTypedConfig().MessageIs(&tlsv3.UpstreamTlsContext{}) {
			return nil, nil, fmt.Errorf("cluster %s: unexpected transport socket %s", c.GetName(), ts.GetTypedConfig().GetTypeUrl())
		}
		out.TransportSocket = nil
		*changes = append(*changes, fmt.Sprintf("cluster %s: mTLS (SDS files) removed", c.GetName()))
	}
	if lb := out.GetLbPolicy(); lb == clusterv3.Cluster_MAGLEV || lb == clusterv3.Cluster_RANDOM {
		out.LbPolicy = clusterv3.Cluster_ROUND_ROBIN
		*changes = append(*changes, fmt.Sprintf("cluster %s: %v → ROUND_ROBIN", c.GetName(), lb))
	}
	return out, cla, nil
}
