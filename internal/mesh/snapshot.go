// Package mesh holds the mesh as plain Go values with the indexes translation needs: services with
// their ports and ready endpoints, pods, the routing rules, and the mesh settings. A Snapshot is
// built once from Kubernetes objects (New) and then only read; work shared by every proxy is
// memoized in it (Memo), so translating many proxies of one snapshot costs little more than one.
package mesh

import (
	"cmp"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mizzen-mesh/mizzen/api/v1alpha1"
)

// MTLSMode is the mesh-wide mutual TLS mode of inbound traffic.
type MTLSMode string

const (
	MTLSPermissive MTLSMode = "PERMISSIVE" // mTLS and plaintext both accepted (default)
	MTLSStrict     MTLSMode = "STRICT"     // mTLS only
	MTLSDisable    MTLSMode = "DISABLE"    // plaintext only; clients do not originate mTLS
)

// Settings are the mesh-wide settings.
type Settings struct {
	TrustDomain   string   // SPIFFE trust domain, "cluster.local" by default
	MTLS          MTLSMode // PERMISSIVE by default
	ClusterDomain string   // "cluster.local" by default
	// RootNamespace holds mesh-wide DestinationRules (Istio's istio-system); "mizzen-system" by
	// default.
	RootNamespace string
}

func (s Settings) withDefaults() Settings {
	if s.TrustDomain == "" {
		s.TrustDomain = "cluster.local"
	}
	if s.MTLS == "" {
		s.MTLS = MTLSPermissive
	}
	if s.ClusterDomain == "" {
		s.ClusterDomain = "cluster.local"
	}
	if s.RootNamespace == "" {
		s.RootNamespace = "mizzen-system"
	}
	return s
}

// Locality is where an endpoint or proxy runs.
type Locality struct {
	Region, Zone, SubZone string
}

// String is "region/zone/subzone" as Istio writes localities.
func (l Locality) String() string {
	return strings.TrimRight(l.Region+"/"+l.Zone+"/"+l.SubZone, "/")
}

// Port is one port of a Service.
type Port struct {
	Name     string
	Number   int32
	Protocol Protocol
}

// Endpoint is one ready address of a service port.
type Endpoint struct {
	Address        string
	Port           int32 // the port on the endpoint (target port)
	Labels         map[string]string
	ServiceAccount string
	Locality       Locality
	Pod            string // namespace/name, "" when not a pod
	// Meshed is true when the pod runs a Mizzen proxy (it has a proxy id): clients then originate
	// mTLS to it (auto mTLS).
	Meshed bool
}

// Service is a Kubernetes Service as the mesh sees it.
type Service struct {
	Name, Namespace string
	Hostname        string // name.namespace.svc.<cluster domain>
	ClusterIP       string // "" for headless services
	Ports           []Port // by number
	Selector        map[string]string
	// ExportTo from annotation networking.istio.io/exportTo (or mizzen.dev/exportTo); empty is
	// public.
	ExportTo []string
	// Endpoints by service port number, sorted by address.
	Endpoints map[int32][]Endpoint
	Created   int64 // creation time, Unix seconds
}

// Port returns the service's port with the given number.
func (s *Service) Port(n int32) (Port, bool) {
	for _, p := range s.Ports {
		if p.Number == n {
			return p, true
		}
	}
	return Port{}, false
}

// Pod is a pod of the mesh.
type Pod struct {
	Name, Namespace string
	IP              string
	Labels          map[string]string
	ServiceAccount  string
	ProxyID         string // annotation mizzen.dev/proxy-id; "" when the pod has no proxy
	Locality        Locality
	EgressHosts     []string // annotation mizzen.dev/egress-hosts, see Proxy.EgressHosts
}

// ProxyKind tells sidecars from gateways.
type ProxyKind string

const (
	Sidecar ProxyKind = "Sidecar"
	Gateway ProxyKind = "Gateway"
)

