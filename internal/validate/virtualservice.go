package validate

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/mizzen-mesh/mizzen/api/v1alpha1"
)

// VirtualService returns the problems of a VirtualService that its CRD's schema and CEL rules
// cannot find, in spec order. The object's namespace is used to resolve exportTo ".".
func VirtualService(vs *v1alpha1.VirtualService) []Problem {
	return checkVirtualService(vs).errs
}

// VirtualServiceWarnings returns what Istio's webhook accepts but warns about: legacy gateway
// names, IP addresses as SNI hosts, deprecated fields, aborts without an error, large direct
// responses, rules that can never match.
func VirtualServiceWarnings(vs *v1alpha1.VirtualService) []Problem {
	return checkVirtualService(vs).warns
}

func checkVirtualService(vs *v1alpha1.VirtualService) problems {
	var ps problems
	if vs == nil {
		return ps
	}
	s := &vs.Spec
	spec := field.NewPath("spec")
	// Bound to gateways only (not to the sidecars of the mesh): gateways are listed and "mesh"
	// is not among them.
	gatewayBound := len(s.Gateways) > 0 && !slices.Contains(s.Gateways, meshGateway)

	checkVSHosts(&ps, spec.Child("hosts"), s, gatewayBound)
	for i, g := range s.Gateways {
		checkGatewayRef(&ps, spec.Child("gateways").Index(i), g)
	}
	for i := range s.HTTP {
		checkHTTPRoute(&ps, spec.Child("http").Index(i), &s.HTTP[i], gatewayBound)
	}
	for i := range s.TLS {
		checkTLSRoute(&ps, spec.Child("tls").Index(i), &s.TLS[i], s, gatewayBound)
	}
	for i := range s.TCP {
		checkTCPRoute(&ps, spec.Child("tcp").Index(i), &s.TCP[i])
	}
	checkExportTo(&ps, spec.Child("exportTo"), vs.Namespace, s.ExportTo, false)
	warnUnreachable(&ps, spec.Child("http"), len(s.HTTP), func(i int) []any {
		ms := make([]any, len(s.HTTP[i].Match))
		for j, m := range s.HTTP[i].Match {
			m.Name = "" // a name does not change what a match selects
			ms[j] = m
		}
		return ms
	})
	warnUnreachable(&ps, spec.Child("tls"), len(s.TLS), func(i int) []any { return anySlice(s.TLS[i].Match) })
	warnUnreachable(&ps, spec.Child("tcp"), len(s.TCP), func(i int) []any { return anySlice(s.TCP[i].Match) })
	return ps
}

// routesBySNI reports whether any TLS route matches on SNI hosts.
func routesBySNI(s *v1alpha1.VirtualServiceSpec) bool {
	for _, r := range s.TLS {
		for _, m := range r.Match {
			if len(m.SniHosts) > 0 {
				return true
			}
		}
	}
	return false
}

func checkVSHosts(ps *problems, p *field.Path, s *v1alpha1.VirtualServiceSpec, gatewayBound bool) {
	sni := routesBySNI(s)
	allValid := true
	for i, h := range s.Hosts {
		var err error
		if gatewayBound {
			err = checkGatewayBoundDomain(sni, h)
		} else {
			err = checkWildcardDomain(h)
		}
		switch {
		case err != nil && !isIP(h):
			ps.add(p.Index(i), ReasonInvalidHost, "%v", err)
			allValid = false
		case err == nil && h == "*" && !gatewayBound:
			allValid = false // rejected by a CEL rule: "*" is not allowed on the mesh
		}
	}
	if !allValid {
		return
	}
	for j := 1; j < len(s.Hosts); j++ {
		for i := range j {
			if hostsOverlap(s.Hosts[i], s.Hosts[j]) {
				ps.add(p.Index(j), ReasonDuplicateHost, "host %q overlaps host %q listed before it", s.Hosts[j], s.Hosts[i])
				break
			}
		}
	}
}

