package translate

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/mizzen-mesh/mizzen/api/v1alpha1"
	"github.com/mizzen-mesh/mizzen/internal/mesh"
	"github.com/mizzen-mesh/mizzen/internal/validate"
)

// reservedPorts are the proxy's own ports; services on them get no outbound listener.
var reservedPorts = map[int32]bool{OutboundPort: true, InboundPort: true, HealthPort: true, PrometheusPort: true, 15000: true}

func listener(name, ip string, port int32, dir corev3.TrafficDirection, bind bool) *listenerv3.Listener {
	l := &listenerv3.Listener{
		Name:             name,
		Address:          socketAddress(ip, uint32(port)),
		TrafficDirection: dir,
	}
	if !bind {
		l.BindToPort = wrapperspb.Bool(false)
	}
	return l
}

// outboundListeners: one HTTP listener per port carrying HTTP services (0.0.0.0_<port>, routes by
// Host), and one listener per TCP or TLS service port on its cluster IP (<ip>_<port>). None binds:
// the virtual outbound listener hands them connections by original destination.
func (t *translator) outboundListeners() []*listenerv3.Listener {
	httpPorts := map[int32][]*mesh.Service{}
	var out []*listenerv3.Listener
	for _, svc := range t.scopedServices() {
		for _, port := range svc.Ports {
			if reservedPorts[port.Number] || port.Protocol == mesh.ProtocolUDP {
				continue
			}
			if port.Protocol.IsHTTP() {
				httpPorts[port.Number] = append(httpPorts[port.Number], svc)
				continue
			}
			if svc.ClusterIP == "" {
				continue // headless: reached by pod IP through the passthrough cluster
			}
			if l := t.tcpListener(svc, port); l != nil {
				out = append(out, l)
			}
		}
	}
	for _, port := range sortedKeys(httpPorts) {
		if l := t.httpListener(port, httpPorts[port]); l != nil {
			out = append(out, l)
		}
	}
	return out
}

func sortedKeys[V any](m map[int32]V) []int32 {
	keys := make([]int32, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (t *translator) httpListener(port int32, services []*mesh.Service) *listenerv3.Listener {
	rc := &routev3.RouteConfiguration{Name: mesh.PortKey(port), ValidateClusters: wrapperspb.Bool(false)}
	seen := map[string]bool{}
	for _, svc := range services {
		vh := t.virtualHost(svc, mustPort(svc, port))
		// Envoy refuses a domain in two virtual hosts; the first service keeps it.
		vh.Domains = slices.DeleteFunc(vh.Domains, func(d string) bool {
			dup := seen[d]
			seen[d] = true
			return dup
		})
		if len(vh.Domains) > 0 {
			rc.VirtualHosts = append(rc.VirtualHosts, vh)
		}
	}
	// Hosts no service claims leave the mesh as they came (Istio's ALLOW_ANY).
	rc.VirtualHosts = append(rc.VirtualHosts, &routev3.VirtualHost{
		Name:    "allow_any",
		Domains: []string{"*"},
		Routes: []*routev3.Route{{
			Name:  "allow_any",
			Match: &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}},
			Action: &routev3.Route_Route{Route: &routev3.RouteAction{
				ClusterSpecifier: &routev3.RouteAction_Cluster{Cluster: PassthroughCluster},
				Timeout:          durationpb.New(0),
			}},
		}},
	})
	name := listenerName("0.0.0.0", port)
	f, err := httpConnectionManager("outbound_"+name, rc, true)
	if err != nil {
		t.problems = append(t.problems, t.listenerProblem(name, err))
		return nil
	}
	l := listener(name, "0.0.0.0", port, corev3.TrafficDirection_OUTBOUND, false)
	l.FilterChains = []*listenerv3.FilterChain{{Filters: []*listenerv3.Filter{f}}}
	return l
}

