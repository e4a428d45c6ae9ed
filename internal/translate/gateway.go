package translate

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/mizzen-mesh/mizzen/api/v1alpha1"
	"github.com/mizzen-mesh/mizzen/internal/mesh"
)

// gatewayServer is one server of a Gateway that selects the proxy.
type gatewayServer struct {
	gw    *v1alpha1.Gateway
	s     *v1alpha1.Server
	index int
}

func (g gatewayServer) at() string { return fmt.Sprintf("spec.servers[%d]", g.index) }

// gatewayListeners builds a gateway proxy's listeners: one per server port, binding the
// server's target port (or its number). HTTP servers route by the VirtualServices bound to their
// Gateway; HTTPS servers terminate TLS (certificates from files) and then do the same; TLS
// PASSTHROUGH servers route by SNI; TCP servers by tcp rules.
func (t *translator) gatewayListeners() []*listenerv3.Listener {
	byPort := map[int32][]gatewayServer{}
	for _, gw := range t.snap.Gateways {
		if len(gw.Spec.Selector) == 0 || !mesh.LabelsMatch(gw.Spec.Selector, t.proxy.Labels) {
			continue
		}
		t.use("Gateway", gw)
		for i := range gw.Spec.Servers {
			s := &gw.Spec.Servers[i]
			port := s.Port.Number
			if s.Port.TargetPort > 0 {
				port = int32(s.Port.TargetPort)
			}
			if s.Bind != "" {
				t.report("Gateway", gw.Namespace, gw.Name, fmt.Sprintf("spec.servers[%d].bind", i), ReasonUnsupported, "bind is accepted but not translated; the server listens on 0.0.0.0")
			}
			byPort[port] = append(byPort[port], gatewayServer{gw, s, i})
		}
	}
	var out []*listenerv3.Listener
	for _, port := range sortedKeys(byPort) {
		name := listenerName("0.0.0.0", port)
		l := listener(name, "0.0.0.0", port, corev3.TrafficDirection_OUTBOUND, true)
		var chains []*listenerv3.FilterChain
		var owners []gatewayServer
		var plainHTTP []gatewayServer
		httpAt := -1 // where the chain of the plain HTTP servers goes: at the first one
		for _, gs := range byPort[port] {
			proto := mesh.PortProtocol(strings.ToLower(gs.s.Port.Protocol), nil, "TCP")
			tlsMode := v1alpha1.ServerTLSMode("")
			if gs.s.TLS != nil {
				tlsMode = gs.s.TLS.Mode
			}
			var fc *listenerv3.FilterChain
			var fcs []*listenerv3.FilterChain
			switch {
			case proto.IsHTTP():
				if httpAt < 0 {
					httpAt = len(chains)
					chains, owners = append(chains, nil), append(owners, gs)
				}
				plainHTTP = append(plainHTTP, gs)
				continue
			case proto == mesh.ProtocolHTTPS && tlsMode != v1alpha1.ServerTLSPassthrough:
				fc = t.gatewayTLSChain(gs, port, true)
			case proto.IsTLS() && (tlsMode == v1alpha1.ServerTLSPassthrough || tlsMode == ""):
				fcs = t.gatewayPassthroughChains(gs, port)
			case proto == mesh.ProtocolTLS:
				fc = t.gatewayTLSChain(gs, port, false)
			default:
				fc = t.gatewayTCPChain(gs, port)
			}
			if fc != nil {
				fcs = append(fcs, fc)
			}
			for _, fc := range fcs {
				chains, owners = append(chains, fc), append(owners, gs)
			}
		}
		if httpAt >= 0 {
			if f := t.gatewayHCM(plainHTTP, port, fmt.Sprintf("http.%d", port)); f != nil {
				chains[httpAt] = &listenerv3.FilterChain{Filters: []*listenerv3.Filter{f}}
			}
		}
		l.FilterChains = t.distinctChains(chains, owners, port)
		if len(l.FilterChains) == 0 {
			continue
		}
		if slices.ContainsFunc(l.FilterChains, func(fc *listenerv3.FilterChain) bool { return len(fc.GetFilterChainMatch().GetServerNames()) > 0 }) {
			l.ListenerFilters = []*listenerv3.ListenerFilter{tlsInspector}
		}
		out = append(out, l)
	}
	return out
}

