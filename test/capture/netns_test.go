package capture

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mizzen-mesh/mizzen/internal/capture"
)

// The test binary doubles as the helper processes: a connection opened under another UID, and
// the capture subcommand run inside a namespace, as the init container runs it.
const helperEnv = "MIZZEN_CAPTURE_TEST_HELPER"

// helperBinary is a copy of this test binary that any UID may execute (go test builds into a
// directory only root can enter). Empty when the tests cannot run.
var helperBinary string

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "dial":
		os.Exit(helperDial(os.Args[1], os.Args[2]))
	case "capture":
		os.Exit(capture.Main(os.Args[1:], os.Stdout, os.Stderr))
	}
	cleanup, err := copyHelperBinary()
	if err != nil {
		fmt.Fprintf(os.Stderr, "copying the test binary for helper processes: %v\n", err)
		os.Exit(1)
	}
	code := m.Run()
	cleanup()
	os.Exit(code)
}

// helperDial connects to addr and sends token, so the listener that receives it says where the
// connection went.
func helperDial(addr, token string) int {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err == nil {
		_, err = fmt.Fprintln(c, token)
		err = errors.Join(err, c.Close())
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func copyHelperBinary() (func(), error) {
	if os.Geteuid() != 0 {
		return func() {}, nil
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "mizzen-capture-")
	if err != nil {
		return nil, err
	}
	cleanup := func() { _ = os.RemoveAll(dir) }
	helperBinary = filepath.Join(dir, "helper")
	err = os.Chmod(dir, 0o755)
	if err == nil {
		err = copyFile(self, helperBinary)
	}
	if err != nil {
		cleanup()
		return nil, err
	}
	return cleanup, nil
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer func() { _ = in.Close() }()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o755)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	return errors.Join(err, out.Close())
}

// netns is a named network namespace (`ip netns add`), deleted when the test ends.
type netns struct {
	name string
	file *os.File
}

// requireNetns skips the test where network namespaces cannot be made.
func requireNetns(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the capture tests need root: they create network namespaces and install nftables rules")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("the capture tests need the ip command (iproute2)")
	}
}

func newNetns(t *testing.T, role string) *netns {
	t.Helper()
	requireNetns(t)
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	name := "mizzen-capture-" + hex.EncodeToString(suffix) + "-" + role
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Skipf("cannot create a network namespace here (%v): %s", err, out)
	}
	n := &netns{name: name}
	t.Cleanup(func() {
		if n.file != nil {
			_ = n.file.Close()
		}
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("deleting network namespace %s: %v: %s", name, err, out)
		}
	})
	f, err := os.Open(filepath.Join("/var/run/netns", name))
	if err != nil {
		t.Fatalf("opening network namespace %s: %v", name, err)
	}
	n.file = f
	n.ip(t, "link", "set", "lo", "up")
	return n
}

// ip runs `ip -n <namespace> args...`.
func (n *netns) ip(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", append([]string{"-n", n.name}, args...)...).CombinedOutput(); err != nil {
		t.Fatalf("ip -n %s %s: %v: %s", n.name, strings.Join(args, " "), err, out)
	}
}

// do runs fn on a thread that has entered the namespace: sockets fn creates, and processes it
// starts, belong to the namespace.
func (n *netns) do(t *testing.T, fn func()) {
	t.Helper()
	runtime.LockOSThread()
	own, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatalf("opening this thread's network namespace: %v", err)
	}
	defer func() { _ = own.Close() }()
	if err := unix.Setns(int(n.file.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		t.Fatalf("entering network namespace %s: %v", n.name, err)
	}
	defer func() {
		// A thread that cannot go back stays locked, so it ends with its goroutine.
		if err := unix.Setns(int(own.Fd()), unix.CLONE_NEWNET); err != nil {
			t.Errorf("leaving network namespace %s: %v", n.name, err)
			return
		}
		runtime.UnlockOSThread()
	}()
	fn()
}