// tcpListener routes one TCP or TLS service port: by its VirtualService's tcp or tls rules, else
// to the service's cluster.
func (t *translator) tcpListener(svc *mesh.Service, port mesh.Port) *listenerv3.Listener {
	name := listenerName(svc.ClusterIP, port.Number)
	l := listener(name, svc.ClusterIP, port.Number, corev3.TrafficDirection_OUTBOUND, false)
	def := []weightedCluster{{name: OutboundClusterName(port.Number, "", svc.Hostname), weight: 100}}
	vs := t.hostRule(svc.Hostname)
	if vs != nil {
		t.use("VirtualService", vs)
	}
	if vs != nil && port.Protocol.IsTLS() && len(vs.Spec.TLS) > 0 {
		l.ListenerFilters = []*listenerv3.ListenerFilter{tlsInspector}
		seen := map[string]bool{}
		for i, r := range vs.Spec.TLS {
			at := fmt.Sprintf("spec.tls[%d]", i)
			var snis []string
			for j, m := range r.Match {
				if !t.l4MatchApplies(vs, m.Port, m.Gateways, m.SourceLabels, m.SourceNamespace, m.DestinationSubnets, "", fmt.Sprintf("%s.match[%d]", at, j), port.Number) {
					continue
				}
				for _, h := range m.SniHosts {
					if !seen[h] {
						seen[h] = true
						snis = append(snis, h)
					}
				}
			}
			if len(snis) == 0 {
				continue
			}
			ws := t.l4Destinations(vs, r.Route, at, port.Number)
			if ws == nil {
				continue
			}
			f, err := tcpProxy(OutboundClusterName(port.Number, "", svc.Hostname), ws)
			if err != nil {
				t.problems = append(t.problems, t.listenerProblem(name, err))
				continue
			}
			slices.Sort(snis)
			l.FilterChains = append(l.FilterChains, &listenerv3.FilterChain{
				FilterChainMatch: &listenerv3.FilterChainMatch{ServerNames: snis},
				Filters:          []*listenerv3.Filter{f},
			})
		}
	} else if vs != nil && len(vs.Spec.TCP) > 0 {
		for i, r := range vs.Spec.TCP {
			at := fmt.Sprintf("spec.tcp[%d]", i)
			applies := len(r.Match) == 0
			for j, m := range r.Match {
				if t.l4MatchApplies(vs, m.Port, m.Gateways, m.SourceLabels, m.SourceNamespace, m.DestinationSubnets, m.SourceSubnet, fmt.Sprintf("%s.match[%d]", at, j), port.Number) {
					applies = true
				}
			}
			if !applies {
				continue
			}
			if ws := t.l4Destinations(vs, r.Route, at, port.Number); ws != nil {
				def = ws
			}
			break
		}
	}
	f, err := tcpProxy(OutboundClusterName(port.Number, "", svc.Hostname), def)
	if err != nil {
		t.problems = append(t.problems, t.listenerProblem(name, err))
		return nil
	}
	// The chain without a match takes what no SNI rule claims.
	l.FilterChains = append(l.FilterChains, &listenerv3.FilterChain{Filters: []*listenerv3.Filter{f}})
	return l
}

// l4MatchApplies checks a tcp or tls match against this proxy and port. Subnet conditions are not
// translated: such a match is reported and skipped.
func (t *translator) l4MatchApplies(vs *v1alpha1.VirtualService, port int32, gateways []string, labels map[string]string, ns string, subnets []string, sourceSubnet, at string, listenerPort int32) bool {
	if len(subnets) > 0 {
		t.vsUnsupported(vs, at+".destinationSubnets", "destinationSubnets (the match is skipped)")
		return false
	}
	if sourceSubnet != "" {
		t.vsUnsupported(vs, at+".sourceSubnet", "sourceSubnet (the match is skipped)")
		return false
	}
	if port != 0 && port != listenerPort {
		return false
	}
	if len(gateways) > 0 && !t.boundTo(gateways, vs.Namespace) {
		return false
	}
	if len(labels) > 0 && !mesh.LabelsMatch(labels, t.proxy.Labels) {
		return false
	}
	return ns == "" || ns == t.proxy.Namespace
}

// l4Destinations resolves weighted tcp/tls destinations; zero weights are dropped.
func (t *translator) l4Destinations(vs *v1alpha1.VirtualService, routes []v1alpha1.RouteDestination, at string, port int32) []weightedCluster {
	var ws []weightedCluster
	for i, d := range routes {
		if d.Weight == 0 && len(routes) > 1 {
			continue
		}
		name, _ := t.destination(vs, vs.Namespace, d.Destination, fmt.Sprintf("%s.route[%d].destination", at, i), port)
		w := uint32(d.Weight)
		if len(routes) == 1 {
			w = 100
		}
		ws = append(ws, weightedCluster{name, w})
	}
	return ws
}

func (t *translator) listenerProblem(name string, err error) validate.Problem {
	return validate.Problem{Field: "Listener " + name, Reason: ReasonInvalidConfig, Message: fmt.Sprintf("dropped: %v", err)}
}

