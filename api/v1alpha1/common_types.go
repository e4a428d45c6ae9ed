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

// This file holds the field types shared by VirtualService, DestinationRule and Gateway.
//
// Mapping from Istio's protos (networking.istio.io/v1, same JSON names):
//   - google.protobuf.Duration    -> Duration (or DurationOrZero where Istio lets 0s mean "off")
//   - BoolValue                   -> *bool
//   - UInt32Value / UInt64Value   -> *int64 with Minimum=0 (and Maximum=4294967295 for 32 bits)
//   - DoubleValue                 -> *float64
//   - uint32 / uint64             -> int32 where the value is a port or code, otherwise int64
//   - double                      -> float64 (crd:allowDangerousTypes=true)
//   - map<string, X>              -> map[string]X
//   - oneof members               -> pointer fields plus an "at most one" CEL rule
//   - enums                       -> string types with +kubebuilder:validation:Enum of Istio's names
//
// Every validation rule (CEL and structural) is listed in VALIDATION.md next to this file;
// checks that need code (RE2 compilation, header-name syntax, retryOn tokens, host names,
// maglev primes, ...) live in internal/validate.

import "time"

// Duration is a length of time written the way Go and CEL parse it, such as "5s", "0.5s",
// "100ms" or "1h30m". Mizzen, like Istio, wants at least one millisecond and nothing finer than
// whole milliseconds.
// +kubebuilder:validation:MaxLength=64
// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1ms')",message="must be a duration of at least 1ms, such as 5s or 100ms"
// +kubebuilder:validation:XValidation:rule="int(duration(self)) % 1000000 == 0",message="must be a whole number of milliseconds"
type Duration string

// Parse returns the duration as a time.Duration.
func (d Duration) Parse() (time.Duration, error) { return time.ParseDuration(string(d)) }

// DurationOrZero is a Duration for the few fields where Istio accepts "0s" (typically meaning
// "disabled" or "session only") and does not insist on millisecond precision.
// +kubebuilder:validation:MaxLength=64
// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('0s')",message="must be a non-negative duration, such as 0s or 30s"
type DurationOrZero string

// Parse returns the duration as a time.Duration.
func (d DurationOrZero) Parse() (time.Duration, error) { return time.ParseDuration(string(d)) }

// StringMatch matches a string exactly, by prefix, or by an RE2 regular expression. At most one
// of the three may be set; an empty StringMatch matches anything.
// +kubebuilder:validation:XValidation:rule="(has(self.exact) ? 1 : 0) + (has(self.prefix) ? 1 : 0) + (has(self.regex) ? 1 : 0) <= 1",message="at most one of exact, prefix or regex may be set"
type StringMatch struct {
	// Exact matches the whole string.
	// +optional
	Exact *string `json:"exact,omitempty"`
	// Prefix matches the beginning of the string.
	// +optional
	Prefix *string `json:"prefix,omitempty"`
	// Regex is an RE2 expression the whole string must match (compiled by internal/validate).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Regex *string `json:"regex,omitempty"`
}

// Percent is a percentage between 0 and 100, with fractions allowed.
type Percent struct {
	// Value is the percentage.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	// +optional
	Value float64 `json:"value,omitempty"`
}

// PortSelector names a port of a service by number.
type PortSelector struct {
	// Number is the port number.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +required
	Number int32 `json:"number"`
}

// SubsetName names a DestinationRule subset: a DNS-1123 label such as "v1" or "canary".
// +kubebuilder:validation:MaxLength=63
// +kubebuilder:validation:XValidation:rule="size(self) == 0 || self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",message="subset name must be a DNS-1123 label (lower-case letters, digits and '-')"
type SubsetName string

// Destination is where a route sends traffic: a service host, optionally narrowed to a subset
// defined by a DestinationRule and to one port.
type Destination struct {
	// Host is the service name from the registry, short ("reviews") or fully qualified
	// ("reviews.default.svc.cluster.local").
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	// +kubebuilder:validation:XValidation:rule="self != '*'",message="destination host may not be the wildcard *"
	// +required
	Host string `json:"host"`
	// Subset is the name of a subset of Host defined in a DestinationRule.
	// +optional
	Subset SubsetName `json:"subset,omitempty"`
	// Port picks one port of Host; needed only when the service exposes several.
	// +optional
	Port *PortSelector `json:"port,omitempty"`
}

// Headers changes request and response headers on the way through the proxy.
type Headers struct {
	// Request is applied before the request is forwarded.
	// +optional
	Request *HeaderOperations `json:"request,omitempty"`
	// Response is applied before the response returns to the caller.
	// +optional
	Response *HeaderOperations `json:"response,omitempty"`
}

