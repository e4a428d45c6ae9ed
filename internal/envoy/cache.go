package envoy

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"unsafe"
	"weak"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// DefaultCacheEntries bounds a Cache's number of resources.
const DefaultCacheEntries = 100_000

// DefaultCacheBytes bounds the YAML a Cache holds by content. Resources are from about 1 KiB (a
// cluster) to hundreds of KiB (an outbound listener routing to every service of a namespace), and
// every endpoint or rule change adds new ones, so the number of entries alone does not bound the
// memory: 100,000 entries could hold gigabytes. What the proxies of one namespace share (their
// clusters and outbound listener) is under 1 MiB at 1,000 services scoped to 20 namespaces and at
// 100 services unscoped, and a rendering pass goes namespace by namespace; the bound keeps the
// shared resources of a whole unscoped snapshot (≈5 MiB at 100 services × 1,000 pods) with room to
// spare, and sweeps drop what the previous snapshot left. A resource still in use is found by
// identity (seen) whatever the bound. Halving it (and maxDocBytes) left the manager's peak live
// heap at 1,000 services × 2,000 pods where it was (test/scale, gctrace), so it stays.
const DefaultCacheBytes = 8 << 20

// Cache renders like Renderer but memoizes each resource's YAML once it has
// been validated and verified, keyed by the resource's content. Proxies
// share most clusters (translate builds them once per snapshot), so the
// protojson encoding, the strict decoding and the deep validation, which are
// nearly all of Render's time, are paid once per distinct resource instead
// of once per proxy. The output is byte-for-byte Render's. Safe for
// concurrent use; the zero value is ready.
type Cache struct {
	Renderer
	// MaxEntries bounds the cache; 0 means DefaultCacheEntries. When full,
	// entries unused since the previous sweep are dropped.
	MaxEntries int
	// MaxCachedBytes bounds the YAML held (the capacity of the fragments'
	// text, which is what they occupy); 0 means DefaultCacheBytes. Reaching
	// it sweeps as MaxEntries does.
	MaxCachedBytes int

	mu      sync.Mutex
	entries map[cacheKey]*fragment
	bytes   int // capacity of the entries' text
	nextID  uint64
	// docs memoizes whole files by what they were assembled from: the
	// proxies of a namespace mostly share cds.yaml, so it is assembled and
	// hashed once.
	docs docMemo
	// seen finds, by identity, the fragment of a resource rendered before:
	// translate shares one value per cluster among the proxies of a
	// snapshot, so most lookups skip the marshalling the content key takes.
	// Keys are weak pointers, dropped when their resource is collected.
	seen map[any]*fragment
	// rendering are the renders under way, by content: a worker needing one waits for it.
	rendering map[cacheKey]*renderCall
	// renderedSinceSweep: Render ran since the last SweepUnused.
	renderedSinceSweep atomic.Bool
}

// maxDocBytes bounds the memoized files; the oldest go first. They are one
// cds.yaml and lds.yaml per namespace, mostly (about 260 KiB at 1,000
// services in 20 namespaces, 500 KiB at 100 services unscoped): the files of
// the namespaces being rendered. Dropping them all when full, with a bound of
// 4 MiB, held up to 4 MiB at the peak of a 1,000 × 2,000 convergence. Bootstraps are
// not memoized: one per proxy (3.5 KiB each, 7 MiB at 2,000 proxies).
const maxDocBytes = 2 << 20

// document is one rendered file and the SHA-256 of its content.
type document struct {
	text string
	sum  [sha256.Size]byte
}

// newDocument takes text over: the caller hands in a buffer it wrote and never touches again
// (every caller renders or assembles one for this call), so the string shares its bytes instead
// of copying a file of up to a megabyte — 1.25 GB of a 1,000 × 2,000 mesh's convergence.
func newDocument(text []byte) *document {
	return &document{text: unsafe.String(unsafe.SliceData(text), len(text)), sum: sha256.Sum256(text)}
}

type cacheKey struct {
	typeURL string
	sum     [sha256.Size]byte // of the deterministic binary encoding
}

// fragment is one resource rendered and verified: its YAML as an item of
// the resources sequence, and the clusters its inline route tables need.
type fragment struct {
	text []byte
	refs []clusterRef
	// key is the resource's content key; cached: entries holds the
	// fragment under it (Cache.mu guards both flags).
	key    cacheKey
	cached bool
	used   bool
	// id is unique for the Cache's life: a document is keyed by its
	// fragments' ids, so a swept and re-rendered fragment never matches a
	// document made of its predecessor.
	id uint64
}

