package translate

import (
	"cmp"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	previoushostsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/retry/host/previous_hosts/v3"
	previousprioritiesv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/retry/priority/previous_priorities/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/mizzen-mesh/mizzen/api/v1alpha1"
	"github.com/mizzen-mesh/mizzen/internal/mesh"
)

// Istio's default retry policy, used when a route sets none.
const (
	defaultRetryOn       = "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes"
	defaultRetryAttempts = 2
)

var (
	previousHostsPredicate = &routev3.RetryPolicy_RetryHostPredicate{
		Name:       "envoy.retry_host_predicates.previous_hosts",
		ConfigType: &routev3.RetryPolicy_RetryHostPredicate_TypedConfig{TypedConfig: mustPack(&previoushostsv3.PreviousHostsPredicate{})},
	}
	previousPriorities = &routev3.RetryPolicy_RetryPriority{
		Name: "envoy.retry_priorities.previous_priorities",
		ConfigType: &routev3.RetryPolicy_RetryPriority_TypedConfig{TypedConfig: mustPack(
			&previousprioritiesv3.PreviousPrioritiesConfig{UpdateFrequency: 2})},
	}
)

// defaultRetryPolicy is shared by every route without a retry policy of its own: read-only.
var defaultRetryPolicy = sync.OnceValue(func() *routev3.RetryPolicy {
	return &routev3.RetryPolicy{
		RetryOn:                       defaultRetryOn,
		NumRetries:                    wrapperspb.UInt32(defaultRetryAttempts),
		RetriableStatusCodes:          []uint32{503},
		RetryHostPredicate:            []*routev3.RetryPolicy_RetryHostPredicate{previousHostsPredicate},
		HostSelectionRetryMaxAttempts: 5,
	}
})

func (t *translator) vsProblem(vs *v1alpha1.VirtualService, field, reason, format string, args ...any) {
	t.report("VirtualService", vs.Namespace, vs.Name, field, reason, format, args...)
}

func (t *translator) vsUnsupported(vs *v1alpha1.VirtualService, field, what string) {
	t.vsProblem(vs, field, ReasonUnsupported, "%s is accepted but not translated; it has no effect", what)
}

// virtualHost is the route table entry of one service on one port.
func (t *translator) virtualHost(svc *mesh.Service, port mesh.Port) *routev3.VirtualHost {
	vh := &routev3.VirtualHost{
		Name:    svc.Hostname + ":" + mesh.PortKey(port.Number),
		Domains: t.domains(svc, port.Number),
	}
	if vs := t.hostRule(svc.Hostname); vs != nil && len(vs.Spec.HTTP) > 0 {
		t.use("VirtualService", vs)
		// A rule with no route for this port (all its matches name other ports, proxies or
		// gateways) leaves the port to the default route, as in Istio.
		if vh.Routes = t.httpRoutes(vs, vs.Namespace, vs.Spec.HTTP, "spec.http", port.Number, nil); len(vh.Routes) > 0 {
			return vh
		}
	}
	vh.Routes = []*routev3.Route{t.defaultRoute(svc, port.Number)}
	return vh
}

// domains are the names a service is reached by on a port: its FQDN and the shorter forms the
// proxy's DNS search path resolves, each with and without the port, and its cluster IP.
func (t *translator) domains(svc *mesh.Service, port int32) []string {
	p := ":" + mesh.PortKey(port)
	names := []string{svc.Hostname, svc.Name + "." + svc.Namespace + ".svc", svc.Name + "." + svc.Namespace}
	if svc.Namespace == t.proxy.Namespace {
		names = append(names, svc.Name)
	}
	if svc.ClusterIP != "" {
		names = append(names, svc.ClusterIP)
	}
	out := make([]string, 0, 2*len(names))
	for _, n := range names {
		out = append(out, n, n+p)
	}
	return out
}

func (t *translator) defaultRoute(svc *mesh.Service, port int32) *routev3.Route {
	name := OutboundClusterName(port, "", svc.Hostname)
	sc := t.serviceClusters(svc, mustPort(svc, port))
	return &routev3.Route{
		Name:  "default",
		Match: &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}},
		Action: &routev3.Route_Route{Route: &routev3.RouteAction{
			ClusterSpecifier: &routev3.RouteAction_Cluster{Cluster: name},
			Timeout:          durationpb.New(0),
			RetryPolicy:      defaultRetryPolicy(),
			HashPolicy:       sc.hash[name],
		}},
	}
}

