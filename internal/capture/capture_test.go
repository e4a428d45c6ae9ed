package capture

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestGolden pins the rules each flag set produces, in nft syntax: testdata/<case>.args (one
// flag a line) → <case>.nft. Regenerate with go test ./internal/capture -update and review the
// diff like code. test/capture proves the kernel lists the same text once installed.
func TestGolden(t *testing.T) {
	cases, err := filepath.Glob("testdata/*.args")
	if err != nil || len(cases) == 0 {
		t.Fatalf("no testdata/*.args (%v)", err)
	}
	for _, in := range cases {
		name := strings.TrimSuffix(filepath.Base(in), ".args")
		t.Run(name, func(t *testing.T) {
			args, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			rs := mustBuild(t, strings.Fields(string(args))...)
			out := strings.TrimSuffix(in, ".args") + ".nft"
			if *update {
				if err := os.WriteFile(out, []byte(rs.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(out)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if got := rs.String(); got != string(want) {
				t.Errorf("%s differs (run with -update to accept):\n%s", out, got)
			}
		})
	}
}

func mustBuild(t *testing.T, args ...string) *Ruleset {
	t.Helper()
	o, _, err := ParseFlags(args, io.Discard)
	if err != nil {
		t.Fatalf("ParseFlags(%q): %v", args, err)
	}
	rs, err := Build(o)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return rs
}

// TestExpressions checks the kernel expressions behind the rules the capture depends on, byte by
// byte: registers, header offsets, byte order.
func TestExpressions(t *testing.T) {
	defaults := mustBuild(t)
	lists := mustBuild(t, "--include-outbound-cidrs=10.96.0.0/12", "--exclude-outbound-cidrs=fd00::/8")
	tcp := []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_TCP}},
	}
	lo := []expr.Any{
		&expr.Meta{Key: expr.MetaKeyOIFNAME, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte("lo\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00")},
	}
	ipv4 := []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.NFPROTO_IPV4}},
	}
	ipv6 := []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.NFPROTO_IPV6}},
	}
	skuid := &expr.Meta{Key: expr.MetaKeySKUID, Register: 1}
	uid1337 := binaryutil.NativeEndian.PutUint32(1337) // meta values are in host byte order
	ret := &expr.Verdict{Kind: expr.VerdictReturn}
	join := func(parts ...[]expr.Any) []expr.Any {
		var out []expr.Any
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	for _, c := range []struct {
		rs    *Ruleset
		chain string
		text  string
		want  []expr.Any
	}{
		{defaults, ChainProxyOutbound, "meta l4proto tcp redirect to :15001", join(tcp, []expr.Any{
			&expr.Immediate{Register: 1, Data: []byte{0x3a, 0x99}}, // 15001, network byte order
			&expr.Redir{RegisterProtoMin: 1, Flags: unix.NF_NAT_RANGE_PROTO_SPECIFIED},
		})},
		{defaults, ChainProxyInbound, "meta l4proto tcp redirect to :15006", join(tcp, []expr.Any{
			&expr.Immediate{Register: 1, Data: []byte{0x3a, 0x9e}},
			&expr.Redir{RegisterProtoMin: 1, Flags: unix.NF_NAT_RANGE_PROTO_SPECIFIED},
		})},
		{defaults, ChainInbound, "tcp dport 15090 return", join(tcp, []expr.Any{
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{0x3a, 0xf2}},
			ret,
		})},
		{defaults, ChainOutbound, "meta skuid 1337 return", []expr.Any{
			skuid, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: uid1337}, ret,
		}},
		{defaults, ChainOutbound, `oifname "lo" meta skuid != 1337 return`, join(lo, []expr.Any{
			skuid, &expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: uid1337}, ret,
		})},
		{defaults, ChainOutbound, `oifname "lo" ip daddr != 127.0.0.1 meta skuid 1337 jump proxy-inbound`, join(lo, ipv4, []expr.Any{
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
			&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: []byte{127, 0, 0, 1}},
			skuid, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: uid1337},
			&expr.Verdict{Kind: expr.VerdictJump, Chain: ChainProxyInbound},
		})},
		{defaults, ChainOutbound, `oifname "lo" ip6 saddr ::6 return`, join(lo, ipv6, []expr.Any{
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 8, Len: 16},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{15: 6}},
			ret,
		})},
		{lists, ChainOutbound, "ip daddr 10.96.0.0/12 jump proxy-outbound", join(ipv4, []expr.Any{
			// Not on a byte boundary: the whole address, masked.
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: []byte{0xff, 0xf0, 0, 0}, Xor: []byte{0, 0, 0, 0}},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{10, 0x60, 0, 0}},
			&expr.Verdict{Kind: expr.VerdictJump, Chain: ChainProxyOutbound},
		})},
		{lists, ChainOutbound, "ip6 daddr fd00::/8 return", join(ipv6, []expr.Any{
			// On a byte boundary: only the prefix's byte.
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 24, Len: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{0xfd}},
			ret,
		})},
	} {
		t.Run(c.text, func(t *testing.T) {
			got := findRule(t, c.rs, c.chain, c.text)
			if !reflect.DeepEqual(got.Exprs, c.want) {
				t.Errorf("expressions:\n%s\nwant:\n%s", dump(got.Exprs), dump(c.want))
			}
		})
	}
}

