// Package identity holds a meshed pod's workload identity: its SPIFFE ID
// (spiffe://<trust-domain>/ns/<namespace>/sa/<service account>) and the
// cert-manager Certificate mizzen-proxy-<proxy-id> that issues it into the
// Secret of the same name, which the proxy mounts and reads through its SDS
// files. The package is pure: it builds desired objects, it does not talk to
// the API server.
package identity

import (
	"errors"
	"fmt"
	"strings"
	"time"

	certmanagerv1 "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"

	"github.com/mizzen-mesh/mizzen/internal/envoy"
)

// Defaults of Options.
//
// Duration and renewal follow Istio's workload certificates: they live 24h,
// so a leaked key is useless within a day, and are renewed long before they
// expire. RenewBefore 8h is what cert-manager would pick by itself (renewal at
// two thirds of the lifetime) written out, so a proxy keeps a valid
// certificate through an 8-hour outage of its issuer. Shorter lifetimes buy
// little: cert-manager refuses anything under an hour, and each renewal is a
// CertificateRequest, a signature and a Secret write per pod.
const (
	DefaultTrustDomain = "cluster.local"
	DefaultDuration    = 24 * time.Hour
	DefaultRenewBefore = 8 * time.Hour
	DefaultIssuerKind  = "ClusterIssuer"
	DefaultIssuerName  = "mizzen-mesh-ca"
	// DefaultIssuerGroup is cert-manager's own issuers' group.
	DefaultIssuerGroup = "cert-manager.io"

	// MinDuration is cert-manager's lower bound on a certificate's duration.
	MinDuration = time.Hour

	defaultServiceAccount = "default"
	// ManagedByLabel marks objects Mizzen writes (value ManagedBy).
	ManagedByLabel = "app.kubernetes.io/managed-by"
	ManagedBy      = "mizzen"
)

// Options choose how proxy certificates are issued (the manager's
// --trust-domain, --proxy-cert-* and --proxy-issuer-* flags). Zero fields take
// the defaults above.
type Options struct {
	TrustDomain string
	Duration    time.Duration
	RenewBefore time.Duration
	IssuerKind  string // Issuer (in the pod's namespace) or ClusterIssuer
	IssuerName  string
	IssuerGroup string
}

// WithDefaults fills the zero fields of o.
func (o Options) WithDefaults() Options {
	if o.TrustDomain == "" {
		o.TrustDomain = DefaultTrustDomain
	}
	if o.Duration == 0 {
		o.Duration = DefaultDuration
	}
	if o.RenewBefore == 0 {
		o.RenewBefore = DefaultRenewBefore
	}
	if o.IssuerKind == "" {
		o.IssuerKind = DefaultIssuerKind
	}
	if o.IssuerName == "" {
		o.IssuerName = DefaultIssuerName
	}
	if o.IssuerGroup == "" {
		o.IssuerGroup = DefaultIssuerGroup
	}
	return o
}

// Validate reports options cert-manager or SPIFFE would refuse (after
// WithDefaults).
func (o Options) Validate() error {
	var errs []error
	if err := ValidateTrustDomain(o.TrustDomain); err != nil {
		errs = append(errs, err)
	}
	if o.Duration < MinDuration {
		errs = append(errs, fmt.Errorf("certificate duration %s is under cert-manager's minimum of %s", o.Duration, MinDuration))
	}
	if o.RenewBefore <= 0 || o.RenewBefore >= o.Duration {
		errs = append(errs, fmt.Errorf("certificate renewBefore %s must be positive and shorter than the duration %s", o.RenewBefore, o.Duration))
	}
	if o.IssuerKind != "Issuer" && o.IssuerKind != "ClusterIssuer" && o.IssuerGroup == DefaultIssuerGroup {
		errs = append(errs, fmt.Errorf("issuer kind %q: cert-manager.io issuers are Issuer or ClusterIssuer", o.IssuerKind))
	}
	if o.IssuerName == "" {
		errs = append(errs, errors.New("empty issuer name"))
	}
	return errors.Join(errs...)
}

// ValidateTrustDomain checks a SPIFFE trust domain name: lowercase letters,
// digits, '.', '-' and '_', at most 255 characters (SPIFFE ID spec, 2.1).
func ValidateTrustDomain(td string) error {
	if td == "" {
		return errors.New("empty trust domain")
	}
	if len(td) > 255 {
		return fmt.Errorf("trust domain %q is longer than 255 characters", td)
	}
	for _, c := range td {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return fmt.Errorf("trust domain %q: character %q is not allowed (lowercase letters, digits, '.', '-', '_')", td, c)
		}
	}
	return nil
}

// SPIFFEID is the URI identifying a workload:
// spiffe://<trust-domain>/ns/<namespace>/sa/<service account>, as Istio
// writes it. An empty service account is "default", as Kubernetes fills it.
func SPIFFEID(trustDomain, namespace, serviceAccount string) string {
	if serviceAccount == "" {
		serviceAccount = defaultServiceAccount
	}
	return "spiffe://" + trustDomain + "/ns/" + namespace + "/sa/" + serviceAccount
}

