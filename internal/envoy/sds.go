package envoy

import (
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
)

// The SDS documents name files of the mounted Secret, never key material:
// the ConfigMap stays free of secrets, and cert-manager's renewals reach
// Envoy without a new ConfigMap or a restart.

// WorkloadCertSecret is the pod's own certificate and key ("default").
func WorkloadCertSecret() *tlsv3.Secret {
	return &tlsv3.Secret{
		Name: WorkloadCertSecretName,
		Type: &tlsv3.Secret_TlsCertificate{TlsCertificate: &tlsv3.TlsCertificate{
			CertificateChain: fileSource(CertPath(CertChainKey)),
			PrivateKey:       fileSource(CertPath(PrivateKeyKey)),
			// The kubelet rotates a Secret volume by swapping ..data in
			// CertDir; watching the directory reloads chain and key
			// together (Envoy checks they were read consistently).
			WatchedDirectory: &corev3.WatchedDirectory{Path: CertDir},
		}},
	}
}

// RootCASecret is the mesh CA that peers' certificates must chain to
// ("ROOTCA").
func RootCASecret() *tlsv3.Secret {
	return &tlsv3.Secret{
		Name: RootCASecretName,
		Type: &tlsv3.Secret_ValidationContext{ValidationContext: &tlsv3.CertificateValidationContext{
			TrustedCa:        fileSource(CertPath(CAKey)),
			WatchedDirectory: &corev3.WatchedDirectory{Path: CertDir},
		}},
	}
}

// SDSSecretConfig is how listeners and clusters refer to a secret of this
// package: by name, from the SDS file that holds it, reloaded like lds/cds.
// secretName is WorkloadCertSecretName or RootCASecretName.
func SDSSecretConfig(secretName string) *tlsv3.SdsSecretConfig {
	file := WorkloadSDSFile
	if secretName == RootCASecretName {
		file = RootCASDSFile
	}
	return &tlsv3.SdsSecretConfig{Name: secretName, SdsConfig: FileConfigSource(file)}
}

func fileSource(path string) *corev3.DataSource {
	return &corev3.DataSource{Specifier: &corev3.DataSource_Filename{Filename: path}}
}
