// Package dataplane checks that the Envoy config internal/translate builds routes real traffic.
// No Envoy runs here, so gRPC-Go's xDS client plays the proxy: go-control-plane's ADS server
// (ControlPlane) serves one sidecar's or gateway's translation, turned into what gRPC reads by a
// small adapter (adapter.go lists each change it makes), to a channel dialling
// xds:///<host>:<port>;
// real gRPC servers on loopback ports (Backend) play the pods and say which one answered.
// The rules are YAML in testdata and Istio's own bookinfo samples (when ../shared/compat is
// beside the checkout), translated by translate.Translate as the proxy reconciler does.
//
// Every test fails if gRPC rejects (NACKs) any pushed resource.
//
// # Tested on the data plane here
//
//   - weighted routing to DestinationRule subsets (80/20 over 2,000 RPCs, within 4.5 standard
//     deviations), and a weight change pushed as a new config version taking effect;
//   - header matches (exact; bookinfo's end-user: jason rule) and URI regex matches on gRPC method
//     paths (whole-path semantics), in rule order, with the fallback route;
//   - retries: attempts and retryOn unavailable (the backend counts the attempts), and attempts 0;
//   - fault injection: abort with a gRPC status, abort with an HTTP status at a percentage
//     (binomial bounds), fixed delay (each RPC takes at least the delay);
//   - Istio's bookinfo routing samples (80/20, 90/10, 50/50 splits, v3 only, the jason rules, the
//     ratings abort), each against what the bookinfo guide says it does;
//   - the default route of a service without rules (RPCs reach every pod) and a route to a subset
//     no DestinationRule defines (RPCs fail, none reaches a pod);
//   - locality load balancing: distribute shares (70/20/10 over 2,000 RPCs, under ROUND_ROBIN:
//     gRPC's least-request policy ignores locality weights, Envoy's does not) and failover
//     priorities (the client's zone, then its region, then the failover region, as pods stop);
//   - consistent hashing on a header (RING_HASH and the route's hash policy): a user's RPCs stick
//     to one pod, users spread over the pods;
//   - the translated clusters' endpoints and LEAST_REQUEST balancing, read as EDS;
//   - the virtual host domains (the client's authority "reviews:9080" picks reviews' host);
//   - a gateway proxy (Istio's bookinfo-gateway.yaml, its Gateway selecting the ingress gateway's
//     pod): the VirtualService bound to it routes its prefix matches (/static, /api/v1/products)
//     and its exact matches (/productpage, /login, /logout: not valid gRPC method paths, so the
//     backends' servers refuse them, but the streams reach the productpage pods) over both pods;
//     other paths match no route and reach no pod; a rule with gateways: [mesh] adds no route to
//     the gateway, the same rule bound to the Gateway does, under its own host's domains only.
//
// # Only golden-tested and validated (internal/translate), and why
//
//   - timeouts, per-try timeouts, rewrites, redirects, direct responses, mirrors, CORS, header
//     manipulation, consecutive-5xx outlier detection: gRPC ignores or lacks them;
//   - mTLS (SDS file secrets), MAGLEV and RANDOM balancing: gRPC rejects them, so the adapter
//     removes them (see adapter.go);
//   - TCP and TLS routes, inbound listeners, gateway HTTPS/TLS/TCP servers (TLS termination
//     from files or credentialName Secrets, SNI passthrough): not plain HTTP routes a gRPC client
//     reads;
//   - fault delays of bookinfo's ratings-test-delay sample (7 s: too slow for a unit test; the
//     delay itself is tested with 300 ms);
//   - locality weights under LEAST_REQUEST (see above), outlier ejection (gRPC implements only
//     success-rate and failure-percentage ejection, which Istio's API does not express);
//   - hashing on cookies, query parameters or the source IP: gRPC hashes headers only.
package dataplane