func checkGatewayRef(ps *problems, p *field.Path, g string) {
	if err := checkGatewayName(g); err != nil {
		ps.add(p, ReasonInvalidGatewayName, "gateway %q: %v; use namespace/name or mesh", g, err)
		return
	}
	if name, ns, legacy := strings.Cut(g, "."); legacy && !strings.Contains(g, "/") {
		ps.warn(p, WarnLegacyGatewayName, "gateway %q uses the legacy name.namespace form; prefer %s/%s", g, ns, name)
	}
}

func checkHTTPRoute(ps *problems, p *field.Path, r *v1alpha1.HTTPRoute, gatewayBound bool) {
	for j := range r.Match {
		checkHTTPMatch(ps, p.Child("match").Index(j), &r.Match[j], gatewayBound)
	}
	for k := range r.Route {
		d := &r.Route[k]
		dp := p.Child("route").Index(k)
		checkDestination(ps, dp.Child("destination"), &d.Destination)
		checkHeaderOperations(ps, dp.Child("headers"), d.Headers)
	}
	if r.Redirect != nil {
		checkRedirect(ps, p.Child("redirect"), r.Redirect, r.Match)
	}
	if r.Rewrite != nil && r.Rewrite.URIRegexRewrite != nil {
		checkRegexAt(ps, p.Child("rewrite", "uriRegexRewrite", "match"), r.Rewrite.URIRegexRewrite.Match)
	}
	if d := r.DirectResponse; d != nil && d.Body != nil {
		size := len(d.Body.Bytes)
		if d.Body.String != nil {
			size = len(*d.Body.String)
		}
		if size > largeBody {
			ps.warn(p.Child("directResponse", "body"), WarnLargeDirectResponse,
				"a %d-byte direct response body is large; bodies over %d bytes weigh on every proxy's configuration", size, largeBody)
		}
	}
	if r.Retries != nil && r.Retries.RetryOn != "" {
		if bad := badRetryOn(r.Retries.RetryOn); len(bad) > 0 {
			ps.add(p.Child("retries", "retryOn"), ReasonInvalidRetryOn,
				"%s not an Envoy retry condition or HTTP status code (valid: %s, or a status code such as 503)",
				quoteList(bad), strings.Join(retryOnConditions, ", "))
		}
	}
	if f := r.Fault; f != nil && f.Abort != nil && f.Abort.HTTPStatus == nil && f.Abort.GrpcStatus == nil && f.Abort.HTTP2Error == nil {
		ps.warn(p.Child("fault", "abort"), WarnAbortWithoutErrorType, "abort sets no httpStatus or grpcStatus, so it aborts nothing")
	}
	if r.Mirror != nil {
		checkDestination(ps, p.Child("mirror"), r.Mirror)
	}
	for k := range r.Mirrors {
		checkDestination(ps, p.Child("mirrors").Index(k).Child("destination"), &r.Mirrors[k].Destination)
	}
	if r.MirrorPercent != nil {
		ps.warn(p.Child("mirrorPercent"), WarnDeprecatedField, "mirrorPercent is deprecated; use mirrorPercentage")
	}
	if r.MirrorPercentLegacy != nil {
		ps.warn(p.Child("mirror_percent"), WarnDeprecatedField, "mirror_percent is deprecated; use mirrorPercentage")
	}
	if r.CorsPolicy != nil {
		checkCORS(ps, p.Child("corsPolicy"), r.CorsPolicy)
	}
	checkHeaderOperations(ps, p.Child("headers"), r.Headers)
	checkAuthorityRewrite(ps, p, r)
}

