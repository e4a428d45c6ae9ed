package rollout

import (
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
}

// NewTracker returns an empty tracker.
func NewTracker() *Tracker { return &Tracker{proxies: map[string]Carried{}} }

// Record notes that proxy's config now carries c.
func (t *Tracker) Record(proxy string, c Carried) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.proxies[proxy] = c
}

// Forget drops a proxy that is gone.
func (t *Tracker) Forget(proxy string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.proxies, proxy)
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

// Progress counts the rollout of tg over the candidate proxies (keys as recorded).
func (t *Tracker) Progress(tg Target, candidates []string) Progress {
	t.mu.RLock()
	defer t.mu.RUnlock()
	var p Progress
	for _, key := range candidates {
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
