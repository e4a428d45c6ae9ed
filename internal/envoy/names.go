package envoy

// Mount points and file names shared by the bootstrap, the xDS documents and
// the injection webhook.
//
// TODO(translate): internal/translate/sds.go declares the same values
// (SDSPathDir = ConfigDir, WorkloadSDSFile, RootCASDSFile,
// WorkloadCertSecretName, RootCASecretName, PrometheusStatsCluster, and
// SDSSecretConfig as in sds.go). It does not compile yet; once it does,
// define these as its constants instead of duplicating them. Until then
// Verify catches any drift: a config source, SDS file or secret name that
// does not match what this package writes is an error.
const (
	// ConfigDir is where the projected volume of ConfigMaps
	// mizzen-proxy-<proxy-id> and mizzen-proxy-<proxy-id>-clusters is
	// mounted. Envoy watches this directory: the kubelet updates the volume
	// by swapping its ..data symlink, a move in this directory.
	ConfigDir = "/etc/mizzen/proxy"
	// CertDir is where the cert-manager Secret mizzen-proxy-<proxy-id> is
	// mounted (keys tls.crt, tls.key, ca.crt).
	CertDir = "/etc/mizzen/certs"

	BootstrapFile = "envoy.yaml"
	LDSFile       = "lds.yaml"
	CDSFile       = "cds.yaml"
	// SDS documents, one secret each: Envoy's file-based SDS expects the
	// file to hold exactly the secret the SdsSecretConfig names.
	WorkloadSDSFile = "sds-default.yaml"
	RootCASDSFile   = "sds-rootca.yaml"

	// Secret names as Istio spells them, so Istio users read the config
	// without a map.
	WorkloadCertSecretName = "default"
	RootCASecretName       = "ROOTCA"

	// Keys of the cert-manager Secret (kubernetes.io/tls plus ca.crt).
	CertChainKey  = "tls.crt"
	PrivateKeyKey = "tls.key"
	CAKey         = "ca.crt"

	// AdminAddress and AdminPort: the admin API listens on loopback only;
	// Prometheus reaches /stats/prometheus through translate's listener on
	// 15090, which routes to PrometheusStatsCluster.
	AdminAddress = "127.0.0.1"
	AdminPort    = 15000
	// PrometheusStatsCluster is a static cluster in the bootstrap pointing
	// at the admin API. CDS may not redefine it (Envoy refuses to replace a
	// static cluster), so Render rejects a dynamic cluster of this name.
	PrometheusStatsCluster = "prometheus_stats"

	// ConfigMapPrefix + proxy id names both the ConfigMap and the Secret.
	ConfigMapPrefix = "mizzen-proxy-"
	// HashAnnotation carries ConfigMapData.Hash on each ConfigMap and
	// Files.Hash (over both) on the Pod.
	HashAnnotation = "mizzen.dev/config-hash"
)

// ConfigMapName is the name of the ConfigMap (and Secret) of a proxy.
func ConfigMapName(proxyID string) string { return ConfigMapPrefix + proxyID }

// ConfigPath is the absolute path of a rendered file inside the proxy.
func ConfigPath(file string) string { return ConfigDir + "/" + file }

// CertPath is the absolute path of a key of the mounted certificate Secret.
func CertPath(key string) string { return CertDir + "/" + key }

// FileNames lists the files Render produces, sorted.
func FileNames() []string {
	return []string{CDSFile, BootstrapFile, LDSFile, WorkloadSDSFile, RootCASDSFile}
}
