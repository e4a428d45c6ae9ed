package translate_test

import (
	"sync"
	"testing"

	"github.com/mizzen-mesh/mizzen/internal/mesh"
	"github.com/mizzen-mesh/mizzen/internal/translate"
	"github.com/mizzen-mesh/mizzen/internal/validate"
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

func TestProblemObject(t *testing.T) {
	kind, ns, name, field := translate.ProblemObject(validate.Problem{Field: "VirtualService default/reviews spec.http[0].fault"})
	if kind != "VirtualService" || ns != "default" || name != "reviews" || field != "spec.http[0].fault" {
		t.Errorf("got %q %q %q %q", kind, ns, name, field)
	}
	kind, ns, name, field = translate.ProblemObject(validate.Problem{Field: "Listener 0.0.0.0_80"})
	if kind != "Listener" || ns != "" || name != "" || field != "0.0.0.0_80" {
		t.Errorf("got %q %q %q %q", kind, ns, name, field)
	}
}
