package controllers

import (
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/mizzen-mesh/mizzen/internal/rollout"
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
	ruleRolloutProxies = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "mizzen_rule_rollout_proxies",
		Help: "Proxies a rule shapes (state=total) and those carrying its current generation (state=updated); updated/total is its rollout ratio.",
	}, []string{"kind", "namespace", "name", "state"})
)

// setRolloutMetrics publishes a rule's rollout counts.
func setRolloutMetrics(kind string, rule types.NamespacedName, p rollout.Progress) {
	ruleRolloutProxies.WithLabelValues(kind, rule.Namespace, rule.Name, "total").Set(float64(p.Total))
	ruleRolloutProxies.WithLabelValues(kind, rule.Namespace, rule.Name, "updated").Set(float64(p.Updated))
}

// forgetRolloutMetrics drops the series of a deleted rule.
func forgetRolloutMetrics(kind string, rule types.NamespacedName) {
	for _, state := range []string{"total", "updated"} {
		ruleRolloutProxies.DeleteLabelValues(kind, rule.Namespace, rule.Name, state)
	}
}

func init() {
	metrics.Registry.MustRegister(proxyConfigWrites, proxyConfigRenders, proxyConfigBytes, proxyRenderFailures, proxyCertificateWrites, meshSnapshotBuilds, ruleRolloutProxies)
}
