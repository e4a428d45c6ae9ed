package rollout

import "github.com/mizzen-mesh/mizzen/api/v1alpha1"

// Weights returns the split a VirtualService rolls out, for status.canary.weights: the
// destinations of its catch-all route — the last HTTP route that forwards (else the last TCP,
// else the last TLS route), the one that takes what no earlier match took — each with its weight
// (host:subset as written; a lone destination without a weight gets 100). nil when no route
// forwards.
func Weights(spec *v1alpha1.VirtualServiceSpec) map[string]int32 {
	type dest struct {
		d v1alpha1.Destination
		w int32
	}
	var last []dest
	for _, r := range spec.HTTP {
		if len(r.Route) > 0 {
			last = last[:0]
			for _, d := range r.Route {
				last = append(last, dest{d.Destination, d.Weight})
			}
		}
	}
	for _, rules := range [][]v1alpha1.RouteDestination{lastRoute(tcpRoutes(spec.TCP)), lastRoute(tlsRoutes(spec.TLS))} {
		if len(last) == 0 {
			for _, d := range rules {
				last = append(last, dest{d.Destination, d.Weight})
			}
		}
	}
	if len(last) == 0 {
		return nil
	}
	out := make(map[string]int32, len(last))
	for _, d := range last {
		w := d.w
		if len(last) == 1 && w == 0 {
			w = 100
		}
		out[v1alpha1.WeightKey(d.d)] += w
	}
	return out
}

func tcpRoutes(rs []v1alpha1.TCPRoute) [][]v1alpha1.RouteDestination {
	out := make([][]v1alpha1.RouteDestination, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.Route)
	}
	return out
}

func tlsRoutes(rs []v1alpha1.TLSRoute) [][]v1alpha1.RouteDestination {
	out := make([][]v1alpha1.RouteDestination, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.Route)
	}
	return out
}

// lastRoute is the last non-empty destination list.
func lastRoute(routes [][]v1alpha1.RouteDestination) []v1alpha1.RouteDestination {
	for i := len(routes) - 1; i >= 0; i-- {
		if len(routes[i]) > 0 {
			return routes[i]
		}
	}
	return nil
}