// Render renders one proxy's config, as Renderer.Render does.
func (c *Cache) Render(node Node, listeners []*listenerv3.Listener, clusters []*clusterv3.Cluster) (*Files, error) {
	files, err := c.render(node, listeners, clusters)
	if err != nil {
		return nil, fmt.Errorf("envoy: render config of proxy %q: %w", node.ID, err)
	}
	return files, nil
}

// Len is the number of cached resources.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

func (c *Cache) render(node Node, listeners []*listenerv3.Listener, clusters []*clusterv3.Cluster) (*Files, error) {
	c.renderedSinceSweep.Store(true)
	if err := node.validate(); err != nil {
		return nil, err
	}
	lds, err := sortResources("listener", listeners, nil)
	if err != nil {
		return nil, err
	}
	cds, err := sortResources("cluster", clusters, staticClusterNames())
	if err != nil {
		return nil, err
	}
	boot, err := c.bootstrap(node)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", BootstrapFile, err)
	}
	files := &Files{
		Data: map[string]string{BootstrapFile: boot.text},
		sums: map[string][sha256.Size]byte{BootstrapFile: boot.sum},
	}

	known := staticClusterNames()
	for _, r := range cds {
		known[r.(named).GetName()] = true
	}
	for file, resources := range map[string][]proto.Message{
		LDSFile:         lds,
		CDSFile:         cds,
		WorkloadSDSFile: {WorkloadCertSecret()},
		RootCASDSFile:   {RootCASecret()},
	} {
		frs := make([]*fragment, len(resources))
		for i, r := range resources {
			fr, err := c.fragment(file, r.(named))
			if err != nil {
				return nil, err
			}
			for _, ref := range fr.refs {
				if err := ref.check(known); err != nil {
					return nil, fmt.Errorf("%s: %s %q: %w", file, kindOf(docTypeURL[file]), r.(named).GetName(), err)
				}
			}
			frs[i] = fr
		}
		doc := c.document(file, frs)
		files.Data[file], files.sums[file] = doc.text, doc.sum
	}
	files.stamp(node.ID)
	if err := c.checkSize(node.ID, files); err != nil {
		return nil, err
	}
	return files, nil
}

// fragment renders r or finds it rendered. A listener is kept by content
// (entries) only once a second proxy shares its value, until then it is
// found by identity alone: listeners of one proxy alone (a gateway's, an
// inbound listener when each proxy had its own) had filled the bound at
// 2,000 proxies and pushed the shared resources out. Other resources are
// kept at once: proxies of one service build equal inbound clusters as
// values of their own.
func (c *Cache) fragment(file string, r named) (*fragment, error) {
	if fr := c.seenBefore(r); fr != nil {
		return fr, nil
	}
	b, err := packOpts.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("%s %q: %w", kindOf(docTypeURL[file]), r.GetName(), err)
	}
	key := cacheKey{typeURL: docTypeURL[file], sum: sha256.Sum256(b)}
	fr, call, err := c.lookupOrRender(key)
	if fr != nil || err != nil {
		if fr != nil {
			// Rendered before under another identity (an earlier snapshot's), or just now by
			// another worker: the next proxy sharing this value finds it without marshalling.
			c.remember(r, fr)
		}
		return fr, err
	}
	return c.renderShared(file, r, key, call)
}

// errRenderAborted is what workers waiting for a render get when it panicked.
var errRenderAborted = errors.New("the render this one waited for was aborted")

// renderShared renders r, keeps it, and hands it to the workers waiting for call.
func (c *Cache) renderShared(file string, r named, key cacheKey, call *renderCall) (fr *fragment, err error) {
	err = errRenderAborted
	defer func() { c.rendered(key, call, fr, err) }()
	if fr, err = renderFragment(file, r); err != nil {
		return nil, err
	}
	fr.key = key
	c.mu.Lock()
	c.nextID++
	fr.id = c.nextID
	c.mu.Unlock()
	c.remember(r, fr)
	if _, listener := r.(*listenerv3.Listener); !listener {
		c.store(fr)
	}
	return fr, nil
}

// renderCall is one render of a resource that other workers wait for instead of rendering it too.
type renderCall struct {
	done chan struct{}
	fr   *fragment
	err  error
}

