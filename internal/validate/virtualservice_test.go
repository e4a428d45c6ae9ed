package validate

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/mizzen-mesh/mizzen/api/v1alpha1"
)

// want is a shorthand for an expected problem; Message is only checked to be non-empty.
func want(fieldPath, reason string) Problem { return Problem{Field: fieldPath, Reason: reason} }

// decodeSpec reads a YAML spec strictly, so a misspelt field in a test case fails loudly.
func decodeSpec(t *testing.T, doc string, into any) {
	t.Helper()
	if err := yaml.UnmarshalStrict([]byte(doc), into); err != nil {
		t.Fatalf("bad test spec: %v\n%s", err, doc)
	}
}

func vsFrom(t *testing.T, namespace, spec string) *v1alpha1.VirtualService {
	vs := &v1alpha1.VirtualService{ObjectMeta: metav1.ObjectMeta{Name: "vs", Namespace: namespace}}
	decodeSpec(t, spec, &vs.Spec)
	return vs
}

func TestVirtualService(t *testing.T) {
	long := strings.Repeat("a", 1025)
	for _, tc := range []struct {
		name string
		spec string
		want []Problem
	}{
		// RE2 regexes
		{"uri regex does not compile", `
hosts: [reviews]
http:
- match: [{uri: {regex: "a(b"}}]
  route: [{destination: {host: reviews}}]`,
			[]Problem{want("spec.http[0].match[0].uri.regex", ReasonInvalidRegex)}},
		{"scheme, method and authority regexes", `
hosts: [reviews]
http:
- match:
  - scheme: {regex: "(?<=x)"}
    method: {regex: "[z-a]"}
    authority: {regex: "\\1"}
  route: [{destination: {host: reviews}}]`,
			[]Problem{
				want("spec.http[0].match[0].scheme.regex", ReasonInvalidRegex),
				want("spec.http[0].match[0].method.regex", ReasonInvalidRegex),
				want("spec.http[0].match[0].authority.regex", ReasonInvalidRegex),
			}},
		{"header, withoutHeaders and queryParams regexes; withoutHeaders * is not a regex", `
hosts: [reviews]
http:
- match:
  - headers: {x-b: {regex: "("}, x-a: {regex: "ok.*"}}
    withoutHeaders: {x-present: {regex: "*"}, x-bad: {regex: "*x"}}
    queryParams: {q: {regex: "+"}}
  route: [{destination: {host: reviews}}]`,
			[]Problem{
				want("spec.http[0].match[0].headers[x-b].regex", ReasonInvalidRegex),
				want("spec.http[0].match[0].withoutHeaders[x-bad].regex", ReasonInvalidRegex),
				want("spec.http[0].match[0].queryParams[q].regex", ReasonInvalidRegex),
			}},
		{"cors allowOrigins regex", `
hosts: [reviews]
http:
- corsPolicy: {allowOrigins: [{exact: "https://a.example"}, {regex: "https://(.*"}]}
  route: [{destination: {host: reviews}}]`,
			[]Problem{want("spec.http[0].corsPolicy.allowOrigins[1].regex", ReasonInvalidRegex)}},
		{"uriRegexRewrite match does not compile", `
hosts: [reviews]
http:
- rewrite: {uriRegexRewrite: {match: "^/v1/(.*", rewrite: "/v2/\\1"}}
  route: [{destination: {host: reviews}}]`,
			[]Problem{want("spec.http[0].rewrite.uriRegexRewrite.match", ReasonInvalidRegex)}},
		{"regex longer than 1024 characters", `
hosts: [reviews]
http:
- rewrite: {uriRegexRewrite: {match: "` + long + `", rewrite: "/"}}
  route: [{destination: {host: reviews}}]`,
			[]Problem{want("spec.http[0].rewrite.uriRegexRewrite.match", ReasonRegexTooLong)}},

		// retryOn
		{"retryOn token unknown", `
hosts: [reviews]
http:
- retries: {attempts: 3, retryOn: "5xx,connect-failure,503,gateway-eror"}
  route: [{destination: {host: reviews}}]`,
			[]Problem{want("spec.http[0].retries.retryOn", ReasonInvalidRetryOn)}},

		// header names, operations and values
		{"match header name not a token", `
hosts: [reviews]
http:
- match: [{headers: {"end user": {exact: jason}}}]
  route: [{destination: {host: reviews}}]`,
			[]Problem{want("spec.http[0].match[0].headers[end user]", ReasonInvalidHeaderName)}},
		{"cors header names", `
hosts: [reviews]
http:
- corsPolicy: {allowHeaders: ["*", "x-ok"], exposeHeaders: ["x ok"]}
  route: [{destination: {host: reviews}}]`,
			[]Problem{want("spec.http[0].corsPolicy.exposeHeaders[0]", ReasonInvalidHeaderName)}},
		{"empty header name to remove", `
hosts: [reviews]
http:
- headers: {request: {remove: [""]}}
  route: [{destination: {host: reviews}}]`,
			[]Problem{want("spec.http[0].headers.request.remove[0]", ReasonInvalidHeaderName)}},
		{"pseudo-headers and Host may not be modified", `
hosts: [reviews]
http:
- headers:
    request: {set: {":path": /x, ":authority": ok.example}, remove: [":authority"]}
    response: {add: {Host: x}}
  route:
  - destination: {host: reviews}
    headers: {response: {remove: [host]}}`,
			[]Problem{
				want("spec.http[0].route[0].headers.response.remove[0]", ReasonForbiddenHeader),
				want("spec.http[0].headers.request.set[:path]", ReasonForbiddenHeader),
				want("spec.http[0].headers.request.remove[0]", ReasonForbiddenHeader),
				want("spec.http[0].headers.response.add[Host]", ReasonForbiddenHeader),
			}},
		{"header value with a bad % expression", `
hosts: [reviews]
http:
- headers: {request: {set: {x-ok: "%HOSTNAME%", x-share: "100%"}}}
  route: [{destination: {host: reviews}}]`,
			[]Problem{want("spec.http[0].headers.request.set[x-share]", ReasonInvalidHeaderValue)}},
		{"authority rewritten twice", `
hosts: [reviews]
http:
- rewrite: {authority: new.example}
  headers: {request: {set: {host: other.example}}}
  route: [{destination: {host: reviews}}]`,
			[]Problem{want("spec.http[0].headers.request.set[host]", ReasonAuthorityRewriteConflict)}},
		{"JWT claim routing on the mesh", `
hosts: [reviews]
http:
- match: [{headers: {"@request.auth.claims.group": {exact: admin}}}]
  route: [{destination: {host: reviews}}]`,
			[]Problem{want("spec.http[0].match[0].headers[@request.auth.claims.group]", ReasonJWTClaimRouteOnMesh)}},

		// hosts
		{"host with a wildcard not leftmost", `
hosts: ["foo.*.example.com"]
http: [{route: [{destination: {host: reviews}}]}]`,
			[]Problem{want("spec.hosts[0]", ReasonInvalidHost)}},
		{"destination hosts", `
hosts: [reviews]
http:
- route: [{destination: {host: bad_host}}]
  mirror: {host: "mirror..example"}
- route: [{destination: {host: reviews}}]
  mirrors: [{destination: {host: "10.0.0.1"}}]
tcp:
- route: [{destination: {host: "-tcp"}}]`,
			[]Problem{
				want("spec.http[0].route[0].destination.host", ReasonInvalidHost),
				want("spec.http[0].mirror.host", ReasonInvalidHost),
				want("spec.http[1].mirrors[0].destination.host", ReasonInvalidHost),
				want("spec.tcp[0].route[0].destination.host", ReasonInvalidHost),
			}},
		{"overlapping hosts", `
hosts: ["*.example.com", "api.example.com", reviews]
http: [{route: [{destination: {host: reviews}}]}]`,
			[]Problem{want("spec.hosts[1]", ReasonDuplicateHost)}},

		// SNI hosts
		{"SNI host malformed, and outside the hosts", `
hosts: ["*.example.com"]
gateways: [istio-system/gw]
tls:
- match: [{sniHosts: ["a..example.com", "db.other.com", "db.example.com", "10.0.0.1"]}]
  route: [{destination: {host: db}}]`,
			[]Problem{
				want("spec.tls[0].match[0].sniHosts[0]", ReasonInvalidSNIHost),
				want("spec.tls[0].match[0].sniHosts[1]", ReasonSNIHostNotInHosts),
			}},

		// gateway names
		{"gateway names", `
hosts: [reviews]
gateways: [mesh, istio-system/ingress, "ns/bad.name"]
http:
- match: [{gateways: ["/gw"]}]
  route: [{destination: {host: reviews}}]`,
			[]Problem{
				want("spec.gateways[2]", ReasonInvalidGatewayName),
				want("spec.http[0].match[0].gateways[0]", ReasonInvalidGatewayName),
			}},

		// source labels and subnets
		{"source labels", `
hosts: [reviews]
http:
- match: [{sourceLabels: {app: "-bad"}}]
  route: [{destination: {host: reviews}}]
tcp:
- match: [{sourceLabels: {"bad key!": x}}]
  route: [{destination: {host: reviews}}]`,
			[]Problem{
				want("spec.http[0].match[0].sourceLabels[app]", ReasonInvalidLabel),
				want("spec.tcp[0].match[0].sourceLabels[bad key!]", ReasonInvalidLabel),
			}},
		{"destination subnets", `
hosts: [mongo.example.com]
tcp:
- match: [{destinationSubnets: ["10.0.0.0/8", "10.0.0.0/40"], sourceSubnet: "192.168.0.0/16"}, {sourceSubnet: "192.168.0.0/"}]
  route: [{destination: {host: mongo.example.com}}]
tls:
- match: [{sniHosts: [mongo.example.com], destinationSubnets: [nonsense]}]
  route: [{destination: {host: mongo.example.com}}]`,
			[]Problem{
				want("spec.tls[0].match[0].destinationSubnets[0]", ReasonInvalidSubnet),
				want("spec.tcp[0].match[0].destinationSubnets[1]", ReasonInvalidSubnet),
				want("spec.tcp[0].match[1].sourceSubnet", ReasonInvalidSubnet),
			}},

		// redirects
		{"redirect with uri and prefixRewrite", `
hosts: [reviews]
http:
- redirect: {uri: /new, prefixRewrite: /newer}`,
			[]Problem{want("spec.http[0].redirect", ReasonRedirectConflict)}},
		{"redirect prefixRewrite with an exact uri match", `
hosts: [reviews]
http:
- match: [{uri: {prefix: /old}}, {uri: {exact: /legacy}}, {method: {exact: GET}}]
  redirect: {prefixRewrite: /new}`,
			[]Problem{want("spec.http[0].redirect.prefixRewrite", ReasonRedirectNeedsPrefixMatch)}},

		// exportTo
		{"exportTo . and the own namespace", `
hosts: [reviews]
exportTo: [".", "bookinfo"]
http: [{route: [{destination: {host: reviews}}]}]`,
			[]Problem{want("spec.exportTo[1]", ReasonDuplicateExportTo)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assertProblems(t, VirtualService(vsFrom(t, "bookinfo", tc.spec)), tc.want)
		})
	}
}