func mustPort(svc *mesh.Service, n int32) mesh.Port {
	p, _ := svc.Port(n)
	return p
}

// httpRoutes translates the http rules of vs (or of a delegate, whose matches are merged with its
// parent's) for one port. ns resolves short destination hosts.
func (t *translator) httpRoutes(vs *v1alpha1.VirtualService, ns string, rules []v1alpha1.HTTPRoute, at string, port int32, parent []v1alpha1.HTTPMatchRequest) []*routev3.Route {
	var out []*routev3.Route
	for i := range rules {
		r := &rules[i]
		rat := fmt.Sprintf("%s[%d]", at, i)
		matches := r.Match
		if parent != nil {
			matches = mergeMatches(parent, r.Match)
		}
		if r.Delegate != nil {
			if parent != nil {
				t.vsProblem(vs, rat+".delegate", ReasonUnsupported, "a delegate may not delegate again")
				continue
			}
			dns := cmp.Or(r.Delegate.Namespace, vs.Namespace)
			child := t.delegate(dns, r.Delegate.Name)
			if child == nil || len(child.Spec.Hosts) > 0 || !mesh.Exported(child.Spec.ExportTo, child.Namespace, vs.Namespace) {
				t.vsProblem(vs, rat+".delegate", ReasonDelegateNotFound, "delegate VirtualService %s/%s does not exist, has hosts, or is not exported to %s",
					dns, r.Delegate.Name, vs.Namespace)
				continue
			}
			t.use("VirtualService", child)
			pm := matches
			if len(pm) == 0 {
				pm = []v1alpha1.HTTPMatchRequest{{}}
			}
			out = append(out, t.httpRoutes(child, child.Namespace, child.Spec.HTTP, "spec.http", port, pm)...)
			continue
		}
		// Matches that apply to this proxy and port; a rule whose matches all fail is skipped.
		var ms []*v1alpha1.HTTPMatchRequest
		for j := range matches {
			if t.matchApplies(vs, &matches[j], port) {
				ms = append(ms, &matches[j])
			}
		}
		if len(matches) > 0 && len(ms) == 0 {
			continue
		}
		if len(ms) == 0 {
			ms = []*v1alpha1.HTTPMatchRequest{nil}
		}
		action := t.routeTemplate(vs, ns, r, rat, port)
		if action == nil {
			continue
		}
		for j, m := range ms {
			route := cloneRoute(action, j > 0)
			route.Match = t.routeMatch(vs, m, rat)
			if route.Match == nil {
				continue
			}
			route.Name = r.Name
			if m != nil && m.Name != "" {
				route.Name = strings.TrimPrefix(r.Name+"."+m.Name, ".")
			}
			if m != nil && m.StatPrefix != "" {
				route.StatPrefix = m.StatPrefix
			}
			// Validated here, so a bad rule costs its own routes, not the listener of its port.
			if err := route.ValidateAll(); err != nil {
				t.vsProblem(vs, rat, ReasonInvalidConfig, "route dropped: %v", err)
				continue
			}
			out = append(out, route)
		}
		// A rule without matches catches everything: later rules are unreachable.
		if len(matches) == 0 {
			break
		}
	}
	return out
}

// cloneRoute copies the shared parts of a route built once per rule; copy is false for the first
// use, which may keep the template.
func cloneRoute(r *routev3.Route, copy bool) *routev3.Route {
	if !copy {
		return r
	}
	return &routev3.Route{Action: r.Action, Metadata: r.Metadata, TypedPerFilterConfig: r.TypedPerFilterConfig,
		RequestHeadersToAdd: r.RequestHeadersToAdd, RequestHeadersToRemove: r.RequestHeadersToRemove,
		ResponseHeadersToAdd: r.ResponseHeadersToAdd, ResponseHeadersToRemove: r.ResponseHeadersToRemove}
}