// distinctChains drops what Envoy could not tell apart: a server name (or, without names, the
// whole match) already claimed by an earlier server's chain on the port. Each loss is reported
// against the later server.
func (t *translator) distinctChains(chains []*listenerv3.FilterChain, owners []gatewayServer, port int32) []*listenerv3.FilterChain {
	seen := map[string]bool{}
	var out []*listenerv3.FilterChain
	for i, fc := range chains {
		if fc == nil {
			continue
		}
		var names []string
		base := ""
		if m := fc.GetFilterChainMatch(); m != nil {
			c := proto.Clone(m).(*listenerv3.FilterChainMatch)
			names, c.ServerNames = c.ServerNames, nil
			b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(c)
			base = string(b)
		}
		keys := names
		if len(keys) == 0 {
			keys = []string{""}
		}
		var keep, lost []string
		for _, n := range keys {
			if k := base + "\x00" + n; seen[k] {
				lost = append(lost, cmp.Or(n, "*"))
			} else {
				seen[k] = true
				keep = append(keep, n)
			}
		}
		if len(lost) > 0 {
			gs := owners[i]
			t.report("Gateway", gs.gw.Namespace, gs.gw.Name, gs.at()+".hosts", ReasonConflictingHost,
				"another server on port %d already takes %s; this server does not get it", port, strings.Join(lost, ", "))
		}
		if len(keep) == 0 {
			continue
		}
		if len(names) > 0 && len(keep) < len(names) {
			fc = proto.Clone(fc).(*listenerv3.FilterChain)
			fc.FilterChainMatch.ServerNames = keep
		}
		out = append(out, fc)
	}
	return out
}

// boundVirtualServices are the VirtualServices bound to gs's Gateway whose hosts the server
// serves, with the hosts they share, oldest first.
func (t *translator) boundVirtualServices(gs gatewayServer) []boundVS {
	var out []boundVS
	for _, vs := range t.snap.VirtualServices {
		if !t.boundTo(vs.Spec.Gateways, vs.Namespace) {
			continue
		}
		var hosts []string
		for _, h := range vs.Spec.Hosts {
			for _, sh := range gs.s.Hosts {
				ns, host, ok := strings.Cut(sh, "/")
				if !ok {
					ns, host = "*", sh
				}
				if ns == "." {
					ns = gs.gw.Namespace
				}
				if (ns == "*" || ns == vs.Namespace) && (mesh.HostMatches(host, h) || mesh.HostMatches(h, host)) {
					hosts = append(hosts, h)
					break
				}
			}
		}
		if len(hosts) > 0 {
			t.use("VirtualService", vs)
			out = append(out, boundVS{vs, hosts})
		}
	}
	return out
}

type boundVS struct {
	vs    *v1alpha1.VirtualService
	hosts []string
}

// gatewayHCM routes the HTTP servers of one port: a virtual host per bound VirtualService host.
func (t *translator) gatewayHCM(servers []gatewayServer, port int32, routeName string) *listenerv3.Filter {
	rc := &routev3.RouteConfiguration{Name: routeName, ValidateClusters: wrapperspb.Bool(false)}
	seen := map[string]bool{}
	for _, gs := range servers {
		t.gateway = gs.gw
		redirect := gs.s.TLS != nil && gs.s.TLS.HTTPSRedirect
		for _, b := range t.boundVirtualServices(gs) {
			for _, h := range b.hosts {
				domains := []string{h}
				if h != "*" {
					domains = append(domains, fmt.Sprintf("%s:%d", h, gs.s.Port.Number))
				}
				domains = slices.DeleteFunc(domains, func(d string) bool { dup := seen[d]; seen[d] = true; return dup })
				if len(domains) == 0 {
					continue
				}
				vh := &routev3.VirtualHost{Name: fmt.Sprintf("%s:%d", h, gs.s.Port.Number), Domains: domains,
					Routes: t.httpRoutes(b.vs, b.vs.Namespace, b.vs.Spec.HTTP, "spec.http", gs.s.Port.Number, nil)}
				if redirect {
					vh.RequireTls = routev3.VirtualHost_ALL
				}
				rc.VirtualHosts = append(rc.VirtualHosts, vh)
			}
		}
	}
	t.gateway = nil
	slices.SortStableFunc(rc.VirtualHosts, func(a, b *routev3.VirtualHost) int { return cmp.Compare(a.Name, b.Name) })
	f, err := httpConnectionManager(routeName, rc, true)
	if err != nil {
		t.problems = append(t.problems, t.listenerProblem(routeName, err))
		return nil
	}
	return f
}

