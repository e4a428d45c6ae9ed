/*
Copyright 2026 The Mizzen Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package v1alpha1

// Condition types every kind reports in status.conditions (set with meta.SetStatusCondition,
// each stamped with the generation it describes).
const (
	// ConditionAccepted is True when the spec is valid and every field is understood.
	ConditionAccepted = "Accepted"
	// ConditionResolvedRefs is True when the hosts, subsets, gateways and secrets referred to exist.
	ConditionResolvedRefs = "ResolvedRefs"
	// ConditionProgressing is True while some targeted proxies do not yet carry this generation.
	ConditionProgressing = "Progressing"
	// ConditionReady is True when Accepted and ResolvedRefs are True and every targeted proxy
	// carries this generation, so `kubectl wait --for=condition=Ready` returns once a change is out.
	ConditionReady = "Ready"
	// ConditionConflicted is True while another VirtualService claims one of this one's hosts for
	// the same proxies; the message says which rule keeps the host (the oldest).
	ConditionConflicted = "Conflicted"
	// ConditionProgrammed (Gateway) is True when every gateway proxy the selector picks carries
	// this generation.
	ConditionProgrammed = "Programmed"
	// ConditionDegraded is True when the spec is accepted but some fields are ignored because
	// Mizzen does not implement them yet; the message names them.
	ConditionDegraded = "Degraded"
)

// Condition reasons.
const (
	// ReasonAccepted: the spec is valid.
	ReasonAccepted = "Accepted"
	// ReasonInvalid: the spec breaks a rule; the message gives the field path and the rule.
	ReasonInvalid = "Invalid"
	// ReasonUnsupported: a field is accepted but not acted on yet; the message names it.
	ReasonUnsupported = "Unsupported"

	// ReasonResolvedRefs: everything referred to exists.
	ReasonResolvedRefs = "ResolvedRefs"
	// ReasonHostNotFound: a destination host matches no Service or ServiceEntry.
	ReasonHostNotFound = "HostNotFound"
	// ReasonSubsetNotFound: a destination names a subset no DestinationRule defines.
	ReasonSubsetNotFound = "SubsetNotFound"
	// ReasonGatewayNotFound: a VirtualService names a Gateway that does not exist.
	ReasonGatewayNotFound = "GatewayNotFound"
	// ReasonSecretNotFound: a credentialName names a Secret that does not exist.
	ReasonSecretNotFound = "SecretNotFound"
	// ReasonConflictingHost: another resource already claims the same host for the same proxies.
	ReasonConflictingHost = "ConflictingHost"
	// ReasonNoMatchingPods: a Gateway selector, or a DestinationRule subset, selects no pod.
	ReasonNoMatchingPods = "NoMatchingPods"
	// ReasonNoConflicts: no other rule claims this one's hosts.
	ReasonNoConflicts = "NoConflicts"
	// ReasonTranslationRefused: the Envoy config built from this generation does not validate,
	// so proxies keep the previous version; the message says why.
	ReasonTranslationRefused = "TranslationRefused"
	// ReasonFullySupported: every field is translated (Degraded is False).
	ReasonFullySupported = "FullySupported"

	// ReasonRollingOut: some targeted proxies still run an older generation.
	ReasonRollingOut = "RollingOut"
	// ReasonRolledOut: every targeted proxy carries this generation.
	ReasonRolledOut = "RolledOut"
	// ReasonNoProxies: no proxy is targeted, so there is nothing to roll out.
	ReasonNoProxies = "NoProxies"
	// ReasonNotAccepted: Ready is False because Accepted is False.
	ReasonNotAccepted = "NotAccepted"
	// ReasonRefsNotResolved: Ready is False because ResolvedRefs is False.
	ReasonRefsNotResolved = "RefsNotResolved"
	// ReasonReady: Ready is True.
	ReasonReady = "Ready"
)