// boundTo reports whether gateway names (of a rule in namespace ns) include the proxy's: "mesh"
// for sidecars, "<namespace>/<name>" or, in the gateway's namespace, "<name>" for gateways.
func (t *translator) boundTo(gateways []string, ns string) bool {
	if t.gateway == nil {
		return slices.Contains(gateways, mesh.MeshGateway)
	}
	return slices.Contains(gateways, t.gateway.Namespace+"/"+t.gateway.Name) ||
		(ns == t.gateway.Namespace && slices.Contains(gateways, t.gateway.Name))
}

// matchApplies: a match names the port, gateways, source labels or source namespace it is for.
func (t *translator) matchApplies(vs *v1alpha1.VirtualService, m *v1alpha1.HTTPMatchRequest, port int32) bool {
	if m.Port != 0 && m.Port != port {
		return false
	}
	if len(m.Gateways) > 0 && !t.boundTo(m.Gateways, vs.Namespace) {
		return false
	}
	if len(m.SourceLabels) > 0 && !mesh.LabelsMatch(m.SourceLabels, t.proxy.Labels) {
		return false
	}
	if m.SourceNamespace != "" && m.SourceNamespace != t.proxy.Namespace {
		return false
	}
	return true
}

// mergeMatches combines a parent's matches with a delegate's as Istio does: every pair, the
// delegate's conditions refining the parent's.
func mergeMatches(parent, child []v1alpha1.HTTPMatchRequest) []v1alpha1.HTTPMatchRequest {
	if len(child) == 0 {
		return parent
	}
	var out []v1alpha1.HTTPMatchRequest
	for _, p := range parent {
		for _, c := range child {
			m := p
			if c.URI != nil {
				m.URI = c.URI
			}
			if c.Scheme != nil {
				m.Scheme = c.Scheme
			}
			if c.Method != nil {
				m.Method = c.Method
			}
			if c.Authority != nil {
				m.Authority = c.Authority
			}
			m.Headers = mergeMap(p.Headers, c.Headers)
			m.QueryParams = mergeMap(p.QueryParams, c.QueryParams)
			m.WithoutHeaders = mergeMap(p.WithoutHeaders, c.WithoutHeaders)
			m.SourceLabels = mergeMap(p.SourceLabels, c.SourceLabels)
			if c.Port != 0 {
				m.Port = c.Port
			}
			if c.IgnoreURICase {
				m.IgnoreURICase = true
			}
			if c.Name != "" {
				m.Name = strings.TrimPrefix(p.Name+"."+c.Name, ".")
			}
			out = append(out, m)
		}
	}
	return out
}

func mergeMap[V any](a, b map[string]V) map[string]V {
	if len(b) == 0 {
		return a
	}
	out := maps.Clone(a)
	if out == nil {
		out = map[string]V{}
	}
	maps.Copy(out, b)
	return out
}

func stringMatcher(sm v1alpha1.StringMatch, ignoreCase bool) *matcherv3.StringMatcher {
	switch {
	case sm.Exact != nil:
		return &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Exact{Exact: *sm.Exact}, IgnoreCase: ignoreCase}
	case sm.Prefix != nil && *sm.Prefix != "":
		return &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Prefix{Prefix: *sm.Prefix}, IgnoreCase: ignoreCase}
	case sm.Regex != nil:
		return &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_SafeRegex{SafeRegex: &matcherv3.RegexMatcher{Regex: *sm.Regex}}}
	}
	return nil // empty: presence
}

func headerMatcher(name string, sm v1alpha1.StringMatch, invert bool) *routev3.HeaderMatcher {
	hm := &routev3.HeaderMatcher{Name: strings.ToLower(name), InvertMatch: invert}
	if s := stringMatcher(sm, false); s != nil {
		hm.HeaderMatchSpecifier = &routev3.HeaderMatcher_StringMatch{StringMatch: s}
	} else {
		hm.HeaderMatchSpecifier = &routev3.HeaderMatcher_PresentMatch{PresentMatch: true}
	}
	return hm
}

