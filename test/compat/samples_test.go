package compat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/mizzen-mesh/mizzen/api/v1alpha1"
	"github.com/mizzen-mesh/mizzen/test/testenv"
)

// typedFor returns an empty typed object of kind.
func typedFor(kind string) runtime.Object {
	switch kind {
	case "VirtualService":
		return &v1alpha1.VirtualService{}
	case "DestinationRule":
		return &v1alpha1.DestinationRule{}
	case "Gateway":
		return &v1alpha1.Gateway{}
	}
	panic("unknown kind " + kind)
}

// withoutZeroValues drops false, 0, "" and empty maps and lists, which omitempty leaves out.
func withoutZeroValues(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range t {
			if e = withoutZeroValues(e); e != nil {
				out[k] = e
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case []any:
		out := make([]any, 0, len(t))
		for _, e := range t {
			e = withoutZeroValues(e)
			if e == nil {
				e = map[string]any{}
			}
			out = append(out, e)
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case bool:
		if !t {
			return nil
		}
	case float64:
		if t == 0 {
			return nil
		}
	case string:
		if t == "" {
			return nil
		}
	case nil:
		return nil
	}
	return v
}

// Every VirtualService, DestinationRule and Gateway of Istio's samples applies with only its
// apiVersion changed, and reads back with every field it was applied with.
var _ = Describe("Istio samples", Label("compat"), func() {
	compat := testenv.CompatDir()
	if compat == "" {
		It("round-trips every sample", func() {
			Skip("../shared/compat/istio is absent: no Istio samples to check")
		})
		return
	}
	docs, err := istioNetworkingDocuments(compat, "samples")
	if err != nil {
		It("reads the samples", func() { Fail(err.Error()) })
		return
	}

	It("finds sample documents of every kind", func() {
		perKind := map[string]int{}
		for _, d := range docs {
			perKind[d.Obj["kind"].(string)]++
		}
		AddReportEntry("Istio sample documents checked", fmt.Sprintf("%d (%v)", len(docs), perKind))
		GinkgoWriter.Printf("Istio sample documents checked: %d %v\n", len(docs), perKind)
		Expect(perKind).To(HaveKey("VirtualService"))
		Expect(perKind).To(HaveKey("DestinationRule"))
		Expect(perKind).To(HaveKey("Gateway"))
	})

	// One namespace per file: samples reuse names (reviews, ratings, ...) across files.
	nsOf := map[string]string{}
	for _, d := range docs {
		if _, ok := nsOf[d.File]; !ok {
			nsOf[d.File] = fmt.Sprintf("sample-%d", len(nsOf))
		}
	}

	entries := make([]TableEntry, 0, len(docs))
	for _, d := range docs {
		entries = append(entries, Entry(d.String(), d, nsOf[d.File]))
	}
	DescribeTable("applies unchanged and reads back unpruned",
		func(d document, ns string) {
			createNamespace(ns)
			obj := asMizzen(d.Obj, ns)
			Expect(k8sClient.Create(ctx, obj)).To(Succeed(), "creating %s", d)

			got := &unstructured.Unstructured{}
			got.SetGroupVersionKind(obj.GroupVersionKind())
			Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(obj), got)).To(Succeed())

			want := deepCopyJSON(d.Obj)["spec"]
			have := deepCopyJSON(got.Object)["spec"]
			Expect(have).To(Equal(want), "spec of %s changed on the way through the API server (pruned or defaulted fields)", d)
			// Labels and annotations the sample carries survive too.
			Expect(got.GetLabels()).To(Equal(obj.GetLabels()))
			for k, v := range obj.GetAnnotations() {
				Expect(got.GetAnnotations()).To(HaveKeyWithValue(k, v))
			}
			Expect(strings.HasPrefix(got.GetAPIVersion(), "networking.mizzen.dev/")).To(BeTrue())

			// The Go types hold every field too: strict decoding finds no unknown field, and
			// encoding again gives the same spec (up to zero values that omitempty drops).
			typed := typedFor(d.Obj["kind"].(string))
			raw, err := json.Marshal(got.Object)
			Expect(err).NotTo(HaveOccurred())
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			Expect(dec.Decode(typed)).To(Succeed(), "decoding %s into %T", d, typed)
			again, err := runtime.DefaultUnstructuredConverter.ToUnstructured(typed)
			Expect(err).NotTo(HaveOccurred())
			Expect(withoutZeroValues(deepCopyJSON(again)["spec"])).To(Equal(withoutZeroValues(want)), "%s changed through the Go types", d)
		},
		entries,
	)
})
