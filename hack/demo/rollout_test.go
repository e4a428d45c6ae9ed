package main

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mizzen-mesh/mizzen/api/v1alpha1"
)

// A Ready condition left from the previous generation neither ends the watch nor reads as the new
// generation's verdict.
func TestRolloutLineAndReadyForTheCurrentGeneration(t *testing.T) {
	vs := &v1alpha1.VirtualService{ObjectMeta: metav1.ObjectMeta{Generation: 2}}
	vs.Status.Conditions = []metav1.Condition{
		{Type: v1alpha1.ConditionProgressing, Status: metav1.ConditionFalse, Reason: v1alpha1.ReasonRolledOut, ObservedGeneration: 1},
		{Type: v1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonReady, ObservedGeneration: 1},
	}
	vs.Status.Canary = &v1alpha1.CanaryStatus{UpdatedSummary: "12/12", WeightsSummary: "reviews:v1=90 reviews:v2=10"}
	if readyFor(vs) {
		t.Error("Ready of generation 1 counted as Ready for generation 2")
	}
	line := rolloutLine(vs)
	for _, want := range []string{"generation 2", "Ready=True (Ready, of generation 1)", "updated 12/12", "weights reviews:v1=90 reviews:v2=10"} {
		if !strings.Contains(line, want) {
			t.Errorf("%q does not say %q", line, want)
		}
	}

	vs.Status.Conditions[0] = metav1.Condition{Type: v1alpha1.ConditionProgressing, Status: metav1.ConditionFalse, Reason: v1alpha1.ReasonRolledOut, ObservedGeneration: 2}
	vs.Status.Conditions[1] = metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonReady, ObservedGeneration: 2}
	if !readyFor(vs) {
		t.Error("Ready of generation 2 not counted")
	}
	if line := rolloutLine(vs); strings.Contains(line, "of generation") {
		t.Errorf("%q marks current conditions as stale", line)
	}
}
