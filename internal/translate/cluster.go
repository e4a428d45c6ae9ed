package translate

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	httpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/mizzen-mesh/mizzen/api/v1alpha1"
	"github.com/mizzen-mesh/mizzen/internal/envoy"
	"github.com/mizzen-mesh/mizzen/internal/mesh"
	"github.com/mizzen-mesh/mizzen/internal/validate"
)

// Istio's cluster defaults.
const (
	defaultConnectTimeout  = 10 * time.Second
	defaultRingSize        = 1024
	httpProtocolOptionsKey = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
)

// serviceClusters is what one service port contributes to every proxy that sees it under one
// DestinationRule: its default cluster and one per subset. Built once per snapshot (memoized), and
// kept across snapshots while its inputs stay the same (sharedClusters).
type serviceClusters struct {
	clusters []*clusterv3.Cluster
	subsets  map[string]bool
	// hash is the consistent-hash policy routes to a cluster must carry, by cluster name.
	hash     map[string][]*routev3.RouteAction_HashPolicy
	problems []validate.Problem
	// credentials the clusters' TLS contexts read (a gateway's client credentialName).
	credentials []envoy.Credential
}

type clusterKey struct {
	host string
	port int32
	dr   *v1alpha1.DestinationRule
	loc  mesh.Locality // zero unless the clusters depend on the proxy's locality
	// credNS is the gateway proxy's namespace when the rule names client credentials (Secrets
	// of that namespace); "" otherwise.
	credNS string
}

// serviceClusters returns the clusters of a service port as this proxy gets them.
func (t *translator) serviceClusters(svc *mesh.Service, port mesh.Port) *serviceClusters {
	dr := t.destinationRuleFor(svc.Hostname, svc.Namespace)
	if dr != nil {
		t.use("DestinationRule", dr)
	}
	key := clusterKey{host: svc.Hostname, port: port.Number, dr: dr}
	if dr != nil {
		aware := false
		base := effectivePolicy(dr, port.Number, nil, 0)
		aware = base.localityAware()
		for i := range dr.Spec.Subsets {
			p := effectivePolicy(dr, port.Number, &dr.Spec.Subsets[i], i)
			aware = aware || p.localityAware()
		}
		if aware {
			key.loc = t.proxy.Locality
		}
	}
	if t.proxy.Kind == mesh.Gateway && len(mesh.ClientCredentialNames(dr)) > 0 {
		key.credNS = t.proxy.Namespace
	}
	sc := t.snap.Memo(key, func() any {
		return sharedServiceClusters(t.snap, svc, port, key, func() *serviceClusters {
			b := &clusterBuilder{snap: t.snap, svc: svc, port: port, dr: dr, loc: key.loc, credNS: key.credNS,
				out: &serviceClusters{subsets: map[string]bool{}, hash: map[string][]*routev3.RouteAction_HashPolicy{}}}
			b.build()
			return b.out
		})
	}).(*serviceClusters)
	t.useCredentials(sc.credentials)
	return sc
}

// addOutboundClusters adds the clusters of every service port the proxy sees.
func (t *translator) addOutboundClusters() {
	for _, svc := range t.scopedServices() {
		for _, port := range svc.Ports {
			if port.Protocol == mesh.ProtocolUDP {
				continue
			}
			// The service's own cluster; subset clusters only when a route names them
			// (destination), which keeps unused subsets out of the proxy's config.
			sc := t.serviceClusters(svc, port)
			t.addCluster(sc.clusters[0])
			t.addOnce(sc, sc.problems)
		}
	}
}

type clusterBuilder struct {
	snap *mesh.Snapshot
	svc  *mesh.Service
	port mesh.Port
	dr   *v1alpha1.DestinationRule
	loc  mesh.Locality
	out  *serviceClusters
	// credNS: the gateway's namespace, whose Secrets client credentialNames name; "" for sidecars.
	credNS string
}

