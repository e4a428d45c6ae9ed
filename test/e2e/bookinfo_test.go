package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	networkingv1alpha1 "github.com/mizzen-mesh/mizzen/api/v1alpha1"
	"github.com/mizzen-mesh/mizzen/internal/envoy"
	"github.com/mizzen-mesh/mizzen/internal/mesh"
	"github.com/mizzen-mesh/mizzen/test/manager"
	"github.com/mizzen-mesh/mizzen/test/testenv"
)

// The manager binary, with leader election, runs the bookinfo sample of config/samples on the
// local cluster: users' `kubectl wait --for=condition=Ready vs/reviews` tells when a canary
// weight change has reached every proxy, also across a manager crash.
var _ = Describe("The bookinfo sample under the manager binary", Ordered, func() {
	const ns = "bookinfo"
	// The sample's pods but its ingress gateway's: a gateway proxy routes only by the
	// VirtualServices bound to its Gateway, so the reviews canary is not on it.
	sidecars := metav1.ListOptions{LabelSelector: "istio!=ingressgateway"}
	var (
		binary, logPath string
		mgr             *manager.Process
		args            []string
	)

	// kubectl runs the real kubectl against the local cluster and returns its output.
	kubectl := func(ctx SpecContext, a ...string) string {
		assets, err := testenv.AssetsDir()
		Expect(err).NotTo(HaveOccurred())
		cmd := exec.CommandContext(ctx, filepath.Join(assets, "kubectl"), append([]string{"--kubeconfig", testCluster.Kubeconfig()}, a...)...)
		out, err := cmd.CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), "kubectl %s:\n%s", strings.Join(a, " "), out)
		return string(out)
	}
	reviews := func(ctx SpecContext) *networkingv1alpha1.VirtualService {
		vs := &networkingv1alpha1.VirtualService{}
		Expect(json.Unmarshal([]byte(kubectl(ctx, "-n", ns, "get", "vs", "reviews", "-o", "json")), vs)).To(Succeed())
		return vs
	}
	start := func(ctx SpecContext) {
		var err error
		mgr, err = manager.Start(ctx, manager.Options{Binary: binary, Kubeconfig: testCluster.Kubeconfig(), LogPath: logPath, Args: args})
		Expect(err).NotTo(HaveOccurred())
	}

	BeforeAll(func(ctx SpecContext) {
		var err error
		binary, err = manager.Build(ctx, testenv.RepoRoot(), stateDir)
		Expect(err).NotTo(HaveOccurred())
		logPath = filepath.Join(stateDir, "manager-bookinfo.log")
		_, err = envtest.InstallCRDs(testCluster.RESTConfig(), envtest.CRDInstallOptions{
			Paths: []string{filepath.Join(testenv.RepoRoot(), "config", "crd", "bases")}, ErrorIfPathMissing: true,
		})
		Expect(err).NotTo(HaveOccurred())
		args = []string{"--leader-elect", "--leader-election-namespace=kube-system"}
		if withCertManager {
			createCertManagerObjects(ctx, meshCAChain("bookinfo-e2e")...)
			args = append(args, "--proxy-issuer-name=bookinfo-e2e-ca")
		}
		start(ctx)
		DeferCleanup(func() error { return mgr.Stop() })
		DeferCleanup(func() {
			if CurrentSpecReport().Failed() {
				b, _ := os.ReadFile(logPath)
				AddReportEntry("manager log (tail)", tail(string(b), 40))
			}
		})
		kubectl(ctx, "apply", "-k", filepath.Join(testenv.RepoRoot(), "config", "samples"))
	}, NodeTimeout(5*time.Minute))

	It("reports vs/reviews Ready through kubectl wait, with its 90/10 weights on every proxy", func(ctx SpecContext) {
		kubectl(ctx, "-n", ns, "wait", "--for=condition=Available", "--timeout=3m", "deployment", "--all")
		out := kubectl(ctx, "-n", ns, "wait", "--for=condition=Ready", "--timeout=3m", "vs/reviews")
		Expect(out).To(ContainSubstring("condition met"))
		vs := reviews(ctx)
		Expect(vs.Status.ObservedGeneration).To(Equal(vs.Generation))
		Expect(vs.Status.Canary).NotTo(BeNil())
		Expect(vs.Status.Canary.WeightsSummary).To(Equal("reviews:v1=90 reviews:v2=10"))
		// Every sidecar of the namespace routes to reviews: each is counted and carries it.
		pods, err := k8s.CoreV1().Pods(ns).List(ctx, sidecars)
		Expect(err).NotTo(HaveOccurred())
		Expect(vs.Status.Canary.Proxies.Total).To(BeNumerically(">=", len(pods.Items)))
		Expect(vs.Status.Canary.Proxies.Updated).To(Equal(vs.Status.Canary.Proxies.Total))
		// And the printer columns say so.
		Expect(kubectl(ctx, "-n", ns, "get", "vs", "reviews")).To(MatchRegexp(`reviews:v1=90 reviews:v2=10\s+(\d+)/(\d+)\s+True`))
		// The ingress gateway pod, not injected here (no webhook), gets its config from the
		// reconciler all the same: the Gateway selecting it is programmed on it.
		kubectl(ctx, "-n", ns, "wait", "--for=condition=Ready", "--timeout=2m", "gw/bookinfo-gateway")
		Expect(kubectl(ctx, "-n", ns, "get", "gw", "bookinfo-gateway")).To(MatchRegexp(`HTTP/8080\s+1/1\s+True`))
	}, NodeTimeout(7*time.Minute))

	It("converges on a 50/50 split after the manager is killed mid-rollout", func(ctx SpecContext) {
		before := reviews(ctx)
		kubectl(ctx, "-n", ns, "patch", "vs", "reviews", "--type=json", "-p",
			`[{"op":"replace","path":"/spec/http/0/route/0/weight","value":50},{"op":"replace","path":"/spec/http/0/route/1/weight","value":50}]`)
		// A crash: no lease release, whatever was in flight is lost.
		Expect(mgr.Kill()).To(Succeed())
		start(ctx)

		out := kubectl(ctx, "-n", ns, "wait", "--for=condition=Ready", "--timeout=3m", "vs/reviews")
		Expect(out).To(ContainSubstring("condition met"))
		vs := reviews(ctx)
		Expect(vs.Generation).To(Equal(before.Generation + 1))
		Expect(vs.Status.Canary.WeightsSummary).To(Equal("reviews:v1=50 reviews:v2=50"))
		Expect(vs.Status.Canary.Proxies.Updated).To(Equal(vs.Status.Canary.Proxies.Total))

		// What Ready claims, the ConfigMaps show: every sidecar's config has the 50/50 routes, and
		// the hash stamped on each pod is its ConfigMaps'.
		pods, err := k8s.CoreV1().Pods(ns).List(ctx, sidecars)
		Expect(err).NotTo(HaveOccurred())
		for _, p := range pods.Items {
			files, err := proxyFiles(ctx, &p)
			Expect(err).NotTo(HaveOccurred())
			Expect(files[envoy.LDSFile]).To(MatchRegexp(`outbound\|9080\|v1\|reviews\.bookinfo\.svc\.cluster\.local\s+weight: 50`), "pod %s", p.Name)
			Expect(files[envoy.LDSFile]).To(MatchRegexp(`outbound\|9080\|v2\|reviews\.bookinfo\.svc\.cluster\.local\s+weight: 50`), "pod %s", p.Name)
		}
	}, NodeTimeout(5*time.Minute))

	It("leaves no ConfigMap, Certificate or Secret behind when a pod is deleted", func(ctx SpecContext) {
		if !withCertManager {
			Skip("cert-manager-controller is not in the assets dir")
		}
		pods, err := k8s.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=ratings"})
		Expect(err).NotTo(HaveOccurred())
		Expect(pods.Items).NotTo(BeEmpty())
		pod := pods.Items[0]
		name := envoy.ConfigMapName(pod.Annotations[mesh.ProxyIDAnnotation])
		Eventually(func() error {
			_, err := k8s.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
			return err
		}).WithContext(ctx).Should(Succeed(), "the pod's Secret is issued first")

		Expect(k8s.CoreV1().Pods(ns).Delete(ctx, pod.Name, metav1.DeleteOptions{GracePeriodSeconds: new(int64)})).To(Succeed())
		Eventually(func(g Gomega) {
			for _, cm := range envoy.ConfigMapNames(pod.Annotations[mesh.ProxyIDAnnotation]) {
				_, err := k8s.CoreV1().ConfigMaps(ns).Get(ctx, cm, metav1.GetOptions{})
				g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "ConfigMap %s: %v", cm, err)
			}
			_, err := dyn.Resource(certificates).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
			g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "Certificate %s: %v", name, err)
			_, err = k8s.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
			g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "Secret %s: %v", name, err)
		}).WithContext(ctx).WithTimeout(2 * time.Minute).Should(Succeed())
		// The ReplicaSet's replacement gets its own config.
		Eventually(func(g Gomega) {
			list, err := k8s.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=ratings"})
			g.Expect(err).NotTo(HaveOccurred())
			configured := 0
			for _, p := range list.Items {
				if p.Status.Phase == corev1.PodRunning && p.Annotations[envoy.HashAnnotation] != "" {
					configured++
				}
			}
			g.Expect(configured).To(Equal(len(pods.Items)))
		}).WithContext(ctx).Should(Succeed())
	}, NodeTimeout(4*time.Minute))
})

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
