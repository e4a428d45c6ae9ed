package envoy

import (
	"fmt"
	"slices"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	"google.golang.org/protobuf/proto"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Gateway credentials: certificates a Gateway server (credentialName) takes from Kubernetes
// Secrets of the gateway pod's namespace. The proxy reconciler copies them into one Secret per
// gateway pod, mizzen-proxy-<proxy-id>-credentials, which the injection webhook mounts at
// CredentialsDir. That Secret holds, per credential, the PEM files and the SDS document that
// names them, so a document and its files always arrive in one atomic volume swap: the listener
// (in the ConfigMap) reads the document from CredentialsDir, and Envoy reloads both when the
// kubelet swaps the volume. No key material is ever in the ConfigMap.
const (
	// CredentialsDir is where Secret mizzen-proxy-<proxy-id>-credentials is mounted.
	CredentialsDir = "/etc/mizzen/credentials"
	// CredentialsVolume is the name of the pod volume of that Secret. The injection webhook adds
	// it to gateway pods only, optional (the Secret exists only while a server needs it), and
	// mounts it read-only at CredentialsDir in the Envoy container.
	CredentialsVolume = "mizzen-credentials"
	// CredentialsSecretSuffix follows ConfigMapName in the Secret's name.
	CredentialsSecretSuffix = "-credentials"
	// CredentialsHashAnnotation on that Secret is a hash of the sources its data was copied from
	// (their names and resourceVersions), so an unchanged copy is recognised without reading the
	// sources' data. The reconciler stamps it on the pod too, which makes the kubelet resync the
	// volume at once.
	CredentialsHashAnnotation = "mizzen.dev/credentials-hash"

	// credentialSep separates a source Secret's name from the file in the credentials Secret's
	// keys: "_" is valid in a key but never in a Secret's name, so keys cannot collide.
	credentialSep = "_"
	caSuffix      = "-cacert"
)

// CredentialsSecretName is the name of the credentials Secret of a gateway proxy.
func CredentialsSecretName(proxyID string) string {
	return ConfigMapName(proxyID) + CredentialsSecretSuffix
}

// CredentialKind tells what a credential provides.
type CredentialKind string

const (
	// CredentialCert is a server's certificate chain and private key.
	CredentialCert CredentialKind = "cert"
	// CredentialCA is the CA bundle client certificates are verified against (MUTUAL).
	CredentialCA CredentialKind = "ca"
)

// Credential is one secret of a gateway's TLS contexts, read from the Kubernetes Secret named
// Source in the proxy's namespace.
type Credential struct {
	Source string         `json:"source"`
	Kind   CredentialKind `json:"kind"`
}

// ValidateSource checks that name can name a Kubernetes Secret (a DNS subdomain).
func ValidateSource(name string) error {
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return fmt.Errorf("%q is not a Secret name (a lowercase DNS subdomain: letters, digits, '-' and '.')", name)
	}
	return nil
}

// SDSName is the secret's name in Envoy, as Istio spells it: kubernetes://<name> for a
// certificate, kubernetes://<name>-cacert for a CA (kubernetes://<name> when the Secret's name
// ends in -cacert already).
func (c Credential) SDSName() string {
	if c.Kind == CredentialCA && !strings.HasSuffix(c.Source, caSuffix) {
		return "kubernetes://" + c.Source + caSuffix
	}
	return "kubernetes://" + c.Source
}

// Keys of the credentials Secret per credential: its files, then its SDS document.
func (c Credential) key(file string) string { return c.Source + credentialSep + file }

// ChainKey, PrivateKeyKey and CAKey are the keys of a credential's PEM files.
func (c Credential) ChainKey() string      { return c.key(CertChainKey) }
func (c Credential) PrivateKeyKey() string { return c.key(PrivateKeyKey) }
func (c Credential) CAKey() string         { return c.key(CAKey) }

// SDSKey is the key of the credential's SDS document.
func (c Credential) SDSKey() string { return c.key("sds-" + string(c.Kind) + ".yaml") }

