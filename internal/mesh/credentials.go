package mesh

import corev1 "k8s.io/api/core/v1"

// Credential is a Secret gateway servers may take TLS certificates from, as the mesh sees it:
// which of the keys Istio reads it has. Its data stays out of the snapshot.
type Credential struct {
	Namespace, Name string
	HasCert         bool // tls.crt or cert
	HasKey          bool // tls.key or key
	HasCA           bool // ca.crt or cacert
	// Deleted: the Secret was seen and is gone. Proxies that have a copy of it keep using it, as
	// Istio's gateways keep a deleted Secret's certificate, and its users report it missing.
	Deleted bool
}

// Keys Istio reads a credential Secret's parts from, preferred first (kubernetes.io/tls
// Secrets use the tls.* keys; generic Secrets may use either).
var (
	CredentialCertKeys = []string{corev1.TLSCertKey, "cert"}
	CredentialKeyKeys  = []string{corev1.TLSPrivateKeyKey, "key"}
	CredentialCAKeys   = []string{corev1.ServiceAccountRootCAKey, "cacert"}
)

// CredentialSuffixCA names the Secret that holds a credential's CA when the credential's own
// Secret has none: <credentialName>-cacert, as in Istio.
const CredentialSuffixCA = "-cacert"

// CredentialOf describes a Secret by the keys it has (values may be stripped).
func CredentialOf(s *corev1.Secret) Credential {
	has := func(keys []string) bool {
		for _, k := range keys {
			if _, ok := s.Data[k]; ok {
				return true
			}
		}
		return false
	}
	return Credential{Namespace: s.Namespace, Name: s.Name,
		HasCert: has(CredentialCertKeys), HasKey: has(CredentialKeyKeys), HasCA: has(CredentialCAKeys)}
}

// CredentialPart returns the value of the first of keys the data has.
func CredentialPart(data map[string][]byte, keys []string) []byte {
	for _, k := range keys {
		if v, ok := data[k]; ok {
			return v
		}
	}
	return nil
}

// Credential returns the credential Secret namespace/name, or nil.
func (s *Snapshot) Credential(namespace, name string) *Credential {
	return s.creds[namespace+"/"+name]
}
