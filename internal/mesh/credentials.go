package mesh

import (
	"cmp"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"

	"github.com/mizzen-mesh/mizzen/api/v1alpha1"
)

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

// ClientCredentialNames are the Secrets a DestinationRule's client TLS settings name
// (credentialName, on its policy, subsets and port-level settings); gateway proxies read them.
func ClientCredentialNames(dr *v1alpha1.DestinationRule) []string {
	if dr == nil {
		return nil
	}
	policies := []*v1alpha1.TrafficPolicy{dr.Spec.TrafficPolicy}
	for i := range dr.Spec.Subsets {
		policies = append(policies, dr.Spec.Subsets[i].TrafficPolicy)
	}
	var out []string
	for _, tp := range policies {
		if tp == nil {
			continue
		}
		tls := []*v1alpha1.ClientTLSSettings{tp.TLS}
		for _, pl := range tp.PortLevelSettings {
			tls = append(tls, pl.TLS)
		}
		for _, t := range tls {
			if t != nil && t.CredentialName != "" {
				out = append(out, t.CredentialName)
			}
		}
	}
	return out
}

// Credentials returns the snapshot's credentials, sorted by namespace and name.
func (s *Snapshot) Credentials() []*Credential {
	out := slices.Collect(maps.Values(s.creds))
	slices.SortFunc(out, func(a, b *Credential) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	return out
}
