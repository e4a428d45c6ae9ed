package dataplane

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"sync"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	serverv3 "github.com/envoyproxy/go-control-plane/pkg/server/v3"
	"google.golang.org/grpc"
)

// ControlPlane is go-control-plane's ADS server on a loopback port, serving one node, and keeping
// what the node said of each push: an ACK (a request carrying the version) or a NACK (a request
// with error_detail set).
type ControlPlane struct {
	Addr   string // host:port of the ADS server
	NodeID string

	cache  cachev3.SnapshotCache
	server *grpc.Server
	cancel context.CancelFunc

	mu      sync.Mutex
	version int
	acked   map[string]string // type URL → last version ACKed
	nacks   []string
}

// StartControlPlane starts the ADS server for node nodeID on 127.0.0.1 (a free port).
func StartControlPlane(nodeID string) (*ControlPlane, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listening for ADS: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cp := &ControlPlane{Addr: lis.Addr().String(), NodeID: nodeID, cancel: cancel, acked: map[string]string{},
		// ads=false: gRPC asks for resources one type at a time, by name, as it learns of them;
		// ADS mode would hold responses until a request names every resource of the snapshot.
		cache: cachev3.NewSnapshotCache(false, cachev3.IDHash{}, nil)}
	callbacks := serverv3.CallbackFuncs{StreamRequestFunc: cp.onRequest}
	cp.server = grpc.NewServer()
	discoveryv3.RegisterAggregatedDiscoveryServiceServer(cp.server, serverv3.NewServer(ctx, cp.cache, callbacks))
	go func() { _ = cp.server.Serve(lis) }()
	return cp, nil
}

func (cp *ControlPlane) onRequest(_ int64, req *discoveryv3.DiscoveryRequest) error {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	switch {
	case req.GetErrorDetail() != nil:
		cp.nacks = append(cp.nacks, fmt.Sprintf("%s %v: %s", req.GetTypeUrl(), req.GetResourceNames(), req.GetErrorDetail().GetMessage()))
	case req.GetVersionInfo() != "":
		cp.acked[req.GetTypeUrl()] = req.GetVersionInfo()
	}
	return nil
}

// Bootstrap is the gRPC xDS bootstrap file of a client of this control plane (plaintext).
func (cp *ControlPlane) Bootstrap() []byte {
	b, _ := json.Marshal(map[string]any{
		"xds_servers": []any{map[string]any{
			"server_uri":      cp.Addr,
			"channel_creds":   []any{map[string]string{"type": "insecure"}},
			"server_features": []string{"xds_v3"},
		}},
		"node": map[string]string{"id": cp.NodeID},
	})
	return b
}

// Push serves r to the node as a new snapshot version, which it returns.
func (cp *ControlPlane) Push(r Resources) (string, error) {
	cp.mu.Lock()
	cp.version++
	version := strconv.Itoa(cp.version)
	cp.mu.Unlock()
	snap, err := cachev3.NewSnapshot(version, map[resourcev3.Type][]types.Resource{
		resourcev3.ListenerType: asResources(r.Listeners),
		resourcev3.ClusterType:  asResources(r.Clusters),
		resourcev3.EndpointType: asResources(r.Endpoints),
	})
	if err != nil {
		return "", err
	}
	// Every EDS cluster has its load assignment: gRPC would otherwise wait for it forever.
	if err := snap.Consistent(); err != nil {
		return "", fmt.Errorf("snapshot %s: %w", version, err)
	}
	return version, cp.cache.SetSnapshot(context.Background(), cp.NodeID, snap)
}

func asResources[T types.Resource](in []T) []types.Resource {
	out := make([]types.Resource, len(in))
	for i, r := range in {
		out[i] = r
	}
	return out
}

// Acked reports whether the node ACKed version for listeners, clusters and endpoints.
func (cp *ControlPlane) Acked(version string) bool {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	return cp.acked[resourcev3.ListenerType] == version && cp.acked[resourcev3.ClusterType] == version &&
		cp.acked[resourcev3.EndpointType] == version
}

// NACKs are the rejections the node sent so far, one line each.
func (cp *ControlPlane) NACKs() []string {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	return append([]string(nil), cp.nacks...)
}

// Stop stops the server.
func (cp *ControlPlane) Stop() {
	cp.cancel()
	cp.server.Stop()
}
