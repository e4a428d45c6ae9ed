package translate_test

import (
	"testing"

	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"

	"github.com/mizzen-mesh/mizzen/internal/mesh"
	"github.com/mizzen-mesh/mizzen/internal/translate"
)

// TestInboundListenerSharedByWorkloadPorts: the sidecars of one snapshot whose workloads serve the
// same ports get one inbound listener object (rendered once, not once per proxy); a workload with
// other ports gets its own.
func TestInboundListenerSharedByWorkloadPorts(t *testing.T) {
	in := mesh.Input{}
	addBenchServices(&in, 3, "shop", 0, "")
	// svc-0002 serves another port.
	in.Services[2].Spec.Ports[0].Port = 9090
	port := int32(9090)
	in.EndpointSlices[2].Ports[0].Port = &port
	snap := mesh.New(in)

	inbound := func(pod *mesh.Pod) *listenerv3.Listener {
		res, problems := translate.Translate(snap, mesh.ProxyFor(pod, mesh.Sidecar))
		if len(problems) > 0 {
			t.Fatalf("problems: %v", problems)
		}
		for _, l := range res.Listeners {
			if l.GetName() == translate.VirtualInboundListener {
				return l
			}
		}
		t.Fatalf("proxy %s has no %s listener", pod.Name, translate.VirtualInboundListener)
		return nil
	}
	byName := map[string]*listenerv3.Listener{}
	for _, p := range snap.Pods {
		byName[p.Name] = inbound(p)
	}
	if byName["svc-0000-v1"] != byName["svc-0001-v2"] || byName["svc-0000-v1"] != byName["svc-0000-v2"] {
		t.Error("sidecars of workloads with the same ports got different inbound listener objects")
	}
	if byName["svc-0002-v1"] == byName["svc-0000-v1"] {
		t.Error("a workload serving port 9090 got the inbound listener of port 8080")
	}
	if byName["svc-0002-v1"] != byName["svc-0002-v2"] {
		t.Error("the two versions of svc-0002 got different inbound listener objects")
	}
}
