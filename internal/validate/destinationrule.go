package validate

import (
	"maps"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/mizzen-mesh/mizzen/api/v1alpha1"
)

// Envoy's bounds, which Istio passes on unchecked.
const (
	maxRingSize      = 8388608 // envoy.extensions.load_balancing_policies.ring_hash.v3.RingHash
	configMapCredURI = "configmap://"
)

// Topology labels that locality failover already orders by.
var topologyLabels = []string{
	"topology.kubernetes.io/region",
	"topology.kubernetes.io/zone",
	"topology.istio.io/subzone",
}

// DestinationRule returns the problems of a DestinationRule that its CRD's schema and CEL rules
// cannot find, in spec order. The object's namespace is used for exportTo and configmap://
// credentials.
func DestinationRule(dr *v1alpha1.DestinationRule) []Problem {
	return checkDestinationRule(dr).errs
}

// DestinationRuleWarnings returns what Istio's webhook accepts but warns about: deprecated
// fields, and locality failover without outlier detection (failover never triggers then).
func DestinationRuleWarnings(dr *v1alpha1.DestinationRule) []Problem {
	return checkDestinationRule(dr).warns
}

func checkDestinationRule(dr *v1alpha1.DestinationRule) problems {
	var ps problems
	if dr == nil {
		return ps
	}
	s := &dr.Spec
	spec := field.NewPath("spec")
	if err := checkWildcardDomain(s.Host); err != nil {
		ps.add(spec.Child("host"), ReasonInvalidHost, "%v", err)
	}
	checkTrafficPolicy(&ps, spec.Child("trafficPolicy"), s.TrafficPolicy, dr.Namespace)
	for i := range s.Subsets {
		sp := spec.Child("subsets").Index(i)
		checkLabels(&ps, sp.Child("labels"), s.Subsets[i].Labels)
		checkTrafficPolicy(&ps, sp.Child("trafficPolicy"), s.Subsets[i].TrafficPolicy, dr.Namespace)
	}
	checkExportTo(&ps, spec.Child("exportTo"), dr.Namespace, s.ExportTo, s.WorkloadSelector != nil)
	return ps
}

func checkTrafficPolicy(ps *problems, p *field.Path, tp *v1alpha1.TrafficPolicy, namespace string) {
	if tp == nil {
		return
	}
	checkLoadBalancer(ps, p.Child("loadBalancer"), tp.LoadBalancer, tp.OutlierDetection != nil)
	checkConnectionPool(ps, p.Child("connectionPool"), tp.ConnectionPool)
	checkOutlierDetection(ps, p.Child("outlierDetection"), tp.OutlierDetection)
	checkClientTLS(ps, p.Child("tls"), tp.TLS, namespace)
	for i := range tp.PortLevelSettings {
		pp := p.Child("portLevelSettings").Index(i)
		pl := &tp.PortLevelSettings[i]
		checkLoadBalancer(ps, pp.Child("loadBalancer"), pl.LoadBalancer, pl.OutlierDetection != nil)
		checkConnectionPool(ps, pp.Child("connectionPool"), pl.ConnectionPool)
		checkOutlierDetection(ps, pp.Child("outlierDetection"), pl.OutlierDetection)
		checkClientTLS(ps, pp.Child("tls"), pl.TLS, namespace)
	}
	if t := tp.Tunnel; t != nil {
		if err := checkFQDN(t.TargetHost); err != nil && !isIP(t.TargetHost) {
			ps.add(p.Child("tunnel", "targetHost"), ReasonInvalidTunnelHost, "tunnel targetHost must be a DNS name or an IP address: %v", err)
		}
	}
}

func checkOutlierDetection(ps *problems, p *field.Path, od *v1alpha1.OutlierDetection) {
	if od != nil && od.ConsecutiveErrors != 0 {
		ps.warn(p.Child("consecutiveErrors"), WarnDeprecatedField, "consecutiveErrors is deprecated; use consecutive5xxErrors or consecutiveGatewayErrors")
	}
}

