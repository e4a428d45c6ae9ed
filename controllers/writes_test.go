package controllers

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"unsafe"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
)

func testConfigMap() *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "mizzen-proxy-p1", Namespace: "shop", ResourceVersion: "7",
			Labels:      map[string]string{"app.kubernetes.io/managed-by": "mizzen"},
			Annotations: map[string]string{"mizzen.dev/config-hash": "abc"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Pod", Name: "web-1", UID: "u-1",
				Controller: ptr(true)}}},
		Data: map[string]string{"lds.yaml": strings.Repeat("resources: []\n", 10_000), "envoy.yaml": "node: {}\n",
			"cds.yaml": strings.Repeat("x", 300)},
	}
}

// protobufEncoder is the REST client's encoder for core/v1 objects in protobuf.
func protobufEncoder(t testing.TB) runtime.Encoder {
	codecs := serializer.NewCodecFactory(clientgoscheme.Scheme)
	info, ok := runtime.SerializerInfoForMediaType(codecs.SupportedMediaTypes(), runtime.ContentTypeProtobuf)
	if !ok {
		t.Fatalf("no %s serializer", runtime.ContentTypeProtobuf)
	}
	return codecs.EncoderForVersion(info.Serializer, corev1.SchemeGroupVersion)
}

// The body written is byte for byte what the REST client's own encoding writes, for ConfigMaps
// with and without data, binary data and immutability, and decodes to the ConfigMap.
func TestConfigMapBodyIsTheClientsEncoding(t *testing.T) {
	enc := protobufEncoder(t)
	full := testConfigMap()
	full.BinaryData = map[string][]byte{"b.bin": {0, 1, 2}, "a.bin": bytes.Repeat([]byte{7}, 200)}
	full.Immutable = ptr(false)
	for name, cm := range map[string]*corev1.ConfigMap{
		"data":                       testConfigMap(),
		"data, binary data, mutable": full,
		"immutable, empty values":    {ObjectMeta: metav1.ObjectMeta{Name: "e", Namespace: "n"}, Data: map[string]string{"a": ""}, Immutable: ptr(true)},
		"metadata alone":             {ObjectMeta: metav1.ObjectMeta{Name: "e", Namespace: "n"}},
	} {
		t.Run(name, func(t *testing.T) {
			body, err := configMapBody(cm)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(body)
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
			back, _, err := serializer.NewCodecFactory(clientgoscheme.Scheme).UniversalDeserializer().Decode(got, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			d := back.(*corev1.ConfigMap)
			if d.Name != cm.Name || len(d.Data) != len(cm.Data) || d.Data["lds.yaml"] != cm.Data["lds.yaml"] ||
				!bytes.Equal(d.BinaryData["a.bin"], cm.BinaryData["a.bin"]) || (d.Immutable == nil) != (cm.Immutable == nil) {
				t.Fatalf("decoded %s/%s with %d data entries, %d binary", d.Namespace, d.Name, len(d.Data), len(d.BinaryData))
			}
		})
	}
}

// The data values are sent from their strings, not copied into the body.
func TestConfigMapBodySendsValuesInPlace(t *testing.T) {
	cm := testConfigMap()
	body, err := configMapBody(cm)
	if err != nil {
		t.Fatal(err)
	}
	lds := cm.Data["lds.yaml"]
	for _, seg := range *body {
		if len(seg) == len(lds) && unsafe.SliceData(seg) == unsafe.StringData(lds) {
			return
		}
	}
	t.Fatalf("no segment of the body is lds.yaml's string: the %d bytes were copied", len(lds))
}

// BenchmarkConfigMapBody: the body as segments, against the REST client's encoding (Body(obj)
// runs runtime.Encode).
func BenchmarkConfigMapBody(b *testing.B) {
	enc := protobufEncoder(b)
	cm := testConfigMap()
	b.Run("configMapBody", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := configMapBody(cm); err != nil {
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
