// Package translate turns the mesh (a mesh.Snapshot) into one proxy's Envoy configuration, doing
// for a sidecar what istiod does, with Istio's names and ports. It is pure and deterministic: no
// client, clock or logging, and the same snapshot and proxy always give the same resources in the
// same order. Work shared by all proxies (outbound clusters) is memoized in the snapshot.
//
// Resources may share messages with other proxies' Resources of the same snapshot: treat them as
// read-only.
package translate

import (
	"cmp"
	"fmt"
	"slices"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"

	"github.com/mizzen-mesh/mizzen/internal/mesh"
	"github.com/mizzen-mesh/mizzen/internal/validate"
)

// Resources is one proxy's dynamic Envoy configuration, sorted by name.
type Resources struct {
	Listeners []*listenerv3.Listener // routes inlined in each HCM's route_config (file-based xDS has no RDS file)
	Clusters  []*clusterv3.Cluster   // endpoints inline in load_assignment (STATIC), or ORIGINAL_DST/passthrough where needed
}

// Reasons of the problems Translate reports. Problem.Field starts with the object it is about,
// "VirtualService default/reviews spec.http[0].fault", so a status reconciler can route it.
const (
	ReasonUnsupported      = "Unsupported"      // accepted by the API, not translated (yet)
	ReasonHostNotFound     = "HostNotFound"     // a destination host is no service of the mesh
	ReasonSubsetNotFound   = "SubsetNotFound"   // a destination subset is not in the DestinationRule
	ReasonDelegateNotFound = "DelegateNotFound" // a delegate VirtualService does not exist
	ReasonInvalidConfig    = "InvalidConfig"    // the Envoy config built from a rule did not validate
	ReasonConflictingHost  = mesh.ReasonConflictingHost
)

// Istio's cluster and listener names.
const (
	PassthroughCluster        = "PassthroughCluster"
	BlackHoleCluster          = "BlackHoleCluster"
	InboundPassthroughCluster = "InboundPassthroughCluster"
	VirtualOutboundListener   = "virtualOutbound"
	VirtualInboundListener    = "virtualInbound"

	OutboundPort   = 15001
	InboundPort    = 15006
	HealthPort     = 15021
	PrometheusPort = 15090
)

// OutboundClusterName is Istio's outbound|<port>|<subset>|<host>.
func OutboundClusterName(port int32, subset, host string) string {
	return fmt.Sprintf("outbound|%d|%s|%s", port, subset, host)
}

// InboundClusterName is Istio's inbound|<port>||.
func InboundClusterName(port int32) string { return fmt.Sprintf("inbound|%d||", port) }

// translator holds one Translate call's state.
type translator struct {
	snap     *mesh.Snapshot
	proxy    mesh.Proxy
	problems []validate.Problem
	clusters map[string]*clusterv3.Cluster
	vsIndex  *mesh.VirtualServiceIndex
	// reported dedupes per-object problem lists already added (rules used by several ports).
	reported map[any]bool
}

// Translate builds the Envoy config of proxy from snap, and the problems met on the way: rules or
// fields not translated, unknown hosts and subsets, host conflicts. Output is sorted by name.
func Translate(snap *mesh.Snapshot, proxy mesh.Proxy) (Resources, []validate.Problem) {
	t := &translator{snap: snap, proxy: proxy, clusters: map[string]*clusterv3.Cluster{}, reported: map[any]bool{}}
	var listeners []*listenerv3.Listener
	switch proxy.Kind {
	case mesh.Gateway:
		t.problems = append(t.problems, validate.Problem{
			Field: "Proxy " + proxy.Namespace + "/" + proxy.ID, Reason: ReasonUnsupported,
			Message: "gateway proxies are not translated yet; only the stats and health listeners are served",
		})
	default:
		t.vsIndex = snap.SidecarVirtualServices(proxy.Namespace)
		t.problems = append(t.problems, t.vsIndex.Problems...)
		t.addOutboundClusters()
		listeners = append(listeners, t.outboundListeners()...)
		listeners = append(listeners, t.virtualOutboundListener())
		if l := t.inboundListener(); l != nil {
			listeners = append(listeners, l)
		}
	}
	listeners = append(listeners, t.healthListener(), t.prometheusListener())
	t.addCluster(passthroughCluster())
	t.addCluster(blackHoleCluster())
	if proxy.Kind != mesh.Gateway {
		t.addCluster(inboundPassthroughCluster())
	}

	res := Resources{Listeners: make([]*listenerv3.Listener, 0, len(listeners)), Clusters: make([]*clusterv3.Cluster, 0, len(t.clusters))}
	for _, l := range listeners {
		if err := l.ValidateAll(); err != nil {
			t.problems = append(t.problems, validate.Problem{Field: "Listener " + l.GetName(), Reason: ReasonInvalidConfig,
				Message: fmt.Sprintf("listener dropped: %v", err)})
			continue
		}
		res.Listeners = append(res.Listeners, l)
	}
	for _, c := range t.clusters {
		res.Clusters = append(res.Clusters, c)
	}
	slices.SortFunc(res.Listeners, func(a, b *listenerv3.Listener) int { return cmp.Compare(a.GetName(), b.GetName()) })
	slices.SortFunc(res.Clusters, func(a, b *clusterv3.Cluster) int { return cmp.Compare(a.GetName(), b.GetName()) })
	return res, t.sortedProblems()
}

// addCluster adds c unless a cluster of its name is there (the first one wins).
func (t *translator) addCluster(c *clusterv3.Cluster) {
	if _, ok := t.clusters[c.GetName()]; !ok {
		t.clusters[c.GetName()] = c
	}
}

// hasCluster reports whether the proxy gets a cluster of that name.
func (t *translator) hasCluster(name string) bool {
	_, ok := t.clusters[name]
	return ok
}

// report records a problem about an object: field is the path inside it.
func (t *translator) report(kind, ns, name, field, reason, format string, args ...any) {
	t.problems = append(t.problems, validate.Problem{
		Field: mesh.ObjectKey(kind, ns, name) + " " + field, Reason: reason, Message: fmt.Sprintf(format, args...),
	})
}

// addOnce appends ps once per key (per-rule problem lists used by several ports or services).
func (t *translator) addOnce(key any, ps []validate.Problem) {
	if len(ps) == 0 || t.reported[key] {
		return
	}
	t.reported[key] = true
	t.problems = append(t.problems, ps...)
}

func (t *translator) sortedProblems() []validate.Problem {
	ps := t.problems
	slices.SortStableFunc(ps, func(a, b validate.Problem) int {
		return cmp.Or(cmp.Compare(a.Field, b.Field), cmp.Compare(a.Reason, b.Reason), cmp.Compare(a.Message, b.Message))
	})
	return slices.Compact(ps)
}
