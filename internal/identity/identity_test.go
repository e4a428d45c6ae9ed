package identity

import (
	"strings"
	"testing"
	"time"

	certmanagerv1 "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestSPIFFEID(t *testing.T) {
	for _, tc := range []struct {
		td, ns, sa, want string
	}{
		{"cluster.local", "default", "bookinfo-reviews", "spiffe://cluster.local/ns/default/sa/bookinfo-reviews"},
		{"example.org", "shop", "", "spiffe://example.org/ns/shop/sa/default"},
		{"td_1-x", "a", "b", "spiffe://td_1-x/ns/a/sa/b"},
	} {
		if got := SPIFFEID(tc.td, tc.ns, tc.sa); got != tc.want {
			t.Errorf("SPIFFEID(%q, %q, %q) = %q, want %q", tc.td, tc.ns, tc.sa, got, tc.want)
		}
	}
}

func TestOptions(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      Options
		want    Options
		wantErr string
	}{
		{name: "defaults", want: Options{TrustDomain: "cluster.local", Duration: 24 * time.Hour, RenewBefore: 8 * time.Hour,
			IssuerKind: "ClusterIssuer", IssuerName: "mizzen-mesh-ca", IssuerGroup: "cert-manager.io"}},
		{name: "namespaced issuer", in: Options{TrustDomain: "example.org", Duration: 2 * time.Hour, RenewBefore: time.Hour, IssuerKind: "Issuer", IssuerName: "ca"},
			want: Options{TrustDomain: "example.org", Duration: 2 * time.Hour, RenewBefore: time.Hour, IssuerKind: "Issuer", IssuerName: "ca", IssuerGroup: "cert-manager.io"}},
		{name: "external issuer kind", in: Options{IssuerKind: "AWSPCAClusterIssuer", IssuerGroup: "awspca.cert-manager.io"},
			want: Options{TrustDomain: "cluster.local", Duration: 24 * time.Hour, RenewBefore: 8 * time.Hour,
				IssuerKind: "AWSPCAClusterIssuer", IssuerName: "mizzen-mesh-ca", IssuerGroup: "awspca.cert-manager.io"}},
		{name: "too short", in: Options{Duration: 30 * time.Minute, RenewBefore: 10 * time.Minute}, wantErr: "under cert-manager's minimum"},
		{name: "renew after expiry", in: Options{Duration: 2 * time.Hour, RenewBefore: 3 * time.Hour}, wantErr: "shorter than the duration"},
		{name: "bad trust domain", in: Options{TrustDomain: "Cluster.Local"}, wantErr: `character 'C'`},
		{name: "bad kind", in: Options{IssuerKind: "Issuers"}, wantErr: "Issuer or ClusterIssuer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.in.WithDefaults()
			err := got.Validate()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Validate() = %v, want an error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Validate() = %v", err)
			}
			if got != tc.want {
				t.Errorf("WithDefaults() = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestProxyID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := NewProxyID()
		if err := ValidateProxyID(id); err != nil {
			t.Fatalf("NewProxyID() = %q: %v", id, err)
		}
		if seen[id] {
			t.Fatalf("NewProxyID() repeated %q", id)
		}
		seen[id] = true
	}
	for _, tc := range []struct {
		id string
		ok bool
	}{
		{"abc123", true},
		{"x", true},
		{strings.Repeat("a", 40), true},
		{strings.Repeat("a", 41), false},
		{"", false},
		{"Upper", false},
		{"-lead", false},
		{"dot.ted", false},
	} {
		if err := ValidateProxyID(tc.id); (err == nil) != tc.ok {
			t.Errorf("ValidateProxyID(%q) = %v, want ok=%v", tc.id, err, tc.ok)
		}
	}
}

func TestCertificate(t *testing.T) {
	pod := func(sa string) *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "reviews-v1-abc", Namespace: "bookinfo", UID: "uid-1"},
			Spec:       corev1.PodSpec{ServiceAccountName: sa},
		}
	}
	owner := []metav1.OwnerReference{{APIVersion: "v1", Kind: "Pod", Name: "reviews-v1-abc", UID: "uid-1", Controller: ptr.To(true)}}
	base := func(uri string, issuer cmmeta.IssuerReference, d, rb time.Duration) *certmanagerv1.Certificate {
		return &certmanagerv1.Certificate{
			TypeMeta: metav1.TypeMeta{APIVersion: "cert-manager.io/v1", Kind: "Certificate"},
			ObjectMeta: metav1.ObjectMeta{Name: "mizzen-proxy-p1", Namespace: "bookinfo",
				Labels: map[string]string{"app.kubernetes.io/managed-by": "mizzen"}, OwnerReferences: owner},
			Spec: certmanagerv1.CertificateSpec{
				SecretName:     "mizzen-proxy-p1",
				SecretTemplate: &certmanagerv1.CertificateSecretTemplate{Labels: map[string]string{"app.kubernetes.io/managed-by": "mizzen"}},
				URIs:           []string{uri},
				Duration:       &metav1.Duration{Duration: d},
				RenewBefore:    &metav1.Duration{Duration: rb},
				PrivateKey: &certmanagerv1.CertificatePrivateKey{Algorithm: "ECDSA", Size: 256, Encoding: "PKCS8",
					RotationPolicy: "Always"},
				Usages:    []certmanagerv1.KeyUsage{"digital signature", "server auth", "client auth"},
				IssuerRef: issuer,
			},
		}
	}
	for _, tc := range []struct {
		name string
		pod  *corev1.Pod
		opts Options
		want *certmanagerv1.Certificate
	}{
		{"defaults", pod("reviews"), Options{},
			base("spiffe://cluster.local/ns/bookinfo/sa/reviews",
				cmmeta.IssuerReference{Name: "mizzen-mesh-ca", Kind: "ClusterIssuer", Group: "cert-manager.io"}, 24*time.Hour, 8*time.Hour)},
		{"default service account", pod(""), Options{},
			base("spiffe://cluster.local/ns/bookinfo/sa/default",
				cmmeta.IssuerReference{Name: "mizzen-mesh-ca", Kind: "ClusterIssuer", Group: "cert-manager.io"}, 24*time.Hour, 8*time.Hour)},
		{"flags", pod("reviews"), Options{TrustDomain: "corp.example", Duration: 4 * time.Hour, RenewBefore: time.Hour, IssuerKind: "Issuer", IssuerName: "ns-ca"},
			base("spiffe://corp.example/ns/bookinfo/sa/reviews",
				cmmeta.IssuerReference{Name: "ns-ca", Kind: "Issuer", Group: "cert-manager.io"}, 4*time.Hour, time.Hour)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Certificate(tc.pod, "p1", tc.opts.WithDefaults())
			if !equality.Semantic.DeepEqual(got, tc.want) {
				t.Errorf("Certificate() =\n%+v\nwant\n%+v", got, tc.want)
			}
			if len(got.Spec.DNSNames)+len(got.Spec.IPAddresses)+len(got.Spec.EmailAddresses) > 0 || got.Spec.CommonName != "" {
				t.Errorf("Certificate() has names besides the URI SAN: %+v", got.Spec)
			}
			if !IsControlledBy(got.OwnerReferences, tc.pod) {
				t.Errorf("Certificate() is not controlled by its pod: %+v", got.OwnerReferences)
			}
			other := tc.pod.DeepCopy()
			other.UID = "uid-2"
			if IsControlledBy(got.OwnerReferences, other) {
				t.Errorf("IsControlledBy() true for another pod")
			}
		})
	}
}
