package envoy

import (
	"fmt"
	"sort"
	"time"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	metricsv3 "github.com/envoyproxy/go-control-plane/envoy/config/metrics/v3"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// Node identifies the proxy to Envoy. It only shapes envoy.yaml, which Envoy
// reads once at start: keep it stable for the life of the pod (a change here
// needs a restart, unlike lds/cds/sds).
type Node struct {
	// ID is the proxy id (pod annotation mizzen.dev/proxy-id). Required.
	ID string
	// Cluster is the service cluster, Istio's "<app>.<namespace>"; it shows
	// up in Envoy's logs and in the x-envoy-downstream-service-cluster
	// header. Optional.
	Cluster string
	// Namespace of the pod, exposed as metadata NAMESPACE as Istio does.
	Namespace string
	// Locality of the pod's node (topology.kubernetes.io/region, zone and
	// sub-zone): Envoy needs its own locality for locality-aware routing.
	Locality Locality
	// Metadata is copied into node.metadata as strings (e.g. POD_NAME,
	// SERVICE_ACCOUNT, LABELS as JSON): visible in /config_dump and usable by
	// metadata matchers.
	Metadata map[string]string
}

// Locality is where the proxy runs; empty fields are omitted.
type Locality struct {
	Region, Zone, SubZone string
}

func (n Node) validate() error {
	if n.ID == "" {
		return fmt.Errorf("node: empty proxy id")
	}
	return nil
}

func (n Node) proto() *corev3.Node {
	node := &corev3.Node{Id: n.ID, Cluster: n.Cluster}
	md := map[string]*structpb.Value{}
	for k, v := range n.Metadata {
		md[k] = structpb.NewStringValue(v)
	}
	if n.Namespace != "" {
		md["NAMESPACE"] = structpb.NewStringValue(n.Namespace)
	}
	if len(md) > 0 {
		node.Metadata = &structpb.Struct{Fields: md}
	}
	if n.Locality != (Locality{}) {
		node.Locality = &corev3.Locality{Region: n.Locality.Region, Zone: n.Locality.Zone, SubZone: n.Locality.SubZone}
	}
	return node
}

// Bootstrap builds envoy.yaml: admin on loopback, listeners and clusters from
// the files next to it (hot-reloaded on every ConfigMap update), and the
// static clusters those dynamic resources may reference.
func Bootstrap(n Node) *bootstrapv3.Bootstrap {
	return &bootstrapv3.Bootstrap{
		Node: n.proto(),
		Admin: &bootstrapv3.Admin{
			Address: socketAddress(AdminAddress, AdminPort),
		},
		DynamicResources: &bootstrapv3.Bootstrap_DynamicResources{
			LdsConfig: FileConfigSource(LDSFile),
			CdsConfig: FileConfigSource(CDSFile),
		},
		StaticResources: &bootstrapv3.Bootstrap_StaticResources{
			Clusters: StaticClusters(),
		},
		StatsConfig: &metricsv3.StatsConfig{
			// Envoy's default tag extractors turn names such as
			// cluster.outbound|9080|v1|reviews.default.svc.cluster.local.upstream_rq_200
			// into envoy_cluster_upstream_rq{envoy_cluster_name="outbound|9080|v1|reviews...",
			// envoy_response_code="200"} on /stats/prometheus: set explicitly so
			// the Prometheus label set does not depend on a default.
			UseAllDefaultTags: wrapperspb.Bool(true),
		},
	}
}

// FileConfigSource reads a DiscoveryResponse document from the ConfigMap
// volume. Without watched_directory Envoy watches the file itself for moves,
// which never happen in a ConfigMap volume (the kubelet swaps the ..data
// symlink in the directory), so it would never reload.
func FileConfigSource(file string) *corev3.ConfigSource {
	return &corev3.ConfigSource{
		ResourceApiVersion: corev3.ApiVersion_V3,
		ConfigSourceSpecifier: &corev3.ConfigSource_PathConfigSource{
			PathConfigSource: &corev3.PathConfigSource{
				Path:             ConfigPath(file),
				WatchedDirectory: &corev3.WatchedDirectory{Path: ConfigDir},
			},
		},
	}
}

// StaticClusters are the clusters in envoy.yaml; dynamic resources may
// reference them by name but CDS must not redefine them.
func StaticClusters() []*clusterv3.Cluster {
	return []*clusterv3.Cluster{prometheusStatsCluster()}
}

// staticClusterNames is the set of names StaticClusters uses.
func staticClusterNames() map[string]bool {
	names := map[string]bool{}
	for _, c := range StaticClusters() {
		names[c.GetName()] = true
	}
	return names
}

// prometheusStatsCluster lets translate's 15090 listener serve the admin
// API's /stats/prometheus without exposing the rest of the admin API.
func prometheusStatsCluster() *clusterv3.Cluster {
	return &clusterv3.Cluster{
		Name:                 PrometheusStatsCluster,
		ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_STATIC},
		ConnectTimeout:       durationpb.New(250 * time.Millisecond),
		LoadAssignment: &endpointv3.ClusterLoadAssignment{
			ClusterName: PrometheusStatsCluster,
			Endpoints: []*endpointv3.LocalityLbEndpoints{{
				LbEndpoints: []*endpointv3.LbEndpoint{{
					HostIdentifier: &endpointv3.LbEndpoint_Endpoint{
						Endpoint: &endpointv3.Endpoint{Address: socketAddress(AdminAddress, AdminPort)},
					},
				}},
			}},
		},
	}
}

func socketAddress(ip string, port uint32) *corev3.Address {
	return &corev3.Address{Address: &corev3.Address_SocketAddress{
		SocketAddress: &corev3.SocketAddress{
			Address:       ip,
			PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: port},
		},
	}}
}

// sortedKeys returns the keys of m in order, for deterministic iteration.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