// arrival is a connection a test listener accepted, with the token its client sent.
type arrival struct {
	listener    string
	token       string
	local       netip.AddrPort
	originalDst netip.AddrPort // the destination before any REDIRECT (SO_ORIGINAL_DST)
}

// listen opens a TCP listener in the namespace that reports each connection on arrivals.
func (n *netns) listen(t *testing.T, name, addr string, arrivals chan<- arrival) {
	t.Helper()
	var l net.Listener
	var err error
	n.do(t, func() { l, err = net.Listen("tcp", addr) })
	if err != nil {
		t.Fatalf("listening on %s in %s: %v", addr, n.name, err)
	}
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer func() { _ = c.Close() }()
				_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
				token, _ := bufio.NewReader(c).ReadString('\n')
				local := c.LocalAddr().(*net.TCPAddr).AddrPort()
				a := arrival{listener: name, token: strings.TrimSpace(token), local: netip.AddrPortFrom(local.Addr().Unmap(), local.Port())}
				a.originalDst, _ = originalDst(c.(*net.TCPConn))
				arrivals <- a
			}()
		}
	}()
}

// originalDst reads the destination a connection had before NAT rewrote it.
func originalDst(c *net.TCPConn) (netip.AddrPort, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return netip.AddrPort{}, err
	}
	var sa *unix.IPv6Mreq // 20 bytes: room for the sockaddr_in the kernel writes
	var sockErr error
	if err := raw.Control(func(fd uintptr) {
		sa, sockErr = unix.GetsockoptIPv6Mreq(int(fd), unix.SOL_IP, unix.SO_ORIGINAL_DST)
	}); err != nil {
		return netip.AddrPort{}, err
	}
	if sockErr != nil {
		return netip.AddrPort{}, sockErr
	}
	b := sa.Multiaddr // struct sockaddr_in: family, port (big endian), address
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[4:8])), uint16(b[2])<<8|uint16(b[3])), nil
}

// dial connects from the namespace as this process (root) and sends token.
func (n *netns) dial(t *testing.T, addr, token string) {
	t.Helper()
	var err error
	n.do(t, func() {
		var c net.Conn
		if c, err = net.DialTimeout("tcp", addr, 5*time.Second); err == nil {
			_, err = fmt.Fprintln(c, token)
			err = errors.Join(err, c.Close())
		}
	})
	if err != nil {
		t.Fatalf("connecting from %s to %s: %v", n.name, addr, err)
	}
}

// dialAs connects from the namespace in a child process running as uid:gid, as the proxy's own
// connections are made.
func (n *netns) dialAs(t *testing.T, uid, gid uint32, addr, token string) {
	t.Helper()
	if code, out := n.runHelper(t, "dial", &syscall.Credential{Uid: uid, Gid: gid}, addr, token); code != 0 {
		t.Fatalf("connecting from %s to %s as %d:%d failed: %s", n.name, addr, uid, gid, out)
	}
}

// runHelper runs this binary's helper mode in the namespace, as cred (nil: root), and returns
// its exit code and output. The child is forked from a thread inside the namespace, so it starts
// there, as an init container starts in its pod's namespace.
func (n *netns) runHelper(t *testing.T, mode string, cred *syscall.Credential, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(helperBinary, args...)
	cmd.Env = append(os.Environ(), helperEnv+"="+mode)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	var err error
	n.do(t, func() { err = cmd.Start() })
	if err == nil {
		err = cmd.Wait()
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), out.String()
	}
	if err != nil {
		t.Fatalf("running the %s helper in %s: %v", mode, n.name, err)
	}
	return 0, out.String()
}

// waitFor returns the arrival of the connection that sent token.
func waitFor(t *testing.T, arrivals <-chan arrival, token string) arrival {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case a := <-arrivals:
			if a.token == token {
				return a
			}
			t.Errorf("unexpected connection on %s carrying %q", a.listener, a.token)
		case <-timeout:
			t.Fatalf("no listener received the connection carrying %q", token)
		}
	}
}
