package translate

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	commonfaultv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/common/fault/v3"
	corsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/cors/v3"
	faultv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/fault/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	originaldstv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/listener/original_dst/v3"
	tlsinspectorv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/listener/tls_inspector/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tcpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/tcp_proxy/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/mizzen-mesh/mizzen/api/v1alpha1"
)

// Filter names, as Envoy's extension names.
const (
	hcmFilterName      = "envoy.filters.network.http_connection_manager"
	tcpProxyFilterName = "envoy.filters.network.tcp_proxy"
	faultFilterName    = "envoy.filters.http.fault"
	corsFilterName     = "envoy.filters.http.cors"
	routerFilterName   = "envoy.filters.http.router"
	tlsInspectorName   = "envoy.filters.listener.tls_inspector"
	originalDstName    = "envoy.filters.listener.original_dst"
)

// HTTP filters, packed once: they carry no per-proxy data. Routes configure fault and CORS through
// typed_per_filter_config; without it both filters pass requests through.
var (
	faultHTTPFilter  = &hcmv3.HttpFilter{Name: faultFilterName, ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: mustPack(&faultv3.HTTPFault{})}}
	corsHTTPFilter   = &hcmv3.HttpFilter{Name: corsFilterName, ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: mustPack(&corsv3.Cors{})}}
	routerHTTPFilter = &hcmv3.HttpFilter{Name: routerFilterName, ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: mustPack(&routerv3.Router{})}}

	tlsInspector = &listenerv3.ListenerFilter{Name: tlsInspectorName,
		ConfigType: &listenerv3.ListenerFilter_TypedConfig{TypedConfig: mustPack(&tlsinspectorv3.TlsInspector{})}}
	originalDst = &listenerv3.ListenerFilter{Name: originalDstName,
		ConfigType: &listenerv3.ListenerFilter_TypedConfig{TypedConfig: mustPack(&originaldstv3.OriginalDst{})}}
)

// httpConnectionManager is the network filter of an HTTP listener with its routes inline.
func httpConnectionManager(statPrefix string, rc *routev3.RouteConfiguration, outbound bool) (*listenerv3.Filter, error) {
	h := &hcmv3.HttpConnectionManager{
		StatPrefix:                   statPrefix,
		RouteSpecifier:               &hcmv3.HttpConnectionManager_RouteConfig{RouteConfig: rc},
		UseRemoteAddress:             wrapperspb.Bool(false),
		NormalizePath:                wrapperspb.Bool(true),
		PathWithEscapedSlashesAction: hcmv3.HttpConnectionManager_KEEP_UNCHANGED,
		// WebSocket passes through the mesh, as in Istio.
		UpgradeConfigs: []*hcmv3.HttpConnectionManager_UpgradeConfig{{UpgradeType: "websocket"}},
	}
	if outbound {
		h.HttpFilters = []*hcmv3.HttpFilter{faultHTTPFilter, corsHTTPFilter, routerHTTPFilter}
	} else {
		h.HttpFilters = []*hcmv3.HttpFilter{routerHTTPFilter}
		h.ForwardClientCertDetails = hcmv3.HttpConnectionManager_APPEND_FORWARD
		h.SetCurrentClientCertDetails = &hcmv3.HttpConnectionManager_SetCurrentClientCertDetails{
			Subject: wrapperspb.Bool(true), Uri: true, Dns: true}
	}
	a, err := pack(h)
	if err != nil {
		return nil, err
	}
	return &listenerv3.Filter{Name: hcmFilterName, ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: a}}, nil
}

// tcpProxy is the network filter of a TCP route: one cluster, or a weighted set.
func tcpProxy(statPrefix string, clusters []weightedCluster) (*listenerv3.Filter, error) {
	tp := &tcpv3.TcpProxy{StatPrefix: statPrefix}
	if len(clusters) == 1 {
		tp.ClusterSpecifier = &tcpv3.TcpProxy_Cluster{Cluster: clusters[0].name}
	} else {
		wc := &tcpv3.TcpProxy_WeightedCluster{}
		for _, c := range clusters {
			wc.Clusters = append(wc.Clusters, &tcpv3.TcpProxy_WeightedCluster_ClusterWeight{Name: c.name, Weight: c.weight})
		}
		tp.ClusterSpecifier = &tcpv3.TcpProxy_WeightedClusters{WeightedClusters: wc}
	}
	a, err := pack(tp)
	if err != nil {
		return nil, err
	}
	return &listenerv3.Filter{Name: tcpProxyFilterName, ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: a}}, nil
}

type weightedCluster struct {
	name   string
	weight uint32
}

// gRPC status names Istio accepts in fault.abort.grpcStatus.
var grpcCodes = map[string]uint32{
	"OK": 0, "CANCELLED": 1, "UNKNOWN": 2, "INVALID_ARGUMENT": 3, "DEADLINE_EXCEEDED": 4, "NOT_FOUND": 5,
	"ALREADY_EXISTS": 6, "PERMISSION_DENIED": 7, "RESOURCE_EXHAUSTED": 8, "FAILED_PRECONDITION": 9,
	"ABORTED": 10, "OUT_OF_RANGE": 11, "UNIMPLEMENTED": 12, "INTERNAL": 13, "UNAVAILABLE": 14,
	"DATA_LOSS": 15, "UNAUTHENTICATED": 16,
}

