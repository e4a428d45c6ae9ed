package envoy

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// docTypeURL is the resource type of each xDS document.
var docTypeURL = map[string]string{
	LDSFile:         TypeURL(&listenerv3.Listener{}),
	CDSFile:         TypeURL(&clusterv3.Cluster{}),
	WorkloadSDSFile: TypeURL(&tlsv3.Secret{}),
	RootCASDSFile:   TypeURL(&tlsv3.Secret{}),
}

// sdsSecret is the one secret each SDS document holds.
var sdsSecret = map[string]string{
	WorkloadSDSFile: WorkloadCertSecretName,
	RootCASDSFile:   RootCASecretName,
}

// strictJSON rejects unknown fields (DiscardUnknown=false), as Envoy does.
// Types inside an Any resolve through the global registry: a type this
// binary does not link cannot be checked, so it is an error.
var strictJSON = protojson.UnmarshalOptions{}

// Verify checks files as Envoy will read them and reports the first problem:
//   - exactly the files of FileNames, each YAML without duplicate keys that
//     decodes with strict protojson (no unknown fields, every Any resolvable)
//     into a Bootstrap or a DiscoveryResponse of the right resource type;
//   - every decoded message passes ValidateAll, including the messages
//     inside every Any (which ValidateAll does not enter);
//   - resource names are unique per document; each SDS document holds its
//     one secret;
//   - every config source is a file of this ConfigMap, watched through
//     ConfigDir, or a gateway credential's SDS document in CredentialsDir,
//     watched there; every SDS reference names a secret of the file it reads;
//     every cluster named by an inline route table that Envoy validates
//     (validate_clusters unset or true) exists;
//   - for Files returned by Render, the decoded messages equal the rendered
//     ones (proto.Equal, Any contents compared decoded).
//
// It accepts Files read back from a ConfigMap (no rendered messages to
// compare with).
func Verify(f *Files) error {
	if err := verify(f); err != nil {
		return fmt.Errorf("envoy: verify: %w", err)
	}
	return nil
}

func verify(f *Files) error {
	if f == nil {
		return fmt.Errorf("no files")
	}
	want := FileNames()
	if got := sortedKeys(f.Data); !slices.Equal(got, want) {
		return fmt.Errorf("files %v, want %v", got, want)
	}

	boot := &bootstrapv3.Bootstrap{}
	if err := decode(f.Data[BootstrapFile], boot); err != nil {
		return fmt.Errorf("%s: %w", BootstrapFile, err)
	}
	docs := map[string][]named{}
	for _, file := range sortedKeys(docTypeURL) {
		resources, err := decodeDoc(f.Data[file], docTypeURL[file])
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		docs[file] = resources
	}

	c := &checker{files: f.Data, clusters: map[string]bool{}, secrets: map[string]string{}}
	for _, sc := range boot.GetStaticResources().GetClusters() {
		c.clusters[sc.GetName()] = true
	}
	for _, r := range docs[CDSFile] {
		c.clusters[r.GetName()] = true
	}
	for file, name := range sdsSecret {
		if n := len(docs[file]); n != 1 || docs[file][0].GetName() != name {
			return fmt.Errorf("%s: want exactly the secret %q, got %d secret(s)", file, name, n)
		}
		c.secrets[file] = name
	}

	if err := checkBootstrapSources(boot); err != nil {
		return fmt.Errorf("%s: %w", BootstrapFile, err)
	}
	if err := c.check(boot, nil); err != nil {
		return fmt.Errorf("%s: %w", BootstrapFile, err)
	}
	for _, file := range sortedKeys(docs) {
		kind := kindOf(docTypeURL[file])
		for _, r := range docs[file] {
			if err := c.check(r, nil); err != nil {
				return fmt.Errorf("%s: %s %q: %w", file, kind, r.GetName(), err)
			}
		}
	}

	if f.src != nil {
		if err := sameMessage(f.src.bootstrap, boot); err != nil {
			return fmt.Errorf("%s: %w", BootstrapFile, err)
		}
		for _, file := range sortedKeys(docs) {
			if err := sameResources(f.src.docs[file], docs[file]); err != nil {
				return fmt.Errorf("%s: %w", file, err)
			}
		}
	}
	return nil
}

