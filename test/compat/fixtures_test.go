package compat

import (
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/mizzen-mesh/mizzen/test/testenv"
)

// Istio's CRD validation fixtures for DestinationRule: the -invalid documents carry the expected
// error in a top-level `_err` key; Mizzen must reject them naming the same field.
var _ = Describe("Istio DestinationRule validation fixtures", Label("compat"), func() {
	compat := testenv.CompatDir()
	if compat == "" {
		It("checks the fixtures", func() {
			Skip("../shared/compat/istio is absent: no Istio fixtures to check")
		})
		return
	}
	const dir = "pkg/config/validation/testdata/crds"

	invalid, errInvalid := readDocuments(compat, dir+"/destinationrule-invalid.yaml")
	valid, errValid := readDocuments(compat, dir+"/destinationrule-valid.yaml")
	It("reads both fixture files", func() {
		Expect(errInvalid).NotTo(HaveOccurred())
		Expect(errValid).NotTo(HaveOccurred())
		Expect(invalid).NotTo(BeEmpty())
		Expect(valid).NotTo(BeEmpty())
		AddReportEntry("Istio DestinationRule fixtures", fmt.Sprintf("%d invalid, %d valid", len(invalid), len(valid)))
	})

	var invalidEntries, validEntries []TableEntry
	for _, d := range invalid {
		invalidEntries = append(invalidEntries, Entry(d.String(), d))
	}
	for _, d := range valid {
		validEntries = append(validEntries, Entry(d.String(), d))
	}

	DescribeTable("rejects every invalid document, naming the field",
		func(d document) {
			const ns = "fixtures-invalid"
			createNamespace(ns)
			want, ok := d.Obj["_err"].(string)
			Expect(ok).To(BeTrue(), "%s has no _err string", d)
			obj := asMizzen(d.Obj, ns)
			delete(obj.Object, "_err")
			obj.SetName(fmt.Sprintf("%s-%d", obj.GetName(), d.Index))

			err := k8sClient.Create(ctx, obj)
			Expect(err).To(HaveOccurred(), "%s was accepted", d)
			Expect(apierrors.IsInvalid(err)).To(BeTrue(), "%s: want an Invalid error, got %v", d, err)
			Expect(err.Error()).To(ContainSubstring(want))
		},
		invalidEntries,
	)

	DescribeTable("accepts every valid document",
		func(d document) {
			const ns = "fixtures-valid"
			createNamespace(ns)
			obj := asMizzen(d.Obj, ns)
			obj.SetName(fmt.Sprintf("%s-%d", obj.GetName(), d.Index))
			Expect(k8sClient.Create(ctx, obj)).To(Succeed(), "%s", d)
		},
		validEntries,
	)
})
