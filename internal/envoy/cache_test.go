package envoy

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"unsafe"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	"google.golang.org/protobuf/proto"
)

// The cache's output is Render's, byte for byte, whether it misses or hits,
// and whatever the input order.
func TestCacheMatchesRender(t *testing.T) {
	scaleL, scaleC := scaleConfig(50)
	c := &Cache{}
	for name, in := range map[string]struct {
		ls []*listenerv3.Listener
		cs []*clusterv3.Cluster
	}{
		"basic": {testListeners(), testClusters()},
		"empty": {nil, nil},
		"scale": {scaleL, scaleC},
	} {
		t.Run(name, func(t *testing.T) {
			want := mustRender(t, testNode(), in.ls, in.cs)
			for i := range 3 {
				ls, cs := slices.Clone(in.ls), slices.Clone(in.cs)
				if i == 2 {
					slices.Reverse(ls)
					slices.Reverse(cs)
				}
				got, err := c.Render(testNode(), ls, cs)
				if err != nil {
					t.Fatalf("Cache.Render #%d: %v", i, err)
				}
				if got.Hash != want.Hash {
					t.Errorf("Cache.Render #%d: hash %s, Render %s", i, got.Hash, want.Hash)
				}
				for file := range want.Data {
					if got.Data[file] != want.Data[file] {
						t.Errorf("Cache.Render #%d: %s differs from Render's", i, file)
					}
				}
				if err := Verify(got); err != nil {
					t.Errorf("Verify(Cache.Render): %v", err)
				}
			}
		})
	}
}

// The cache refuses what Render refuses, with the same messages, even when
// the resources were cached by an earlier, valid render.
func TestCacheErrors(t *testing.T) {
	c := &Cache{}
	if _, err := c.Render(testNode(), testListeners(), testClusters()); err != nil {
		t.Fatal(err)
	}
	for name, tc := range renderErrorCases() {
		t.Run(name, func(t *testing.T) {
			f, err := c.Render(tc.node, tc.listeners, tc.clusters)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Cache.Render: %v, want an error containing %q", err, tc.want)
			}
			if f != nil {
				t.Fatalf("Cache.Render returned files with an error")
			}
		})
	}
	f := mustRender(t, testNode(), testListeners(), testClusters())
	size := 0
	for _, cm := range f.ConfigMaps() {
		size = max(size, dataSize(cm.Data))
	}
	_, err := (&Cache{Renderer: Renderer{MaxBytes: size - 1}}).Render(testNode(), testListeners(), testClusters())
	var se *SizeError
	if !errors.As(err, &se) || se.Size != size {
		t.Errorf("Cache.Render over the limit: %v, want a *SizeError of %d bytes", err, size)
	}
}

// Sweeps keep the bound and never leave a memoized file behind that its
// re-rendered resources no longer make: the output stays Render's.
func TestCacheBounded(t *testing.T) {
	c := &Cache{MaxEntries: 20}
	for round := range 2 {
		for i := range 5 {
			ls, cs := scaleConfig(10 * (i + 1))
			got, err := c.Render(testNode(), ls, cs)
			if err != nil {
				t.Fatal(err)
			}
			if n := c.Len(); n > 20 {
				t.Fatalf("render %d: %d entries, bound 20", i, n)
			}
			want := mustRender(t, testNode(), ls, cs)
			if got.Hash != want.Hash || !maps.Equal(got.Data, want.Data) {
				t.Fatalf("round %d, render %d: Cache.Render differs from Render", round, i)
			}
		}
	}
}

