package mesh

import "testing"

// EgressMaySee must never say false for a host a scoped proxy gets config for (the proxy would
// keep stale routes); it may say true for hosts it does not.
func TestEgressMaySee(t *testing.T) {
	for _, tc := range []struct {
		egress []string
		ns     string
		host   string
		want   bool
	}{
		{nil, "b", "reviews.a.svc.cluster.local", true},
		{[]string{"./*"}, "b", "reviews.a.svc.cluster.local", false},
		{[]string{"./*"}, "a", "reviews.a.svc.cluster.local", true},
		{[]string{"a/*"}, "b", "reviews.a.svc.cluster.local", true},
		{[]string{"*/*"}, "b", "reviews.a.svc.cluster.local", true},
		{[]string{"*"}, "b", "reviews.a.svc.cluster.local", true},
		{[]string{"./*", "a/reviews.a.svc.cluster.local"}, "b", "reviews.a.svc.cluster.local", true},
		{[]string{"a/ratings.a.svc.cluster.local"}, "b", "reviews.a.svc.cluster.local", false},
		{[]string{"a/*.a.svc.cluster.local"}, "b", "reviews.a.svc.cluster.local", true},
		{[]string{"~/*"}, "b", "reviews.a.svc.cluster.local", false},
		// Not a service's FQDN: assumed seen.
		{[]string{"./*"}, "b", "*.a.svc.cluster.local", true},
		{[]string{"./*"}, "b", "*", true},
		{[]string{"./*"}, "b", "reviews.a", true},
		{[]string{"./*"}, "b", "api.example.com", true},
	} {
		if got := EgressMaySee(tc.egress, tc.ns, tc.host); got != tc.want {
			t.Errorf("EgressMaySee(%q, %s, %s) = %t, want %t", tc.egress, tc.ns, tc.host, got, tc.want)
		}
	}
	if got := ParseEgressHosts(" ./* , ,istio-system/*"); len(got) != 2 || got[0] != "./*" || got[1] != "istio-system/*" {
		t.Errorf("ParseEgressHosts: %q", got)
	}
	if got := (Settings{}).ResolveHost("reviews", "a"); got != "reviews.a.svc.cluster.local" {
		t.Errorf("ResolveHost: %s", got)
	}
}
