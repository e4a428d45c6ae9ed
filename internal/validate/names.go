package validate

import (
	"errors"
	"fmt"
	"net/netip"
	"path"
	"strconv"
	"strings"
)

// The name rules below follow Istio's, which are looser than Kubernetes' in one respect: DNS labels
// may hold upper-case letters. A manifest Istio accepts must be accepted here.

const (
	maxLabelLen      = 63
	maxDomainLen     = 255
	maxLabelPrefix   = 253
	meshGateway      = "mesh"
	unixBindPrefix   = "unix://"
	outboundSNIShape = "outbound_.<port>_._.<hostname>"
)

func isASCIILetter(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' }

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// isDNSLabel: 1–63 letters, digits and '-', starting and ending with a letter or digit.
func isDNSLabel(s string) bool {
	if len(s) == 0 || len(s) > maxLabelLen || !isAlnum(s[0]) || !isAlnum(s[len(s)-1]) {
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		if !isAlnum(s[i]) && s[i] != '-' {
			return false
		}
	}
	return true
}

// isWildcardLabel: a DNS label, "*", or a DNS label behind "*" or "*-" (Istio's "*foo" and "*-foo").
func isWildcardLabel(s string) bool {
	if len(s) > maxLabelLen {
		return false
	}
	switch {
	case s == "*":
		return true
	case strings.HasPrefix(s, "*-"):
		return isDNSLabel(s[2:])
	case strings.HasPrefix(s, "*"):
		return isDNSLabel(s[1:])
	}
	return isDNSLabel(s)
}

func checkDomainLength(d string) error {
	if d == "" {
		return errors.New("empty domain name not allowed")
	}
	if len(d) > maxDomainLen {
		return fmt.Errorf("domain name %q too long (max %d)", d, maxDomainLen)
	}
	return nil
}

// checkDNSLabels checks dot-separated DNS labels; a single trailing dot is allowed and the last
// label may not be all digits.
func checkDNSLabels(d string) error {
	labels := strings.Split(d, ".")
	if _, err := strconv.Atoi(labels[len(labels)-1]); err == nil {
		return fmt.Errorf("domain name %q invalid (top level domain %q cannot be all-numeric)", d, labels[len(labels)-1])
	}
	for i, l := range labels {
		if i == len(labels)-1 && l == "" {
			break
		}
		if !isDNSLabel(l) {
			return fmt.Errorf("domain name %q invalid (label %q invalid)", d, l)
		}
	}
	return nil
}

// checkFQDN: a domain of DNS labels, no wildcard (a single label such as "mesh" passes).
func checkFQDN(d string) error {
	if err := checkDomainLength(d); err != nil {
		return err
	}
	return checkDNSLabels(d)
}

// checkWildcardDomain: like checkFQDN, but the leftmost label may be a wildcard label.
func checkWildcardDomain(d string) error {
	if err := checkDomainLength(d); err != nil {
		return err
	}
	first, rest, more := strings.Cut(d, ".")
	if !isWildcardLabel(first) {
		return fmt.Errorf("domain name %q invalid (label %q invalid; '*' may only lead the leftmost label)", d, first)
	}
	if more {
		return checkDNSLabels(rest)
	}
	return nil
}

// checkGatewayBoundDomain is checkWildcardDomain, but when the VirtualService routes TLS by SNI it
// also accepts the SNI names Istio generates for AUTO_PASSTHROUGH, outbound_.<port>_._.<hostname>.
func checkGatewayBoundDomain(sni bool, d string) error {
	if err := checkDomainLength(d); err != nil {
		return err
	}
	if sni && strings.HasPrefix(d, "outbound_") {
		parts := strings.Split(d, "_")
		if len(parts) < 4 {
			return fmt.Errorf("domain name %q invalid, should have the form %s", d, outboundSNIShape)
		}
		port, hostname := strings.Trim(parts[1], "."), strings.Trim(parts[3], ".")
		if !strings.ContainsAny(port, "0123456789") {
			return fmt.Errorf("domain name %q invalid (port %q), should have the form %s", d, port, outboundSNIShape)
		}
		if !strings.ContainsFunc(hostname, isASCIILetter) {
			return fmt.Errorf("domain name %q invalid (hostname %q), should have the form %s", d, hostname, outboundSNIShape)
		}
		return nil
	}
	return checkWildcardDomain(d)
}

func isIP(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

// checkGatewayServerHost checks a Gateway server host: "[namespace/]dnsName", namespace "*", "." or
// a DNS label; dnsName "*", a wildcard domain with at least one dot, or an IP address; a wildcard
// only as the whole leftmost label ("*.example.com", not "*example.com").
func checkGatewayServerHost(h string) error {
	name := h
	if ns, dns, ok := strings.Cut(h, "/"); ok {
		if ns == "" || dns == "" {
			return errors.New("namespace and dnsName in a host entry cannot be empty")
		}
		if ns != "*" && ns != "." && !isDNSLabel(ns) {
			return fmt.Errorf("invalid namespace %q: must be \"*\", \".\" or a DNS label", ns)
		}
		name = dns
	}
	if name != "*" && !strings.Contains(name, ".") {
		return fmt.Errorf("short name %q not allowed: use a fully qualified name", name)
	}
	if err := checkWildcardDomain(name); err != nil && !isIP(name) {
		return err
	}
	if strings.Contains(name, "*") && name != "*" && !strings.HasPrefix(name, "*.") {
		return fmt.Errorf("partial wildcard %q not allowed", name)
	}
	return nil
}

// checkGatewayName checks a reference to a Gateway: "namespace/name" with two DNS labels, or a
// (possibly dotted) name such as "mesh", "my-gateway" or the legacy "my-gateway.my-namespace".
func checkGatewayName(g string) error {
	ns, name, ok := strings.Cut(g, "/")
	if !ok {
		return checkFQDN(g)
	}
	if ns == "" || name == "" {
		return errors.New("namespace and gateway name cannot be empty")
	}
	if !isDNSLabel(ns) {
		return fmt.Errorf("invalid namespace %q", ns)
	}
	if !isDNSLabel(name) {
		return fmt.Errorf("invalid gateway name %q", name)
	}
	return nil
}

// isQualifiedName: a Kubernetes-style qualified name part, 1 or more of [-A-Za-z0-9_.] starting and
// ending with a letter or digit.
func isQualifiedName(s string) bool {
	if s == "" || !isAlnum(s[0]) || !isAlnum(s[len(s)-1]) {
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		if c := s[i]; !isAlnum(c) && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	return true
}

// checkLabelKey: "[prefix/]name", prefix a dotted DNS name of at most 253 characters, name a
// qualified name of at most 63.
func checkLabelKey(k string) error {
	name := k
	if prefix, n, ok := strings.Cut(k, "/"); ok {
		if prefix == "" || len(prefix) > maxLabelPrefix {
			return fmt.Errorf("invalid label key %q: bad prefix", k)
		}
		for l := range strings.SplitSeq(prefix, ".") {
			if !isDNSLabel(l) {
				return fmt.Errorf("invalid label key %q: prefix must be a DNS name", k)
			}
		}
		name = n
	}
	if !isQualifiedName(name) || len(name) > maxLabelLen {
		return fmt.Errorf("invalid label key %q", k)
	}
	return nil
}

// checkLabelValue: empty or a qualified name (Istio sets no length limit).
func checkLabelValue(v string) error {
	if v != "" && !isQualifiedName(v) {
		return fmt.Errorf("invalid label value %q", v)
	}
	return nil
}

// checkSubnet: an IP address or a CIDR block.
func checkSubnet(s string) error {
	if strings.Count(s, "/") == 1 {
		if _, err := netip.ParsePrefix(s); err != nil {
			return fmt.Errorf("%q is not a valid CIDR block", s)
		}
		return nil
	}
	if !isIP(s) {
		return fmt.Errorf("%q is not a valid IP address", s)
	}
	return nil
}

// checkBind: an IP address, or "unix://" followed by an absolute file path or an abstract socket
// name "@...". (That the port number is 0 with a unix socket is a CEL rule.)
func checkBind(bind string) error {
	if sock, ok := strings.CutPrefix(bind, unixBindPrefix); ok {
		switch {
		case sock == "":
			return errors.New("unix socket address must not be empty")
		case strings.HasPrefix(sock, "@"):
		case !path.IsAbs(sock) || strings.HasSuffix(sock, "/"):
			return fmt.Errorf("%q is not an absolute path to a file", sock)
		}
		return nil
	}
	if !isIP(bind) {
		return fmt.Errorf("%q is not a valid IP address", bind)
	}
	return nil
}

// hostsOverlap reports whether two host names can name the same host: equal, or a wildcard
// ("*.example.com", "*") whose suffix the other ends with.
func hostsOverlap(a, b string) bool {
	aw, bw := strings.HasPrefix(a, "*"), strings.HasPrefix(b, "*")
	switch {
	case aw && bw:
		if len(a) < len(b) {
			return strings.HasSuffix(b[1:], a[1:])
		}
		return strings.HasSuffix(a[1:], b[1:])
	case aw:
		return strings.HasSuffix(b, a[1:])
	case bw:
		return strings.HasSuffix(a, b[1:])
	}
	return a == b
}

// hostWithin reports whether every name host a matches is also matched by host b.
func hostWithin(a, b string) bool {
	aw, bw := strings.HasPrefix(a, "*"), strings.HasPrefix(b, "*")
	switch {
	case aw && bw:
		return len(a) >= len(b) && strings.HasSuffix(a[1:], b[1:])
	case aw:
		return false
	case bw:
		return strings.HasSuffix(a, b[1:])
	}
	return a == b
}
