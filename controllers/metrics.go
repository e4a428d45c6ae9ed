package controllers

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Metrics of the proxy reconciler, served beside controller-runtime's own (reconcile counts and
// durations per controller) on the manager's metrics endpoint.
var (
	proxyConfigWrites = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mizzen_proxy_config_writes_total",
		Help: "Writes of proxy ConfigMaps, by operation (create, update). A no-op resync adds none.",
	}, []string{"operation"})
	proxyConfigBytes = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "mizzen_proxy_config_written_bytes_total",
		Help: "Bytes of proxy config (file names and contents) written to ConfigMaps.",
	})
	proxyConfigRenders = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "mizzen_proxy_config_renders_total",
		Help: "Proxy configs translated and rendered; reconciles whose config is known current from the same snapshot skip this.",
	})
	proxyRenderFailures = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "mizzen_proxy_config_render_failures_total",
		Help: "Proxy configs that failed to render and were not written (the proxy kept its last good config).",
	})
	proxyCertificateWrites = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mizzen_proxy_certificate_writes_total",
		Help: "Writes of proxy Certificates, by operation (create, update).",
	}, []string{"operation"})
	meshSnapshotBuilds = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "mizzen_mesh_snapshot_builds_total",
		Help: "Mesh snapshots built from the cache; reconciles between two changes share one.",
	})
)

func init() {
	metrics.Registry.MustRegister(proxyConfigWrites, proxyConfigRenders, proxyConfigBytes, proxyRenderFailures, proxyCertificateWrites, meshSnapshotBuilds)
}