// decode reads YAML as Envoy's loader does: YAML to JSON (duplicate keys
// are an error), then strict protojson.
func decode(content string, m proto.Message) error {
	j, err := yamlToJSON([]byte(content))
	if err != nil {
		return err
	}
	if err := strictJSON.Unmarshal(j, m); err != nil {
		return fmt.Errorf("decode %s: %w", m.ProtoReflect().Descriptor().FullName(), err)
	}
	return nil
}

// decodeDoc decodes a DiscoveryResponse whose resources are all of typeURL:
// YAML to JSON as decode does, then the fields the files hold (discoveryDoc)
// by their proto names, nothing else, each resource an Any in strict
// protojson.
func decodeDoc(content, typeURL string) ([]named, error) {
	j, err := yamlToJSON([]byte(content))
	if err != nil {
		return nil, err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(j, &fields); err != nil {
		return nil, fmt.Errorf("decode DiscoveryResponse: %w", err)
	}
	var (
		versionInfo, docType string
		items                []json.RawMessage
	)
	for k, v := range fields {
		var into any
		switch k {
		case "version_info":
			into = &versionInfo
		case "type_url":
			into = &docType
		case "resources":
			into = &items
		default:
			return nil, fmt.Errorf("decode DiscoveryResponse: unknown field %q", k)
		}
		if err := json.Unmarshal(v, into); err != nil {
			return nil, fmt.Errorf("decode DiscoveryResponse: %s: %w", k, err)
		}
	}
	if docType != typeURL {
		return nil, fmt.Errorf("type_url %q, want %q", docType, typeURL)
	}
	if versionInfo == "" {
		return nil, fmt.Errorf("empty version_info")
	}
	resources := make([]*anypb.Any, len(items))
	for i, item := range items {
		resources[i] = &anypb.Any{}
		if err := strictJSON.Unmarshal(item, resources[i]); err != nil {
			return nil, fmt.Errorf("resource #%d: %w", i, err)
		}
	}
	out := make([]named, 0, len(resources))
	seen := make(map[string]bool, len(resources))
	for i, a := range resources {
		if a.GetTypeUrl() != typeURL {
			return nil, fmt.Errorf("resource #%d: type %q, want %q", i, a.GetTypeUrl(), typeURL)
		}
		m, err := a.UnmarshalNew()
		if err != nil {
			return nil, fmt.Errorf("resource #%d: %w", i, err)
		}
		r, ok := m.(named)
		if !ok {
			return nil, fmt.Errorf("resource #%d: %T has no name", i, m)
		}
		if seen[r.GetName()] {
			return nil, fmt.Errorf("%s %q: defined twice", kindOf(typeURL), r.GetName())
		}
		seen[r.GetName()] = true
		out = append(out, r)
	}
	return out, nil
}

func kindOf(typeURL string) string {
	switch typeURL {
	case docTypeURL[LDSFile]:
		return "listener"
	case docTypeURL[CDSFile]:
		return "cluster"
	default:
		return "secret"
	}
}

// checkBootstrapSources pins LDS and CDS to their files: a bootstrap
// pointing elsewhere would load nothing.
func checkBootstrapSources(b *bootstrapv3.Bootstrap) error {
	for _, s := range []struct {
		field string
		src   *corev3.ConfigSource
		file  string
	}{
		{"lds_config", b.GetDynamicResources().GetLdsConfig(), LDSFile},
		{"cds_config", b.GetDynamicResources().GetCdsConfig(), CDSFile},
	} {
		if got := s.src.GetPathConfigSource().GetPath(); got != ConfigPath(s.file) {
			return fmt.Errorf("dynamic_resources.%s reads %q, want %q", s.field, got, ConfigPath(s.file))
		}
	}
	return nil
}

// checker holds what the cross-file checks look up.
type checker struct {
	files    map[string]string
	clusters map[string]bool   // CDS and static cluster names; nil: collect refs
	secrets  map[string]string // SDS file → the secret it holds
	refs     []clusterRef      // route clusters seen while clusters is nil
}

// check validates m and everything reachable from it, including through
// Any, and checks the references it makes to other files.
func (c *checker) check(m proto.Message, at *path) error {
	return walk(m, at, func(m proto.Message, at *path, viaAny bool) error {
		if viaAny || at == nil {
			// ValidateAll covers the nested messages, but stops at an Any.
			if err := validate(m); err != nil {
				return at.errorf("%w", err)
			}
		}
		switch m := m.(type) {
		case *corev3.ConfigSource:
			return c.checkSource(m, at)
		case *tlsv3.SdsSecretConfig:
			return c.checkSecretRef(m, at)
		case *hcmv3.HttpConnectionManager:
			return c.checkRouteClusters(m, at)
		}
		return nil
	})
}

// checkSource: there is no management server, so every config source must
// be a file of this ConfigMap, reloaded on the kubelet's directory swap.
func (c *checker) checkSource(s *corev3.ConfigSource, at *path) error {
	p := s.GetPathConfigSource()
	if p == nil {
		return at.errorf("config source is not a file (%T): no management server serves it", s.GetConfigSourceSpecifier())
	}
	if key, ok := strings.CutPrefix(p.GetPath(), CredentialsDir+"/"); ok {
		// A gateway credential's SDS document, in the credentials Secret's volume.
		if _, ok := parseSDSKey(key); !ok {
			return at.errorf("path %q is not a credential's SDS document", p.GetPath())
		}
		if p.GetWatchedDirectory().GetPath() != CredentialsDir {
			return at.errorf("path %q: watched_directory %q, want %q", p.GetPath(), p.GetWatchedDirectory().GetPath(), CredentialsDir)
		}
		return nil
	}
	file, ok := strings.CutPrefix(p.GetPath(), ConfigDir+"/")
	if _, exists := c.files[file]; !ok || !exists || file == BootstrapFile {
		return at.errorf("path %q is not an xDS file of this config (%s/{%s,%s,%s,%s})",
			p.GetPath(), ConfigDir, LDSFile, CDSFile, WorkloadSDSFile, RootCASDSFile)
	}
	if p.GetWatchedDirectory().GetPath() != ConfigDir {
		return at.errorf("path %q: watched_directory %q, want %q (the kubelet updates the volume by swapping a symlink there)",
			p.GetPath(), p.GetWatchedDirectory().GetPath(), ConfigDir)
	}
	return nil
}

// checkSecretRef: Envoy refuses an SDS file whose secret is not the one
// named, and a secret without sds_config must be static (there are none).
func (c *checker) checkSecretRef(s *tlsv3.SdsSecretConfig, at *path) error {
	if s.GetSdsConfig() == nil {
		return at.errorf("secret %q has no sds_config and the bootstrap defines no static secrets", s.GetName())
	}
	p := s.GetSdsConfig().GetPathConfigSource()
	if p == nil {
		return nil // checkSource reports it
	}
	if key, ok := strings.CutPrefix(p.GetPath(), CredentialsDir+"/"); ok {
		if cred, ok := parseSDSKey(key); ok && cred.SDSName() != s.GetName() {
			return at.errorf("secret %q read from %s, which holds %q", s.GetName(), p.GetPath(), cred.SDSName())
		}
		return nil // checkSource reports a path that is no credential's
	}
	file, _ := strings.CutPrefix(p.GetPath(), ConfigDir+"/")
	name, ok := c.secrets[file]
	if !ok {
		return at.errorf("secret %q read from %q, which is not an SDS file (%s, %s)",
			s.GetName(), p.GetPath(), ConfigPath(WorkloadSDSFile), ConfigPath(RootCASDSFile))
	}
	if name != s.GetName() {
		return at.errorf("secret %q read from %s, which holds %q", s.GetName(), file, name)
	}
	return nil
}

// checkRouteClusters: an inline route table is validated against the
// cluster manager unless validate_clusters is false, and Envoy then rejects
// the whole listener for one unknown cluster.
func (c *checker) checkRouteClusters(h *hcmv3.HttpConnectionManager, at *path) error {
	rc := h.GetRouteConfig()
	if rc == nil || (rc.GetValidateClusters() != nil && !rc.GetValidateClusters().GetValue()) {
		return nil
	}
	for _, vh := range rc.GetVirtualHosts() {
		for i, r := range vh.GetRoutes() {
			a := r.GetRoute()
			names := []string{}
			if n := a.GetCluster(); n != "" {
				names = append(names, n)
			}
			for _, wc := range a.GetWeightedClusters().GetClusters() {
				names = append(names, wc.GetName())
			}
			for _, m := range a.GetRequestMirrorPolicies() {
				names = append(names, m.GetCluster())
			}
			for _, n := range names {
				ref := clusterRef{cluster: n, at: at, routeConfig: rc.GetName(), virtualHost: vh.GetName(), route: i, routeName: r.GetName()}
				if c.clusters == nil {
					c.refs = append(c.refs, ref) // checked later, against the proxy's clusters
				} else if err := ref.check(c.clusters); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// clusterRef is a cluster named by a route of an inline route table that
// Envoy validates.
type clusterRef struct {
	cluster     string
	at          *path
	routeConfig string
	virtualHost string
	route       int
	routeName   string
}

func (r clusterRef) check(clusters map[string]bool) error {
	if r.cluster == "" || clusters[r.cluster] {
		return nil
	}
	return r.at.errorf("route_config %q: virtual host %q: route #%d (%q): unknown cluster %q",
		r.routeConfig, r.virtualHost, r.route, r.routeName, r.cluster)
}

// sameResources compares rendered and decoded resources one by one.
func sameResources(want []proto.Message, got []named) error {
	if len(want) != len(got) {
		return fmt.Errorf("decoded %d resources, rendered %d", len(got), len(want))
	}
	for i := range want {
		if err := sameMessage(want[i], got[i]); err != nil {
			return fmt.Errorf("%s %q: %w", kindOf(TypeURL(want[i])), got[i].GetName(), err)
		}
	}
	return nil
}

// sameMessage compares a rendered message with its decoded copy. proto.Equal
// compares Any payloads as bytes, and bytes packed by other code (anypb.New)
// may order map entries differently, so the rendered side is re-encoded
// deterministically, innermost Any first. The decoded side already is:
// protojson packs every Any it decodes with deterministic marshaling.
func sameMessage(want, got proto.Message) error {
	w, err := canonical(want)
	if err != nil {
		return fmt.Errorf("canonicalize rendered message: %w", err)
	}
	if !proto.Equal(w, got) {
		return fmt.Errorf("decoded message differs from the rendered one (lossy encoding)")
	}
	return nil
}

// path locates a message inside a resource, for error messages only: built
// as a linked list so that walking allocates no strings.
type path struct {
	parent *path
	field  string
	index  int    // list index, or -1
	key    string // map key, or ""
	typ    string // type inside an Any, or ""
}

func (p *path) String() string {
	if p == nil {
		return ""
	}
	var b strings.Builder
	var rec func(*path)
	rec = func(p *path) {
		if p == nil {
			return
		}
		rec(p.parent)
		switch {
		case p.typ != "":
			b.WriteString("<" + p.typ + ">")
		default:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(p.field)
			if p.index >= 0 {
				b.WriteString("[" + strconv.Itoa(p.index) + "]")
			}
			if p.key != "" {
				b.WriteString("[" + strconv.Quote(p.key) + "]")
			}
		}
	}
	rec(p)
	return b.String()
}

func (p *path) errorf(format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	if p == nil {
		return err
	}
	return fmt.Errorf("%s: %w", p, err)
}
