package mesh

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// RuleVersions maps rules (ObjectKey) to the metadata.generation of the version a proxy's config
// was built from. Sets are shared between proxies (all sidecars of a namespace share the set of
// their outbound config), so they are never changed once built.
type RuleVersions map[string]int64

// Use records that obj, a rule of the given kind, shaped the config.
func (v RuleVersions) Use(kind string, obj metav1.Object) {
	v[ObjectKey(kind, obj.GetNamespace(), obj.GetName())] = obj.GetGeneration()
}

// RuleSets is the union of the rule versions of one proxy's config.
type RuleSets []RuleVersions

// Generation returns the generation of rule key the config was built from, and whether the rule
// shaped it at all.
func (s RuleSets) Generation(key string) (int64, bool) {
	for _, v := range s {
		if g, ok := v[key]; ok {
			return g, true
		}
	}
	return 0, false
}

// SubsetPods counts the pods backing host that carry all of labels (a DestinationRule subset):
// distinct ready endpoints over every port of the service. A host that is no service has none.
func (s *Snapshot) SubsetPods(host string, labels map[string]string) int {
	svc := s.Service(host)
	if svc == nil {
		return 0
	}
	seen := map[string]bool{}
	for _, eps := range svc.Endpoints {
		for _, ep := range eps {
			if LabelsMatch(labels, ep.Labels) {
				seen[ep.Address] = true
			}
		}
	}
	return len(seen)
}
