package controllers

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	v1 "github.com/mizzen-mesh/mizzen/api/v1alpha1"
	"github.com/mizzen-mesh/mizzen/internal/envoy"
	"github.com/mizzen-mesh/mizzen/internal/mesh"
	"github.com/mizzen-mesh/mizzen/internal/translate"
	"github.com/mizzen-mesh/mizzen/test/testenv"
)

// fakePEM stands for key material: the tests check where it goes, Envoy is not running.
func fakePEM(kind, body string) []byte {
	return []byte("-----BEGIN " + kind + "-----\n" + body + "\n-----END " + kind + "-----\n")
}

// credentialsSecret waits for the pod's credentials Secret to satisfy check and returns it.
func credentialsSecret(pod *corev1.Pod, check func(Gomega, *corev1.Secret)) *corev1.Secret {
	sec := &corev1.Secret{}
	Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: pod.Namespace, Name: envoy.CredentialsSecretName(proxyID(pod))}, sec)).To(Succeed())
		check(g, sec)
	}).Should(Succeed())
	return sec
}

// ruleProblems translates the mesh as the manager sees it, through a snapshot source of its own
// that reads the API server directly (src keeps its memory of deleted Secrets between calls):
// "<field> <reason>: <message>" each.
func ruleProblems(src *snapshotSource) []string {
	src.invalidate()
	snap, _, err := src.get(ctx)
	Expect(err).NotTo(HaveOccurred())
	var out []string
	for _, p := range translate.RuleProblems(snap) {
		out = append(out, p.Field+" "+p.Reason+": "+p.Message)
	}
	return out
}

