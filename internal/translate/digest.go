package translate

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"hash"
	"maps"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mizzen-mesh/mizzen/internal/mesh"
)

// digest writes length-prefixed values, so that no two sequences of values write the same bytes.
// Each value goes through buf: converting a string or an integer for the hash allocated once per
// value, and every translation digests every service port it builds clusters for.
type digest struct {
	h   hash.Hash
	buf []byte
}

func newDigest() *digest { return &digest{h: sha256.New(), buf: make([]byte, 0, 64)} }

func (d *digest) sum() [sha256.Size]byte {
	var sum [sha256.Size]byte
	d.h.Sum(sum[:0])
	return sum
}

// rule writes a rule's identity and version; a rule that did not come from an API server (no UID
// or generation: a test's fixture, a file) is written by its spec, which JSON writes
// deterministically.
func (d *digest) rule(kind string, obj metav1.Object, spec any) {
	d.strs(kind, obj.GetNamespace(), obj.GetName(), string(obj.GetUID()))
	d.int(obj.GetGeneration())
	if obj.GetUID() == "" || obj.GetGeneration() == 0 {
		b, err := json.Marshal(spec)
		if err != nil {
			panic(err) // API types always marshal
		}
		d.str(string(b))
	}
}

func (d *digest) strs(tag string, ss ...string) {
	d.str(tag)
	d.int(int64(len(ss)))
	for _, s := range ss {
		d.str(s)
	}
}

func (d *digest) str(s string) {
	d.buf = append(binary.LittleEndian.AppendUint64(d.buf[:0], uint64(len(s))), s...)
	d.h.Write(d.buf)
}

func (d *digest) int(n int64) {
	d.buf = binary.LittleEndian.AppendUint64(d.buf[:0], uint64(n))
	d.h.Write(d.buf)
}

func (d *digest) bools(bs ...bool) {
	for _, b := range bs {
		n := int64(0)
		if b {
			n = 1
		}
		d.int(n)
	}
}

func (d *digest) labels(m map[string]string) {
	d.int(int64(len(m)))
	var small [8]string // a pod's labels fit: sorting them then allocates nothing
	keys := small[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		d.str(k)
		d.str(m[k])
	}
}

// service writes what translation problems can depend on of a service: all but its endpoints'
// addresses, ports, labels and localities (see problemInputs).
func (d *digest) service(svc *mesh.Service) {
	d.strs("Service", svc.Namespace, svc.Name, svc.Hostname, svc.ClusterIP)
	d.int(svc.Created)
	for _, p := range svc.Ports {
		d.port(p)
	}
	d.labels(svc.Selector)
	d.strs("exportTo", svc.ExportTo...)
	for _, port := range slices.Sorted(maps.Keys(svc.Endpoints)) {
		d.int(int64(port))
		d.endpointIdentities(svc.Endpoints[port])
	}
}

// port writes every field of a service port.
func (d *digest) port(p mesh.Port) {
	d.strs("port", p.Name, string(p.Protocol))
	d.int(int64(p.Number))
}

// endpointIdentities writes the distinct (meshed, service account) pairs of eps.
func (d *digest) endpointIdentities(eps []mesh.Endpoint) {
	type identity struct {
		meshed bool
		sa     string
	}
	ids := make([]identity, 0, 2)
	for _, e := range eps {
		id := identity{e.Meshed, e.ServiceAccount}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, func(a, b identity) int {
		if a.meshed != b.meshed {
			if a.meshed {
				return 1
			}
			return -1
		}
		return cmp.Compare(a.sa, b.sa)
	})
	d.int(int64(len(ids)))
	for _, id := range ids {
		d.bools(id.meshed)
		d.str(id.sa)
	}
}