// gatewayTLSChain terminates TLS for one server (SIMPLE, MUTUAL or ISTIO_MUTUAL), then routes
// HTTP (https) or TCP (tls).
func (t *translator) gatewayTLSChain(gs gatewayServer, port int32, http bool) *listenerv3.FilterChain {
	s := gs.s.TLS
	at := gs.at() + ".tls"
	if s == nil {
		t.report("Gateway", gs.gw.Namespace, gs.gw.Name, at, ReasonUnsupported, "a %s server without tls settings is not translated", gs.s.Port.Protocol)
		return nil
	}
	ctx := &tlsv3.DownstreamTlsContext{CommonTlsContext: &tlsv3.CommonTlsContext{}}
	switch s.Mode {
	case v1alpha1.ServerTLSIstioMutual:
		ctx = meshServerTLS(t.snap.Settings.TrustDomain)
	case v1alpha1.ServerTLSSimple, v1alpha1.ServerTLSMutual, v1alpha1.ServerTLSOptionalMutual:
		if s.ServerCertificate == "" {
			t.report("Gateway", gs.gw.Namespace, gs.gw.Name, at+".credentialName", ReasonUnsupported,
				"certificates from a Secret (credentialName) are not translated yet; give serverCertificate and privateKey files; server skipped")
			return nil
		}
		ctx.CommonTlsContext.TlsCertificates = []*tlsv3.TlsCertificate{{CertificateChain: fileSource(s.ServerCertificate), PrivateKey: fileSource(s.PrivateKey)}}
		for _, c := range s.TLSCertificates {
			if c.ServerCertificate != "" {
				ctx.CommonTlsContext.TlsCertificates = append(ctx.CommonTlsContext.TlsCertificates,
					&tlsv3.TlsCertificate{CertificateChain: fileSource(c.ServerCertificate), PrivateKey: fileSource(c.PrivateKey)})
			}
		}
		if s.Mode != v1alpha1.ServerTLSSimple && s.CaCertificates != "" {
			ctx.CommonTlsContext.ValidationContextType = &tlsv3.CommonTlsContext_ValidationContext{ValidationContext: &tlsv3.CertificateValidationContext{
				TrustedCa: fileSource(s.CaCertificates), MatchTypedSubjectAltNames: exactSANs(tlsv3.SubjectAltNameMatcher_DNS, s.SubjectAltNames)}}
			ctx.RequireClientCertificate = wrapperspb.Bool(s.Mode == v1alpha1.ServerTLSMutual)
		}
	default:
		t.report("Gateway", gs.gw.Namespace, gs.gw.Name, at+".mode", ReasonUnsupported, "TLS mode %s is not translated; server skipped", s.Mode)
		return nil
	}
	t.serverTLSOptions(gs, ctx)
	if http {
		ctx.CommonTlsContext.AlpnProtocols = []string{"h2", "http/1.1"}
	}
	a, err := pack(ctx)
	if err != nil {
		t.report("Gateway", gs.gw.Namespace, gs.gw.Name, at, ReasonInvalidConfig, "server skipped: %v", err)
		return nil
	}
	fc := &listenerv3.FilterChain{
		Name:            fmt.Sprintf("%s/%s/%d", gs.gw.Namespace, gs.gw.Name, gs.index),
		TransportSocket: &corev3.TransportSocket{Name: tlsSocketName, ConfigType: &corev3.TransportSocket_TypedConfig{TypedConfig: a}},
	}
	if sn := serverNames(gs.s.Hosts); len(sn) > 0 {
		fc.FilterChainMatch = &listenerv3.FilterChainMatch{ServerNames: sn}
	}
	var f *listenerv3.Filter
	if http {
		f = t.gatewayHCM([]gatewayServer{gs}, port, fmt.Sprintf("https.%d.%s.%s.%d", port, gs.gw.Namespace, gs.gw.Name, gs.index))
	} else {
		f = t.gatewayTCPFilter(gs, port)
	}
	if f == nil {
		return nil
	}
	fc.Filters = []*listenerv3.Filter{f}
	return fc
}