var _ = Describe("Gateway credentials", Ordered, func() {
	var (
		ns, selector string
		pod          *corev1.Pod
		src          *snapshotSource
	)
	webCert := func(body string) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "web-cert", Namespace: ns}, Type: corev1.SecretTypeTLS,
			Data: map[string][]byte{"tls.crt": fakePEM("CERTIFICATE", body), "tls.key": fakePEM("PRIVATE KEY", body)}}
	}

	BeforeAll(func() {
		ns = meshNamespace("gwcred-", false)
		selector = "gwcred-" + ns
		src = newSnapshotSource(k8sClient, mesh.Settings{})
		src.secrets = k8sClient
		Expect(k8sClient.Create(ctx, webCert("v1"))).To(Succeed())
		Expect(k8sClient.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "mtls-cert", Namespace: ns},
			Data: map[string][]byte{"cert": fakePEM("CERTIFICATE", "m"), "key": fakePEM("PRIVATE KEY", "m"), "cacert": fakePEM("CERTIFICATE", "ca")}})).To(Succeed())
		Expect(k8sClient.Create(ctx, fromYAML(&v1.Gateway{}, ns, `
metadata: {name: secure}
spec:
  selector: {app: `+selector+`}
  servers:
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: [web.example.com]
    tls: {mode: SIMPLE, credentialName: web-cert}
  - port: {number: 443, name: https-mtls, protocol: HTTPS}
    hosts: [mtls.example.com]
    tls: {mode: MUTUAL, credentialName: mtls-cert}
  - port: {number: 443, name: https-absent, protocol: HTTPS}
    hosts: [absent.example.com]
    tls: {mode: SIMPLE, credentialName: absent-cert}`))).To(Succeed())
		pod = runningPod(ns, "gateway", "10.1.0.41", map[string]string{"app": selector})
	})

	It("copies the Secrets into the pod's credentials Secret and keeps key material out of the ConfigMap", func() {
		sec := credentialsSecret(pod, func(g Gomega, s *corev1.Secret) {
			g.Expect(s.Data).To(HaveKeyWithValue("web-cert_tls.key", fakePEM("PRIVATE KEY", "v1")))
		})
		Expect(sec.Data).To(HaveKeyWithValue("web-cert_tls.crt", fakePEM("CERTIFICATE", "v1")))
		Expect(sec.Data).To(HaveKeyWithValue("mtls-cert_tls.key", fakePEM("PRIVATE KEY", "m")))
		Expect(sec.Data).To(HaveKeyWithValue("mtls-cert_ca.crt", fakePEM("CERTIFICATE", "ca")))
		Expect(sec.Data).To(HaveKey("web-cert_sds-cert.yaml"))
		Expect(string(sec.Data["web-cert_sds-cert.yaml"])).To(ContainSubstring(envoy.CredentialsDir + "/web-cert_tls.key"))
		Expect(metav1.IsControlledBy(sec, pod)).To(BeTrue())

		cm := proxyConfig(pod)
		for file, content := range cm.Data {
			Expect(content).NotTo(ContainSubstring("PRIVATE KEY"), file)
		}
		lds := cm.Data[envoy.LDSFile]
		Expect(lds).To(ContainSubstring("path: " + envoy.CredentialsDir + "/web-cert_sds-cert.yaml"))
		Expect(lds).To(ContainSubstring("path: " + envoy.CredentialsDir + "/mtls-cert_sds-ca.yaml"))
		Expect(lds).To(ContainSubstring("web.example.com"))
		Expect(lds).NotTo(ContainSubstring("absent.example.com"))
		Expect(ruleProblems(src)).To(ContainElement(HavePrefix("Gateway " + ns + "/secure spec.servers[2].tls.credentialName SecretNotFound: Secret " + ns + "/absent-cert does not exist")))
	})

	It("copies a rotated certificate without touching the ConfigMaps", func() {
		cm := proxyConfig(pod)
		Expect(k8sClient.Update(ctx, webCert("v2"))).To(Succeed())
		sec := credentialsSecret(pod, func(g Gomega, s *corev1.Secret) {
			g.Expect(s.Data).To(HaveKeyWithValue("web-cert_tls.key", fakePEM("PRIVATE KEY", "v2")))
		})
		Expect(proxyConfig(pod).resourceVersions()).To(Equal(cm.resourceVersions()))
		// The pod carries the copy's hash: the update makes the kubelet resync the volume now.
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(pod), pod)).To(Succeed())
			g.Expect(pod.Annotations).To(HaveKeyWithValue(envoy.CredentialsHashAnnotation, sec.Annotations[envoy.CredentialsHashAnnotation]))
		}).Should(Succeed())
	})

	It("keeps the config and the copy when the Secret is deleted, and reports it", func() {
		Expect(ruleProblems(src)).NotTo(ContainElement(ContainSubstring("servers[0]")))
		cm := proxyConfig(pod)
		Expect(k8sClient.Delete(ctx, webCert(""))).To(Succeed())
		// Certificate and CA of one Secret: both copies stay.
		Expect(k8sClient.Delete(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "mtls-cert", Namespace: ns}})).To(Succeed())
		// The reconciler records both deletions in the copy's hash (sources "gone") and keeps
		// their files.
		creds := []envoy.Credential{{Source: "mtls-cert", Kind: envoy.CredentialCA}, {Source: "mtls-cert", Kind: envoy.CredentialCert},
			{Source: "web-cert", Kind: envoy.CredentialCert}}
		gone, err := credentialsHash(creds, func(name string) (*corev1.Secret, error) {
			return nil, apierrors.NewNotFound(corev1.Resource("secrets"), name)
		})
		Expect(err).NotTo(HaveOccurred())
		after := credentialsSecret(pod, func(g Gomega, s *corev1.Secret) {
			g.Expect(s.Annotations).To(HaveKeyWithValue(envoy.CredentialsHashAnnotation, gone))
		})
		Expect(after.Data).To(HaveKeyWithValue("web-cert_tls.key", fakePEM("PRIVATE KEY", "v2")))
		Expect(after.Data).To(HaveKeyWithValue("mtls-cert_tls.key", fakePEM("PRIVATE KEY", "m")))
		Expect(after.Data).To(HaveKeyWithValue("mtls-cert_ca.crt", fakePEM("CERTIFICATE", "ca")))
		Consistently(func() []string { return proxyConfig(pod).resourceVersions() }, 2*time.Second).Should(Equal(cm.resourceVersions()))
		// src saw the Secret before: translate keeps the server (the same config) and reports it.
		Expect(ruleProblems(src)).To(ContainElement(HavePrefix("Gateway " + ns + "/secure spec.servers[0].tls.credentialName SecretNotFound: Secret " + ns + "/web-cert was deleted")))
		// A manager that never saw it (a restart) skips the server instead.
		fresh := newSnapshotSource(k8sClient, mesh.Settings{})
		fresh.secrets = k8sClient
		Expect(ruleProblems(fresh)).To(ContainElement(HavePrefix("Gateway " + ns + "/secure spec.servers[0].tls.credentialName SecretNotFound: Secret " + ns + "/web-cert does not exist")))
	})
})

