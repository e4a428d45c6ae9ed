package translate

import (
	"cmp"
	"slices"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/mizzen-mesh/mizzen/internal/mesh"
)

// localityPolicy says how endpoint groups are weighted and prioritised for one proxy.
type localityPolicy struct {
	proxy      mesh.Locality
	failover   bool   // priorities by distance from the proxy
	failoverTo string // region that takes over when the proxy's region has no healthy endpoint
	distribute bool
	to         map[string]int64 // locality pattern → percent of traffic, for the proxy's locality
}

func (b *clusterBuilder) localityPolicy(p policy) localityPolicy {
	lp := localityPolicy{proxy: b.loc}
	if !p.localityAware() || b.loc == (mesh.Locality{}) {
		return lp
	}
	var failover []struct{ from, to string }
	if p.lb != nil && p.lb.LocalityLbSetting != nil {
		ls := p.lb.LocalityLbSetting
		for _, d := range ls.Distribute {
			if localityMatches(d.From, b.loc) {
				lp.distribute, lp.to = true, d.To
				break
			}
		}
		for _, f := range ls.Failover {
			failover = append(failover, struct{ from, to string }{f.From, f.To})
		}
		if len(ls.FailoverPriority) > 0 {
			b.unsupported(p.lbAt+".localityLbSetting.failoverPriority", "failoverPriority")
		}
	}
	if p.od != nil && !lp.distribute {
		lp.failover = true
		for _, f := range failover {
			if f.from == b.loc.Region {
				lp.failoverTo = f.to
			}
		}
	}
	return lp
}

// localityMatches matches "region/zone/subzone" patterns where any part may be "*" and missing
// trailing parts match anything.
func localityMatches(pattern string, l mesh.Locality) bool {
	parts := strings.Split(pattern, "/")
	have := []string{l.Region, l.Zone, l.SubZone}
	for i, p := range parts {
		if i >= 3 {
			return false
		}
		if p == "*" {
			return true
		}
		if p != have[i] {
			return false
		}
	}
	return true
}

// tlsModeMetadata marks meshed endpoints so auto mTLS picks the mTLS transport socket for them.
var tlsModeMetadata = &corev3.Metadata{FilterMetadata: map[string]*structpb.Struct{
	"envoy.transport_socket_match": {Fields: map[string]*structpb.Value{"tlsMode": structpb.NewStringValue("istio")}},
}}

// loadAssignment groups endpoints by locality. Each group carries its locality, a weight (its
// endpoint count, or its share of a distribute rule) and, with failover, a priority by distance
// from the proxy.
func loadAssignment(cluster string, eps []mesh.Endpoint, markMeshed bool, lp localityPolicy) *endpointv3.ClusterLoadAssignment {
	la := &endpointv3.ClusterLoadAssignment{ClusterName: cluster}
	groups := map[mesh.Locality][]mesh.Endpoint{}
	var order []mesh.Locality
	for _, e := range eps {
		if _, ok := groups[e.Locality]; !ok {
			order = append(order, e.Locality)
		}
		groups[e.Locality] = append(groups[e.Locality], e)
	}
	slices.SortFunc(order, func(a, b mesh.Locality) int {
		return cmp.Or(cmp.Compare(a.Region, b.Region), cmp.Compare(a.Zone, b.Zone), cmp.Compare(a.SubZone, b.SubZone))
	})

	weights := map[mesh.Locality]uint32{}
	if lp.distribute {
		patterns := make([]string, 0, len(lp.to))
		for p := range lp.to {
			patterns = append(patterns, p)
		}
		// Most specific first, so "r/z" wins over "r/*".
		slices.SortFunc(patterns, func(a, b string) int { return cmp.Or(cmp.Compare(len(b), len(a)), cmp.Compare(a, b)) })
		members := map[string][]mesh.Locality{}
		for _, l := range order {
			for _, p := range patterns {
				if localityMatches(p, l) {
					members[p] = append(members[p], l)
					break
				}
			}
		}
		for p, ls := range members {
			share := uint32(lp.to[p] * 1000 / int64(len(ls)))
			for _, l := range ls {
				weights[l] = share
			}
		}
	}

	prio := map[mesh.Locality]uint32{}
	if lp.failover {
		used := map[uint32]bool{}
		for _, l := range order {
			var p uint32
			switch {
			case l.Region == lp.proxy.Region && l.Zone == lp.proxy.Zone && l.SubZone == lp.proxy.SubZone:
				p = 0
			case l.Region == lp.proxy.Region && l.Zone == lp.proxy.Zone:
				p = 1
			case l.Region == lp.proxy.Region:
				p = 2
			case lp.failoverTo != "" && l.Region == lp.failoverTo:
				p = 3
			default:
				p = 4
			}
			prio[l] = p
			used[p] = true
		}
		// Envoy wants priorities without gaps.
		remap, next := map[uint32]uint32{}, uint32(0)
		for p := uint32(0); p <= 4; p++ {
			if used[p] {
				remap[p] = next
				next++
			}
		}
		for l, p := range prio {
			prio[l] = remap[p]
		}
	}

	for _, l := range order {
		g := groups[l]
		w := uint32(len(g))
		if lp.distribute {
			if w = weights[l]; w == 0 {
				continue // a distribute rule sends this locality nothing
			}
		}
		lle := &endpointv3.LocalityLbEndpoints{
			Locality:            &corev3.Locality{Region: l.Region, Zone: l.Zone, SubZone: l.SubZone},
			LoadBalancingWeight: wrapperspb.UInt32(w),
			Priority:            prio[l],
			LbEndpoints:         make([]*endpointv3.LbEndpoint, 0, len(g)),
		}
		for _, e := range g {
			le := &endpointv3.LbEndpoint{
				HostIdentifier: &endpointv3.LbEndpoint_Endpoint{Endpoint: &endpointv3.Endpoint{
					Address: socketAddress(e.Address, uint32(e.Port))}},
				LoadBalancingWeight: wrapperspb.UInt32(1),
			}
			if markMeshed && e.Meshed {
				le.Metadata = tlsModeMetadata
			}
			lle.LbEndpoints = append(lle.LbEndpoints, le)
		}
		la.Endpoints = append(la.Endpoints, lle)
	}
	slices.SortStableFunc(la.Endpoints, func(a, b *endpointv3.LocalityLbEndpoints) int { return cmp.Compare(a.Priority, b.Priority) })
	return la
}
