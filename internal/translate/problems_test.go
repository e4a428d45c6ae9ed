package translate_test

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mizzen-mesh/mizzen/api/v1alpha1"
	"github.com/mizzen-mesh/mizzen/internal/mesh"
	"github.com/mizzen-mesh/mizzen/internal/translate"
)

// TestRuleProblems: the snapshot-wide problem list has what translating the mesh's proxies
// reports (sidecars of every namespace, the gateway), once each.
func TestRuleProblems(t *testing.T) {
	c := loadCase(t, "testdata/hosts-resolution.in.yaml", "testdata/gateway.in.yaml")
	c.in.VirtualServices = append(c.in.VirtualServices, v1alpha1.VirtualService{
		ObjectMeta: metav1.ObjectMeta{Name: "ghost", Namespace: "default"},
		Spec:       v1alpha1.VirtualServiceSpec{Hosts: []string{"ghost"}, HTTP: []v1alpha1.HTTPRoute{{Route: []v1alpha1.HTTPRouteDestination{{Destination: v1alpha1.Destination{Host: "reviews"}}}}}},
	})
	c.in.DestinationRules = append(c.in.DestinationRules, v1alpha1.DestinationRule{
		ObjectMeta: metav1.ObjectMeta{Name: "ghost", Namespace: "default"}, Spec: v1alpha1.DestinationRuleSpec{Host: "ghost.default.svc.cluster.local"},
	})
	c.in.VirtualServices = append(c.in.VirtualServices, v1alpha1.VirtualService{
		ObjectMeta: metav1.ObjectMeta{Name: "via-missing-gw", Namespace: "default"},
		Spec: v1alpha1.VirtualServiceSpec{Hosts: []string{"reviews"}, Gateways: []string{"mesh", "nowhere/gw"},
			HTTP: []v1alpha1.HTTPRoute{{Route: []v1alpha1.HTTPRouteDestination{{Destination: v1alpha1.Destination{Host: "reviews"}}}}}},
	})
	c.in.DestinationRules = append(c.in.DestinationRules, v1alpha1.DestinationRule{
		ObjectMeta: metav1.ObjectMeta{Name: "empty-subset", Namespace: "default"},
		Spec: v1alpha1.DestinationRuleSpec{Host: "reviews", Subsets: []v1alpha1.Subset{
			{Name: "v1", Labels: map[string]string{"version": "v1"}},
			{Name: "v9", Labels: map[string]string{"version": "v9"}},
		}},
	})
	c.in.Gateways = append(c.in.Gateways, v1alpha1.Gateway{
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
		"Gateway default/bookinfo-gateway spec.servers[3].tls.credentialName Unsupported",
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