// Proxy is the Envoy a config is built for.
type Proxy struct {
	ID             string
	Namespace      string
	Labels         map[string]string
	ServiceAccount string
	IP             string
	Kind           ProxyKind
	Locality       Locality
	// EgressHosts scopes the services the proxy gets config for, in the syntax of Istio's Sidecar
	// egress hosts: "<namespace>/<host>", namespace "*" (any) or "." (the proxy's), host "*", a
	// "*.suffix" wildcard or an FQDN. Empty: every service visible to the namespace. Rules routing
	// to a service out of scope still reach it.
	EgressHosts []string
}

// ProxyFor describes the proxy of a pod.
func ProxyFor(p *Pod, kind ProxyKind) Proxy {
	return Proxy{ID: p.ProxyID, Namespace: p.Namespace, Labels: p.Labels, ServiceAccount: p.ServiceAccount,
		IP: p.IP, Kind: kind, Locality: p.Locality, EgressHosts: p.EgressHosts}
}

// Annotations and labels read from Kubernetes objects.
const (
	ProxyIDAnnotation     = "mizzen.dev/proxy-id"
	EgressHostsAnnotation = "mizzen.dev/egress-hosts"
	ExportToAnnotation    = "networking.istio.io/exportTo"
	MizzenExportTo        = "mizzen.dev/exportTo"
	RegionLabel           = "topology.kubernetes.io/region"
	ZoneLabel             = "topology.kubernetes.io/zone"
	SubZoneLabel          = "topology.istio.io/subzone"
	serviceNameLabel      = discoveryv1.LabelServiceName
	defaultServiceAccount = "default"
)

// Input is what a Snapshot is built from: objects as the API server returns them. Pointers: the
// manager hands its informers' objects over uncopied, and the snapshot keeps the rules as given.
type Input struct {
	Settings         Settings
	Services         []*corev1.Service
	EndpointSlices   []*discoveryv1.EndpointSlice
	Pods             []*corev1.Pod
	Nodes            []corev1.Node
	VirtualServices  []*v1alpha1.VirtualService
	DestinationRules []*v1alpha1.DestinationRule
	Gateways         []*v1alpha1.Gateway
	// Credentials are the Secrets gateway servers may take certificates from (credentialName):
	// which exist and which keys they have, never their data.
	Credentials []Credential
}

// Snapshot is the mesh at one moment. Read-only after New; safe for concurrent use.
type Snapshot struct {
	Settings         Settings
	Services         []*Service // by hostname
	Pods             []*Pod     // by namespace/name
	VirtualServices  []*v1alpha1.VirtualService
	DestinationRules []*v1alpha1.DestinationRule
	Gateways         []*v1alpha1.Gateway

	byHost map[string]*Service
	podsBy map[string]*Pod // namespace/name
	podsIP map[string]*Pod
	creds  map[string]*Credential // namespace/name

	mu   sync.Mutex
	memo map[any]*memoEntry
}

type memoEntry struct {
	once sync.Once
	v    any
	used time.Time // of the last Memo call; Snapshot.mu guards it
}

// Memo returns the value stored under key, building it once with build. Keys must be comparable
// and identify everything the value depends on besides the snapshot. Values must not be modified.
func (s *Snapshot) Memo(key any, build func() any) any {
	now := time.Now()
	s.mu.Lock()
	e, ok := s.memo[key]
	if !ok {
		e = &memoEntry{}
		s.memo[key] = e
	}
	e.used = now
	s.mu.Unlock()
	e.once.Do(func() { e.v = build() })
	return e.v
}

// ForgetIdle drops the memoized values whose key forgettable accepts and that no Memo call asked
// for since cutoff, and returns how many it dropped; a later Memo call builds one again. A
// snapshot that stays the newest while nothing changes otherwise keeps all that its proxies'
// translations shared long after they were written. Only values that may be rebuilt as equal but
// distinct objects are forgettable: callers must not rely on their identity.
func (s *Snapshot) ForgetIdle(cutoff time.Time, forgettable func(key any) bool) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.memo)
	maps.DeleteFunc(s.memo, func(key any, e *memoEntry) bool {
		return e.used.Before(cutoff) && forgettable(key)
	})
	return n - len(s.memo)
}

