package translate

import (
	"crypto/sha256"
	"fmt"
	"sync"
	"time"

	"github.com/mizzen-mesh/mizzen/internal/mesh"
)

// A snapshot is rebuilt after every change of the mesh, and each build used to translate every
// service port's clusters again, although a change touches a few services: while a mesh of 1,000
// services converges (a new snapshot every 100 to 200 ms) building clusters was 18% of the
// manager's allocations, and renders still running on one snapshot and the next one's held two
// sets of equal clusters. So a service port's clusters are kept across snapshots, under a digest of
// everything building them reads (clusterInputs), and a snapshot whose service is unchanged gets
// the same objects — which also lets envoy.Cache, which finds a resource by identity first, reuse
// their rendered YAML without marshalling them.
var sharedClusters = clusterCache{}

// clusterCacheMax bounds the entries; past it the cache starts again (a safety net: ReleaseIdle
// drops the entries no snapshot asked for lately, and there is one entry per service port, rule
// and locality in use).
const clusterCacheMax = 100_000

// clusterSlot names one service port's clusters as some proxies get them: the entry of a slot is
// replaced when its inputs change, so superseded clusters are not kept.
type clusterSlot struct {
	host         string
	port         int32
	drNS, drName string // "" when no DestinationRule applies
	loc          mesh.Locality
	credNS       string
}

type clusterEntry struct {
	inputs [sha256.Size]byte
	value  *serviceClusters
	used   time.Time
}

// clusterCache keeps the newest clusters of each slot. Safe for concurrent use.
type clusterCache struct {
	mu      sync.Mutex
	entries map[clusterSlot]*clusterEntry
	// hits and misses count lookups, for tests.
	hits, misses int
}

// get returns the slot's clusters if they were built from the same inputs, and builds and keeps
// them otherwise. The value is shared: callers must not change it.
func (c *clusterCache) get(slot clusterSlot, inputs [sha256.Size]byte, build func() *serviceClusters) *serviceClusters {
	now := time.Now()
	c.mu.Lock()
	if e, ok := c.entries[slot]; ok && e.inputs == inputs {
		e.used = now
		c.hits++
		c.mu.Unlock()
		return e.value
	}
	c.misses++
	c.mu.Unlock()
	v := build()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) >= clusterCacheMax {
		c.entries = map[clusterSlot]*clusterEntry{}
	}
	c.entries[slot] = &clusterEntry{inputs: inputs, value: v, used: now}
	return v
}

// forgetIdle drops the entries no lookup asked for since cutoff and returns how many it dropped.
func (c *clusterCache) forgetIdle(cutoff time.Time) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for slot, e := range c.entries {
		if e.used.Before(cutoff) {
			delete(c.entries, slot)
			n++
		}
	}
	return n
}

// slotOf names the clusters of key's service port.
func slotOf(key clusterKey) clusterSlot {
	s := clusterSlot{host: key.host, port: key.port, loc: key.loc, credNS: key.credNS}
	if key.dr != nil {
		s.drNS, s.drName = key.dr.Namespace, key.dr.Name
	}
	return s
}

// clusterInputs digests what clusterBuilder reads to build a service port's clusters: the
// settings, the service's name and namespace (the clusters' names, the endpoints' SPIFFE SANs),
// the port, every field of its endpoints, the DestinationRule (its UID and generation: one spec),
// the proxy locality and gateway namespace the key carries, and, for a gateway that reads client
// credentials, the credentials of its namespace. The port's and endpoints' fields are written one
// by one (formatting them with %#v was most of what a lookup allocated);
// TestClusterInputsCoverEveryField fails when a field is added to mesh.Port, mesh.Endpoint or
// mesh.Locality and not here.
func clusterInputs(snap *mesh.Snapshot, svc *mesh.Service, port mesh.Port, key clusterKey) [sha256.Size]byte {
	d := newDigest()
	d.str(settingsDigest(snap))
	d.strs("service", svc.Namespace, svc.Name, svc.Hostname)
	d.port(port)
	eps := svc.Endpoints[port.Number]
	d.int(int64(len(eps)))
	for i := range eps {
		e := &eps[i]
		d.strs("endpoint", e.Address, e.ServiceAccount, e.Pod, e.Locality.Region, e.Locality.Zone, e.Locality.SubZone)
		d.int(int64(e.Port))
		d.labels(e.Labels)
		d.bools(e.Meshed)
	}
	if key.dr != nil {
		d.rule("DestinationRule", key.dr, key.dr.Spec)
	}
	d.strs("locality", key.loc.Region, key.loc.Zone, key.loc.SubZone)
	d.strs("credentials", key.credNS)
	if key.credNS != "" {
		for _, c := range snap.Credentials() {
			if c.Namespace == key.credNS {
				d.str(fmt.Sprintf("%#v", c))
			}
		}
	}
	return d.sum()
}

type settingsDigestKey struct{}

// settingsDigest writes every field of the snapshot's settings (those to come too), once per
// snapshot.
func settingsDigest(snap *mesh.Snapshot) string {
	return snap.Memo(settingsDigestKey{}, func() any { return fmt.Sprintf("%#v", snap.Settings) }).(string)
}

// sharedServiceClusters returns the clusters of key from the cross-snapshot cache, building them
// with build when their inputs changed.
func sharedServiceClusters(snap *mesh.Snapshot, svc *mesh.Service, port mesh.Port, key clusterKey,
	build func() *serviceClusters) *serviceClusters {
	return sharedClusters.get(slotOf(key), clusterInputs(snap, svc, port, key), build)
}