// checkLoadBalancer checks lb; outlier says whether the same policy sets outlierDetection.
func checkLoadBalancer(ps *problems, p *field.Path, lb *v1alpha1.LoadBalancerSettings, outlier bool) {
	if lb == nil {
		return
	}
	if ch := lb.ConsistentHash; ch != nil {
		cp := p.Child("consistentHash")
		if ch.HTTPHeaderName != nil {
			if err := checkEnvoyHeaderName(*ch.HTTPHeaderName); err != nil {
				ps.add(cp.Child("httpHeaderName"), ReasonInvalidHeaderName, "%v", err)
			}
		}
		if c := ch.HTTPCookie; c != nil {
			checkCookie(ps, cp.Child("httpCookie"), c)
		}
		if ch.RingHash != nil && ch.RingHash.MinimumRingSize > maxRingSize {
			ps.add(cp.Child("ringHash", "minimumRingSize"), ReasonRingSizeTooLarge,
				"minimumRingSize %d exceeds Envoy's maximum ring size %d", ch.RingHash.MinimumRingSize, maxRingSize)
		}
		if ch.MinimumRingSize != 0 {
			ps.warn(cp.Child("minimumRingSize"), WarnDeprecatedField, "minimumRingSize is deprecated; use ringHash.minimumRingSize")
		}
		if ch.MinimumRingSize > maxRingSize {
			ps.add(cp.Child("minimumRingSize"), ReasonRingSizeTooLarge,
				"minimumRingSize %d exceeds Envoy's maximum ring size %d", ch.MinimumRingSize, maxRingSize)
		}
		if ch.Maglev != nil && ch.Maglev.TableSize >= 0 && !isPrime(uint64(ch.Maglev.TableSize)) {
			ps.add(cp.Child("maglev", "tableSize"), ReasonNotPrime,
				"maglev tableSize %d is not a prime number (for example 65537 or 5000011 are)", ch.Maglev.TableSize)
		}
	}
	if lb.LocalityLbSetting != nil && lb.ZoneAwareLbSetting != nil {
		ps.add(p, ReasonLocalityConflict, "only one of localityLbSetting or zoneAwareLbSetting may be set")
	}
	checkLocalityLB(ps, p.Child("localityLbSetting"), lb.LocalityLbSetting)
	checkZoneAwareLB(ps, p.Child("zoneAwareLbSetting"), lb.ZoneAwareLbSetting)
	if !outlier {
		if l := lb.LocalityLbSetting; l != nil && (len(l.Failover) > 0 || len(l.FailoverPriority) > 0) {
			ps.warn(p.Child("localityLbSetting"), WarnFailoverWithoutOutlier,
				"failover needs outlierDetection in the same traffic policy, or unhealthy endpoints are never ejected and failover never happens")
		}
		if z := lb.ZoneAwareLbSetting; z != nil && (len(z.Failover) > 0 || len(z.FailoverPriority) > 0) {
			ps.warn(p.Child("zoneAwareLbSetting"), WarnFailoverWithoutOutlier,
				"failover needs outlierDetection in the same traffic policy, or unhealthy endpoints are never ejected and failover never happens")
		}
	}
}

// checkCookie: the name is an RFC 6265 cookie-name (an HTTP token), and attribute names are unique.
func checkCookie(ps *problems, p *field.Path, c *v1alpha1.HTTPCookie) {
	if c.Name != "" && !isToken(c.Name) {
		ps.add(p.Child("name"), ReasonInvalidCookieName,
			"cookie name %q must be a token: letters, digits and !#$%%&'*+-.^_`|~ only", c.Name)
	}
	seen := map[string]bool{}
	for i, a := range c.Attributes {
		if a.Name == "" {
			continue // rejected by the schema
		}
		if seen[a.Name] {
			ps.add(p.Child("attributes").Index(i).Child("name"), ReasonDuplicateCookieAttribute, "duplicate cookie attribute %q", a.Name)
		}
		seen[a.Name] = true
	}
}