// virtualOutboundListener captures all outbound traffic (port 15001) and hands each connection
// to the listener of its original destination; what none claims passes through.
var virtualOutboundListener = sync.OnceValue(func() *listenerv3.Listener {
	l := listener(VirtualOutboundListener, "0.0.0.0", OutboundPort, corev3.TrafficDirection_OUTBOUND, true)
	l.UseOriginalDst = wrapperspb.Bool(true)
	f, _ := tcpProxy(PassthroughCluster, []weightedCluster{{name: PassthroughCluster, weight: 100}})
	l.FilterChains = []*listenerv3.FilterChain{{Name: "virtualOutbound-catchall-tcp", Filters: []*listenerv3.Filter{f}}}
	return l
})

// inboundListener receives all inbound traffic (port 15006): a filter chain per workload port,
// mesh mTLS terminated (PERMISSIVE also accepts plaintext, STRICT only mTLS), forwarded to the
// workload on 127.0.0.1:<targetPort>. Other ports pass through to their original destination.
// It adds the proxy's inbound clusters (their locality is the proxy's) and returns the listener
// its workload ports give, or the error ValidateAll found in it.
func (t *translator) inboundListener() (*listenerv3.Listener, error) {
	var ports []inboundPort
	seen := map[int32]bool{}
	for _, wp := range t.snap.WorkloadPorts(t.proxy.IP) {
		tp := wp.TargetPort
		if seen[tp] || reservedPorts[tp] || wp.Port.Protocol == mesh.ProtocolUDP {
			continue
		}
		seen[tp] = true
		ports = append(ports, inboundPort{tp, wp.Port.Protocol})
		t.addCluster(inboundCluster(tp, wp.Port.Protocol, t.proxy.Locality))
	}
	// The listener depends on the ports and the snapshot's settings only: every proxy of a
	// workload (and of any workload with the same ports) shares one, so it is validated and
	// rendered once per snapshot instead of once per proxy.
	v := t.snap.Memo(inboundKeyOf(ports), func() any {
		l := buildInboundListener(t.snap.Settings, ports)
		return inboundListenerErr{l, l.ValidateAll()}
	}).(inboundListenerErr)
	return v.listener, v.err
}

// inboundPort is a workload port the inbound listener has a filter chain for.
type inboundPort struct {
	target   int32
	protocol mesh.Protocol
}

// inboundKey memoizes the inbound listener of a list of ports (in WorkloadPorts order).
type inboundKey string

func inboundKeyOf(ports []inboundPort) inboundKey {
	var b strings.Builder
	for _, p := range ports {
		fmt.Fprintf(&b, "%d/%s,", p.target, p.protocol)
	}
	return inboundKey(b.String())
}

type inboundListenerErr struct {
	listener *listenerv3.Listener
	err      error
}

func buildInboundListener(settings mesh.Settings, ports []inboundPort) *listenerv3.Listener {
	mode := settings.MTLS
	l := listener(VirtualInboundListener, "0.0.0.0", InboundPort, corev3.TrafficDirection_INBOUND, true)
	l.ListenerFilters = []*listenerv3.ListenerFilter{originalDst}
	if mode != mesh.MTLSDisable {
		l.ListenerFilters = append(l.ListenerFilters, tlsInspector)
	}
	mtlsSocket := func() *corev3.TransportSocket {
		return &corev3.TransportSocket{Name: tlsSocketName, ConfigType: &corev3.TransportSocket_TypedConfig{
			TypedConfig: mustPack(meshServerTLS(settings.TrustDomain))}}
	}
	for _, p := range ports {
		tp := p.target
		cluster := InboundClusterName(tp)
		filters := func() []*listenerv3.Filter {
			var f *listenerv3.Filter
			var err error
			if p.protocol.IsHTTP() {
				f, err = httpConnectionManager("inbound_"+listenerName("0.0.0.0", tp), inboundRoutes(tp), false)
			} else {
				f, err = tcpProxy(cluster, []weightedCluster{{cluster, 100}})
			}
			if err != nil {
				panic(err) // built from constants only
			}
			return []*listenerv3.Filter{f}
		}
		switch mode {
		case mesh.MTLSStrict:
			l.FilterChains = append(l.FilterChains, &listenerv3.FilterChain{
				Name:             cluster + "mtls",
				FilterChainMatch: &listenerv3.FilterChainMatch{DestinationPort: wrapperspb.UInt32(uint32(tp)), TransportProtocol: "tls"},
				TransportSocket:  mtlsSocket(),
				Filters:          filters(),
			})
		case mesh.MTLSDisable:
			l.FilterChains = append(l.FilterChains, &listenerv3.FilterChain{
				Name:             cluster + "plaintext",
				FilterChainMatch: &listenerv3.FilterChainMatch{DestinationPort: wrapperspb.UInt32(uint32(tp))},
				Filters:          filters(),
			})
		default:
			l.FilterChains = append(l.FilterChains, &listenerv3.FilterChain{
				Name: cluster + "mtls",
				FilterChainMatch: &listenerv3.FilterChainMatch{DestinationPort: wrapperspb.UInt32(uint32(tp)),
					TransportProtocol: "tls", ApplicationProtocols: meshALPN},
				TransportSocket: mtlsSocket(),
				Filters:         filters(),
			}, &listenerv3.FilterChain{
				Name:             cluster + "plaintext",
				FilterChainMatch: &listenerv3.FilterChainMatch{DestinationPort: wrapperspb.UInt32(uint32(tp)), TransportProtocol: "raw_buffer"},
				Filters:          filters(),
			})
		}
	}
	pass, _ := tcpProxy(InboundPassthroughCluster, []weightedCluster{{InboundPassthroughCluster, 100}})
	switch mode {
	case mesh.MTLSStrict:
		// Ports no service declares still need mesh mTLS.
		l.FilterChains = append(l.FilterChains, &listenerv3.FilterChain{
			Name:             "virtualInbound-mtls",
			FilterChainMatch: &listenerv3.FilterChainMatch{TransportProtocol: "tls"},
			TransportSocket:  mtlsSocket(),
			Filters:          []*listenerv3.Filter{pass},
		})
	case mesh.MTLSPermissive:
		l.FilterChains = append(l.FilterChains, &listenerv3.FilterChain{
			Name:             "virtualInbound-mtls",
			FilterChainMatch: &listenerv3.FilterChainMatch{TransportProtocol: "tls", ApplicationProtocols: meshALPN},
			TransportSocket:  mtlsSocket(),
			Filters:          []*listenerv3.Filter{pass},
		})
		fallthrough
	default:
		// What no chain matches (other ports; an application's own TLS) passes through.
		l.DefaultFilterChain = &listenerv3.FilterChain{Name: "virtualInbound-passthrough", Filters: []*listenerv3.Filter{pass}}
	}
	return l
}

