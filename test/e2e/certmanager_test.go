package e2e

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/mizzen-mesh/mizzen/test/cluster"
)

var (
	clusterIssuers = schema.GroupVersionResource{Group: "cert-manager.io", Version: "v1", Resource: "clusterissuers"}
	certificates   = schema.GroupVersionResource{Group: "cert-manager.io", Version: "v1", Resource: "certificates"}
)

// The CA chain DESIGN.md bootstraps for the mesh (self-signed root → CA Certificate → CA
// ClusterIssuer), issuing a workload certificate with a SPIFFE URI SAN.
var _ = Describe("cert-manager on the local cluster", func() {
	const spiffeID = "spiffe://cluster.local/ns/default/sa/default"

	BeforeEach(func() {
		if !withCertManager {
			Skip("cert-manager-controller is not in the assets dir (hack/tools/cert-manager builds it); " +
				"the cluster runs without cert-manager")
		}
	})

	It("issues a CA-signed certificate with a SPIFFE URI SAN", func(ctx SpecContext) {
		start := time.Now()
		createCertManagerObjects(ctx, append(meshCAChain("e2e"), `
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: e2e-workload, namespace: default}
spec:
  secretName: e2e-workload
  uris: ["`+spiffeID+`"]
  duration: 1h
  renewBefore: 20m
  privateKey: {algorithm: ECDSA, size: 256}
  issuerRef: {group: cert-manager.io, kind: ClusterIssuer, name: e2e-ca}`)...)

		Eventually(readyStatus).WithContext(ctx).WithArguments(clusterIssuers, "", "e2e-ca").Should(Equal("True"))
		Eventually(readyStatus).WithContext(ctx).WithArguments(certificates, "default", "e2e-workload").Should(Equal("True"))
		AddReportEntry("CA chain and SPIFFE certificate Ready", time.Since(start).Round(time.Millisecond).String())

		secret, err := k8s.CoreV1().Secrets("default").Get(ctx, "e2e-workload", metav1.GetOptions{})
		Expect(err).NotTo(HaveOccurred())
		leaf := parseCert(secret.Data["tls.crt"])
		Expect(leaf.URIs).To(HaveLen(1))
		Expect(leaf.URIs[0].String()).To(Equal(spiffeID))

		roots := x509.NewCertPool()
		roots.AddCert(parseCert(secret.Data["ca.crt"]))
		_, err = leaf.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
		Expect(err).NotTo(HaveOccurred(), "tls.crt chains to the CA in ca.crt")
		Expect(leaf.Issuer.CommonName).To(Equal("e2e-root-ca"))
	})
})

// meshCAChain returns the manifests of the mesh CA chain as config/certmanager bootstraps it —
// a self-signed ClusterIssuer, a CA Certificate in cert-manager's cluster resource namespace, a
// CA ClusterIssuer — under names starting with prefix; the CA issuer is prefix-ca.
func meshCAChain(prefix string) []string {
	return []string{`
apiVersion: cert-manager.io/v1
kind: ClusterIssuer
metadata: {name: ` + prefix + `-selfsigned}
spec: {selfSigned: {}}`, `
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: ` + prefix + `-root-ca, namespace: ` + cluster.CertManagerNamespace + `}
spec:
  isCA: true
  commonName: ` + prefix + `-root-ca
  secretName: ` + prefix + `-root-ca
  duration: 24h
  privateKey: {algorithm: ECDSA, size: 256}
  issuerRef: {group: cert-manager.io, kind: ClusterIssuer, name: ` + prefix + `-selfsigned}`, `
apiVersion: cert-manager.io/v1
kind: ClusterIssuer
metadata: {name: ` + prefix + `-ca}
spec: {ca: {secretName: ` + prefix + `-root-ca}}`}
}

// createCertManagerObjects creates cert-manager ClusterIssuers and Certificates from manifests.
func createCertManagerObjects(ctx context.Context, docs ...string) {
	for _, doc := range docs {
		obj := &unstructured.Unstructured{}
		Expect(yaml.Unmarshal([]byte(doc), &obj.Object)).To(Succeed())
		gvr := certificates
		if obj.GetKind() == "ClusterIssuer" {
			gvr = clusterIssuers
		}
		_, err := dyn.Resource(gvr).Namespace(obj.GetNamespace()).Create(ctx, obj, metav1.CreateOptions{})
		Expect(err).NotTo(HaveOccurred(), "creating %s %s", obj.GetKind(), obj.GetName())
	}
}

// readyStatus is "True" when an object's Ready condition is True, else its status and message (so
// a failing Eventually shows why).
func readyStatus(ctx SpecContext, gvr schema.GroupVersionResource, namespace, name string) (string, error) {
	obj, err := dyn.Resource(gvr).Namespace(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	conditions, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, c := range conditions {
		if m, ok := c.(map[string]any); ok && m["type"] == "Ready" {
			if m["status"] == "True" {
				return "True", nil
			}
			return fmt.Sprintf("%v: %v", m["status"], m["message"]), nil
		}
	}
	return "no Ready condition", nil
}

func parseCert(data []byte) *x509.Certificate {
	GinkgoHelper()
	block, _ := pem.Decode(data)
	Expect(block).NotTo(BeNil(), "PEM certificate")
	cert, err := x509.ParseCertificate(block.Bytes)
	Expect(err).NotTo(HaveOccurred())
	return cert
}
