package inject

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/mizzen-mesh/mizzen/internal/translate"
)

// The traffic capture contract between the injector and `manager capture` (the init container):
// the flag names, their defaults, and the user and ports they redirect around. The capture
// subcommand takes its defaults from here, so the two cannot drift.
const (
	// CaptureSubcommand is the manager subcommand the init container runs.
	CaptureSubcommand = "capture"

	FlagProxyUID             = "proxy-uid"
	FlagProxyGID             = "proxy-gid"
	FlagOutboundPort         = "outbound-port"
	FlagInboundPort          = "inbound-port"
	FlagIncludeOutboundCIDRs = "include-outbound-cidrs"
	FlagExcludeOutboundCIDRs = "exclude-outbound-cidrs"
	FlagIncludeInboundPorts  = "include-inbound-ports"
	FlagExcludeInboundPorts  = "exclude-inbound-ports"
	FlagExcludeOutboundPorts = "exclude-outbound-ports"
	FlagIncludeOutboundPorts = "include-outbound-ports"

	// ProxyUID and ProxyGID run Envoy; capture lets this user's traffic through unredirected,
	// which is what keeps Envoy's own upstream connections out of a loop. Istio's values.
	ProxyUID = 1337
	ProxyGID = 1337
	// OutboundPort and InboundPort are translate's virtualOutbound and virtualInbound listeners.
	OutboundPort = translate.OutboundPort
	InboundPort  = translate.InboundPort
	// HealthPort serves HealthPath (translate's health listener, answered from Envoy's /ready).
	HealthPort = translate.HealthPort
	HealthPath = "/healthz/ready"
	// PrometheusPort serves PrometheusPath (translate's stats listener).
	PrometheusPort = translate.PrometheusPort
	PrometheusPath = "/stats/prometheus"
	// AgentPort is Istio's agent port (merged metrics). Mizzen has no agent; the port stays
	// excluded as in Istio, so a pod moved from Istio keeps the same capture rules.
	AgentPort = 15020

	// All, in an include list, means every address or port.
	All = "*"
)

// AlwaysExcludedInboundPorts are never redirected to Envoy's inbound listener: Envoy serves them
// itself, and Prometheus and the kubelet must reach them directly.
var AlwaysExcludedInboundPorts = []int{PrometheusPort, HealthPort, AgentPort}

// Istio's pod annotations that tune traffic capture; each maps onto one capture flag.
const (
	AnnotationIncludeOutboundIPRanges = "traffic.sidecar.istio.io/includeOutboundIPRanges"
	AnnotationExcludeOutboundIPRanges = "traffic.sidecar.istio.io/excludeOutboundIPRanges"
	AnnotationIncludeInboundPorts     = "traffic.sidecar.istio.io/includeInboundPorts"
	AnnotationExcludeInboundPorts     = "traffic.sidecar.istio.io/excludeInboundPorts"
	AnnotationExcludeOutboundPorts    = "traffic.sidecar.istio.io/excludeOutboundPorts"
	AnnotationIncludeOutboundPorts    = "traffic.sidecar.istio.io/includeOutboundPorts"
)

// Capture is what the init container is told to redirect. Lists are comma-joined on the command
// line; an include list holding All means everything.
type Capture struct {
	IncludeOutboundCIDRs []string
	ExcludeOutboundCIDRs []string
	IncludeInboundPorts  []string
	ExcludeInboundPorts  []string
	ExcludeOutboundPorts []string
	IncludeOutboundPorts []string
}

// DefaultCapture redirects all inbound and outbound traffic except the proxy's own ports.
func DefaultCapture() Capture {
	excluded := make([]string, 0, len(AlwaysExcludedInboundPorts))
	for _, p := range AlwaysExcludedInboundPorts {
		excluded = append(excluded, strconv.Itoa(p))
	}
	return Capture{
		IncludeOutboundCIDRs: []string{All},
		IncludeInboundPorts:  []string{All},
		ExcludeInboundPorts:  excluded,
	}
}