func findRule(t *testing.T, rs *Ruleset, chain, text string) Rule {
	t.Helper()
	for _, c := range rs.Chains {
		if c.Name != chain {
			continue
		}
		for _, r := range c.Rules {
			if r.Text == text {
				return r
			}
		}
	}
	t.Fatalf("no rule %q in chain %s:\n%s", text, chain, rs)
	return Rule{}
}

func dump(exprs []expr.Any) string {
	var b strings.Builder
	for _, e := range exprs {
		fmt.Fprintf(&b, "  %T %+v\n", e, e)
	}
	return b.String()
}

// TestContractDefaults pins the subcommand's contract with the injection webhook: the flags it
// passes are the defaults, and no flag at all means the same.
func TestContractDefaults(t *testing.T) {
	contract := []string{"--proxy-uid=1337", "--proxy-gid=1337", "--outbound-port=15001", "--inbound-port=15006",
		"--include-outbound-cidrs=*", "--exclude-outbound-cidrs=", "--include-inbound-ports=*",
		"--exclude-inbound-ports=15090,15021,15020", "--exclude-outbound-ports=", "--include-outbound-ports="}
	for _, args := range [][]string{nil, contract} {
		o, dryRun, err := ParseFlags(args, io.Discard)
		if err != nil {
			t.Fatalf("ParseFlags(%q): %v", args, err)
		}
		if !reflect.DeepEqual(o, DefaultOptions()) || dryRun {
			t.Errorf("ParseFlags(%q) = %+v, dry run %v; want the defaults %+v", args, o, dryRun, DefaultOptions())
		}
	}
	if _, dryRun, err := ParseFlags([]string{"--dry-run"}, io.Discard); err != nil || !dryRun {
		t.Errorf("--dry-run: dry run %v, error %v", dryRun, err)
	}
}

// TestBadFlags checks each mistake is refused with a message naming the flag and the value.
func TestBadFlags(t *testing.T) {
	for _, c := range []struct {
		arg  string
		want string
	}{
		{"--exclude-outbound-cidrs=10.0.0.0/33", `"10.0.0.0/33" is not a CIDR`},
		{"--include-outbound-cidrs=10.0.0.0/8,nonsense", `"nonsense" is neither a CIDR nor an IP address`},
		{"--exclude-outbound-cidrs=*", `"*" is not allowed here`},
		{"--include-outbound-cidrs=*,10.0.0.0/8", `"*" already means every address`},
		{"--include-outbound-cidrs=::ffff:10.0.0.0/104", "IPv4-mapped"},
		{"--outbound-port=70000", `port "70000" is not a number from 1 to 65535`},
		{"--inbound-port=0", `port "0" is not a number from 1 to 65535`},
		{"--exclude-inbound-ports=15090,http", `port "http" is not a number from 1 to 65535`},
		{"--include-outbound-ports=-1", `port "-1" is not a number from 1 to 65535`},
		{"--exclude-outbound-ports=*", `"*" is not allowed here`},
		{"--include-inbound-ports=*,80", `"*" already means every port`},
		{"--proxy-uid=-1", `"-1" is not a numeric ID`},
		{"--proxy-gid=4294967296", `"4294967296" is not a numeric ID`},
		{"--inbound-port=15001", "the outbound and inbound capture ports must differ"},
		{"extra", `unexpected arguments ["extra"`},
	} {
		t.Run(c.arg, func(t *testing.T) {
			var out strings.Builder
			code := Main([]string{c.arg, "--dry-run"}, io.Discard, &out)
			if code != 2 || !strings.Contains(out.String(), c.want) {
				t.Errorf("exit code %d, output %q; want 2 and %q", code, out.String(), c.want)
			}
			if flagName, _, ok := strings.Cut(strings.TrimPrefix(c.arg, "--"), "="); ok &&
				!strings.Contains(out.String(), flagName) && !strings.Contains(c.want, "must differ") {
				t.Errorf("the message %q does not name the flag %s", out.String(), flagName)
			}
		})
	}
}
