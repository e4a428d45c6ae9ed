package envoy

import (
	"cmp"
	"crypto/sha256"
	"fmt"
	"slices"
	"strings"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	"google.golang.org/protobuf/proto"
)

const (
	// MaxConfigMapBytes is the API server's limit on a ConfigMap's data.
	MaxConfigMapBytes = 1 << 20
	// DefaultMaxBytes leaves headroom under MaxConfigMapBytes so a config
	// that grows a little between two renders fails here, with a message,
	// rather than in the API server.
	DefaultMaxBytes = MaxConfigMapBytes - 32<<10
)

// Files is a rendered proxy config: every file of the proxy's config
// directory and their content hash. ConfigMaps splits them over the proxy's
// ConfigMaps.
type Files struct {
	// Data maps file name (FileNames) to content.
	Data map[string]string
	// Hash is StampOf the ConfigMaps' hashes (hex, 16 digits), stamped on
	// the pod as annotation mizzen.dev/config-hash: equal iff Data is equal.
	Hash string
	// configMaps: Data split over the proxy's ConfigMaps, each hashed.
	configMaps []ConfigMapData
	// sums are the SHA-256 of the files when known already (Cache).
	sums map[string][sha256.Size]byte

	// src holds the messages Data was rendered from, so Verify can check
	// that decoding gives them back; nil for Files read back from a
	// ConfigMap, which Verify then checks without that comparison.
	src *sources
}

type sources struct {
	bootstrap *bootstrapv3.Bootstrap
	docs      map[string][]proto.Message // xDS file name → resources, in order
}

// Size is the number of bytes the files take in their ConfigMaps (names and
// contents).
func (f *Files) Size() int { return dataSize(f.Data) }

func dataSize(data map[string]string) int {
	n := 0
	for name, content := range data {
		n += len(name) + len(content)
	}
	return n
}

// SizeError reports a config too large for one of its ConfigMaps.
type SizeError struct {
	ProxyID   string
	ConfigMap string         // the ConfigMap over the limit
	Size      int            // bytes of its data, names and contents
	Limit     int            // bytes
	Files     map[string]int // bytes per file in it
}

func (e *SizeError) Error() string {
	parts := make([]string, 0, len(e.Files))
	for _, name := range sortedKeys(e.Files) {
		parts = append(parts, fmt.Sprintf("%s %d", name, e.Files[name]))
	}
	return fmt.Sprintf("ConfigMap %s of proxy %q would be %d bytes, over the limit of %d (a ConfigMap holds at most %d); bytes per file: %s; reduce what this proxy sees",
		e.ConfigMap, e.ProxyID, e.Size, e.Limit, MaxConfigMapBytes, strings.Join(parts, ", "))
}

// Renderer renders proxy configs. The zero value is ready to use.
type Renderer struct {
	// MaxBytes caps the data of each of the proxy's ConfigMaps; 0 means
	// DefaultMaxBytes.
	MaxBytes int
}

// Render renders one proxy's config with the default Renderer. A controller
// rendering many proxies should use a Cache: same output, a fraction of the
// cost.
func Render(node Node, listeners []*listenerv3.Listener, clusters []*clusterv3.Cluster) (*Files, error) {
	return Renderer{}.Render(node, listeners, clusters)
}

// Render turns one proxy's listeners (routes inline) and clusters (endpoints
// inline) into its ConfigMap files. Resources are written sorted by name, so
// the input order does not matter. An error means nothing may be written:
// it names the resource that failed, or is a *SizeError.
func (r Renderer) Render(node Node, listeners []*listenerv3.Listener, clusters []*clusterv3.Cluster) (*Files, error) {
	files, err := r.render(node, listeners, clusters)
	if err != nil {
		return nil, fmt.Errorf("envoy: render config of proxy %q: %w", node.ID, err)
	}
	return files, nil
}

func (r Renderer) render(node Node, listeners []*listenerv3.Listener, clusters []*clusterv3.Cluster) (*Files, error) {
	if err := node.validate(); err != nil {
		return nil, err
	}
	lds, err := checkResources("listener", listeners, nil)
	if err != nil {
		return nil, err
	}
	cds, err := checkResources("cluster", clusters, staticClusterNames())
	if err != nil {
		return nil, err
	}
	boot := Bootstrap(node)
	if err := boot.ValidateAll(); err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	src := &sources{bootstrap: boot, docs: map[string][]proto.Message{
		LDSFile:         lds,
		CDSFile:         cds,
		WorkloadSDSFile: {WorkloadCertSecret()},
		RootCASDSFile:   {RootCASecret()},
	}}
	for _, file := range []string{WorkloadSDSFile, RootCASDSFile} {
		if err := validate(src.docs[file][0]); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
	}

	files := &Files{Data: make(map[string]string, len(src.docs)+1), src: src}
	b, err := toYAML(boot)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", BootstrapFile, err)
	}
	files.Data[BootstrapFile] = string(b)
	for file, resources := range src.docs {
		b, err := discoveryDoc(docTypeURL[file], resources)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		files.Data[file] = string(b)
	}
	files.stamp(node.ID)

	if err := r.checkSize(node.ID, files); err != nil {
		return nil, err
	}
	if err := verify(files); err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	return files, nil
}

// checkSize holds each of the proxy's ConfigMaps to the limit.
func (r Renderer) checkSize(proxyID string, f *Files) error {
	limit := cmp.Or(r.MaxBytes, DefaultMaxBytes)
	for _, cm := range f.configMaps {
		if size := dataSize(cm.Data); size > limit {
			perFile := make(map[string]int, len(cm.Data))
			for name, content := range cm.Data {
				perFile[name] = len(content)
			}
			return &SizeError{ProxyID: proxyID, ConfigMap: cm.Name, Size: size, Limit: limit, Files: perFile}
		}
	}
	return nil
}

type named interface {
	proto.Message
	GetName() string
}

// checkResources validates each resource before it is packed (validation
// does not look inside an Any) and returns them sorted by name.
func checkResources[T named](kind string, in []T, reserved map[string]bool) ([]proto.Message, error) {
	out, err := sortResources(kind, in, reserved)
	if err != nil {
		return nil, err
	}
	for _, r := range out {
		if err := validate(r); err != nil {
			return nil, fmt.Errorf("%s %q: %w", kind, r.(named).GetName(), err)
		}
	}
	return out, nil
}

// sortResources returns the resources sorted by name, so that input order
// does not change the output. Envoy rejects a whole update that repeats a
// name, or that redefines a static resource.
func sortResources[T named](kind string, in []T, reserved map[string]bool) ([]proto.Message, error) {
	sorted := slices.Clone(in)
	for i, r := range sorted {
		if proto.Message(r) == nil || !r.ProtoReflect().IsValid() {
			return nil, fmt.Errorf("%s #%d is nil", kind, i)
		}
		if reserved[r.GetName()] {
			return nil, fmt.Errorf("%s %q: name is taken by a static resource of the bootstrap", kind, r.GetName())
		}
	}
	slices.SortStableFunc(sorted, func(a, b T) int { return strings.Compare(a.GetName(), b.GetName()) })
	out := make([]proto.Message, len(sorted))
	for i, r := range sorted {
		if i > 0 && r.GetName() == sorted[i-1].GetName() {
			return nil, fmt.Errorf("%s %q: defined twice", kind, r.GetName())
		}
		out[i] = r
	}
	return out, nil
}

// validator is implemented by every go-control-plane message
// (protoc-gen-validate).
type validator interface{ ValidateAll() error }

func validate(m proto.Message) error {
	if v, ok := m.(validator); ok {
		return v.ValidateAll()
	}
	return nil
}