// parseSDSKey is SDSKey's inverse.
func parseSDSKey(key string) (Credential, bool) {
	source, _, ok := strings.Cut(key, credentialSep)
	if !ok || ValidateSource(source) != nil {
		return Credential{}, false
	}
	for _, k := range []CredentialKind{CredentialCert, CredentialCA} {
		if c := (Credential{Source: source, Kind: k}); c.SDSKey() == key {
			return c, true
		}
	}
	return Credential{}, false
}

func credentialPath(key string) string { return CredentialsDir + "/" + key }

// SDSConfig is how a TLS context refers to the credential: its SDS document in CredentialsDir,
// reloaded when the kubelet swaps that volume.
func (c Credential) SDSConfig() *tlsv3.SdsSecretConfig {
	return &tlsv3.SdsSecretConfig{Name: c.SDSName(), SdsConfig: &corev3.ConfigSource{
		ResourceApiVersion: corev3.ApiVersion_V3,
		ConfigSourceSpecifier: &corev3.ConfigSource_PathConfigSource{PathConfigSource: &corev3.PathConfigSource{
			Path:             credentialPath(c.SDSKey()),
			WatchedDirectory: &corev3.WatchedDirectory{Path: CredentialsDir},
		}},
	}}
}

// SDSSecret is the secret the credential's SDS document holds: file paths, never key material.
func (c Credential) SDSSecret() *tlsv3.Secret {
	watched := &corev3.WatchedDirectory{Path: CredentialsDir}
	if c.Kind == CredentialCA {
		return &tlsv3.Secret{Name: c.SDSName(), Type: &tlsv3.Secret_ValidationContext{ValidationContext: &tlsv3.CertificateValidationContext{
			TrustedCa: fileSource(credentialPath(c.CAKey())), WatchedDirectory: watched,
		}}}
	}
	return &tlsv3.Secret{Name: c.SDSName(), Type: &tlsv3.Secret_TlsCertificate{TlsCertificate: &tlsv3.TlsCertificate{
		CertificateChain: fileSource(credentialPath(c.ChainKey())),
		PrivateKey:       fileSource(credentialPath(c.PrivateKeyKey())),
		WatchedDirectory: watched,
	}}}
}

// CredentialPEM is what a credential's files hold: Chain and Key for a certificate, CA for a CA.
type CredentialPEM struct {
	Chain, Key, CA []byte
}

// RenderCredentials returns the data of a credentials Secret: for each credential its PEM files
// and its SDS document. A credential without its PEM is an error (nothing may be written).
func RenderCredentials(creds map[Credential]CredentialPEM) (map[string][]byte, error) {
	data := make(map[string][]byte, 3*len(creds))
	keys := make([]Credential, 0, len(creds))
	for c := range creds {
		keys = append(keys, c)
	}
	slices.SortFunc(keys, func(a, b Credential) int {
		return strings.Compare(a.SDSKey(), b.SDSKey())
	})
	for _, c := range keys {
		if err := ValidateSource(c.Source); err != nil {
			return nil, fmt.Errorf("envoy: credential: %w", err)
		}
		pem := creds[c]
		switch c.Kind {
		case CredentialCert:
			if len(pem.Chain) == 0 || len(pem.Key) == 0 {
				return nil, fmt.Errorf("envoy: credential %s: certificate chain or private key missing", c.Source)
			}
			data[c.ChainKey()], data[c.PrivateKeyKey()] = pem.Chain, pem.Key
		case CredentialCA:
			if len(pem.CA) == 0 {
				return nil, fmt.Errorf("envoy: credential %s: CA certificate missing", c.Source)
			}
			data[c.CAKey()] = pem.CA
		default:
			return nil, fmt.Errorf("envoy: credential %s: unknown kind %q", c.Source, c.Kind)
		}
		s := c.SDSSecret()
		if err := s.ValidateAll(); err != nil {
			return nil, fmt.Errorf("envoy: credential %s: %w", c.Source, err)
		}
		doc, err := discoveryDoc(TypeURL(s), []proto.Message{s})
		if err != nil {
			return nil, fmt.Errorf("envoy: credential %s: %w", c.Source, err)
		}
		data[c.SDSKey()] = doc
	}
	return data, nil
}
