package envoy

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// scaleConfig is a sidecar's view of n services on port 9080, in the shape
// translate produces: per service an ISTIO_MUTUAL cluster with 3 inline
// endpoints, circuit breakers and outlier detection, and a virtual host (3
// domains, one route) in the 9080 listener's inline route table.
func scaleConfig(n int) ([]*listenerv3.Listener, []*clusterv3.Cluster) {
	ls := testListeners()
	cs := testClusters()
	rc := &routev3.RouteConfiguration{Name: "9080", ValidateClusters: wrapperspb.Bool(false)}
	for i := range n {
		host := fmt.Sprintf("svc-%04d.default.svc.cluster.local", i)
		name := outboundName(9080, "", host)
		c := istioMutual(staticCluster(name,
			fmt.Sprintf("10.%d.%d.1", i/250, i%250), fmt.Sprintf("10.%d.%d.2", i/250, i%250), fmt.Sprintf("10.%d.%d.3", i/250, i%250)), name)
		c.CircuitBreakers = &clusterv3.CircuitBreakers{Thresholds: []*clusterv3.CircuitBreakers_Thresholds{{
			MaxConnections: wrapperspb.UInt32(1024), MaxPendingRequests: wrapperspb.UInt32(1024),
			MaxRequests: wrapperspb.UInt32(1024), MaxRetries: wrapperspb.UInt32(3),
		}}}
		c.OutlierDetection = &clusterv3.OutlierDetection{
			Consecutive_5Xx: wrapperspb.UInt32(5), Interval: durationpb.New(10 * time.Second),
			BaseEjectionTime: durationpb.New(30 * time.Second), MaxEjectionPercent: wrapperspb.UInt32(100),
		}
		c.CommonLbConfig = &clusterv3.Cluster_CommonLbConfig{}
		cs = append(cs, c)
		rc.VirtualHosts = append(rc.VirtualHosts, &routev3.VirtualHost{
			Name:    host + ":9080",
			Domains: []string{host, fmt.Sprintf("svc-%04d", i), fmt.Sprintf("svc-%04d.default", i)},
			Routes: []*routev3.Route{{
				Name:  "default",
				Match: &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}},
				Action: &routev3.Route_Route{Route: &routev3.RouteAction{
					ClusterSpecifier: &routev3.RouteAction_Cluster{Cluster: name},
					Timeout:          durationpb.New(0),
					RetryPolicy: &routev3.RetryPolicy{
						RetryOn:    "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes",
						NumRetries: wrapperspb.UInt32(2),
					},
				}},
			}},
		})
	}
	ls[1].FilterChains[0].Filters[0] = hcmFilter("outbound_0.0.0.0_9080", rc)
	ls[1].TrafficDirection = corev3.TrafficDirection_OUTBOUND
	return ls, cs
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRender: time and allocations to render and verify one proxy's
// files; config-bytes is Files.Size.
func BenchmarkRender(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("clusters=%d", n), func(b *testing.B) {
			ls, cs := scaleConfig(n)
			r := Renderer{MaxBytes: 64 << 20} // measure, do not cap
			var size int
			b.ReportAllocs()
			cpu0 := cpuTime()
			for b.Loop() {
				f, err := r.Render(testNode(), ls, cs)
				if err != nil {
					b.Fatal(err)
				}
				size = f.Size()
			}
			// CPU time of the whole process (GC included) per render: a
			// steadier figure than ns/op on a shared machine.
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
			b.ReportMetric(float64(size), "config-bytes")
		})
		// Steady state with a Cache: another proxy whose clusters and
		// listeners were rendered before (only the bootstrap differs).
		b.Run(fmt.Sprintf("clusters=%d/cached", n), func(b *testing.B) {
			ls, cs := scaleConfig(n)
			c := &Cache{Renderer: Renderer{MaxBytes: 64 << 20}}
			if _, err := c.Render(testNode(), ls, cs); err != nil {
				b.Fatal(err)
			}
			node := testNode()
			b.ReportAllocs()
			cpu0 := cpuTime()
			for i := 0; b.Loop(); i++ {
				node.ID = fmt.Sprintf("p-%d", i)
				if _, err := c.Render(node, ls, cs); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}