func checkLocalityLB(ps *problems, p *field.Path, l *v1alpha1.LocalityLoadBalancerSetting) {
	if l == nil {
		return
	}
	if len(l.Distribute) > 0 && len(l.Failover) > 0 {
		ps.add(p, ReasonLocalityConflict, "only one of distribute or failover may be set")
		return
	}
	from := make([]string, len(l.Distribute))
	for i, d := range l.Distribute {
		from[i] = d.From
	}
	badFrom, fromErr := checkLocalities(from)
	for i, d := range l.Distribute {
		dp := p.Child("distribute").Index(i)
		if i == badFrom {
			ps.add(dp.Child("from"), ReasonInvalidLocality, "%v", fromErr)
		}
		keys := slices.Sorted(maps.Keys(d.To))
		var total int64
		weightsOK := true
		for _, k := range keys {
			if w := d.To[k]; w < 1 || w > 100 {
				ps.add(dp.Child("to").Key(k), ReasonInvalidLocalityWeight, "locality weight %d is not between 1 and 100", w)
				weightsOK = false
			}
			total += d.To[k]
		}
		if weightsOK && total != 100 {
			ps.add(dp.Child("to"), ReasonInvalidLocalityWeight, "locality weights add up to %d, not 100", total)
		}
		if k, err := checkLocalities(keys); err != nil {
			ps.add(dp.Child("to").Key(keys[k]), ReasonInvalidLocality, "%v", err)
		}
	}
	checkFailovers(ps, p.Child("failover"), len(l.Failover), func(i int) (string, string) {
		return l.Failover[i].From, l.Failover[i].To
	})
	if len(l.Failover) > 0 {
		for i, label := range l.FailoverPriority {
			if slices.Contains(topologyLabels, label) {
				ps.add(p.Child("failoverPriority").Index(i), ReasonLocalityConflict,
					"failover cannot be combined with the topology label %q in failoverPriority", label)
			}
		}
	}
}

func checkZoneAwareLB(ps *problems, p *field.Path, z *v1alpha1.ZoneAwareLoadBalancerSetting) {
	if z == nil {
		return
	}
	checkFailovers(ps, p.Child("failover"), len(z.Failover), func(i int) (string, string) {
		return z.Failover[i].From, z.Failover[i].To
	})
	for i, label := range z.FailoverPriority {
		if slices.Contains(topologyLabels, label) {
			ps.add(p.Child("failoverPriority").Index(i), ReasonInvalidFailoverPriority,
				"zone-aware balancing orders by region and zone itself; failoverPriority may not use %q", label)
		}
	}
}

// checkFailovers: each failover names two different plain regions (no "/" or "*").
func checkFailovers(ps *problems, p *field.Path, n int, at func(int) (from, to string)) {
	for i := range n {
		from, to := at(i)
		switch {
		case from == to:
			ps.add(p.Index(i), ReasonInvalidLocalityFailover, "failover from and to must be different regions, both are %q", from)
		case strings.Contains(from, "/") || strings.Contains(to, "/"):
			ps.add(p.Index(i), ReasonInvalidLocalityFailover, "failover names regions only, without zone or subzone (%q → %q)", from, to)
		case strings.Contains(from, "*") || strings.Contains(to, "*"):
			ps.add(p.Index(i), ReasonInvalidLocalityFailover, "failover regions may not contain the wildcard * (%q → %q)", from, to)
		}
	}
}

func checkConnectionPool(ps *problems, p *field.Path, cp *v1alpha1.ConnectionPoolSettings) {
	if cp == nil || cp.HTTP == nil || cp.HTTP.HTTP2KeepAlive == nil {
		return
	}
	ka := cp.HTTP.HTTP2KeepAlive
	kp := p.Child("http", "http2KeepAlive")
	if ka.Interval == nil {
		ps.add(kp.Child("interval"), ReasonKeepaliveIncomplete, "http2KeepAlive needs an interval")
	}
	if ka.Timeout == nil {
		ps.add(kp.Child("timeout"), ReasonKeepaliveIncomplete, "http2KeepAlive needs a timeout")
	}
}

// checkClientTLS: a "configmap://namespace/name" credentialName must name a ConfigMap in the
// rule's own namespace.
func checkClientTLS(ps *problems, p *field.Path, tls *v1alpha1.ClientTLSSettings, namespace string) {
	if tls == nil {
		return
	}
	ref, ok := strings.CutPrefix(tls.CredentialName, configMapCredURI)
	if !ok {
		return
	}
	ns, name, _ := strings.Cut(ref, "/")
	switch {
	case ns == "" || name == "":
		ps.add(p.Child("credentialName"), ReasonInvalidCredentialName, "credentialName %q must have the form configmap://<namespace>/<name>", tls.CredentialName)
	case namespace == "" || ns != namespace:
		ps.add(p.Child("credentialName"), ReasonInvalidCredentialName,
			"credentialName %q must name a ConfigMap in the DestinationRule's own namespace %q", tls.CredentialName, namespace)
	}
}