// serverNames are a server's hosts as SNI names (namespace prefixes dropped); none for "*".
func serverNames(hosts []string) []string {
	var out []string
	for _, h := range hosts {
		if _, host, ok := strings.Cut(h, "/"); ok {
			h = host
		}
		if h == "*" {
			return nil
		}
		out = append(out, h)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// gatewayPassthroughChains routes TLS by SNI with the tls rules of bound VirtualServices.
func (t *translator) gatewayPassthroughChains(gs gatewayServer, port int32) []*listenerv3.FilterChain {
	t.gateway = gs.gw
	defer func() { t.gateway = nil }()
	var out []*listenerv3.FilterChain
	for _, b := range t.boundVirtualServices(gs) {
		vs := b.vs
		for i, r := range vs.Spec.TLS {
			at := fmt.Sprintf("spec.tls[%d]", i)
			var snis []string
			for j, m := range r.Match {
				if t.l4MatchApplies(vs, m.Port, m.Gateways, m.SourceLabels, m.SourceNamespace, m.DestinationSubnets, "", fmt.Sprintf("%s.match[%d]", at, j), gs.s.Port.Number) {
					snis = append(snis, m.SniHosts...)
				}
			}
			ws := t.l4Destinations(vs, r.Route, at, gs.s.Port.Number)
			if len(snis) == 0 || ws == nil {
				continue
			}
			f, err := tcpProxy(fmt.Sprintf("%s.%s", vs.Namespace, vs.Name), ws)
			if err != nil {
				t.problems = append(t.problems, t.listenerProblem(listenerName("0.0.0.0", port), err))
				continue
			}
			slices.Sort(snis)
			out = append(out, &listenerv3.FilterChain{FilterChainMatch: &listenerv3.FilterChainMatch{ServerNames: slices.Compact(snis)},
				Filters: []*listenerv3.Filter{f}})
		}
	}
	return out
}

// gatewayTCPFilter forwards a TCP server's connections by the first applicable tcp rule.
func (t *translator) gatewayTCPFilter(gs gatewayServer, port int32) *listenerv3.Filter {
	t.gateway = gs.gw
	defer func() { t.gateway = nil }()
	for _, b := range t.boundVirtualServices(gs) {
		vs := b.vs
		for i, r := range vs.Spec.TCP {
			at := fmt.Sprintf("spec.tcp[%d]", i)
			applies := len(r.Match) == 0
			for j, m := range r.Match {
				if t.l4MatchApplies(vs, m.Port, m.Gateways, m.SourceLabels, m.SourceNamespace, m.DestinationSubnets, m.SourceSubnet, fmt.Sprintf("%s.match[%d]", at, j), gs.s.Port.Number) {
					applies = true
				}
			}
			if !applies {
				continue
			}
			if ws := t.l4Destinations(vs, r.Route, at, gs.s.Port.Number); ws != nil {
				f, err := tcpProxy(fmt.Sprintf("%s.%s", vs.Namespace, vs.Name), ws)
				if err != nil {
					t.problems = append(t.problems, t.listenerProblem(listenerName("0.0.0.0", port), err))
					return nil
				}
				return f
			}
		}
	}
	return nil
}

func (t *translator) gatewayTCPChain(gs gatewayServer, port int32) *listenerv3.FilterChain {
	f := t.gatewayTCPFilter(gs, port)
	if f == nil {
		return nil
	}
	return &listenerv3.FilterChain{Filters: []*listenerv3.Filter{f}}
}

var tlsVersions = map[v1alpha1.TLSProtocolVersion]tlsv3.TlsParameters_TlsProtocol{
	v1alpha1.TLSAuto: tlsv3.TlsParameters_TLS_AUTO, v1alpha1.TLSV10: tlsv3.TlsParameters_TLSv1_0,
	v1alpha1.TLSV11: tlsv3.TlsParameters_TLSv1_1, v1alpha1.TLSV12: tlsv3.TlsParameters_TLSv1_2,
	v1alpha1.TLSV13: tlsv3.TlsParameters_TLSv1_3,
}

// serverTLSOptions adds protocol versions, cipher suites and certificate pinning to a server's
// TLS context, and reports the settings not translated.
func (t *translator) serverTLSOptions(gs gatewayServer, ctx *tlsv3.DownstreamTlsContext) {
	s := gs.s.TLS
	at := gs.at() + ".tls"
	unsupported := func(field, what string) {
		t.report("Gateway", gs.gw.Namespace, gs.gw.Name, at+"."+field, ReasonUnsupported, "%s is accepted but not translated; it has no effect", what)
	}
	if s.MinProtocolVersion != "" || s.MaxProtocolVersion != "" || len(s.CipherSuites) > 0 {
		ctx.CommonTlsContext.TlsParams = &tlsv3.TlsParameters{
			TlsMinimumProtocolVersion: tlsVersions[s.MinProtocolVersion],
			TlsMaximumProtocolVersion: tlsVersions[s.MaxProtocolVersion],
			CipherSuites:              s.CipherSuites,
		}
	}
	if len(s.VerifyCertificateSpki) > 0 || len(s.VerifyCertificateHash) > 0 {
		if vc := ctx.CommonTlsContext.GetValidationContext(); vc != nil {
			vc.VerifyCertificateSpki, vc.VerifyCertificateHash = s.VerifyCertificateSpki, s.VerifyCertificateHash
		} else {
			unsupported("verifyCertificateSpki", "certificate pinning without caCertificates")
		}
	}
	if s.CaCrl != "" {
		unsupported("caCrl", "caCrl")
	}
	if len(s.CredentialNames) > 0 {
		unsupported("credentialNames", "credentialNames (certificates from Secrets)")
	}
	if s.CaCertCredentialName != "" {
		unsupported("caCertCredentialName", "caCertCredentialName (a CA from a Secret)")
	}
	if s.InsecureSkipVerify != nil {
		unsupported("insecureSkipVerify", "insecureSkipVerify on a server")
	}
}
