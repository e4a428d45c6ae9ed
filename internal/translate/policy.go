package translate

import (
	"fmt"
	"time"

	"github.com/mizzen-mesh/mizzen/api/v1alpha1"
)

// policy is a DestinationRule's traffic policy as it applies to one cluster: the rule's policy,
// overridden field by field by its port-level settings for the port, then by the subset's policy
// and the subset's port-level settings (Istio's merge order).
type policy struct {
	lb   *v1alpha1.LoadBalancerSettings
	pool *v1alpha1.ConnectionPoolSettings
	od   *v1alpha1.OutlierDetection
	tls  *v1alpha1.ClientTLSSettings
	// path of each field's origin in the rule, for problems.
	lbAt, poolAt, odAt, tlsAt string
}

func (p *policy) apply(tp *v1alpha1.TrafficPolicy, port int32, at string) {
	if tp == nil {
		return
	}
	if tp.LoadBalancer != nil {
		p.lb, p.lbAt = tp.LoadBalancer, at+".loadBalancer"
	}
	if tp.ConnectionPool != nil {
		p.pool, p.poolAt = tp.ConnectionPool, at+".connectionPool"
	}
	if tp.OutlierDetection != nil {
		p.od, p.odAt = tp.OutlierDetection, at+".outlierDetection"
	}
	if tp.TLS != nil {
		p.tls, p.tlsAt = tp.TLS, at+".tls"
	}
	for i, pl := range tp.PortLevelSettings {
		if pl.Port == nil || pl.Port.Number != port {
			continue
		}
		pat := fmt.Sprintf("%s.portLevelSettings[%d]", at, i)
		if pl.LoadBalancer != nil {
			p.lb, p.lbAt = pl.LoadBalancer, pat+".loadBalancer"
		}
		if pl.ConnectionPool != nil {
			p.pool, p.poolAt = pl.ConnectionPool, pat+".connectionPool"
		}
		if pl.OutlierDetection != nil {
			p.od, p.odAt = pl.OutlierDetection, pat+".outlierDetection"
		}
		if pl.TLS != nil {
			p.tls, p.tlsAt = pl.TLS, pat+".tls"
		}
		break
	}
}

// effectivePolicy merges dr's policies for a port and subset ("" for the service's own cluster).
func effectivePolicy(dr *v1alpha1.DestinationRule, port int32, subset *v1alpha1.Subset, subsetIndex int) policy {
	var p policy
	if dr == nil {
		return p
	}
	p.apply(dr.Spec.TrafficPolicy, port, "spec.trafficPolicy")
	if subset != nil {
		p.apply(subset.TrafficPolicy, port, fmt.Sprintf("spec.subsets[%d].trafficPolicy", subsetIndex))
	}
	return p
}

// localityAware reports whether clusters under this policy depend on the proxy's locality:
// failover priorities (outlier detection on, locality LB not disabled) or distribute weights.
func (p *policy) localityAware() bool {
	var ls *v1alpha1.LocalityLoadBalancerSetting
	if p.lb != nil {
		ls = p.lb.LocalityLbSetting
	}
	if ls != nil && ls.Enabled != nil && !*ls.Enabled {
		return false
	}
	return p.od != nil || (ls != nil && len(ls.Distribute) > 0)
}

func parseDuration(d *v1alpha1.Duration) (time.Duration, bool) {
	if d == nil {
		return 0, false
	}
	v, err := d.Parse()
	return v, err == nil
}