func (b *clusterBuilder) report(field, reason, format string, args ...any) {
	b.out.problems = append(b.out.problems, validate.Problem{
		Field:  mesh.ObjectKey("DestinationRule", b.dr.Namespace, b.dr.Name) + " " + field,
		Reason: reason, Message: fmt.Sprintf(format, args...),
	})
}

func (b *clusterBuilder) unsupported(field, what string) {
	b.report(field, ReasonUnsupported, "%s is accepted but not translated; it has no effect", what)
}

func (b *clusterBuilder) build() {
	eps := b.svc.Endpoints[b.port.Number]
	b.add("", eps, effectivePolicy(b.dr, b.port.Number, nil, 0))
	if b.dr == nil {
		return
	}
	b.reportTrafficPolicy(b.dr.Spec.TrafficPolicy, "spec.trafficPolicy")
	for i := range b.dr.Spec.Subsets {
		ss := &b.dr.Spec.Subsets[i]
		b.reportTrafficPolicy(ss.TrafficPolicy, fmt.Sprintf("spec.subsets[%d].trafficPolicy", i))
		var sub []mesh.Endpoint
		for _, e := range eps {
			if mesh.LabelsMatch(ss.Labels, e.Labels) {
				sub = append(sub, e)
			}
		}
		b.out.subsets[string(ss.Name)] = true
		b.add(string(ss.Name), sub, effectivePolicy(b.dr, b.port.Number, ss, i))
	}
}

// reportTrafficPolicy reports the traffic policy fields this package does not translate.
func (b *clusterBuilder) reportTrafficPolicy(tp *v1alpha1.TrafficPolicy, at string) {
	if tp == nil {
		return
	}
	if tp.Tunnel != nil {
		b.unsupported(at+".tunnel", "tunnel")
	}
	if tp.ProxyProtocol != nil {
		b.unsupported(at+".proxyProtocol", "proxyProtocol")
	}
	if tp.RetryBudget != nil {
		b.unsupported(at+".retryBudget", "retryBudget")
	}
}

// add builds the cluster of one subset ("" for the service itself).
func (b *clusterBuilder) add(subset string, eps []mesh.Endpoint, p policy) {
	name := OutboundClusterName(b.port.Number, subset, b.svc.Hostname)
	c := &clusterv3.Cluster{
		Name:                 name,
		ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_STATIC},
		ConnectTimeout:       durationpb.New(defaultConnectTimeout),
		LbPolicy:             clusterv3.Cluster_LEAST_REQUEST,
		CircuitBreakers:      defaultCircuitBreakers(),
		// Istio's outbound clusters are EDS and survive endpoint churn; a static cluster is
		// rebuilt with its config, so let Envoy keep connections to hosts that stay.
		CommonLbConfig: &clusterv3.Cluster_CommonLbConfig{},
	}
	passthrough := b.applyLoadBalancer(c, p)
	if passthrough {
		c.ClusterDiscoveryType = &clusterv3.Cluster_Type{Type: clusterv3.Cluster_ORIGINAL_DST}
		c.LbPolicy = clusterv3.Cluster_CLUSTER_PROVIDED
	} else {
		lp := b.localityPolicy(p)
		// Endpoints carry the tlsMode label only when auto mTLS must tell meshed from plain ones.
		mixed := b.autoMTLS(p) && slices.ContainsFunc(eps, func(e mesh.Endpoint) bool { return !e.Meshed })
		c.LoadAssignment = loadAssignment(name, eps, mixed, lp)
		if lp.distribute || (lp.failover && lp.failoverTo != "") {
			c.CommonLbConfig.LocalityConfigSpecifier = &clusterv3.Cluster_CommonLbConfig_LocalityWeightedLbConfig_{
				LocalityWeightedLbConfig: &clusterv3.Cluster_CommonLbConfig_LocalityWeightedLbConfig{},
			}
		}
	}
	proto := b.protocolOptions(c, p)
	b.applyOutlier(c, p)
	b.applyTLS(c, p, subset, eps)
	if proto != nil {
		a, err := pack(proto)
		if err != nil {
			b.report(p.poolAt, ReasonInvalidConfig, "connection pool settings dropped: %v", err)
		} else {
			c.TypedExtensionProtocolOptions = map[string]*anypb.Any{httpProtocolOptionsKey: a}
		}
	}
	if c.CommonLbConfig.HealthyPanicThreshold == nil && c.CommonLbConfig.LocalityConfigSpecifier == nil {
		c.CommonLbConfig = nil
	}
	if err := c.ValidateAll(); err != nil {
		b.report("spec", ReasonInvalidConfig, "cluster %s dropped: %v", name, err)
		c = &clusterv3.Cluster{Name: name, ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_STATIC},
			ConnectTimeout: durationpb.New(defaultConnectTimeout), LoadAssignment: &endpointv3.ClusterLoadAssignment{ClusterName: name}}
	}
	b.out.clusters = append(b.out.clusters, c)
}

