// Package translate turns the mesh (a mesh.Snapshot) into one proxy's Envoy configuration, doing
// what istiod does for a sidecar or a gateway, with Istio's names and ports. It is pure and
// deterministic: no client, clock or logging, and the same snapshot and proxy give the same
// resources in the same order. Every message passes ValidateAll before it is packed into an Any
// (pack), and whole listeners and clusters are validated again before they are returned.
//
// # Output (Resources, consumed by internal/envoy)
//
// Sidecar listeners:
//   - virtualOutbound 0.0.0.0:15001, use_original_dst, catch-all tcp_proxy to PassthroughCluster;
//   - 0.0.0.0_<port> (bind_to_port false) for each port carrying HTTP services: an HCM with the
//     route table inline (virtual host per service: FQDN, short names, cluster IP, each with and
//     without the port; allow_any to PassthroughCluster), filters fault, cors, router;
//   - <clusterIP>_<port> for each TCP/TLS service port: tcp_proxy by tcp rules, or SNI filter
//     chains by tls rules;
//   - virtualInbound 0.0.0.0:15006: original_dst + tls_inspector, per workload target port an
//     mTLS chain (mesh ALPN) and, in PERMISSIVE, a plaintext chain; STRICT keeps only mTLS (also
//     for undeclared ports), DISABLE only plaintext; forwarding to inbound|<port>|| on 127.0.0.1;
//   - 0.0.0.0_15021 (/healthz/ready → admin /ready) and 0.0.0.0_15090 (/stats/prometheus), both
//     through the bootstrap's static cluster PrometheusStatsCluster.
//
// Gateway listeners: one per server port (HTTP, HTTPS terminated with certificate files or with
// Secrets named by credentialName(s) and caCertCredentialName, TLS passthrough by SNI, TCP),
// routed by the VirtualServices bound to the Gateways selecting the proxy. Secrets are looked up
// in the proxy's namespace (mesh.Snapshot.Credential: key names only) and read through SDS
// documents of envoy.Credential; Resources.Credentials lists them for the proxy reconciler,
// which copies them next to those documents. A missing Secret is SecretNotFound and skips its
// server; a Secret the mesh saw and lost (Deleted) keeps it. A DestinationRule's client
// credentialName gives gateway proxies their client certificate and CA the same way.
//
// Clusters: outbound|<port>||<host> for every service port the proxy sees, and
// outbound|<port>|<subset>|<host> for the subsets its routes name (unused subsets cost no bytes);
// STATIC, endpoints inline grouped by locality, each group with a locality and a
// load_balancing_weight; PassthroughCluster, BlackHoleCluster,
// InboundPassthroughCluster, inbound|<port>||. Mesh mTLS (ISTIO_MUTUAL and auto mTLS) uses the
// workload certificate and root CA through the SDS files named in sds.go.
//
// # Sharing
//
// A sidecar's outbound listeners and clusters depend on its namespace (and egress scope), and on
// its locality only when a DestinationRule weighs localities; unless a rule selects proxies by
// labels (sourceLabels, workloadSelector) they are built once per namespace and shared, through
// the snapshot's memo. Per-service clusters are memoized per DestinationRule. Resources of two
// proxies may share messages: treat them as read-only.
//
// # Problems
//
// Problem.Field names the object first: "VirtualService default/reviews spec.http[0].fault"
// (ProblemObject splits it). Reasons: Unsupported (accepted, not translated: never dropped
// silently), HostNotFound and SubsetNotFound (traffic goes to BlackHoleCluster),
// DelegateNotFound, ConflictingHost (the older VirtualService keeps the host), InvalidConfig,
// SecretNotFound.
//
// # Not translated yet (reported Unsupported)
//
// tunnel, proxyProtocol, retryBudget, zoneAwareLbSetting, failoverPriority,
// outlierDetectionHttpErrorCodes, tcp.idleTimeout on TCP ports, DestinationRule credentialName
// on sidecars (as in Istio, only gateway proxies read it) and configmap:// CAs, caCrl, fault exponentialDelay and http2Error, destinationSubnets and
// sourceSubnet matches, JWT claim matches, Gateway bind and
// server insecureSkipVerify. Protocol sniffing: ports without a protocol are TCP.
package translate