// fault is the route's configuration of the fault filter.
func (t *translator) fault(vs *v1alpha1.VirtualService, f *v1alpha1.HTTPFaultInjection, at string) *anypb.Any {
	hf := &faultv3.HTTPFault{}
	if d := f.Delay; d != nil {
		fd := &commonfaultv3.FaultDelay{Percentage: faultPercent(d.Percentage, d.Percent)}
		if v, ok := parseDuration(d.FixedDelay); ok {
			fd.FaultDelaySecifier = &commonfaultv3.FaultDelay_FixedDelay{FixedDelay: durationpb.New(v)}
			hf.Delay = fd
		} else if d.ExponentialDelay != nil {
			t.vsUnsupported(vs, at+".delay.exponentialDelay", "exponentialDelay")
		}
	}
	if a := f.Abort; a != nil {
		fa := &faultv3.FaultAbort{Percentage: faultPercent(a.Percentage, 0)}
		switch {
		case a.HTTPStatus != nil:
			fa.ErrorType = &faultv3.FaultAbort_HttpStatus{HttpStatus: uint32(*a.HTTPStatus)}
		case a.GrpcStatus != nil:
			code, ok := grpcCodes[strings.ToUpper(*a.GrpcStatus)]
			if !ok {
				if n, err := strconv.Atoi(*a.GrpcStatus); err == nil {
					code, ok = uint32(n), true
				}
			}
			if !ok {
				t.vsProblem(vs, at+".abort.grpcStatus", ReasonInvalidConfig, "unknown gRPC status %q; abort skipped", *a.GrpcStatus)
				break
			}
			fa.ErrorType = &faultv3.FaultAbort_GrpcStatus{GrpcStatus: code}
		case a.HTTP2Error != nil:
			t.vsUnsupported(vs, at+".abort.http2Error", "http2Error")
		}
		if fa.ErrorType != nil {
			hf.Abort = fa
		}
	}
	if hf.Delay == nil && hf.Abort == nil {
		return nil
	}
	a, err := pack(hf)
	if err != nil {
		t.vsProblem(vs, at, ReasonInvalidConfig, "fault dropped: %v", err)
		return nil
	}
	return a
}

// faultPercent: percentage (fractional) wins over the deprecated integer percent; 100% when
// neither is set.
func faultPercent(p *v1alpha1.Percent, legacy int32) *typev3.FractionalPercent {
	switch {
	case p != nil:
		return percent(p.Value)
	case legacy > 0:
		return &typev3.FractionalPercent{Numerator: uint32(legacy), Denominator: typev3.FractionalPercent_HUNDRED}
	}
	return &typev3.FractionalPercent{Numerator: 100, Denominator: typev3.FractionalPercent_HUNDRED}
}

// cors is the route's configuration of the CORS filter.
func (t *translator) cors(vs *v1alpha1.VirtualService, c *v1alpha1.CorsPolicy, at string) *anypb.Any {
	cp := &corsv3.CorsPolicy{
		AllowMethods:  strings.Join(c.AllowMethods, ","),
		AllowHeaders:  strings.Join(c.AllowHeaders, ","),
		ExposeHeaders: strings.Join(c.ExposeHeaders, ","),
		FilterEnabled: &corev3.RuntimeFractionalPercent{DefaultValue: &typev3.FractionalPercent{Numerator: 100, Denominator: typev3.FractionalPercent_HUNDRED}},
	}
	for _, o := range c.AllowOrigin {
		cp.AllowOriginStringMatch = append(cp.AllowOriginStringMatch, &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Exact{Exact: o}})
	}
	for _, o := range c.AllowOrigins {
		if sm := stringMatcher(o, false); sm != nil {
			cp.AllowOriginStringMatch = append(cp.AllowOriginStringMatch, sm)
		}
	}
	if d, ok := parseDuration(c.MaxAge); ok {
		cp.MaxAge = strconv.FormatInt(int64(d/time.Second), 10)
	}
	if c.AllowCredentials != nil {
		cp.AllowCredentials = wrapperspb.Bool(*c.AllowCredentials)
	}
	switch c.UnmatchedPreflights {
	case v1alpha1.UnmatchedPreflightsIgnore:
		cp.ForwardNotMatchingPreflights = wrapperspb.Bool(false)
	case v1alpha1.UnmatchedPreflightsForward:
		cp.ForwardNotMatchingPreflights = wrapperspb.Bool(true)
	}
	a, err := pack(cp)
	if err != nil {
		t.vsProblem(vs, at, ReasonInvalidConfig, "corsPolicy dropped: %v", err)
		return nil
	}
	return a
}

func listenerName(ip string, port int32) string { return fmt.Sprintf("%s_%d", ip, port) }
