package rollout

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mizzen-mesh/mizzen/api/v1alpha1"
	"github.com/mizzen-mesh/mizzen/internal/validate"
)

// MaxMessage keeps a condition message inside metav1.Condition's 32768-byte limit with room to
// spare.
const MaxMessage = 4096

// ResolvedRefs is the ResolvedRefs condition: False with the first problem's reason and every
// problem's message when something referred to is missing or contested.
func ResolvedRefs(problems []validate.Problem, generation int64) metav1.Condition {
	if len(problems) == 0 {
		return condition(v1alpha1.ConditionResolvedRefs, true, v1alpha1.ReasonResolvedRefs, generation,
			"every host, subset, gateway and secret referred to exists")
	}
	return condition(v1alpha1.ConditionResolvedRefs, false, problems[0].Reason, generation, validate.Join(problems))
}

// Progressing is the Progressing condition: True while the accepted generation is still
// reaching proxies.
func Progressing(accepted bool, p Progress, generation int64) metav1.Condition {
	switch {
	case !accepted:
		return condition(v1alpha1.ConditionProgressing, false, v1alpha1.ReasonNotAccepted, generation,
			fmt.Sprintf("generation %d is not rolled out: the spec is not accepted; proxies keep the last accepted version", generation))
	case !p.Done():
		return condition(v1alpha1.ConditionProgressing, true, v1alpha1.ReasonRollingOut, generation, p.message(generation))
	case p.Total == 0:
		return condition(v1alpha1.ConditionProgressing, false, v1alpha1.ReasonNoProxies, generation,
			"no proxy's config uses this rule: nothing to roll out")
	default:
		return condition(v1alpha1.ConditionProgressing, false, v1alpha1.ReasonRolledOut, generation, p.message(generation))
	}
}

// Ready is the Ready condition: True when the spec is accepted, its references resolve and
// every proxy it shapes carries this generation.
func Ready(accepted, resolved metav1.Condition, p Progress, generation int64) metav1.Condition {
	switch {
	case accepted.Status != metav1.ConditionTrue:
		return condition(v1alpha1.ConditionReady, false, v1alpha1.ReasonNotAccepted, generation, "Accepted is False: "+accepted.Message)
	case resolved.Status != metav1.ConditionTrue:
		return condition(v1alpha1.ConditionReady, false, v1alpha1.ReasonRefsNotResolved, generation, "ResolvedRefs is False: "+resolved.Message)
	case !p.Done():
		return condition(v1alpha1.ConditionReady, false, v1alpha1.ReasonRollingOut, generation, p.message(generation))
	case p.Total == 0:
		return condition(v1alpha1.ConditionReady, true, v1alpha1.ReasonNoProxies, generation,
			"accepted; no proxy's config uses this rule yet")
	default:
		return condition(v1alpha1.ConditionReady, true, v1alpha1.ReasonReady, generation, p.message(generation))
	}
}

// message is "7/12 proxies carry generation 3", with the proxies not yet reconciled.
func (p Progress) message(generation int64) string {
	m := fmt.Sprintf("%d/%d proxies carry generation %d", p.Updated, p.Total, generation)
	if p.Unknown > 0 {
		m += fmt.Sprintf(" (%d not yet reconciled)", p.Unknown)
	}
	return m
}

func condition(typ string, ok bool, reason string, generation int64, message string) metav1.Condition {
	status := metav1.ConditionFalse
	if ok {
		status = metav1.ConditionTrue
	}
	return metav1.Condition{Type: typ, Status: status, Reason: reason, ObservedGeneration: generation, Message: Truncate(message, MaxMessage)}
}
