package translate

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mizzen-mesh/mizzen/api/v1alpha1"
	"github.com/mizzen-mesh/mizzen/internal/envoy"
	"github.com/mizzen-mesh/mizzen/internal/mesh"
	"github.com/mizzen-mesh/mizzen/internal/validate"
)

// Resources is one proxy's dynamic Envoy configuration, sorted by name.
type Resources struct {
	Listeners []*listenerv3.Listener // routes inlined in each HCM's route_config (file-based xDS has no RDS file)
	Clusters  []*clusterv3.Cluster   // endpoints inline in load_assignment (STATIC), or ORIGINAL_DST/passthrough where needed
	// Rules are the VirtualServices, DestinationRules and Gateways the config was built from, at
	// the generations the snapshot held: what a rollout of a rule waits for. Shared; read only.
	Rules mesh.RuleSets
	// Credentials are the Secrets of the proxy's namespace its TLS contexts read through SDS
	// (gateway credentialName): the proxy needs a copy of each in its credentials Secret.
	Credentials []envoy.Credential
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
	ReasonShadowsNewerRule = mesh.ReasonShadowsNewerRule
	ReasonGatewayNotFound  = "GatewayNotFound" // a VirtualService names a Gateway that does not exist
	ReasonNoMatchingPods   = "NoMatchingPods"  // a Gateway selector or a DestinationRule subset selects no pod
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
	gateway  *v1alpha1.Gateway // the Gateway whose servers are being built; nil for sidecars
	// reported dedupes per-object problem lists already added (rules used by several ports).
	reported map[any]bool
	// used collects the rules that shaped the config (see Resources.Rules).
	used mesh.RuleVersions
	// credentials the config reads (useCredential).
	credentials map[envoy.Credential]bool
	// reads, when set, records the questions asked of snap (a sidecar's outbound config).
	reads *outboundReads
}

// Translate builds the Envoy config of proxy from snap, and the problems met on the way: rules or
// fields not translated, unknown hosts and subsets, host conflicts. Output is sorted by name.
func Translate(snap *mesh.Snapshot, proxy mesh.Proxy) (Resources, []validate.Problem) {
	t := newTranslator(snap, proxy)
	var res Resources
	var shared *outboundSet
	extra := []*listenerv3.Listener{healthListener(), prometheusListener()}
	switch proxy.Kind {
	case mesh.Gateway:
		for _, l := range t.gatewayListeners() {
			if err := l.ValidateAll(); err != nil {
				t.problems = append(t.problems, validate.Problem{Field: "Listener " + l.GetName(), Reason: ReasonInvalidConfig,
					Message: fmt.Sprintf("listener dropped: %v", err)})
				continue
			}
			extra = append(extra, l)
		}
	default:
		shared = outbound(snap, proxy)
		t.problems = append(t.problems, shared.problems...)
		extra = append(extra, virtualOutboundListener())
		if l, err := t.inboundListener(); err != nil {
			t.problems = append(t.problems, validate.Problem{Field: "Listener " + l.GetName(), Reason: ReasonInvalidConfig,
				Message: fmt.Sprintf("listener dropped: %v", err)})
		} else {
			extra = append(extra, l)
		}
		t.addCluster(inboundPassthroughCluster())
	}
	t.addCluster(passthroughCluster())
	t.addCluster(blackHoleCluster())
	own := make([]*clusterv3.Cluster, 0, len(t.clusters))
	for _, c := range t.clusters {
		own = append(own, c)
	}
	if shared != nil && len(shared.rules) > 0 {
		res.Rules = append(res.Rules, shared.rules)
	}
	if len(t.used) > 0 {
		res.Rules = append(res.Rules, t.used)
	}
	if shared != nil {
		res.Listeners = mergeSorted(shared.listeners, extra, (*listenerv3.Listener).GetName)
		res.Clusters = mergeSorted(shared.clusters, own, (*clusterv3.Cluster).GetName)
	} else {
		res.Listeners = mergeSorted(nil, extra, (*listenerv3.Listener).GetName)
		res.Clusters = mergeSorted(nil, own, (*clusterv3.Cluster).GetName)
	}
	res.Credentials = t.usedCredentials()
	return res, t.sortedProblems()
}

func newTranslator(snap *mesh.Snapshot, proxy mesh.Proxy) *translator {
	return &translator{snap: snap, proxy: proxy, clusters: map[string]*clusterv3.Cluster{}, reported: map[any]bool{}, used: mesh.RuleVersions{}}
}

// use records that a rule shaped the config.
func (t *translator) use(kind string, obj metav1.Object) { t.used.Use(kind, obj) }

