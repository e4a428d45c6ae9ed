// Package webhooks registers the manager's admission webhooks with a local cluster the way an
// install does, but served from a process on the loopback: a self-signed serving certificate for
// 127.0.0.1, and the webhook configurations controller-gen writes (config/webhook/manifests.yaml)
// pointed at https://127.0.0.1:<port> with that certificate as their caBundle. The end-to-end suite
// and the demo use it.
package webhooks

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"
)

// ManifestsFile is where controller-gen writes the webhook configurations, relative to the repository.
const ManifestsFile = "config/webhook/manifests.yaml"

// Serving is where a webhook server listens on the loopback and the certificate it serves.
type Serving struct {
	Host string
	Port int
	// CertDir holds tls.crt and tls.key (the manager's --webhook-cert-path).
	CertDir string
	// CABundle is the certificate the API server verifies the server with.
	CABundle []byte
}

// NewServing picks a free loopback port and writes a self-signed certificate for 127.0.0.1, valid
// for a day, into certDir.
func NewServing(certDir string) (Serving, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return Serving{}, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	ca, err := writeServingCert(certDir)
	if err != nil {
		return Serving{}, fmt.Errorf("webhook serving certificate: %w", err)
	}
	return Serving{Host: "127.0.0.1", Port: port, CertDir: certDir, CABundle: ca}, nil
}

// Address is host:port (the manager's --webhook-bind-address).
func (s Serving) Address() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// URL is the server's base URL, which each webhook's path is appended to.
func (s Serving) URL() string { return "https://" + s.Address() }

func writeServingCert(dir string) ([]byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "mizzen-local-webhook"},
		NotBefore:             time.Now().Add(-time.Minute),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true, // its own caBundle
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	crt := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(filepath.Join(dir, "tls.crt"), crt, 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "tls.key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return nil, err
	}
	return crt, nil
}

// Configurations are webhook configurations to register.
type Configurations struct {
	Mutating   []*admissionregistrationv1.MutatingWebhookConfiguration
	Validating []*admissionregistrationv1.ValidatingWebhookConfiguration
}

// FromManifests reads ManifestsFile under repoRoot and returns its configurations named
// prefix+name, every webhook calling s's URL plus the path of the Service it names, trusting
// s's certificate.
func FromManifests(repoRoot, prefix string, s Serving) (*Configurations, error) {
	docs, err := os.ReadFile(filepath.Join(repoRoot, filepath.FromSlash(ManifestsFile)))
	if err != nil {
		return nil, err
	}
	c := &Configurations{}
	point := func(cc *admissionregistrationv1.WebhookClientConfig, webhook string) error {
		if cc.Service == nil {
			return fmt.Errorf("%s: webhook %s calls no Service", ManifestsFile, webhook)
		}
		path := ptr.Deref(cc.Service.Path, "/")
		*cc = admissionregistrationv1.WebhookClientConfig{URL: ptr.To(s.URL() + path), CABundle: s.CABundle}
		return nil
	}
	for _, doc := range bytes.Split(docs, []byte("\n---")) {
		var kind metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &kind); err != nil {
			return nil, fmt.Errorf("%s: %w", ManifestsFile, err)
		}
		switch kind.Kind {
		case "MutatingWebhookConfiguration":
			m := &admissionregistrationv1.MutatingWebhookConfiguration{}
			if err := yaml.UnmarshalStrict(doc, m); err != nil {
				return nil, fmt.Errorf("%s: %w", ManifestsFile, err)
			}
			m.Name = prefix + m.Name
			for i := range m.Webhooks {
				if err := point(&m.Webhooks[i].ClientConfig, m.Webhooks[i].Name); err != nil {
					return nil, err
				}
			}
			c.Mutating = append(c.Mutating, m)
		case "ValidatingWebhookConfiguration":
			v := &admissionregistrationv1.ValidatingWebhookConfiguration{}
			if err := yaml.UnmarshalStrict(doc, v); err != nil {
				return nil, fmt.Errorf("%s: %w", ManifestsFile, err)
			}
			v.Name = prefix + v.Name
			for i := range v.Webhooks {
				if err := point(&v.Webhooks[i].ClientConfig, v.Webhooks[i].Name); err != nil {
					return nil, err
				}
			}
			c.Validating = append(c.Validating, v)
		}
	}
	if len(c.Mutating) == 0 || len(c.Validating) == 0 {
		return nil, fmt.Errorf("%s holds %d mutating and %d validating webhook configurations, want both kinds", ManifestsFile, len(c.Mutating), len(c.Validating))
	}
	return c, nil
}

// ScopeMutating sends the mutating webhooks only the objects of the namespaces sel matches. Their
// failurePolicy is Fail, so only the pods that need injection should depend on the server.
func (c *Configurations) ScopeMutating(sel *metav1.LabelSelector) {
	for _, m := range c.Mutating {
		for i := range m.Webhooks {
			m.Webhooks[i].NamespaceSelector = sel.DeepCopy()
		}
	}
}

// String names each configuration and its webhooks.
func (c *Configurations) String() string {
	var out []string
	for _, m := range c.Mutating {
		var names []string
		for _, w := range m.Webhooks {
			names = append(names, w.Name)
		}
		out = append(out, fmt.Sprintf("MutatingWebhookConfiguration %s (%s)", m.Name, strings.Join(names, ", ")))
	}
	for _, v := range c.Validating {
		var names []string
		for _, w := range v.Webhooks {
			names = append(names, w.Name)
		}
		out = append(out, fmt.Sprintf("ValidatingWebhookConfiguration %s (%s)", v.Name, strings.Join(names, ", ")))
	}
	return strings.Join(out, "; ")
}

// Install creates the configurations.
func (c *Configurations) Install(ctx context.Context, k kubernetes.Interface) error {
	for _, m := range c.Mutating {
		if _, err := k.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(ctx, m, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("MutatingWebhookConfiguration %s: %w", m.Name, err)
		}
	}
	for _, v := range c.Validating {
		if _, err := k.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, v, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("ValidatingWebhookConfiguration %s: %w", v.Name, err)
		}
	}
	return nil
}

// Uninstall deletes the configurations, so that no request waits on a server that is gone.
func (c *Configurations) Uninstall(ctx context.Context, k kubernetes.Interface) error {
	var errs []error
	for _, m := range c.Mutating {
		errs = append(errs, k.AdmissionregistrationV1().MutatingWebhookConfigurations().Delete(ctx, m.Name, metav1.DeleteOptions{}))
	}
	for _, v := range c.Validating {
		errs = append(errs, k.AdmissionregistrationV1().ValidatingWebhookConfigurations().Delete(ctx, v.Name, metav1.DeleteOptions{}))
	}
	return errors.Join(errs...)
}