// routeMatch translates one match (nil: everything).
func (t *translator) routeMatch(vs *v1alpha1.VirtualService, m *v1alpha1.HTTPMatchRequest, at string) *routev3.RouteMatch {
	rm := &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}}
	if m == nil {
		return rm
	}
	if !t.regexesCompile(vs, m, at) {
		return nil
	}
	if u := m.URI; u != nil {
		switch {
		case u.Exact != nil:
			rm.PathSpecifier = &routev3.RouteMatch_Path{Path: *u.Exact}
		case u.Prefix != nil:
			rm.PathSpecifier = &routev3.RouteMatch_Prefix{Prefix: *u.Prefix}
		case u.Regex != nil:
			rm.PathSpecifier = &routev3.RouteMatch_SafeRegex{SafeRegex: &matcherv3.RegexMatcher{Regex: *u.Regex}}
		}
	}
	if m.IgnoreURICase {
		rm.CaseSensitive = wrapperspb.Bool(false)
	}
	for _, pseudo := range []struct {
		name string
		sm   *v1alpha1.StringMatch
	}{{":scheme", m.Scheme}, {":method", m.Method}, {":authority", m.Authority}} {
		if pseudo.sm != nil {
			rm.Headers = append(rm.Headers, headerMatcher(pseudo.name, *pseudo.sm, false))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(m.Headers)) {
		if strings.HasPrefix(k, "@request.auth.claims") {
			t.vsUnsupported(vs, at+".match.headers["+k+"]", "matching JWT claims")
			return nil
		}
		rm.Headers = append(rm.Headers, headerMatcher(k, m.Headers[k], false))
	}
	for _, k := range slices.Sorted(maps.Keys(m.WithoutHeaders)) {
		if strings.HasPrefix(k, "@request.auth.claims") {
			t.vsUnsupported(vs, at+".match.withoutHeaders["+k+"]", "matching JWT claims")
			return nil
		}
		rm.Headers = append(rm.Headers, headerMatcher(k, m.WithoutHeaders[k], true))
	}
	for _, k := range slices.Sorted(maps.Keys(m.QueryParams)) {
		qm := &routev3.QueryParameterMatcher{Name: k}
		if s := stringMatcher(m.QueryParams[k], false); s != nil {
			qm.QueryParameterMatchSpecifier = &routev3.QueryParameterMatcher_StringMatch{StringMatch: s}
		} else {
			qm.QueryParameterMatchSpecifier = &routev3.QueryParameterMatcher_PresentMatch{PresentMatch: true}
		}
		rm.QueryParameters = append(rm.QueryParameters, qm)
	}
	if err := rm.ValidateAll(); err != nil {
		t.vsProblem(vs, at+".match", ReasonInvalidConfig, "match dropped: %v", err)
		return nil
	}
	return rm
}

// routeTemplate builds what a rule's routes share: the action (route, redirect or direct
// response), per-filter configs and header operations. nil when nothing valid is left.
func (t *translator) routeTemplate(vs *v1alpha1.VirtualService, ns string, r *v1alpha1.HTTPRoute, at string, port int32) *routev3.Route {
	route := &routev3.Route{}
	switch {
	case r.Redirect != nil:
		route.Action = &routev3.Route_Redirect{Redirect: t.redirect(vs, r.Redirect, at+".redirect", port)}
	case r.DirectResponse != nil:
		dr := &routev3.DirectResponseAction{Status: uint32(r.DirectResponse.Status)}
		if b := r.DirectResponse.Body; b != nil {
			if b.String != nil {
				dr.Body = &corev3.DataSource{Specifier: &corev3.DataSource_InlineString{InlineString: *b.String}}
			} else if len(b.Bytes) > 0 {
				dr.Body = &corev3.DataSource{Specifier: &corev3.DataSource_InlineBytes{InlineBytes: b.Bytes}}
			}
		}
		route.Action = &routev3.Route_DirectResponse{DirectResponse: dr}
	default:
		ra := t.routeAction(vs, ns, r, at, port, route)
		if ra == nil {
			return nil
		}
		route.Action = &routev3.Route_Route{Route: ra}
	}
	if r.Headers != nil {
		if q := r.Headers.Request; q != nil {
			route.RequestHeadersToAdd, route.RequestHeadersToRemove = headerOps(q)
			if ra := route.GetRoute(); ra != nil {
				for k, v := range q.Set {
					if lk := strings.ToLower(k); lk == "host" || lk == ":authority" {
						ra.HostRewriteSpecifier = &routev3.RouteAction_HostRewriteLiteral{HostRewriteLiteral: v}
					}
				}
			}
		}
		if s := r.Headers.Response; s != nil {
			route.ResponseHeadersToAdd, route.ResponseHeadersToRemove = headerOps(s)
		}
	}
	tpfc := map[string]*anypb.Any{}
	if r.Fault != nil {
		if a := t.fault(vs, r.Fault, at+".fault"); a != nil {
			tpfc[faultFilterName] = a
		}
	}
	if r.CorsPolicy != nil {
		if a := t.cors(vs, r.CorsPolicy, at+".corsPolicy"); a != nil {
			tpfc[corsFilterName] = a
		}
	}
	if len(tpfc) > 0 {
		route.TypedPerFilterConfig = tpfc
	}
	return route
}

