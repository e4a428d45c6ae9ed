package controllers

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mizzen-mesh/mizzen/internal/envoy"
	"github.com/mizzen-mesh/mizzen/internal/mesh"
)

// The secret cache keeps key names and Mizzen's annotations, never values (nor kubectl's
// last-applied annotation, which repeats them).
func TestStripSecret(t *testing.T) {
	in := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "web-cert", Namespace: "ingress", ResourceVersion: "7",
			Annotations: map[string]string{
				"kubectl.kubernetes.io/last-applied-configuration": `{"data":{"tls.key":"c2VjcmV0"}}`,
				envoy.CredentialsHashAnnotation:                    "abc",
			}},
		Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{"tls.crt": []byte("CERT"), "tls.key": []byte("secret")},
	}
	got, err := stripSecret(in)
	if err != nil {
		t.Fatal(err)
	}
	s := got.(*corev1.Secret)
	for k, v := range s.Data {
		if v != nil {
			t.Errorf("key %s kept its value", k)
		}
	}
	if c := mesh.CredentialOf(s); !c.HasCert || !c.HasKey || c.HasCA {
		t.Errorf("keys lost: %+v", c)
	}
	if len(s.Annotations) != 1 || s.Annotations[envoy.CredentialsHashAnnotation] != "abc" {
		t.Errorf("annotations %v, want only %s", s.Annotations, envoy.CredentialsHashAnnotation)
	}
	if s.ResourceVersion != "7" || s.Type != corev1.SecretTypeTLS || string(in.Data["tls.key"]) != "secret" {
		t.Errorf("metadata lost or input changed: %+v", s)
	}
	if other, _ := stripSecret(&corev1.ConfigMap{}); other == nil {
		t.Error("other kinds must pass through")
	}
}