// mergeSorted returns a new slice with the sorted a and b (sorted here) merged by name.
func mergeSorted[T any](a, b []T, name func(T) string) []T {
	slices.SortFunc(b, func(x, y T) int { return cmp.Compare(name(x), name(y)) })
	out := make([]T, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		if name(a[i]) <= name(b[j]) {
			out = append(out, a[i])
			i++
		} else {
			out = append(out, b[j])
			j++
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}

// outboundSet is a sidecar's outbound listeners and clusters, sorted by name, and the problems
// found building them.
type outboundSet struct {
	listeners []*listenerv3.Listener
	clusters  []*clusterv3.Cluster
	problems  []validate.Problem
	rules     mesh.RuleVersions
	// indexProblems: problems starts with the VirtualService index's (the conflicts of every
	// rule the namespace sees).
	indexProblems int
	// reads are the questions the translation asked the snapshot (outboundreads.go).
	reads *outboundReads
}

type outboundKey struct {
	namespace string
	egress    string
	locality  mesh.Locality
}

// outbound returns the proxy's outbound set. It depends on the proxy's namespace only, and on its
// locality when a DestinationRule weighs localities, unless some rule selects proxies by labels:
// so it is built once per namespace (and locality) and shared by the proxies there.
func outbound(snap *mesh.Snapshot, proxy mesh.Proxy) *outboundSet {
	if ruleDependencies(snap).labels {
		return buildOutbound(snap, proxy)
	}
	return snap.Memo(outboundKeyFor(snap, proxy), func() any { return buildOutbound(snap, proxy) }).(*outboundSet)
}

// outboundKeyFor names the outbound config proxy shares with the other sidecars of its namespace
// (unless rules select proxies by labels).
func outboundKeyFor(snap *mesh.Snapshot, proxy mesh.Proxy) outboundKey {
	key := outboundKey{namespace: proxy.Namespace, egress: strings.Join(proxy.EgressHosts, ",")}
	if ruleDependencies(snap).locality {
		key.locality = proxy.Locality
	}
	return key
}

func buildOutbound(snap *mesh.Snapshot, proxy mesh.Proxy) *outboundSet {
	t := newTranslator(snap, proxy)
	t.reads = newOutboundReads()
	t.vsIndex = snap.SidecarVirtualServices(proxy.Namespace)
	t.problems = append(t.problems, t.vsIndex.Problems...)
	t.addOutboundClusters()
	out := &outboundSet{}
	for _, l := range t.outboundListeners() {
		if err := l.ValidateAll(); err != nil {
			t.problems = append(t.problems, validate.Problem{Field: "Listener " + l.GetName(), Reason: ReasonInvalidConfig,
				Message: fmt.Sprintf("listener dropped: %v", err)})
			continue
		}
		out.listeners = append(out.listeners, l)
	}
	slices.SortFunc(out.listeners, func(a, b *listenerv3.Listener) int { return cmp.Compare(a.GetName(), b.GetName()) })
	for _, c := range t.clusters {
		out.clusters = append(out.clusters, c)
	}
	slices.SortFunc(out.clusters, func(a, b *clusterv3.Cluster) int { return cmp.Compare(a.GetName(), b.GetName()) })
	out.problems, out.indexProblems = t.problems, len(t.vsIndex.Problems)
	out.rules = t.used
	out.reads, t.reads.seen = t.reads, nil
	return out
}

// dependencies says what of a proxy besides its namespace the rules of a snapshot look at.
type dependencies struct {
	labels   bool // sourceLabels matches or DestinationRule workloadSelectors
	locality bool // DestinationRules with outlier detection or locality settings
}

type dependenciesKey struct{}

func ruleDependencies(snap *mesh.Snapshot) dependencies {
	return snap.Memo(dependenciesKey{}, func() any {
		var d dependencies
		for _, vs := range snap.VirtualServices {
			for _, r := range vs.Spec.HTTP {
				for _, m := range r.Match {
					d.labels = d.labels || len(m.SourceLabels) > 0
				}
			}
			for _, r := range vs.Spec.TCP {
				for _, m := range r.Match {
					d.labels = d.labels || len(m.SourceLabels) > 0
				}
			}
			for _, r := range vs.Spec.TLS {
				for _, m := range r.Match {
					d.labels = d.labels || len(m.SourceLabels) > 0
				}
			}
		}
		for _, dr := range snap.DestinationRules {
			d.labels = d.labels || dr.Spec.WorkloadSelector != nil
			policies := []*v1alpha1.TrafficPolicy{dr.Spec.TrafficPolicy}
			for _, s := range dr.Spec.Subsets {
				policies = append(policies, s.TrafficPolicy)
			}
			for _, tp := range policies {
				if tp == nil {
					continue
				}
				if tp.OutlierDetection != nil || (tp.LoadBalancer != nil && tp.LoadBalancer.LocalityLbSetting != nil) {
					d.locality = true
				}
				for _, pl := range tp.PortLevelSettings {
					if pl.OutlierDetection != nil || (pl.LoadBalancer != nil && pl.LoadBalancer.LocalityLbSetting != nil) {
						d.locality = true
					}
				}
			}
		}
		return d
	}).(dependencies)
}

// ProblemObject splits a problem's Field into the object it is about and the path inside it:
// "VirtualService default/reviews spec.http[0]" → ("VirtualService", "default", "reviews",
// "spec.http[0]"). Problems about no object (a listener dropped) give kind and field only.
func ProblemObject(p validate.Problem) (kind, namespace, name, field string) {
	kind, rest, _ := strings.Cut(p.Field, " ")
	ref, field, _ := strings.Cut(rest, " ")
	namespace, name, ok := strings.Cut(ref, "/")
	if !ok {
		return kind, "", "", rest
	}
	return kind, namespace, name, field
}

// addCluster adds c unless a cluster of its name is there (the first one wins).
func (t *translator) addCluster(c *clusterv3.Cluster) {
	if _, ok := t.clusters[c.GetName()]; !ok {
		t.clusters[c.GetName()] = c
	}
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

// ReleaseIdle forgets the outbound config and service clusters snap memoized for proxies and no
// translation asked for in the last idle: the protos every proxy of a namespace shares, most of
// what a snapshot holds, kept only to make the next proxy's translation cheap. The clusters kept
// across snapshots that no translation asked for in that time go too. A translation from snap
// after that builds them again (equal, not the same objects). It returns how many values it
// forgot.
func ReleaseIdle(snap *mesh.Snapshot, idle time.Duration) int {
	cutoff := time.Now().Add(-idle)
	return sharedClusters.forgetIdle(cutoff) + snap.ForgetIdle(cutoff, func(key any) bool {
		switch key.(type) {
		case outboundKey, clusterKey, inboundKey:
			return true
		}
		return false
	})
}