// headerOps translates set (overwrite), add (append) and remove.
func headerOps(h *v1alpha1.HeaderOperations) ([]*corev3.HeaderValueOption, []string) {
	var add []*corev3.HeaderValueOption
	for _, k := range slices.Sorted(maps.Keys(h.Set)) {
		if lk := strings.ToLower(k); lk == "host" || lk == ":authority" {
			continue // a host rewrite
		}
		add = append(add, &corev3.HeaderValueOption{Header: &corev3.HeaderValue{Key: k, Value: h.Set[k]},
			AppendAction: corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD})
	}
	for _, k := range slices.Sorted(maps.Keys(h.Add)) {
		add = append(add, &corev3.HeaderValueOption{Header: &corev3.HeaderValue{Key: k, Value: h.Add[k]},
			AppendAction: corev3.HeaderValueOption_APPEND_IF_EXISTS_OR_ADD})
	}
	return add, slices.Clone(h.Remove)
}

// destination resolves a destination to a cluster of this proxy: BlackHoleCluster, with a
// problem, when the host, port or subset does not exist.
func (t *translator) destination(vs *v1alpha1.VirtualService, ns string, d v1alpha1.Destination, at string, listenerPort int32) (string, *serviceClusters) {
	host := t.snap.ResolveHost(d.Host, ns)
	svc := t.service(host)
	if svc == nil || !mesh.Exported(svc.ExportTo, svc.Namespace, t.proxy.Namespace) {
		t.vsProblem(vs, at+".host", ReasonHostNotFound, "host %q is not a service visible from namespace %s; traffic to it fails", host, t.proxy.Namespace)
		return BlackHoleCluster, nil
	}
	var port mesh.Port
	switch {
	case d.Port != nil:
		p, ok := svc.Port(d.Port.Number)
		if !ok {
			t.vsProblem(vs, at+".port", ReasonHostNotFound, "service %s has no port %d", host, d.Port.Number)
			return BlackHoleCluster, nil
		}
		port = p
	case len(svc.Ports) == 1:
		port = svc.Ports[0]
	default:
		p, ok := svc.Port(listenerPort)
		if !ok {
			t.vsProblem(vs, at, ReasonHostNotFound, "service %s has several ports and none is %d: name the port", host, listenerPort)
			return BlackHoleCluster, nil
		}
		port = p
	}
	sc := t.serviceClusters(svc, port)
	if d.Subset != "" && !sc.subsets[string(d.Subset)] {
		t.vsProblem(vs, at+".subset", ReasonSubsetNotFound, "no DestinationRule for %s defines subset %q; traffic to it fails", host, d.Subset)
		return BlackHoleCluster, nil
	}
	// The cluster a route names is added here: subset clusters no route names are left out, and
	// a service out of the proxy's egress scope still gets the cluster a rule routes to.
	name := OutboundClusterName(port.Number, string(d.Subset), host)
	for _, c := range sc.clusters {
		if c.GetName() == name {
			t.addCluster(c)
		}
	}
	t.addOnce(sc, sc.problems)
	return name, sc
}

