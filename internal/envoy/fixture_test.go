package envoy

import (
	"fmt"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tcpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/tcp_proxy/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// A small hand-built config in translate's shape (Istio names and ports):
// the outbound 15001 and inbound 15006 listeners, a per-port HTTP listener
// with a 90/10 split, Prometheus on 15090, and the clusters they use.
// Anys are packed with anypb.New, as translate does, not deterministically.

const reviewsHost = "reviews.default.svc.cluster.local"

func testNode() Node {
	return Node{
		ID:        "p-7f3k2",
		Cluster:   "productpage.default",
		Namespace: "default",
		Locality:  Locality{Region: "eu-west1", Zone: "eu-west1-b"},
		Metadata: map[string]string{
			"POD_NAME":        "productpage-v1-6b746f74dc-9stvs",
			"SERVICE_ACCOUNT": "bookinfo-productpage",
			"LABELS":          `{"app":"productpage","version":"v1"}`,
			"WORKLOAD_NAME":   "productpage-v1",
			"MIZZEN_VERSION":  "0.1.0",
		},
	}
}

func mustAny(m proto.Message) *anypb.Any {
	a, err := anypb.New(m)
	if err != nil {
		panic(err)
	}
	return a
}

func hcmFilter(statPrefix string, rc *routev3.RouteConfiguration) *listenerv3.Filter {
	return &listenerv3.Filter{
		Name: "envoy.filters.network.http_connection_manager",
		ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: mustAny(&hcmv3.HttpConnectionManager{
			StatPrefix:     statPrefix,
			RouteSpecifier: &hcmv3.HttpConnectionManager_RouteConfig{RouteConfig: rc},
			HttpFilters: []*hcmv3.HttpFilter{{
				Name:       "envoy.filters.http.router",
				ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: mustAny(&routerv3.Router{})},
			}},
		})},
	}
}

func tcpFilter(statPrefix, cluster string) *listenerv3.Filter {
	return &listenerv3.Filter{
		Name: "envoy.filters.network.tcp_proxy",
		ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: mustAny(&tcpv3.TcpProxy{
			StatPrefix:       statPrefix,
			ClusterSpecifier: &tcpv3.TcpProxy_Cluster{Cluster: cluster},
		})},
	}
}

func prefixRoute(name, prefix string, action *routev3.RouteAction) *routev3.Route {
	return &routev3.Route{
		Name:   name,
		Match:  &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: prefix}},
		Action: &routev3.Route_Route{Route: action},
	}
}

func toCluster(name string) *routev3.RouteAction {
	return &routev3.RouteAction{ClusterSpecifier: &routev3.RouteAction_Cluster{Cluster: name}}
}

func outboundName(port int, subset, host string) string {
	return fmt.Sprintf("outbound|%d|%s|%s", port, subset, host)
}

func reviewsRoutes() *routev3.RouteConfiguration {
	split := &routev3.RouteAction{ClusterSpecifier: &routev3.RouteAction_WeightedClusters{
		WeightedClusters: &routev3.WeightedCluster{Clusters: []*routev3.WeightedCluster_ClusterWeight{
			{Name: outboundName(9080, "v1", reviewsHost), Weight: wrapperspb.UInt32(90)},
			{Name: outboundName(9080, "v2", reviewsHost), Weight: wrapperspb.UInt32(10)},
		}},
	}}
	route := prefixRoute("reviews.default", "/", split)
	// Metadata holds a map: its order inside the packed Any must not leak.
	route.Metadata = &corev3.Metadata{FilterMetadata: map[string]*structpb.Struct{
		"mizzen": {Fields: map[string]*structpb.Value{
			"config":     structpb.NewStringValue("/apis/networking.mizzen.dev/v1alpha1/namespaces/default/virtual-service/reviews"),
			"generation": structpb.NewNumberValue(3),
			"weights":    structpb.NewStringValue("v1=90,v2=10"),
		}},
	}}
	return &routev3.RouteConfiguration{
		Name: "9080",
		VirtualHosts: []*routev3.VirtualHost{{
			Name:    reviewsHost + ":9080",
			Domains: []string{"reviews.default.svc.cluster.local", "reviews", "reviews.default"},
			Routes:  []*routev3.Route{route},
		}},
	}
}

