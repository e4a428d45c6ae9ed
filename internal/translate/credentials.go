package translate

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"

	"github.com/mizzen-mesh/mizzen/api/v1alpha1"
	"github.com/mizzen-mesh/mizzen/internal/envoy"
	"github.com/mizzen-mesh/mizzen/internal/mesh"
)

// ReasonSecretNotFound: a credentialName names no Secret in the gateway pod's namespace, or one
// without the keys the server needs.
const ReasonSecretNotFound = "SecretNotFound"

// credentialSource is one Secret a server's TLS settings name, and where.
type credentialSource struct {
	name  string
	field string // path inside the Gateway
}

// serverCredentials resolves the certificates a SIMPLE or MUTUAL server takes from Secrets
// (credentialName, else credentialNames) of the proxy's namespace, as Istio reads them there.
// It returns them, or ok=false (server skipped, problem reported) when one is missing. A
// Secret the mesh saw and lost (Deleted) is still used: proxies keep their copy.
func (t *translator) serverCredentials(gs gatewayServer) (certs []envoy.Credential, ok bool) {
	s, at := gs.s.TLS, gs.at()+".tls"
	var sources []credentialSource
	if s.CredentialName != "" {
		sources = []credentialSource{{s.CredentialName, at + ".credentialName"}}
		if len(s.CredentialNames) > 0 {
			t.report("Gateway", gs.gw.Namespace, gs.gw.Name, at+".credentialNames", ReasonUnsupported,
				"credentialNames is ignored when credentialName is set")
		}
	} else {
		for i, n := range s.CredentialNames {
			sources = append(sources, credentialSource{n, fmt.Sprintf("%s.credentialNames[%d]", at, i)})
		}
	}
	for _, src := range sources {
		c := t.credential(gs, src, "a certificate (tls.crt and tls.key, or cert and key)", func(c *mesh.Credential) bool { return c.HasCert && c.HasKey })
		if c == nil {
			return nil, false
		}
		certs = append(certs, envoy.Credential{Source: c.Name, Kind: envoy.CredentialCert})
	}
	return certs, true
}

// serverCA resolves the CA of a MUTUAL server from Secrets: caCertCredentialName, else the
// ca.crt (or cacert) of the first credential's Secret, else Secret <credential>-cacert. It
// returns nil with ok=true when no Secret is named for it (caCertificates may give a file).
func (t *translator) serverCA(gs gatewayServer) (ca *envoy.Credential, ok bool) {
	s, at := gs.s.TLS, gs.at()+".tls"
	hasCA := func(c *mesh.Credential) bool { return c.HasCA }
	const what = "a CA certificate (ca.crt or cacert)"
	if s.CaCertCredentialName != "" {
		c := t.credential(gs, credentialSource{s.CaCertCredentialName, at + ".caCertCredentialName"}, what, hasCA)
		if c == nil {
			return nil, false
		}
		return &envoy.Credential{Source: c.Name, Kind: envoy.CredentialCA}, true
	}
	first, field := cmp.Or(s.CredentialName, firstOf(s.CredentialNames)), at+".credentialName"
	if first == "" {
		return nil, true
	}
	if s.CredentialName == "" {
		field = at + ".credentialNames[0]"
	}
	for _, name := range caSources(first) {
		if c := t.snap.Credential(t.proxy.Namespace, name); c != nil && c.HasCA {
			if c.Deleted {
				t.reportDeleted(gs, field, c)
			}
			return &envoy.Credential{Source: c.Name, Kind: envoy.CredentialCA}, true
		}
	}
	if s.CaCertificates != "" {
		return nil, true
	}
	t.report("Gateway", gs.gw.Namespace, gs.gw.Name, field, ReasonSecretNotFound,
		"mode %s needs a CA to verify clients: neither Secret %s/%s has ca.crt (or cacert) nor does a Secret %s/%s%s exist; server skipped",
		s.Mode, t.proxy.Namespace, first, t.proxy.Namespace, first, mesh.CredentialSuffixCA)
	return nil, false
}

// credential looks up one Secret for a server and reports it when it is missing or lacks what
// the server needs (what, checked by has).
func (t *translator) credential(gs gatewayServer, src credentialSource, what string, has func(*mesh.Credential) bool) *mesh.Credential {
	if err := envoy.ValidateSource(src.name); err != nil {
		t.report("Gateway", gs.gw.Namespace, gs.gw.Name, src.field, ReasonSecretNotFound, "%v; server skipped", err)
		return nil
	}
	c := t.snap.Credential(t.proxy.Namespace, src.name)
	switch {
	case c == nil:
		t.report("Gateway", gs.gw.Namespace, gs.gw.Name, src.field, ReasonSecretNotFound,
			"Secret %s/%s does not exist (it must be in the namespace of the gateway pods); server skipped", t.proxy.Namespace, src.name)
		return nil
	case !has(c):
		t.report("Gateway", gs.gw.Namespace, gs.gw.Name, src.field, ReasonSecretNotFound,
			"Secret %s/%s does not hold %s; server skipped", t.proxy.Namespace, src.name, what)
		return nil
	case c.Deleted:
		t.reportDeleted(gs, src.field, c)
	}
	return c
}