// Service returns the service with the given FQDN.
func (s *Snapshot) Service(host string) *Service { return s.byHost[host] }

// Pod returns a pod by namespace and name.
func (s *Snapshot) Pod(namespace, name string) *Pod { return s.podsBy[namespace+"/"+name] }

// PodByIP returns the pod with the given IP, or nil.
func (s *Snapshot) PodByIP(ip string) *Pod { return s.podsIP[ip] }

// New builds a snapshot. Objects are copied by reference: the caller must not change them later.
func New(in Input) *Snapshot {
	// Sized up front: a snapshot is built after every change while a mesh converges, and growing
	// these maps and slices was a third of what building one allocated.
	s := &Snapshot{
		Settings: in.Settings.withDefaults(),
		Pods:     make([]*Pod, 0, len(in.Pods)),
		Services: make([]*Service, 0, len(in.Services)),
		byHost:   make(map[string]*Service, len(in.Services)),
		podsBy:   make(map[string]*Pod, len(in.Pods)),
		podsIP:   make(map[string]*Pod, len(in.Pods)),
		memo:     map[any]*memoEntry{},
		creds:    make(map[string]*Credential, len(in.Credentials)),
	}
	for i := range in.Credentials {
		c := &in.Credentials[i]
		s.creds[c.Namespace+"/"+c.Name] = c
	}
	nodes := map[string]*corev1.Node{}
	for i := range in.Nodes {
		nodes[in.Nodes[i].Name] = &in.Nodes[i]
	}
	for _, kp := range in.Pods {
		p := &Pod{
			Name: kp.Name, Namespace: kp.Namespace, IP: kp.Status.PodIP, Labels: kp.Labels,
			ServiceAccount: kp.Spec.ServiceAccountName, ProxyID: kp.Annotations[ProxyIDAnnotation],
		}
		p.EgressHosts = ParseEgressHosts(kp.Annotations[EgressHostsAnnotation])
		if p.ServiceAccount == "" {
			p.ServiceAccount = defaultServiceAccount
		}
		if n := nodes[kp.Spec.NodeName]; n != nil {
			p.Locality = nodeLocality(n)
		}
		s.Pods = append(s.Pods, p)
		s.podsBy[p.Namespace+"/"+p.Name] = p
		if p.IP != "" {
			s.podsIP[p.IP] = p
		}
	}
	slices.SortFunc(s.Pods, func(a, b *Pod) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})

	byNSName := make(map[string]*Service, len(in.Services))
	for _, ks := range in.Services {
		if ks.Spec.Type == corev1.ServiceTypeExternalName {
			continue
		}
		svc := &Service{
			Name: ks.Name, Namespace: ks.Namespace,
			Hostname:  ks.Name + "." + ks.Namespace + ".svc." + s.Settings.ClusterDomain,
			Selector:  ks.Spec.Selector,
			Endpoints: map[int32][]Endpoint{},
			Created:   ks.CreationTimestamp.Unix(),
		}
		if ip := ks.Spec.ClusterIP; ip != "" && ip != corev1.ClusterIPNone {
			svc.ClusterIP = ip
		}
		if e := cmp.Or(ks.Annotations[MizzenExportTo], ks.Annotations[ExportToAnnotation]); e != "" {
			for _, ns := range strings.Split(e, ",") {
				if ns = strings.TrimSpace(ns); ns != "" {
					svc.ExportTo = append(svc.ExportTo, ns)
				}
			}
		}
		for _, kp := range ks.Spec.Ports {
			p := Port{Name: kp.Name, Number: kp.Port, Protocol: PortProtocol(kp.Name, kp.AppProtocol, string(kp.Protocol))}
			// One port per number (Kubernetes allows TCP and UDP on one number): TCP wins.
			if i := slices.IndexFunc(svc.Ports, func(q Port) bool { return q.Number == p.Number }); i >= 0 {
				if svc.Ports[i].Protocol == ProtocolUDP && p.Protocol != ProtocolUDP {
					svc.Ports[i] = p
				}
				continue
			}
			svc.Ports = append(svc.Ports, p)
		}
		slices.SortFunc(svc.Ports, func(a, b Port) int { return cmp.Compare(a.Number, b.Number) })
		s.Services = append(s.Services, svc)
		s.byHost[svc.Hostname] = svc
		byNSName[svc.Namespace+"/"+svc.Name] = svc
	}
	slices.SortFunc(s.Services, func(a, b *Service) int { return cmp.Compare(a.Hostname, b.Hostname) })

	for _, es := range in.EndpointSlices {
		s.addSlice(es, byNSName, nodes)
	}
	for _, svc := range s.Services {
		for port, eps := range svc.Endpoints {
			slices.SortFunc(eps, func(a, b Endpoint) int {
				return cmp.Or(cmp.Compare(a.Address, b.Address), cmp.Compare(a.Port, b.Port))
			})
			svc.Endpoints[port] = slices.CompactFunc(eps, func(a, b Endpoint) bool {
				return a.Address == b.Address && a.Port == b.Port
			})
		}
	}

	s.VirtualServices = slices.Clone(in.VirtualServices)
	s.DestinationRules = slices.Clone(in.DestinationRules)
	s.Gateways = slices.Clone(in.Gateways)
	sortByAge(s.VirtualServices)
	sortByAge(s.DestinationRules)
	sortByAge(s.Gateways)
	return s
}