// Proxies with the same clusters and listeners share one cds.yaml and one
// lds.yaml: each assembled once, the same string in both configs.
func TestCacheSharesFiles(t *testing.T) {
	c := &Cache{}
	// One snapshot's objects, as translate hands them to the proxies that share them.
	listeners, clusters := testListeners(), testClusters()
	a, err := c.Render(testNode(), listeners, clusters)
	if err != nil {
		t.Fatal(err)
	}
	other := testNode()
	other.ID = "p-other"
	b, err := c.Render(other, listeners, clusters)
	if err != nil {
		t.Fatal(err)
	}
	if unsafe.StringData(a.Data[CDSFile]) != unsafe.StringData(b.Data[CDSFile]) {
		t.Error("two proxies with the same clusters got cds.yaml assembled twice")
	}
	if unsafe.StringData(a.Data[LDSFile]) != unsafe.StringData(b.Data[LDSFile]) {
		t.Error("two proxies with the same listeners got lds.yaml assembled twice")
	}
	if a.Data[BootstrapFile] == b.Data[BootstrapFile] || a.Hash == b.Hash {
		t.Error("two nodes got the same bootstrap")
	}
}

// The bytes bound holds whatever the entries' sizes, the accounting matches the entries, and a
// render that sweeps still renders what the uncached renderer does.
func TestCacheBoundedByBytes(t *testing.T) {
	const bound = 64 << 10
	c := &Cache{MaxCachedBytes: bound}
	for i := range 6 {
		ls, cs := scaleConfig(40 * (i + 1))
		got, err := c.Render(testNode(), ls, cs)
		if err != nil {
			t.Fatal(err)
		}
		if want := mustRender(t, testNode(), ls, cs); got.Hash != want.Hash {
			t.Fatalf("render %d: hash %s, uncached %s", i, got.Hash, want.Hash)
		}
		held := 0
		c.mu.Lock()
		for _, fr := range c.entries {
			held += cap(fr.text)
		}
		c.mu.Unlock()
		if n := c.CachedBytes(); n != held || n > bound {
			t.Fatalf("render %d: %d bytes counted, %d held, bound %d", i, n, held, bound)
		}
	}
	if c.Len() == 0 {
		t.Error("the cache kept nothing")
	}
}

// Run with -race: concurrent renders share the cache.
func TestCacheConcurrent(t *testing.T) {
	c := &Cache{MaxEntries: 30}
	want := mustRender(t, testNode(), testListeners(), testClusters())
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 10 {
				got, err := c.Render(testNode(), testListeners(), testClusters())
				if err != nil || got.Hash != want.Hash {
					t.Errorf("Cache.Render: %v, hash %v want %s", err, got, want.Hash)
					return
				}
				ls, cs := scaleConfig(20)
				if _, err := c.Render(testNode(), ls, cs); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// scaleClone copies resources: values equal to the originals, not the same objects (as the next
// snapshot's translation builds them).
func scaleClone[T proto.Message](rs []T) []T {
	out := make([]T, len(rs))
	for i, r := range rs {
		out[i] = proto.Clone(r).(T)
	}
	return out
}

// Workers rendering proxies that share new resources at once (each proxy with clusters of its own,
// equal in content, as after a change) render each resource once: the others wait for it.
// (Listeners are shared objects here, as translate shares them: a listener of one proxy alone is
// rendered for it.)
func TestCacheRendersSharedResourcesOnce(t *testing.T) {
	once := &Cache{}
	ls, cs := scaleConfig(100)
	if _, err := once.Render(testNode(), ls, cs); err != nil {
		t.Fatal(err)
	}
	c := &Cache{}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		_, cs := scaleConfig(100) // clusters of this worker's own
		wg.Go(func() {
			<-start
			if _, err := c.Render(testNode(), ls, cs); err != nil {
				t.Error(err)
			}
		})
	}
	close(start)
	wg.Wait()
	if c.nextID != once.nextID {
		t.Errorf("8 concurrent proxies rendered %d resources, one proxy %d", c.nextID, once.nextID)
	}
	if len(c.rendering) != 0 {
		t.Errorf("%d renders still marked under way", len(c.rendering))
	}
}

// A cached listener is checked against each proxy's own clusters.
func TestCacheChecksRoutesPerProxy(t *testing.T) {
	c := &Cache{}
	if _, err := c.Render(testNode(), testListeners(), testClusters()); err != nil {
		t.Fatal(err)
	}
	cs := slices.DeleteFunc(testClusters(), func(c *clusterv3.Cluster) bool { return strings.Contains(c.GetName(), "|v2|") })
	_, err := c.Render(testNode(), testListeners(), cs)
	want := `lds.yaml: listener "0.0.0.0_9080": filter_chains[0].filters[0].typed_config<envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager>: route_config "9080": virtual host "reviews.default.svc.cluster.local:9080": route #0 ("reviews.default"): unknown cluster "outbound|9080|v2|reviews.default.svc.cluster.local"`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Cache.Render: %v\nwant an error containing %s", err, want)
	}
	if _, err := Render(testNode(), testListeners(), cs); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Render: %v\nwant an error containing %s", err, want)
	}
}

