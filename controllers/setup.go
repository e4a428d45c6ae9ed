package controllers

import (
	"fmt"

	ctrl "sigs.k8s.io/controller-runtime"
)

// eventSource names Mizzen in the events it records.
const eventSource = "mizzen"

// SetupWithManager registers every reconciler with the manager.
func SetupWithManager(mgr ctrl.Manager) error {
	rec := mgr.GetEventRecorder(eventSource)
	c := mgr.GetClient()
	for name, setup := range map[string]func(ctrl.Manager) error{
		"virtualservice":  NewVirtualServiceStatusReconciler(c, rec).SetupWithManager,
		"destinationrule": NewDestinationRuleStatusReconciler(c, rec).SetupWithManager,
		"gateway":         NewGatewayStatusReconciler(c, rec).SetupWithManager,
	} {
		if err := setup(mgr); err != nil {
			return fmt.Errorf("setting up the %s status controller: %w", name, err)
		}
	}
	return nil
}
