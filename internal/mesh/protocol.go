package mesh

import "strings"

// Protocol is the application protocol of a service port, as Istio names it.
type Protocol string

const (
	ProtocolHTTP    Protocol = "HTTP"
	ProtocolHTTP2   Protocol = "HTTP2"
	ProtocolGRPC    Protocol = "GRPC"
	ProtocolGRPCWeb Protocol = "GRPC-Web"
	ProtocolHTTPS   Protocol = "HTTPS"
	ProtocolTLS     Protocol = "TLS"
	ProtocolTCP     Protocol = "TCP"
	ProtocolMongo   Protocol = "Mongo"
	ProtocolRedis   Protocol = "Redis"
	ProtocolMySQL   Protocol = "MySQL"
	ProtocolUDP     Protocol = "UDP"
	// ProtocolUnsupported: no protocol from name or appProtocol. Istio sniffs such ports; Mizzen
	// does not, and carries them as opaque TCP.
	ProtocolUnsupported Protocol = "Unsupported"
)

// IsHTTP is true for the protocols an HTTP connection manager serves.
func (p Protocol) IsHTTP() bool {
	switch p {
	case ProtocolHTTP, ProtocolHTTP2, ProtocolGRPC, ProtocolGRPCWeb:
		return true
	}
	return false
}

// IsHTTP2 is true when upstream connections must speak HTTP/2.
func (p Protocol) IsHTTP2() bool { return p == ProtocolHTTP2 || p == ProtocolGRPC }

// IsTLS is true for ports carrying TLS the application terminates (routed by SNI).
func (p Protocol) IsTLS() bool { return p == ProtocolHTTPS || p == ProtocolTLS }

// parseProtocol maps a protocol word (case-insensitive) to a Protocol.
func parseProtocol(s string) Protocol {
	switch strings.ToLower(s) {
	case "http", "http1", "http/1.1":
		return ProtocolHTTP
	case "http2", "h2c", "kubernetes.io/h2c":
		return ProtocolHTTP2
	case "grpc":
		return ProtocolGRPC
	case "grpc-web":
		return ProtocolGRPCWeb
	case "https", "kubernetes.io/wss":
		return ProtocolHTTPS
	case "tls":
		return ProtocolTLS
	case "tcp":
		return ProtocolTCP
	case "mongo":
		return ProtocolMongo
	case "redis":
		return ProtocolRedis
	case "mysql":
		return ProtocolMySQL
	case "udp":
		return ProtocolUDP
	case "kubernetes.io/ws":
		return ProtocolHTTP
	}
	return ProtocolUnsupported
}

// PortProtocol decides a service port's protocol as Istio does: appProtocol first, then the port
// name, either whole ("http") or its prefix before the first dash ("http-web"). UDP ports are UDP
// whatever their name.
func PortProtocol(name string, appProtocol *string, kubeProtocol string) Protocol {
	if strings.EqualFold(kubeProtocol, "UDP") {
		return ProtocolUDP
	}
	if appProtocol != nil && *appProtocol != "" {
		if p := parseProtocol(*appProtocol); p != ProtocolUnsupported {
			return p
		}
	}
	if p := parseProtocol(name); p != ProtocolUnsupported {
		return p
	}
	if prefix, _, ok := strings.Cut(name, "-"); ok {
		return parseProtocol(prefix)
	}
	return ProtocolUnsupported
}
