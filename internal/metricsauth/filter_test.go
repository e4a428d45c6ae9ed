package metricsauth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/mizzen-mesh/mizzen/test/testenv"
)

func TestMetricsAuth(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Metrics authentication and authorization")
}

var (
	ctx       context.Context
	cfg       *rest.Config
	clientset *kubernetes.Clientset
)

// A real API server: its TokenReview and SubjectAccessReview (RBAC) answer the filter.
var _ = BeforeSuite(func() {
	var cancel context.CancelFunc
	ctx, cancel = context.WithCancel(context.Background())
	DeferCleanup(cancel)
	env, c, err := testenv.Start(testenv.Options{})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() { Expect(env.Stop()).To(Succeed()) })
	cfg = c
	clientset, err = kubernetes.NewForConfig(cfg)
	Expect(err).NotTo(HaveOccurred())
})

// serviceAccountToken creates a ServiceAccount in ns and returns a token for it.
func serviceAccountToken(ns, name string) string {
	_, err := clientset.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	Expect(err).NotTo(HaveOccurred())
	tr, err := clientset.CoreV1().ServiceAccounts(ns).CreateToken(ctx, name, &authnv1.TokenRequest{}, metav1.CreateOptions{})
	Expect(err).NotTo(HaveOccurred())
	return tr.Status.Token
}

func scrape(h http.Handler, method, path, token string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

var _ = Describe("The metrics filter", Ordered, func() {
	var (
		handler             http.Handler
		reader, stranger    string
		ns                  = "metrics-auth"
		served              atomic.Int32
		metricsReaderRole   = "mizzen-test-metrics-reader"
		metricsReaderSAName = "prometheus"
	)

	BeforeAll(func() {
		_, err := clientset.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
		Expect(err).NotTo(HaveOccurred())
		reader = serviceAccountToken(ns, metricsReaderSAName)
		stranger = serviceAccountToken(ns, "stranger")
		_, err = clientset.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: metricsReaderRole},
			Rules: []rbacv1.PolicyRule{{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}}}}, metav1.CreateOptions{})
		Expect(err).NotTo(HaveOccurred())
		_, err = clientset.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: metricsReaderRole},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: metricsReaderRole},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: metricsReaderSAName}}}, metav1.CreateOptions{})
		Expect(err).NotTo(HaveOccurred())

		httpClient, err := rest.HTTPClientFor(cfg)
		Expect(err).NotTo(HaveOccurred())
		filter, err := New(cfg, httpClient)
		Expect(err).NotTo(HaveOccurred())
		handler, err = filter(logr.Discard(), http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			served.Add(1)
			_, _ = w.Write([]byte("metrics"))
		}))
		Expect(err).NotTo(HaveOccurred())
	})

	It("serves a scraper that RBAC lets get /metrics", func() {
		Eventually(func(g Gomega) {
			rec := scrape(handler, http.MethodGet, "/metrics", reader)
			g.Expect(rec.Code).To(Equal(http.StatusOK), rec.Body.String())
			g.Expect(rec.Body.String()).To(Equal("metrics"))
		}).Should(Succeed())
	})

	It("refuses a request without a token, or with a token the API server does not know, as unauthenticated", func() {
		before := served.Load()
		Expect(scrape(handler, http.MethodGet, "/metrics", "").Code).To(Equal(http.StatusUnauthorized))
		Expect(scrape(handler, http.MethodGet, "/metrics", "not-a-token").Code).To(Equal(http.StatusUnauthorized))
		Expect(served.Load()).To(Equal(before))
	})

	It("forbids a known account RBAC does not grant, another verb and another path", func() {
		before := served.Load()
		rec := scrape(handler, http.MethodGet, "/metrics", stranger)
		Expect(rec.Code).To(Equal(http.StatusForbidden))
		Expect(rec.Body.String()).To(ContainSubstring("system:serviceaccount:" + ns + ":stranger"))
		Expect(scrape(handler, http.MethodPost, "/metrics", reader).Code).To(Equal(http.StatusForbidden))
		Expect(scrape(handler, http.MethodGet, "/debug/pprof/heap", reader).Code).To(Equal(http.StatusForbidden))
		Expect(served.Load()).To(Equal(before))
	})

	It("asks the API server once per token and decision until the answers expire", func() {
		httpClient, err := rest.HTTPClientFor(cfg)
		Expect(err).NotTo(HaveOccurred())
		filter, err := New(cfg, httpClient)
		Expect(err).NotTo(HaveOccurred())
		now := time.Now()
		var tokenReviews, accessReviews atomic.Int32
		h, err := filter(logr.Discard(), http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		Expect(err).NotTo(HaveOccurred())
		// The guard behind the handler, with its reviews counted and its clock set by the test.
		g := guardOf(h)
		g.now = func() time.Time { return now }
		g.tokens = counting[*authnv1.TokenReview]{g.tokens, &tokenReviews}
		g.access = counting[*authzv1.SubjectAccessReview]{g.access, &accessReviews}

		for range 3 {
			Expect(scrape(h, http.MethodGet, "/metrics", reader).Code).To(Equal(http.StatusOK))
		}
		Expect(tokenReviews.Load()).To(BeEquivalentTo(1))
		Expect(accessReviews.Load()).To(BeEquivalentTo(1))

		now = now.Add(tokenTTL + time.Second)
		Expect(scrape(h, http.MethodGet, "/metrics", reader).Code).To(Equal(http.StatusOK))
		Expect(tokenReviews.Load()).To(BeEquivalentTo(2), "the token is reviewed again after its minute")
		Expect(accessReviews.Load()).To(BeEquivalentTo(1), "an allowed decision lasts five minutes")

		Expect(scrape(h, http.MethodGet, "/metrics", stranger).Code).To(Equal(http.StatusForbidden))
		now = now.Add(denyTTL + time.Second)
		Expect(scrape(h, http.MethodGet, "/metrics", stranger).Code).To(Equal(http.StatusForbidden))
		Expect(accessReviews.Load()).To(BeEquivalentTo(3), "a denial is asked again after 30 s")
	})
})

// guardOf returns the guard a filter's handler serves through.
func guardOf(h http.Handler) *guard {
	gh, ok := h.(*guardedHandler)
	Expect(ok).To(BeTrue(), "the filter's handler is a *guardedHandler")
	return gh.guard
}

// counting counts the reviews it passes on to the API server.
type counting[R any] struct {
	reviewer[R]
	n *atomic.Int32
}

func (c counting[R]) Create(ctx context.Context, r R, o metav1.CreateOptions) (R, error) {
	c.n.Add(1)
	return c.reviewer.Create(ctx, r, o)
}