// Args are the init container's arguments (after the manager binary): the subcommand and every
// flag, always all of them in a fixed order, so the command line says everything capture does.
func (c Capture) Args() []string {
	flag := func(name string, values []string) string {
		return "--" + name + "=" + strings.Join(values, ",")
	}
	return []string{
		CaptureSubcommand,
		"--" + FlagProxyUID + "=" + strconv.Itoa(ProxyUID),
		"--" + FlagProxyGID + "=" + strconv.Itoa(ProxyGID),
		"--" + FlagOutboundPort + "=" + strconv.Itoa(OutboundPort),
		"--" + FlagInboundPort + "=" + strconv.Itoa(InboundPort),
		flag(FlagIncludeOutboundCIDRs, c.IncludeOutboundCIDRs),
		flag(FlagExcludeOutboundCIDRs, c.ExcludeOutboundCIDRs),
		flag(FlagIncludeInboundPorts, c.IncludeInboundPorts),
		flag(FlagExcludeInboundPorts, c.ExcludeInboundPorts),
		flag(FlagExcludeOutboundPorts, c.ExcludeOutboundPorts),
		flag(FlagIncludeOutboundPorts, c.IncludeOutboundPorts),
	}
}

// captureFromAnnotations applies Istio's traffic annotations to the defaults. Include lists
// replace the default; excludeInboundPorts adds to the ports always excluded. A malformed value is
// an error naming its annotation: capture must never run with rules the user did not mean.
func captureFromAnnotations(annotations map[string]string) (Capture, error) {
	c := DefaultCapture()
	for _, a := range []struct {
		key      string
		into     *[]string
		parse    func(string) (string, error)
		wildcard bool // All may stand alone instead of a list
		add      bool // appended to the default instead of replacing it
	}{
		{AnnotationIncludeOutboundIPRanges, &c.IncludeOutboundCIDRs, parseCIDR, true, false},
		{AnnotationExcludeOutboundIPRanges, &c.ExcludeOutboundCIDRs, parseCIDR, false, false},
		{AnnotationIncludeInboundPorts, &c.IncludeInboundPorts, parsePort, true, false},
		{AnnotationExcludeInboundPorts, &c.ExcludeInboundPorts, parsePort, false, true},
		{AnnotationExcludeOutboundPorts, &c.ExcludeOutboundPorts, parsePort, false, false},
		{AnnotationIncludeOutboundPorts, &c.IncludeOutboundPorts, parsePort, false, false},
	} {
		raw, ok := annotations[a.key]
		if !ok {
			continue
		}
		values, err := parseList(raw, a.parse, a.wildcard)
		if err != nil {
			return Capture{}, fmt.Errorf("annotation %s: %w", a.key, err)
		}
		if a.add {
			*a.into = appendNew(*a.into, values)
		} else {
			*a.into = values
		}
	}
	return c, nil
}

// parseList splits a comma-separated annotation value, trimming blanks. An empty value is an
// empty list (for an include list: capture nothing).
func parseList(raw string, parse func(string) (string, error), wildcard bool) ([]string, error) {
	var out []string
	for item := range strings.SplitSeq(raw, ",") {
		item = strings.TrimSpace(item)
		switch {
		case item == "":
			continue
		case item == All && wildcard:
			out = append(out, All)
			continue
		case item == All:
			return nil, fmt.Errorf("%q: %s is not allowed here", raw, All)
		}
		v, err := parse(item)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", raw, err)
		}
		out = append(out, v)
	}
	if len(out) > 1 && slices.Contains(out, All) {
		return nil, fmt.Errorf("%q: %s stands alone, not in a list", raw, All)
	}
	return out, nil
}

// parseCIDR accepts an IPv4 or IPv6 prefix in canonical form (no host bits set), or a bare
// address as its /32 or /128.
func parseCIDR(s string) (string, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return "", fmt.Errorf("%q is neither a CIDR nor an IP address", s)
		}
		return netip.PrefixFrom(a, a.BitLen()).String(), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return "", fmt.Errorf("%q is not a CIDR", s)
	}
	if p.Masked() != p {
		return "", fmt.Errorf("%q has host bits set (did you mean %s?)", s, p.Masked())
	}
	return p.String(), nil
}

func parsePort(s string) (string, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("%q is not a port number (1-65535)", s)
	}
	return strconv.Itoa(n), nil
}

func appendNew(list, values []string) []string {
	for _, v := range values {
		if !slices.Contains(list, v) {
			list = append(list, v)
		}
	}
	return list
}
