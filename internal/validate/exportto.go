package validate

import (
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// checkExportTo checks an exportTo list: each entry ".", "*" or a namespace name (a DNS label); no
// entry twice ("." counts as the object's own namespace); "*" alone; and, for a DestinationRule
// with a workloadSelector, nothing beyond the own namespace.
func checkExportTo(ps *problems, p *field.Path, namespace string, exportTo []string, withSelector bool) {
	seen := map[string]bool{}
	for i, e := range exportTo {
		key := e
		if e == "." {
			key = namespace
		}
		switch {
		case seen[key] && key != e:
			ps.add(p.Index(i), ReasonDuplicateExportTo, "duplicate exportTo entry: \".\" and the own namespace %q", namespace)
			continue
		case seen[key]:
			ps.add(p.Index(i), ReasonDuplicateExportTo, "duplicate exportTo entry %q", e)
			continue
		case e == "~":
			ps.add(p.Index(i), ReasonInvalidExportTo, "exportTo \"~\" (none) is only allowed on a ServiceEntry")
			continue
		case e != "." && e != "*" && !isDNSLabel(e):
			ps.add(p.Index(i), ReasonInvalidExportTo, "exportTo entry %q must be \".\", \"*\" or a namespace name", e)
			continue
		}
		seen[key] = true
	}
	if withSelector && len(seen) > 0 {
		switch {
		case !seen[namespace]:
			ps.add(p, ReasonExportToWithSelector, "a DestinationRule with a workloadSelector cannot be exported beyond its own namespace")
		case len(seen) > 1:
			ps.add(p, ReasonExportToWithSelector, "a DestinationRule with a workloadSelector can only be exported to its own namespace")
		}
	}
	if seen["*"] && len(exportTo) > 1 {
		ps.add(p, ReasonExportToPublicMixed, "\"*\" (public) cannot be combined with other exportTo entries")
	}
}
