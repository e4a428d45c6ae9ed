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

// VirtualServiceSpec says how requests for a set of hosts are routed: HTTP rules, then TLS
// passthrough rules by SNI, then plain TCP rules, each list tried in order.
// +kubebuilder:validation:XValidation:rule="(has(self.http) && size(self.http) > 0) || (has(self.tls) && size(self.tls) > 0) || (has(self.tcp) && size(self.tcp) > 0)",message="at least one of http, tls or tcp routes is required"
// +kubebuilder:validation:XValidation:rule="(has(self.hosts) && size(self.hosts) > 0) || ((!has(self.gateways) || size(self.gateways) == 0) && (!has(self.tls) || size(self.tls) == 0) && (!has(self.tcp) || size(self.tcp) == 0))",message="a delegate VirtualService (one without hosts) may not set gateways, tls or tcp"
// +kubebuilder:validation:XValidation:rule="(has(self.hosts) && size(self.hosts) > 0) || !has(self.http) || self.http.all(r, !has(r.delegate))",message="a delegate VirtualService (one without hosts) may not delegate again: http[].delegate is not allowed"
// +kubebuilder:validation:XValidation:rule="!has(self.hosts) || !self.hosts.exists(h, h == '*') || (has(self.gateways) && size(self.gateways) > 0 && !self.gateways.exists(g, g == 'mesh'))",message="hosts may not contain the wildcard * when the VirtualService applies to the mesh (no gateways, or the mesh gateway)"
type VirtualServiceSpec struct {
	// Hosts are the destination hosts these rules apply to: service names, wildcard DNS names
	// (*.example.com) or IP addresses. Left empty only in a VirtualService that another one
	// delegates to.
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MaxLength=255
	// +kubebuilder:validation:items:MinLength=1
	// +listType=set
	// +optional
	Hosts []string `json:"hosts,omitempty"`
	// Gateways names the Gateways (namespace/name) and the reserved "mesh" that apply these rules;
	// empty means the sidecars of the mesh only.
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=253
	// +optional
	Gateways []string `json:"gateways,omitempty"`
	// HTTP lists the rules for HTTP/1.1, HTTP/2 and gRPC traffic; the first match wins.
	// +kubebuilder:validation:MaxItems=256
	// +optional
	HTTP []HTTPRoute `json:"http,omitempty"`
	// TLS lists the rules for TLS and HTTPS traffic that is passed through, matched by SNI.
	// +kubebuilder:validation:MaxItems=256
	// +optional
	TLS []TLSRoute `json:"tls,omitempty"`
	// TCP lists the rules for opaque TCP traffic.
	// +kubebuilder:validation:MaxItems=256
	// +optional
	TCP []TCPRoute `json:"tcp,omitempty"`
	// ExportTo lists the namespaces that may see this VirtualService: "." for its own, "*" for
	// all, or namespace names. Empty means all.
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=63
	// +kubebuilder:validation:XValidation:rule="self.all(e, e == '.' || e == '*' || e.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'))",message="exportTo entries must be '.', '*' or a namespace name"
	// +kubebuilder:validation:XValidation:rule="!self.exists(e, e == '*') || size(self) == 1",message="exportTo may not combine '*' with other entries"
	// +listType=set
	// +optional
	ExportTo []string `json:"exportTo,omitempty"`
}