func (t *translator) routeAction(vs *v1alpha1.VirtualService, ns string, r *v1alpha1.HTTPRoute, at string, port int32, route *routev3.Route) *routev3.RouteAction {
	ra := &routev3.RouteAction{Timeout: durationpb.New(0)}
	type weighted struct {
		name    string
		weight  uint32
		headers *v1alpha1.Headers
	}
	var ws []weighted
	var hash []*routev3.RouteAction_HashPolicy
	for i, d := range r.Route {
		if d.Weight == 0 && len(r.Route) > 1 {
			continue // zero weights are dropped
		}
		name, sc := t.destination(vs, ns, d.Destination, fmt.Sprintf("%s.route[%d].destination", at, i), port)
		if sc != nil && hash == nil {
			hash = sc.hash[name]
		}
		w := uint32(d.Weight)
		if len(r.Route) == 1 {
			w = 100
		}
		ws = append(ws, weighted{name, w, d.Headers})
	}
	switch len(ws) {
	case 0:
		t.vsProblem(vs, at+".route", ReasonInvalidConfig, "no destination with a weight above zero; rule skipped")
		return nil
	case 1:
		ra.ClusterSpecifier = &routev3.RouteAction_Cluster{Cluster: ws[0].name}
		if h := ws[0].headers; h != nil {
			if h.Request != nil {
				if a := authority(h.Request); a != "" {
					ra.HostRewriteSpecifier = &routev3.RouteAction_HostRewriteLiteral{HostRewriteLiteral: a}
				}
				add, rm := headerOps(h.Request)
				route.RequestHeadersToAdd = append(route.RequestHeadersToAdd, add...)
				route.RequestHeadersToRemove = append(route.RequestHeadersToRemove, rm...)
			}
			if h.Response != nil {
				add, rm := headerOps(h.Response)
				route.ResponseHeadersToAdd = append(route.ResponseHeadersToAdd, add...)
				route.ResponseHeadersToRemove = append(route.ResponseHeadersToRemove, rm...)
			}
		}
	default:
		wc := &routev3.WeightedCluster{}
		for _, w := range ws {
			cw := &routev3.WeightedCluster_ClusterWeight{Name: w.name, Weight: wrapperspb.UInt32(w.weight)}
			if h := w.headers; h != nil {
				if h.Request != nil {
					cw.RequestHeadersToAdd, cw.RequestHeadersToRemove = headerOps(h.Request)
					if a := authority(h.Request); a != "" {
						cw.HostRewriteSpecifier = &routev3.WeightedCluster_ClusterWeight_HostRewriteLiteral{HostRewriteLiteral: a}
					}
				}
				if h.Response != nil {
					cw.ResponseHeadersToAdd, cw.ResponseHeadersToRemove = headerOps(h.Response)
				}
			}
			wc.Clusters = append(wc.Clusters, cw)
		}
		ra.ClusterSpecifier = &routev3.RouteAction_WeightedClusters{WeightedClusters: wc}
	}
	ra.HashPolicy = hash
	if d, ok := parseDuration(r.Timeout); ok {
		ra.Timeout = durationpb.New(d)
	}
	ra.RetryPolicy = t.retryPolicy(vs, r.Retries, at+".retries")
	if hash != nil && ra.RetryPolicy != nil {
		// Retrying on another host would break the affinity consistent hashing gives.
		rp := proto.Clone(ra.RetryPolicy).(*routev3.RetryPolicy)
		rp.RetryHostPredicate = nil
		ra.RetryPolicy = rp
	}
	// Mirrors.
	if r.Mirror != nil {
		name, _ := t.destination(vs, ns, *r.Mirror, at+".mirror", port)
		pct := &typev3.FractionalPercent{Numerator: 100, Denominator: typev3.FractionalPercent_HUNDRED}
		switch {
		case r.MirrorPercentage != nil:
			pct = percent(r.MirrorPercentage.Value)
		case r.MirrorPercent != nil:
			pct = &typev3.FractionalPercent{Numerator: uint32(*r.MirrorPercent), Denominator: typev3.FractionalPercent_HUNDRED}
		case r.MirrorPercentLegacy != nil:
			pct = &typev3.FractionalPercent{Numerator: uint32(*r.MirrorPercentLegacy), Denominator: typev3.FractionalPercent_HUNDRED}
		}
		if pct.Numerator > 0 { // an explicit 0% mirrors nothing
			ra.RequestMirrorPolicies = append(ra.RequestMirrorPolicies, mirrorPolicy(name, pct))
		}
	}
	for i, m := range r.Mirrors {
		name, _ := t.destination(vs, ns, m.Destination, fmt.Sprintf("%s.mirrors[%d].destination", at, i), port)
		pct := &typev3.FractionalPercent{Numerator: 100, Denominator: typev3.FractionalPercent_HUNDRED}
		if m.Percentage != nil {
			pct = percent(m.Percentage.Value)
		}
		if pct.Numerator > 0 {
			ra.RequestMirrorPolicies = append(ra.RequestMirrorPolicies, mirrorPolicy(name, pct))
		}
	}
	if rw := r.Rewrite; rw != nil {
		if rw.URI != "" {
			regexMatch := ""
			for _, m := range r.Match {
				if m.URI != nil && m.URI.Regex != nil {
					regexMatch = *m.URI.Regex
				}
			}
			if regexMatch != "" {
				ra.RegexRewrite = &matcherv3.RegexMatchAndSubstitute{Pattern: &matcherv3.RegexMatcher{Regex: regexMatch}, Substitution: rw.URI}
			} else {
				ra.PrefixRewrite = rw.URI
			}
		}
		if rr := rw.URIRegexRewrite; rr != nil {
			if _, err := regexp.Compile(rr.Match); err != nil {
				t.vsProblem(vs, at+".rewrite.uriRegexRewrite.match", ReasonInvalidConfig, "rule skipped: regex does not compile: %v", err)
				return nil
			}
			ra.RegexRewrite = &matcherv3.RegexMatchAndSubstitute{Pattern: &matcherv3.RegexMatcher{Regex: rr.Match}, Substitution: rr.Rewrite}
		}
		if rw.Authority != "" {
			ra.HostRewriteSpecifier = &routev3.RouteAction_HostRewriteLiteral{HostRewriteLiteral: rw.Authority}
		}
	}
	return ra
}

