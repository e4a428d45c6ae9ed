package mesh

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mizzen-mesh/mizzen/api/v1alpha1"
)

func TestCredentialOf(t *testing.T) {
	for _, c := range []struct {
		name string
		keys []string
		want Credential
	}{
		{"tls", []string{"tls.crt", "tls.key"}, Credential{HasCert: true, HasKey: true}},
		{"generic", []string{"cert", "key", "cacert"}, Credential{HasCert: true, HasKey: true, HasCA: true}},
		{"ca only", []string{"ca.crt"}, Credential{HasCA: true}},
		{"unrelated", []string{"password"}, Credential{}},
	} {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: c.name}, Data: map[string][]byte{}}
		for _, k := range c.keys {
			s.Data[k] = nil // the secret cache keeps keys without values
		}
		c.want.Namespace, c.want.Name = "ns", c.name
		if got := CredentialOf(s); got != c.want {
			t.Errorf("%s: got %+v, want %+v", c.name, got, c.want)
		}
	}
	snap := New(Input{Credentials: []Credential{{Namespace: "ns", Name: "a", HasCA: true}}})
	if snap.Credential("ns", "a") == nil || snap.Credential("other", "a") != nil {
		t.Error("Snapshot.Credential looks up by namespace and name")
	}
}

func TestClientCredentialNames(t *testing.T) {
	tls := func(name string) *v1alpha1.ClientTLSSettings {
		return &v1alpha1.ClientTLSSettings{CredentialName: name}
	}
	dr := &v1alpha1.DestinationRule{Spec: v1alpha1.DestinationRuleSpec{
		TrafficPolicy: &v1alpha1.TrafficPolicy{TLS: tls("top"),
			PortLevelSettings: []v1alpha1.PortTrafficPolicy{{TLS: tls("port")}, {}}},
		Subsets: []v1alpha1.Subset{{Name: "v1", TrafficPolicy: &v1alpha1.TrafficPolicy{TLS: tls("subset")}}, {Name: "v2"}},
	}}
	if got, want := ClientCredentialNames(dr), []string{"top", "port", "subset"}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if ClientCredentialNames(nil) != nil {
		t.Error("a nil rule names nothing")
	}
}