// HTTPRoute is one HTTP rule: conditions to match, and what to do with a matching request —
// forward it (route), answer with a redirect or a fixed response, or hand it to a delegate
// VirtualService — plus rewrites, retries, timeouts, fault injection, mirroring, CORS and headers.
// +kubebuilder:validation:XValidation:rule="!has(self.delegate) || (!has(self.route) && !has(self.redirect))",message="a rule with delegate may not also set route or redirect"
// +kubebuilder:validation:XValidation:rule="has(self.delegate) || has(self.redirect) || has(self.directResponse) || (has(self.route) && size(self.route) > 0)",message="each http rule needs one of route, redirect, directResponse or delegate"
// +kubebuilder:validation:XValidation:rule="!has(self.redirect) || ((!has(self.route) || size(self.route) == 0) && !has(self.fault) && !has(self.rewrite) && !has(self.directResponse))",message="redirect may not be combined with route, fault, rewrite or directResponse"
// +kubebuilder:validation:XValidation:rule="!has(self.directResponse) || ((!has(self.route) || size(self.route) == 0) && !has(self.fault) && !has(self.rewrite))",message="directResponse may not be combined with route, fault or rewrite"
// +kubebuilder:validation:XValidation:rule="!has(self.mirror) || !has(self.mirrors) || size(self.mirrors) == 0",message="only one of mirror or mirrors may be set"
// +kubebuilder:validation:XValidation:rule="!has(self.route) || size(self.route) <= 1 || self.route.exists(d, has(d.weight) && d.weight > 0)",message="route: with several destinations at least one weight must be above 0"
type HTTPRoute struct {
	// Name identifies the rule in logs and access logs.
	// +optional
	Name string `json:"name,omitempty"`
	// Match lists alternative conditions (any one suffices); each condition's fields must all hold.
	// Empty matches every request.
	// +kubebuilder:validation:MaxItems=64
	// +optional
	Match []HTTPMatchRequest `json:"match,omitempty"`
	// Route lists the destinations a request is forwarded to, split by weight.
	// +kubebuilder:validation:MaxItems=64
	// +optional
	Route []HTTPRouteDestination `json:"route,omitempty"`
	// Redirect answers with an HTTP redirect instead of forwarding.
	// +optional
	Redirect *HTTPRedirect `json:"redirect,omitempty"`
	// DirectResponse answers with a fixed status and body instead of forwarding.
	// +optional
	DirectResponse *HTTPDirectResponse `json:"directResponse,omitempty"`
	// Delegate hands matching requests to the http rules of another VirtualService.
	// +optional
	Delegate *Delegate `json:"delegate,omitempty"`
	// Rewrite changes the path or authority before forwarding.
	// +optional
	Rewrite *HTTPRewrite `json:"rewrite,omitempty"`
	// Timeout bounds the whole request, retries included.
	// +optional
	Timeout *Duration `json:"timeout,omitempty"`
	// Retries controls how failed requests are retried.
	// +optional
	Retries *HTTPRetry `json:"retries,omitempty"`
	// Fault injects delays or errors into matching requests.
	// +optional
	Fault *HTTPFaultInjection `json:"fault,omitempty"`
	// Mirror copies matching requests to a second destination and ignores its answers.
	// +optional
	Mirror *Destination `json:"mirror,omitempty"`
	// Mirrors copies matching requests to several destinations; excludes Mirror.
	// +kubebuilder:validation:MaxItems=16
	// +optional
	Mirrors []HTTPMirrorPolicy `json:"mirrors,omitempty"`
	// MirrorPercent is the share of requests Mirror receives, in whole percent.
	// Deprecated: use MirrorPercentage.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	// +optional
	MirrorPercent *int64 `json:"mirrorPercent,omitempty"`
	// MirrorPercentLegacy is the snake_case spelling of MirrorPercent that Istio's schema also
	// accepts; it is kept so manifests using it are not pruned.
	// Deprecated: use MirrorPercentage.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	// +optional
	MirrorPercentLegacy *int64 `json:"mirror_percent,omitempty"`
	// MirrorPercentage is the share of requests Mirror receives (default 100).
	// +optional
	MirrorPercentage *Percent `json:"mirrorPercentage,omitempty"`
	// CorsPolicy answers cross-origin requests.
	// +optional
	CorsPolicy *CorsPolicy `json:"corsPolicy,omitempty"`
	// Headers changes request and response headers.
	// +optional
	Headers *Headers `json:"headers,omitempty"`
}

