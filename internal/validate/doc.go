// Package validate holds the semantic checks of VirtualService, DestinationRule and Gateway that
// the CRDs' structural schema and CEL rules cannot express, so that Mizzen accepts and rejects
// what Istio's validating webhook (istio/istio pkg/config/validation) does. It is pure: no
// Kubernetes client, no clock, no logging. The validating webhook and the reconcilers' Accepted
// condition both call it.
//
// API:
//
//	VirtualService(*v1alpha1.VirtualService) []Problem          // errors: reject / Accepted=False
//	DestinationRule(*v1alpha1.DestinationRule) []Problem
//	Gateway(*v1alpha1.Gateway) []Problem
//	Delegation(root *v1alpha1.VirtualService, route int, delegate *v1alpha1.VirtualService) []Problem
//	VirtualServiceWarnings(*v1alpha1.VirtualService) []Problem  // warnings: admit, but tell
//	DestinationRuleWarnings(*v1alpha1.DestinationRule) []Problem
//	GatewayWarnings(*v1alpha1.Gateway) []Problem
//	Join([]Problem) string
//
// A Problem has a field path (spec.http[0].match[1].uri.regex; map entries by key,
// spec.http[0].headers.request.set[:path]), a Reason (one per rule, below) and a message.
// Errors are what Istio's webhook rejects; warnings are what it admits with a warning (the
// webhook passes them on as admission warnings).
// Problems come in spec order, map keys sorted, so the output is deterministic. The object's
// namespace is read for exportTo "." and configmap:// credentials; nothing else outside spec is.
//
// Where Istio is laxer than Kubernetes (upper-case letters in DNS labels, a "*foo" leftmost host
// label, label values of any length) these checks follow Istio: an Istio manifest must pass.
//
// # Rules (37)
//
// Rules marked "also CEL" are enforced by the CRD as well; they are kept here because they
// belong to a check Istio makes as one piece, and so that specs read from files (tests, golden
// inputs) get the same verdict as specs admitted by the API server.
//
// Regular expressions, retries (VirtualService):
//  1. InvalidRegex — every regex compiles as RE2 (Go's regexp is RE2): match uri, scheme, method,
//     authority, headers, withoutHeaders (except the "*" presence marker), queryParams;
//     corsPolicy.allowOrigins; rewrite.uriRegexRewrite.match.
//  2. RegexTooLong — those regexes are at most 1024 characters (Istio's stand-in for Envoy's RE2
//     program-size limit; also CEL via MaxLength).
//  3. InvalidRetryOn — each comma-separated retries.retryOn token is an Envoy x-envoy-retry-on or
//     x-envoy-retry-grpc-on condition, or a known HTTP status code. Tokens are not trimmed.
//
// Headers (VirtualService routes and route destinations; DestinationRule hashing):
//  4. InvalidHeaderName — match headers/withoutHeaders keys are HTTP tokens, one of :method,
//     :scheme, :authority, :path, :status, or a JWT-claim route (@request.auth.claims.x or
//     @request.auth.claims[x]); corsPolicy allowHeaders/exposeHeaders are tokens or "*"; names in
//     header set/add/remove and consistentHash.httpHeaderName are non-empty without NUL/CR/LF.
//  5. ForbiddenHeader — header operations do not touch pseudo-headers (":" prefix) or Host, except
//     that request set/add may rewrite ":authority"/"Host".
//  6. InvalidHeaderValue — set/add values hold no control characters but tab, and their Envoy
//     %COMMAND(args)% expressions are well formed ("%%" for a literal %).
//  7. AuthorityRewriteConflict — the authority is rewritten in one place only: rewrite.authority or
//     one ":authority"/"Host" entry of headers.request set/add.
//  8. JWTClaimRouteOnMesh — JWT-claim header matches only in VirtualServices bound to gateways
//     alone (gateways listed, "mesh" not among them).
//
// Hosts and names:
//  9. InvalidHost — VirtualService hosts are DNS names with "*" only leading the leftmost label,
//     or IP addresses (on a gateway with SNI routes also Istio's outbound_.<port>_._.<host>
//     names); destination hosts (route, mirror, mirrors, tls, tcp) and DestinationRule host are
//     such DNS names, not IP addresses.
//  10. DuplicateHost — no VirtualService host overlaps an earlier one ("*.example.com" and
//     "api.example.com"); checked when all hosts are valid.
//  11. InvalidSNIHost — tls[].match[].sniHosts are valid DNS names (IP addresses are tolerated,
//     Istio only warns).
//  12. SNIHostNotInHosts — each SNI host lies within one of the VirtualService's hosts.
//  13. InvalidGatewayName — spec.gateways and match gateways are "namespace/name" with two DNS
//     labels, or a dotted DNS name such as "mesh", "my-gateway" or legacy "name.namespace".
//  14. InvalidLabel — sourceLabels (http, tls, tcp matches) and subset labels have Kubernetes
//     label keys ([dns-prefix/]name) and values.
//  15. InvalidSubnet — tls/tcp match destinationSubnets, and tcp match sourceSubnet, are IP
//     addresses or CIDR blocks (Istio does not check sourceSubnet; Envoy would refuse a bad one).
//  16. InvalidGatewayHost — Gateway server hosts are [namespace/]dnsName: namespace "*", "." or a
//     DNS label; dnsName "*", a fully qualified name with "*" only as the whole leftmost label
//     ("*.example.com", not "*foo.example.com"), or an IP address; no short names.
//  17. InvalidBind — a Gateway server bind is an IP address or unix:// with an absolute path or
//     an abstract "@name".
//  18. InvalidTunnelHost — trafficPolicy.tunnel.targetHost is a DNS name or an IP address.
//  19. InvalidCredentialName — a client TLS credentialName "configmap://ns/name" names both parts
//     and the DestinationRule's own namespace.
//
// Redirects (Istio checks; no CEL rule in the CRD yet):
//  20. RedirectConflict — a redirect sets uri or prefixRewrite, not both.
//  21. RedirectNeedsPrefixMatch — with prefixRewrite, every uri match of the rule is a prefix match.
//
// exportTo (VirtualService, DestinationRule):
//  22. InvalidExportTo — entries are ".", "*" or a DNS label; "~" is for ServiceEntry only
//     (also CEL).
//  23. DuplicateExportTo — no entry twice, counting "." as the own namespace.
//  24. ExportToPublicMixed — "*" stands alone (also CEL).
//  25. ExportToWithWorkloadSelector — a DestinationRule with a workloadSelector is exported to its
//     own namespace only.
//
// Load balancing (DestinationRule traffic policies, their portLevelSettings, subsets):
//  26. NotPrime — consistentHash.maglev.tableSize is prime (Envoy's test, so 1 counts as prime).
//  27. RingSizeTooLarge — consistentHash ringHash.minimumRingSize and the deprecated
//     minimumRingSize are at most 8388608, Envoy's limit.
//  28. InvalidCookieName — consistentHash.httpCookie.name is an RFC 6265 cookie-name (an HTTP
//     token). Stricter than Istio, which sends any name to Envoy.
//  29. DuplicateCookieAttribute — httpCookie.attributes names are unique.
//  30. LocalityConflict — not both localityLbSetting and zoneAwareLbSetting; not both distribute
//     and failover (also CEL); no region/zone/subzone topology label in failoverPriority next to
//     failover (also CEL).
//  31. InvalidLocality — distribute from and to localities are region[/zone[/subzone]] with at
//     most one "*", at the end, no empty part, and none overlapping an earlier one (Istio's order
//     rule: ["us/z1", "us/*"] passes, ["us/*", "us/z1"] does not).
//  32. InvalidLocalityWeight — distribute to weights are 1–100 and add up to 100 per from
//     (also CEL).
//  33. InvalidLocalityFailover — locality and zone-aware failover name two different plain regions
//     (no "/", no "*"); also CEL for localityLbSetting.
//  34. InvalidFailoverPriority — zoneAwareLbSetting.failoverPriority holds no region/zone/subzone
//     topology label.
//  35. KeepaliveIncomplete — connectionPool.http.http2KeepAlive sets both interval and timeout.
//
// Delegation (context: the root VirtualService and the one it names, see Delegation):
//  36. DelegateHasHosts — a delegate has no hosts (Istio skips the rule otherwise).
//  37. DelegateNotExported — a delegate is exported to the root's namespace.
//
// What a delegate itself may not hold (gateways, tls, tcp, a further delegate) is a set of CEL
// rules on the VirtualService, as are Istio's other checks: durations, bounds, presence, one-of,
// enums, subset and port names, TLS settings.
//
// # Warnings (13)
//
//  1. LegacyGatewayName — a gateway named "name.namespace" rather than "namespace/name".
//  2. SNIHostIsIP — an SNI host that is an IP address (clients do not send those).
//  3. DeprecatedField — mirrorPercent / mirror_percent, outlierDetection.consecutiveErrors,
//     consistentHash.minimumRingSize.
//  4. AbortWithoutErrorType — fault.abort without httpStatus or grpcStatus.
//  5. LargeDirectResponse — a directResponse body over 100 KiB (1 MiB is the schema's limit).
//  6. UnreachableRule — an http/tls/tcp rule after a rule without matches, or all of whose matches
//     an earlier rule already has.
//  7. IneffectiveMatch — a match (name aside) equal to one of an earlier rule.
//  8. FailoverWithoutOutlierDetection — locality or zone-aware failover/failoverPriority in a
//     traffic policy without outlierDetection.
//  9. HTTPSRedirectOnNonHTTP — tls.httpsRedirect on a server that is not plain HTTP.
//  10. OldTLSWithoutCipherSuites — minProtocolVersion TLSV1_0/TLSV1_1 without cipherSuites.
//  11. InvalidCipherSuite — a cipher suite Envoy does not know (to be dropped when translating).
//  12. DuplicateCipherSuite — a cipher suite listed twice.
//  13. CertificatesIgnored — certificate settings on a PASSTHROUGH/AUTO_PASSTHROUGH server.
package validate
