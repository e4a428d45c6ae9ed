/*
Copyright 2026 The Mizzen Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DestinationRuleSpec says how traffic to one host is handled once routing has chosen it:
// load balancing, connection limits, outlier ejection and TLS, for the host as a whole, per port,
// and per subset (a labelled group of its endpoints, such as a version).
type DestinationRuleSpec struct {
	// Host is the service the rule applies to, short or fully qualified; a wildcard prefix
	// (*.example.com) is allowed.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	// +required
	Host string `json:"host"`
	// TrafficPolicy applies to every subset and port unless overridden there.
	// +optional
	TrafficPolicy *TrafficPolicy `json:"trafficPolicy,omitempty"`
	// Subsets names groups of the host's endpoints by label; routes address them by name.
	// +kubebuilder:validation:MaxItems=64
	// +listType=map
	// +listMapKey=name
	// +optional
	Subsets []Subset `json:"subsets,omitempty"`
	// ExportTo lists the namespaces that may see this rule: "." for its own, "*" for all, or
	// namespace names. Empty means all.
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=63
	// +kubebuilder:validation:XValidation:rule="self.all(e, e == '.' || e == '*' || e.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'))",message="exportTo entries must be '.', '*' or a namespace name"
	// +kubebuilder:validation:XValidation:rule="!self.exists(e, e == '*') || size(self) == 1",message="exportTo may not combine '*' with other entries"
	// +listType=set
	// +optional
	ExportTo []string `json:"exportTo,omitempty"`
	// WorkloadSelector limits the rule to the sidecars of the selected workloads in its
	// namespace.
	// +optional
	WorkloadSelector *WorkloadSelector `json:"workloadSelector,omitempty"`
}

// WorkloadSelector picks workloads by label.
type WorkloadSelector struct {
	// MatchLabels are the labels a workload must carry; no wildcards.
	// +kubebuilder:validation:MaxProperties=16
	// +kubebuilder:validation:XValidation:rule="self.all(key, key.size() != 0)",message="matchLabels keys may not be empty"
	// +kubebuilder:validation:XValidation:rule="self.all(key, !key.contains('*'))",message="matchLabels keys may not contain the wildcard *"
	// +kubebuilder:validation:XValidation:rule="self.all(key, !self[key].contains('*'))",message="matchLabels values may not contain the wildcard *"
	// +kubebuilder:validation:XValidation:rule="self.all(key, self[key].size() <= 63)",message="matchLabels values may be at most 63 characters"
	// +optional
	MatchLabels map[string]string `json:"matchLabels,omitempty"`
}

// TrafficPolicy is the set of client-side policies for a host, a port of it, or a subset.
// +kubebuilder:validation:XValidation:rule="has(self.loadBalancer) || has(self.connectionPool) || has(self.outlierDetection) || has(self.tls) || has(self.portLevelSettings) || has(self.tunnel) || has(self.proxyProtocol) || has(self.retryBudget)",message="trafficPolicy must set at least one field"
// +kubebuilder:validation:XValidation:rule="!has(self.tunnel) || !has(self.proxyProtocol)",message="tunnel and proxyProtocol may not be set together"
type TrafficPolicy struct {
	// LoadBalancer picks the endpoint for each request or connection.
	// +optional
	LoadBalancer *LoadBalancerSettings `json:"loadBalancer,omitempty"`
	// ConnectionPool limits connections and requests to the host.
	// +optional
	ConnectionPool *ConnectionPoolSettings `json:"connectionPool,omitempty"`
	// OutlierDetection ejects endpoints that keep failing.
	// +optional
	OutlierDetection *OutlierDetection `json:"outlierDetection,omitempty"`
	// TLS secures connections to the host.
	// +optional
	TLS *ClientTLSSettings `json:"tls,omitempty"`
	// PortLevelSettings override the policy for single ports.
	// +kubebuilder:validation:MaxItems=32
	// +optional
	PortLevelSettings []PortTrafficPolicy `json:"portLevelSettings,omitempty"`
	// Tunnel wraps connections in an HTTP CONNECT or POST tunnel through a proxy.
	// +optional
	Tunnel *TunnelSettings `json:"tunnel,omitempty"`
	// ProxyProtocol sends a PROXY protocol header upstream.
	// +optional
	ProxyProtocol *ProxyProtocol `json:"proxyProtocol,omitempty"`
	// RetryBudget caps concurrent retries as a share of active requests.
	// +optional
	RetryBudget *RetryBudget `json:"retryBudget,omitempty"`
}

// PortTrafficPolicy is a TrafficPolicy for one port of the host.
// +kubebuilder:validation:XValidation:rule="has(self.loadBalancer) || has(self.connectionPool) || has(self.outlierDetection) || has(self.tls)",message="portLevelSettings entries need at least one of loadBalancer, connectionPool, outlierDetection or tls"
type PortTrafficPolicy struct {
	// Port is the port the settings apply to.
	// +required
	Port *PortSelector `json:"port"`
	// LoadBalancer picks the endpoint on this port.
	// +optional
	LoadBalancer *LoadBalancerSettings `json:"loadBalancer,omitempty"`
	// ConnectionPool limits connections on this port.
	// +optional
	ConnectionPool *ConnectionPoolSettings `json:"connectionPool,omitempty"`
	// OutlierDetection ejects failing endpoints on this port.
	// +optional
	OutlierDetection *OutlierDetection `json:"outlierDetection,omitempty"`
	// TLS secures connections on this port.
	// +optional
	TLS *ClientTLSSettings `json:"tls,omitempty"`
}

// TunnelSettings sends upstream connections through an HTTP tunnel.
type TunnelSettings struct {
	// Protocol is CONNECT (default) or POST.
	// +kubebuilder:validation:XValidation:rule="size(self) == 0 || self == 'CONNECT' || self == 'POST'",message="tunnel protocol must be CONNECT or POST"
	// +optional
	Protocol string `json:"protocol,omitempty"`
	// TargetHost is the host (name or IP) the tunnel is opened to.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	// +required
	TargetHost string `json:"targetHost"`
	// TargetPort is the port the tunnel is opened to.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +required
	TargetPort int32 `json:"targetPort"`
}

// ProxyProtocolVersion is a PROXY protocol version.
// +kubebuilder:validation:Enum=V1;V2
type ProxyProtocolVersion string

const (
	// ProxyProtocolV1 is the text header.
	ProxyProtocolV1 ProxyProtocolVersion = "V1"
	// ProxyProtocolV2 is the binary header.
	ProxyProtocolV2 ProxyProtocolVersion = "V2"
)

// ProxyProtocol sends the original client address upstream in a PROXY protocol header.
type ProxyProtocol struct {
	// Version is the header version (default V1).
	// +optional
	Version ProxyProtocolVersion `json:"version,omitempty"`
}

// RetryBudget bounds concurrent retries to a share of the active requests.
type RetryBudget struct {
	// Percent is the share of active requests that may be retries (default 20).
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	// +optional
	Percent *float64 `json:"percent,omitempty"`
	// MinRetryConcurrency is the number of concurrent retries always allowed (default 3).
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=4294967295
	// +optional
	MinRetryConcurrency int64 `json:"minRetryConcurrency,omitempty"`
	// BudgetInterval is the window over which active requests are counted.
	// +optional
	BudgetInterval *DurationOrZero `json:"budgetInterval,omitempty"`
}

// Subset is a named group of the host's endpoints, chosen by label, with its own policy.
type Subset struct {
	// Name is how routes refer to the subset.
	// +kubebuilder:validation:MinLength=1
	// +required
	Name SubsetName `json:"name"`
	// Labels select the endpoints of the subset (in addition to the service's own selector).
	// +optional
	Labels map[string]string `json:"labels,omitempty"`
	// TrafficPolicy overrides the rule's policy for this subset.
	// +optional
	TrafficPolicy *TrafficPolicy `json:"trafficPolicy,omitempty"`
}

// SimpleLB is a load-balancing algorithm that needs no settings.
// +kubebuilder:validation:Enum=UNSPECIFIED;LEAST_CONN;RANDOM;PASSTHROUGH;ROUND_ROBIN;LEAST_REQUEST
type SimpleLB string

const (
	// SimpleLBUnspecified lets the proxy choose (least request).
	SimpleLBUnspecified SimpleLB = "UNSPECIFIED"
	// SimpleLBLeastConn is the old name of LEAST_REQUEST.
	// Deprecated: use SimpleLBLeastRequest.
	SimpleLBLeastConn SimpleLB = "LEAST_CONN"
	// SimpleLBRandom picks endpoints at random.
	SimpleLBRandom SimpleLB = "RANDOM"
	// SimpleLBPassthrough sends to the address the client asked for.
	SimpleLBPassthrough SimpleLB = "PASSTHROUGH"
	// SimpleLBRoundRobin takes endpoints in turn.
	SimpleLBRoundRobin SimpleLB = "ROUND_ROBIN"
	// SimpleLBLeastRequest prefers endpoints with fewer active requests.
	SimpleLBLeastRequest SimpleLB = "LEAST_REQUEST"
)

// LoadBalancerSettings picks endpoints: a simple algorithm or consistent hashing, plus locality
// and zone awareness and slow start for new endpoints.
// +kubebuilder:validation:XValidation:rule="!has(self.simple) || !has(self.consistentHash)",message="only one of simple or consistentHash may be set"
// +kubebuilder:validation:XValidation:rule="!has(self.warmupDurationSecs) || !has(self.warmup)",message="only one of warmupDurationSecs or warmup may be set"
type LoadBalancerSettings struct {
	// Simple is an algorithm without settings.
	// +optional
	Simple *SimpleLB `json:"simple,omitempty"`
	// ConsistentHash keeps requests with the same key on the same endpoint.
	// +optional
	ConsistentHash *ConsistentHashLB `json:"consistentHash,omitempty"`
	// LocalityLbSetting prefers or distributes across localities (region/zone/subzone).
	// +optional
	LocalityLbSetting *LocalityLoadBalancerSetting `json:"localityLbSetting,omitempty"`
	// ZoneAwareLbSetting balances across zones in proportion to capacity.
	// +optional
	ZoneAwareLbSetting *ZoneAwareLoadBalancerSetting `json:"zoneAwareLbSetting,omitempty"`
	// WarmupDurationSecs ramps traffic to new endpoints over this time.
	// Deprecated: use Warmup.
	// +optional
	WarmupDurationSecs *Duration `json:"warmupDurationSecs,omitempty"`
	// Warmup ramps traffic to new endpoints.
	// +optional
	Warmup *WarmupConfiguration `json:"warmup,omitempty"`
}

// ConsistentHashLB hashes a request attribute to pick an endpoint.
// +kubebuilder:validation:XValidation:rule="(has(self.httpHeaderName) ? 1 : 0) + (has(self.httpCookie) ? 1 : 0) + (has(self.useSourceIp) ? 1 : 0) + (has(self.httpQueryParameterName) ? 1 : 0) <= 1",message="only one of httpHeaderName, httpCookie, useSourceIp or httpQueryParameterName may be set"
// +kubebuilder:validation:XValidation:rule="!has(self.ringHash) || !has(self.maglev)",message="only one of ringHash or maglev may be set"
// +kubebuilder:validation:XValidation:rule="!has(self.minimumRingSize) || self.minimumRingSize == 0 || (!has(self.ringHash) && !has(self.maglev))",message="minimumRingSize may not be combined with ringHash or maglev"
type ConsistentHashLB struct {
	// HTTPHeaderName hashes this request header.
	// +optional
	HTTPHeaderName *string `json:"httpHeaderName,omitempty"`
	// HTTPCookie hashes this cookie, creating it when absent.
	// +optional
	HTTPCookie *HTTPCookie `json:"httpCookie,omitempty"`
	// UseSourceIP hashes the client address.
	// +optional
	UseSourceIP *bool `json:"useSourceIp,omitempty"`
	// HTTPQueryParameterName hashes this query parameter.
	// +optional
	HTTPQueryParameterName *string `json:"httpQueryParameterName,omitempty"`
	// RingHash uses a ring of hashes.
	// +optional
	RingHash *RingHash `json:"ringHash,omitempty"`
	// Maglev uses Maglev hashing.
	// +optional
	Maglev *MagLev `json:"maglev,omitempty"`
	// MinimumRingSize is the ring size for ring hashing.
	// Deprecated: use RingHash.
	// +kubebuilder:validation:Minimum=0
	// +optional
	MinimumRingSize int64 `json:"minimumRingSize,omitempty"`
}

// RingHash configures ring hashing.
type RingHash struct {
	// MinimumRingSize is the smallest number of entries on the ring (default 1024).
	// +kubebuilder:validation:Minimum=0
	// +optional
	MinimumRingSize int64 `json:"minimumRingSize,omitempty"`
}

// MagLev configures Maglev hashing.
type MagLev struct {
	// TableSize is the size of the lookup table: a prime below 5000011.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=5000010
	// +required
	TableSize int64 `json:"tableSize"`
}

// HTTPCookie names the cookie consistent hashing uses.
type HTTPCookie struct {
	// Name is the cookie name.
	// +kubebuilder:validation:MinLength=1
	// +required
	Name string `json:"name"`
	// Path is the cookie path.
	// +optional
	Path string `json:"path,omitempty"`
	// TTL is the lifetime of a generated cookie; 0s makes a session cookie.
	// +optional
	TTL *DurationOrZero `json:"ttl,omitempty"`
	// Attributes are added to a generated cookie.
	// +kubebuilder:validation:MaxItems=16
	// +optional
	Attributes []HTTPCookieAttribute `json:"attributes,omitempty"`
}

// HTTPCookieAttribute is one attribute of a generated cookie, such as SameSite=Strict.
type HTTPCookieAttribute struct {
	// Name is the attribute name.
	// +kubebuilder:validation:MinLength=1
	// +required
	Name string `json:"name"`
	// Value is the attribute value; empty for flags like Secure.
	// +optional
	Value string `json:"value,omitempty"`
}

// WarmupConfiguration ramps traffic up on endpoints that just joined.
type WarmupConfiguration struct {
	// Duration is how long the ramp lasts.
	// +required
	Duration Duration `json:"duration"`
	// MinimumPercent is the share of its full traffic a new endpoint gets at the start.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	// +optional
	MinimumPercent *float64 `json:"minimumPercent,omitempty"`
	// Aggression shapes the ramp: 1 is linear, higher values hold traffic back longer.
	// +kubebuilder:validation:Minimum=1
	// +optional
	Aggression *float64 `json:"aggression,omitempty"`
}

// ConnectionPoolSettings limits connections and requests to the host.
// +kubebuilder:validation:XValidation:rule="has(self.tcp) || has(self.http)",message="connectionPool needs tcp or http settings"
type ConnectionPoolSettings struct {
	// TCP limits apply to HTTP and TCP connections alike.
	// +optional
	TCP *TCPSettings `json:"tcp,omitempty"`
	// HTTP limits apply to HTTP/1.1, HTTP/2 and gRPC.
	// +optional
	HTTP *HTTPSettings `json:"http,omitempty"`
}

// TCPSettings limits TCP connections.
type TCPSettings struct {
	// MaxConnections caps connections to each endpoint (cluster-wide in Envoy terms).
	// +kubebuilder:validation:Minimum=0
	// +optional
	MaxConnections int32 `json:"maxConnections,omitempty"`
	// ConnectTimeout bounds connection setup.
	// +optional
	ConnectTimeout *Duration `json:"connectTimeout,omitempty"`
	// TCPKeepalive turns on TCP keepalive probes.
	// +optional
	TCPKeepalive *TCPKeepalive `json:"tcpKeepalive,omitempty"`
	// MaxConnectionDuration closes connections older than this.
	// +optional
	MaxConnectionDuration *Duration `json:"maxConnectionDuration,omitempty"`
	// IdleTimeout closes connections idle this long; 0s never closes them.
	// +kubebuilder:validation:XValidation:rule="duration(self) == duration('0s') || (duration(self) >= duration('1ms') && int(duration(self)) % 1000000 == 0)",message="idleTimeout must be 0s or a whole number of milliseconds of at least 1ms"
	// +optional
	IdleTimeout *DurationOrZero `json:"idleTimeout,omitempty"`
}

// TCPKeepalive sets the socket's keepalive probes.
type TCPKeepalive struct {
	// Probes is the number of unanswered probes before the connection is dropped.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=4294967295
	// +optional
	Probes int64 `json:"probes,omitempty"`
	// Time is the idle time before the first probe.
	// +optional
	Time *Duration `json:"time,omitempty"`
	// Interval is the time between probes.
	// +optional
	Interval *Duration `json:"interval,omitempty"`
}

// H2UpgradePolicy says whether HTTP/1.1 connections upstream are upgraded to HTTP/2.
// +kubebuilder:validation:Enum=DEFAULT;DO_NOT_UPGRADE;UPGRADE
type H2UpgradePolicy string

const (
	// H2UpgradeDefault follows the mesh-wide setting.
	H2UpgradeDefault H2UpgradePolicy = "DEFAULT"
	// H2DoNotUpgrade keeps HTTP/1.1.
	H2DoNotUpgrade H2UpgradePolicy = "DO_NOT_UPGRADE"
	// H2Upgrade upgrades to HTTP/2.
	H2Upgrade H2UpgradePolicy = "UPGRADE"
)

// HTTPSettings limits HTTP requests.
// +kubebuilder:validation:XValidation:rule="!has(self.h2UpgradePolicy) || self.h2UpgradePolicy != 'UPGRADE' || !has(self.useClientProtocol) || !self.useClientProtocol",message="useClientProtocol may not be true when h2UpgradePolicy is UPGRADE"
type HTTPSettings struct {
	// HTTP1MaxPendingRequests caps requests queued for a connection.
	// +kubebuilder:validation:Minimum=0
	// +optional
	HTTP1MaxPendingRequests int32 `json:"http1MaxPendingRequests,omitempty"`
	// HTTP2MaxRequests caps active requests.
	// +kubebuilder:validation:Minimum=0
	// +optional
	HTTP2MaxRequests int32 `json:"http2MaxRequests,omitempty"`
	// MaxRequestsPerConnection closes a connection after this many requests; 0 means no limit.
	// +kubebuilder:validation:Minimum=0
	// +optional
	MaxRequestsPerConnection int32 `json:"maxRequestsPerConnection,omitempty"`
	// MaxRetries caps concurrent retries.
	// +kubebuilder:validation:Minimum=0
	// +optional
	MaxRetries int32 `json:"maxRetries,omitempty"`
	// IdleTimeout closes upstream connections without active requests for this long.
	// +optional
	IdleTimeout *Duration `json:"idleTimeout,omitempty"`
	// H2UpgradePolicy upgrades HTTP/1.1 upstream connections to HTTP/2.
	// +optional
	H2UpgradePolicy H2UpgradePolicy `json:"h2UpgradePolicy,omitempty"`
	// UseClientProtocol keeps the client's HTTP version upstream.
	// +optional
	UseClientProtocol bool `json:"useClientProtocol,omitempty"`
	// MaxConcurrentStreams caps streams on one HTTP/2 connection.
	// +kubebuilder:validation:Minimum=0
	// +optional
	MaxConcurrentStreams int32 `json:"maxConcurrentStreams,omitempty"`
	// HTTP2KeepAlive sends HTTP/2 PING frames on idle connections.
	// +optional
	HTTP2KeepAlive *HTTPConnectionKeepalive `json:"http2KeepAlive,omitempty"`
}

// HTTPConnectionKeepalive sets HTTP/2 PING keepalives.
type HTTPConnectionKeepalive struct {
	// Interval is the time between PINGs.
	// +optional
	Interval *Duration `json:"interval,omitempty"`
	// Timeout is how long to wait for a PING answer before closing.
	// +optional
	Timeout *Duration `json:"timeout,omitempty"`
}

// OutlierDetection ejects endpoints from the pool after repeated errors.
// +kubebuilder:validation:XValidation:rule="!has(self.consecutiveLocalOriginFailures) || self.consecutiveLocalOriginFailures == 0 || (has(self.splitExternalLocalOriginErrors) && self.splitExternalLocalOriginErrors)",message="consecutiveLocalOriginFailures needs splitExternalLocalOriginErrors: true"
type OutlierDetection struct {
	// ConsecutiveErrors is the number of 5xx errors before ejection.
	// Deprecated: use Consecutive5xxErrors or ConsecutiveGatewayErrors.
	// +optional
	ConsecutiveErrors int32 `json:"consecutiveErrors,omitempty"`
	// SplitExternalLocalOriginErrors counts local failures (timeouts, resets) apart from
	// upstream errors.
	// +optional
	SplitExternalLocalOriginErrors bool `json:"splitExternalLocalOriginErrors,omitempty"`
	// ConsecutiveLocalOriginFailures is the number of local failures before ejection.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=4294967295
	// +optional
	ConsecutiveLocalOriginFailures *int64 `json:"consecutiveLocalOriginFailures,omitempty"`
	// ConsecutiveGatewayErrors is the number of 502/503/504 answers before ejection.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=4294967295
	// +optional
	ConsecutiveGatewayErrors *int64 `json:"consecutiveGatewayErrors,omitempty"`
	// Consecutive5xxErrors is the number of 5xx answers before ejection.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=4294967295
	// +optional
	Consecutive5xxErrors *int64 `json:"consecutive5xxErrors,omitempty"`
	// Interval is the time between ejection sweeps.
	// +optional
	Interval *Duration `json:"interval,omitempty"`
	// BaseEjectionTime is the shortest ejection, multiplied by the number of ejections.
	// +optional
	BaseEjectionTime *Duration `json:"baseEjectionTime,omitempty"`
	// MaxEjectionPercent caps the share of endpoints ejected at once.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	// +optional
	MaxEjectionPercent int32 `json:"maxEjectionPercent,omitempty"`
	// MinHealthPercent turns detection off while fewer endpoints than this share are healthy.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	// +optional
	MinHealthPercent int32 `json:"minHealthPercent,omitempty"`
	// OutlierDetectionHTTPErrorCodes lists the HTTP statuses that count as errors, replacing
	// the default 5xx set.
	// +kubebuilder:validation:MaxItems=500
	// +kubebuilder:validation:items:Minimum=100
	// +kubebuilder:validation:items:Maximum=599
	// +optional
	OutlierDetectionHTTPErrorCodes []int32 `json:"outlierDetectionHttpErrorCodes,omitempty"`
}

// LocalityLoadBalancerSetting shapes traffic across localities, written region/zone/subzone.
// +kubebuilder:validation:XValidation:rule="!has(self.distribute) || size(self.distribute) == 0 || !has(self.failover) || size(self.failover) == 0",message="only one of distribute or failover may be set"
// +kubebuilder:validation:XValidation:rule="!has(self.failover) || size(self.failover) == 0 || !has(self.failoverPriority) || !self.failoverPriority.exists(p, p in ['topology.kubernetes.io/region', 'topology.kubernetes.io/zone', 'topology.istio.io/subzone'])",message="failover may not be combined with the region, zone or subzone label in failoverPriority"
type LocalityLoadBalancerSetting struct {
	// Distribute splits the traffic of source localities across destination localities.
	// +kubebuilder:validation:MaxItems=16
	// +optional
	Distribute []LocalityDistribute `json:"distribute,omitempty"`
	// Failover names the region to use when a region has no healthy endpoints.
	// +kubebuilder:validation:MaxItems=16
	// +optional
	Failover []LocalityFailover `json:"failover,omitempty"`
	// FailoverPriority lists labels; endpoints sharing more of them with the client are
	// preferred.
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MaxLength=317
	// +optional
	FailoverPriority []string `json:"failoverPriority,omitempty"`
	// Enabled turns locality load balancing on or off (on by default).
	// +optional
	Enabled *bool `json:"enabled,omitempty"`
}

// LocalityDistribute sends the traffic of one source locality to destination localities by
// weight.
// +kubebuilder:validation:XValidation:rule="has(self.to) && self.to.all(k, self.to[k] >= 1 && self.to[k] <= 100)",message="distribute.to weights must each be between 1 and 100"
// +kubebuilder:validation:XValidation:rule="has(self.to) && self.to.map(k, self.to[k]).sum() == 100",message="distribute.to weights must add up to 100"
type LocalityDistribute struct {
	// From is the source locality; a trailing * matches all below it.
	// +optional
	From string `json:"from,omitempty"`
	// To maps destination localities to weights that add up to 100.
	// +kubebuilder:validation:MaxProperties=16
	// +optional
	To map[string]int64 `json:"to,omitempty"`
}

// LocalityFailover names the region that takes over for another.
// +kubebuilder:validation:XValidation:rule="has(self.from) != has(self.to) || (has(self.from) && self.from != self.to)",message="failover from and to must be different regions"
// +kubebuilder:validation:XValidation:rule="(!has(self.from) || (!self.from.contains('/') && !self.from.contains('*'))) && (!has(self.to) || (!self.to.contains('/') && !self.to.contains('*')))",message="failover from and to must be plain regions, without '/' or '*'"
type LocalityFailover struct {
	// From is the region whose traffic fails over.
	// +kubebuilder:validation:MaxLength=128
	// +optional
	From string `json:"from,omitempty"`
	// To is the region that takes it.
	// +kubebuilder:validation:MaxLength=128
	// +optional
	To string `json:"to,omitempty"`
}

// ZoneAwareLoadBalancerSetting balances across zones according to their capacity.
type ZoneAwareLoadBalancerSetting struct {
	// Enabled turns zone-aware balancing on or off.
	// +optional
	Enabled *bool `json:"enabled,omitempty"`
	// Failover names the zone that takes over for another.
	// +optional
	Failover []ZoneAwareFailover `json:"failover,omitempty"`
	// FailoverPriority lists labels; endpoints sharing more of them with the client are
	// preferred.
	// +optional
	FailoverPriority []string `json:"failoverPriority,omitempty"`
	// MinClusterSize is the smallest number of endpoints for zone awareness to apply.
	// +kubebuilder:validation:Minimum=1
	// +optional
	MinClusterSize *int64 `json:"minClusterSize,omitempty"`
}

// ZoneAwareFailover names the locality that takes over for another under zone awareness.
type ZoneAwareFailover struct {
	// From is the locality whose traffic fails over.
	// +optional
	From string `json:"from,omitempty"`
	// To is the locality that takes it.
	// +optional
	To string `json:"to,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=dr,categories=mizzen
// +kubebuilder:printcolumn:name="Host",type=string,JSONPath=`.spec.host`,description="Service the rule applies to"
// +kubebuilder:printcolumn:name="Subsets",type=string,JSONPath=`.status.subsetsSummary`,description="Subsets defined"
// +kubebuilder:printcolumn:name="Updated",type=string,JSONPath=`.status.updatedSummary`,description="Proxies carrying this generation / proxies targeted"
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`,description="Accepted, resolved and on every targeted proxy"
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// DestinationRule sets the client-side policies for traffic to a host; its spec is Istio's
// networking.istio.io/v1 DestinationRule.
type DestinationRule struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the desired policy.
	// +required
	Spec DestinationRuleSpec `json:"spec"`
	// Status is what Mizzen observed.
	// +optional
	Status DestinationRuleStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// DestinationRuleList is a list of DestinationRules.
type DestinationRuleList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []DestinationRule `json:"items"`
}

func init() {
	SchemeBuilder.Register(&DestinationRule{}, &DestinationRuleList{})
}