func (t *translator) reportDeleted(gs gatewayServer, field string, c *mesh.Credential) {
	t.report("Gateway", gs.gw.Namespace, gs.gw.Name, field, ReasonSecretNotFound,
		"Secret %s/%s was deleted; gateway proxies keep serving the copy they have, new ones cannot", c.Namespace, c.Name)
}

// useCredentials records that the proxy's config reads cs.
func (t *translator) useCredentials(cs []envoy.Credential) {
	if len(cs) == 0 {
		return
	}
	if t.credentials == nil {
		t.credentials = map[envoy.Credential]bool{}
	}
	for _, c := range cs {
		t.credentials[c] = true
	}
}

// usedCredentials lists the credentials the proxy's config reads, sorted.
func (t *translator) usedCredentials() []envoy.Credential {
	if len(t.credentials) == 0 {
		return nil
	}
	out := make([]envoy.Credential, 0, len(t.credentials))
	for c := range t.credentials {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b envoy.Credential) int {
		return cmp.Or(strings.Compare(a.Source, b.Source), strings.Compare(string(a.Kind), string(b.Kind)))
	})
	return out
}

func firstOf(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// verifyClients sets the validation context of a MUTUAL server: the CA from a Secret (SDS) or a
// file, and the subject alt names clients must present.
func verifyClients(ctx *tlsv3.CommonTlsContext, s *v1alpha1.ServerTLSSettings, ca *envoy.Credential) {
	vc := &tlsv3.CertificateValidationContext{MatchTypedSubjectAltNames: exactSANs(tlsv3.SubjectAltNameMatcher_DNS, s.SubjectAltNames)}
	if ca != nil {
		ctx.ValidationContextType = &tlsv3.CommonTlsContext_CombinedValidationContext{
			CombinedValidationContext: &tlsv3.CommonTlsContext_CombinedCertificateValidationContext{
				DefaultValidationContext: vc, ValidationContextSdsSecretConfig: ca.SDSConfig()}}
		return
	}
	vc.TrustedCa = fileSource(s.CaCertificates)
	ctx.ValidationContextType = &tlsv3.CommonTlsContext_ValidationContext{ValidationContext: vc}
}

// clientCredential resolves a DestinationRule's client credentialName as Istio does: a Secret of
// the gateway proxy's namespace with the client certificate and key (MUTUAL) and the CA that
// verifies the server (ca.crt or cacert there, or Secret <name>-cacert); without a CA the other
// settings (caCertificates, system roots) verify it. Sidecars ignore it, as in Istio.
func (b *clusterBuilder) clientCredential(s *v1alpha1.ClientTLSSettings, at string) (cert, ca *envoy.Credential) {
	if b.credNS == "" {
		b.report(at, ReasonUnsupported, "credentialName is used by gateway proxies only, as in Istio; sidecars use clientCertificate, privateKey and caCertificates")
		return nil, nil
	}
	if strings.HasPrefix(s.CredentialName, "configmap://") {
		b.unsupported(at, "a CA from a ConfigMap (configmap://)")
		return nil, nil
	}
	if err := envoy.ValidateSource(s.CredentialName); err != nil {
		b.report(at, ReasonSecretNotFound, "%v", err)
		return nil, nil
	}
	deleted := func(c *mesh.Credential) {
		if c.Deleted {
			b.report(at, ReasonSecretNotFound, "Secret %s/%s was deleted; gateway proxies keep using the copy they have, new ones cannot", c.Namespace, c.Name)
		}
	}
	for _, name := range caSources(s.CredentialName) {
		if c := b.snap.Credential(b.credNS, name); c != nil && c.HasCA {
			deleted(c)
			ca = &envoy.Credential{Source: c.Name, Kind: envoy.CredentialCA}
			break
		}
	}
	c := b.snap.Credential(b.credNS, s.CredentialName)
	switch {
	case s.Mode != v1alpha1.ClientTLSMutual:
		if ca == nil {
			b.report(at, ReasonSecretNotFound, "neither Secret %s/%s nor %s/%s%s holds a CA (ca.crt or cacert); the server is verified without it",
				b.credNS, s.CredentialName, b.credNS, s.CredentialName, mesh.CredentialSuffixCA)
		}
	case c == nil:
		b.report(at, ReasonSecretNotFound, "Secret %s/%s does not exist (it must be in the namespace of the gateway pods); connections go without a client certificate", b.credNS, s.CredentialName)
	case !c.HasCert || !c.HasKey:
		b.report(at, ReasonSecretNotFound, "Secret %s/%s does not hold a client certificate (tls.crt and tls.key, or cert and key)", c.Namespace, c.Name)
	default:
		deleted(c) // reported once if it is the CA's too (problems are deduplicated)
		cert = &envoy.Credential{Source: c.Name, Kind: envoy.CredentialCert}
	}
	return cert, ca
}

// caSources are the Secrets a credential's CA is read from, in Istio's order: <name>-cacert,
// then the credential's own Secret.
func caSources(name string) []string { return []string{name + mesh.CredentialSuffixCA, name} }
