package translate

import (
	"crypto/sha256"
	"slices"
	"strings"
	"sync"

	"github.com/mizzen-mesh/mizzen/api/v1alpha1"
	"github.com/mizzen-mesh/mizzen/internal/mesh"
	"github.com/mizzen-mesh/mizzen/internal/validate"
)

// The status reconcilers ask RuleProblems for every new snapshot, and it translated a sidecar of
// every namespace whenever a rule, a service or an endpoint's identity changed anywhere: while a
// mesh of 1,000 rules in 20 namespaces was created, 7.5 of the manager's 34 GB of allocations.
// A sidecar's outbound config asks its snapshot a few questions only — the services in its egress
// scope, the VirtualService holding each host, the DestinationRule of each service it builds
// clusters for, the delegates and destination services its routes name — and is a function of
// the answers. So buildOutbound notes the questions (outboundReads), and a later snapshot that
// answers every one of them alike gets the problems found before without a translation: a change
// in one namespace translates that namespace's sidecar again, not the mesh's.

// outboundReads are the questions one outbound translation asked its snapshot, in order, each
// once. The answers are not kept: replay asks again and digests them.
type outboundReads struct {
	scopes    []scopeQuery
	hostRules []string       // the VirtualService index's rule for a host (VirtualServiceIndex.For)
	drs       []drQuery      // DestinationRuleFor
	delegates []delegateName // VirtualService by namespace and name
	services  []string       // Service by host
	seen      map[any]bool
}

type scopeQuery struct {
	namespace string
	egress    string // joined with ","
}

type drQuery struct{ host, serviceNamespace string }

type delegateName struct{ namespace, name string }

func newOutboundReads() *outboundReads { return &outboundReads{seen: map[any]bool{}} }

// first reports whether q is asked for the first time (and notes it).
func (r *outboundReads) first(q any) bool {
	if r == nil || r.seen[q] {
		return false
	}
	r.seen[q] = true
	return true
}

// The translator's questions: each asks the snapshot and, when the translator records (its
// outbound config), notes the question. A new question an outbound translation asks its snapshot
// must come through here and into replay, or the problems kept would not see its answer change;
// TestRuleProblemsKeptPerNamespaceMatchAFreshTranslation compares them with fresh translations
// through a long run of changes.

func (t *translator) scopedServices() []*mesh.Service {
	if q := (scopeQuery{t.proxy.Namespace, strings.Join(t.proxy.EgressHosts, ",")}); t.reads.first(q) {
		t.reads.scopes = append(t.reads.scopes, q)
	}
	return t.snap.ScopedServices(t.proxy.Namespace, t.proxy.EgressHosts)
}

func (t *translator) hostRule(host string) *v1alpha1.VirtualService {
	if t.reads.first(hostRuleQuery(host)) {
		t.reads.hostRules = append(t.reads.hostRules, host)
	}
	return t.vsIndex.For(host)
}

func (t *translator) destinationRuleFor(host, serviceNamespace string) *v1alpha1.DestinationRule {
	if q := (drQuery{host, serviceNamespace}); t.reads.first(q) {
		t.reads.drs = append(t.reads.drs, q)
	}
	return t.snap.DestinationRuleFor(t.proxy, host, serviceNamespace)
}

func (t *translator) delegate(namespace, name string) *v1alpha1.VirtualService {
	if q := (delegateName{namespace, name}); t.reads.first(q) {
		t.reads.delegates = append(t.reads.delegates, q)
	}
	return t.snap.VirtualService(namespace, name)
}

func (t *translator) service(host string) *mesh.Service {
	if t.reads.first(serviceQuery(host)) {
		t.reads.services = append(t.reads.services, host)
	}
	return t.snap.Service(host)
}

type hostRuleQuery string

type serviceQuery string

