package main

import (
	"bytes"
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/mizzen-mesh/mizzen/hack/bundle/gen"
	"github.com/mizzen-mesh/mizzen/internal/identity"
)

// installKustomization is where the mesh CA chain is taken from: the kustomization `make deploy`
// and dist/install.yaml are built from, so the demo's CA has the names and namespace an install has.
const installKustomization = "config/default"

// meshCA is the mesh CA chain of the install: the self-signed ClusterIssuer, the CA Certificate it
// issues (in cert-manager's cluster resource namespace, where a CA ClusterIssuer reads its key pair)
// and the CA ClusterIssuer that signs every proxy's certificate. The demo runs the manager as a
// process rather than config/default's Deployment, so these are the only objects it applies.
type meshCA struct {
	manifest  []byte   // the objects as one multi-document YAML stream
	waitFor   []string // kind/name of each, for kubectl wait
	namespace string   // the CA Certificate's namespace
}

// meshCAFromInstall builds config/default with kustomize and keeps the cert-manager ClusterIssuers
// and the CA Certificate (spec.isCA). It fails unless one of the ClusterIssuers is the manager's
// default issuer, so the proxies' Certificates can issue.
func meshCAFromInstall(root string) (meshCA, error) {
	m, err := gen.Kustomize(root, installKustomization)
	if err != nil {
		return meshCA{}, err
	}
	var ca meshCA
	var issuers, caCerts []string
	for _, r := range m.Resources() {
		if r.GetGvk().Group != identity.DefaultIssuerGroup {
			continue
		}
		obj, err := r.Map()
		if err != nil {
			return meshCA{}, err
		}
		switch r.GetKind() {
		case "ClusterIssuer":
			issuers = append(issuers, r.GetName())
		case "Certificate":
			if isCA, _, _ := unstructured.NestedBool(obj, "spec", "isCA"); !isCA {
				continue // the manager's own serving certificates
			}
			caCerts = append(caCerts, r.GetName())
			ca.namespace = r.GetNamespace()
		default:
			continue
		}
		doc, err := r.AsYAML()
		if err != nil {
			return meshCA{}, err
		}
		if len(ca.manifest) > 0 {
			ca.manifest = append(ca.manifest, []byte("---\n")...)
		}
		ca.manifest = append(ca.manifest, doc...)
		ca.waitFor = append(ca.waitFor, fmt.Sprintf("%s/%s", bytes.ToLower([]byte(r.GetKind())), r.GetName()))
	}
	if len(caCerts) != 1 {
		return meshCA{}, fmt.Errorf("%s builds %d CA Certificates (%v), want exactly one", installKustomization, len(caCerts), caCerts)
	}
	if !slices.Contains(issuers, identity.DefaultIssuerName) {
		return meshCA{}, fmt.Errorf("%s builds ClusterIssuers %v, none of them %s, the manager's default issuer of proxy certificates",
			installKustomization, issuers, identity.DefaultIssuerName)
	}
	return ca, nil
}