func checkHTTPMatch(ps *problems, p *field.Path, m *v1alpha1.HTTPMatchRequest, gatewayBound bool) {
	checkStringMatchRegex(ps, p.Child("uri"), m.URI)
	checkStringMatchRegex(ps, p.Child("scheme"), m.Scheme)
	checkStringMatchRegex(ps, p.Child("method"), m.Method)
	checkStringMatchRegex(ps, p.Child("authority"), m.Authority)
	for _, kind := range []struct {
		name string
		m    map[string]v1alpha1.StringMatch
	}{{"headers", m.Headers}, {"withoutHeaders", m.WithoutHeaders}} {
		for _, k := range slices.Sorted(maps.Keys(kind.m)) {
			kp := p.Child(kind.name).Key(k)
			if err := checkMatchHeaderName(k); err != nil {
				ps.add(kp, ReasonInvalidHeaderName, "%v", err)
			} else if isJWTClaimRoute(k) && !gatewayBound {
				ps.add(kp, ReasonJWTClaimRouteOnMesh,
					"JWT claim routing (%q) works only on gateways: list gateways in spec.gateways and leave out mesh", k)
			}
			sm := kind.m[k]
			if kind.name == "withoutHeaders" && sm.Regex != nil && *sm.Regex == "*" {
				continue // "*" means "present", it is not a regex
			}
			checkStringMatchRegex(ps, kp, &sm)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(m.QueryParams)) {
		sm := m.QueryParams[k]
		checkStringMatchRegex(ps, p.Child("queryParams").Key(k), &sm)
	}
	checkLabels(ps, p.Child("sourceLabels"), m.SourceLabels)
	for k, g := range m.Gateways {
		checkGatewayRef(ps, p.Child("gateways").Index(k), g)
	}
}

func checkStringMatchRegex(ps *problems, p *field.Path, sm *v1alpha1.StringMatch) {
	if sm != nil && sm.Regex != nil {
		checkRegexAt(ps, p.Child("regex"), *sm.Regex)
	}
}

func checkRegexAt(ps *problems, p *field.Path, re string) {
	if reason, err := checkRegex(re); err != nil {
		ps.add(p, reason, "%v", err)
	}
}

func checkLabels(ps *problems, p *field.Path, labels map[string]string) {
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		err := checkLabelKey(k)
		if err == nil {
			err = checkLabelValue(labels[k])
		}
		if err != nil {
			ps.add(p.Key(k), ReasonInvalidLabel, "%v", err)
		}
	}
}

// checkDestination checks the host of a route, mirror or TLS/TCP destination: a service name or a
// wildcard domain, not an IP address. (Subset, port and "not *" are CEL rules.)
func checkDestination(ps *problems, p *field.Path, d *v1alpha1.Destination) {
	if d.Host == "*" {
		return // rejected by a CEL rule
	}
	if isIP(d.Host) {
		ps.add(p.Child("host"), ReasonInvalidHost, "destination host %q must be a service name, not an IP address", d.Host)
	} else if err := checkWildcardDomain(d.Host); err != nil {
		ps.add(p.Child("host"), ReasonInvalidHost, "%v", err)
	}
}

func checkRedirect(ps *problems, p *field.Path, r *v1alpha1.HTTPRedirect, matches []v1alpha1.HTTPMatchRequest) {
	if r.URI != "" && r.PrefixRewrite != "" {
		ps.add(p, ReasonRedirectConflict, "only one of uri or prefixRewrite may be set")
		return
	}
	if r.PrefixRewrite == "" {
		return
	}
	for j, m := range matches {
		if m.URI != nil && m.URI.Prefix == nil {
			ps.add(p.Child("prefixRewrite"), ReasonRedirectNeedsPrefixMatch,
				"prefixRewrite needs every uri match to be a prefix match, match[%d].uri is not", j)
			return
		}
	}
}

