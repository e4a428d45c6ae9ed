package envoy

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
)

// A proxy's files live in two ConfigMaps that one projected volume mounts
// into ConfigDir (the kubelet swaps the whole directory at once, so Envoy's
// watched_directory reload sees both):
//
//   - mizzen-proxy-<proxy-id>: envoy.yaml, lds.yaml (listeners with their
//     routes inline) and the SDS documents — what a rule changes, a canary
//     weight among it;
//   - mizzen-proxy-<proxy-id>-clusters: cds.yaml (clusters with their
//     endpoints inline) — what endpoint churn changes.
//
// A weight change so rewrites the routes alone (≈15% of an unscoped
// proxy's bytes at 100 services) and a scaled Deployment the clusters
// alone; each ConfigMap has the API server's 1 MiB limit to itself.
const ClustersConfigMapSuffix = "-clusters"

// ClustersConfigMapName is the name of the ConfigMap with a proxy's cds.yaml.
func ClustersConfigMapName(proxyID string) string {
	return ConfigMapName(proxyID) + ClustersConfigMapSuffix
}

// clustersFiles are the files of the clusters ConfigMap; every other file
// is in the main one.
var clustersFiles = map[string]bool{CDSFile: true}

// ConfigMapData is one of a proxy's ConfigMaps as rendered.
type ConfigMapData struct {
	Name string
	Data map[string]string
	// Hash of Data, for the ConfigMap's annotation mizzen.dev/config-hash:
	// it changes iff this ConfigMap's files do.
	Hash string
}

// ConfigMapNames are the names of a proxy's ConfigMaps in the order
// ConfigMaps returns them.
func ConfigMapNames(proxyID string) []string {
	return []string{ClustersConfigMapName(proxyID), ConfigMapName(proxyID)}
}

// ConfigMaps are the proxy's ConfigMaps, clusters first: written in this
// order, a route naming a new cluster never reaches Envoy before the cluster
// (the kubelet may refresh the volume between the two writes).
func (f *Files) ConfigMaps() []ConfigMapData { return f.configMaps }

// split sorts the files into the proxy's ConfigMaps (in ConfigMapNames
// order) and hashes each, from the files' sums where known.
func split(proxyID string, files map[string]string, sums map[string][sha256.Size]byte) []ConfigMapData {
	clusters := make(map[string]string, len(clustersFiles))
	main := make(map[string]string, len(files))
	for name, content := range files {
		if clustersFiles[name] {
			clusters[name] = content
		} else {
			main[name] = content
		}
	}
	names := ConfigMapNames(proxyID)
	return []ConfigMapData{
		{Name: names[0], Data: clusters, Hash: hashFiles(clusters, sums)},
		{Name: names[1], Data: main, Hash: hashFiles(main, sums)},
	}
}

// HashOf is the content hash of a ConfigMap's data.
func HashOf(data map[string]string) string { return hashFiles(data, nil) }

// hashFiles hashes the files' names and SHA-256 sums in name order, taking
// a sum from sums when there.
func hashFiles(data map[string]string, sums map[string][sha256.Size]byte) string {
	h := sha256.New()
	for _, name := range sortedKeys(data) {
		sum, ok := sums[name]
		if !ok {
			sum = sha256.Sum256([]byte(data[name]))
		}
		h.Write([]byte(name))
		h.Write([]byte{0})
		h.Write(sum[:])
	}
	return hex.EncodeToString(h.Sum(nil))[:hashLen]
}

// StampOf is the hash stamped on the pod: of its ConfigMaps' hashes, in
// ConfigMapNames order. It changes iff one of them does.
func StampOf(configMapHashes ...string) string {
	h := sha256.New()
	for _, c := range configMapHashes {
		fmt.Fprintf(h, "%s\x00", c)
	}
	return hex.EncodeToString(h.Sum(nil))[:hashLen]
}

// stamp sets the files' ConfigMaps and the pod's hash.
func (f *Files) stamp(proxyID string) {
	f.configMaps = split(proxyID, f.Data, f.sums)
	hashes := make([]string, len(f.configMaps))
	for i, cm := range f.configMaps {
		hashes[i] = cm.Hash
	}
	f.Hash = StampOf(hashes...)
}

// Merge is the config directory the projected volume shows: the union of
// the proxy's ConfigMaps' data (their file names are disjoint).
func Merge(data ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, d := range data {
		maps.Copy(out, d)
	}
	return out
}

// Size is the number of bytes of the ConfigMap's data (names and contents).
func (c ConfigMapData) Size() int { return dataSize(c.Data) }
