package validate

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mizzen-mesh/mizzen/api/v1alpha1"
)

func drFrom(t *testing.T, namespace, spec string) *v1alpha1.DestinationRule {
	dr := &v1alpha1.DestinationRule{ObjectMeta: metav1.ObjectMeta{Name: "dr", Namespace: namespace}}
	decodeSpec(t, spec, &dr.Spec)
	return dr
}

func TestDestinationRule(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec string
		want []Problem
	}{
		{"host", `
host: "reviews.*.svc"`,
			[]Problem{want("spec.host", ReasonInvalidHost)}},
		{"subset labels", `
host: reviews
subsets:
- name: v1
  labels: {version: v1}
- name: v2
  labels: {version: "v2!"}`,
			[]Problem{want("spec.subsets[1].labels[version]", ReasonInvalidLabel)}},
		{"maglev table size not prime, at every level", `
host: reviews
trafficPolicy:
  loadBalancer: {consistentHash: {useSourceIp: true, maglev: {tableSize: 65536}}}
  portLevelSettings:
  - port: {number: 80}
    loadBalancer: {consistentHash: {useSourceIp: true, maglev: {tableSize: 65537}}}
subsets:
- name: v1
  trafficPolicy:
    portLevelSettings:
    - port: {number: 9080}
      loadBalancer: {consistentHash: {useSourceIp: true, maglev: {tableSize: 1000}}}`,
			[]Problem{
				want("spec.trafficPolicy.loadBalancer.consistentHash.maglev.tableSize", ReasonNotPrime),
				want("spec.subsets[0].trafficPolicy.portLevelSettings[0].loadBalancer.consistentHash.maglev.tableSize", ReasonNotPrime),
			}},
		{"ring size beyond Envoy's maximum", `
host: reviews
trafficPolicy:
  loadBalancer: {consistentHash: {httpHeaderName: x-user, ringHash: {minimumRingSize: 8388609}}}
subsets:
- name: v1
  trafficPolicy:
    loadBalancer: {consistentHash: {useSourceIp: true, minimumRingSize: 10000000}}`,
			[]Problem{
				want("spec.trafficPolicy.loadBalancer.consistentHash.ringHash.minimumRingSize", ReasonRingSizeTooLarge),
				want("spec.subsets[0].trafficPolicy.loadBalancer.consistentHash.minimumRingSize", ReasonRingSizeTooLarge),
			}},
		{"cookie name not a token", `
host: reviews
trafficPolicy:
  loadBalancer: {consistentHash: {httpCookie: {name: "user id", ttl: 0s}}}`,
			[]Problem{want("spec.trafficPolicy.loadBalancer.consistentHash.httpCookie.name", ReasonInvalidCookieName)}},
		{"cookie attribute twice", `
host: reviews
trafficPolicy:
  loadBalancer:
    consistentHash:
      httpCookie:
        name: user
        ttl: 60s
        attributes: [{name: SameSite, value: Strict}, {name: Secure}, {name: SameSite, value: Lax}]`,
			[]Problem{want("spec.trafficPolicy.loadBalancer.consistentHash.httpCookie.attributes[2].name", ReasonDuplicateCookieAttribute)}},
		{"hash header name empty", `
host: reviews
trafficPolicy:
  loadBalancer: {consistentHash: {httpHeaderName: ""}}`,
			[]Problem{want("spec.trafficPolicy.loadBalancer.consistentHash.httpHeaderName", ReasonInvalidHeaderName)}},
		{"locality and zone-aware together", `
host: reviews
trafficPolicy:
  loadBalancer:
    localityLbSetting: {enabled: true}
    zoneAwareLbSetting: {enabled: true}`,
			[]Problem{want("spec.trafficPolicy.loadBalancer", ReasonLocalityConflict)}},
		{"distribute and failover together", `
host: reviews
trafficPolicy:
  loadBalancer:
    localityLbSetting:
      distribute: [{from: us-east/*, to: {"us-east/*": 100}}]
      failover: [{from: us-east, to: us-west}]`,
			[]Problem{want("spec.trafficPolicy.loadBalancer.localityLbSetting", ReasonLocalityConflict)}},
		{"failover with a topology label in failoverPriority", `
host: reviews
trafficPolicy:
  outlierDetection: {consecutive5xxErrors: 5}
  loadBalancer:
    localityLbSetting:
      failover: [{from: us-east, to: us-west}]
      failoverPriority: [my-label, topology.kubernetes.io/zone]`,
			[]Problem{want("spec.trafficPolicy.loadBalancer.localityLbSetting.failoverPriority[1]", ReasonLocalityConflict)}},
		{"distribute weights", `
host: reviews
trafficPolicy:
  loadBalancer:
    localityLbSetting:
      distribute:
      - {from: "us-east/zone1/*", to: {"us-east/zone1/*": 80, "us-east/zone2/*": 10}}
      - {from: "us-west/zone1/*", to: {"us-west/zone1/*": 0, "us-west/zone2/*": 100}}`,
			[]Problem{
				want("spec.trafficPolicy.loadBalancer.localityLbSetting.distribute[0].to", ReasonInvalidLocalityWeight),
				want("spec.trafficPolicy.loadBalancer.localityLbSetting.distribute[1].to[us-west/zone1/*]", ReasonInvalidLocalityWeight),
			}},
		{"overlapping and malformed localities", `
host: reviews
trafficPolicy:
  loadBalancer:
    localityLbSetting:
      distribute:
      - {from: "us-east/*", to: {"us-east": 50, "us-east/zone1": 50}}
      - {from: "us-east/zone1", to: {"us-*/z": 100}}`,
			[]Problem{
				want("spec.trafficPolicy.loadBalancer.localityLbSetting.distribute[0].to[us-east/zone1]", ReasonInvalidLocality),
				want("spec.trafficPolicy.loadBalancer.localityLbSetting.distribute[1].from", ReasonInvalidLocality),
				want("spec.trafficPolicy.loadBalancer.localityLbSetting.distribute[1].to[us-*/z]", ReasonInvalidLocality),
			}},
		{"locality failover", `
host: reviews
trafficPolicy:
  outlierDetection: {consecutive5xxErrors: 5}
  loadBalancer:
    localityLbSetting:
      failover: [{from: us-east, to: us-east}, {from: us-east/zone1, to: us-west}, {from: "*", to: us-west}, {from: eu, to: us-west}]`,
			[]Problem{
				want("spec.trafficPolicy.loadBalancer.localityLbSetting.failover[0]", ReasonInvalidLocalityFailover),
				want("spec.trafficPolicy.loadBalancer.localityLbSetting.failover[1]", ReasonInvalidLocalityFailover),
				want("spec.trafficPolicy.loadBalancer.localityLbSetting.failover[2]", ReasonInvalidLocalityFailover),
			}},
		{"zone-aware failover and priority", `
host: reviews
trafficPolicy:
  outlierDetection: {consecutive5xxErrors: 5}
  loadBalancer:
    zoneAwareLbSetting:
      failover: [{from: eu, to: eu}]
      failoverPriority: [topology.kubernetes.io/region]`,
			[]Problem{
				want("spec.trafficPolicy.loadBalancer.zoneAwareLbSetting.failover[0]", ReasonInvalidLocalityFailover),
				want("spec.trafficPolicy.loadBalancer.zoneAwareLbSetting.failoverPriority[0]", ReasonInvalidFailoverPriority),
			}},
		{"http2 keepalive without interval or timeout", `
host: reviews
trafficPolicy:
  connectionPool: {http: {http2KeepAlive: {interval: 10s}}}
  portLevelSettings:
  - port: {number: 80}
    connectionPool: {http: {http2KeepAlive: {timeout: 1s}}}`,
			[]Problem{
				want("spec.trafficPolicy.connectionPool.http.http2KeepAlive.timeout", ReasonKeepaliveIncomplete),
				want("spec.trafficPolicy.portLevelSettings[0].connectionPool.http.http2KeepAlive.interval", ReasonKeepaliveIncomplete),
			}},
		{"configmap credential in another namespace", `
host: reviews
trafficPolicy:
  tls: {mode: SIMPLE, credentialName: "configmap://other/ca"}
subsets:
- name: v1
  trafficPolicy: {tls: {mode: SIMPLE, credentialName: "configmap://bookinfo/"}}
- name: v2
  trafficPolicy: {tls: {mode: SIMPLE, credentialName: "configmap://bookinfo/ca"}}`,
			[]Problem{
				want("spec.trafficPolicy.tls.credentialName", ReasonInvalidCredentialName),
				want("spec.subsets[0].trafficPolicy.tls.credentialName", ReasonInvalidCredentialName),
			}},
		{"tunnel target host", `
host: reviews
trafficPolicy:
  tunnel: {protocol: CONNECT, targetHost: "proxy_host", targetPort: 3128}`,
			[]Problem{want("spec.trafficPolicy.tunnel.targetHost", ReasonInvalidTunnelHost)}},
		{"workload selector with exportTo beyond the namespace", `
host: reviews
workloadSelector: {matchLabels: {app: productpage}}
exportTo: ["*"]
trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}`,
			[]Problem{want("spec.exportTo", ReasonExportToWithSelector)}},
		{"exportTo . and the own namespace", `
host: reviews
exportTo: [bookinfo, "."]`,
			[]Problem{want("spec.exportTo[1]", ReasonDuplicateExportTo)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assertProblems(t, DestinationRule(drFrom(t, "bookinfo", tc.spec)), tc.want)
		})
	}
}

