// Package metricsauth guards the manager's metrics endpoint the way the API server guards its
// own: the scraper's bearer token is checked with a TokenReview and its access to the path with a
// SubjectAccessReview (a non-resource URL, verb from the HTTP method), so RBAC decides who may
// scrape (config/rbac/metrics_reader_role.yaml grants GET /metrics).
//
// It does what controller-runtime's filters.WithAuthenticationAndAuthorization does without
// linking k8s.io/apiserver's authentication and authorization stacks (and CEL with them): 13 MB of
// the manager's 95 MB binary, most of which the process touches at start.
package metricsauth

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	authnclient "k8s.io/client-go/kubernetes/typed/authentication/v1"
	authzclient "k8s.io/client-go/kubernetes/typed/authorization/v1"
	"k8s.io/client-go/rest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// How long answers are reused: a scraper every 15–30 s then costs the API server a review a
// minute, not one per scrape. A denial is kept shorter so a new RoleBinding takes effect soon.
const (
	tokenTTL   = time.Minute
	allowTTL   = 5 * time.Minute
	denyTTL    = 30 * time.Second
	reviewWait = 10 * time.Second
)

// New is a metricsserver.Options.FilterProvider.
func New(cfg *rest.Config, httpClient *http.Client) (metricsserver.Filter, error) {
	authn, err := authnclient.NewForConfigAndClient(cfg, httpClient)
	if err != nil {
		return nil, fmt.Errorf("metrics authentication client: %w", err)
	}
	authz, err := authzclient.NewForConfigAndClient(cfg, httpClient)
	if err != nil {
		return nil, fmt.Errorf("metrics authorization client: %w", err)
	}
	g := &guard{tokens: authn.TokenReviews(), access: authz.SubjectAccessReviews(), now: time.Now}
	return func(log logr.Logger, next http.Handler) (http.Handler, error) {
		return &guardedHandler{guard: g, log: log, next: next}, nil
	}, nil
}

// guardedHandler serves next to the requests guard lets through.
type guardedHandler struct {
	guard *guard
	log   logr.Logger
	next  http.Handler
}

func (h *guardedHandler) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	h.guard.serve(h.log, h.next, w, req)
}

// reviewer creates one kind of review: TokenReviews or SubjectAccessReviews.
type reviewer[R any] interface {
	Create(context.Context, R, metav1.CreateOptions) (R, error)
}

// guard authenticates and authorizes requests, remembering the API server's answers for a while.
type guard struct {
	tokens reviewer[*authnv1.TokenReview]
	access reviewer[*authzv1.SubjectAccessReview]
	now    func() time.Time

	// users: by the token's SHA-256 (the token itself is not kept), nil for a rejected token.
	users     answers[[sha256.Size]byte, *authnv1.UserInfo]
	decisions answers[string, bool] // by user, verb and path
}

func (g *guard) serve(log logr.Logger, next http.Handler, w http.ResponseWriter, req *http.Request) {
	token, ok := bearerToken(req)
	if !ok {
		http.Error(w, "Unauthorized", http.StatusUnauthorized)
		return
	}
	user, err := g.authenticate(req.Context(), token)
	if err != nil {
		log.Error(err, "metrics: reviewing a scraper's token")
		http.Error(w, "Authentication failed", http.StatusInternalServerError)
		return
	}
	if user == nil {
		http.Error(w, "Unauthorized", http.StatusUnauthorized)
		return
	}
	verb := strings.ToLower(req.Method)
	allowed, err := g.authorize(req.Context(), user, verb, req.URL.Path)
	if err != nil {
		log.Error(err, "metrics: reviewing a scraper's access", "user", user.Username)
		http.Error(w, "Authorization failed for user "+user.Username, http.StatusInternalServerError)
		return
	}
	if !allowed {
		log.V(4).Info("metrics: access denied", "user", user.Username, "verb", verb, "path", req.URL.Path)
		http.Error(w, "Authorization denied for user "+user.Username, http.StatusForbidden)
		return
	}
	next.ServeHTTP(w, req)
}

// bearerToken reads "Authorization: Bearer <token>".
func bearerToken(req *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(req.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	return token, ok && strings.EqualFold(scheme, "bearer") && token != ""
}

// authenticate returns who the token belongs to, nil when the API server rejects it.
func (g *guard) authenticate(ctx context.Context, token string) (*authnv1.UserInfo, error) {
	key := sha256.Sum256([]byte(token))
	now := g.now()
	if user, ok := g.users.get(key, now); ok {
		return user, nil
	}
	ctx, cancel := context.WithTimeout(ctx, reviewWait)
	defer cancel()
	review, err := g.tokens.Create(ctx, &authnv1.TokenReview{Spec: authnv1.TokenReviewSpec{Token: token}}, metav1.CreateOptions{})
	if err != nil {
		return nil, err
	}
	var user *authnv1.UserInfo
	if review.Status.Authenticated {
		user = &review.Status.User
	}
	g.users.put(key, user, now, tokenTTL)
	return user, nil
}

// authorize asks whether user may use verb on the non-resource URL path.
func (g *guard) authorize(ctx context.Context, user *authnv1.UserInfo, verb, path string) (bool, error) {
	key := user.UID + "\x00" + user.Username + "\x00" + verb + "\x00" + path
	now := g.now()
	if allowed, ok := g.decisions.get(key, now); ok {
		return allowed, nil
	}
	extra := make(map[string]authzv1.ExtraValue, len(user.Extra))
	for k, v := range user.Extra {
		extra[k] = authzv1.ExtraValue(v)
	}
	ctx, cancel := context.WithTimeout(ctx, reviewWait)
	defer cancel()
	review, err := g.access.Create(ctx, &authzv1.SubjectAccessReview{Spec: authzv1.SubjectAccessReviewSpec{
		User: user.Username, UID: user.UID, Groups: user.Groups, Extra: extra,
		NonResourceAttributes: &authzv1.NonResourceAttributes{Path: path, Verb: verb},
	}}, metav1.CreateOptions{})
	if err != nil {
		return false, err
	}
	allowed := review.Status.Allowed && !review.Status.Denied
	ttl := denyTTL
	if allowed {
		ttl = allowTTL
	}
	g.decisions.put(key, allowed, now, ttl)
	return allowed, nil
}

// answers remembers the API server's answers until they expire. The zero value is ready.
type answers[K comparable, T any] struct {
	mu sync.Mutex
	m  map[K]answer[T]
}

type answer[T any] struct {
	value   T
	expires time.Time
}

func (a *answers[K, T]) get(k K, now time.Time) (T, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	ans, ok := a.m[k]
	if !ok || !now.Before(ans.expires) {
		var none T
		return none, false
	}
	return ans.value, true
}

// put keeps v for ttl; once many are kept it drops the expired ones, so that tokens seen once do
// not pile up.
func (a *answers[K, T]) put(k K, v T, now time.Time, ttl time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.m == nil {
		a.m = map[K]answer[T]{}
	}
	if len(a.m) >= 64 {
		for key, ans := range a.m {
			if !now.Before(ans.expires) {
				delete(a.m, key)
			}
		}
	}
	a.m[k] = answer[T]{value: v, expires: now.Add(ttl)}
}
