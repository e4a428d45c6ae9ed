package scale

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/mizzen-mesh/mizzen/api/v1alpha1"
	"github.com/mizzen-mesh/mizzen/internal/mesh"
)

// The benchmark's pure helpers, tested without a cluster (go test ./test/scale runs these only).

func TestParseMetrics(t *testing.T) {
	m, err := parseMetrics(strings.NewReader(`# HELP mizzen_proxy_config_writes_total Writes.
# TYPE mizzen_proxy_config_writes_total counter
mizzen_proxy_config_writes_total{operation="create"} 100
mizzen_proxy_config_writes_total{operation="update"} 250
mizzen_proxy_config_written_bytes_total 1.2345e+07
workqueue_depth{controller="proxy",name="proxy"} 3
workqueue_depth{controller="virtualservice-status",name="virtualservice-status"} 7
label_with_brace{path="/a}b"} 1
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{configWrites, nil, 350},
		{configWrites, []string{`operation="update"`}, 250},
		{configBytes, nil, 12345000},
		{queueDepth, []string{proxyController}, 3},
		{queueDepth, nil, 10},
		{"label_with_brace", nil, 1},
		{"absent", nil, 0},
	} {
		if got := m.sum(c.name, c.labels...); got != c.want {
			t.Errorf("sum(%s, %v) = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if _, err := parseMetrics(strings.NewReader("no_value\n")); err == nil {
		t.Error("a line without a value was accepted")
	}
	if _, err := parseMetrics(strings.NewReader("x{a=\"b\"} many\n")); err == nil {
		t.Error("a non-numeric value was accepted")
	}
}

func TestProxyIdle(t *testing.T) {
	busy := metrics{`workqueue_depth{controller="proxy",name="proxy"}`: 0, `controller_runtime_active_workers{controller="proxy"}`: 2}
	if busy.proxyIdle() {
		t.Error("idle with 2 active workers")
	}
	idle := metrics{`workqueue_depth{controller="proxy",name="proxy"}`: 0, `controller_runtime_active_workers{controller="proxy"}`: 0,
		`workqueue_depth{controller="gateway-status",name="gateway-status"}`: 4}
	if !idle.proxyIdle() {
		t.Error("busy because of another controller's queue")
	}
}

func TestWriteWindow(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	d, n := writeWindow([]writeSample{{at(0), 10}, {at(200), 10}, {at(400), 40}, {at(600), 110}, {at(800), 110}, {at(1000), 110}})
	if d != 400*time.Millisecond || n != 100 {
		t.Errorf("window = %s, %v writes; want 400ms, 100", d, n)
	}
	if d, n := writeWindow([]writeSample{{at(0), 5}, {at(200), 5}}); d != 0 || n != 0 {
		t.Errorf("no writes: window = %s, %v; want 0, 0", d, n)
	}
	if d, n := writeWindow(nil); d != 0 || n != 0 {
		t.Errorf("no samples: window = %s, %v; want 0, 0", d, n)
	}
}

func TestReplicas(t *testing.T) {
	s := meshSize{services: 3, pods: 11} // 4, 4, 3 pods
	total := 0
	for i := range s.services {
		v1Pods, v2Pods := s.replicas(i)
		if v1Pods < 1 || v2Pods < 1 || v1Pods-v2Pods > 1 || v2Pods > v1Pods {
			t.Errorf("service %d: v1 %d, v2 %d pods; want halves, v1 taking the odd one", i, v1Pods, v2Pods)
		}
		total += v1Pods + v2Pods
	}
	if total != s.pods {
		t.Errorf("%d pods in all, want %d", total, s.pods)
	}
}

func TestMeshNamespaces(t *testing.T) {
	one := meshSize{services: 4, pods: 10, namespaces: 1}
	if got := one.meshNamespaces(); len(got) != 1 || got[0] != meshNamespace || one.watchNamespace() != meshNamespace {
		t.Errorf("one namespace: %v, watching %q; want [%s]", got, one.watchNamespace(), meshNamespace)
	}
	if one.shapedBy(3) != 10 {
		t.Errorf("unscoped: service 3 shapes %d proxies, want all 10", one.shapedBy(3))
	}
	// 5 services over 2 namespaces: svc-0, 2, 4 in mesh-scale-0 (3+3+2 pods), svc-1, 3 in mesh-scale-1 (3+2).
	spread := meshSize{services: 5, pods: 13, namespaces: 2, scoped: true}
	if spread.namespace(4) != "mesh-scale-0" || spread.namespace(3) != "mesh-scale-1" || spread.watchNamespace() != "" {
		t.Errorf("namespaces of svc-4, svc-3: %s, %s; watching %q", spread.namespace(4), spread.namespace(3), spread.watchNamespace())
	}
	if a, b := spread.shapedBy(0), spread.shapedBy(1); a != 8 || b != 5 {
		t.Errorf("scoped: services 0 and 1 shape %d and %d proxies, want 8 and 5 (their namespaces' pods)", a, b)
	}
	if !spread.inMesh("mesh-scale-1") || spread.inMesh("bare-writes") || spread.inMesh("default") {
		t.Error("inMesh does not tell the mesh's namespaces from the others")
	}
	unscoped := spread
	unscoped.scoped = false
	if unscoped.shapedBy(1) != 13 {
		t.Errorf("unscoped over 2 namespaces: service 1 shapes %d proxies, want all 13", unscoped.shapedBy(1))
	}
	dep := spread.deployment(1, "v1", 3)
	if dep.Namespace != "mesh-scale-1" || dep.Spec.Template.Annotations[mesh.EgressHostsAnnotation] != "./*" {
		t.Errorf("scoped deployment: namespace %s, template annotations %v", dep.Namespace, dep.Spec.Template.Annotations)
	}
	if one.deployment(1, "v1", 3).Spec.Template.Annotations != nil {
		t.Error("unscoped deployment carries annotations")
	}
}

func TestRolledOut(t *testing.T) {
	vs := virtualService(meshNamespace, 0, 90, 10)
	vs.Generation = 2
	ready := func(status metav1.ConditionStatus, reason string, gen int64, updated, total int32) {
		vs.Status.Conditions = []metav1.Condition{{Type: v1.ConditionReady, Status: status, Reason: reason, ObservedGeneration: gen}}
		vs.Status.Canary = &v1.CanaryStatus{Proxies: v1.ProxyCounts{Total: total, Updated: updated}}
	}
	ready(metav1.ConditionTrue, v1.ReasonReady, 2, 5, 5)
	if !rolledOut(vs, 2, 5) {
		t.Error("Ready 5/5 at generation 2 is not rolled out")
	}
	for name, c := range map[string]func(){
		"older generation": func() { ready(metav1.ConditionTrue, v1.ReasonReady, 1, 5, 5) },
		"rolling out":      func() { ready(metav1.ConditionFalse, v1.ReasonRollingOut, 2, 3, 5) },
		"no proxies":       func() { ready(metav1.ConditionTrue, v1.ReasonNoProxies, 2, 0, 0) },
		"fewer proxies":    func() { ready(metav1.ConditionTrue, v1.ReasonReady, 2, 4, 4) },
	} {
		c()
		if rolledOut(vs, 2, 5) {
			t.Errorf("%s: counted as rolled out", name)
		}
	}
}

func TestChangedHashes(t *testing.T) {
	before := map[string]string{"a": "h1", "b": "h1", "c": "h1"}
	after := map[string]string{"a": "h2", "b": "h1", "c": "", "d": "h3"}
	if got := changedHashes(before, after); got != 2 { // a changed, d is new; c lost its hash
		t.Errorf("changedHashes = %d, want 2", got)
	}
}
