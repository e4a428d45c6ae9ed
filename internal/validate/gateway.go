package validate

import (
	"slices"
	"strings"
	"unicode"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/mizzen-mesh/mizzen/api/v1alpha1"
)

// Gateway returns the problems of a Gateway that its CRD's schema and CEL rules cannot find, in
// spec order.
func Gateway(gw *v1alpha1.Gateway) []Problem {
	return checkGateway(gw).errs
}

// GatewayWarnings returns what Istio's webhook accepts but warns about: httpsRedirect on a
// server that is not plain HTTP, TLS 1.0/1.1 without cipher suites, unknown or repeated cipher
// suites (which are dropped), certificates on passthrough servers (which are ignored).
func GatewayWarnings(gw *v1alpha1.Gateway) []Problem {
	return checkGateway(gw).warns
}

func checkGateway(gw *v1alpha1.Gateway) problems {
	var ps problems
	if gw == nil {
		return ps
	}
	servers := field.NewPath("spec", "servers")
	for i := range gw.Spec.Servers {
		s := &gw.Spec.Servers[i]
		sp := servers.Index(i)
		for j, h := range s.Hosts {
			if err := checkGatewayServerHost(h); err != nil {
				ps.add(sp.Child("hosts").Index(j), ReasonInvalidGatewayHost, "host %q: %v", h, err)
			}
		}
		if s.Bind != "" {
			if err := checkBind(s.Bind); err != nil {
				ps.add(sp.Child("bind"), ReasonInvalidBind, "bind must be an IP address or unix:///absolute/path: %v", err)
			}
		}
		if s.TLS != nil {
			if s.TLS.HTTPSRedirect && !httpProtocols[strings.ToUpper(s.Port.Protocol)] {
				ps.warn(sp.Child("tls", "httpsRedirect"), WarnHTTPSRedirectNotHTTP, "httpsRedirect only works on HTTP servers, this one is %s", s.Port.Protocol)
			}
			checkServerTLS(&ps, sp.Child("tls"), s.TLS)
		}
	}
	return ps
}

// Protocols Istio treats as plain HTTP.
var httpProtocols = map[string]bool{"HTTP": true, "HTTP2": true, "HTTP_PROXY": true, "GRPC": true, "GRPC-WEB": true}

// cipherSuites are the TLS 1.2 cipher suites Envoy (BoringSSL) offers, by OpenSSL name.
var cipherSuites = []string{
	"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
	"ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
	"ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
	"ECDHE-ECDSA-AES128-SHA", "ECDHE-RSA-AES128-SHA",
	"ECDHE-ECDSA-AES256-SHA", "ECDHE-RSA-AES256-SHA",
	"AES128-GCM-SHA256", "AES256-GCM-SHA384", "AES128-SHA", "AES256-SHA", "DES-CBC3-SHA",
}

// knownCipherSuite: one of cipherSuites, "ALL", or an expression Istio passes through unchecked
// (one starting with an operator such as "-", "+", "!" or "[").
func knownCipherSuite(cs string) bool {
	if cs == "" || cs == "ALL" || !unicode.IsLetter(rune(cs[0])) && !unicode.IsDigit(rune(cs[0])) {
		return true
	}
	return slices.Contains(cipherSuites, cs)
}

func checkServerTLS(ps *problems, p *field.Path, tls *v1alpha1.ServerTLSSettings) {
	if (tls.MinProtocolVersion == v1alpha1.TLSV10 || tls.MinProtocolVersion == v1alpha1.TLSV11) && len(tls.CipherSuites) == 0 {
		ps.warn(p.Child("minProtocolVersion"), WarnOldTLSWithoutCiphers,
			"%s needs cipherSuites that it supports; the default suites exclude them", tls.MinProtocolVersion)
	}
	seen := map[string]bool{}
	for i, cs := range tls.CipherSuites {
		switch {
		case !knownCipherSuite(cs):
			ps.warn(p.Child("cipherSuites").Index(i), WarnInvalidCipherSuite, "unknown cipher suite %q is ignored", cs)
		case seen[cs]:
			ps.warn(p.Child("cipherSuites").Index(i), WarnDuplicateCipherSuite, "cipher suite %q is listed twice", cs)
		}
		seen[cs] = true
	}
	passthrough := tls.Mode == "" || tls.Mode == v1alpha1.ServerTLSPassthrough || tls.Mode == v1alpha1.ServerTLSAutoPassthrough
	if passthrough && (tls.CaCrl != "" || tls.ServerCertificate != "" || tls.PrivateKey != "" || tls.CaCertificates != "" ||
		len(tls.TLSCertificates) > 0 || tls.CredentialName != "" || len(tls.CredentialNames) > 0) {
		mode := tls.Mode
		if mode == "" {
			mode = v1alpha1.ServerTLSPassthrough
		}
		ps.warn(p, WarnCertificatesIgnored, "mode %s does not terminate TLS; its certificate settings are ignored", mode)
	}
}
