package controllers

import (
	"fmt"

	ctrl "sigs.k8s.io/controller-runtime"
)

// eventSource names Mizzen in the events it records.
const eventSource = "mizzen"

// Options configure the reconcilers (the manager's flags).
type Options struct {
	// Proxy configures the proxy reconciler: trust domain and certificate issuance.
	Proxy ProxyOptions
}

// SetupWithManager registers every reconciler with the manager.
func SetupWithManager(mgr ctrl.Manager, opts Options) error {
	if err := opts.Proxy.Identity.WithDefaults().Validate(); err != nil {
		return fmt.Errorf("proxy certificate options: %w", err)
	}
	rec := mgr.GetEventRecorder(eventSource)
	c := mgr.GetClient()
	// The status reconcilers share the proxy reconciler's snapshots and its record of what each
	// proxy carries.
	proxies := NewProxyReconciler(c, rec, opts.Proxy)
	for name, setup := range map[string]func(ctrl.Manager) error{
		"virtualservice":  NewVirtualServiceStatusReconciler(c, rec, proxies).SetupWithManager,
		"destinationrule": NewDestinationRuleStatusReconciler(c, rec, proxies).SetupWithManager,
		"gateway":         NewGatewayStatusReconciler(c, rec, proxies).SetupWithManager,
		"proxy":           proxies.SetupWithManager,
	} {
		if err := setup(mgr); err != nil {
			return fmt.Errorf("setting up the %s controller: %w", name, err)
		}
	}
	return nil
}
