package cluster

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// keyPair is a certificate and its private key, PEM-encoded, with the files they were written to.
type keyPair struct {
	cert     *x509.Certificate
	key      crypto.Signer
	certPEM  []byte
	keyPEM   []byte
	CertFile string
	KeyFile  string
}

// certSpec describes one certificate to issue.
type certSpec struct {
	commonName   string
	organization []string
	dnsNames     []string
	ips          []net.IP
	client       bool // ExtKeyUsageClientAuth
	server       bool // ExtKeyUsageServerAuth
}

// pki holds every key and certificate the cluster uses, all written under <StateDir>/pki.
type pki struct {
	dir string

	CA         *keyPair // signs the serving certificates and every client certificate
	FrontProxy *keyPair // the requestheader CA (aggregated API servers trust it)

	APIServer        *keyPair // serving: 127.0.0.1, localhost, the kubernetes Service IP and names
	FrontProxyClnt   *keyPair // --proxy-client-cert-file, CN front-proxy-client
	Admin            *keyPair // CN kubernetes-admin, O system:masters
	ControllerMgr    *keyPair // CN system:kube-controller-manager (bootstrap RBAC)
	Scheduler        *keyPair // CN system:kube-scheduler (bootstrap RBAC)
	Kwok             *keyPair // CN mizzen:kwok, bound to cluster-admin by Start
	CertManager      *keyPair // CN mizzen:cert-manager, bound to cluster-admin by Start
	ControllerMgrTLS *keyPair // serving certificate of kube-controller-manager's /healthz
	SchedulerTLS     *keyPair // serving certificate of kube-scheduler's /healthz

	SAKeyFile    string // service-account signing key (ECDSA P-256, PKCS#8)
	SAPubKeyFile string // its public key (PKIX)
}

const (
	frontProxyClientName = "front-proxy-client"
	adminUser            = "kubernetes-admin"
	kwokUser             = "mizzen:kwok"
	certManagerUser      = "mizzen:cert-manager"
)

// newPKI generates the cluster's CA, certificates and service-account keys into dir.
// serviceIP is the first address of the service range (the kubernetes Service's ClusterIP).
func newPKI(dir string, serviceIP net.IP) (*pki, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	p := &pki{dir: dir}
	var err error
	if p.CA, err = newCA(dir, "ca", "mizzen-local-ca"); err != nil {
		return nil, err
	}
	if p.FrontProxy, err = newCA(dir, "front-proxy-ca", "mizzen-local-front-proxy-ca"); err != nil {
		return nil, err
	}
	loopback := []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	issue := []struct {
		into **keyPair
		ca   *keyPair
		name string
		spec certSpec
	}{
		{&p.APIServer, p.CA, "apiserver", certSpec{
			commonName: "kube-apiserver",
			dnsNames: []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
				"kubernetes.default.svc.cluster.local"},
			ips:    append([]net.IP{serviceIP}, loopback...),
			server: true,
		}},
		{&p.FrontProxyClnt, p.FrontProxy, "front-proxy-client", certSpec{commonName: frontProxyClientName, client: true}},
		{&p.Admin, p.CA, "admin", certSpec{commonName: adminUser, organization: []string{"system:masters"}, client: true}},
		{&p.ControllerMgr, p.CA, "kube-controller-manager", certSpec{commonName: "system:kube-controller-manager", client: true}},
		{&p.Scheduler, p.CA, "kube-scheduler", certSpec{commonName: "system:kube-scheduler", client: true}},
		{&p.Kwok, p.CA, "kwok", certSpec{commonName: kwokUser, client: true}},
		{&p.CertManager, p.CA, "cert-manager", certSpec{commonName: certManagerUser, client: true}},
		{&p.ControllerMgrTLS, p.CA, "kube-controller-manager-serving", certSpec{
			commonName: "kube-controller-manager", dnsNames: []string{"localhost"}, ips: loopback, server: true}},
		{&p.SchedulerTLS, p.CA, "kube-scheduler-serving", certSpec{
			commonName: "kube-scheduler", dnsNames: []string{"localhost"}, ips: loopback, server: true}},
	}
	for _, c := range issue {
		kp, err := newCert(dir, c.name, c.ca, c.spec)
		if err != nil {
			return nil, err
		}
		*c.into = kp
	}

	saKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating the service-account signing key: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(saKey)
	if err != nil {
		return nil, fmt.Errorf("encoding the service-account signing key: %w", err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(saKey.Public())
	if err != nil {
		return nil, fmt.Errorf("encoding the service-account public key: %w", err)
	}
	p.SAKeyFile = filepath.Join(dir, "sa.key")
	p.SAPubKeyFile = filepath.Join(dir, "sa.pub")
	if err := writePEM(p.SAKeyFile, "PRIVATE KEY", keyDER, 0o600); err != nil {
		return nil, err
	}
	if err := writePEM(p.SAPubKeyFile, "PUBLIC KEY", pubDER, 0o644); err != nil {
		return nil, err
	}
	return p, nil
}

func newCA(dir, name, commonName string) (*keyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating the %s key: %w", name, err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: commonName},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("self-signing the %s certificate: %w", name, err)
	}
	return writeKeyPair(dir, name, der, key)
}

func newCert(dir, name string, ca *keyPair, spec certSpec) (*keyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating the %s key: %w", name, err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: spec.commonName, Organization: spec.organization},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		DNSNames:              spec.dnsNames,
		IPAddresses:           spec.ips,
	}
	if spec.client {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageClientAuth)
	}
	if spec.server {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageServerAuth)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		return nil, fmt.Errorf("signing the %s certificate: %w", name, err)
	}
	return writeKeyPair(dir, name, der, key)
}

func writeKeyPair(dir, name string, der []byte, key *ecdsa.PrivateKey) (*keyPair, error) {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parsing the %s certificate: %w", name, err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encoding the %s key: %w", name, err)
	}
	kp := &keyPair{
		cert:     cert,
		key:      key,
		certPEM:  pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:   pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		CertFile: filepath.Join(dir, name+".crt"),
		KeyFile:  filepath.Join(dir, name+".key"),
	}
	if err := os.WriteFile(kp.CertFile, kp.certPEM, 0o644); err != nil {
		return nil, fmt.Errorf("writing %s: %w", kp.CertFile, err)
	}
	if err := os.WriteFile(kp.KeyFile, kp.keyPEM, 0o600); err != nil {
		return nil, fmt.Errorf("writing %s: %w", kp.KeyFile, err)
	}
	return kp, nil
}

func writePEM(path, typ string, der []byte, mode os.FileMode) error {
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), mode); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	if err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err)) // the runtime's reader does not fail
	}
	return n
}
