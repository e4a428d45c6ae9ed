package translate

import (
	"fmt"
	"slices"
	"strings"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	rawbufferv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/raw_buffer/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/mizzen-mesh/mizzen/api/v1alpha1"
	"github.com/mizzen-mesh/mizzen/internal/envoy"
	"github.com/mizzen-mesh/mizzen/internal/mesh"
)

// ALPN values Istio's sidecars offer on mTLS connections; the inbound listener tells mesh mTLS
// from an application's own TLS by them.
var meshALPN = []string{"istio-peer-exchange", "istio"}

const tlsSocketName = "envoy.transport_sockets.tls"

// autoMTLS: without TLS settings in the DestinationRule, clients originate mesh mTLS to meshed
// endpoints and plaintext to the rest, as Istio's auto mTLS does.
func (b *clusterBuilder) autoMTLS(p policy) bool {
	return p.tls == nil && b.snap.Settings.MTLS != mesh.MTLSDisable
}

// istioSNI is the SNI Istio's clients send on mesh mTLS.
func istioSNI(port int32, subset, host string) string {
	return fmt.Sprintf("outbound_.%d_.%s_.%s", port, subset, host)
}

// spiffeSANs are the identities of the endpoints' service accounts, which the server's
// certificate must carry.
func (b *clusterBuilder) spiffeSANs(eps []mesh.Endpoint) []string {
	var sans []string
	anyMeshed := slices.ContainsFunc(eps, func(e mesh.Endpoint) bool { return e.Meshed })
	for _, e := range eps {
		// Only workloads with a mesh identity: meshed pods, or any pod when none is meshed.
		if e.Pod == "" || (anyMeshed && !e.Meshed) {
			continue
		}
		ns := b.svc.Namespace
		if podNS, _, ok := strings.Cut(e.Pod, "/"); ok {
			ns = podNS
		}
		sans = append(sans, "spiffe://"+b.snap.Settings.TrustDomain+"/ns/"+ns+"/sa/"+e.ServiceAccount)
	}
	slices.Sort(sans)
	return slices.Compact(sans)
}

func exactSANs(kind tlsv3.SubjectAltNameMatcher_SanType, sans []string) []*tlsv3.SubjectAltNameMatcher {
	out := make([]*tlsv3.SubjectAltNameMatcher, 0, len(sans))
	for _, s := range sans {
		out = append(out, &tlsv3.SubjectAltNameMatcher{SanType: kind,
			Matcher: &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Exact{Exact: s}}})
	}
	return out
}

// meshClientTLS is ISTIO_MUTUAL from the client side: the workload certificate, the peer checked
// against the mesh CA and the expected identities.
func meshClientTLS(sni string, sans []string) *tlsv3.UpstreamTlsContext {
	return &tlsv3.UpstreamTlsContext{
		Sni: sni,
		CommonTlsContext: &tlsv3.CommonTlsContext{
			AlpnProtocols:                  meshALPN,
			TlsCertificateSdsSecretConfigs: []*tlsv3.SdsSecretConfig{workloadCertSDS},
			ValidationContextType: &tlsv3.CommonTlsContext_CombinedValidationContext{CombinedValidationContext: &tlsv3.CommonTlsContext_CombinedCertificateValidationContext{
				DefaultValidationContext:         &tlsv3.CertificateValidationContext{MatchTypedSubjectAltNames: exactSANs(tlsv3.SubjectAltNameMatcher_URI, sans)},
				ValidationContextSdsSecretConfig: rootCASDS,
			}},
		},
	}
}

func fileSource(path string) *corev3.DataSource {
	return &corev3.DataSource{Specifier: &corev3.DataSource_Filename{Filename: path}}
}

