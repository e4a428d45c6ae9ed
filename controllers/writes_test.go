package controllers

import (
	"bytes"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
)

func testConfigMap() *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "mizzen-proxy-p1", Namespace: "shop", ResourceVersion: "7",
			Annotations: map[string]string{"mizzen.dev/config-hash": "abc"}},
		Data: map[string]string{"lds.yaml": strings.Repeat("resources: []\n", 10_000), "envoy.yaml": "node: {}\n"},
	}
}

// The body written is what the REST client's own encoding writes, and decodes to the ConfigMap.
func TestConfigMapBodyIsTheClientsEncoding(t *testing.T) {
	codecs := serializer.NewCodecFactory(clientgoscheme.Scheme)
	enc, err := protobufEncoder(codecs)
	if err != nil {
		t.Fatal(err)
	}
	cm := testConfigMap()
	got, err := configMapBody(enc, cm)
	if err != nil {
		t.Fatal(err)
	}
	want, err := runtime.Encode(enc, cm)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("body of %d bytes differs from runtime.Encode's %d", len(got), len(want))
	}
	back, _, err := codecs.UniversalDeserializer().Decode(got, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := back.(*corev1.ConfigMap); d.Name != cm.Name || d.Data["lds.yaml"] != cm.Data["lds.yaml"] || d.ResourceVersion != "7" {
		t.Fatalf("decoded %s/%s rv %s with %d bytes of lds.yaml", d.Namespace, d.Name, d.ResourceVersion, len(d.Data["lds.yaml"]))
	}
}

// BenchmarkConfigMapBody: the body in one buffer, against the REST client's encoding (Body(obj)
// runs runtime.Encode).
func BenchmarkConfigMapBody(b *testing.B) {
	enc, err := protobufEncoder(serializer.NewCodecFactory(clientgoscheme.Scheme))
	if err != nil {
		b.Fatal(err)
	}
	cm := testConfigMap()
	b.Run("configMapBody", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := configMapBody(enc, cm); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("runtime.Encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := runtime.Encode(enc, cm); err != nil {
				b.Fatal(err)
			}
		}
	})
}