func checkCORS(ps *problems, p *field.Path, c *v1alpha1.CorsPolicy) {
	for k := range c.AllowOrigins {
		checkStringMatchRegex(ps, p.Child("allowOrigins").Index(k), &c.AllowOrigins[k])
	}
	for _, list := range []struct {
		name  string
		names []string
	}{{"allowHeaders", c.AllowHeaders}, {"exposeHeaders", c.ExposeHeaders}} {
		for k, h := range list.names {
			if err := checkCORSHeaderName(h); err != nil {
				ps.add(p.Child(list.name).Index(k), ReasonInvalidHeaderName, "%v", err)
			}
		}
	}
}

// checkHeaderOperations checks the names and values of header set/add/remove operations.
func checkHeaderOperations(ps *problems, p *field.Path, h *v1alpha1.Headers) {
	if h == nil {
		return
	}
	for _, dir := range []struct {
		name string
		ops  *v1alpha1.HeaderOperations
		set  headerOp
	}{{"request", h.Request, requestSetOrAdd}, {"response", h.Response, otherHeaderOp}} {
		if dir.ops == nil {
			continue
		}
		dp := p.Child(dir.name)
		for _, op := range []struct {
			name string
			m    map[string]string
		}{{"set", dir.ops.Set}, {"add", dir.ops.Add}} {
			for _, k := range slices.Sorted(maps.Keys(op.m)) {
				kp := dp.Child(op.name).Key(k)
				if reason, err := checkHeaderOperationName(k, dir.set); err != nil {
					ps.add(kp, reason, "%v", err)
				}
				if err := checkHeaderValue(op.m[k]); err != nil {
					ps.add(kp, ReasonInvalidHeaderValue, "%v", err)
				}
			}
		}
		for k, name := range dir.ops.Remove {
			if reason, err := checkHeaderOperationName(name, otherHeaderOp); err != nil {
				ps.add(dp.Child("remove").Index(k), reason, "%v", err)
			}
		}
	}
}

// checkAuthorityRewrite: the authority may be rewritten in one place only — rewrite.authority,
// or one ":authority"/"Host" entry of headers.request.set or add.
func checkAuthorityRewrite(ps *problems, p *field.Path, r *v1alpha1.HTTPRoute) {
	var first string
	if r.Rewrite != nil && r.Rewrite.Authority != "" {
		first = "rewrite.authority"
	}
	if r.Headers == nil || r.Headers.Request == nil {
		return
	}
	for _, op := range []struct {
		name string
		m    map[string]string
	}{{"set", r.Headers.Request.Set}, {"add", r.Headers.Request.Add}} {
		for _, k := range slices.Sorted(maps.Keys(op.m)) {
			if !isAuthorityHeader(k) {
				continue
			}
			here := fmt.Sprintf("headers.request.%s[%s]", op.name, k)
			if first != "" {
				ps.add(p.Child("headers", "request", op.name).Key(k), ReasonAuthorityRewriteConflict,
					"the authority is already rewritten by %s; rewrite it in one place only", first)
				continue
			}
			first = here
		}
	}
}

func checkTLSRoute(ps *problems, p *field.Path, r *v1alpha1.TLSRoute, s *v1alpha1.VirtualServiceSpec, gatewayBound bool) {
	for j := range r.Match {
		m := &r.Match[j]
		mp := p.Child("match").Index(j)
		for k, sni := range m.SniHosts {
			checkSNIHost(ps, mp.Child("sniHosts").Index(k), sni, s.Hosts, gatewayBound)
		}
		checkSubnets(ps, mp.Child("destinationSubnets"), m.DestinationSubnets)
		checkLabels(ps, mp.Child("sourceLabels"), m.SourceLabels)
		for k, g := range m.Gateways {
			checkGatewayRef(ps, mp.Child("gateways").Index(k), g)
		}
	}
	for k := range r.Route {
		checkDestination(ps, p.Child("route").Index(k).Child("destination"), &r.Route[k].Destination)
	}
}