// TestVirtualServiceAccepts holds specs Istio accepts that a stricter reading could reject.
func TestVirtualServiceAccepts(t *testing.T) {
	for _, tc := range []struct{ name, spec string }{
		{"IP address host", `
hosts: ["10.1.2.3"]
http: [{route: [{destination: {host: reviews}}]}]`},
		{"wildcard-prefixed leftmost label", `
hosts: ["*foo.example.com", "bar.example.com"]
http: [{route: [{destination: {host: reviews}}]}]`},
		{"wildcard host on a gateway", `
hosts: ["*"]
gateways: [istio-system/ingress]
http: [{route: [{destination: {host: reviews}}]}]`},
		{"JWT claim routing on a gateway", `
hosts: ["*"]
gateways: [istio-system/ingress]
http:
- match: [{headers: {"@request.auth.claims[group]": {exact: admin}}}]
  route: [{destination: {host: reviews}}]`},
		{"pseudo-header match and authority rewrite by header", `
hosts: [reviews]
http:
- match: [{headers: {":authority": {exact: x}}}]
  headers: {request: {set: {":authority": other.example}}}
  route: [{destination: {host: reviews}}]`},
		{"auto-passthrough SNI names", `
hosts: ["*.global"]
gateways: [istio-system/eastwest]
tls:
- match: [{sniHosts: ["outbound_.80_._.reviews.global"]}]
  route: [{destination: {host: reviews}}]`},
		{"redirect prefixRewrite under prefix matches", `
hosts: [reviews]
http:
- match: [{uri: {prefix: /old}}, {method: {exact: GET}}]
  redirect: {prefixRewrite: /new}`},
		{"delegate root", `
hosts: [reviews]
http:
- match: [{uri: {prefix: /api}}]
  delegate: {name: api, namespace: team}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assertProblems(t, VirtualService(vsFrom(t, "bookinfo", tc.spec)), nil)
		})
	}
}