// Delegate names the VirtualService whose http rules take over a request.
type Delegate struct {
	// Name is the name of the delegate VirtualService.
	// +optional
	Name string `json:"name,omitempty"`
	// Namespace is its namespace; empty means the namespace of the delegating VirtualService.
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

// TLSRoute forwards TLS connections that are not terminated, chosen by SNI and port.
// +kubebuilder:validation:XValidation:rule="!has(self.route) || size(self.route) <= 1 || self.route.exists(d, has(d.weight) && d.weight > 0)",message="route: with several destinations at least one weight must be above 0"
type TLSRoute struct {
	// Match lists alternative conditions; at least one is required.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=64
	// +required
	Match []TLSMatchAttributes `json:"match"`
	// Route lists the destinations connections are forwarded to.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=64
	// +required
	Route []RouteDestination `json:"route"`
}

// TCPRoute forwards opaque TCP connections.
// +kubebuilder:validation:XValidation:rule="!has(self.route) || size(self.route) <= 1 || self.route.exists(d, has(d.weight) && d.weight > 0)",message="route: with several destinations at least one weight must be above 0"
type TCPRoute struct {
	// Match lists alternative conditions; empty matches every connection.
	// +kubebuilder:validation:MaxItems=64
	// +optional
	Match []L4MatchAttributes `json:"match,omitempty"`
	// Route lists the destinations connections are forwarded to.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=64
	// +required
	Route []RouteDestination `json:"route"`
}

// HTTPMatchRequest is a set of conditions on an HTTP request; all that are set must hold.
type HTTPMatchRequest struct {
	// Name is appended to the rule's name in logs.
	// +optional
	Name string `json:"name,omitempty"`
	// URI matches the request path (an empty prefix is allowed here).
	// +optional
	URI *StringMatch `json:"uri,omitempty"`
	// Scheme matches the URI scheme.
	// +kubebuilder:validation:XValidation:rule="!has(self.prefix) || size(self.prefix) > 0",message="scheme: a prefix match may not be empty"
	// +optional
	Scheme *StringMatch `json:"scheme,omitempty"`
	// Method matches the HTTP method.
	// +kubebuilder:validation:XValidation:rule="!has(self.prefix) || size(self.prefix) > 0",message="method: a prefix match may not be empty"
	// +optional
	Method *StringMatch `json:"method,omitempty"`
	// Authority matches the Host / :authority header.
	// +kubebuilder:validation:XValidation:rule="!has(self.prefix) || size(self.prefix) > 0",message="authority: a prefix match may not be empty"
	// +optional
	Authority *StringMatch `json:"authority,omitempty"`
	// Headers matches request headers by lower-case name (or JWT claims in the
	// @request.auth.claims.<name> form on gateways).
	// +kubebuilder:validation:MaxProperties=32
	// +kubebuilder:validation:XValidation:rule="self.all(k, !has(self[k].prefix) || size(self[k].prefix) > 0)",message="headers: a prefix match may not be empty"
	// +optional
	Headers map[string]StringMatch `json:"headers,omitempty"`
	// Port matches the port the request arrived on.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=65535
	// +optional
	Port int32 `json:"port,omitempty"`
	// SourceLabels matches the labels of the calling workload.
	// +optional
	SourceLabels map[string]string `json:"sourceLabels,omitempty"`
	// Gateways restricts the condition to these gateways, overriding the VirtualService's list.
	// +kubebuilder:validation:MaxItems=64
	// +optional
	Gateways []string `json:"gateways,omitempty"`
	// QueryParams matches query parameters by name.
	// +kubebuilder:validation:MaxProperties=32
	// +kubebuilder:validation:XValidation:rule="self.all(k, !has(self[k].prefix) || size(self[k].prefix) > 0)",message="queryParams: a prefix match may not be empty"
	// +optional
	QueryParams map[string]StringMatch `json:"queryParams,omitempty"`
	// IgnoreURICase makes the URI match case-insensitive.
	// +optional
	IgnoreURICase bool `json:"ignoreUriCase,omitempty"`
	// WithoutHeaders matches requests that do NOT carry matching headers (regex "*" means
	// "header present").
	// +kubebuilder:validation:MaxProperties=32
	// +kubebuilder:validation:XValidation:rule="self.all(k, !has(self[k].prefix) || size(self[k].prefix) > 0)",message="withoutHeaders: a prefix match may not be empty"
	// +optional
	WithoutHeaders map[string]StringMatch `json:"withoutHeaders,omitempty"`
	// SourceNamespace matches the namespace of the calling workload.
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:XValidation:rule="size(self) == 0 || self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",message="sourceNamespace must be a namespace name (DNS-1123 label)"
	// +optional
	SourceNamespace string `json:"sourceNamespace,omitempty"`
	// StatPrefix names this match in the proxy's route statistics.
	// +optional
	StatPrefix string `json:"statPrefix,omitempty"`
}

// HTTPRouteDestination is one weighted destination of an HTTP rule.
type HTTPRouteDestination struct {
	// Destination is where requests go.
	// +required
	Destination Destination `json:"destination"`
	// Weight is this destination's share relative to the others of the rule. Weights need not
	// add up to 100; a single destination gets all traffic.
	// +kubebuilder:validation:Minimum=0
	// +optional
	Weight int32 `json:"weight,omitempty"`
	// Headers changes headers for requests sent to this destination only.
	// +optional
	Headers *Headers `json:"headers,omitempty"`
}

// RouteDestination is one weighted destination of a TLS or TCP rule.
type RouteDestination struct {
	// Destination is where connections go.
	// +required
	Destination Destination `json:"destination"`
	// Weight is this destination's share relative to the others of the rule.
	// +kubebuilder:validation:Minimum=0
	// +optional
	Weight int32 `json:"weight,omitempty"`
}

// L4MatchAttributes are conditions on a TCP connection.
type L4MatchAttributes struct {
	// DestinationSubnets matches the destination address (IP or CIDR).
	// +optional
	DestinationSubnets []string `json:"destinationSubnets,omitempty"`
	// Port matches the destination port.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=65535
	// +optional
	Port int32 `json:"port,omitempty"`
	// SourceSubnet matches the client address (IP or CIDR).
	// +optional
	SourceSubnet string `json:"sourceSubnet,omitempty"`
	// SourceLabels matches the labels of the calling workload.
	// +optional
	SourceLabels map[string]string `json:"sourceLabels,omitempty"`
	// Gateways restricts the condition to these gateways.
	// +optional
	Gateways []string `json:"gateways,omitempty"`
	// SourceNamespace matches the namespace of the calling workload.
	// +optional
	SourceNamespace string `json:"sourceNamespace,omitempty"`
}

// TLSMatchAttributes are conditions on a TLS connection that is passed through.
type TLSMatchAttributes struct {
	// SniHosts matches the server name of the TLS handshake; at least one is required.
	// +kubebuilder:validation:MinItems=1
	// +required
	SniHosts []string `json:"sniHosts"`
	// DestinationSubnets matches the destination address (IP or CIDR).
	// +optional
	DestinationSubnets []string `json:"destinationSubnets,omitempty"`
	// Port matches the destination port.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=65535
	// +optional
	Port int32 `json:"port,omitempty"`
	// SourceLabels matches the labels of the calling workload.
	// +optional
	SourceLabels map[string]string `json:"sourceLabels,omitempty"`
	// Gateways restricts the condition to these gateways.
	// +optional
	Gateways []string `json:"gateways,omitempty"`
	// SourceNamespace matches the namespace of the calling workload.
	// +optional
	SourceNamespace string `json:"sourceNamespace,omitempty"`
}

// RedirectPortSelection derives a redirect's port from the request.
// +kubebuilder:validation:Enum=FROM_PROTOCOL_DEFAULT;FROM_REQUEST_PORT
type RedirectPortSelection string

const (
	// RedirectFromProtocolDefault uses 80 for http and 443 for https.
	RedirectFromProtocolDefault RedirectPortSelection = "FROM_PROTOCOL_DEFAULT"
	// RedirectFromRequestPort keeps the port of the request.
	RedirectFromRequestPort RedirectPortSelection = "FROM_REQUEST_PORT"
)

// HTTPRedirect answers a request with a 3xx redirect built from the request and these fields.
// +kubebuilder:validation:XValidation:rule="!has(self.port) || !has(self.derivePort)",message="only one of port or derivePort may be set"
// +kubebuilder:validation:XValidation:rule="(has(self.uri) && size(self.uri) > 0) || (has(self.authority) && size(self.authority) > 0) || has(self.port) || has(self.derivePort) || (has(self.scheme) && size(self.scheme) > 0) || (has(self.prefixRewrite) && size(self.prefixRewrite) > 0)",message="redirect needs at least one of uri, prefixRewrite, authority, scheme, port or derivePort"
type HTTPRedirect struct {
	// URI replaces the path of the redirect location.
	// +optional
	URI string `json:"uri,omitempty"`
	// Authority replaces the host of the redirect location.
	// +optional
	Authority string `json:"authority,omitempty"`
	// Port replaces the port of the redirect location.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +optional
	Port *int32 `json:"port,omitempty"`
	// DerivePort takes the port of the redirect location from the protocol or the request.
	// +optional
	DerivePort *RedirectPortSelection `json:"derivePort,omitempty"`
	// Scheme replaces the scheme of the redirect location.
	// +kubebuilder:validation:XValidation:rule="size(self) == 0 || self == 'http' || self == 'https'",message="redirect scheme must be http or https"
	// +optional
	Scheme string `json:"scheme,omitempty"`
	// RedirectCode is the 3xx status to answer with (default 301).
	// +kubebuilder:validation:XValidation:rule="self == 0 || (self >= 300 && self <= 399)",message="redirectCode must be a 3xx status"
	// +optional
	RedirectCode int32 `json:"redirectCode,omitempty"`
	// PrefixRewrite replaces the matched path prefix in the redirect location.
	// +optional
	PrefixRewrite string `json:"prefixRewrite,omitempty"`
}

// HTTPDirectResponse answers a request with a fixed status and optional body.
type HTTPDirectResponse struct {
	// Status is the HTTP status code of the answer.
	// +kubebuilder:validation:Minimum=200
	// +kubebuilder:validation:Maximum=599
	// +required
	Status int32 `json:"status"`
	// Body is the payload of the answer.
	// +optional
	Body *HTTPBody `json:"body,omitempty"`
}

// HTTPBody is a response body given as text or as base64-encoded bytes (up to 1 MiB).
// +kubebuilder:validation:XValidation:rule="!has(self.string) || !has(self.bytes)",message="only one of string or bytes may be set"
type HTTPBody struct {
	// String is a text body.
	// +kubebuilder:validation:MaxLength=1048576
	// +optional
	String *string `json:"string,omitempty"`
	// Bytes is a binary body, base64-encoded in JSON.
	// +kubebuilder:validation:MaxLength=1398104
	// +optional
	Bytes []byte `json:"bytes,omitempty"`
}

// HTTPRewrite changes a request before it is forwarded.
// +kubebuilder:validation:XValidation:rule="!(has(self.uri) && size(self.uri) > 0 && has(self.uriRegexRewrite))",message="only one of uri or uriRegexRewrite may be set"
// +kubebuilder:validation:XValidation:rule="(has(self.uri) && size(self.uri) > 0) || has(self.uriRegexRewrite) || (has(self.authority) && size(self.authority) > 0)",message="rewrite needs at least one of uri, uriRegexRewrite or authority"
type HTTPRewrite struct {
	// URI replaces the matched part of the path (the prefix for a prefix match, else the path).
	// +optional
	URI string `json:"uri,omitempty"`
	// Authority replaces the Host / :authority header.
	// +optional
	Authority string `json:"authority,omitempty"`
	// URIRegexRewrite replaces the parts of the path matching a regular expression.
	// +optional
	URIRegexRewrite *RegexRewrite `json:"uriRegexRewrite,omitempty"`
}

// RegexRewrite replaces what an RE2 expression matches.
type RegexRewrite struct {
	// Match is the RE2 expression.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	// +required
	Match string `json:"match"`
	// Rewrite is the replacement; \1 and so on refer to capture groups.
	// +kubebuilder:validation:MinLength=1
	// +required
	Rewrite string `json:"rewrite"`
}

// HTTPRetry controls how a failed request is retried.
// +kubebuilder:validation:XValidation:rule="(has(self.attempts) && self.attempts > 0) || (!has(self.perTryTimeout) && (!has(self.retryOn) || size(self.retryOn) == 0) && !has(self.retryRemoteLocalities))",message="perTryTimeout, retryOn and retryRemoteLocalities need attempts above 0 (0 disables retries)"
type HTTPRetry struct {
	// Attempts is the number of retries allowed; 0 disables retrying.
	// +kubebuilder:validation:Minimum=0
	// +optional
	Attempts int32 `json:"attempts,omitempty"`
	// PerTryTimeout bounds each attempt, the first included.
	// +optional
	PerTryTimeout *Duration `json:"perTryTimeout,omitempty"`
	// RetryOn lists, comma separated, the conditions that trigger a retry (Envoy's
	// x-envoy-retry-on and x-envoy-retry-grpc-on tokens, or status codes).
	// +optional
	RetryOn string `json:"retryOn,omitempty"`
	// RetryRemoteLocalities lets retries go to other localities.
	// +optional
	RetryRemoteLocalities *bool `json:"retryRemoteLocalities,omitempty"`
	// RetryIgnorePreviousHosts avoids retrying on hosts that already failed (default true).
	// +optional
	RetryIgnorePreviousHosts *bool `json:"retryIgnorePreviousHosts,omitempty"`
	// Backoff is the base interval between retries.
	// +optional
	Backoff *Duration `json:"backoff,omitempty"`
}

// UnmatchedPreflights says what to do with CORS preflight requests from origins not allowed.
// +kubebuilder:validation:Enum=UNSPECIFIED;FORWARD;IGNORE
type UnmatchedPreflights string

const (
	// UnmatchedPreflightsUnspecified leaves the choice to the proxy (forward).
	UnmatchedPreflightsUnspecified UnmatchedPreflights = "UNSPECIFIED"
	// UnmatchedPreflightsForward forwards them upstream.
	UnmatchedPreflightsForward UnmatchedPreflights = "FORWARD"
	// UnmatchedPreflightsIgnore answers them without CORS headers.
	UnmatchedPreflightsIgnore UnmatchedPreflights = "IGNORE"
)

// CorsPolicy answers cross-origin resource sharing requests.
type CorsPolicy struct {
	// AllowOrigin lists allowed origins exactly.
	// Deprecated: use AllowOrigins.
	// +optional
	AllowOrigin []string `json:"allowOrigin,omitempty"`
	// AllowOrigins lists allowed origins as string matches.
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:XValidation:rule="self.all(o, (has(o.exact) && size(o.exact) > 0) || (has(o.prefix) && size(o.prefix) > 0) || (has(o.regex) && size(o.regex) > 0))",message="allowOrigins entries need a non-empty exact, prefix or regex"
	// +optional
	AllowOrigins []StringMatch `json:"allowOrigins,omitempty"`
	// AllowMethods lists the methods allowed (Access-Control-Allow-Methods).
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:XValidation:rule="self.all(m, m in ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE'])",message="allowMethods entries must be GET, HEAD, POST, PUT, PATCH, DELETE, CONNECT, OPTIONS or TRACE"
	// +optional
	AllowMethods []string `json:"allowMethods,omitempty"`
	// AllowHeaders lists the request headers allowed (Access-Control-Allow-Headers).
	// +optional
	AllowHeaders []string `json:"allowHeaders,omitempty"`
	// ExposeHeaders lists the response headers browsers may read (Access-Control-Expose-Headers).
	// +optional
	ExposeHeaders []string `json:"exposeHeaders,omitempty"`
	// MaxAge is how long a preflight answer may be cached, in whole seconds.
	// +kubebuilder:validation:XValidation:rule="int(duration(self)) % 1000000000 == 0",message="maxAge must be a whole number of seconds"
	// +optional
	MaxAge *Duration `json:"maxAge,omitempty"`
	// AllowCredentials says whether credentials may be sent (Access-Control-Allow-Credentials).
	// +optional
	AllowCredentials *bool `json:"allowCredentials,omitempty"`
	// UnmatchedPreflights handles preflights from origins not allowed.
	// +optional
	UnmatchedPreflights UnmatchedPreflights `json:"unmatchedPreflights,omitempty"`
}

// HTTPFaultInjection delays or aborts a share of requests, to test resilience.
// +kubebuilder:validation:XValidation:rule="has(self.delay) || has(self.abort)",message="fault needs a delay, an abort, or both"
type HTTPFaultInjection struct {
	// Delay holds requests back before forwarding them.
	// +optional
	Delay *HTTPFaultDelay `json:"delay,omitempty"`
	// Abort answers requests with an error instead of forwarding them.
	// +optional
	Abort *HTTPFaultAbort `json:"abort,omitempty"`
}

// HTTPFaultDelay holds a share of requests back for a while.
// +kubebuilder:validation:XValidation:rule="!has(self.fixedDelay) || !has(self.exponentialDelay)",message="only one of fixedDelay or exponentialDelay may be set"
// +kubebuilder:validation:XValidation:rule="!has(self.exponentialDelay)",message="exponentialDelay is not supported (Istio rejects it too); use fixedDelay"
// +kubebuilder:validation:XValidation:rule="!has(self.percentage) || !has(self.percentage.value) || self.percentage.value == 0.0 || self.percentage.value >= 0.0001",message="percentage must be 0 or between 0.0001 and 100"
type HTTPFaultDelay struct {
	// Percent is the share of requests delayed, in whole percent.
	// Deprecated: use Percentage.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	// +optional
	Percent int32 `json:"percent,omitempty"`
	// FixedDelay is how long to wait.
	// +optional
	FixedDelay *Duration `json:"fixedDelay,omitempty"`
	// ExponentialDelay is reserved for an exponentially distributed wait.
	// +optional
	ExponentialDelay *Duration `json:"exponentialDelay,omitempty"`
	// Percentage is the share of requests delayed.
	// +optional
	Percentage *Percent `json:"percentage,omitempty"`
}

// HTTPFaultAbort answers a share of requests with an error.
// +kubebuilder:validation:XValidation:rule="(has(self.httpStatus) ? 1 : 0) + (has(self.grpcStatus) ? 1 : 0) + (has(self.http2Error) ? 1 : 0) <= 1",message="only one of httpStatus, grpcStatus or http2Error may be set"
// +kubebuilder:validation:XValidation:rule="!has(self.http2Error)",message="http2Error is not supported (Istio rejects it too); use httpStatus or grpcStatus"
// +kubebuilder:validation:XValidation:rule="!has(self.percentage) || !has(self.percentage.value) || self.percentage.value == 0.0 || self.percentage.value >= 0.0001",message="percentage must be 0 or between 0.0001 and 100"
type HTTPFaultAbort struct {
	// HTTPStatus is the HTTP status to answer with.
	// +kubebuilder:validation:Minimum=200
	// +kubebuilder:validation:Maximum=599
	// +optional
	HTTPStatus *int32 `json:"httpStatus,omitempty"`
	// GrpcStatus is the gRPC status name to answer with, such as UNAVAILABLE.
	// +kubebuilder:validation:Enum=OK;CANCELLED;UNKNOWN;INVALID_ARGUMENT;DEADLINE_EXCEEDED;NOT_FOUND;ALREADY_EXISTS;PERMISSION_DENIED;RESOURCE_EXHAUSTED;FAILED_PRECONDITION;ABORTED;OUT_OF_RANGE;UNIMPLEMENTED;INTERNAL;UNAVAILABLE;DATA_LOSS;UNAUTHENTICATED
	// +optional
	GrpcStatus *string `json:"grpcStatus,omitempty"`
	// HTTP2Error is reserved for an HTTP/2 error code.
	// +optional
	HTTP2Error *string `json:"http2Error,omitempty"`
	// Percentage is the share of requests aborted.
	// +optional
	Percentage *Percent `json:"percentage,omitempty"`
}

// HTTPMirrorPolicy copies a share of requests to another destination.
type HTTPMirrorPolicy struct {
	// Destination receives the copies.
	// +required
	Destination Destination `json:"destination"`
	// Percentage is the share of requests copied (default 100).
	// +optional
	Percentage *Percent `json:"percentage,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=vs,categories=mizzen
// +kubebuilder:printcolumn:name="Hosts",type=string,JSONPath=`.spec.hosts`,description="Hosts these rules apply to"
// +kubebuilder:printcolumn:name="Gateways",type=string,JSONPath=`.spec.gateways`,description="Gateways (and mesh) applying these rules"
// +kubebuilder:printcolumn:name="Weights",type=string,JSONPath=`.status.canary.weightsSummary`,description="Weights being rolled out"
// +kubebuilder:printcolumn:name="Updated",type=string,JSONPath=`.status.canary.updatedSummary`,description="Proxies carrying this generation / proxies targeted"
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`,description="Accepted, resolved and on every targeted proxy"
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// VirtualService routes traffic addressed to a set of hosts; its spec is Istio's
// networking.istio.io/v1 VirtualService.
type VirtualService struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the desired routing.
	// +required
	Spec VirtualServiceSpec `json:"spec"`
	// Status is what Mizzen observed and rolled out.
	// +optional
	Status VirtualServiceStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// VirtualServiceList is a list of VirtualServices.
type VirtualServiceList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []VirtualService `json:"items"`
}

func init() {
	SchemeBuilder.Register(&VirtualService{}, &VirtualServiceList{})
}
