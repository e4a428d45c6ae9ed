package translate_test

import (
	"sync"
	"testing"

	"github.com/mizzen-mesh/mizzen/internal/mesh"
	"github.com/mizzen-mesh/mizzen/internal/translate"
)

// TestConcurrentProxies: proxies of one snapshot translated at once (sharing its memoized work)
// get exactly what they get one at a time from a fresh snapshot.
func TestConcurrentProxies(t *testing.T) {
	c := loadCase(t, "testdata/dr-locality.in.yaml")
	snap := mesh.New(c.in)
	want := make([][]byte, len(snap.Pods))
	for i, p := range snap.Pods {
		res, ps := translate.Translate(mesh.New(c.in), mesh.ProxyFor(p, mesh.Sidecar))
		want[i] = render(t, res, ps)
	}
	got := make([][]byte, len(snap.Pods))
	var wg sync.WaitGroup
	for i, p := range snap.Pods {
		wg.Go(func() {
			res, ps := translate.Translate(snap, mesh.ProxyFor(p, mesh.Sidecar))
			got[i] = render(t, res, ps)
		})
	}
	wg.Wait()
	for i := range want {
		if string(got[i]) != string(want[i]) {
			t.Errorf("proxy %s: concurrent translation differs", snap.Pods[i].Name)
		}
	}
}
