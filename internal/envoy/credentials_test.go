package envoy

import (
	"strings"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	"google.golang.org/protobuf/types/known/anypb"
)

func TestRenderCredentials(t *testing.T) {
	cert := Credential{Source: "web-cert", Kind: CredentialCert}
	ca := Credential{Source: "web-cert", Kind: CredentialCA}
	data, err := RenderCredentials(map[Credential]CredentialPEM{
		cert: {Chain: []byte("CHAIN"), Key: []byte("KEY")},
		ca:   {CA: []byte("CA")},
	})
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{"web-cert_tls.crt": "CHAIN", "web-cert_tls.key": "KEY", "web-cert_ca.crt": "CA"} {
		if string(data[key]) != want {
			t.Errorf("%s = %q, want %q", key, data[key], want)
		}
	}
	// Each SDS document holds its one secret, naming files of the volume, never their content.
	for _, c := range []Credential{cert, ca} {
		got, err := decodeDoc(string(data[c.SDSKey()]), TypeURL(&tlsv3.Secret{}))
		if err != nil {
			t.Fatalf("%s: %v", c.SDSKey(), err)
		}
		if len(got) != 1 || got[0].GetName() != c.SDSName() {
			t.Fatalf("%s holds %v, want the secret %s", c.SDSKey(), got, c.SDSName())
		}
		if err := sameMessage(c.SDSSecret(), got[0]); err != nil {
			t.Error(err)
		}
		if strings.Contains(string(data[c.SDSKey()]), "CHAIN") || strings.Contains(string(data[c.SDSKey()]), "KEY\n") {
			t.Errorf("%s holds key material", c.SDSKey())
		}
	}
	if _, err := RenderCredentials(map[Credential]CredentialPEM{cert: {Chain: []byte("CHAIN")}}); err == nil {
		t.Error("a certificate without a private key rendered")
	}
	if _, err := RenderCredentials(map[Credential]CredentialPEM{{Source: "Bad_Name", Kind: CredentialCA}: {CA: []byte("CA")}}); err == nil {
		t.Error("a credential named like no Secret rendered")
	}
}

// A listener reading a credential renders and verifies; one pointing elsewhere in the volume, or
// naming another secret than its document holds, does not.
func TestRenderCredentialReferences(t *testing.T) {
	cert := Credential{Source: "web-cert", Kind: CredentialCert}
	listener := func(ref *tlsv3.SdsSecretConfig) *listenerv3.Listener {
		a, err := anypb.New(&tlsv3.DownstreamTlsContext{CommonTlsContext: &tlsv3.CommonTlsContext{TlsCertificateSdsSecretConfigs: []*tlsv3.SdsSecretConfig{ref}}})
		if err != nil {
			t.Fatal(err)
		}
		return &listenerv3.Listener{Name: "https", Address: &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
			Address: "0.0.0.0", PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: 443}}}},
			FilterChains: []*listenerv3.FilterChain{{TransportSocket: &corev3.TransportSocket{Name: "envoy.transport_sockets.tls",
				ConfigType: &corev3.TransportSocket_TypedConfig{TypedConfig: a}}}}}
	}
	if _, err := Render(testNode(), []*listenerv3.Listener{listener(cert.SDSConfig())}, nil); err != nil {
		t.Fatal(err)
	}
	wrongName := cert.SDSConfig()
	wrongName.Name = "kubernetes://other"
	badPath := cert.SDSConfig()
	badPath.SdsConfig.GetPathConfigSource().Path = CredentialsDir + "/web-cert_tls.crt"
	for name, ref := range map[string]*tlsv3.SdsSecretConfig{"wrong secret": wrongName, "not a document": badPath} {
		if _, err := Render(testNode(), []*listenerv3.Listener{listener(ref)}, nil); err == nil {
			t.Errorf("%s: rendered", name)
		}
	}
}