// applyTLS sets the cluster's transport socket from the policy's TLS mode, or auto mTLS.
func (b *clusterBuilder) applyTLS(c *clusterv3.Cluster, p policy, subset string, eps []mesh.Endpoint) {
	if c.GetType() == clusterv3.Cluster_ORIGINAL_DST {
		return
	}
	s := p.tls
	if s == nil {
		if !b.autoMTLS(p) || !slices.ContainsFunc(eps, func(e mesh.Endpoint) bool { return e.Meshed }) {
			return
		}
		mtls, err := pack(meshClientTLS(istioSNI(b.port.Number, subset, b.svc.Hostname), b.spiffeSANs(eps)))
		if err != nil {
			b.report("spec", ReasonInvalidConfig, "mTLS dropped: %v", err)
			return
		}
		if !slices.ContainsFunc(eps, func(e mesh.Endpoint) bool { return !e.Meshed }) {
			// Every endpoint is meshed: one socket, no per-endpoint match (smaller config).
			c.TransportSocket = &corev3.TransportSocket{Name: tlsSocketName, ConfigType: &corev3.TransportSocket_TypedConfig{TypedConfig: mtls}}
			return
		}
		c.TransportSocketMatches = []*clusterv3.Cluster_TransportSocketMatch{
			{
				Name:            "tlsMode-istio",
				Match:           &structpb.Struct{Fields: map[string]*structpb.Value{"tlsMode": structpb.NewStringValue("istio")}},
				TransportSocket: &corev3.TransportSocket{Name: tlsSocketName, ConfigType: &corev3.TransportSocket_TypedConfig{TypedConfig: mtls}},
			},
			{
				Name:            "tlsMode-disabled",
				Match:           &structpb.Struct{},
				TransportSocket: rawBufferSocket(),
			},
		}
		return
	}
	var ctx *tlsv3.UpstreamTlsContext
	var cert, ca *envoy.Credential // from a gateway's credentialName
	switch s.Mode {
	case v1alpha1.ClientTLSDisable, "":
		return
	case v1alpha1.ClientTLSIstioMutual:
		sni := s.Sni
		if sni == "" {
			sni = istioSNI(b.port.Number, subset, b.svc.Hostname)
		}
		sans := s.SubjectAltNames
		if len(sans) == 0 {
			sans = b.spiffeSANs(eps)
		}
		ctx = meshClientTLS(sni, sans)
	case v1alpha1.ClientTLSSimple, v1alpha1.ClientTLSMutual:
		ctx = &tlsv3.UpstreamTlsContext{Sni: s.Sni, CommonTlsContext: &tlsv3.CommonTlsContext{}}
		if s.CredentialName != "" {
			cert, ca = b.clientCredential(s, p.tlsAt+".credentialName")
		}
		if s.CaCrl != "" {
			b.unsupported(p.tlsAt+".caCrl", "caCrl")
		}
		skip := s.InsecureSkipVerify != nil && *s.InsecureSkipVerify
		if !skip {
			// Without caCertificates the server is checked against the system's roots, as Istio
			// does; only insecureSkipVerify turns verification off.
			vc := &tlsv3.CertificateValidationContext{MatchTypedSubjectAltNames: exactSANs(tlsv3.SubjectAltNameMatcher_DNS, s.SubjectAltNames)}
			switch {
			case ca != nil:
				ctx.CommonTlsContext.ValidationContextType = &tlsv3.CommonTlsContext_CombinedValidationContext{
					CombinedValidationContext: &tlsv3.CommonTlsContext_CombinedCertificateValidationContext{
						DefaultValidationContext: vc, ValidationContextSdsSecretConfig: ca.SDSConfig()}}
			case s.CaCertificates != "":
				vc.TrustedCa = fileSource(s.CaCertificates)
			default:
				vc.SystemRootCerts = &tlsv3.CertificateValidationContext_SystemRootCerts{}
			}
			if ca == nil {
				ctx.CommonTlsContext.ValidationContextType = &tlsv3.CommonTlsContext_ValidationContext{ValidationContext: vc}
			}
		}
		switch {
		case s.Mode != v1alpha1.ClientTLSMutual:
		case cert != nil:
			ctx.CommonTlsContext.TlsCertificateSdsSecretConfigs = []*tlsv3.SdsSecretConfig{cert.SDSConfig()}
		case s.ClientCertificate != "":
			ctx.CommonTlsContext.TlsCertificates = []*tlsv3.TlsCertificate{{
				CertificateChain: fileSource(s.ClientCertificate), PrivateKey: fileSource(s.PrivateKey)}}
		}
		if b.port.Protocol.IsHTTP2() {
			ctx.CommonTlsContext.AlpnProtocols = []string{"h2"}
		}
	default:
		b.unsupported(p.tlsAt+".mode", "TLS mode "+string(s.Mode))
		return
	}
	a, err := pack(ctx)
	if err != nil {
		b.report(p.tlsAt, ReasonInvalidConfig, "TLS settings dropped: %v", err)
		return
	}
	c.TransportSocket = &corev3.TransportSocket{Name: tlsSocketName, ConfigType: &corev3.TransportSocket_TypedConfig{TypedConfig: a}}
	for _, cred := range []*envoy.Credential{cert, ca} {
		if cred != nil && !slices.Contains(b.out.credentials, *cred) {
			b.out.credentials = append(b.out.credentials, *cred)
		}
	}
}

func rawBufferSocket() *corev3.TransportSocket {
	return &corev3.TransportSocket{Name: "envoy.transport_sockets.raw_buffer",
		ConfigType: &corev3.TransportSocket_TypedConfig{TypedConfig: mustPack(&rawbufferv3.RawBuffer{})}}
}

// meshServerTLS terminates mesh mTLS on the inbound listener: the workload certificate, and a
// client certificate of this trust domain required.
func meshServerTLS(trustDomain string) *tlsv3.DownstreamTlsContext {
	return &tlsv3.DownstreamTlsContext{
		RequireClientCertificate: wrapperspb.Bool(true),
		CommonTlsContext: &tlsv3.CommonTlsContext{
			AlpnProtocols:                  []string{"h2", "http/1.1"},
			TlsCertificateSdsSecretConfigs: []*tlsv3.SdsSecretConfig{workloadCertSDS},
			ValidationContextType: &tlsv3.CommonTlsContext_CombinedValidationContext{CombinedValidationContext: &tlsv3.CommonTlsContext_CombinedCertificateValidationContext{
				DefaultValidationContext: &tlsv3.CertificateValidationContext{MatchTypedSubjectAltNames: []*tlsv3.SubjectAltNameMatcher{{
					SanType: tlsv3.SubjectAltNameMatcher_URI,
					Matcher: &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Prefix{Prefix: "spiffe://" + trustDomain + "/"}},
				}}},
				ValidationContextSdsSecretConfig: rootCASDS,
			}},
		},
	}
}