// Istio's bookinfo and httpbin gateway samples, with the apiVersion rewritten: the gateway pod
// routes their paths to the right clusters.
var _ = Describe("Istio's gateway samples", func() {
	It("route /productpage and httpbin through the ingress gateway pod", func() {
		compat := testenv.CompatDir()
		if compat == "" {
			Skip("Istio's samples (../shared/compat/istio) are not beside the checkout")
		}
		ns := meshNamespace("gwsamples-", false)
		selector := "ingress-" + ns
		for _, f := range []string{"bookinfo/networking/bookinfo-gateway.yaml", "httpbin/httpbin-gateway.yaml"} {
			data, err := os.ReadFile(filepath.Join(compat, "samples", f))
			Expect(err).NotTo(HaveOccurred())
			text := strings.ReplaceAll(string(data), "networking.istio.io/v1", v1.GroupVersion.String())
			// Their pods' label, made unique so that no other spec's pod is selected.
			text = regexp.MustCompile(`istio: ingressgateway\b`).ReplaceAllString(text, "istio: "+selector)
			for _, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(text, -1) {
				var head metav1.TypeMeta
				Expect(yaml.Unmarshal([]byte(doc), &head)).To(Succeed())
				var obj client.Object
				switch head.Kind {
				case "Gateway":
					obj = &v1.Gateway{}
				case "VirtualService":
					obj = &v1.VirtualService{}
				default:
					continue
				}
				Expect(yaml.UnmarshalStrict([]byte(doc), obj)).To(Succeed())
				obj.SetNamespace(ns)
				Expect(k8sClient.Create(ctx, obj)).To(Succeed())
			}
		}
		for name, port := range map[string]int32{"productpage": 9080, "httpbin": 8000} {
			Expect(k8sClient.Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
				Spec: corev1.ServiceSpec{Selector: map[string]string{"app": name}, Ports: []corev1.ServicePort{{Name: "http", Port: port}}}})).To(Succeed())
		}
		pod := runningPod(ns, "ingress", "10.1.0.42", map[string]string{"istio": selector})
		productpage := translate.OutboundClusterName(9080, "", "productpage."+ns+".svc.cluster.local")
		httpbin := translate.OutboundClusterName(8000, "", "httpbin."+ns+".svc.cluster.local")
		Eventually(func(g Gomega) {
			cm := proxyConfig(pod)
			lds := cm.Data[envoy.LDSFile]
			g.Expect(lds).To(ContainSubstring("name: 0.0.0.0_8080"))
			g.Expect(lds).To(ContainSubstring("name: 0.0.0.0_80\n"))
			g.Expect(lds).To(MatchRegexp(`path: /productpage\n(.*\n){1,12}?\s+cluster: ` + regexp.QuoteMeta(productpage)))
			g.Expect(lds).To(MatchRegexp(`prefix: /api/v1/products\n(.*\n){1,12}?\s+cluster: ` + regexp.QuoteMeta(productpage)))
			g.Expect(lds).To(ContainSubstring("cluster: " + httpbin))
			g.Expect(cm.Data[envoy.CDSFile]).To(ContainSubstring("name: " + productpage))
			g.Expect(cm.Data[envoy.CDSFile]).To(ContainSubstring("name: " + httpbin))
		}).Should(Succeed())
		// No credentials: no credentials Secret.
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: envoy.CredentialsSecretName(proxyID(pod))}, &corev1.Secret{})).NotTo(Succeed())
	})
})