// defaultCircuitBreakers lifts Envoy's low defaults as Istio does; shared, read-only.
var defaultCircuitBreakers = sync.OnceValue(newCircuitBreakers)

func newCircuitBreakers() *clusterv3.CircuitBreakers {
	return &clusterv3.CircuitBreakers{Thresholds: []*clusterv3.CircuitBreakers_Thresholds{{
		MaxConnections:     wrapperspb.UInt32(math.MaxUint32),
		MaxPendingRequests: wrapperspb.UInt32(math.MaxUint32),
		MaxRequests:        wrapperspb.UInt32(math.MaxUint32),
		MaxRetries:         wrapperspb.UInt32(math.MaxUint32),
		TrackRemaining:     true,
	}}}
}

// applyLoadBalancer sets the LB policy; it reports whether the policy is PASSTHROUGH.
func (b *clusterBuilder) applyLoadBalancer(c *clusterv3.Cluster, p policy) bool {
	lb := p.lb
	if lb == nil {
		return false
	}
	var slowStart *clusterv3.Cluster_SlowStartConfig
	if d, ok := parseDuration(lb.WarmupDurationSecs); ok {
		slowStart = &clusterv3.Cluster_SlowStartConfig{SlowStartWindow: durationpb.New(d)}
	}
	if w := lb.Warmup; w != nil {
		if d, err := w.Duration.Parse(); err == nil {
			slowStart = &clusterv3.Cluster_SlowStartConfig{SlowStartWindow: durationpb.New(d)}
			if w.Aggression != nil {
				slowStart.Aggression = &corev3.RuntimeDouble{DefaultValue: *w.Aggression, RuntimeKey: "mizzen.warmup.aggression"}
			}
			if w.MinimumPercent != nil {
				slowStart.MinWeightPercent = &typev3.Percent{Value: *w.MinimumPercent}
			}
		}
	}
	if lb.ZoneAwareLbSetting != nil {
		b.unsupported(p.lbAt+".zoneAwareLbSetting", "zoneAwareLbSetting")
	}
	switch {
	case lb.ConsistentHash != nil:
		ch := lb.ConsistentHash
		if ch.Maglev != nil {
			c.LbPolicy = clusterv3.Cluster_MAGLEV
			c.LbConfig = &clusterv3.Cluster_MaglevLbConfig_{MaglevLbConfig: &clusterv3.Cluster_MaglevLbConfig{
				TableSize: wrapperspb.UInt64(uint64(ch.Maglev.TableSize))}}
		} else {
			size := uint64(defaultRingSize)
			if ch.RingHash != nil && ch.RingHash.MinimumRingSize > 0 {
				size = uint64(ch.RingHash.MinimumRingSize)
			} else if ch.MinimumRingSize > 0 {
				size = uint64(ch.MinimumRingSize)
			}
			c.LbPolicy = clusterv3.Cluster_RING_HASH
			c.LbConfig = &clusterv3.Cluster_RingHashLbConfig_{RingHashLbConfig: &clusterv3.Cluster_RingHashLbConfig{
				MinimumRingSize: wrapperspb.UInt64(size)}}
		}
		if hp := b.hashPolicy(ch, p.lbAt+".consistentHash"); hp != nil {
			b.out.hash[c.Name] = hp
		}
		if slowStart != nil {
			b.unsupported(p.lbAt+".warmup", "warmup with consistentHash (Envoy slow start needs ROUND_ROBIN or LEAST_REQUEST)")
		}
		return false
	case lb.Simple != nil:
		switch *lb.Simple {
		case v1alpha1.SimpleLBRoundRobin:
			c.LbPolicy = clusterv3.Cluster_ROUND_ROBIN
		case v1alpha1.SimpleLBRandom:
			c.LbPolicy = clusterv3.Cluster_RANDOM
		case v1alpha1.SimpleLBPassthrough:
			return true
		}
	}
	if slowStart != nil {
		if c.LbPolicy == clusterv3.Cluster_ROUND_ROBIN {
			c.LbConfig = &clusterv3.Cluster_RoundRobinLbConfig_{RoundRobinLbConfig: &clusterv3.Cluster_RoundRobinLbConfig{SlowStartConfig: slowStart}}
		} else if c.LbPolicy == clusterv3.Cluster_LEAST_REQUEST {
			c.LbConfig = &clusterv3.Cluster_LeastRequestLbConfig_{LeastRequestLbConfig: &clusterv3.Cluster_LeastRequestLbConfig{SlowStartConfig: slowStart}}
		} else {
			b.unsupported(p.lbAt+".warmup", "warmup with RANDOM load balancing")
		}
	}
	return false
}

