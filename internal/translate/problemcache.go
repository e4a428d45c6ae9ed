package translate

import (
	"crypto/sha256"
	"sync"

	"github.com/mizzen-mesh/mizzen/internal/mesh"
	"github.com/mizzen-mesh/mizzen/internal/validate"
)

// Translating proxies is most of what RuleProblems costs, and the status reconcilers ask for it at
// every snapshot — mostly snapshots that differ from the previous one in endpoints and pod
// addresses alone, which those problems do not depend on. A sidecar's are kept per namespace
// (outboundreads.go); the gateway proxies' (and every sidecar's, when rules select proxies by
// labels) are kept here across snapshots, keyed by a digest of everything they can depend on
// (problemInputs). Keyed by content, the cache is never stale, and one cache serves every snapshot
// source of the process.
var translatedProblems = problemCache{max: 16}

// problemCache maps an input digest to the problems of translating those inputs' proxies.
type problemCache struct {
	mu      sync.Mutex
	max     int
	entries map[[sha256.Size]byte][]validate.Problem
	// hits and misses count lookups, for tests.
	hits, misses int
}

// get returns the problems for key, building and keeping them on a miss. The returned slice is
// shared: callers must not change it.
func (c *problemCache) get(key [sha256.Size]byte, build func() []validate.Problem) []validate.Problem {
	c.mu.Lock()
	ps, ok := c.entries[key]
	if ok {
		c.hits++
	} else {
		c.misses++
	}
	c.mu.Unlock()
	if ok {
		return ps
	}
	ps = build()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) >= c.max {
		c.entries = map[[sha256.Size]byte][]validate.Problem{}
	}
	c.entries[key] = ps
	return ps
}

// problemInputs digests what translating proxies of snap can report problems about: the settings,
// the rules (a UID and generation name one spec; the creation time, which orders conflicting
// rules, comes with the UID), the services without their endpoints' addresses, the gateway
// credentials and the proxies themselves without their ids and addresses.
//
// Left out on purpose: an endpoint's address, port, labels and locality. The API server validates
// EndpointSlice addresses and ports, so they cannot make a cluster invalid, and subset membership
// is no translation problem (RuleProblems counts subset pods apart, at every snapshot). What an
// endpoint does change in a cluster's TLS — whether it is meshed, its service account (the SANs
// clients verify) — is in the digest. A proxy's address only shapes its inbound listener, whose
// problems are about the proxy and not reported on rules.
func problemInputs(snap *mesh.Snapshot, proxies []mesh.Proxy) [sha256.Size]byte {
	d := newDigest()
	d.strs("settings", settingsDigest(snap)) // every field, those to come too
	for _, vs := range snap.VirtualServices {
		d.rule("VirtualService", vs, vs.Spec)
	}
	for _, dr := range snap.DestinationRules {
		d.rule("DestinationRule", dr, dr.Spec)
	}
	for _, gw := range snap.Gateways {
		d.rule("Gateway", gw, gw.Spec)
	}
	for _, svc := range snap.Services {
		d.service(svc)
	}
	for _, c := range snap.Credentials() {
		d.strs("Credential", c.Namespace, c.Name)
		d.bools(c.HasCert, c.HasKey, c.HasCA, c.Deleted)
	}
	for _, p := range proxies {
		d.strs("proxy", string(p.Kind), p.Namespace, p.ServiceAccount, p.Locality.Region, p.Locality.Zone, p.Locality.SubZone)
		d.labels(p.Labels)
		d.strs("egress", p.EgressHosts...)
	}
	return d.sum()
}
