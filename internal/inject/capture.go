package inject

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/mizzen-mesh/mizzen/internal/capture"
	"github.com/mizzen-mesh/mizzen/internal/translate"
)

// The traffic capture contract between the injector and `manager capture` (the init container,
// internal/capture): the flag names, their defaults, and the user and ports they redirect around.
// The injector always passes every flag, so the subcommand's own defaults never decide anything;
// inject_test.go parses these arguments with the subcommand's parser and checks they mean its
// defaults, so the two cannot drift apart unnoticed.
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
// replace the default; excludeInboundPorts adds to the ports always excluded. Values are read by
// the capture subcommand's own parsers, so the webhook refuses exactly what the init container
// would, with an error naming the annotation, instead of a pod stuck in Init:CrashLoopBackOff.
func captureFromAnnotations(annotations map[string]string) (Capture, error) {
	c := DefaultCapture()
	cidrs := func(all bool) func(string) ([]string, error) {
		return func(raw string) ([]string, error) {
			l, err := capture.ParseCIDRs(raw, all)
			if err != nil || l.All {
				return []string{All}, err
			}
			out := []string{}
			for _, p := range l.Prefixes {
				out = append(out, p.String())
			}
			return out, nil
		}
	}
	ports := func(all bool) func(string) ([]string, error) {
		return func(raw string) ([]string, error) {
			l, err := capture.ParsePorts(raw, all)
			if err != nil || l.All {
				return []string{All}, err
			}
			out := []string{}
			for _, p := range l.Ports {
				out = append(out, strconv.Itoa(int(p)))
			}
			return out, nil
		}
	}
	for _, a := range []struct {
		key   string
		into  *[]string
		parse func(string) ([]string, error)
		add   bool // appended to the default instead of replacing it
	}{
		{AnnotationIncludeOutboundIPRanges, &c.IncludeOutboundCIDRs, cidrs(true), false},
		{AnnotationExcludeOutboundIPRanges, &c.ExcludeOutboundCIDRs, cidrs(false), false},
		{AnnotationIncludeInboundPorts, &c.IncludeInboundPorts, ports(true), false},
		{AnnotationExcludeInboundPorts, &c.ExcludeInboundPorts, ports(false), true},
		{AnnotationExcludeOutboundPorts, &c.ExcludeOutboundPorts, ports(false), false},
		{AnnotationIncludeOutboundPorts, &c.IncludeOutboundPorts, ports(false), false},
	} {
		raw, ok := annotations[a.key]
		if !ok {
			continue
		}
		values, err := a.parse(raw)
		if err != nil {
			return Capture{}, fmt.Errorf("annotation %s: %w", a.key, err)
		}
		if !a.add {
			*a.into = values
			continue
		}
		for _, v := range values {
			if !slices.Contains(*a.into, v) {
				*a.into = append(*a.into, v)
			}
		}
	}
	return c, nil
}
