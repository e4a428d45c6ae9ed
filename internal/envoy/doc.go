// Package envoy renders one proxy's Envoy resources into the files of its
// config directory, ConfigDir, which a projected volume fills from two
// ConfigMaps (configmaps.go: cds.yaml apart, so a weight change does not
// rewrite endpoints):
//
//   - envoy.yaml: the Bootstrap. Node identity, admin on 127.0.0.1:15000,
//     listeners and clusters from lds.yaml and cds.yaml through
//     path_config_source + watched_directory (Envoy reloads them when the
//     kubelet swaps the volume's ..data symlink), the static cluster
//     prometheus_stats that translate's 15090 listener routes to, stats
//     config. Read once at start: keep it stable for the life of the pod.
//   - lds.yaml, cds.yaml: DiscoveryResponse documents (type_url, resources
//     as Any, version_info = hash of the rest), the format of Envoy's
//     file-based xDS.
//   - sds-default.yaml, sds-rootca.yaml: DiscoveryResponse documents with
//     the Secret "default" (certificate chain and key) and "ROOTCA" (trusted
//     CA), naming files of the cert-manager Secret mounted at CertDir, never
//     key material; cert rotation reloads them without a restart.
//
// File-based xDS has no NACK: a file Envoy rejects leaves the proxy on its
// previous config with nobody told. So Render validates every resource
// (ValidateAll) before packing it into an Any and, before returning, Verify
// decodes the rendered files again with strict protojson, validates what it
// decoded down through every Any, checks the references between files
// (config sources, secret names, route clusters) and compares the result with
// the input by proto.Equal. An error means: do not write this ConfigMap.
//
// The YAML is block style with sorted keys, written and read back by this
// package for the JSON data model only (see yaml.go). Output is
// deterministic: the same input renders to the same bytes in every process,
// so Files.Hash changes iff the content changes. The package is pure (no
// Kubernetes client, no clock, no logging) and safe for concurrent use.
package envoy
