package translate

import (
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
)

// Secrets reach Envoy through SDS files that internal/envoy writes next to lds.yaml and cds.yaml;
// TLS contexts built here name them and point at those files.
const (
	// WorkloadCertSecretName is the pod's own certificate and key, as Istio names it.
	WorkloadCertSecretName = "default"
	// RootCASecretName is the mesh CA bundle peers are verified against.
	RootCASecretName = "ROOTCA"
	// SDSPathDir is the directory of the proxy's ConfigMap mount, which holds the SDS files and is
	// watched for the kubelet's atomic symlink swap.
	SDSPathDir = "/etc/mizzen/proxy"
	// WorkloadSDSFile and RootCASDSFile hold one secret each.
	WorkloadSDSFile = "sds-default.yaml"
	RootCASDSFile   = "sds-rootca.yaml"
	// PrometheusStatsCluster is the bootstrap's static cluster for Envoy's admin API (internal/envoy
	// defines it; CDS must not). The stats and health listeners route to it.
	PrometheusStatsCluster = "prometheus_stats"
)

// Shared references to the two secrets: immutable, used by every TLS context.
var (
	workloadCertSDS = SDSSecretConfig(WorkloadCertSecretName)
	rootCASDS       = SDSSecretConfig(RootCASecretName)
)

// SDSSecretConfig refers to secret name (WorkloadCertSecretName or RootCASecretName) in its file.
func SDSSecretConfig(name string) *tlsv3.SdsSecretConfig {
	file := WorkloadSDSFile
	if name == RootCASecretName {
		file = RootCASDSFile
	}
	return &tlsv3.SdsSecretConfig{
		Name: name,
		SdsConfig: &corev3.ConfigSource{
			ResourceApiVersion: corev3.ApiVersion_V3,
			ConfigSourceSpecifier: &corev3.ConfigSource_PathConfigSource{PathConfigSource: &corev3.PathConfigSource{
				Path:             SDSPathDir + "/" + file,
				WatchedDirectory: &corev3.WatchedDirectory{Path: SDSPathDir},
			}},
		},
	}
}
