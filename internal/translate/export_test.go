package translate

import (
	"github.com/mizzen-mesh/mizzen/api/v1alpha1"
	"github.com/mizzen-mesh/mizzen/internal/mesh"
	"github.com/mizzen-mesh/mizzen/internal/validate"
)

// TranslatedProblemsLookups returns how many lookups of the cross-snapshot problem cache hit and
// missed so far.
func TranslatedProblemsLookups() (hits, misses int) {
	c := &translatedProblems
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits, c.misses
}

// SharedClustersLookups returns how many lookups of the cross-snapshot cluster cache hit and
// missed so far.
func SharedClustersLookups() (hits, misses int) {
	c := &sharedClusters
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits, c.misses
}

// ClusterInputs is the digest the cluster cache keys a service port's clusters by, for dr (nil:
// none) and a sidecar proxy.
func ClusterInputs(snap *mesh.Snapshot, svc *mesh.Service, port mesh.Port, dr *v1alpha1.DestinationRule) [32]byte {
	return clusterInputs(snap, svc, port, clusterKey{host: svc.Hostname, port: port.Number, dr: dr})
}

// SidecarProblemsLookups returns how many lookups of the per-namespace problem cache hit and
// missed so far.
func SidecarProblemsLookups() (hits, misses int) {
	c := &sidecarProblems
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits, c.misses
}

// RuleProblemsUncached is RuleProblems with empty problem caches: every proxy translated.
func RuleProblemsUncached(snap *mesh.Snapshot) []validate.Problem {
	return ruleProblemsFrom(snap, &outboundProblemCache{}, &problemCache{max: 16})
}