// checkSNIHost: a wildcard domain (on gateways also Istio's outbound_ form; an IP address is
// tolerated, as Istio only warns) within one of the VirtualService's hosts.
func checkSNIHost(ps *problems, p *field.Path, sni string, hosts []string, gatewayBound bool) {
	var err error
	if gatewayBound {
		err = checkGatewayBoundDomain(true, sni)
	} else {
		err = checkWildcardDomain(sni)
	}
	if err != nil {
		if isIP(sni) {
			ps.warn(p, WarnSNIHostIsIP, "SNI host %q is an IP address, which the SNI specification does not allow and most clients never send", sni)
		} else {
			ps.add(p, ReasonInvalidSNIHost, "%v", err)
		}
		return
	}
	for _, h := range hosts {
		if hostWithin(sni, h) {
			return
		}
	}
	ps.add(p, ReasonSNIHostNotInHosts, "SNI host %q is not within any of the VirtualService's hosts [%s]", sni, strings.Join(hosts, ", "))
}

func checkSubnets(ps *problems, p *field.Path, subnets []string) {
	for k, s := range subnets {
		if err := checkSubnet(s); err != nil {
			ps.add(p.Index(k), ReasonInvalidSubnet, "%v", err)
		}
	}
}

func checkTCPRoute(ps *problems, p *field.Path, r *v1alpha1.TCPRoute) {
	for j := range r.Match {
		m := &r.Match[j]
		mp := p.Child("match").Index(j)
		checkSubnets(ps, mp.Child("destinationSubnets"), m.DestinationSubnets)
		if m.SourceSubnet != "" {
			// Istio does not check sourceSubnet; a malformed one would only make a broken listener.
			if err := checkSubnet(m.SourceSubnet); err != nil {
				ps.add(mp.Child("sourceSubnet"), ReasonInvalidSubnet, "%v", err)
			}
		}
		checkLabels(ps, mp.Child("sourceLabels"), m.SourceLabels)
		for k, g := range m.Gateways {
			checkGatewayRef(ps, mp.Child("gateways").Index(k), g)
		}
	}
	for k := range r.Route {
		checkDestination(ps, p.Child("route").Index(k).Child("destination"), &r.Route[k].Destination)
	}
}

// largeBody is the direct-response size above which Istio warns (it rejects above 1 MiB).
const largeBody = 100 * 1024

// warnUnreachable flags, in a list of n rules whose matches are given by matchesOf, rules that
// can never be reached the way Istio's webhook does: a rule after a rule without matches (which
// takes everything), and matches equal to one of an earlier rule (a rule all of whose matches
// are taken is unreachable).
func warnUnreachable(ps *problems, p *field.Path, n int, matchesOf func(int) []any) {
	catchAll := -1
	seen := map[string]int{}
	for i := range n {
		ms := matchesOf(i)
		if len(ms) == 0 {
			if catchAll >= 0 {
				ps.warn(p.Index(i), WarnUnreachableRule, "rule is never used: rule %d before it has no matches and takes all traffic", catchAll)
			}
			catchAll = i
			continue
		}
		if catchAll >= 0 {
			ps.warn(p.Index(i), WarnUnreachableRule, "rule is never used: rule %d before it has no matches and takes all traffic", catchAll)
			continue
		}
		dups := 0
		for j, m := range ms {
			key, err := json.Marshal(m)
			if err != nil {
				continue
			}
			if prev, ok := seen[string(key)]; ok {
				ps.warn(p.Index(i).Child("match").Index(j), WarnIneffectiveMatch, "match is never used: rule %d has the same match", prev)
				dups++
				continue
			}
			seen[string(key)] = i
		}
		if dups == len(ms) {
			ps.warn(p.Index(i), WarnUnreachableRule, "rule is never used: all its matches are taken by earlier rules")
		}
	}
}

func anySlice[T any](s []T) []any {
	out := make([]any, len(s))
	for i := range s {
		out[i] = s[i]
	}
	return out
}

func quoteList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	if len(q) == 1 {
		return q[0] + " is"
	}
	return strings.Join(q, ", ") + " are"
}