// lookupOrRender finds the fragment of key, cached or being rendered (it waits for that render).
// When there is neither, it returns the call the caller must render and end with rendered. After
// a change the reconciler's workers translate proxies that share their new resources in the same
// order, so without this they rendered each new cluster up to once per worker (the scale harness
// counted 476 renders of 300 new clusters at 100 services).
func (c *Cache) lookupOrRender(key cacheKey) (*fragment, *renderCall, error) {
	c.mu.Lock()
	if fr := c.entries[key]; fr != nil {
		fr.used = true
		c.mu.Unlock()
		return fr, nil, nil
	}
	if call := c.rendering[key]; call != nil {
		c.mu.Unlock()
		<-call.done
		return call.fr, nil, call.err
	}
	if c.rendering == nil {
		c.rendering = map[cacheKey]*renderCall{}
	}
	call := &renderCall{done: make(chan struct{})}
	c.rendering[key] = call
	c.mu.Unlock()
	return nil, call, nil
}

// rendered ends call with its result and releases the workers waiting for it.
func (c *Cache) rendered(key cacheKey, call *renderCall, fr *fragment, err error) {
	call.fr, call.err = fr, err
	c.mu.Lock()
	delete(c.rendering, key)
	c.mu.Unlock()
	close(call.done)
}

// seenBefore finds the fragment of r's value, rendered for an earlier proxy,
// and keeps it by content from now on (if it was not): the value is shared.
func (c *Cache) seenBefore(r named) *fragment {
	key, ok := identityKey(r)
	if !ok {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	fr := c.seen[key]
	if fr != nil {
		c.storeLocked(fr)
	}
	return fr
}

// remember files fr under r's identity until r is collected. Resources are
// never modified once translated, which is what makes identity enough.
func (c *Cache) remember(r named, fr *fragment) {
	key, ok := identityKey(r)
	if !ok {
		return
	}
	c.mu.Lock()
	if c.seen == nil {
		c.seen = map[any]*fragment{}
	}
	c.seen[key] = fr
	c.mu.Unlock()
	forget := func(key any) {
		c.mu.Lock()
		defer c.mu.Unlock()
		delete(c.seen, key)
	}
	switch m := r.(type) {
	case *clusterv3.Cluster:
		runtime.AddCleanup(m, forget, key)
	case *listenerv3.Listener:
		runtime.AddCleanup(m, forget, key)
	}
}

// identityKey is a weak pointer to the resources proxies share (clusters,
// listeners); others are found by content only.
func identityKey(r named) (any, bool) {
	switch m := r.(type) {
	case *clusterv3.Cluster:
		return weak.Make(m), true
	case *listenerv3.Listener:
		return weak.Make(m), true
	}
	return nil, false
}

func (c *Cache) store(fr *fragment) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.storeLocked(fr)
}

// storeLocked keeps fr by content, marked used. Callers hold c.mu.
func (c *Cache) storeLocked(fr *fragment) {
	fr.used = true
	if fr.cached {
		return
	}
	if c.entries == nil {
		c.entries = map[cacheKey]*fragment{}
	}
	if c.full(cap(fr.text)) {
		c.sweep()
	}
	if old := c.entries[fr.key]; old != nil { // a concurrent render of the same resource
		c.bytes -= cap(old.text)
		old.cached = false
	}
	fr.cached = true
	c.entries[fr.key] = fr
	c.bytes += cap(fr.text)
}

// bootstrap renders envoy.yaml. All of it but the node is the same for every proxy: that part is
// rendered and verified once (bootstrapFrame), and each proxy's node alone is validated, written
// and verified, then set in its place. The file is byte for byte renderBootstrap's
// (TestCacheMatchesRender) at a fraction of the cost: rendering the whole file was a third of a
// proxy's rendering once its listeners and clusters were shared.
func (c *Cache) bootstrap(node Node) (*document, error) {
	fr, err := bootstrapFrame()
	if err != nil {
		return nil, err
	}
	n, err := writeBootstrap(&bootstrapv3.Bootstrap{Node: node.proto()}, nil)
	if err != nil {
		return nil, err
	}
	text := make([]byte, 0, len(fr.before)+len(n)+len(fr.after))
	text = append(append(append(text, fr.before...), n...), fr.after...)
	return newDocument(text), nil
}

// frame is envoy.yaml without its node, cut where the node goes.
type frame struct{ before, after []byte }

var bootstrapFrame = sync.OnceValues(func() (frame, error) {
	boot := Bootstrap(Node{})
	boot.Node = nil
	text, err := renderBootstrap(boot)
	if err != nil {
		return frame{}, err
	}
	at := topLevelKeyAfter(text, "node")
	return frame{before: text[:at], after: text[at:]}, nil
})

