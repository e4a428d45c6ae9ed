package validate

import (
	"slices"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/mizzen-mesh/mizzen/api/v1alpha1"
)

// Delegation checks the VirtualService that root's http[route].delegate names, once it has been
// found. Its problems are reported on the root, at spec.http[route].delegate:
//
//   - the delegate has hosts (then it is a VirtualService of its own, and the rule is skipped);
//   - the delegate is not exported to the root's namespace.
//
// What a delegate may not hold whatever refers to it (gateways, tls, tcp, a further delegate) is
// checked on the delegate itself, by CEL rules. A delegate that does not exist is a missing
// reference, not a validation problem.
func Delegation(root *v1alpha1.VirtualService, route int, delegate *v1alpha1.VirtualService) []Problem {
	if root == nil || delegate == nil || route < 0 || route >= len(root.Spec.HTTP) {
		return nil
	}
	var ps problems
	p := field.NewPath("spec", "http").Index(route).Child("delegate")
	ref := delegate.Namespace + "/" + delegate.Name
	if len(delegate.Spec.Hosts) > 0 {
		ps.add(p, ReasonDelegateHasHosts, "VirtualService %s has hosts, so it cannot be a delegate; remove its hosts", ref)
	}
	if !exportedTo(delegate.Spec.ExportTo, delegate.Namespace, root.Namespace) {
		ps.add(p, ReasonDelegateNotExported, "VirtualService %s is not exported to namespace %q", ref, root.Namespace)
	}
	return ps.errs
}

// exportedTo reports whether an object of namespace own with this exportTo is visible in ns. An
// empty list means everywhere (Istio's default without a mesh-wide setting).
func exportedTo(exportTo []string, own, ns string) bool {
	if len(exportTo) == 0 || slices.Contains(exportTo, "*") || slices.Contains(exportTo, ns) {
		return true
	}
	return own == ns && slices.Contains(exportTo, ".")
}
