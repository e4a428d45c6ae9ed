package compat

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	v1alpha1 "github.com/mizzen-mesh/mizzen/api/v1alpha1"
	"github.com/mizzen-mesh/mizzen/test/testenv"
)

// kubectl against the test apiserver shows the printer columns of the three kinds.
var _ = Describe("Printer columns", Label("kubectl"), func() {
	const ns = "printers"
	var kubectl, kubeconfig string

	BeforeEach(func() {
		assets, err := testenv.AssetsDir()
		Expect(err).NotTo(HaveOccurred())
		kubectl = filepath.Join(assets, "kubectl")
		if _, err := os.Stat(kubectl); err != nil {
			Skip("no kubectl in " + assets + ": " + err.Error())
		}
		user, err := env.AddUser(envtest.User{Name: "printer-test", Groups: []string{"system:masters"}}, nil)
		Expect(err).NotTo(HaveOccurred())
		raw, err := user.KubeConfig()
		Expect(err).NotTo(HaveOccurred())
		kubeconfig = filepath.Join(GinkgoT().TempDir(), "kubeconfig")
		Expect(os.WriteFile(kubeconfig, raw, 0o600)).To(Succeed())
		createNamespace(ns)
	})

	get := func(args ...string) string {
		GinkgoHelper()
		cmd := exec.CommandContext(ctx, kubectl, append([]string{"--kubeconfig", kubeconfig}, args...)...)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		Expect(cmd.Run()).To(Succeed(), "kubectl %v: %s", args, errOut.String())
		GinkgoWriter.Printf("$ kubectl %s\n%s\n", strings.Join(args, " "), out.String())
		return out.String()
	}

	It("shows hosts, gateways, weights, rollout and readiness", func() {
		vsObj := newObject(vs, ns, "reviews", parseSpec(`
hosts: [reviews]
gateways: [printers/public]
http:
- route:
  - {destination: {host: reviews, subset: v1}, weight: 90}
  - {destination: {host: reviews, subset: v2}, weight: 10}
`))
		Expect(k8sClient.Create(ctx, vsObj)).To(Succeed())
		// Status as the controller will write it.
		Expect(unstructured.SetNestedField(vsObj.Object, map[string]any{
			"observedGeneration": int64(1),
			"conditions": []any{map[string]any{
				"type": "Ready", "status": "True", "reason": "Ready", "message": "12/12 proxies updated",
				"observedGeneration": int64(1), "lastTransitionTime": metav1.Now().UTC().Format("2006-01-02T15:04:05Z"),
			}},
			"canary": map[string]any{
				"weights":        map[string]any{"reviews:v1": int64(90), "reviews:v2": int64(10)},
				"weightsSummary": "reviews:v1=90 reviews:v2=10",
				"proxies":        map[string]any{"total": int64(12), "updated": int64(7)},
				"updatedSummary": "7/12",
			},
		}, "status")).To(Succeed())
		Expect(k8sClient.Status().Update(ctx, vsObj)).To(Succeed())

		drObj := newObject(dr, ns, "reviews", parseSpec(`
host: reviews
subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]
`))
		Expect(k8sClient.Create(ctx, drObj)).To(Succeed())
		var drSpec v1alpha1.DestinationRuleSpec
		Expect(runtime.DefaultUnstructuredConverter.FromUnstructured(drObj.Object["spec"].(map[string]any), &drSpec)).To(Succeed())
		Expect(unstructured.SetNestedField(drObj.Object, drSpec.SubsetsSummary(), "status", "subsetsSummary")).To(Succeed())
		Expect(unstructured.SetNestedField(drObj.Object, "12/12", "status", "updatedSummary")).To(Succeed())
		Expect(k8sClient.Status().Update(ctx, drObj)).To(Succeed())
		gwObj := newObject(gw, ns, "public", parseSpec(`
selector: {istio: ingressgateway}
servers:
- {port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}
- {port: {number: 443, name: https, protocol: HTTPS}, hosts: ["*"], tls: {mode: SIMPLE, credentialName: cert}}
`))
		Expect(k8sClient.Create(ctx, gwObj)).To(Succeed())
		var gwSpec v1alpha1.GatewaySpec
		Expect(runtime.DefaultUnstructuredConverter.FromUnstructured(gwObj.Object["spec"].(map[string]any), &gwSpec)).To(Succeed())
		Expect(unstructured.SetNestedField(gwObj.Object, gwSpec.ServersSummary(), "status", "serversSummary")).To(Succeed())
		Expect(unstructured.SetNestedField(gwObj.Object, "1/2", "status", "updatedSummary")).To(Succeed())
		Expect(k8sClient.Status().Update(ctx, gwObj)).To(Succeed())

		out := get("get", "vs,dr,gw", "-n", ns)
		lines := strings.Split(out, "\n")
		header := func(prefix string) []string {
			for _, l := range lines {
				if strings.HasPrefix(l, "NAME") && strings.Contains(l, prefix) {
					return strings.Fields(l)
				}
			}
			Fail("no header with " + prefix + " in:\n" + out)
			return nil
		}
		Expect(header("HOSTS")).To(Equal([]string{"NAME", "HOSTS", "GATEWAYS", "WEIGHTS", "UPDATED", "READY", "AGE"}))
		Expect(header("SUBSETS")).To(Equal([]string{"NAME", "HOST", "SUBSETS", "UPDATED", "READY", "AGE"}))
		Expect(header("SERVERS")).To(Equal([]string{"NAME", "SERVERS", "PROGRAMMED", "READY", "AGE"}))

		Expect(out).To(MatchRegexp(`virtualservice\.networking\.mizzen\.dev/reviews\s+\["reviews"\]\s+\["printers/public"\]\s+reviews:v1=90 reviews:v2=10\s+7/12\s+True\s+\S+`))
		Expect(out).To(MatchRegexp(`destinationrule\.networking\.mizzen\.dev/reviews\s+reviews\s+v1,v2\s+12/12\s+\S+`))
		Expect(out).To(MatchRegexp(`gateway\.networking\.mizzen\.dev/public\s+HTTP/80,HTTPS/443\s+1/2\s+\S+`))

		// The short names and the category work too.
		Expect(get("get", "mizzen", "-n", ns, "-o", "name")).To(And(
			ContainSubstring("virtualservice.networking.mizzen.dev/reviews"),
			ContainSubstring("destinationrule.networking.mizzen.dev/reviews"),
			ContainSubstring("gateway.networking.mizzen.dev/public"),
		))
	})
})