func mirrorPolicy(cluster string, pct *typev3.FractionalPercent) *routev3.RouteAction_RequestMirrorPolicy {
	return &routev3.RouteAction_RequestMirrorPolicy{Cluster: cluster,
		RuntimeFraction: &corev3.RuntimeFractionalPercent{DefaultValue: pct}}
}

// percent turns Istio's Percent (0–100, fractional) into an Envoy fraction of a million.
func percent(v float64) *typev3.FractionalPercent {
	return &typev3.FractionalPercent{Numerator: uint32(v*10000 + 0.5), Denominator: typev3.FractionalPercent_MILLION}
}

func (t *translator) retryPolicy(vs *v1alpha1.VirtualService, r *v1alpha1.HTTPRetry, at string) *routev3.RetryPolicy {
	if r == nil {
		return defaultRetryPolicy()
	}
	if r.Attempts == 0 {
		return nil // retries disabled
	}
	rp := &routev3.RetryPolicy{
		NumRetries:                    wrapperspb.UInt32(uint32(r.Attempts)),
		RetryHostPredicate:            []*routev3.RetryPolicy_RetryHostPredicate{previousHostsPredicate},
		HostSelectionRetryMaxAttempts: 5,
	}
	if r.RetryOn == "" {
		rp.RetryOn, rp.RetriableStatusCodes = defaultRetryOn, []uint32{503}
	} else {
		var on []string
		for _, tok := range strings.Split(r.RetryOn, ",") {
			tok = strings.TrimSpace(tok)
			if code, err := strconv.Atoi(tok); err == nil && http.StatusText(code) != "" {
				rp.RetriableStatusCodes = append(rp.RetriableStatusCodes, uint32(code))
				continue
			}
			if tok != "" && !slices.Contains(on, tok) {
				on = append(on, tok)
			}
		}
		if len(rp.RetriableStatusCodes) > 0 && !slices.Contains(on, "retriable-status-codes") {
			on = append(on, "retriable-status-codes")
		}
		rp.RetryOn = strings.Join(on, ",")
	}
	if d, ok := parseDuration(r.PerTryTimeout); ok {
		rp.PerTryTimeout = durationpb.New(d)
	}
	if d, ok := parseDuration(r.Backoff); ok {
		rp.RetryBackOff = &routev3.RetryPolicy_RetryBackOff{BaseInterval: durationpb.New(d)}
	}
	if r.RetryIgnorePreviousHosts != nil && !*r.RetryIgnorePreviousHosts {
		rp.RetryHostPredicate = nil
	}
	if r.RetryRemoteLocalities != nil && *r.RetryRemoteLocalities {
		rp.RetryPriority = previousPriorities
	}
	return rp
}