// HeaderOperations sets, appends and removes headers.
type HeaderOperations struct {
	// Set replaces each named header with the given value.
	// +optional
	Set map[string]string `json:"set,omitempty"`
	// Add appends the given value to each named header.
	// +optional
	Add map[string]string `json:"add,omitempty"`
	// Remove deletes the named headers.
	// +optional
	Remove []string `json:"remove,omitempty"`
}

// ClientTLSMode is how a proxy secures its connections to an upstream.
// +kubebuilder:validation:Enum=DISABLE;SIMPLE;MUTUAL;ISTIO_MUTUAL
type ClientTLSMode string

const (
	// ClientTLSDisable sends plain text.
	ClientTLSDisable ClientTLSMode = "DISABLE"
	// ClientTLSSimple originates TLS and verifies the server.
	ClientTLSSimple ClientTLSMode = "SIMPLE"
	// ClientTLSMutual originates TLS with a client certificate given in the resource.
	ClientTLSMutual ClientTLSMode = "MUTUAL"
	// ClientTLSIstioMutual originates mesh mTLS with the workload's own certificate.
	ClientTLSIstioMutual ClientTLSMode = "ISTIO_MUTUAL"
)

// ClientTLSSettings configures TLS from a proxy to an upstream service.
// +kubebuilder:validation:XValidation:rule="!has(self.mode) || self.mode != 'MUTUAL' || (has(self.credentialName) && size(self.credentialName) > 0) || (has(self.clientCertificate) && size(self.clientCertificate) > 0 && has(self.privateKey) && size(self.privateKey) > 0)",message="tls mode MUTUAL needs clientCertificate and privateKey unless credentialName is set"
// +kubebuilder:validation:XValidation:rule="!has(self.mode) || !(self.mode in ['SIMPLE', 'MUTUAL']) || !has(self.credentialName) || size(self.credentialName) == 0 || ((!has(self.clientCertificate) || size(self.clientCertificate) == 0) && (!has(self.privateKey) || size(self.privateKey) == 0) && (!has(self.caCertificates) || size(self.caCertificates) == 0) && (!has(self.caCrl) || size(self.caCrl) == 0))",message="clientCertificate, privateKey, caCertificates and caCrl may not be set together with credentialName"
// +kubebuilder:validation:XValidation:rule="!has(self.insecureSkipVerify) || !self.insecureSkipVerify || !has(self.mode) || self.mode != 'SIMPLE' || ((!has(self.caCertificates) || size(self.caCertificates) == 0) && (!has(self.credentialName) || size(self.credentialName) == 0) && (!has(self.subjectAltNames) || size(self.subjectAltNames) == 0))",message="insecureSkipVerify in SIMPLE mode excludes caCertificates, credentialName and subjectAltNames"
// +kubebuilder:validation:XValidation:rule="!has(self.insecureSkipVerify) || !self.insecureSkipVerify || !has(self.mode) || self.mode != 'MUTUAL' || ((!has(self.caCertificates) || size(self.caCertificates) == 0) && (!has(self.subjectAltNames) || size(self.subjectAltNames) == 0))",message="insecureSkipVerify in MUTUAL mode excludes caCertificates and subjectAltNames"
type ClientTLSSettings struct {
	// Mode selects plain text, TLS, mutual TLS with given files, or mesh mTLS.
	// +optional
	Mode ClientTLSMode `json:"mode,omitempty"`
	// ClientCertificate is the path of the client certificate file (MUTUAL).
	// +optional
	ClientCertificate string `json:"clientCertificate,omitempty"`
	// PrivateKey is the path of the client's private key file (MUTUAL).
	// +optional
	PrivateKey string `json:"privateKey,omitempty"`
	// CaCertificates is the path of the CA bundle that verifies the server.
	// +optional
	CaCertificates string `json:"caCertificates,omitempty"`
	// CredentialName names a Secret holding the client certificate, key and CA instead of files.
	// +optional
	CredentialName string `json:"credentialName,omitempty"`
	// SubjectAltNames lists the identities the server certificate must carry.
	// +optional
	SubjectAltNames []string `json:"subjectAltNames,omitempty"`
	// Sni is the server name sent in the TLS handshake.
	// +optional
	Sni string `json:"sni,omitempty"`
	// InsecureSkipVerify turns off verification of the server certificate.
	// +optional
	InsecureSkipVerify *bool `json:"insecureSkipVerify,omitempty"`
	// CaCrl is the path of a certificate revocation list checked against the server certificate.
	// +optional
	CaCrl string `json:"caCrl,omitempty"`
}
