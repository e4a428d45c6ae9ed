// Package envoy renders one proxy's Envoy resources into the files of its
// ConfigMap mizzen-proxy-<proxy-id>: the bootstrap (envoy.yaml), the listener
// and cluster DiscoveryResponse documents Envoy's file-based xDS reads
// (lds.yaml, cds.yaml), and the two SDS documents that point Envoy at the
// workload certificate mounted from the cert-manager Secret.
//
// File-based xDS has no NACK: a file Envoy rejects leaves the proxy on its
// previous config with nobody told. So Render validates every message
// (ValidateAll) before packing it into an Any and, before returning, Verify
// decodes the rendered files again with strict protojson, validates what it
// decoded down through every Any, checks the references between files
// (config sources, secret names, route clusters) and compares the result with
// the input by proto.Equal. An error means: do not write this ConfigMap.
//
// Output is deterministic: the same input renders to the same bytes in every
// process, so the content hash (Files.Hash) changes iff the content changes.
// The package is pure: no Kubernetes client, no clock, no logging.
package envoy
