// Package capture tests the sidecar traffic capture for real: network namespaces standing for a
// pod and the network around it, the capture subcommand installing its nftables rules in the
// pod's namespace, and TCP connections showing where each one lands. They need root and skip
// without it.
package capture

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/google/nftables"

	"github.com/mizzen-mesh/mizzen/internal/capture"
)

// Test addresses, only ever configured inside the test namespaces.
const (
	podAddr      = "10.240.0.2"
	networkAddr  = "10.240.0.1"
	remoteAddr   = "198.51.100.7" // an arbitrary address out in the network
	excludedAddr = "192.0.2.9"    // inside the excluded CIDR below
	excludedCIDR = "192.0.2.0/24"
	excludedPort = "5432"
)

// topology is a pod namespace joined by a veth pair to a namespace playing the network, which
// answers for remoteAddr and excludedAddr.
type topology struct {
	pod, network *netns
}

func newTopology(t *testing.T) topology {
	top := topology{pod: newNetns(t, "pod"), network: newNetns(t, "net")}
	top.pod.ip(t, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", top.network.name)
	top.pod.ip(t, "addr", "add", podAddr+"/24", "dev", "eth0")
	top.pod.ip(t, "link", "set", "eth0", "up")
	top.pod.ip(t, "route", "add", "default", "via", networkAddr)
	top.network.ip(t, "addr", "add", networkAddr+"/24", "dev", "eth0")
	top.network.ip(t, "link", "set", "eth0", "up")
	top.network.ip(t, "addr", "add", remoteAddr+"/32", "dev", "lo")
	top.network.ip(t, "addr", "add", excludedAddr+"/32", "dev", "lo")
	return top
}

func TestCaptureRedirectsPodTraffic(t *testing.T) {
	top := newTopology(t)
	arrivals := make(chan arrival, 16)
	const outboundCapture, inboundCapture = "outbound capture :15001", "inbound capture :15006"
	top.pod.listen(t, outboundCapture, "0.0.0.0:15001", arrivals)
	top.pod.listen(t, inboundCapture, "0.0.0.0:15006", arrivals)
	top.pod.listen(t, "proxy health :15021", "0.0.0.0:15021", arrivals)
	top.pod.listen(t, "app :8080", "0.0.0.0:8080", arrivals)
	top.pod.listen(t, "app on localhost :9000", "127.0.0.1:9000", arrivals)
	top.network.listen(t, "remote :80", "0.0.0.0:80", arrivals)
	top.network.listen(t, "remote :"+excludedPort, "0.0.0.0:"+excludedPort, arrivals)

	// The injection webhook's flags: the defaults plus one excluded CIDR and port.
	code, out := top.pod.runHelper(t, "capture", nil,
		"--proxy-uid=1337", "--proxy-gid=1337", "--outbound-port=15001", "--inbound-port=15006",
		"--include-outbound-cidrs=*", "--exclude-outbound-cidrs="+excludedCIDR,
		"--include-inbound-ports=*", "--exclude-inbound-ports=15090,15021,15020",
		"--exclude-outbound-ports="+excludedPort, "--include-outbound-ports=")
	if code != 0 {
		t.Fatalf("capture exited with %d: %s", code, out)
	}

	proxy := &syscall.Credential{Uid: capture.DefaultProxyUID, Gid: capture.DefaultProxyGID}
	for _, c := range []struct {
		name string
		from *netns
		as   *syscall.Credential // nil: root, standing for the app
		to   string
		want string // the listener that must receive the connection
	}{
		{"app to a remote address goes to the outbound listener", top.pod, nil, remoteAddr + ":80", outboundCapture},
		{"proxy UID to a remote address is not captured", top.pod, proxy, remoteAddr + ":80", "remote :80"},
		{"proxy GID alone is enough not to be captured", top.pod, &syscall.Credential{Uid: 1000, Gid: capture.DefaultProxyGID},
			remoteAddr + ":80", "remote :80"},
		{"excluded outbound port is not captured", top.pod, nil, remoteAddr + ":" + excludedPort, "remote :" + excludedPort},
		{"excluded outbound CIDR is not captured", top.pod, nil, excludedAddr + ":80", "remote :80"},
		{"app to localhost is not captured", top.pod, nil, "127.0.0.1:9000", "app on localhost :9000"},
		{"app to its own pod address stays local", top.pod, nil, podAddr + ":8080", "app :8080"},
		{"proxy to its own pod address goes to the inbound listener", top.pod, proxy, podAddr + ":8080", inboundCapture},
		{"inbound to an app port goes to the inbound listener", top.network, nil, podAddr + ":8080", inboundCapture},
		{"inbound to the proxy's health port is not captured", top.network, nil, podAddr + ":15021", "proxy health :15021"},
	} {
		t.Run(c.name, func(t *testing.T) {
			token := strings.ReplaceAll(c.name, " ", "-")
			if c.as == nil {
				c.from.dial(t, c.to, token)
			} else {
				c.from.dialAs(t, c.as.Uid, c.as.Gid, c.to, token)
			}
			got := waitFor(t, arrivals, token)
			if got.listener != c.want {
				t.Fatalf("the connection to %s landed on %s (local address %s), want %s", c.to, got.listener, got.local, c.want)
			}
			to := netip.MustParseAddrPort(c.to)
			if c.want == outboundCapture || c.want == inboundCapture {
				// A redirect of this very connection: the kernel kept its original destination.
				if got.originalDst != to {
					t.Errorf("original destination (SO_ORIGINAL_DST) = %s, want %s", got.originalDst, to)
				}
			} else if got.local != to {
				t.Errorf("the connection reached %s, want %s itself", got.local, to)
			}
		})
	}
}

// goldenDir holds the pure package's golden cases: flags (<case>.args) and the rules --dry-run
// prints for them (<case>.nft).
const goldenDir = "../../internal/capture/testdata"

// TestInstalledRulesAreTheGoldenFiles installs each golden case and compares the kernel's own
// rendering of the table (`nft list`) with the golden file, which --dry-run prints: the printed
// rules and the expressions sent over netlink say the same thing.
func TestInstalledRulesAreTheGoldenFiles(t *testing.T) {
	pod := newNetns(t, "pod")
	if _, err := exec.LookPath("nft"); err != nil {
		t.Skip("needs the nft command (nftables) to read the installed rules back")
	}
	cases, err := filepath.Glob(filepath.Join(goldenDir, "*.args"))
	if err != nil || len(cases) == 0 {
		t.Fatalf("no golden cases in %s (%v)", goldenDir, err)
	}
	for _, in := range cases {
		t.Run(strings.TrimSuffix(filepath.Base(in), ".args"), func(t *testing.T) {
			args, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(strings.TrimSuffix(in, ".args") + ".nft")
			if err != nil {
				t.Fatal(err)
			}
			if code, out := pod.runHelper(t, "capture", nil, strings.Fields(string(args))...); code != 0 {
				t.Fatalf("capture exited with %d: %s", code, out)
			}
			listed, err := exec.Command("ip", "netns", "exec", pod.name, "nft", "list", "table", "inet", capture.TableName).CombinedOutput()
			if err != nil {
				t.Fatalf("nft list: %v: %s", err, listed)
			}
			// nft names the standard NAT priority.
			got := strings.ReplaceAll(string(listed), "priority dstnat;", "priority -100;")
			if got != string(want) {
				t.Errorf("nft lists\n%s\nbut the golden file (what --dry-run prints) says\n%s", got, want)
			}
		})
	}
}

// TestInstallReplacesTheTable installs twice, then different rules, and checks the namespace holds
// exactly one capture table with exactly the last rules.
func TestInstallReplacesTheTable(t *testing.T) {
	pod := newNetns(t, "pod")
	inNetns := nftables.WithNetNSFd(int(pod.file.Fd()))
	full, err := capture.Build(capture.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	noInbound := capture.DefaultOptions()
	noInbound.IncludeInboundPorts = capture.Ports{}
	outboundOnly, err := capture.Build(noInbound)
	if err != nil {
		t.Fatal(err)
	}
	for i, rs := range []*capture.Ruleset{full, full, outboundOnly} {
		if err := capture.Install(rs, inNetns); err != nil {
			t.Fatalf("install %d: %v", i+1, err)
		}
		if got, want := installed(t, inNetns), summary(rs); !slices.Equal(got, want) {
			t.Fatalf("after install %d the namespace holds %v, want %v", i+1, got, want)
		}
	}
}

// TestInstallWithoutNetAdmin runs the capture as an unprivileged user: it must fail with an
// explanation and leave nothing behind.
func TestInstallWithoutNetAdmin(t *testing.T) {
	pod := newNetns(t, "pod")
	code, out := pod.runHelper(t, "capture", &syscall.Credential{Uid: 1337, Gid: 1337})
	if code != 1 || !strings.Contains(out, "CAP_NET_ADMIN") {
		t.Fatalf("capture without CAP_NET_ADMIN exited with %d, output %q; want 1 and an explanation naming CAP_NET_ADMIN", code, out)
	}
	if got := installed(t, nftables.WithNetNSFd(int(pod.file.Fd()))); len(got) != 0 {
		t.Fatalf("the refused capture left %v behind", got)
	}
}

// installed lists every table, chain and rule count in a namespace as "table/chain: n rules".
func installed(t *testing.T, ns nftables.ConnOption) []string {
	t.Helper()
	c, err := nftables.New(ns)
	if err != nil {
		t.Fatal(err)
	}
	chains, err := c.ListChains()
	if err != nil {
		t.Fatalf("listing chains: %v", err)
	}
	tables, err := c.ListTables()
	if err != nil {
		t.Fatalf("listing tables: %v", err)
	}
	var out []string
	for _, tb := range tables {
		out = append(out, tb.Name)
	}
	for _, ch := range chains {
		rules, err := c.GetRules(ch.Table, ch)
		if err != nil {
			t.Fatalf("listing the rules of %s: %v", ch.Name, err)
		}
		out = append(out, describeChain(ch.Table.Name, ch.Name, len(rules)))
	}
	slices.Sort(out)
	return out
}

// summary is what installed must list once rs is the only thing installed.
func summary(rs *capture.Ruleset) []string {
	out := []string{rs.Table}
	for _, c := range rs.Chains {
		out = append(out, describeChain(rs.Table, c.Name, len(c.Rules)))
	}
	slices.Sort(out)
	return out
}

func describeChain(table, chain string, rules int) string {
	return fmt.Sprintf("%s/%s: %d rules", table, chain, rules)
}
