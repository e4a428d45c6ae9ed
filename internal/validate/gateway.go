package validate

import (
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/mizzen-mesh/mizzen/api/v1alpha1"
)

// Gateway returns the problems of a Gateway that its CRD's schema and CEL rules cannot find, in
// spec order.
func Gateway(gw *v1alpha1.Gateway) []Problem {
	if gw == nil {
		return nil
	}
	var ps problems
	servers := field.NewPath("spec", "servers")
	for i := range gw.Spec.Servers {
		s := &gw.Spec.Servers[i]
		sp := servers.Index(i)
		for j, h := range s.Hosts {
			if err := checkGatewayServerHost(h); err != nil {
				ps.add(sp.Child("hosts").Index(j), ReasonInvalidGatewayHost, "host %q: %v", h, err)
			}
		}
		if s.Bind != "" {
			if err := checkBind(s.Bind); err != nil {
				ps.add(sp.Child("bind"), ReasonInvalidBind, "bind must be an IP address or unix:///absolute/path: %v", err)
			}
		}
	}
	return ps
}
