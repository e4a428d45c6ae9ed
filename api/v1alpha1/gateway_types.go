/*
Copyright 2026 The Mizzen Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// GatewaySpec describes a load balancer at the edge of the mesh: the ports it listens on, the
// hosts it serves there, and its TLS. Routing is left to the VirtualServices bound to it.
// +kubebuilder:validation:XValidation:rule="!has(self.servers) || self.servers.all(s, !has(s.port) || !has(s.port.name) || self.servers.exists_one(t, has(t.port) && has(t.port.name) && t.port.name == s.port.name))",message="servers[].port.name must be unique within the Gateway"
type GatewaySpec struct {
	// Servers lists what the gateway listens for; at least one.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=128
	// +required
	Servers []Server `json:"servers"`
	// Selector picks the gateway pods, in any namespace, by label.
	// +optional
	Selector map[string]string `json:"selector,omitempty"`
}

// Server is one listener of a gateway: a port, the hosts served on it, and TLS.
// +kubebuilder:validation:XValidation:rule="!has(self.port) || self.port.number > 0 || (has(self.bind) && self.bind.startsWith('unix://'))",message="port.number must be between 1 and 65535 unless bind is a unix:// socket"
// +kubebuilder:validation:XValidation:rule="!has(self.bind) || !self.bind.startsWith('unix://') || !has(self.port) || self.port.number == 0",message="port.number must be 0 when bind is a unix:// socket"
// +kubebuilder:validation:XValidation:rule="!has(self.port) || !(self.port.protocol.upperAscii() in ['HTTPS', 'TLS']) || has(self.tls)",message="tls is required for HTTPS and TLS servers"
// +kubebuilder:validation:XValidation:rule="!has(self.port) || !has(self.tls) || self.port.protocol.upperAscii() in ['HTTPS', 'TLS'] || (self.port.protocol.upperAscii() in ['HTTP', 'HTTP2', 'HTTP_PROXY', 'GRPC', 'GRPC-WEB'] && (!has(self.tls.mode) || self.tls.mode in ['PASSTHROUGH', 'AUTO_PASSTHROUGH']) && (!has(self.tls.serverCertificate) || size(self.tls.serverCertificate) == 0) && (!has(self.tls.privateKey) || size(self.tls.privateKey) == 0) && (!has(self.tls.caCertificates) || size(self.tls.caCertificates) == 0))",message="tls on a plain-text server may only hold httpsRedirect; non-HTTP plain-text servers may not set tls"
type Server struct {
	// Port is the port the gateway listens on and the protocol spoken there.
	// +required
	Port Port `json:"port"`
	// Bind is the IP address or unix:// socket to listen on; empty means all addresses.
	// +optional
	Bind string `json:"bind,omitempty"`
	// Hosts are the hosts served, written [namespace/]dnsName; the namespace part limits which
	// VirtualServices may bind. At least one.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MinLength=1
	// +required
	Hosts []string `json:"hosts"`
	// TLS terminates, originates or passes through TLS on this server.
	// +optional
	TLS *ServerTLSSettings `json:"tls,omitempty"`
	// DefaultEndpoint is where traffic goes when no route matches (127.0.0.1:port or unix://).
	// +optional
	DefaultEndpoint string `json:"defaultEndpoint,omitempty"`
	// Name identifies the server in logs and statistics.
	// +optional
	Name string `json:"name,omitempty"`
}

// Port is a port a gateway listens on.
// +kubebuilder:validation:XValidation:rule="!has(self.targetPort) || self.targetPort == 0",message="targetPort has no effect on Gateways; remove it"
type Port struct {
	// Number is the port number (0 only with a unix:// bind).
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=65535
	// +required
	Number int32 `json:"number"`
	// Protocol is one of HTTP, HTTPS, GRPC, GRPC-Web, HTTP2, HTTP_PROXY, TCP, TLS, UDP, Mongo,
	// Redis or MySQL (any case).
	// +kubebuilder:validation:MaxLength=16
	// +kubebuilder:validation:XValidation:rule="self.upperAscii() in ['HTTP', 'HTTPS', 'GRPC', 'GRPC-WEB', 'HTTP2', 'HTTP_PROXY', 'TCP', 'TLS', 'UDP', 'MONGO', 'REDIS', 'MYSQL']",message="protocol must be one of HTTP, HTTPS, GRPC, GRPC-Web, HTTP2, HTTP_PROXY, TCP, TLS, UDP, Mongo, Redis, MySQL"
	// +required
	Protocol string `json:"protocol"`
	// Name labels the port; unique within the Gateway.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`
	// TargetPort is not used by Gateways.
	// Deprecated: it has no effect and is rejected when non-zero.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=4294967295
	// +optional
	TargetPort int64 `json:"targetPort,omitempty"`
}

// ServerTLSMode is how a gateway server handles TLS.
// +kubebuilder:validation:Enum=PASSTHROUGH;SIMPLE;MUTUAL;AUTO_PASSTHROUGH;ISTIO_MUTUAL;OPTIONAL_MUTUAL
type ServerTLSMode string

const (
	// ServerTLSPassthrough forwards TLS untouched, routed by SNI.
	ServerTLSPassthrough ServerTLSMode = "PASSTHROUGH"
	// ServerTLSSimple terminates TLS.
	ServerTLSSimple ServerTLSMode = "SIMPLE"
	// ServerTLSMutual terminates TLS and requires a client certificate.
	ServerTLSMutual ServerTLSMode = "MUTUAL"
	// ServerTLSAutoPassthrough forwards TLS untouched, routed by the mesh's SNI naming alone.
	ServerTLSAutoPassthrough ServerTLSMode = "AUTO_PASSTHROUGH"
	// ServerTLSIstioMutual terminates mesh mTLS with the gateway's own workload certificate.
	ServerTLSIstioMutual ServerTLSMode = "ISTIO_MUTUAL"
	// ServerTLSOptionalMutual terminates TLS and verifies a client certificate when one is sent.
	ServerTLSOptionalMutual ServerTLSMode = "OPTIONAL_MUTUAL"
)

// TLSProtocolVersion is a TLS protocol version.
// +kubebuilder:validation:Enum=TLS_AUTO;TLSV1_0;TLSV1_1;TLSV1_2;TLSV1_3
type TLSProtocolVersion string

const (
	// TLSAuto lets the proxy choose.
	TLSAuto TLSProtocolVersion = "TLS_AUTO"
	// TLSV10 is TLS 1.0.
	TLSV10 TLSProtocolVersion = "TLSV1_0"
	// TLSV11 is TLS 1.1.
	TLSV11 TLSProtocolVersion = "TLSV1_1"
	// TLSV12 is TLS 1.2.
	TLSV12 TLSProtocolVersion = "TLSV1_2"
	// TLSV13 is TLS 1.3.
	TLSV13 TLSProtocolVersion = "TLSV1_3"
)

// ServerTLSSettings configures TLS on a gateway server. The certificate comes from exactly one
// source: serverCertificate/privateKey files, credentialName, credentialNames or
// tlsCertificates.
// +kubebuilder:validation:XValidation:rule="((has(self.serverCertificate) && size(self.serverCertificate) > 0 && has(self.privateKey) && size(self.privateKey) > 0) ? 1 : 0) + ((has(self.credentialName) && size(self.credentialName) > 0) ? 1 : 0) + ((has(self.credentialNames) && size(self.credentialNames) > 0) ? 1 : 0) + ((has(self.tlsCertificates) && size(self.tlsCertificates) > 0) ? 1 : 0) <= 1",message="only one of credentialName, credentialNames, serverCertificate/privateKey or tlsCertificates may be set"
// +kubebuilder:validation:XValidation:rule="!has(self.mode) || self.mode != 'ISTIO_MUTUAL' || ((!has(self.serverCertificate) || size(self.serverCertificate) == 0) && (!has(self.privateKey) || size(self.privateKey) == 0) && (!has(self.caCertificates) || size(self.caCertificates) == 0) && (!has(self.credentialName) || size(self.credentialName) == 0) && (!has(self.credentialNames) || size(self.credentialNames) == 0) && (!has(self.tlsCertificates) || size(self.tlsCertificates) == 0))",message="mode ISTIO_MUTUAL uses the workload certificate: serverCertificate, privateKey, caCertificates, credentialName(s) and tlsCertificates may not be set"
// +kubebuilder:validation:XValidation:rule="!has(self.mode) || !(self.mode in ['SIMPLE', 'MUTUAL', 'OPTIONAL_MUTUAL']) || (has(self.credentialName) && size(self.credentialName) > 0) || (has(self.credentialNames) && size(self.credentialNames) > 0) || (has(self.tlsCertificates) && size(self.tlsCertificates) > 0 ? self.tlsCertificates.all(c, has(c.serverCertificate) && size(c.serverCertificate) > 0 && has(c.privateKey) && size(c.privateKey) > 0) : (has(self.serverCertificate) && size(self.serverCertificate) > 0 && has(self.privateKey) && size(self.privateKey) > 0))",message="modes SIMPLE, MUTUAL and OPTIONAL_MUTUAL need a certificate: credentialName, credentialNames, or serverCertificate and privateKey (in tlsCertificates or directly)"
// +kubebuilder:validation:XValidation:rule="!has(self.mode) || !(self.mode in ['MUTUAL', 'OPTIONAL_MUTUAL']) || (has(self.credentialName) && size(self.credentialName) > 0) || (has(self.credentialNames) && size(self.credentialNames) > 0) || (has(self.caCertificates) && size(self.caCertificates) > 0)",message="modes MUTUAL and OPTIONAL_MUTUAL need caCertificates to verify clients, unless credentialName or credentialNames is set"
// +kubebuilder:validation:XValidation:rule="!has(self.caCrl) || size(self.caCrl) == 0 || !has(self.credentialName) || size(self.credentialName) == 0",message="caCrl may not be set with credentialName; put the CRL in the credential"
// +kubebuilder:validation:XValidation:rule="!has(self.caCrl) || size(self.caCrl) == 0 || !has(self.mode) || self.mode != 'SIMPLE'",message="caCrl is not supported in mode SIMPLE"
type ServerTLSSettings struct {
	// HTTPSRedirect makes a plain-HTTP server answer every request with a 301 to https.
	// +optional
	HTTPSRedirect bool `json:"httpsRedirect,omitempty"`
	// Mode selects passthrough, termination, or mutual TLS (default PASSTHROUGH).
	// +optional
	Mode ServerTLSMode `json:"mode,omitempty"`
	// ServerCertificate is the path of the server certificate file.
	// +optional
	ServerCertificate string `json:"serverCertificate,omitempty"`
	// PrivateKey is the path of the server's private key file.
	// +optional
	PrivateKey string `json:"privateKey,omitempty"`
	// CaCertificates is the path of the CA bundle that verifies client certificates.
	// +optional
	CaCertificates string `json:"caCertificates,omitempty"`
	// CaCrl is the path of a certificate revocation list checked against client certificates.
	// +optional
	CaCrl string `json:"caCrl,omitempty"`
	// CredentialName names a Secret, in the gateway's namespace, holding the certificate, key
	// and optionally the client CA.
	// +optional
	CredentialName string `json:"credentialName,omitempty"`
	// CredentialNames names one or two Secrets (for example an RSA and an ECDSA certificate).
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=2
	// +optional
	CredentialNames []string `json:"credentialNames,omitempty"`
	// CaCertCredentialName names a Secret or ConfigMap holding only the client CA.
	// +optional
	CaCertCredentialName string `json:"caCertCredentialName,omitempty"`
	// TLSCertificates gives one or two certificate/key file pairs.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=2
	// +optional
	TLSCertificates []ServerTLSCertificate `json:"tlsCertificates,omitempty"`
	// SubjectAltNames lists the identities accepted in client certificates.
	// +optional
	SubjectAltNames []string `json:"subjectAltNames,omitempty"`
	// VerifyCertificateSpki lists base64 SHA-256 hashes of accepted client public keys.
	// +optional
	VerifyCertificateSpki []string `json:"verifyCertificateSpki,omitempty"`
	// VerifyCertificateHash lists hex SHA-256 hashes of accepted client certificates.
	// +optional
	VerifyCertificateHash []string `json:"verifyCertificateHash,omitempty"`
	// MinProtocolVersion is the lowest TLS version accepted.
	// +optional
	MinProtocolVersion TLSProtocolVersion `json:"minProtocolVersion,omitempty"`
	// MaxProtocolVersion is the highest TLS version accepted.
	// +optional
	MaxProtocolVersion TLSProtocolVersion `json:"maxProtocolVersion,omitempty"`
	// CipherSuites lists the cipher suites offered (TLS 1.2 and below).
	// +optional
	CipherSuites []string `json:"cipherSuites,omitempty"`
	// InsecureSkipVerify accepts any client certificate without verifying it.
	// +optional
	InsecureSkipVerify *bool `json:"insecureSkipVerify,omitempty"`
}

// ServerTLSCertificate is one certificate/key file pair of a gateway server.
type ServerTLSCertificate struct {
	// ServerCertificate is the path of the certificate file.
	// +optional
	ServerCertificate string `json:"serverCertificate,omitempty"`
	// PrivateKey is the path of the private key file.
	// +optional
	PrivateKey string `json:"privateKey,omitempty"`
	// CaCertificates is the path of a CA bundle that verifies client certificates.
	// +optional
	CaCertificates string `json:"caCertificates,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=gw,categories=mizzen
// +kubebuilder:printcolumn:name="Servers",type=string,JSONPath=`.status.serversSummary`,description="Protocols and ports the gateway listens on"
// +kubebuilder:printcolumn:name="Programmed",type=string,JSONPath=`.status.updatedSummary`,description="Gateway proxies carrying this generation / gateway proxies selected"
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`,description="Accepted and on every gateway proxy"
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",message="Gateway names must be DNS-1123 labels (no dots), because VirtualServices refer to them as namespace/name"

// Gateway is a load balancer at the edge of the mesh; its spec is Istio's networking.istio.io/v1
// Gateway.
type Gateway struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the desired listener configuration.
	// +required
	Spec GatewaySpec `json:"spec"`
	// Status is what Mizzen observed.
	// +optional
	Status GatewayStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// GatewayList is a list of Gateways.
type GatewayList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Gateway `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Gateway{}, &GatewayList{})
}
