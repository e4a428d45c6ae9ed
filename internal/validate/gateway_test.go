package validate

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mizzen-mesh/mizzen/api/v1alpha1"
)

func gwFrom(t *testing.T, spec string) *v1alpha1.Gateway {
	gw := &v1alpha1.Gateway{ObjectMeta: metav1.ObjectMeta{Name: "gw", Namespace: "istio-system"}}
	decodeSpec(t, spec, &gw.Spec)
	return gw
}

func TestGateway(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec string
		want []Problem
	}{
		{"server hosts", `
servers:
- port: {number: 80, name: http, protocol: HTTP}
  hosts: ["*", "bookinfo.example.com", "prod/*.example.com", reviews, "*foo.example.com"]
- port: {number: 443, name: https, protocol: HTTPS}
  hosts: ["bad ns/a.example.com", "./a.*.com"]
  tls: {mode: SIMPLE, credentialName: cert}`,
			[]Problem{
				want("spec.servers[0].hosts[3]", ReasonInvalidGatewayHost),
				want("spec.servers[0].hosts[4]", ReasonInvalidGatewayHost),
				want("spec.servers[1].hosts[0]", ReasonInvalidGatewayHost),
				want("spec.servers[1].hosts[1]", ReasonInvalidGatewayHost),
			}},
		{"bind", `
servers:
- port: {number: 80, name: http, protocol: HTTP}
  bind: "0.0.0.0"
  hosts: ["*"]
- port: {number: 0, name: uds, protocol: HTTP}
  bind: "unix://relative.sock"
  hosts: ["*"]
- port: {number: 8080, name: http-alt, protocol: HTTP}
  bind: localhost
  hosts: ["*"]`,
			[]Problem{
				want("spec.servers[1].bind", ReasonInvalidBind),
				want("spec.servers[2].bind", ReasonInvalidBind),
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assertProblems(t, Gateway(gwFrom(t, tc.spec)), tc.want)
		})
	}
}

func TestDelegation(t *testing.T) {
	root := vsFrom(t, "front", `
hosts: [bookinfo.example.com]
gateways: [istio-system/ingress]
http:
- match: [{uri: {prefix: /reviews}}]
  delegate: {name: reviews, namespace: team}
- route: [{destination: {host: productpage.bookinfo.svc.cluster.local}}]`)
	for _, tc := range []struct {
		name      string
		namespace string
		spec      string
		want      []Problem
	}{
		{"fine", "team", `
http: [{route: [{destination: {host: reviews}}]}]`, nil},
		{"exported to the root", "team", `
exportTo: [front]
http: [{route: [{destination: {host: reviews}}]}]`, nil},
		{"same namespace, exported to its own", "front", `
exportTo: ["."]
http: [{route: [{destination: {host: reviews}}]}]`, nil},
		{"delegate with hosts", "team", `
hosts: [reviews]
http: [{route: [{destination: {host: reviews}}]}]`,
			[]Problem{want("spec.http[0].delegate", ReasonDelegateHasHosts)}},
		{"delegate not exported to the root", "team", `
exportTo: ["."]
http: [{route: [{destination: {host: reviews}}]}]`,
			[]Problem{want("spec.http[0].delegate", ReasonDelegateNotExported)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := vsFrom(t, tc.namespace, tc.spec)
			d.Name = "reviews"
			assertProblems(t, Delegation(root, 0, d), tc.want)
		})
	}
	if got := Delegation(root, 5, root); got != nil {
		t.Errorf("Delegation with an out-of-range route = %v, want nil", got)
	}
}
