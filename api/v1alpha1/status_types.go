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

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// RolledOutSpec is the newest generation of a rule that reached every proxy it shapes, with its
// spec. While a newer generation is invalid or refused, proxies stay on this one; keeping it in
// status lets a restarted manager do the same instead of dropping the rule.
type RolledOutSpec struct {
	// Generation is the metadata.generation of the spec.
	// +kubebuilder:validation:Minimum=1
	Generation int64 `json:"generation"`
	// Spec is that generation's spec, as it was.
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Type=object
	Spec runtime.RawExtension `json:"spec"`
}

// VirtualServiceStatus is what Mizzen observed about a VirtualService and how far its routing
// has been rolled out to the proxies.
type VirtualServiceStatus struct {
	// ObservedGeneration is the metadata.generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions are Accepted, ResolvedRefs, Progressing and Ready (see conditions.go); each is
	// stamped with the generation it describes.
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=16
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// Canary reports the weights being rolled out and the proxies that carry them.
	// +optional
	Canary *CanaryStatus `json:"canary,omitempty"`
	// RolledOut is the newest generation that reached every proxy it shapes (see RolledOutSpec).
	// +optional
	RolledOut *RolledOutSpec `json:"rolledOut,omitempty"`
}

// CanaryStatus reports a weight split and its rollout.
type CanaryStatus struct {
	// Weights maps each destination, written host:subset (or host when no subset), to the
	// weight it receives.
	// +optional
	Weights map[string]int32 `json:"weights,omitempty"`
	// WeightsSummary is Weights in one sorted line, such as "reviews:v1=90 reviews:v2=10".
	// +optional
	WeightsSummary string `json:"weightsSummary,omitempty"`
	// Proxies counts the targeted proxies and those carrying this generation's config.
	// +optional
	Proxies ProxyCounts `json:"proxies,omitempty"`
	// UpdatedSummary is Proxies as "updated/total", such as "7/12".
	// +optional
	UpdatedSummary string `json:"updatedSummary,omitempty"`
}

// ProxyCounts counts proxies.
type ProxyCounts struct {
	// Total is the number of proxies the resource targets.
	// +kubebuilder:validation:Minimum=0
	// +optional
	Total int32 `json:"total"`
	// Updated is the number of those carrying the current generation's config.
	// +kubebuilder:validation:Minimum=0
	// +optional
	Updated int32 `json:"updated"`
}

// DestinationRuleStatus is what Mizzen observed about a DestinationRule.
type DestinationRuleStatus struct {
	// ObservedGeneration is the metadata.generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions are Accepted, ResolvedRefs, Progressing and Ready.
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=16
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// SubsetsSummary lists the subset names of the observed generation, comma separated, for
	// the Subsets printer column (see DestinationRuleSpec.SubsetsSummary). A printer column on
	// .spec.subsets[*].name would show only the first name.
	// +optional
	SubsetsSummary string `json:"subsetsSummary,omitempty"`
	// Subsets counts the ready pods each subset selects; a subset with none makes ResolvedRefs
	// False (requests routed to it would fail with 503).
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=64
	// +optional
	Subsets []SubsetStatus `json:"subsets,omitempty"`
	// Proxies counts the proxies whose clusters the rule shapes and those carrying this
	// generation.
	// +optional
	Proxies *ProxyCounts `json:"proxies,omitempty"`
	// UpdatedSummary is Proxies as "updated/total", such as "7/12".
	// +optional
	UpdatedSummary string `json:"updatedSummary,omitempty"`
	// RolledOut is the newest generation that reached every proxy it shapes (see RolledOutSpec).
	// +optional
	RolledOut *RolledOutSpec `json:"rolledOut,omitempty"`
}

// SubsetStatus is what a DestinationRule subset selects.
type SubsetStatus struct {
	// Name of the subset.
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// Pods is the number of ready pods of the host's service carrying the subset's labels.
	// +kubebuilder:validation:Minimum=0
	Pods int32 `json:"pods"`
}

// GatewayStatus is what Mizzen observed about a Gateway.
type GatewayStatus struct {
	// ObservedGeneration is the metadata.generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions are Accepted, ResolvedRefs, Progressing and Ready.
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=16
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// ServersSummary lists the servers of the observed generation as protocol/port, such as
	// "HTTP/80,HTTPS/443", for the Servers printer column (see GatewaySpec.ServersSummary).
	// +optional
	ServersSummary string `json:"serversSummary,omitempty"`
	// Proxies counts the gateway proxies the selector picks and those carrying this generation
	// (the Programmed condition).
	// +optional
	Proxies *ProxyCounts `json:"proxies,omitempty"`
	// UpdatedSummary is Proxies as "updated/total", such as "2/2".
	// +optional
	UpdatedSummary string `json:"updatedSummary,omitempty"`
	// RolledOut is the newest generation that reached every proxy it shapes (see RolledOutSpec).
	// +optional
	RolledOut *RolledOutSpec `json:"rolledOut,omitempty"`
}