func testListeners() []*listenerv3.Listener {
	mtls := &tlsv3.DownstreamTlsContext{
		CommonTlsContext: &tlsv3.CommonTlsContext{
			TlsCertificateSdsSecretConfigs: []*tlsv3.SdsSecretConfig{SDSSecretConfig(WorkloadCertSecretName)},
			ValidationContextType: &tlsv3.CommonTlsContext_ValidationContextSdsSecretConfig{
				ValidationContextSdsSecretConfig: SDSSecretConfig(RootCASecretName),
			},
		},
		RequireClientCertificate: wrapperspb.Bool(true),
	}
	return []*listenerv3.Listener{
		{
			Name:           "virtualOutbound",
			Address:        socketAddress("0.0.0.0", 15001),
			UseOriginalDst: wrapperspb.Bool(true),
			FilterChains: []*listenerv3.FilterChain{{
				Name:    "virtualOutbound-catchall-tcp",
				Filters: []*listenerv3.Filter{tcpFilter("PassthroughCluster", "PassthroughCluster")},
			}},
		},
		{
			Name:             "0.0.0.0_9080",
			Address:          socketAddress("0.0.0.0", 9080),
			BindToPort:       wrapperspb.Bool(false),
			TrafficDirection: corev3.TrafficDirection_OUTBOUND,
			FilterChains: []*listenerv3.FilterChain{{
				Filters: []*listenerv3.Filter{hcmFilter("outbound_0.0.0.0_9080", reviewsRoutes())},
			}},
		},
		{
			Name:             "virtualInbound",
			Address:          socketAddress("0.0.0.0", 15006),
			TrafficDirection: corev3.TrafficDirection_INBOUND,
			FilterChains: []*listenerv3.FilterChain{{
				Name: "inbound|9080||",
				TransportSocket: &corev3.TransportSocket{
					Name:       "envoy.transport_sockets.tls",
					ConfigType: &corev3.TransportSocket_TypedConfig{TypedConfig: mustAny(mtls)},
				},
				Filters: []*listenerv3.Filter{tcpFilter("inbound|9080||", "inbound|9080||")},
			}},
		},
		{
			Name:    "0.0.0.0_15090",
			Address: socketAddress("0.0.0.0", 15090),
			FilterChains: []*listenerv3.FilterChain{{
				Filters: []*listenerv3.Filter{hcmFilter("stats", &routev3.RouteConfiguration{
					Name: "prometheus",
					VirtualHosts: []*routev3.VirtualHost{{
						Name:    "prometheus",
						Domains: []string{"*"},
						Routes:  []*routev3.Route{prefixRoute("stats", "/stats/prometheus", toCluster(PrometheusStatsCluster))},
					}},
				})},
			}},
		},
	}
}

func staticCluster(name string, addrs ...string) *clusterv3.Cluster {
	eps := make([]*endpointv3.LbEndpoint, 0, len(addrs))
	for _, a := range addrs {
		eps = append(eps, &endpointv3.LbEndpoint{
			HostIdentifier: &endpointv3.LbEndpoint_Endpoint{Endpoint: &endpointv3.Endpoint{Address: socketAddress(a, 9080)}},
		})
	}
	return &clusterv3.Cluster{
		Name:                 name,
		ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_STATIC},
		ConnectTimeout:       durationpb.New(10 * time.Second),
		LoadAssignment: &endpointv3.ClusterLoadAssignment{
			ClusterName: name,
			Endpoints: []*endpointv3.LocalityLbEndpoints{{
				Locality:            &corev3.Locality{Region: "eu-west1", Zone: "eu-west1-b"},
				LoadBalancingWeight: wrapperspb.UInt32(1),
				LbEndpoints:         eps,
			}},
		},
	}
}

// istioMutual is the client side of ISTIO_MUTUAL: the pod's own
// certificate, peers checked against the mesh CA, both from SDS files.
func istioMutual(c *clusterv3.Cluster, sni string) *clusterv3.Cluster {
	c.TransportSocket = &corev3.TransportSocket{
		Name: "envoy.transport_sockets.tls",
		ConfigType: &corev3.TransportSocket_TypedConfig{TypedConfig: mustAny(&tlsv3.UpstreamTlsContext{
			Sni: sni,
			CommonTlsContext: &tlsv3.CommonTlsContext{
				AlpnProtocols:                  []string{"istio-peer-exchange", "istio"},
				TlsCertificateSdsSecretConfigs: []*tlsv3.SdsSecretConfig{SDSSecretConfig(WorkloadCertSecretName)},
				ValidationContextType: &tlsv3.CommonTlsContext_ValidationContextSdsSecretConfig{
					ValidationContextSdsSecretConfig: SDSSecretConfig(RootCASecretName),
				},
			},
		})},
	}
	return c
}

func testClusters() []*clusterv3.Cluster {
	return []*clusterv3.Cluster{
		{
			Name:                 "PassthroughCluster",
			ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_ORIGINAL_DST},
			LbPolicy:             clusterv3.Cluster_CLUSTER_PROVIDED,
			ConnectTimeout:       durationpb.New(10 * time.Second),
		},
		istioMutual(staticCluster(outboundName(9080, "v1", reviewsHost), "10.0.1.7"),
			outboundName(9080, "v1", reviewsHost)),
		istioMutual(staticCluster(outboundName(9080, "v2", reviewsHost), "10.0.1.8", "10.0.2.9"),
			outboundName(9080, "v2", reviewsHost)),
		staticCluster("inbound|9080||", "127.0.0.1"),
	}
}
