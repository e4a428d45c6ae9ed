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
	ps := translate.RuleProblems(mesh.New(c.in))
	var got []string
	for _, p := range ps {
		got = append(got, p.Field+" "+p.Reason)
	}
	want := []string{
		"DestinationRule default/ghost spec.host HostNotFound",
		"Gateway default/bookinfo-gateway spec.servers[2].tls.caCrl Unsupported",
		"Gateway default/bookinfo-gateway spec.servers[3].tls.credentialName SecretNotFound",
		"VirtualService default/ghost spec.hosts[0] HostNotFound",
		"VirtualService default/ratings-new spec.hosts[0] ConflictingHost",
		// Bound to the gateway too, whose proxy routes it; no DestinationRule defines v3 here.
		"VirtualService default/reviews-gw spec.http[0].route[0].destination.subset SubsetNotFound",
		// Seen from namespace shop: api has two ports and none is the listener's 9080.
		"VirtualService shop/details-hidden spec.http[0].route[0].destination HostNotFound",
		"VirtualService shop/shop-wildcard spec.http[1].route[0].destination.host HostNotFound",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
