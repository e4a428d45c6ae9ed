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
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// The printer columns read one-line summaries from status, because a CRD printer column shows
// only the first match of a JSONPath like .spec.subsets[*].name. These functions build them, so
// every controller writes the same format.

// SubsetsSummary returns the subset names in spec order, comma separated ("v1,v2").
func (s *DestinationRuleSpec) SubsetsSummary() string {
	names := make([]string, 0, len(s.Subsets))
	for _, sub := range s.Subsets {
		names = append(names, string(sub.Name))
	}
	return strings.Join(names, ",")
}

// ServersSummary returns each server as protocol/port in spec order ("HTTP/80,HTTPS/443"); a
// server bound to a unix socket shows the socket instead of the port.
func (s *GatewaySpec) ServersSummary() string {
	parts := make([]string, 0, len(s.Servers))
	for _, srv := range s.Servers {
		where := strconv.Itoa(int(srv.Port.Number))
		if strings.HasPrefix(srv.Bind, "unix://") {
			where = srv.Bind
		}
		parts = append(parts, strings.ToUpper(srv.Port.Protocol)+"/"+where)
	}
	return strings.Join(parts, ",")
}

// WeightsSummary returns destination=weight pairs sorted by destination, space separated
// ("reviews:v1=90 reviews:v2=10"), for CanaryStatus.WeightsSummary.
func WeightsSummary(weights map[string]int32) string {
	keys := make([]string, 0, len(weights))
	for k := range weights {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%d", k, weights[k]))
	}
	return strings.Join(parts, " ")
}

// WeightKey names a destination in CanaryStatus.Weights: host, or host:subset.
func WeightKey(d Destination) string {
	if d.Subset == "" {
		return d.Host
	}
	return d.Host + ":" + string(d.Subset)
}

// UpdatedSummary returns "updated/total" ("7/12"), for CanaryStatus.UpdatedSummary.
func (p ProxyCounts) UpdatedSummary() string {
	return fmt.Sprintf("%d/%d", p.Updated, p.Total)
}