func inboundRoutes(port int32) *routev3.RouteConfiguration {
	cluster := InboundClusterName(port)
	return &routev3.RouteConfiguration{
		Name:             cluster,
		ValidateClusters: wrapperspb.Bool(false),
		VirtualHosts: []*routev3.VirtualHost{{
			Name:    fmt.Sprintf("inbound|http|%d", port),
			Domains: []string{"*"},
			Routes: []*routev3.Route{{
				Name:  "default",
				Match: &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}},
				Action: &routev3.Route_Route{Route: &routev3.RouteAction{
					ClusterSpecifier: &routev3.RouteAction_Cluster{Cluster: cluster},
					Timeout:          durationpb.New(0),
				}},
			}},
		}},
	}
}

// adminListener serves one path of Envoy's admin API (on loopback) to the pod network.
func adminListener(port int32, statPrefix, path, adminPath string) *listenerv3.Listener {
	action := &routev3.RouteAction{ClusterSpecifier: &routev3.RouteAction_Cluster{Cluster: PrometheusStatsCluster}}
	if adminPath != path {
		action.PrefixRewrite = adminPath
	}
	rc := &routev3.RouteConfiguration{
		Name: statPrefix,
		VirtualHosts: []*routev3.VirtualHost{{
			Name:    statPrefix,
			Domains: []string{"*"},
			Routes: []*routev3.Route{{
				Name:   statPrefix,
				Match:  &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Path{Path: path}},
				Action: &routev3.Route_Route{Route: action},
			}},
		}},
	}
	h := &hcmv3.HttpConnectionManager{
		StatPrefix:     statPrefix,
		RouteSpecifier: &hcmv3.HttpConnectionManager_RouteConfig{RouteConfig: rc},
		HttpFilters:    []*hcmv3.HttpFilter{routerHTTPFilter},
	}
	l := listener(listenerName("0.0.0.0", port), "0.0.0.0", port, corev3.TrafficDirection_INBOUND, true)
	l.FilterChains = []*listenerv3.FilterChain{{Filters: []*listenerv3.Filter{{
		Name: hcmFilterName, ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: mustPack(h)}}}}}
	return l
}

// healthListener answers kubelet readiness probes on 15021 /healthz/ready from Envoy's /ready.
var healthListener = sync.OnceValue(func() *listenerv3.Listener {
	return adminListener(HealthPort, "agent", "/healthz/ready", "/ready")
})

// prometheusListener serves /stats/prometheus on 15090.
var prometheusListener = sync.OnceValue(func() *listenerv3.Listener {
	return adminListener(PrometheusPort, "stats", "/stats/prometheus", "/stats/prometheus")
})
