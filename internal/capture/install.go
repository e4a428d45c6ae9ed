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
	"errors"
	"fmt"
	"os"

	"github.com/google/nftables"
)

// ErrNotPermitted is returned when the kernel refuses the rules: the caller lacks CAP_NET_ADMIN
// in the network namespace.
var ErrNotPermitted = errors.New("not permitted to change nftables rules: the capture needs CAP_NET_ADMIN in the pod's network namespace")

// Install replaces table inet <rs.Table> with rs in one netlink batch, which the kernel applies
// atomically: the pod never sees half a capture, and running Install again replaces the table
// instead of adding a second copy of each rule. conn selects the network namespace
// (nftables.WithNetNSFd); without it, the caller's.
func Install(rs *Ruleset, conn ...nftables.ConnOption) error {
	c, err := nftables.New(conn...)
	if err != nil {
		return fmt.Errorf("opening netlink to nftables: %w", err)
	}
	table := &nftables.Table{Family: nftables.TableFamilyINet, Name: rs.Table}
	// Adding the table first makes the delete valid whether or not it exists; both are part of
	// the same transaction as the new table, so there is no moment without capture.
	c.AddTable(table)
	c.DelTable(table)
	c.AddTable(table)
	chains := make(map[string]*nftables.Chain, len(rs.Chains))
	for _, ch := range rs.Chains {
		nc := &nftables.Chain{Name: ch.Name, Table: table}
		if ch.Hook != nil {
			accept := nftables.ChainPolicyAccept
			nc.Hooknum = ch.Hook
			nc.Priority = nftables.ChainPriorityRef(NATPriority)
			nc.Type = nftables.ChainTypeNAT
			nc.Policy = &accept
		}
		chains[ch.Name] = c.AddChain(nc)
	}
	// Rules after every chain exists: jumps need their target.
	for _, ch := range rs.Chains {
		for _, r := range ch.Rules {
			c.AddRule(&nftables.Rule{Table: table, Chain: chains[ch.Name], Exprs: r.Exprs})
		}
	}
	if err := c.Flush(); err != nil {
		if errors.Is(err, os.ErrPermission) {
			return fmt.Errorf("installing table inet %s: %w (%w)", rs.Table, ErrNotPermitted, err)
		}
		return fmt.Errorf("installing table inet %s: %w", rs.Table, err)
	}
	return nil
}