// topLevelKeyAfter is the offset of the first line of text that starts a top-level mapping key
// sorting after key (the writer sorts keys), or len(text).
func topLevelKeyAfter(text []byte, key string) int {
	for at := 0; at < len(text); {
		line := text[at:]
		if i := bytes.IndexByte(line, '\n'); i >= 0 {
			line = line[:i+1]
		}
		if k, _, ok := bytes.Cut(line, []byte(":")); ok && len(k) > 0 && k[0] != ' ' && k[0] != '-' && string(k) > key {
			return at
		}
		at += len(line)
	}
	return len(text)
}

// document assembles a file from its resources' fragments, or finds it
// assembled by an earlier render: the sidecars of a namespace share their
// outbound listeners and clusters and, when their workloads serve the same
// ports, their inbound listener, so each file is assembled and hashed once
// for them all.
func (c *Cache) document(file string, frs []*fragment) *document {
	items := func() [][]byte {
		items := make([][]byte, len(frs))
		for i, fr := range frs {
			items[i] = fr.text
		}
		return items
	}
	ids := make([]byte, 0, 8*len(frs))
	for _, fr := range frs {
		ids = binary.LittleEndian.AppendUint64(ids, fr.id)
	}
	key := docKey(file, ids)
	if d := c.lookupDoc(key); d != nil {
		return d
	}
	return c.storeDoc(key, assembleDoc(docTypeURL[file], items()))
}

func docKey(file string, parts []byte) [sha256.Size]byte {
	h := sha256.New()
	h.Write([]byte(file))
	h.Write([]byte{0})
	h.Write(parts)
	var key [sha256.Size]byte
	h.Sum(key[:0])
	return key
}

// docMemo is memoized files, their size and the order they came in; Cache.mu
// guards it.
type docMemo struct {
	byKey map[[sha256.Size]byte]*document
	order [][sha256.Size]byte
	bytes int
}

func (c *Cache) lookupDoc(key [sha256.Size]byte) *document {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.docs.byKey[key]
}

// storeDoc memoizes text, dropping the oldest files first while it would pass
// maxDocBytes.
func (c *Cache) storeDoc(key [sha256.Size]byte, text []byte) *document {
	d := newDocument(text)
	c.mu.Lock()
	defer c.mu.Unlock()
	m := &c.docs
	if m.byKey == nil {
		m.byKey = map[[sha256.Size]byte]*document{}
	}
	if stored, ok := m.byKey[key]; ok { // a concurrent render of the same file
		return stored
	}
	for len(m.order) > 0 && m.bytes+len(text) > maxDocBytes {
		m.bytes -= len(m.byKey[m.order[0]].text)
		delete(m.byKey, m.order[0])
		m.order = m.order[1:]
	}
	m.byKey[key] = d
	m.order = append(m.order, key)
	m.bytes += len(text)
	return d
}

// full reports whether adding an entry of size bytes would pass a bound.
func (c *Cache) full(size int) bool {
	return len(c.entries) >= cmp.Or(c.MaxEntries, DefaultCacheEntries) ||
		c.bytes+size > cmp.Or(c.MaxCachedBytes, DefaultCacheBytes)
}

// CachedBytes is the YAML the cache holds.
func (c *Cache) CachedBytes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes
}

// sweep drops entries not used since the last sweep, or all if every one
// was: a clock approximation of LRU, O(1) per insertion amortized.
func (c *Cache) sweep() {
	if c.dropUnused() == 0 {
		for _, fr := range c.entries {
			fr.cached = false
		}
		clear(c.entries)
		c.bytes = 0
	}
}

