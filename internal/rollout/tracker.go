package rollout

import (
	"hash/maphash"
	"iter"
	"maps"
	"slices"
	"sync"

	"github.com/mizzen-mesh/mizzen/internal/mesh"
)

// Carried is what one proxy's written config carries.
type Carried struct {
	// Snapshot is the generation of the mesh snapshot the config was translated from; snapshot
	// generations only grow.
	Snapshot uint64
	// Rules are the rule versions that shaped the config.
	Rules mesh.RuleSets
}

// Tracker records what each proxy's written config carries, by proxy key (the pod's
// namespace/name). It is safe for concurrent use.
type Tracker struct {
	mu      sync.RWMutex
	proxies map[string]Carried
	// sets interns the rule sets recorded, by content. The proxies of a namespace share one set
	// per snapshot, but proxies written from different snapshots carry equal sets in different
	// maps (each snapshot builds its own): at 2,000 proxies, converging over many snapshots, the
	// copies were tens of MiB of the manager's heap. Interned, there is one per distinct content.
	sets map[uint64][]*internedSet
	seed maphash.Seed
}

type internedSet struct {
	set  mesh.RuleVersions
	refs int // recorded proxies carrying it
}

// NewTracker returns an empty tracker.
func NewTracker() *Tracker {
	return &Tracker{proxies: map[string]Carried{}, sets: map[uint64][]*internedSet{}, seed: maphash.MakeSeed()}
}

// Record notes that proxy's config now carries c. The tracker keeps c.Rules' sets, or equal ones:
// they must not be changed afterwards (mesh.RuleVersions are never changed once built).
func (t *Tracker) Record(proxy string, c Carried) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if old, ok := t.proxies[proxy]; ok {
		t.release(old.Rules)
	}
	rules := make(mesh.RuleSets, len(c.Rules))
	for i, v := range c.Rules {
		rules[i] = t.intern(v)
	}
	c.Rules = rules
	t.proxies[proxy] = c
}

// Forget drops a proxy that is gone.
func (t *Tracker) Forget(proxy string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if old, ok := t.proxies[proxy]; ok {
		t.release(old.Rules)
		delete(t.proxies, proxy)
	}
}

// intern returns the set recorded with v's content, or v, now recorded. Callers hold t.mu.
func (t *Tracker) intern(v mesh.RuleVersions) mesh.RuleVersions {
	h := t.hash(v)
	for _, e := range t.sets[h] {
		if maps.Equal(e.set, v) {
			e.refs++
			return e.set
		}
	}
	t.sets[h] = append(t.sets[h], &internedSet{set: v, refs: 1})
	return v
}

// release drops one reference to each of sets, and the sets no proxy carries any more. Callers
// hold t.mu.
func (t *Tracker) release(sets mesh.RuleSets) {
	for _, v := range sets {
		h := t.hash(v)
		bucket := t.sets[h]
		for i, e := range bucket {
			if maps.Equal(e.set, v) {
				if e.refs--; e.refs == 0 {
					bucket = slices.Delete(bucket, i, i+1)
				}
				break
			}
		}
		if len(bucket) == 0 {
			delete(t.sets, h)
		} else {
			t.sets[h] = bucket
		}
	}
}

// hash is a hash of v's content, independent of map order: the sum of its entries' hashes. Sorting
// the keys instead allocated a slice of the rule names at every Record (twice: the set released
// and the one recorded), the largest allocation of a rollout's bookkeeping.
func (t *Tracker) hash(v mesh.RuleVersions) uint64 {
	var sum uint64
	for k, gen := range v {
		sum += mix64(maphash.String(t.seed, k) ^ mix64(uint64(gen)))
	}
	return sum
}

// mix64 is splitmix64's finalizer: entries whose key hashes and numbers differ by a few bits do
// not cancel out in the sum.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// distinctSets is the number of distinct rule sets the tracker holds.
func (t *Tracker) distinctSets() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	n := 0
	for _, b := range t.sets {
		n += len(b)
	}
	return n
}

// Len is the number of proxies recorded.
func (t *Tracker) Len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.proxies)
}

// Target is a rule version whose rollout is counted.
type Target struct {
	Rule       string // mesh.ObjectKey of the rule
	Generation int64  // its current metadata.generation
	// Since is the generation of the first snapshot that held the rule at Generation; 0 when no
	// snapshot has yet (or the version was never let through: it is invalid).
	Since uint64
}

// Progress counts a rollout over the candidate proxies.
type Progress struct {
	// Total is the proxies the rule shapes, updated or not, including the unknown ones.
	Total int
	// Updated is the proxies whose written config carries the target generation.
	Updated int
	// Unknown is the candidates not yet translated from a snapshot holding the target
	// generation and not known to use the rule: each may or may not turn out to use it.
	Unknown int
}

// Done reports whether every proxy the rule shapes carries the target generation.
func (p Progress) Done() bool { return p.Unknown == 0 && p.Updated == p.Total }

// Progress counts the rollout of tg over the candidate proxies (keys as recorded). Candidates are
// a sequence so that a caller holding them in groups need not copy them into one slice.
func (t *Tracker) Progress(tg Target, candidates iter.Seq[string]) Progress {
	t.mu.RLock()
	defer t.mu.RUnlock()
	var p Progress
	for key := range candidates {
		c, recorded := t.proxies[key]
		gen, uses := c.Rules.Generation(tg.Rule)
		caughtUp := recorded && tg.Since != 0 && c.Snapshot >= tg.Since
		switch {
		case uses && caughtUp:
			p.Total++
			if gen == tg.Generation {
				p.Updated++
			}
		case uses:
			p.Total++ // an older version still shapes it
		case !caughtUp:
			p.Total++
			p.Unknown++
		}
	}
	return p
}
