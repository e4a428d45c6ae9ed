package validate

import (
	"strings"
	"testing"
)

func TestVirtualServiceWarnings(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec string
		want []Problem
	}{
		{"legacy gateway name", `
hosts: [reviews]
gateways: [ingress.istio-system]
http: [{route: [{destination: {host: reviews}}]}]`,
			[]Problem{want("spec.gateways[0]", WarnLegacyGatewayName)}},
		{"SNI host is an IP address", `
hosts: ["*.example.com"]
tls:
- match: [{sniHosts: ["10.0.0.1"]}]
  route: [{destination: {host: db}}]`,
			[]Problem{want("spec.tls[0].match[0].sniHosts[0]", WarnSNIHostIsIP)}},
		{"deprecated mirror percents", `
hosts: [reviews]
http:
- route: [{destination: {host: reviews}}]
  mirror: {host: shadow}
  mirrorPercent: 5
  mirror_percent: 5`,
			[]Problem{
				want("spec.http[0].mirrorPercent", WarnDeprecatedField),
				want("spec.http[0].mirror_percent", WarnDeprecatedField),
			}},
		{"abort without an error", `
hosts: [reviews]
http:
- fault: {abort: {percentage: {value: 10}}}
  route: [{destination: {host: reviews}}]`,
			[]Problem{want("spec.http[0].fault.abort", WarnAbortWithoutErrorType)}},
		{"large direct response", `
hosts: [reviews]
http:
- directResponse: {status: 200, body: {string: "` + strings.Repeat("x", 100*1024+1) + `"}}`,
			[]Problem{want("spec.http[0].directResponse.body", WarnLargeDirectResponse)}},
		{"rules after a rule without matches", `
hosts: [reviews]
http:
- route: [{destination: {host: reviews, subset: v1}}]
- match: [{uri: {prefix: /x}}]
  route: [{destination: {host: reviews}}]
- route: [{destination: {host: reviews}}]
tcp:
- route: [{destination: {host: reviews}}]
- route: [{destination: {host: reviews}}]`,
			[]Problem{
				want("spec.http[1]", WarnUnreachableRule),
				want("spec.http[2]", WarnUnreachableRule),
				want("spec.tcp[1]", WarnUnreachableRule),
			}},
		{"matches taken by earlier rules", `
hosts: [reviews]
http:
- name: a
  match: [{name: first, uri: {prefix: /a}}, {uri: {exact: /b}}]
  route: [{destination: {host: reviews}}]
- name: b
  match: [{name: again, uri: {prefix: /a}}, {uri: {prefix: /c}}]
  route: [{destination: {host: reviews}}]
- name: c
  match: [{uri: {exact: /b}}]
  route: [{destination: {host: reviews}}]
tls:
- match: [{sniHosts: [reviews], port: 443}]
  route: [{destination: {host: reviews}}]
- match: [{sniHosts: [reviews], port: 443}]
  route: [{destination: {host: reviews}}]`,
			[]Problem{
				want("spec.http[1].match[0]", WarnIneffectiveMatch),
				want("spec.http[2].match[0]", WarnIneffectiveMatch),
				want("spec.http[2]", WarnUnreachableRule),
				want("spec.tls[1].match[0]", WarnIneffectiveMatch),
				want("spec.tls[1]", WarnUnreachableRule),
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vs := vsFrom(t, "bookinfo", tc.spec)
			assertProblems(t, VirtualServiceWarnings(vs), tc.want)
			assertProblems(t, VirtualService(vs), nil)
		})
	}
}

func TestDestinationRuleWarnings(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec string
		want []Problem
	}{
		{"deprecated fields", `
host: reviews
trafficPolicy:
  outlierDetection: {consecutiveErrors: 5}
  loadBalancer: {consistentHash: {useSourceIp: true, minimumRingSize: 1024}}`,
			[]Problem{
				want("spec.trafficPolicy.loadBalancer.consistentHash.minimumRingSize", WarnDeprecatedField),
				want("spec.trafficPolicy.outlierDetection.consecutiveErrors", WarnDeprecatedField),
			}},
		{"failover without outlier detection", `
host: reviews
trafficPolicy:
  loadBalancer: {localityLbSetting: {failover: [{from: us-east, to: us-west}]}}
  portLevelSettings:
  - port: {number: 80}
    outlierDetection: {consecutive5xxErrors: 3}
    loadBalancer: {localityLbSetting: {failoverPriority: [topology.istio.io/network]}}
subsets:
- name: v1
  trafficPolicy:
    loadBalancer: {zoneAwareLbSetting: {failoverPriority: [topology.istio.io/network]}}`,
			[]Problem{
				want("spec.trafficPolicy.loadBalancer.localityLbSetting", WarnFailoverWithoutOutlier),
				want("spec.subsets[0].trafficPolicy.loadBalancer.zoneAwareLbSetting", WarnFailoverWithoutOutlier),
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dr := drFrom(t, "bookinfo", tc.spec)
			assertProblems(t, DestinationRuleWarnings(dr), tc.want)
			assertProblems(t, DestinationRule(dr), nil)
		})
	}
}

func TestGatewayWarnings(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec string
		want []Problem
	}{
		{"httpsRedirect on a TCP server", `
servers:
- port: {number: 80, name: http, protocol: http}
  hosts: ["*"]
  tls: {httpsRedirect: true}
- port: {number: 9000, name: tcp, protocol: TCP}
  hosts: ["*"]
  tls: {httpsRedirect: true}`,
			[]Problem{want("spec.servers[1].tls.httpsRedirect", WarnHTTPSRedirectNotHTTP)}},
		{"cipher suites", `
servers:
- port: {number: 443, name: https, protocol: HTTPS}
  hosts: ["*"]
  tls:
    mode: SIMPLE
    credentialName: cert
    cipherSuites: [ECDHE-RSA-AES128-GCM-SHA256, NOT-A-CIPHER, "-AES128-SHA", ECDHE-RSA-AES128-GCM-SHA256]`,
			[]Problem{
				want("spec.servers[0].tls.cipherSuites[1]", WarnInvalidCipherSuite),
				want("spec.servers[0].tls.cipherSuites[3]", WarnDuplicateCipherSuite),
			}},
		{"TLS 1.0 without cipher suites", `
servers:
- port: {number: 443, name: https, protocol: HTTPS}
  hosts: ["*"]
  tls: {mode: SIMPLE, credentialName: cert, minProtocolVersion: TLSV1_0}`,
			[]Problem{want("spec.servers[0].tls.minProtocolVersion", WarnOldTLSWithoutCiphers)}},
		{"certificates on a passthrough server", `
servers:
- port: {number: 443, name: tls, protocol: TLS}
  hosts: ["*.example.com"]
  tls: {mode: PASSTHROUGH, credentialName: cert}
- port: {number: 15443, name: tls-auto, protocol: TLS}
  hosts: ["*.local"]
  tls: {mode: AUTO_PASSTHROUGH}`,
			[]Problem{want("spec.servers[0].tls", WarnCertificatesIgnored)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gw := gwFrom(t, tc.spec)
			assertProblems(t, GatewayWarnings(gw), tc.want)
			assertProblems(t, Gateway(gw), nil)
		})
	}
}