// hashPolicy is the route-side half of consistent hashing: what the hash is computed from.
func (b *clusterBuilder) hashPolicy(ch *v1alpha1.ConsistentHashLB, at string) []*routev3.RouteAction_HashPolicy {
	switch {
	case ch.HTTPHeaderName != nil:
		return []*routev3.RouteAction_HashPolicy{{PolicySpecifier: &routev3.RouteAction_HashPolicy_Header_{
			Header: &routev3.RouteAction_HashPolicy_Header{HeaderName: *ch.HTTPHeaderName}}}}
	case ch.HTTPCookie != nil:
		ck := &routev3.RouteAction_HashPolicy_Cookie{Name: ch.HTTPCookie.Name, Path: ch.HTTPCookie.Path}
		if ch.HTTPCookie.TTL != nil {
			if d, err := ch.HTTPCookie.TTL.Parse(); err == nil {
				ck.Ttl = durationpb.New(d)
			}
		}
		for _, a := range ch.HTTPCookie.Attributes {
			ck.Attributes = append(ck.Attributes, &routev3.RouteAction_HashPolicy_CookieAttribute{Name: a.Name, Value: a.Value})
		}
		return []*routev3.RouteAction_HashPolicy{{PolicySpecifier: &routev3.RouteAction_HashPolicy_Cookie_{Cookie: ck}}}
	case ch.UseSourceIP != nil && *ch.UseSourceIP:
		return []*routev3.RouteAction_HashPolicy{{PolicySpecifier: &routev3.RouteAction_HashPolicy_ConnectionProperties_{
			ConnectionProperties: &routev3.RouteAction_HashPolicy_ConnectionProperties{SourceIp: true}}}}
	case ch.HTTPQueryParameterName != nil:
		return []*routev3.RouteAction_HashPolicy{{PolicySpecifier: &routev3.RouteAction_HashPolicy_QueryParameter_{
			QueryParameter: &routev3.RouteAction_HashPolicy_QueryParameter{Name: *ch.HTTPQueryParameterName}}}}
	}
	return nil
}

