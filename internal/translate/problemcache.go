package translate

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash"
	"maps"
	"slices"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mizzen-mesh/mizzen/internal/mesh"
	"github.com/mizzen-mesh/mizzen/internal/validate"
)

// Translating a proxy of every namespace is most of what RuleProblems costs, and the status
// reconcilers ask for it at every snapshot — mostly snapshots that differ from the previous one in
// endpoints and pod addresses alone, which those problems do not depend on. So the problems of
// those translations are kept across snapshots, keyed by a digest of everything they can depend on
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
	d := digest{h: sha256.New()}
	d.strs("settings", fmt.Sprintf("%#v", snap.Settings)) // every field, those to come too
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
		d.strs("Service", svc.Namespace, svc.Name, svc.Hostname, svc.ClusterIP)
		d.int(svc.Created)
		for _, p := range svc.Ports {
			d.strs("port", p.Name, string(p.Protocol))
			d.int(int64(p.Number))
		}
		d.labels(svc.Selector)
		d.strs("exportTo", svc.ExportTo...)
		for _, port := range slices.Sorted(maps.Keys(svc.Endpoints)) {
			d.int(int64(port))
			d.endpointIdentities(svc.Endpoints[port])
		}
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
	var sum [sha256.Size]byte
	d.h.Sum(sum[:0])
	return sum
}

// digest writes length-prefixed values, so that no two sequences of values write the same bytes.
type digest struct{ h hash.Hash }

// rule writes a rule's identity and version; a rule that did not come from an API server (no UID
// or generation: a test's fixture, a file) is written by its spec, which JSON writes
// deterministically.
func (d digest) rule(kind string, obj metav1.Object, spec any) {
	d.strs(kind, obj.GetNamespace(), obj.GetName(), string(obj.GetUID()))
	d.int(obj.GetGeneration())
	if obj.GetUID() == "" || obj.GetGeneration() == 0 {
		b, err := json.Marshal(spec)
		if err != nil {
			panic(err) // API types always marshal
		}
		d.str(string(b))
	}
}

func (d digest) strs(tag string, ss ...string) {
	d.str(tag)
	d.int(int64(len(ss)))
	for _, s := range ss {
		d.str(s)
	}
}

func (d digest) str(s string) {
	d.int(int64(len(s)))
	d.h.Write([]byte(s))
}

func (d digest) int(n int64) {
	d.h.Write(binary.LittleEndian.AppendUint64(nil, uint64(n)))
}

func (d digest) bools(bs ...bool) {
	for _, b := range bs {
		n := int64(0)
		if b {
			n = 1
		}
		d.int(n)
	}
}

func (d digest) labels(m map[string]string) {
	d.int(int64(len(m)))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		d.str(k)
		d.str(m[k])
	}
}

// endpointIdentities writes the distinct (meshed, service account) pairs of eps.
func (d digest) endpointIdentities(eps []mesh.Endpoint) {
	type identity struct {
		meshed bool
		sa     string
	}
	ids := make([]identity, 0, 2)
	for _, e := range eps {
		id := identity{e.Meshed, e.ServiceAccount}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, func(a, b identity) int {
		if a.meshed != b.meshed {
			if a.meshed {
				return 1
			}
			return -1
		}
		return cmp.Compare(a.sa, b.sa)
	})
	d.int(int64(len(ids)))
	for _, id := range ids {
		d.bools(id.meshed)
		d.str(id.sa)
	}
}
