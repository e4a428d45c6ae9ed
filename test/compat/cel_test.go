package compat

import (
	"fmt"
	"sync/atomic"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

const (
	vs = "VirtualService"
	dr = "DestinationRule"
	gw = "Gateway"
)

var objCounter atomic.Int64

// nextName returns a fresh object name for the table tests.
func nextName(kind string) string {
	return fmt.Sprintf("%s-%d", map[string]string{vs: "vs", dr: "dr", gw: "gw"}[kind], objCounter.Add(1))
}

// Minimal valid specs the invalid cases below are variations of.
const (
	vsRoute = `
hosts: [reviews]
http:
- route:
  - destination: {host: reviews}
`
	gwBase = `
selector: {istio: ingressgateway}
servers:
- port: {number: 80, name: http, protocol: HTTP}
  hosts: ["*"]
`
)

// Each rule of VALIDATION.md fires: an invalid spec is rejected with an Invalid error whose text
// names the field path and carries the rule's message.
var _ = Describe("Validation rules", Label("cel"), func() {
	const ns = "rules"
	BeforeEach(func() { createNamespace(ns) })

	DescribeTable("accepts the valid baselines and variations",
		func(kind, spec string) {
			obj := newObject(kind, ns, nextName(kind), parseSpec(spec))
			Expect(k8sClient.Create(ctx, obj)).To(Succeed())
		},
		Entry("VirtualService route", vs, vsRoute),
		Entry("Gateway", gw, gwBase),
		Entry("DestinationRule", dr, `host: reviews`),
		Entry("VirtualService everything", vs, `
hosts: [reviews.prod.svc.cluster.local, "*.example.com"]
gateways: [istio-system/ingress, mesh]
exportTo: ["."]
http:
- name: r1
  match:
  - uri: {prefix: ""}
    scheme: {exact: https}
    method: {regex: "GET|POST"}
    headers: {end-user: {exact: jason}}
    queryParams: {debug: {prefix: "1"}}
    withoutHeaders: {x-skip: {regex: "*"}}
    sourceNamespace: default
    port: 9080
    ignoreUriCase: true
  route:
  - destination: {host: reviews, subset: v1, port: {number: 9080}}
    weight: 90
    headers: {request: {set: {x-a: b}}, response: {remove: [x-c]}}
  - destination: {host: reviews, subset: v2}
    weight: 10
  timeout: 10s
  retries: {attempts: 3, perTryTimeout: 2s, retryOn: "5xx,reset", retryRemoteLocalities: true, backoff: 25ms}
  fault: {delay: {fixedDelay: 5s, percentage: {value: 0.1}}, abort: {grpcStatus: UNAVAILABLE, percentage: {value: 1}}}
  mirror: {host: shadow}
  mirrorPercentage: {value: 50.5}
  corsPolicy: {allowOrigins: [{exact: "https://a.example"}], allowMethods: [GET, POST], maxAge: 24h, allowCredentials: false, unmatchedPreflights: IGNORE}
  rewrite: {uriRegexRewrite: {match: "^/a/(.*)", rewrite: "/\\1"}}
- redirect: {uri: /new, derivePort: FROM_REQUEST_PORT, redirectCode: 308, scheme: https}
- directResponse: {status: 503, body: {string: "unavailable"}}
tls:
- match: [{sniHosts: [reviews.prod.svc.cluster.local], port: 443}]
  route: [{destination: {host: reviews}}]
tcp:
- match: [{port: 27017, sourceSubnet: 10.0.0.0/8}]
  route: [{destination: {host: mongo}, weight: 1}, {destination: {host: mongo2}, weight: 0}]
`),
		Entry("redirect that only rewrites the path prefix", vs, `
hosts: [reviews]
http: [{match: [{uri: {prefix: /old}}], redirect: {prefixRewrite: /new}}]`),
		Entry("delegate VirtualService and its root", vs, `
http:
- match: [{uri: {prefix: /reviews}}]
  route: [{destination: {host: reviews}}]
`),
		Entry("root VirtualService delegating", vs, `
hosts: [bookinfo.com]
gateways: [ingress]
http:
- match: [{uri: {prefix: /reviews}}]
  delegate: {name: reviews, namespace: rules}
`),
		Entry("DestinationRule everything", dr, `
host: reviews.prod.svc.cluster.local
exportTo: [rules]
workloadSelector: {matchLabels: {app: reviews}}
trafficPolicy:
  loadBalancer:
    consistentHash: {httpCookie: {name: user, ttl: 0s, attributes: [{name: SameSite, value: Strict}]}, maglev: {tableSize: 65537}}
    localityLbSetting: {distribute: [{from: "us-west/zone1/*", to: {"us-west/zone1/*": 80, "us-west/zone2/*": 20}}]}
    warmup: {duration: 30s, minimumPercent: 10, aggression: 1.5}
  connectionPool:
    tcp: {maxConnections: 100, connectTimeout: 30ms, idleTimeout: 0s, tcpKeepalive: {time: 7200s, interval: 75s, probes: 9}}
    http: {http2MaxRequests: 1000, maxRequestsPerConnection: 10, h2UpgradePolicy: UPGRADE, http2KeepAlive: {interval: 15s, timeout: 5s}}
  outlierDetection: {consecutive5xxErrors: 7, interval: 5m, baseEjectionTime: 15m, splitExternalLocalOriginErrors: true, consecutiveLocalOriginFailures: 3, outlierDetectionHttpErrorCodes: [503, 504]}
  tls: {mode: MUTUAL, credentialName: client-cred, sni: reviews.example}
  portLevelSettings:
  - port: {number: 80}
    loadBalancer: {simple: LEAST_REQUEST, localityLbSetting: {failover: [{from: us-east, to: eu-west}], failoverPriority: [custom-label]}}
  retryBudget: {percent: 25, minRetryConcurrency: 5, budgetInterval: 10s}
subsets:
- name: v1
  labels: {version: v1}
  trafficPolicy: {tunnel: {protocol: CONNECT, targetHost: proxy.example.com, targetPort: 8080}}
- name: v2
  labels: {version: v2}
  trafficPolicy: {proxyProtocol: {version: V2}}
`),
		Entry("Gateway TLS variants", gw, `
selector: {istio: ingressgateway}
servers:
- port: {number: 80, name: http, protocol: http}
  hosts: ["*"]
  tls: {httpsRedirect: true}
- port: {number: 443, name: https, protocol: HTTPS}
  hosts: [bookinfo/*.example.com]
  tls: {mode: SIMPLE, credentialName: bookinfo-cert, minProtocolVersion: TLSV1_2}
- port: {number: 8443, name: https-mtls, protocol: HTTPS}
  hosts: ["*"]
  tls: {mode: MUTUAL, serverCertificate: /c.pem, privateKey: /k.pem, caCertificates: /ca.pem, caCrl: /crl.pem}
- port: {number: 9443, name: https-two, protocol: HTTPS}
  hosts: ["*"]
  tls: {mode: SIMPLE, tlsCertificates: [{serverCertificate: /rsa.pem, privateKey: /rsa.key}, {serverCertificate: /ec.pem, privateKey: /ec.key}]}
- port: {number: 15443, name: tls, protocol: TLS}
  hosts: ["*.local"]
  tls: {mode: AUTO_PASSTHROUGH}
- port: {number: 0, name: uds, protocol: HTTP}
  bind: unix:///var/run/gw.sock
  hosts: ["*"]
`),
	)

	DescribeTable("rejects what a rule forbids, naming the field",
		func(kind, name, spec, wantPath, wantMsg string) {
			if name == "" {
				name = nextName(kind)
			}
			obj := newObject(kind, ns, name, parseSpec(spec))
			err := k8sClient.Create(ctx, obj)
			Expect(err).To(HaveOccurred(), "the spec was accepted:\n%s", spec)
			Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want an Invalid error, got %v", err)
			Expect(err.Error()).To(ContainSubstring(wantPath))
			Expect(err.Error()).To(ContainSubstring(wantMsg))
		},

		// ---- shared types (common_types.go) ----
		Entry("C1 Duration at least 1ms", vs, "", vsRoute+"  timeout: 0s\n",
			"spec.http[0].timeout", "must be a duration of at least 1ms"),
		Entry("C2 Duration whole milliseconds", vs, "", vsRoute+"  timeout: 1500us\n",
			"spec.http[0].timeout", "must be a whole number of milliseconds"),
		Entry("C3 DurationOrZero non-negative", dr, "", `
host: reviews
trafficPolicy: {loadBalancer: {consistentHash: {httpCookie: {name: u, ttl: -1s}}}}`,
			"spec.trafficPolicy.loadBalancer.consistentHash.httpCookie.ttl", "must be a non-negative duration"),
		Entry("C4 StringMatch at most one", vs, "", `
hosts: [reviews]
http:
- match: [{uri: {exact: /a, prefix: /b}}]
  route: [{destination: {host: reviews}}]`,
			"spec.http[0].match[0].uri", "at most one of exact, prefix or regex"),
		Entry("C5 subset name is a DNS label", vs, "", `
hosts: [reviews]
http:
- route: [{destination: {host: reviews, subset: V_1}}]`,
			"spec.http[0].route[0].destination.subset", "subset name must be a DNS-1123 label"),
		Entry("C6 destination host is not *", vs, "", `
hosts: [reviews]
http:
- route: [{destination: {host: "*"}}]`,
			"spec.http[0].route[0].destination.host", "destination host may not be the wildcard"),
		Entry("C7 client MUTUAL needs certificate and key", dr, "", `
host: reviews
trafficPolicy: {tls: {mode: MUTUAL, caCertificates: /ca.pem}}`,
			"spec.trafficPolicy.tls", "tls mode MUTUAL needs clientCertificate and privateKey"),
		Entry("C8 credentialName excludes files", dr, "", `
host: reviews
trafficPolicy: {tls: {mode: SIMPLE, credentialName: cred, caCertificates: /ca.pem}}`,
			"spec.trafficPolicy.tls", "may not be set together with credentialName"),
		Entry("C9 insecureSkipVerify in SIMPLE", dr, "", `
host: reviews
trafficPolicy: {tls: {mode: SIMPLE, insecureSkipVerify: true, subjectAltNames: [spiffe://x]}}`,
			"spec.trafficPolicy.tls", "insecureSkipVerify in SIMPLE mode"),
		Entry("C10 insecureSkipVerify in MUTUAL", dr, "", `
host: reviews
trafficPolicy: {tls: {mode: MUTUAL, insecureSkipVerify: true, credentialName: c, subjectAltNames: [x]}}`,
			"spec.trafficPolicy.tls", "insecureSkipVerify in MUTUAL mode"),

		// ---- VirtualService ----
		Entry("V1 some routes", vs, "", `hosts: [reviews]`,
			"spec", "at least one of http, tls or tcp routes is required"),
		Entry("V2 delegate VS sets no gateways/tls/tcp", vs, "", `
gateways: [ingress]
http: [{route: [{destination: {host: reviews}}]}]`,
			"spec", "may not set gateways, tls or tcp"),
		Entry("V3 delegate VS does not delegate again", vs, "", `
http: [{delegate: {name: other}}]`,
			"spec", "may not delegate again"),
		Entry("V4 no * host for the mesh", vs, "", `
hosts: ["*"]
http: [{route: [{destination: {host: reviews}}]}]`,
			"spec", "hosts may not contain the wildcard *"),
		Entry("V5 exportTo entries", vs, "", vsRoute+"exportTo: [\"~\"]\n",
			"spec.exportTo", "exportTo entries must be '.', '*' or a namespace name"),
		Entry("V6 exportTo * alone", vs, "", vsRoute+"exportTo: [\"*\", \".\"]\n",
			"spec.exportTo", "exportTo may not combine '*' with other entries"),
		Entry("V7 delegate excludes route/redirect", vs, "", `
hosts: [reviews]
http: [{delegate: {name: d}, route: [{destination: {host: reviews}}]}]`,
			"spec.http[0]", "a rule with delegate may not also set route or redirect"),
		Entry("V8 an action is required", vs, "", `
hosts: [reviews]
http: [{match: [{uri: {prefix: /}}]}]`,
			"spec.http[0]", "each http rule needs one of route, redirect, directResponse or delegate"),
		Entry("V9 redirect is exclusive", vs, "", `
hosts: [reviews]
http: [{redirect: {uri: /x}, fault: {abort: {httpStatus: 500}}}]`,
			"spec.http[0]", "redirect may not be combined with route, fault, rewrite or directResponse"),
		Entry("V10 directResponse is exclusive", vs, "", `
hosts: [reviews]
http: [{directResponse: {status: 200}, route: [{destination: {host: reviews}}]}]`,
			"spec.http[0]", "directResponse may not be combined with route, fault or rewrite"),
		Entry("V11 mirror or mirrors", vs, "", vsRoute+"  mirror: {host: a}\n  mirrors: [{destination: {host: b}}]\n",
			"spec.http[0]", "only one of mirror or mirrors may be set"),
		Entry("V12 http weights not all zero", vs, "", `
hosts: [reviews]
http: [{route: [{destination: {host: reviews, subset: v1}, weight: 0}, {destination: {host: reviews, subset: v2}}]}]`,
			"spec.http[0]", "with several destinations at least one weight must be above 0"),
		Entry("V13 tls weights not all zero", vs, "", `
hosts: [reviews]
tls: [{match: [{sniHosts: [reviews]}], route: [{destination: {host: a}}, {destination: {host: b}}]}]`,
			"spec.tls[0]", "with several destinations at least one weight must be above 0"),
		Entry("V14 tcp weights not all zero", vs, "", `
hosts: [reviews]
tcp: [{route: [{destination: {host: a}, weight: 0}, {destination: {host: b}, weight: 0}]}]`,
			"spec.tcp[0]", "with several destinations at least one weight must be above 0"),
		Entry("V15 scheme prefix not empty", vs, "", `
hosts: [reviews]
http: [{match: [{scheme: {prefix: ""}}], route: [{destination: {host: reviews}}]}]`,
			"spec.http[0].match[0].scheme", "scheme: a prefix match may not be empty"),
		Entry("V16 method prefix not empty", vs, "", `
hosts: [reviews]
http: [{match: [{method: {prefix: ""}}], route: [{destination: {host: reviews}}]}]`,
			"spec.http[0].match[0].method", "method: a prefix match may not be empty"),
		Entry("V17 authority prefix not empty", vs, "", `
hosts: [reviews]
http: [{match: [{authority: {prefix: ""}}], route: [{destination: {host: reviews}}]}]`,
			"spec.http[0].match[0].authority", "authority: a prefix match may not be empty"),
		Entry("V18 header prefix not empty", vs, "", `
hosts: [reviews]
http: [{match: [{headers: {end-user: {prefix: ""}}}], route: [{destination: {host: reviews}}]}]`,
			"spec.http[0].match[0].headers", "headers: a prefix match may not be empty"),
		Entry("V19 query parameter prefix not empty", vs, "", `
hosts: [reviews]
http: [{match: [{queryParams: {q: {prefix: ""}}}], route: [{destination: {host: reviews}}]}]`,
			"spec.http[0].match[0].queryParams", "queryParams: a prefix match may not be empty"),
		Entry("V20 withoutHeaders prefix not empty", vs, "", `
hosts: [reviews]
http: [{match: [{withoutHeaders: {x: {prefix: ""}}}], route: [{destination: {host: reviews}}]}]`,
			"spec.http[0].match[0].withoutHeaders", "withoutHeaders: a prefix match may not be empty"),
		Entry("V21 sourceNamespace is a DNS label", vs, "", `
hosts: [reviews]
http: [{match: [{sourceNamespace: Not_A_Namespace}], route: [{destination: {host: reviews}}]}]`,
			"spec.http[0].match[0].sourceNamespace", "sourceNamespace must be a namespace name"),
		Entry("V22 redirect port or derivePort", vs, "", `
hosts: [reviews]
http: [{redirect: {uri: /x, port: 8080, derivePort: FROM_REQUEST_PORT}}]`,
			"spec.http[0].redirect", "only one of port or derivePort may be set"),
		Entry("V23 redirect changes something", vs, "", `
hosts: [reviews]
http: [{redirect: {redirectCode: 302}}]`,
			"spec.http[0].redirect", "redirect needs at least one of uri, prefixRewrite, authority, scheme, port or derivePort"),
		Entry("V24 redirect scheme", vs, "", `
hosts: [reviews]
http: [{redirect: {scheme: ftp}}]`,
			"spec.http[0].redirect.scheme", "redirect scheme must be http or https"),
		Entry("V25 redirect code is 3xx", vs, "", `
hosts: [reviews]
http: [{redirect: {uri: /x, redirectCode: 200}}]`,
			"spec.http[0].redirect.redirectCode", "redirectCode must be a 3xx status"),
		Entry("V26 body string or bytes", vs, "", `
hosts: [reviews]
http: [{directResponse: {status: 200, body: {string: a, bytes: YQ==}}}]`,
			"spec.http[0].directResponse.body", "only one of string or bytes may be set"),
		Entry("V27 rewrite uri or uriRegexRewrite", vs, "", vsRoute+"  rewrite: {uri: /a, uriRegexRewrite: {match: a, rewrite: b}}\n",
			"spec.http[0].rewrite", "only one of uri or uriRegexRewrite may be set"),
		Entry("V28 rewrite changes something", vs, "", vsRoute+"  rewrite: {}\n",
			"spec.http[0].rewrite", "rewrite needs at least one of uri, uriRegexRewrite or authority"),
		Entry("V29 retry settings need attempts", vs, "", vsRoute+"  retries: {attempts: 0, perTryTimeout: 1s}\n",
			"spec.http[0].retries", "need attempts above 0"),
		Entry("V30 CORS origins not empty", vs, "", vsRoute+"  corsPolicy: {allowOrigins: [{exact: \"\"}]}\n",
			"spec.http[0].corsPolicy.allowOrigins", "allowOrigins entries need a non-empty exact, prefix or regex"),
		Entry("V31 CORS methods", vs, "", vsRoute+"  corsPolicy: {allowMethods: [FETCH]}\n",
			"spec.http[0].corsPolicy.allowMethods", "allowMethods entries must be"),
		Entry("V32 CORS maxAge in seconds", vs, "", vsRoute+"  corsPolicy: {maxAge: 1500ms}\n",
			"spec.http[0].corsPolicy.maxAge", "maxAge must be a whole number of seconds"),
		Entry("V33 fault needs delay or abort", vs, "", vsRoute+"  fault: {}\n",
			"spec.http[0].fault", "fault needs a delay, an abort, or both"),
		Entry("V34 fixedDelay or exponentialDelay", vs, "", vsRoute+"  fault: {delay: {fixedDelay: 1s, exponentialDelay: 2s}}\n",
			"spec.http[0].fault.delay", "only one of fixedDelay or exponentialDelay may be set"),
		Entry("V35 exponentialDelay unsupported", vs, "", vsRoute+"  fault: {delay: {exponentialDelay: 2s}}\n",
			"spec.http[0].fault.delay", "exponentialDelay is not supported"),
		Entry("V36 delay percentage resolution", vs, "", vsRoute+"  fault: {delay: {fixedDelay: 1s, percentage: {value: 0.00001}}}\n",
			"spec.http[0].fault.delay", "percentage must be 0 or between 0.0001 and 100"),
		Entry("V37 one abort error type", vs, "", vsRoute+"  fault: {abort: {httpStatus: 503, grpcStatus: UNAVAILABLE}}\n",
			"spec.http[0].fault.abort", "only one of httpStatus, grpcStatus or http2Error may be set"),
		Entry("V38 http2Error unsupported", vs, "", vsRoute+"  fault: {abort: {http2Error: REFUSED_STREAM}}\n",
			"spec.http[0].fault.abort", "http2Error is not supported"),
		Entry("V39 abort percentage resolution", vs, "", vsRoute+"  fault: {abort: {httpStatus: 503, percentage: {value: 0.00005}}}\n",
			"spec.http[0].fault.abort", "percentage must be 0 or between 0.0001 and 100"),

		// ---- DestinationRule ----
		Entry("D1 exportTo entries", dr, "", "host: reviews\nexportTo: [\"~\"]\n",
			"spec.exportTo", "exportTo entries must be '.', '*' or a namespace name"),
		Entry("D2 exportTo * alone", dr, "", "host: reviews\nexportTo: [\"*\", other]\n",
			"spec.exportTo", "exportTo may not combine '*' with other entries"),
		Entry("D3 selector keys not empty", dr, "", "host: reviews\nworkloadSelector: {matchLabels: {\"\": a}}\n",
			"spec.workloadSelector.matchLabels", "matchLabels keys may not be empty"),
		Entry("D4 selector keys without *", dr, "", "host: reviews\nworkloadSelector: {matchLabels: {\"app*\": a}}\n",
			"spec.workloadSelector.matchLabels", "matchLabels keys may not contain the wildcard"),
		Entry("D5 selector values without *", dr, "", "host: reviews\nworkloadSelector: {matchLabels: {app: \"a*\"}}\n",
			"spec.workloadSelector.matchLabels", "matchLabels values may not contain the wildcard"),
		Entry("D6 selector values at most 63", dr, "", fmt.Sprintf("host: reviews\nworkloadSelector: {matchLabels: {app: %s}}\n", longString(64)),
			"spec.workloadSelector.matchLabels", "matchLabels values may be at most 63 characters"),
		Entry("D7 trafficPolicy not empty", dr, "", "host: reviews\ntrafficPolicy: {}\n",
			"spec.trafficPolicy", "trafficPolicy must set at least one field"),
		Entry("D8 tunnel or proxyProtocol", dr, "", `
host: reviews
trafficPolicy: {tunnel: {targetHost: p.example.com, targetPort: 8080}, proxyProtocol: {version: V1}}`,
			"spec.trafficPolicy", "tunnel and proxyProtocol may not be set together"),
		Entry("D9 port-level entry sets something", dr, "", `
host: reviews
trafficPolicy: {portLevelSettings: [{port: {number: 80}}]}`,
			"spec.trafficPolicy.portLevelSettings[0]", "portLevelSettings entries need at least one of"),
		Entry("D10 tunnel protocol", dr, "", `
host: reviews
trafficPolicy: {tunnel: {protocol: GET, targetHost: p.example.com, targetPort: 8080}}`,
			"spec.trafficPolicy.tunnel.protocol", "tunnel protocol must be CONNECT or POST"),
		Entry("D11 simple or consistentHash", dr, "", `
host: reviews
trafficPolicy: {loadBalancer: {simple: RANDOM, consistentHash: {useSourceIp: true}}}`,
			"spec.trafficPolicy.loadBalancer", "only one of simple or consistentHash may be set"),
		Entry("D12 warmupDurationSecs or warmup", dr, "", `
host: reviews
trafficPolicy: {loadBalancer: {warmupDurationSecs: 10s, warmup: {duration: 10s}}}`,
			"spec.trafficPolicy.loadBalancer", "only one of warmupDurationSecs or warmup may be set"),
		Entry("D13 one hash key", dr, "", `
host: reviews
trafficPolicy: {loadBalancer: {consistentHash: {httpHeaderName: x-user, useSourceIp: false}}}`,
			"spec.trafficPolicy.loadBalancer.consistentHash", "only one of httpHeaderName, httpCookie, useSourceIp or httpQueryParameterName"),
		Entry("D14 ringHash or maglev", dr, "", `
host: reviews
trafficPolicy: {loadBalancer: {consistentHash: {useSourceIp: true, ringHash: {minimumRingSize: 1024}, maglev: {tableSize: 65537}}}}`,
			"spec.trafficPolicy.loadBalancer.consistentHash", "only one of ringHash or maglev may be set"),
		Entry("D15 minimumRingSize alone", dr, "", `
host: reviews
trafficPolicy: {loadBalancer: {consistentHash: {useSourceIp: true, minimumRingSize: 1024, ringHash: {minimumRingSize: 1024}}}}`,
			"spec.trafficPolicy.loadBalancer.consistentHash", "minimumRingSize may not be combined with ringHash or maglev"),
		Entry("D16 connectionPool not empty", dr, "", "host: reviews\ntrafficPolicy: {connectionPool: {}}\n",
			"spec.trafficPolicy.connectionPool", "connectionPool needs tcp or http settings"),
		Entry("D17 tcp idleTimeout 0s or >= 1ms", dr, "", "host: reviews\ntrafficPolicy: {connectionPool: {tcp: {idleTimeout: 500us}}}\n",
			"spec.trafficPolicy.connectionPool.tcp.idleTimeout", "idleTimeout must be 0s or a whole number of milliseconds"),
		Entry("D18 UPGRADE excludes useClientProtocol", dr, "", "host: reviews\ntrafficPolicy: {connectionPool: {http: {h2UpgradePolicy: UPGRADE, useClientProtocol: true}}}\n",
			"spec.trafficPolicy.connectionPool.http", "useClientProtocol may not be true when h2UpgradePolicy is UPGRADE"),
		Entry("D19 local origin failures need the split", dr, "", "host: reviews\ntrafficPolicy: {outlierDetection: {consecutiveLocalOriginFailures: 5}}\n",
			"spec.trafficPolicy.outlierDetection", "consecutiveLocalOriginFailures needs splitExternalLocalOriginErrors"),
		Entry("D20 distribute or failover", dr, "", `
host: reviews
trafficPolicy: {loadBalancer: {localityLbSetting: {distribute: [{from: "a/*", to: {"a/*": 100}}], failover: [{from: a, to: b}]}}}`,
			"spec.trafficPolicy.loadBalancer.localityLbSetting", "only one of distribute or failover may be set"),
		Entry("D21 failover with topology priority", dr, "", `
host: reviews
trafficPolicy: {loadBalancer: {localityLbSetting: {failover: [{from: a, to: b}], failoverPriority: [topology.kubernetes.io/zone]}}}`,
			"spec.trafficPolicy.loadBalancer.localityLbSetting", "failover may not be combined with the region, zone or subzone label"),
		Entry("D22 distribute weights 1..100", dr, "", `
host: reviews
trafficPolicy: {loadBalancer: {localityLbSetting: {distribute: [{from: "a/*", to: {"a/*": 100, "b/*": 0}}]}}}`,
			"spec.trafficPolicy.loadBalancer.localityLbSetting.distribute[0]", "distribute.to weights must each be between 1 and 100"),
		Entry("D23 distribute weights add up to 100", dr, "", `
host: reviews
trafficPolicy: {loadBalancer: {localityLbSetting: {distribute: [{from: "a/*", to: {"a/*": 50, "b/*": 40}}]}}}`,
			"spec.trafficPolicy.loadBalancer.localityLbSetting.distribute[0]", "distribute.to weights must add up to 100"),
		Entry("D24 failover to another region", dr, "", `
host: reviews
trafficPolicy: {loadBalancer: {localityLbSetting: {failover: [{from: us-east, to: us-east}]}}}`,
			"spec.trafficPolicy.loadBalancer.localityLbSetting.failover[0]", "failover from and to must be different regions"),
		Entry("D25 failover names regions only", dr, "", `
host: reviews
trafficPolicy: {loadBalancer: {localityLbSetting: {failover: [{from: us-east/zone1, to: us-west}]}}}`,
			"spec.trafficPolicy.loadBalancer.localityLbSetting.failover[0]", "failover from and to must be plain regions"),

		// ---- Gateway ----
		Entry("G1 unique port names", gw, "", gwBase+`- port: {number: 81, name: http, protocol: HTTP}
  hosts: ["*"]
`, "spec", "servers[].port.name must be unique within the Gateway"),
		Entry("G2 port number 1..65535", gw, "", `
servers: [{port: {number: 0, name: http, protocol: HTTP}, hosts: ["*"]}]`,
			"spec.servers[0]", "port.number must be between 1 and 65535 unless bind is a unix:// socket"),
		Entry("G3 unix socket on port 0", gw, "", `
servers: [{port: {number: 80, name: http, protocol: HTTP}, bind: "unix:///run/gw.sock", hosts: ["*"]}]`,
			"spec.servers[0]", "port.number must be 0 when bind is a unix:// socket"),
		Entry("G4 HTTPS needs tls", gw, "", `
servers: [{port: {number: 443, name: https, protocol: HTTPS}, hosts: ["*"]}]`,
			"spec.servers[0]", "tls is required for HTTPS and TLS servers"),
		Entry("G5 plain-text servers hold no certificates", gw, "", `
servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"], tls: {mode: SIMPLE, credentialName: c}}]`,
			"spec.servers[0]", "tls on a plain-text server may only hold httpsRedirect"),
		Entry("G6 no targetPort", gw, "", `
servers: [{port: {number: 80, name: http, protocol: HTTP, targetPort: 8080}, hosts: ["*"]}]`,
			"spec.servers[0].port", "targetPort has no effect on Gateways"),
		Entry("G7 known protocol", gw, "", `
servers: [{port: {number: 25, name: smtp, protocol: SMTP}, hosts: ["*"]}]`,
			"spec.servers[0].port.protocol", "protocol must be one of"),
		Entry("G8 one certificate source", gw, "", `
servers: [{port: {number: 443, name: https, protocol: HTTPS}, hosts: ["*"], tls: {mode: SIMPLE, credentialName: c, serverCertificate: /c.pem, privateKey: /k.pem}}]`,
			"spec.servers[0].tls", "only one of credentialName, credentialNames, serverCertificate/privateKey or tlsCertificates may be set"),
		Entry("G9 ISTIO_MUTUAL brings its own certificate", gw, "", `
servers: [{port: {number: 443, name: https, protocol: HTTPS}, hosts: ["*"], tls: {mode: ISTIO_MUTUAL, credentialName: c}}]`,
			"spec.servers[0].tls", "mode ISTIO_MUTUAL uses the workload certificate"),
		Entry("G10 SIMPLE needs a certificate", gw, "", `
servers: [{port: {number: 443, name: https, protocol: HTTPS}, hosts: ["*"], tls: {mode: SIMPLE, serverCertificate: /c.pem}}]`,
			"spec.servers[0].tls", "modes SIMPLE, MUTUAL and OPTIONAL_MUTUAL need a certificate"),
		Entry("G11 MUTUAL needs a client CA", gw, "", `
servers: [{port: {number: 443, name: https, protocol: HTTPS}, hosts: ["*"], tls: {mode: MUTUAL, serverCertificate: /c.pem, privateKey: /k.pem}}]`,
			"spec.servers[0].tls", "modes MUTUAL and OPTIONAL_MUTUAL need caCertificates"),
		Entry("G12 caCrl not with credentialName", gw, "", `
servers: [{port: {number: 443, name: https, protocol: HTTPS}, hosts: ["*"], tls: {mode: MUTUAL, credentialName: c, caCrl: /crl.pem}}]`,
			"spec.servers[0].tls", "caCrl may not be set with credentialName"),
		Entry("G13 caCrl not in SIMPLE", gw, "", `
servers: [{port: {number: 443, name: https, protocol: HTTPS}, hosts: ["*"], tls: {mode: SIMPLE, serverCertificate: /c.pem, privateKey: /k.pem, caCrl: /crl.pem}}]`,
			"spec.servers[0].tls", "caCrl is not supported in mode SIMPLE"),
		Entry("G14 Gateway name is a DNS label", gw, "public.gateway", gwBase,
			"Gateway.networking.mizzen.dev \"public.gateway\" is invalid", "Gateway names must be DNS-1123 labels"),

		// ---- structural rules (schema bounds, enums, required fields, list types) ----
		Entry("S1 port numbers at most 65535", vs, "", `
hosts: [reviews]
http: [{route: [{destination: {host: reviews, port: {number: 70000}}}]}]`,
			"spec.http[0].route[0].destination.port.number", "should be less than or equal to 65535"),
		Entry("S2 weights not negative", vs, "", `
hosts: [reviews]
http: [{route: [{destination: {host: reviews}, weight: -1}]}]`,
			"spec.http[0].route[0].weight", "should be greater than or equal to 0"),
		Entry("S3 abort status 200..599", vs, "", vsRoute+"  fault: {abort: {httpStatus: 600}}\n",
			"spec.http[0].fault.abort.httpStatus", "should be less than or equal to 599"),
		Entry("S4 directResponse status 200..599", vs, "", `
hosts: [reviews]
http: [{directResponse: {status: 100}}]`,
			"spec.http[0].directResponse.status", "should be greater than or equal to 200"),
		Entry("S5 percentages 0..100", vs, "", vsRoute+"  mirror: {host: a}\n  mirrorPercentage: {value: 100.5}\n",
			"spec.http[0].mirrorPercentage.value", "should be less than or equal to 100"),
		Entry("S6 unique subset names", dr, "", `
host: reviews
subsets: [{name: v1}, {name: v1}]`,
			"spec.subsets[1]", "Duplicate value"),
		Entry("S7 destination host required", vs, "", `
hosts: [reviews]
http: [{route: [{destination: {subset: v1}}]}]`,
			"spec.http[0].route[0].destination.host", "Required value"),
		Entry("S8 gRPC status names", vs, "", vsRoute+"  fault: {abort: {grpcStatus: NOPE}}\n",
			"spec.http[0].fault.abort.grpcStatus", "Unsupported value"),
		Entry("S9 servers required", gw, "", `selector: {app: gw}`,
			"spec.servers", "Required value"),
		Entry("S10 server hosts required", gw, "", `
servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: []}]`,
			"spec.servers[0].hosts", "should have at least 1 items"),
		Entry("S11 outlier error codes 100..599", dr, "", "host: reviews\ntrafficPolicy: {outlierDetection: {outlierDetectionHttpErrorCodes: [99]}}\n",
			"spec.trafficPolicy.outlierDetection.outlierDetectionHttpErrorCodes[0]", "should be greater than or equal to 100"),
		Entry("S12 maglev table below 5000011", dr, "", "host: reviews\ntrafficPolicy: {loadBalancer: {consistentHash: {useSourceIp: true, maglev: {tableSize: 5000011}}}}\n",
			"spec.trafficPolicy.loadBalancer.consistentHash.maglev.tableSize", "should be less than or equal to 5000010"),
		Entry("S13 ejection percent 0..100", dr, "", "host: reviews\ntrafficPolicy: {outlierDetection: {maxEjectionPercent: 101}}\n",
			"spec.trafficPolicy.outlierDetection.maxEjectionPercent", "should be less than or equal to 100"),
		Entry("S14 TLS mode names", dr, "", "host: reviews\ntrafficPolicy: {tls: {mode: STRICT}}\n",
			"spec.trafficPolicy.tls.mode", "Unsupported value"),
		Entry("S15 hosts without duplicates", vs, "", `
hosts: [reviews, reviews]
http: [{route: [{destination: {host: reviews}}]}]`,
			"spec.hosts[1]", "Duplicate value"),
		Entry("S16 retry attempts not negative", vs, "", vsRoute+"  retries: {attempts: -1}\n",
			"spec.http[0].retries.attempts", "should be greater than or equal to 0"),
		Entry("S17 DestinationRule host required", dr, "", `trafficPolicy: {tls: {mode: SIMPLE}}`,
			"spec.host", "Required value"),
	)
})

// longString returns a string of n letters.
func longString(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'a'
	}
	return string(b)
}