// replay asks snap the recorded questions for proxy and digests the answers, with everything
// else an outbound translation reads: the settings, what the rules depend on (ruleDependencies)
// and what of the proxy it depends on (outboundKeyFor: its namespace, egress scope and, when a
// rule weighs localities, locality). Equal digests: equal translations, and so equal problems.
// Services are digested as problemInputs digests them: endpoints by identity, not address (see
// there).
func (r *outboundReads) replay(snap *mesh.Snapshot, proxy mesh.Proxy) [sha256.Size]byte {
	d := newDigest()
	d.str(settingsDigest(snap))
	deps := ruleDependencies(snap)
	d.bools(deps.labels, deps.locality)
	key := outboundKeyFor(snap, proxy)
	d.strs("proxy", key.namespace, key.egress, key.locality.Region, key.locality.Zone, key.locality.SubZone)
	for _, q := range r.scopes {
		d.strs("scope", q.namespace, q.egress)
		var egress []string
		if q.egress != "" {
			egress = strings.Split(q.egress, ",")
		}
		svcs := snap.ScopedServices(q.namespace, egress)
		d.int(int64(len(svcs)))
		for _, svc := range svcs {
			d.service(svc)
		}
	}
	ix := snap.SidecarVirtualServices(proxy.Namespace)
	for _, host := range r.hostRules {
		d.str(host)
		if vs := ix.For(host); vs != nil {
			d.rule("VirtualService", vs, vs.Spec)
		} else {
			d.str("none")
		}
	}
	for _, q := range r.drs {
		d.strs("DestinationRuleFor", q.host, q.serviceNamespace)
		if dr := snap.DestinationRuleFor(proxy, q.host, q.serviceNamespace); dr != nil {
			d.rule("DestinationRule", dr, dr.Spec)
		} else {
			d.str("none")
		}
	}
	for _, q := range r.delegates {
		d.strs("delegate", q.namespace, q.name)
		if vs := snap.VirtualService(q.namespace, q.name); vs != nil {
			d.rule("VirtualService", vs, vs.Spec)
		} else {
			d.str("none")
		}
	}
	for _, host := range r.services {
		d.str(host)
		if svc := snap.Service(host); svc != nil {
			d.service(svc)
		} else {
			d.str("none")
		}
	}
	return d.sum()
}

// sidecarProblems keeps, per outbound config (namespace, egress scope, locality), the problems its
// last translation found, with the questions it asked. One cache serves every snapshot source of
// the process.
var sidecarProblems = outboundProblemCache{}

// outboundProblemCacheMax bounds the entries (one per namespace, egress scope and locality in use,
// each a few kilobytes); past it the cache starts again.
const outboundProblemCacheMax = 10_000

type outboundProblemCache struct {
	mu      sync.Mutex
	entries map[outboundKey]*outboundProblems
	// hits and misses count lookups, for tests.
	hits, misses int
}

type outboundProblems struct {
	reads    *outboundReads
	sum      [sha256.Size]byte
	problems []validate.Problem // without the VirtualService index's: those are the whole view's
}

// get returns the problems of proxy's outbound config: the ones found before when snap answers
// their translation's questions alike, else those of translating it from snap. The returned slice
// is shared: callers must not change it.
func (c *outboundProblemCache) get(snap *mesh.Snapshot, proxy mesh.Proxy) []validate.Problem {
	key := outboundKeyFor(snap, proxy)
	c.mu.Lock()
	e := c.entries[key]
	c.mu.Unlock()
	if e != nil && e.reads.replay(snap, proxy) == e.sum {
		c.mu.Lock()
		c.hits++
		c.mu.Unlock()
		return e.problems
	}
	set := outbound(snap, proxy)
	// Digested from the snapshot that answered the translation: a change made since cannot slip in.
	next := &outboundProblems{reads: set.reads, sum: set.reads.replay(snap, proxy),
		problems: slices.Clip(set.problems[set.indexProblems:])}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.misses++
	if c.entries == nil || len(c.entries) >= outboundProblemCacheMax {
		c.entries = map[outboundKey]*outboundProblems{}
	}
	c.entries[key] = next
	return next.problems
}
