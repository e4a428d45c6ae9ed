package webhooks

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mizzen-mesh/mizzen/test/testenv"
)

func TestServingCertificateVerifiesFor127001(t *testing.T) {
	s, err := NewServing(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tls.LoadX509KeyPair(filepath.Join(s.CertDir, "tls.crt"), filepath.Join(s.CertDir, "tls.key")); err != nil {
		t.Fatalf("the key pair the server loads: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(s.CABundle) {
		t.Fatal("the caBundle holds no certificate")
	}
	block, _ := pem.Decode(s.CABundle)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, DNSName: s.Host, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		t.Fatalf("the API server would refuse the webhook server: %v", err)
	}
	if s.Port == 0 || !strings.HasPrefix(s.URL(), "https://127.0.0.1:") {
		t.Fatalf("URL %s", s.URL())
	}
}

func TestFromManifestsPointsEveryWebhookAtTheServer(t *testing.T) {
	s := Serving{Host: "127.0.0.1", Port: 12345, CABundle: []byte("ca")}
	c, err := FromManifests(testenv.RepoRoot(), "demo-", s)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, m := range c.Mutating {
		if !strings.HasPrefix(m.Name, "demo-") {
			t.Errorf("name %s", m.Name)
		}
		for _, w := range m.Webhooks {
			paths = append(paths, *w.ClientConfig.URL)
			if w.ClientConfig.Service != nil || string(w.ClientConfig.CABundle) != "ca" {
				t.Errorf("webhook %s: clientConfig %+v", w.Name, w.ClientConfig)
			}
		}
	}
	for _, v := range c.Validating {
		for _, w := range v.Webhooks {
			paths = append(paths, *w.ClientConfig.URL)
			if w.ClientConfig.Service != nil || string(w.ClientConfig.CABundle) != "ca" {
				t.Errorf("webhook %s: clientConfig %+v", w.Name, w.ClientConfig)
			}
		}
	}
	for _, want := range []string{"/inject-v1-pod", "/validate-networking-mizzen-dev-v1alpha1-virtualservice",
		"/validate-networking-mizzen-dev-v1alpha1-destinationrule", "/validate-networking-mizzen-dev-v1alpha1-gateway"} {
		found := false
		for _, p := range paths {
			found = found || p == "https://127.0.0.1:12345"+want
		}
		if !found {
			t.Errorf("no webhook calls %s; URLs: %v", want, paths)
		}
	}
}