// SweepUnused drops the resources no render used since the previous sweep and
// returns how many it dropped; the manager calls it every few seconds. The
// bounds alone sweep only when full, so the cache could hold up to its bound
// (8 MiB) in resources earlier snapshots left behind — the clusters of
// endpoints that moved, a namespace's listeners before a rule changed — when
// those in use at 1,000 services × 2,000 pods take about 5. A resource whose
// value is in use is still found by identity (seen), and one a later render
// needs again is rendered again.
//
// A sweep with no render since the previous one drops nothing: what the last
// renders used is what the next change mostly needs again. Dropping it too
// made the first change after a quiet spell render every cluster its proxies
// see (300 at 100 services, ≈0.5 s of CPU before the first write), though
// only a route had changed. The cache's peak is reached while renders run, so
// this keeps no more than was held then.
func (c *Cache) SweepUnused() int {
	if !c.renderedSinceSweep.Swap(false) {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dropUnused()
}

// dropUnused drops the entries not used since the last sweep, marks the rest
// unused and returns how many it dropped. Callers hold c.mu.
func (c *Cache) dropUnused() int {
	before := len(c.entries)
	maps.DeleteFunc(c.entries, func(_ cacheKey, fr *fragment) bool {
		if !fr.used {
			c.bytes -= cap(fr.text)
			fr.cached = false
		}
		return !fr.used
	})
	for _, fr := range c.entries {
		fr.used = false
	}
	return before - len(c.entries)
}

// renderFragment validates r, writes it as an item of a resources sequence
// and verifies that item alone as Verify would in a document: strict
// decoding, deep validation, file references, equality. The clusters of its
// route tables are returned for the caller to check against the proxy's.
func renderFragment(file string, r named) (*fragment, error) {
	kind := kindOf(docTypeURL[file])
	if err := validate(r); err != nil {
		return nil, fmt.Errorf("%s %q: %w", kind, r.GetName(), err)
	}
	a := &anypb.Any{}
	if err := anypb.MarshalFrom(a, r, packOpts); err != nil {
		return nil, fmt.Errorf("%s %q: %w", kind, r.GetName(), err)
	}
	j, err := jsonOut.Marshal(a)
	if err != nil {
		return nil, fmt.Errorf("%s %q: %w", kind, r.GetName(), err)
	}
	text, err := jsonToYAMLItem(j)
	if err != nil {
		return nil, fmt.Errorf("%s: %s %q: %w", file, kind, r.GetName(), err)
	}

	doc := assembleDoc(docTypeURL[file], [][]byte{text})
	got, err := decodeDoc(string(doc), docTypeURL[file])
	if err != nil {
		return nil, fmt.Errorf("verify: %s: %s %q: %w", file, kind, r.GetName(), err)
	}
	ch := &checker{files: fileSet(), secrets: sdsSecret}
	if len(got) != 1 {
		return nil, fmt.Errorf("verify: %s: %s %q: decoded %d resources", file, kind, r.GetName(), len(got))
	}
	if err := ch.check(got[0], nil); err != nil {
		return nil, fmt.Errorf("verify: %s: %s %q: %w", file, kind, r.GetName(), err)
	}
	if err := sameMessage(r, got[0]); err != nil {
		return nil, fmt.Errorf("verify: %s: %s %q: %w", file, kind, r.GetName(), err)
	}
	// Kept for as long as its resource lives: an exact-size copy, not the writer's buffer, which
	// grows as it is written (5% spare for the clusters of BenchmarkRender, up to a quarter when
	// the estimate from the JSON's size falls short).
	return &fragment{text: bytes.Clone(text), refs: ch.refs}, nil
}

// renderBootstrap writes and verifies envoy.yaml.
func renderBootstrap(boot *bootstrapv3.Bootstrap) ([]byte, error) {
	return writeBootstrap(boot, checkBootstrapSources)
}

// writeBootstrap writes boot, or part of a bootstrap, and verifies it: strict decoding, deep
// validation, file references, equality, and sources (when not nil) on what was decoded.
func writeBootstrap(boot *bootstrapv3.Bootstrap, sources func(*bootstrapv3.Bootstrap) error) ([]byte, error) {
	if err := boot.ValidateAll(); err != nil {
		return nil, err
	}
	y, err := toYAML(boot)
	if err != nil {
		return nil, err
	}
	got := &bootstrapv3.Bootstrap{}
	if err := decode(string(y), got); err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	if sources != nil {
		if err := sources(got); err != nil {
			return nil, fmt.Errorf("verify: %w", err)
		}
	}
	ch := &checker{files: fileSet(), secrets: sdsSecret, clusters: staticClusterNames()}
	if err := ch.check(got, nil); err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	if err := sameMessage(boot, got); err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	return y, nil
}

// assembleDoc is discoveryDoc from items already written: the writer
// emits "resources:" then the items at column 0, then type_url.
func assembleDoc(typeURL string, items [][]byte) []byte {
	var b bytes.Buffer
	size := 64 + len(typeURL)
	for _, it := range items {
		size += len(it)
	}
	b.Grow(size) // a file can be a megabyte: growing by doubling would copy it over and again
	if len(items) > 0 {
		b.WriteString("resources:\n")
		for _, it := range items {
			b.Write(it)
		}
	}
	b.WriteString("type_url: ")
	b.Write(appendScalarString(nil, typeURL))
	b.WriteByte('\n')
	body := b.Bytes()
	return fmt.Appendf(body, "version_info: %s\n", strconv.Quote(contentHash(body)))
}

func fileSet() map[string]string {
	m := make(map[string]string, 5)
	for _, f := range FileNames() {
		m[f] = ""
	}
	return m
}
