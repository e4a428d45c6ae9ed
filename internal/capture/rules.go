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
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
)

// TableName is the nftables table (family inet) that holds the whole capture.
const TableName = "mizzen"

// Chain names. The base chains are named after their hooks, as nft users expect.
const (
	ChainPrerouting    = "prerouting"
	ChainOutput        = "output"
	ChainInbound       = "inbound"
	ChainOutbound      = "outbound"
	ChainProxyInbound  = "proxy-inbound"
	ChainProxyOutbound = "proxy-outbound"
)

// NATPriority is the priority of both base chains: the standard destination-NAT priority
// ("dstnat"), where a REDIRECT must happen.
const NATPriority = -100

// The loopback addresses Istio's proxies rely on.
var (
	loopback4 = netip.MustParsePrefix("127.0.0.1/32")
	loopback6 = netip.MustParsePrefix("::1/128")
	// Envoy's inbound passthrough connects to the application from these source addresses, so
	// that the capture recognises its connections to the app and leaves them alone.
	passthrough4 = netip.MustParsePrefix("127.0.0.6/32")
	passthrough6 = netip.MustParsePrefix("::6/128")
)

// Ruleset is the whole capture: one inet table, so a single set of rules serves IPv4 and IPv6.
type Ruleset struct {
	Table  string
	Chains []Chain
}

// Chain is a base chain (Hook set) or a regular chain reached by jumps.
type Chain struct {
	Name  string
	Hook  *nftables.ChainHook // nil for a regular chain
	Rules []Rule
}

// Rule is one nftables rule: the kernel expressions, and the same rule as `nft list` prints it.
type Rule struct {
	Text  string
	Exprs []expr.Any
}

// Build turns options into the ruleset that implements them. It is pure: no netlink, no root.
func Build(o Options) (*Ruleset, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	rs := &Ruleset{Table: TableName}
	if inbound := inboundRules(o); len(inbound) > 0 {
		rs.Chains = append(rs.Chains,
			Chain{Name: ChainPrerouting, Hook: nftables.ChainHookPrerouting, Rules: []Rule{rule(tcp(), jump(ChainInbound))}},
			Chain{Name: ChainInbound, Rules: inbound})
	}
	rs.Chains = append(rs.Chains,
		Chain{Name: ChainOutput, Hook: nftables.ChainHookOutput, Rules: []Rule{rule(tcp(), jump(ChainOutbound))}},
		Chain{Name: ChainOutbound, Rules: outboundRules(o)},
		Chain{Name: ChainProxyInbound, Rules: []Rule{rule(tcp(), redirectTo(o.InboundPort))}},
		Chain{Name: ChainProxyOutbound, Rules: []Rule{rule(tcp(), redirectTo(o.OutboundPort))}},
	)
	return rs, nil
}

// inboundRules capture TCP arriving for the pod's ports; none when no port is included.
func inboundRules(o Options) []Rule {
	include := o.IncludeInboundPorts
	if !include.All && len(include.Ports) == 0 {
		return nil
	}
	var rules []Rule
	for _, p := range o.ExcludeInboundPorts {
		rules = append(rules, rule(tcpDport(p), ret()))
	}
	if include.All {
		return append(rules, rule(jump(ChainProxyInbound)))
	}
	for _, p := range include.Ports {
		if !slices.Contains(o.ExcludeInboundPorts, p) {
			rules = append(rules, rule(tcpDport(p), jump(ChainProxyInbound)))
		}
	}
	return rules
}

// outboundRules capture TCP the pod sends, in the order Istio's capture decides: explicit port
// exclusions, then the proxy's own and loopback traffic, then CIDR exclusions, then inclusions.
func outboundRules(o Options) []Rule {
	var rules []Rule
	// Excluded ports come first, so that even the proxy's calls back to its own pod on those
	// ports bypass the inbound listener.
	for _, p := range o.ExcludeOutboundPorts {
		rules = append(rules, rule(tcpDport(p), ret()))
	}
	// The proxy's inbound passthrough connects to the app over loopback from 127.0.0.6 (::6):
	// capturing it would loop the connection back into the proxy.
	rules = append(rules,
		rule(oifname("lo"), addr(source, passthrough4, false), ret()),
		rule(oifname("lo"), addr(source, passthrough6, false), ret()))
	for _, gid := range []bool{false, true} {
		id := o.ProxyUID
		if gid {
			id = o.ProxyGID
		}
		rules = append(rules,
			// The proxy calling its own pod's address (an app calling itself through a Service)
			// travels over lo: send it through the inbound listener so inbound policy applies.
			rule(oifname("lo"), addr(destination, loopback4, true), owner(gid, id, false), jump(ChainProxyInbound)),
			rule(oifname("lo"), addr(destination, loopback6, true), owner(gid, id, false), jump(ChainProxyInbound)),
			// The app calling itself over lo (its pod address or localhost) stays local.
			rule(oifname("lo"), owner(gid, id, true), ret()),
			// Everything else the proxy sends goes out as it is: capturing it would loop.
			rule(owner(gid, id, false), ret()))
	}
	// Localhost is never captured.
	rules = append(rules,
		rule(addr(destination, loopback4, false), ret()),
		rule(addr(destination, loopback6, false), ret()))
	for _, p := range o.ExcludeOutboundCIDRs {
		rules = append(rules, rule(addr(destination, p, false), ret()))
	}
	for _, p := range o.IncludeOutboundPorts {
		rules = append(rules, rule(tcpDport(p), jump(ChainProxyOutbound)))
	}
	if o.IncludeOutboundCIDRs.All {
		return append(rules, rule(jump(ChainProxyOutbound)))
	}
	for _, p := range o.IncludeOutboundCIDRs.Prefixes {
		rules = append(rules, rule(addr(destination, p, false), jump(ChainProxyOutbound)))
	}
	return rules
}

// String prints the ruleset in the syntax of `nft list table` (and of `nft -f`).
func (rs *Ruleset) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "table inet %s {\n", rs.Table)
	for i, c := range rs.Chains {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "\tchain %s {\n", c.Name)
		if c.Hook != nil {
			fmt.Fprintf(&b, "\t\ttype nat hook %s priority %d; policy accept;\n", hookName(c.Hook), NATPriority)
		}
		for _, r := range c.Rules {
			fmt.Fprintf(&b, "\t\t%s\n", r.Text)
		}
		b.WriteString("\t}\n")
	}
	b.WriteString("}\n")
	return b.String()
}

func hookName(h *nftables.ChainHook) string {
	switch *h {
	case *nftables.ChainHookPrerouting:
		return "prerouting"
	case *nftables.ChainHookOutput:
		return "output"
	}
	return fmt.Sprintf("hook-%d", *h)
}