// A resource equal to one rendered before under another identity (the same cluster in a new
// snapshot) is remembered by its own identity too, so the next proxy sharing it skips marshalling.
func TestCacheRemembersEqualResources(t *testing.T) {
	c := &Cache{}
	if _, err := c.Render(testNode(), testListeners(), testClusters()); err != nil {
		t.Fatal(err)
	}
	again := testClusters() // equal content, new values
	if _, err := c.Render(testNode(), testListeners(), again); err != nil {
		t.Fatal(err)
	}
	for _, cl := range again {
		if c.seenBefore(cl) == nil {
			t.Errorf("cluster %s, rendered by content, is not found by identity", cl.GetName())
		}
	}
}

// A listener is kept by content once a second proxy shares its value; each proxy's own (its
// inbound listener) never is, so what proxies keep to themselves cannot crowd out what they share.
func TestCacheKeepsListenersProxiesShare(t *testing.T) {
	c := &Cache{}
	shared, clusters := testListeners(), testClusters()
	const inbound = 2 // virtualInbound: each proxy's own value
	if shared[inbound].Name != "virtualInbound" {
		t.Fatalf("listener %d is %q, want virtualInbound", inbound, shared[inbound].Name)
	}
	for i := range 5 {
		ls := slices.Clone(shared)
		ls[inbound] = testListeners()[inbound]
		ls[inbound].FilterChains[0].Name = fmt.Sprintf("inbound|9080||-%d", i)
		node := testNode()
		node.ID = fmt.Sprintf("p-%d", i)
		got, err := c.Render(node, ls, clusters)
		if err != nil {
			t.Fatal(err)
		}
		if want := mustRender(t, node, ls, clusters); got.Hash != want.Hash || !maps.Equal(got.Data, want.Data) {
			t.Fatalf("proxy %d: Cache.Render differs from Render", i)
		}
	}
	kept := 0
	for key, fr := range c.entries {
		if key.typeURL == docTypeURL[LDSFile] {
			kept++
			if strings.Contains(string(fr.text), "virtualInbound") {
				t.Error("a proxy's own inbound listener is kept by content")
			}
		}
	}
	if want := len(shared) - 1; kept != want {
		t.Errorf("%d listeners kept by content, want the %d the proxies share", kept, want)
	}
}