// sortByAge orders rules oldest first, then by namespace and name: Istio's precedence when two
// rules claim one host.
func sortByAge[T interface {
	GetNamespace() string
	GetName() string
	GetCreationTimestamp() metav1.Time
}](objs []T) {
	slices.SortStableFunc(objs, func(a, b T) int {
		ta, tb := a.GetCreationTimestamp(), b.GetCreationTimestamp()
		return cmp.Or(ta.Time.Compare(tb.Time), cmp.Compare(a.GetNamespace(), b.GetNamespace()),
			cmp.Compare(a.GetName(), b.GetName()))
	})
}

func nodeLocality(n *corev1.Node) Locality {
	return Locality{Region: n.Labels[RegionLabel], Zone: n.Labels[ZoneLabel], SubZone: n.Labels[SubZoneLabel]}
}

func (s *Snapshot) addSlice(es *discoveryv1.EndpointSlice, services map[string]*Service, nodes map[string]*corev1.Node) {
	svc := services[es.Namespace+"/"+es.Labels[serviceNameLabel]]
	if svc == nil || es.AddressType == discoveryv1.AddressTypeFQDN {
		return
	}
	for _, ep := range es.Endpoints {
		if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
			continue
		}
		if len(ep.Addresses) == 0 {
			continue
		}
		e := Endpoint{Address: ep.Addresses[0], ServiceAccount: defaultServiceAccount}
		var node *corev1.Node
		if ep.NodeName != nil {
			node = nodes[*ep.NodeName]
		}
		if node != nil {
			e.Locality = nodeLocality(node)
		}
		if ep.Zone != nil && *ep.Zone != "" {
			e.Locality.Zone = *ep.Zone
		}
		if ep.TargetRef != nil && ep.TargetRef.Kind == "Pod" {
			ns := cmp.Or(ep.TargetRef.Namespace, es.Namespace)
			if p := s.podsBy[ns+"/"+ep.TargetRef.Name]; p != nil {
				e.Labels, e.ServiceAccount, e.Pod, e.Meshed = p.Labels, p.ServiceAccount, ns+"/"+p.Name, p.ProxyID != ""
				if node == nil {
					e.Locality.Region, e.Locality.SubZone = p.Locality.Region, p.Locality.SubZone
					if e.Locality.Zone == "" {
						e.Locality.Zone = p.Locality.Zone
					}
				}
			}
		} else if p := s.podsIP[e.Address]; p != nil {
			e.Labels, e.ServiceAccount, e.Pod, e.Meshed = p.Labels, p.ServiceAccount, p.Namespace+"/"+p.Name, p.ProxyID != ""
		}
		for _, sp := range es.Ports {
			if sp.Port == nil {
				continue
			}
			name := ""
			if sp.Name != nil {
				name = *sp.Name
			}
			for _, port := range svc.Ports {
				if port.Name == name {
					pe := e
					pe.Port = *sp.Port
					eps := svc.Endpoints[port.Number]
					if eps == nil {
						eps = make([]Endpoint, 0, len(es.Endpoints)) // a service's endpoints are mostly in one slice
					}
					svc.Endpoints[port.Number] = append(eps, pe)
				}
			}
		}
	}
}