func (t *translator) redirect(vs *v1alpha1.VirtualService, r *v1alpha1.HTTPRedirect, at string, port int32) *routev3.RedirectAction {
	ra := &routev3.RedirectAction{HostRedirect: r.Authority}
	if r.Scheme != "" {
		ra.SchemeRewriteSpecifier = &routev3.RedirectAction_SchemeRedirect{SchemeRedirect: r.Scheme}
	}
	switch {
	case r.PrefixRewrite != "":
		ra.PathRewriteSpecifier = &routev3.RedirectAction_PrefixRewrite{PrefixRewrite: r.PrefixRewrite}
	case r.URI != "":
		ra.PathRewriteSpecifier = &routev3.RedirectAction_PathRedirect{PathRedirect: r.URI}
	}
	// Routes are built per listener port, so the request's port is known; the protocol default
	// is Envoy's behaviour without a port. An explicit :80 for http or :443 for https is dropped.
	switch {
	case r.Port != nil:
		ra.PortRedirect = uint32(*r.Port)
	case r.DerivePort != nil && *r.DerivePort == v1alpha1.RedirectFromRequestPort:
		ra.PortRedirect = uint32(port)
	}
	scheme := r.Scheme
	if scheme == "" {
		scheme = "http"
	}
	if (ra.PortRedirect == 80 && scheme == "http") || (ra.PortRedirect == 443 && scheme == "https") {
		ra.PortRedirect = 0
	}
	switch r.RedirectCode {
	case 0, 301:
		ra.ResponseCode = routev3.RedirectAction_MOVED_PERMANENTLY
	case 302:
		ra.ResponseCode = routev3.RedirectAction_FOUND
	case 303:
		ra.ResponseCode = routev3.RedirectAction_SEE_OTHER
	case 307:
		ra.ResponseCode = routev3.RedirectAction_TEMPORARY_REDIRECT
	case 308:
		ra.ResponseCode = routev3.RedirectAction_PERMANENT_REDIRECT
	default:
		t.vsUnsupported(vs, at+".redirectCode", fmt.Sprintf("redirect code %d (Envoy redirects with 301, 302, 303, 307 or 308); 301 is used", r.RedirectCode))
		ra.ResponseCode = routev3.RedirectAction_MOVED_PERMANENTLY
	}
	return ra
}

// authority is a host rewrite given as a request header set ("host" or ":authority").
func authority(h *v1alpha1.HeaderOperations) string {
	for _, k := range slices.Sorted(maps.Keys(h.Set)) {
		if lk := strings.ToLower(k); lk == "host" || lk == ":authority" {
			return h.Set[k]
		}
	}
	return ""
}

// regexesCompile checks the regexes of a match with Go's RE2, the dialect Envoy uses: Envoy
// rejects a whole listener for one bad regex, and file-based xDS has no NACK to tell anyone.
func (t *translator) regexesCompile(vs *v1alpha1.VirtualService, m *v1alpha1.HTTPMatchRequest, at string) bool {
	check := func(field string, sm *v1alpha1.StringMatch) bool {
		if sm == nil || sm.Regex == nil {
			return true
		}
		if _, err := regexp.Compile(*sm.Regex); err != nil {
			t.vsProblem(vs, at+".match."+field+".regex", ReasonInvalidConfig, "match dropped: regex does not compile: %v", err)
			return false
		}
		return true
	}
	ok := check("uri", m.URI) && check("scheme", m.Scheme) && check("method", m.Method) && check("authority", m.Authority)
	for _, set := range []struct {
		name string
		m    map[string]v1alpha1.StringMatch
	}{{"headers", m.Headers}, {"withoutHeaders", m.WithoutHeaders}, {"queryParams", m.QueryParams}} {
		for _, k := range slices.Sorted(maps.Keys(set.m)) {
			sm := set.m[k]
			ok = ok && check(set.name+"["+k+"]", &sm)
		}
	}
	return ok
}
