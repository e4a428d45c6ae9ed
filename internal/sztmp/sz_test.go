package sz
import (
	"encoding/json"
	"fmt"
	"runtime"
	"testing"
	"time"
	v1 "github.com/mizzen-mesh/mizzen/api/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"sigs.k8s.io/yaml"
)
func TestDecode(t *testing.T) {
	sch := k8sruntime.NewScheme(); _ = v1.AddToScheme(sch)
	dec := serializer.NewCodecFactory(sch).UniversalDeserializer()
	vs := &v1.VirtualService{}
	if err := yaml.UnmarshalStrict([]byte(`
apiVersion: networking.mizzen.dev/v1alpha1
kind: VirtualService
metadata: {name: svc-0123, namespace: mesh-scale-3, uid: 0b7c1f0e-8a9d-4d1e-9c55-3f0e8c2b7a11, resourceVersion: "123456", generation: 1, creationTimestamp: "2026-11-28T12:00:00Z",
  managedFields: [{manager: scale, operation: Update, apiVersion: networking.mizzen.dev/v1alpha1, time: "2026-11-28T12:00:00Z", fieldsType: FieldsV1, fieldsV1: {"f:spec": {"f:hosts": {}, "f:http": {}}}},
                  {manager: mizzen, operation: Update, apiVersion: networking.mizzen.dev/v1alpha1, time: "2026-11-28T12:00:00Z", fieldsType: FieldsV1, subresource: status, fieldsV1: {"f:status": {"f:conditions": {}, "f:canary": {}}}}]}
spec:
  hosts: [svc-0123]
  http:
  - route:
    - {destination: {host: svc-0123, subset: v1}, weight: 90}
    - {destination: {host: svc-0123, subset: v2}, weight: 10}
`), vs); err != nil { t.Fatal(err) }
	now := metav1.NewTime(time.Now())
	for _, c := range []string{"Accepted", "ResolvedRefs", "Progressing", "Ready"} {
		vs.Status.Conditions = append(vs.Status.Conditions, metav1.Condition{Type: c, Status: "True", Reason: c, Message: "100/100 proxies carry generation 1 of this VirtualService", ObservedGeneration: 1, LastTransitionTime: now})
	}
	vs.Status.ObservedGeneration = 1
	vs.Status.Canary = &v1.CanaryStatus{Weights: map[string]int32{"svc-0123/v1": 90, "svc-0123/v2": 10}, WeightsSummary: "v1 90, v2 10", Proxies: v1.ProxyCounts{Total: 100, Updated: 100}, UpdatedSummary: "100/100"}
	spec, _ := json.Marshal(vs.Spec)
	vs.Status.RolledOut = &v1.RolledOutSpec{Generation: 1, Spec: k8sruntime.RawExtension{Raw: spec}}
	raw, _ := json.Marshal(vs)
	t.Logf("json %d bytes", len(raw))
	keep := make([]k8sruntime.Object, 2000)
	var a, b runtime.MemStats
	runtime.GC(); runtime.ReadMemStats(&a)
	for i := range keep {
		o, _, err := dec.Decode(raw, nil, nil)
		if err != nil { t.Fatal(err) }
		o.(*v1.VirtualService).ManagedFields = nil
		keep[i] = o
	}
	runtime.GC(); runtime.ReadMemStats(&b)
	fmt.Printf("per object retained %d bytes, allocated %d\n", (b.HeapAlloc-a.HeapAlloc)/2000, (b.TotalAlloc-a.TotalAlloc)/2000)
	runtime.KeepAlive(keep)
}
