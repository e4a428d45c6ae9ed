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

// Package capture builds and installs the nftables rules that send a meshed pod's TCP traffic
// through its Envoy sidecar. The injected init container runs it as `/manager capture` in the
// pod's network namespace; Build is pure (options → rules, testable without root) and Install
// applies the result in one atomic netlink batch.
//
// Everything lives in one table, inet mizzen, so the same rules serve IPv4 and IPv6:
//
//	prerouting (nat hook prerouting, priority -100)  TCP → inbound
//	    inbound         excluded ports → return; included ports (or all) → proxy-inbound
//	output (nat hook output, priority -100)          TCP → outbound
//	    outbound        the exclusions below → return; included CIDRs/ports (or all) → proxy-outbound
//	proxy-inbound   redirect to :15006 (Envoy's inbound listener)
//	proxy-outbound  redirect to :15001 (Envoy's outbound listener)
//
// REDIRECT is destination NAT, so it happens at the dstnat priority of the two hooks that see new
// connections: prerouting for connections arriving from the network, output for connections the
// pod opens. Envoy recovers the original destination with SO_ORIGINAL_DST.
//
// The exclusions follow Istio's sidecar capture, in the same order:
//   - Excluded outbound ports, first, so that nothing else on those ports is captured.
//   - Loopback traffic from 127.0.0.6 (::6): Envoy's inbound passthrough connects to the app from
//     that address; capturing it would send the connection back into Envoy.
//   - The proxy's own traffic (its UID, then its GID): capturing what Envoy sends would loop. One
//     case is redirected instead: the proxy connecting to its own pod's address over lo (an app
//     calling itself through a Service) goes to the inbound listener, so inbound policy applies.
//   - Other traffic over lo (the app calling itself) and any traffic to 127.0.0.1 or ::1: local
//     calls never leave the pod and are not captured.
//   - Excluded CIDRs, then the included ports and CIDRs ("*" = every destination).
//   - Inbound, the proxy's own ports (15090 stats, 15021 health, 15020 agent) are excluded so
//     probes and scrapes reach Envoy's listeners; the admin port 15000 listens on loopback only.
//
// Only TCP is captured (no DNS capture).
//
// Installing needs CAP_NET_ADMIN in the pod's network namespace: the init container runs as UID 0
// (the image's default user is 65532, and capabilities added to a non-root container do not reach
// its process) with the NET_ADMIN capability.
package capture