func TestDestinationRuleAccepts(t *testing.T) {
	for _, tc := range []struct{ name, spec string }{
		{"wildcard host", `
host: "*.example.com"`},
		{"prime table, ring at the limit, cookie with attributes", `
host: reviews
trafficPolicy:
  loadBalancer:
    consistentHash:
      httpCookie: {name: user, ttl: 0s, attributes: [{name: SameSite, value: Strict}, {name: Secure}]}
      ringHash: {minimumRingSize: 8388608}
  portLevelSettings:
  - port: {number: 80}
    loadBalancer: {consistentHash: {httpHeaderName: ":authority", maglev: {tableSize: 5000011}}}`},
		{"locality distribute", `
host: reviews
trafficPolicy:
  loadBalancer:
    localityLbSetting:
      distribute:
      - {from: "us-west/zone1/*", to: {"us-west/zone1/*": 80, "us-west/zone2/*": 20}}
      - {from: "us-west/zone2/*", to: {"us-west/zone1/*": 20, "us-west/zone2/*": 80}}`},
		{"locality failover", `
host: reviews
trafficPolicy:
  outlierDetection: {consecutive5xxErrors: 5, interval: 10s, baseEjectionTime: 30s}
  loadBalancer:
    localityLbSetting:
      failover: [{from: us-east, to: eu-west}, {from: us-west, to: us-east}]
      failoverPriority: [topology.istio.io/network]`},
		{"tunnel to an IP", `
host: "*.example.com"
trafficPolicy:
  tunnel: {protocol: POST, targetHost: "10.0.0.1", targetPort: 3128}`},
		{"workload selector exported to its own namespace", `
host: reviews
workloadSelector: {matchLabels: {app: productpage}}
exportTo: [bookinfo]`},
		{"configmap credential in the own namespace, and a Secret credential", `
host: reviews
trafficPolicy: {tls: {mode: SIMPLE, credentialName: "configmap://bookinfo/ca"}}
subsets:
- name: v1
  labels: {version: v1, "app.kubernetes.io/name": reviews}
  trafficPolicy: {tls: {mode: MUTUAL, credentialName: "client-cert"}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assertProblems(t, DestinationRule(drFrom(t, "bookinfo", tc.spec)), nil)
		})
	}
}
