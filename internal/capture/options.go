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

package capture

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Istio's port numbers, so that the proxy's listeners and the capture agree without a map.
const (
	DefaultProxyUID     = 1337
	DefaultProxyGID     = 1337
	DefaultOutboundPort = 15001
	DefaultInboundPort  = 15006
)

// DefaultExcludeInboundPorts are the proxy's own inbound ports: Prometheus stats (15090), health
// (15021) and the agent's merged metrics/health (15020) must reach Envoy's listeners unchanged,
// not be redirected to the inbound capture listener. The admin port (15000) listens on loopback
// only and is never seen inbound.
var DefaultExcludeInboundPorts = []uint16{15090, 15021, 15020}

// Options say which traffic the capture redirects. The zero value captures nothing useful: start
// from DefaultOptions.
type Options struct {
	// ProxyUID and ProxyGID identify the proxy's own sockets, whose traffic is never captured.
	ProxyUID, ProxyGID uint32
	// OutboundPort and InboundPort are the proxy's capture listeners.
	OutboundPort, InboundPort uint16

	// IncludeOutboundCIDRs are the destinations whose TCP traffic goes to OutboundPort.
	IncludeOutboundCIDRs CIDRs
	// ExcludeOutboundCIDRs are destinations never captured; they win over the include list.
	ExcludeOutboundCIDRs []netip.Prefix
	// IncludeOutboundPorts are destination ports captured whatever the destination address.
	IncludeOutboundPorts []uint16
	// ExcludeOutboundPorts are destination ports never captured.
	ExcludeOutboundPorts []uint16

	// IncludeInboundPorts are the pod's ports whose incoming TCP traffic goes to InboundPort; none
	// turns inbound capture off.
	IncludeInboundPorts Ports
	// ExcludeInboundPorts are pod ports never captured; they win over the include list.
	ExcludeInboundPorts []uint16
}

// CIDRs is a list of address ranges, or every address.
type CIDRs struct {
	All      bool
	Prefixes []netip.Prefix
}

// Ports is a list of ports, or every port.
type Ports struct {
	All   bool
	Ports []uint16
}

// DefaultOptions capture all outbound and inbound TCP except the proxy's own ports, as Istio's
// defaults do.
func DefaultOptions() Options {
	return Options{
		ProxyUID:             DefaultProxyUID,
		ProxyGID:             DefaultProxyGID,
		OutboundPort:         DefaultOutboundPort,
		InboundPort:          DefaultInboundPort,
		IncludeOutboundCIDRs: CIDRs{All: true},
		IncludeInboundPorts:  Ports{All: true},
		ExcludeInboundPorts:  slices.Clone(DefaultExcludeInboundPorts),
	}
}

// Validate reports options that would install a capture that cannot work.
func (o Options) Validate() error {
	if o.OutboundPort == 0 || o.InboundPort == 0 {
		return fmt.Errorf("the outbound and inbound capture ports must be set (got %d and %d)", o.OutboundPort, o.InboundPort)
	}
	if o.OutboundPort == o.InboundPort {
		return fmt.Errorf("the outbound and inbound capture ports must differ (both are %d)", o.OutboundPort)
	}
	return nil
}

// ParseCIDRs reads a comma-separated list of CIDRs or single addresses; "*" alone means every
// address when allowAll is set. Host bits are cleared: 10.1.2.3/8 is 10.0.0.0/8.
func ParseCIDRs(s string, allowAll bool) (CIDRs, error) {
	var out CIDRs
	for _, item := range splitList(s) {
		if item == "*" {
			if !allowAll {
				return CIDRs{}, fmt.Errorf(`"*" is not allowed here: list the CIDRs`)
			}
			out.All = true
			continue
		}
		p, err := parsePrefix(item)
		if err != nil {
			return CIDRs{}, err
		}
		out.Prefixes = append(out.Prefixes, p)
	}
	if out.All && len(out.Prefixes) > 0 {
		return CIDRs{}, fmt.Errorf(`"*" already means every address: list nothing else with it`)
	}
	return out, nil
}

func parsePrefix(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("%q is neither a CIDR nor an IP address", s)
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not a CIDR (such as 10.0.0.0/8 or fd00::/8)", s)
	}
	if p.Addr().Is4In6() {
		return netip.Prefix{}, fmt.Errorf("%q is an IPv4-mapped IPv6 CIDR: write the IPv4 CIDR instead", s)
	}
	return p.Masked(), nil
}

// ParsePorts reads a comma-separated list of TCP ports; "*" alone means every port when allowAll
// is set.
func ParsePorts(s string, allowAll bool) (Ports, error) {
	var out Ports
	for _, item := range splitList(s) {
		if item == "*" {
			if !allowAll {
				return Ports{}, fmt.Errorf(`"*" is not allowed here: list the ports`)
			}
			out.All = true
			continue
		}
		p, err := ParsePort(item)
		if err != nil {
			return Ports{}, err
		}
		if !slices.Contains(out.Ports, p) {
			out.Ports = append(out.Ports, p)
		}
	}
	if out.All && len(out.Ports) > 0 {
		return Ports{}, fmt.Errorf(`"*" already means every port: list nothing else with it`)
	}
	return out, nil
}

// ParsePort reads one TCP port, 1 to 65535.
func ParsePort(s string) (uint16, error) {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("port %q is not a number from 1 to 65535", s)
	}
	return uint16(n), nil
}

// splitList splits a comma-separated flag value, ignoring blanks so that "" is the empty list.
func splitList(s string) []string {
	var out []string
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