// envoy.yaml is assembled from a frame rendered once and each proxy's node: byte for byte the
// bootstrap Render writes whole, for nodes with and without their optional parts and with strings
// YAML must quote or escape.
func TestCacheBootstrapMatchesRender(t *testing.T) {
	c := &Cache{}
	odd := testNode()
	odd.ID, odd.Cluster = "p: x", "a\n\"b\" #c"
	odd.Metadata = map[string]string{"LABELS": "{\"app\": \"-x\"}", "aaa": "", "zzz": "ünïcode\ttab", "node": "yes"}
	for name, n := range map[string]Node{
		"full":        testNode(),
		"minimal":     {ID: "p-1"},
		"no metadata": {ID: "p-2", Cluster: "c", Locality: Locality{Region: "r", Zone: "z", SubZone: "s"}},
		"odd strings": odd,
	} {
		t.Run(name, func(t *testing.T) {
			want := mustRender(t, n, nil, nil)
			got, err := c.Render(n, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got.Data[BootstrapFile] != want.Data[BootstrapFile] {
				t.Errorf("envoy.yaml differs from Render's:\n%s\nwant:\n%s", got.Data[BootstrapFile], want.Data[BootstrapFile])
			}
			if err := Verify(got); err != nil {
				t.Errorf("Verify: %v", err)
			}
		})
	}
}

// The memoized files stay within maxDocBytes, the oldest dropped first: the newest file is
// still found, the first ones are not.
func TestCacheDocMemoDropsOldest(t *testing.T) {
	c := &Cache{}
	const size = 300 << 10
	keys := make([][32]byte, 0, 2*maxDocBytes/size)
	for i := range cap(keys) {
		key := docKey("cds.yaml", []byte{byte(i)})
		keys = append(keys, key)
		c.storeDoc(key, make([]byte, size))
		if c.docs.bytes > maxDocBytes {
			t.Fatalf("after %d files: %d bytes memoized, bound %d", i+1, c.docs.bytes, maxDocBytes)
		}
	}
	if c.lookupDoc(keys[len(keys)-1]) == nil {
		t.Error("the newest file was dropped")
	}
	if c.lookupDoc(keys[0]) != nil {
		t.Error("the oldest file is still memoized past the bound")
	}
	if len(c.docs.byKey) != len(c.docs.order) {
		t.Errorf("%d files memoized, %d in order", len(c.docs.byKey), len(c.docs.order))
	}
}

// SweepUnused drops what no render used since the previous sweep and keeps what one did: after
// a render of 10 services' config and one of 40, a sweep keeps both; a render of the 10 alone
// and another sweep drop the 40's own resources, a sweep with no render between drops the rest,
// and a render of the 40 after that still matches Render.
func TestCacheSweepUnused(t *testing.T) {
	c := &Cache{}
	smallL, smallC := scaleConfig(10)
	bigL, bigC := scaleConfig(40)
	for _, cfg := range []struct {
		ls []*listenerv3.Listener
		cs []*clusterv3.Cluster
	}{{smallL, smallC}, {bigL, bigC}} {
		if _, err := c.Render(testNode(), cfg.ls, cfg.cs); err != nil {
			t.Fatal(err)
		}
	}
	all := c.Len()
	if n := c.SweepUnused(); n != 0 {
		t.Errorf("first sweep dropped %d resources every render had used", n)
	}
	if _, err := c.Render(testNode(), smallL, smallC); err != nil {
		t.Fatal(err)
	}
	if n := c.SweepUnused(); n == 0 || c.Len() >= all || c.Len() == 0 {
		t.Errorf("second sweep dropped %d of %d resources, %d left; want those of the 40-service config alone dropped", n, all, c.Len())
	}
	// Quiet: what the last render used stays for the next change.
	kept, keptBytes := c.Len(), c.CachedBytes()
	for range 3 {
		if n := c.SweepUnused(); n != 0 || c.Len() != kept || c.CachedBytes() != keptBytes {
			t.Fatalf("a sweep with no render since the last dropped %d resources (%d left of %d, %d bytes of %d)",
				n, c.Len(), kept, c.CachedBytes(), keptBytes)
		}
	}
	// The next render finds them all cached: it renders nothing.
	before := c.nextID
	if _, err := c.Render(testNode(), scaleClone(smallL), scaleClone(smallC)); err != nil {
		t.Fatal(err)
	}
	if c.nextID != before {
		t.Errorf("the first render after a quiet spell rendered %d resources again", c.nextID-before)
	}
	ls, cs := scaleConfig(40)
	got, err := c.Render(testNode(), ls, cs)
	if err != nil {
		t.Fatal(err)
	}
	want := mustRender(t, testNode(), ls, cs)
	if got.Hash != want.Hash || !maps.Equal(got.Data, want.Data) {
		t.Error("a render after the sweep differs from Render")
	}
}