// protocolOptions builds the upstream HTTP protocol options: HTTP/2 for http2 and grpc ports (or
// h2UpgradePolicy UPGRADE), and the connection pool's HTTP settings. nil when Envoy's defaults do.
func (b *clusterBuilder) protocolOptions(c *clusterv3.Cluster, p policy) *httpv3.HttpProtocolOptions {
	h2 := b.port.Protocol.IsHTTP2()
	var common *corev3.HttpProtocolOptions
	var h2opts *corev3.Http2ProtocolOptions
	useClient := false
	if pool := p.pool; pool != nil {
		c.CircuitBreakers = newCircuitBreakers() // the default is shared: never change it
		th := c.CircuitBreakers.Thresholds[0]
		if tcp := pool.TCP; tcp != nil {
			if tcp.MaxConnections > 0 {
				th.MaxConnections = wrapperspb.UInt32(uint32(tcp.MaxConnections))
			}
			if d, ok := parseDuration(tcp.ConnectTimeout); ok {
				c.ConnectTimeout = durationpb.New(d)
			}
			if ka := tcp.TCPKeepalive; ka != nil {
				k := &corev3.TcpKeepalive{}
				if ka.Probes > 0 {
					k.KeepaliveProbes = wrapperspb.UInt32(uint32(ka.Probes))
				}
				if d, ok := parseDuration(ka.Time); ok {
					k.KeepaliveTime = wrapperspb.UInt32(uint32(d / time.Second))
				}
				if d, ok := parseDuration(ka.Interval); ok {
					k.KeepaliveInterval = wrapperspb.UInt32(uint32(d / time.Second))
				}
				c.UpstreamConnectionOptions = &clusterv3.UpstreamConnectionOptions{TcpKeepalive: k}
			}
			if d, ok := parseDuration(tcp.MaxConnectionDuration); ok && b.port.Protocol.IsHTTP() {
				common = orNew(common)
				common.MaxConnectionDuration = durationpb.New(d)
			} else if ok {
				b.unsupported(p.poolAt+".tcp.maxConnectionDuration", "maxConnectionDuration on a non-HTTP port")
			}
			if tcp.IdleTimeout != nil {
				// Istio applies it as the HTTP idle timeout unless http.idleTimeout is set.
				d, err := tcp.IdleTimeout.Parse()
				switch {
				case !b.port.Protocol.IsHTTP():
					b.unsupported(p.poolAt+".tcp.idleTimeout", "tcp.idleTimeout on a non-HTTP port")
				case err == nil && (pool.HTTP == nil || pool.HTTP.IdleTimeout == nil):
					common = orNew(common)
					common.IdleTimeout = durationpb.New(d)
				}
			}
		}
		if h := pool.HTTP; h != nil {
			if h.HTTP1MaxPendingRequests > 0 {
				th.MaxPendingRequests = wrapperspb.UInt32(uint32(h.HTTP1MaxPendingRequests))
			}
			if h.HTTP2MaxRequests > 0 {
				th.MaxRequests = wrapperspb.UInt32(uint32(h.HTTP2MaxRequests))
			}
			if h.MaxRetries > 0 {
				th.MaxRetries = wrapperspb.UInt32(uint32(h.MaxRetries))
			}
			if b.port.Protocol.IsHTTP() {
				if h.MaxRequestsPerConnection > 0 {
					common = orNew(common)
					common.MaxRequestsPerConnection = wrapperspb.UInt32(uint32(h.MaxRequestsPerConnection))
				}
				if d, ok := parseDuration(h.IdleTimeout); ok {
					common = orNew(common)
					common.IdleTimeout = durationpb.New(d)
				}
				switch h.H2UpgradePolicy {
				case v1alpha1.H2Upgrade:
					h2 = true
				case v1alpha1.H2DoNotUpgrade:
					h2 = b.port.Protocol.IsHTTP2()
				}
				useClient = h.UseClientProtocol
				if h.MaxConcurrentStreams > 0 {
					h2opts = &corev3.Http2ProtocolOptions{MaxConcurrentStreams: wrapperspb.UInt32(uint32(h.MaxConcurrentStreams))}
				}
				if ka := h.HTTP2KeepAlive; ka != nil {
					h2opts = orNewH2(h2opts)
					h2opts.ConnectionKeepalive = &corev3.KeepaliveSettings{}
					if d, ok := parseDuration(ka.Interval); ok {
						h2opts.ConnectionKeepalive.Interval = durationpb.New(d)
					}
					if d, ok := parseDuration(ka.Timeout); ok {
						h2opts.ConnectionKeepalive.Timeout = durationpb.New(d)
					}
				}
			}
		}
	}
	if !b.port.Protocol.IsHTTP() {
		return nil
	}
	if !h2 && !useClient && common == nil && h2opts == nil {
		return nil
	}
	o := &httpv3.HttpProtocolOptions{CommonHttpProtocolOptions: common}
	switch {
	case useClient:
		o.UpstreamProtocolOptions = &httpv3.HttpProtocolOptions_UseDownstreamProtocolConfig{
			UseDownstreamProtocolConfig: &httpv3.HttpProtocolOptions_UseDownstreamHttpConfig{
				HttpProtocolOptions: &corev3.Http1ProtocolOptions{}, Http2ProtocolOptions: orNewH2(h2opts)}}
	case h2:
		o.UpstreamProtocolOptions = &httpv3.HttpProtocolOptions_ExplicitHttpConfig_{ExplicitHttpConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig{
			ProtocolConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_Http2ProtocolOptions{Http2ProtocolOptions: orNewH2(h2opts)}}}
	default:
		o.UpstreamProtocolOptions = &httpv3.HttpProtocolOptions_ExplicitHttpConfig_{ExplicitHttpConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig{
			ProtocolConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_HttpProtocolOptions{HttpProtocolOptions: &corev3.Http1ProtocolOptions{}}}}
	}
	return o
}

