package translate_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mizzen-mesh/mizzen/api/v1alpha1"
	"github.com/mizzen-mesh/mizzen/internal/mesh"
	"github.com/mizzen-mesh/mizzen/internal/translate"
)

// TestRuleProblems: the snapshot-wide problem list has what translating the mesh's proxies
// reports (sidecars of every namespace, the gateway), once each.
func TestRuleProblems(t *testing.T) {
	c := loadCase(t, "testdata/hosts-resolution.in.yaml", "testdata/gateway.in.yaml")
	c.in.VirtualServices = append(c.in.VirtualServices, &v1alpha1.VirtualService{
		ObjectMeta: metav1.ObjectMeta{Name: "ghost", Namespace: "default"},
		Spec:       v1alpha1.VirtualServiceSpec{Hosts: []string{"ghost"}, HTTP: []v1alpha1.HTTPRoute{{Route: []v1alpha1.HTTPRouteDestination{{Destination: v1alpha1.Destination{Host: "reviews"}}}}}},
	})
	c.in.DestinationRules = append(c.in.DestinationRules, &v1alpha1.DestinationRule{
		ObjectMeta: metav1.ObjectMeta{Name: "ghost", Namespace: "default"}, Spec: v1alpha1.DestinationRuleSpec{Host: "ghost.default.svc.cluster.local"},
	})
	c.in.VirtualServices = append(c.in.VirtualServices, &v1alpha1.VirtualService{
		ObjectMeta: metav1.ObjectMeta{Name: "via-missing-gw", Namespace: "default"},
		Spec: v1alpha1.VirtualServiceSpec{Hosts: []string{"reviews"}, Gateways: []string{"mesh", "nowhere/gw"},
			HTTP: []v1alpha1.HTTPRoute{{Route: []v1alpha1.HTTPRouteDestination{{Destination: v1alpha1.Destination{Host: "reviews"}}}}}},
	})
	c.in.DestinationRules = append(c.in.DestinationRules, &v1alpha1.DestinationRule{
		ObjectMeta: metav1.ObjectMeta{Name: "empty-subset", Namespace: "default"},
		Spec: v1alpha1.DestinationRuleSpec{Host: "reviews", Subsets: []v1alpha1.Subset{
			{Name: "v1", Labels: map[string]string{"version": "v1"}},
			{Name: "v9", Labels: map[string]string{"version": "v9"}},
		}},
	})
	c.in.Gateways = append(c.in.Gateways, &v1alpha1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Name: "podless", Namespace: "default"},
		Spec:       v1alpha1.GatewaySpec{Selector: map[string]string{"istio": "nothing"}},
	})
	ps := translate.RuleProblems(mesh.New(c.in))
	var got []string
	for _, p := range ps {
		got = append(got, p.Field+" "+p.Reason)
	}
	want := []string{
		"DestinationRule default/empty-subset spec.subsets[1] NoMatchingPods",
		"DestinationRule default/ghost spec.host HostNotFound",
		"Gateway default/bookinfo-gateway spec.servers[2].tls.caCrl Unsupported",
		"Gateway default/bookinfo-gateway spec.servers[3].tls.credentialName SecretNotFound",
		"Gateway default/podless spec.selector NoMatchingPods",
		"VirtualService default/ghost spec.hosts[0] HostNotFound",
		"VirtualService default/ratings-new spec.hosts[0] ConflictingHost",
		"VirtualService default/ratings-old spec.hosts[0] ShadowsNewerRule",
		// Bound to the gateway too, whose proxy routes it; no DestinationRule defines v3 here.
		"VirtualService default/reviews-gw spec.http[0].route[0].destination.subset SubsetNotFound",
		"VirtualService default/via-missing-gw spec.gateways[1] GatewayNotFound",
		// Seen from namespace shop: api has two ports and none is the listener's 9080.
		"VirtualService shop/details-hidden spec.http[0].route[0].destination HostNotFound",
		"VirtualService shop/shop-wildcard spec.http[1].route[0].destination.host HostNotFound",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestRuleProblemsKeptAcrossSnapshots: a snapshot that differs from the previous one in endpoints
// alone reuses the previous translation's problems; a rule change or a change of who the
// endpoints are (their service account: the SANs clients verify) translates again.
func TestRuleProblemsKeptAcrossSnapshots(t *testing.T) {
	c := loadCase(t, "testdata/hosts-resolution.in.yaml", "testdata/gateway.in.yaml")
	fields := func() []string {
		var out []string
		for _, p := range translate.RuleProblems(mesh.New(c.in)) {
			out = append(out, p.Field+" "+p.Reason)
		}
		return out
	}
	// lookups runs fields and reports whether its problems came from the caches (no translation).
	misses := func() int {
		_, gateways := translate.TranslatedProblemsLookups()
		_, sidecars := translate.SidecarProblemsLookups()
		return gateways + sidecars
	}
	lookups := func() ([]string, bool) {
		before := misses()
		got := fields()
		return got, misses() == before
	}
	rederive := func() {
		c.in.EndpointSlices = nil
		c.deriveEndpointSlices()
	}
	before := fields()

	// Another replica of the api pod: a new endpoint, a new address, the same identity.
	var api *corev1.Pod
	for _, p := range c.in.Pods {
		if p.Annotations[mesh.ProxyIDAnnotation] == "p-api" {
			api = p
		}
	}
	if api == nil {
		t.Fatal("fixture has no pod with proxy id p-api")
	}
	replica := api.DeepCopy()
	replica.Name, replica.Status.PodIP, replica.Annotations[mesh.ProxyIDAnnotation] = "zz-api-replica", "10.0.3.99", "p-api-2"
	c.in.Pods = append(c.in.Pods, replica)
	rederive()
	got, cached := lookups()
	if !cached || !slices.Equal(got, before) {
		t.Errorf("new endpoint: cached %v, problems\n%s\nwant the cached\n%s", cached, strings.Join(got, "\n"), strings.Join(before, "\n"))
	}

	// The endpoints' service account changes the clusters' SANs: translated again.
	replica.Spec.ServiceAccountName = "api-v2"
	rederive()
	if got, cached := lookups(); cached || !slices.Equal(got, before) {
		t.Errorf("new service account: cached %v (want a translation), problems\n%s", cached, strings.Join(got, "\n"))
	}

	// A rule change: its new problem is reported, not the cached list.
	c.in.DestinationRules = append(c.in.DestinationRules, &v1alpha1.DestinationRule{
		ObjectMeta: metav1.ObjectMeta{Name: "tunnel", Namespace: "default"},
		Spec: v1alpha1.DestinationRuleSpec{Host: "reviews", TrafficPolicy: &v1alpha1.TrafficPolicy{
			Tunnel: &v1alpha1.TunnelSettings{Protocol: "CONNECT", TargetHost: "egress", TargetPort: 8080}}},
	})
	got, cached = lookups()
	if cached || !slices.Contains(got, "DestinationRule default/tunnel spec.trafficPolicy.tunnel Unsupported") {
		t.Errorf("new rule: cached %v, problems\n%s\nwant its tunnel reported", cached, strings.Join(got, "\n"))
	}
	// The same rule, now with an API server's identity: its spec is no longer what names it, its
	// UID and generation are.
	dr := c.in.DestinationRules[len(c.in.DestinationRules)-1]
	dr.UID, dr.Generation = "uid-tunnel", 1
	fields()
	dr.Spec.TrafficPolicy = nil
	dr.Generation = 2
	if got, cached := lookups(); cached || slices.Contains(got, "DestinationRule default/tunnel spec.trafficPolicy.tunnel Unsupported") {
		t.Errorf("generation 2 without the tunnel: cached %v, problems\n%s", cached, strings.Join(got, "\n"))
	}
}

// TestReleaseIdle: once a snapshot's shared translation is released, the next proxy's config is
// built again, equal to what it was, from new objects.
func TestReleaseIdle(t *testing.T) {
	c := loadCase(t, "testdata/hosts-resolution.in.yaml")
	snap, proxy, before, _ := c.translate(t)
	if again, _ := translate.Translate(snap, proxy); len(again.Clusters) == 0 || again.Clusters[0] != before.Clusters[0] {
		t.Fatal("a second translation from the snapshot must share its clusters")
	}
	if n := translate.ReleaseIdle(snap, time.Hour); n != 0 {
		t.Errorf("released %d values used a moment ago", n)
	}
	if n := translate.ReleaseIdle(snap, 0); n == 0 {
		t.Fatal("released nothing idle")
	}
	after, _ := translate.Translate(snap, proxy)
	if len(after.Clusters) != len(before.Clusters) || len(after.Listeners) != len(before.Listeners) {
		t.Fatalf("after release: %d clusters, %d listeners; before %d, %d", len(after.Clusters), len(after.Listeners), len(before.Clusters), len(before.Listeners))
	}
	shared := 0
	for i := range before.Clusters {
		if !proto.Equal(after.Clusters[i], before.Clusters[i]) {
			t.Errorf("cluster %s changed after release", before.Clusters[i].GetName())
		}
		if after.Clusters[i] == before.Clusters[i] {
			shared++
		}
	}
	for i := range before.Listeners {
		if !proto.Equal(after.Listeners[i], before.Listeners[i]) {
			t.Errorf("listener %s changed after release", before.Listeners[i].GetName())
		}
	}
	if shared == len(before.Clusters) {
		t.Error("every cluster is the object it was: nothing was built again")
	}
}