// ResolveHost turns a host of a rule in namespace ns into an FQDN as Istio does: a name without
// dots is a service of ns; anything else is taken as written.
func (s *Snapshot) ResolveHost(host, ns string) string { return s.Settings.ResolveHost(host, ns) }

// ResolveHost is Snapshot.ResolveHost for settings alone.
func (s Settings) ResolveHost(host, ns string) string {
	if host == "*" || strings.Contains(host, ".") {
		return host
	}
	return host + "." + ns + ".svc." + s.withDefaults().ClusterDomain
}

// ParseEgressHosts reads annotation mizzen.dev/egress-hosts: comma-separated, blanks dropped.
func ParseEgressHosts(annotation string) []string {
	var out []string
	for _, h := range strings.Split(annotation, ",") {
		if h = strings.TrimSpace(h); h != "" {
			out = append(out, h)
		}
	}
	return out
}

// EgressMaySee reports whether a proxy of namespace ns scoped by egress can get config for fqdn,
// the host of a service: false only when egress provably leaves it out. A host not of the form
// <name>.<namespace>.svc.<domain> (a wildcard, an external name) is assumed seen.
func EgressMaySee(egress []string, ns, fqdn string) bool {
	if len(egress) == 0 {
		return true
	}
	// Cut rather than Split: the proxy reconciler asks this for every host of every changed rule
	// and every proxy of its namespace, and the split's slice was most of what it allocated.
	name, rest, _ := strings.Cut(fqdn, ".")
	svcNS, rest, _ := strings.Cut(rest, ".")
	svc, _, ok := strings.Cut(rest, ".")
	if !ok || svc != "svc" || strings.Contains(name, "*") || strings.Contains(svcNS, "*") {
		return true
	}
	return EgressSelects(egress, ns, &Service{Namespace: svcNS, Hostname: fqdn})
}

// HostMatches reports whether host (an FQDN) is matched by pattern, which may start with "*".
func HostMatches(pattern, host string) bool {
	if pattern == host || pattern == "*" {
		return true
	}
	if suffix, ok := strings.CutPrefix(pattern, "*"); ok {
		return strings.HasSuffix(host, suffix)
	}
	return false
}

// Exported reports whether an object of namespace owner with the given exportTo is visible from
// namespace ns ("*" or empty: everywhere; ".": owner only; "~": nowhere; else listed namespaces).
func Exported(exportTo []string, owner, ns string) bool {
	if ExportedEverywhere(exportTo) {
		return true
	}
	for _, e := range exportTo {
		switch e {
		case ".":
			if owner == ns {
				return true
			}
		default:
			if e == ns {
				return true
			}
		}
	}
	return false
}

// ExportedEverywhere reports whether exportTo makes an object visible from every namespace.
func ExportedEverywhere(exportTo []string) bool {
	return len(exportTo) == 0 || slices.Contains(exportTo, "*")
}

// LabelsMatch reports whether labels has every key and value of selector.
func LabelsMatch(selector, labels map[string]string) bool {
	for k, v := range selector {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// ObjectKey names a rule for problem reports: "VirtualService default/reviews".
func ObjectKey(kind, namespace, name string) string { return kind + " " + namespace + "/" + name }

// PortKey is the decimal form of a port, for names.
func PortKey(p int32) string { return strconv.Itoa(int(p)) }