func orNew(o *corev3.HttpProtocolOptions) *corev3.HttpProtocolOptions {
	if o == nil {
		return &corev3.HttpProtocolOptions{}
	}
	return o
}

func orNewH2(o *corev3.Http2ProtocolOptions) *corev3.Http2ProtocolOptions {
	if o == nil {
		return &corev3.Http2ProtocolOptions{}
	}
	return o
}

// applyOutlier translates outlierDetection as Istio does: only the detectors asked for are
// enforced (Envoy's default 5xx detector is disabled otherwise).
func (b *clusterBuilder) applyOutlier(c *clusterv3.Cluster, p policy) {
	od := p.od
	if od == nil {
		return
	}
	o := &clusterv3.OutlierDetection{EnforcingSuccessRate: wrapperspb.UInt32(0)}
	n5xx := od.Consecutive5xxErrors
	if n5xx == nil && od.ConsecutiveErrors > 0 {
		v := int64(od.ConsecutiveErrors)
		n5xx = &v
	}
	if n5xx != nil && *n5xx > 0 {
		o.Consecutive_5Xx = wrapperspb.UInt32(uint32(*n5xx))
		o.EnforcingConsecutive_5Xx = wrapperspb.UInt32(100)
	} else {
		o.EnforcingConsecutive_5Xx = wrapperspb.UInt32(0)
	}
	if g := od.ConsecutiveGatewayErrors; g != nil && *g > 0 {
		o.ConsecutiveGatewayFailure = wrapperspb.UInt32(uint32(*g))
		o.EnforcingConsecutiveGatewayFailure = wrapperspb.UInt32(100)
	}
	if od.SplitExternalLocalOriginErrors {
		o.SplitExternalLocalOriginErrors = true
		if lf := od.ConsecutiveLocalOriginFailures; lf != nil && *lf > 0 {
			o.ConsecutiveLocalOriginFailure = wrapperspb.UInt32(uint32(*lf))
			o.EnforcingConsecutiveLocalOriginFailure = wrapperspb.UInt32(100)
		}
	}
	if d, ok := parseDuration(od.Interval); ok {
		o.Interval = durationpb.New(d)
	}
	if d, ok := parseDuration(od.BaseEjectionTime); ok {
		o.BaseEjectionTime = durationpb.New(d)
	}
	if od.MaxEjectionPercent > 0 {
		o.MaxEjectionPercent = wrapperspb.UInt32(uint32(od.MaxEjectionPercent))
	}
	if od.MinHealthPercent > 0 {
		c.CommonLbConfig.HealthyPanicThreshold = &typev3.Percent{Value: float64(od.MinHealthPercent)}
	}
	if len(od.OutlierDetectionHTTPErrorCodes) > 0 {
		b.unsupported(p.odAt+".outlierDetectionHttpErrorCodes", "outlierDetectionHttpErrorCodes")
	}
	c.OutlierDetection = o
}