// PodSPIFFEID is the SPIFFE ID of a pod's proxy.
func PodSPIFFEID(trustDomain string, pod *corev1.Pod) string {
	return SPIFFEID(trustDomain, pod.Namespace, pod.Spec.ServiceAccountName)
}

// CertificateName is the name of a proxy's Certificate and of its Secret: the
// same name as its ConfigMap, so the injected pod mounts both by one name.
func CertificateName(proxyID string) string { return envoy.ConfigMapName(proxyID) }

// Certificate is the desired Certificate of a pod's proxy: named
// CertificateName(proxyID) in the pod's namespace, secretName the same,
// controlled by the pod (deleting the pod deletes it), one URI SAN (the
// pod's SPIFFE ID) and no other name, an ECDSA P-256 key regenerated on every
// renewal, usable for both ends of mTLS. o must have been through
// WithDefaults and Validate.
func Certificate(pod *corev1.Pod, proxyID string, o Options) *certmanagerv1.Certificate {
	name := CertificateName(proxyID)
	return &certmanagerv1.Certificate{
		TypeMeta: metav1.TypeMeta{APIVersion: certmanagerv1.SchemeGroupVersion.String(), Kind: certmanagerv1.CertificateKind},
		ObjectMeta: metav1.ObjectMeta{
			Name:            name,
			Namespace:       pod.Namespace,
			Labels:          map[string]string{ManagedByLabel: ManagedBy},
			OwnerReferences: []metav1.OwnerReference{PodOwnerReference(pod)},
		},
		Spec: certmanagerv1.CertificateSpec{
			SecretName: name,
			SecretTemplate: &certmanagerv1.CertificateSecretTemplate{
				Labels: map[string]string{ManagedByLabel: ManagedBy},
			},
			URIs:        []string{PodSPIFFEID(o.TrustDomain, pod)},
			Duration:    &metav1.Duration{Duration: o.Duration},
			RenewBefore: &metav1.Duration{Duration: o.RenewBefore},
			PrivateKey: &certmanagerv1.CertificatePrivateKey{
				Algorithm:      certmanagerv1.ECDSAKeyAlgorithm,
				Size:           256,
				Encoding:       certmanagerv1.PKCS8,
				RotationPolicy: certmanagerv1.RotationPolicyAlways,
			},
			// Digital signature is the key usage an ECDSA key signs TLS
			// handshakes with; server and client auth let the proxy be
			// either end of mTLS (Istio's workload certificates carry both).
			Usages: []certmanagerv1.KeyUsage{
				certmanagerv1.UsageDigitalSignature,
				certmanagerv1.UsageServerAuth,
				certmanagerv1.UsageClientAuth,
			},
			IssuerRef: cmmeta.IssuerReference{Name: o.IssuerName, Kind: o.IssuerKind, Group: o.IssuerGroup},
		},
	}
}

// ProxyIDLength is the length of the proxy ids NewProxyID makes.
const ProxyIDLength = 10

// NewProxyID returns a random proxy id: ProxyIDLength characters of
// Kubernetes' name alphabet (lowercase consonants and digits, no vowels, so
// no words), DNS-safe in every name built from it. 27^10 ≈ 2·10^14 ids, so
// collisions in one namespace are negligible; the reconciler still refuses
// to take over an object another pod controls.
func NewProxyID() string { return utilrand.String(ProxyIDLength) }

// maxProxyIDLength keeps mizzen-proxy-<id> a DNS label (63), which every
// name derived from it (Certificate, Secret, cert-manager's
// CertificateRequests with their suffix) fits in.
const maxProxyIDLength = 63 - len(envoy.ConfigMapPrefix) - 10

// ValidateProxyID checks a proxy id from a pod annotation (set by the
// injection webhook, the reconciler or a user): a DNS label short enough for
// the names built from it.
func ValidateProxyID(id string) error {
	if len(id) > maxProxyIDLength {
		return fmt.Errorf("proxy id %q is longer than %d characters", id, maxProxyIDLength)
	}
	if errs := validation.IsDNS1123Label(id); len(errs) > 0 {
		return fmt.Errorf("proxy id %q: %s", id, strings.Join(errs, "; "))
	}
	return nil
}

// PodOwnerReference makes the pod the controller of an object: the garbage
// collector deletes the object with the pod.
func PodOwnerReference(pod *corev1.Pod) metav1.OwnerReference {
	return metav1.OwnerReference{
		APIVersion: "v1",
		Kind:       "Pod",
		Name:       pod.Name,
		UID:        pod.UID,
		Controller: ptr.To(true),
		// BlockOwnerDeletion is left unset: setting it needs update on
		// pods/finalizers, and nothing waits on a pod's foreground deletion.
	}
}

// IsControlledBy reports whether obj's controller reference is the pod.
func IsControlledBy(refs []metav1.OwnerReference, pod *corev1.Pod) bool {
	for _, r := range refs {
		if r.Controller != nil && *r.Controller {
			return r.UID == pod.UID && r.Kind == "Pod" && strings.HasPrefix(r.APIVersion, "v1")
		}
	}
	return false
}
