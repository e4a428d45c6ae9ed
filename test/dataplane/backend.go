package dataplane

import (
	"context"
	"fmt"
	"net"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/tap"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// Backend is a gRPC server playing one pod on a loopback port. It answers any unary method with
// its name (a StringValue), so a client sees which pod served it, and counts the calls it gets.
// FailNext makes it refuse calls with UNAVAILABLE, to exercise retries. Arrivals counts every
// stream it receives, even those its gRPC server refuses before any handler runs (a path that is
// not /service/method), so a test can see where such an RPC was routed.
type Backend struct {
	Name string
	Addr string // 127.0.0.1:<port>

	server *grpc.Server

	mu       sync.Mutex
	calls    map[string]int // method → calls received, failed ones included
	arrivals map[string]int // :path → streams received, refused ones included
	failNext int
}

// StartBackend starts a backend named name.
func StartBackend(name string) (*Backend, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("backend %s: %w", name, err)
	}
	b := &Backend{Name: name, Addr: lis.Addr().String(), calls: map[string]int{}, arrivals: map[string]int{}}
	// No service is registered: every method is handled here, so tests pick their method paths.
	// The tap sees each stream's path before the server parses it.
	b.server = grpc.NewServer(grpc.UnknownServiceHandler(b.handle), grpc.InTapHandle(b.arrive))
	go func() { _ = b.server.Serve(lis) }()
	return b, nil
}

func (b *Backend) handle(_ any, stream grpc.ServerStream) error {
	method, _ := grpc.MethodFromServerStream(stream)
	if err := stream.RecvMsg(&wrapperspb.StringValue{}); err != nil {
		return err
	}
	b.mu.Lock()
	b.calls[method]++
	fail := b.failNext > 0
	if fail {
		b.failNext--
	}
	b.mu.Unlock()
	if fail {
		return status.Errorf(codes.Unavailable, "%s refuses this call (FailNext)", b.Name)
	}
	return stream.SendMsg(wrapperspb.String(b.Name))
}

func (b *Backend) arrive(ctx context.Context, info *tap.Info) (context.Context, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.arrivals[info.FullMethodName]++
	return ctx, nil
}

// Arrivals is the number of streams of path received so far, whether or not the server accepted
// the path as a method.
func (b *Backend) Arrivals(path string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.arrivals[path]
}

// FailNext makes the next n calls fail with UNAVAILABLE.
func (b *Backend) FailNext(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failNext = n
}

// Calls is the number of calls of method received so far.
func (b *Backend) Calls(method string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.calls[method]
}

// Stop stops the server.
func (b *Backend) Stop() { b.server.Stop() }