// Fixed clusters every sidecar has.

var passthroughCluster = sync.OnceValue(func() *clusterv3.Cluster {
	return &clusterv3.Cluster{
		Name:                 PassthroughCluster,
		ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_ORIGINAL_DST},
		LbPolicy:             clusterv3.Cluster_CLUSTER_PROVIDED,
		ConnectTimeout:       durationpb.New(defaultConnectTimeout),
		CircuitBreakers:      defaultCircuitBreakers(),
	}
})

var blackHoleCluster = sync.OnceValue(func() *clusterv3.Cluster {
	return &clusterv3.Cluster{
		Name:                 BlackHoleCluster,
		ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_STATIC},
		ConnectTimeout:       durationpb.New(defaultConnectTimeout),
		LoadAssignment:       &endpointv3.ClusterLoadAssignment{ClusterName: BlackHoleCluster},
	}
})

// inboundPassthroughCluster forwards inbound traffic for ports no service declares to the
// original destination, from 127.0.0.6 so the capture rules let it through (Istio's convention).
var inboundPassthroughCluster = sync.OnceValue(func() *clusterv3.Cluster {
	return &clusterv3.Cluster{
		Name:                 InboundPassthroughCluster,
		ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_ORIGINAL_DST},
		LbPolicy:             clusterv3.Cluster_CLUSTER_PROVIDED,
		ConnectTimeout:       durationpb.New(defaultConnectTimeout),
		CircuitBreakers:      defaultCircuitBreakers(),
		UpstreamBindConfig: &corev3.BindConfig{SourceAddress: &corev3.SocketAddress{Address: "127.0.0.6",
			PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: 0}}},
	}
})

// inboundCluster forwards to the workload on loopback.
func inboundCluster(port int32, protocol mesh.Protocol, loc mesh.Locality) *clusterv3.Cluster {
	name := InboundClusterName(port)
	c := &clusterv3.Cluster{
		Name:                 name,
		ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_STATIC},
		ConnectTimeout:       durationpb.New(defaultConnectTimeout),
		CircuitBreakers:      defaultCircuitBreakers(),
		LoadAssignment: &endpointv3.ClusterLoadAssignment{ClusterName: name, Endpoints: []*endpointv3.LocalityLbEndpoints{{
			Locality:            &corev3.Locality{Region: loc.Region, Zone: loc.Zone, SubZone: loc.SubZone},
			LoadBalancingWeight: wrapperspb.UInt32(1),
			LbEndpoints: []*endpointv3.LbEndpoint{{HostIdentifier: &endpointv3.LbEndpoint_Endpoint{
				Endpoint: &endpointv3.Endpoint{Address: socketAddress("127.0.0.1", uint32(port))}},
				LoadBalancingWeight: wrapperspb.UInt32(1)}},
		}}},
	}
	if protocol.IsHTTP2() {
		c.TypedExtensionProtocolOptions = map[string]*anypb.Any{httpProtocolOptionsKey: mustPack(&httpv3.HttpProtocolOptions{
			UpstreamProtocolOptions: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_{ExplicitHttpConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig{
				ProtocolConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_Http2ProtocolOptions{Http2ProtocolOptions: &corev3.Http2ProtocolOptions{}}}}})}
	}
	return c
}

func socketAddress(ip string, port uint32) *corev3.Address {
	return &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
		Address: ip, PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: port}}}}
}
