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
	"flag"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
)

// Main runs `manager capture [flags]`, the injected init container: it installs the capture in
// the pod's network namespace (or prints it with --dry-run) and returns the exit code: 0 done,
// 1 the kernel refused the rules, 2 bad flags.
func Main(args []string, stdout, stderr io.Writer) int {
	o, dryRun, err := ParseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return 2
	}
	rs, err := Build(o)
	if err != nil {
		fmt.Fprintf(stderr, "capture: %v\n", err)
		return 2
	}
	if dryRun {
		fmt.Fprint(stdout, rs)
		return 0
	}
	if err := Install(rs); err != nil {
		fmt.Fprintf(stderr, "capture: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "capture: installed table inet %s (outbound TCP to :%d, inbound TCP to :%d)\n",
		rs.Table, o.OutboundPort, o.InboundPort)
	return 0
}

// ParseFlags reads the capture subcommand's flags. Errors are also written to output, with the
// usage.
func ParseFlags(args []string, output io.Writer) (o Options, dryRun bool, err error) {
	o = DefaultOptions()
	fs := flag.NewFlagSet("capture", flag.ContinueOnError)
	fs.SetOutput(output)
	fs.Usage = func() {
		fmt.Fprintln(output, "Usage: manager capture [flags]\n\nInstalls the sidecar's traffic capture (nftables table inet "+TableName+") in this network namespace.\n\nFlags:")
		fs.PrintDefaults()
	}
	fs.Var(idFlag{&o.ProxyUID}, "proxy-uid", "`UID` of the proxy: its traffic is never captured.")
	fs.Var(idFlag{&o.ProxyGID}, "proxy-gid", "`GID` of the proxy: its traffic is never captured.")
	fs.Var(portFlag{&o.OutboundPort}, "outbound-port", "The proxy's outbound capture `port`.")
	fs.Var(portFlag{&o.InboundPort}, "inbound-port", "The proxy's inbound capture `port`.")
	fs.Var(cidrsFlag{&o.IncludeOutboundCIDRs.Prefixes, &o.IncludeOutboundCIDRs.All}, "include-outbound-cidrs",
		"Comma-separated destination `CIDRs` whose outbound TCP is captured; \"*\" captures every destination.")
	fs.Var(cidrsFlag{&o.ExcludeOutboundCIDRs, nil}, "exclude-outbound-cidrs",
		"Comma-separated destination `CIDRs` never captured.")
	fs.Var(portsFlag{&o.IncludeOutboundPorts, nil}, "include-outbound-ports",
		"Comma-separated destination `ports` captured whatever the destination address.")
	fs.Var(portsFlag{&o.ExcludeOutboundPorts, nil}, "exclude-outbound-ports",
		"Comma-separated destination `ports` never captured.")
	fs.Var(portsFlag{&o.IncludeInboundPorts.Ports, &o.IncludeInboundPorts.All}, "include-inbound-ports",
		"Comma-separated pod `ports` whose inbound TCP is captured; \"*\" captures every port, empty none.")
	fs.Var(portsFlag{&o.ExcludeInboundPorts, nil}, "exclude-inbound-ports",
		"Comma-separated pod `ports` never captured (the proxy's own: stats, health, agent).")
	fs.BoolVar(&dryRun, "dry-run", false, "Print the nftables rules instead of installing them.")
	if err := fs.Parse(args); err != nil {
		return Options{}, false, err
	}
	if fs.NArg() > 0 {
		err := fmt.Errorf("unexpected arguments %q: every setting is a --flag", fs.Args())
		fmt.Fprintf(output, "capture: %v\n", err)
		return Options{}, false, err
	}
	return o, dryRun, nil
}

// The flag values below parse straight into Options, so the flag package reports a bad value
// with the flag's name, and -help shows the defaults.

type idFlag struct{ into *uint32 }

func (f idFlag) String() string {
	if f.into == nil {
		return ""
	}
	return strconv.FormatUint(uint64(*f.into), 10)
}

func (f idFlag) Set(s string) error {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return fmt.Errorf("%q is not a numeric ID from 0 to %d", s, uint32(1<<32-1))
	}
	*f.into = uint32(n)
	return nil
}

type portFlag struct{ into *uint16 }

func (f portFlag) String() string {
	if f.into == nil {
		return ""
	}
	return strconv.Itoa(int(*f.into))
}

func (f portFlag) Set(s string) (err error) {
	*f.into, err = ParsePort(s)
	return err
}

// portsFlag fills a port list; all, when set, receives "*".
type portsFlag struct {
	into *[]uint16
	all  *bool
}

func (f portsFlag) String() string {
	if f.into == nil {
		return ""
	}
	if f.all != nil && *f.all {
		return "*"
	}
	s := make([]string, len(*f.into))
	for i, p := range *f.into {
		s[i] = strconv.Itoa(int(p))
	}
	return strings.Join(s, ",")
}

func (f portsFlag) Set(s string) error {
	p, err := ParsePorts(s, f.all != nil)
	if err != nil {
		return err
	}
	*f.into = p.Ports
	if f.all != nil {
		*f.all = p.All
	}
	return nil
}

// cidrsFlag fills a CIDR list; all, when set, receives "*".
type cidrsFlag struct {
	into *[]netip.Prefix
	all  *bool
}

func (f cidrsFlag) String() string {
	if f.into == nil {
		return ""
	}
	if f.all != nil && *f.all {
		return "*"
	}
	s := make([]string, len(*f.into))
	for i, p := range *f.into {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

func (f cidrsFlag) Set(s string) error {
	c, err := ParseCIDRs(s, f.all != nil)
	if err != nil {
		return err
	}
	*f.into = c.Prefixes
	if f.all != nil {
		*f.all = c.All
	}
	return nil
}
