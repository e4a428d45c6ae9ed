// Package scale is issue 4's scale harness: BenchmarkRollout runs the manager binary against the
// local cluster (test/cluster: etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok
// fake nodes) with N services × M pods and measures what a canary weight change costs.
//
// Run it (it builds the manager; the control-plane binaries come from testenv.AssetsDir, and the
// benchmark skips when they are missing; `go test ./...` never runs it: benchmarks need -bench):
//
//	go test ./test/scale -run XXX -bench Rollout -benchtime 1x -timeout 60m
//	MIZZEN_SCALE_SERVICES=10 MIZZEN_SCALE_PODS=100 go test ./test/scale -run XXX -bench Rollout -benchtime 1x
//
// Settings: MIZZEN_SCALE_SERVICES (default 100), MIZZEN_SCALE_PODS (default 1000, at least two
// per service), MIZZEN_SCALE_ALL=0 skips the all-VirtualServices change, MIZZEN_SCALE_BARE_WORKERS
// (default 4, the proxy reconciler's concurrency), MIZZEN_SCALE_STATE_DIR keeps the cluster's state
// and logs (the manager's log is logs/mizzen-manager.log; a temporary one is removed after a
// passing run). Progress and per-phase figures go to stderr as they happen.
//
// Larger meshes, as Istio users run them: MIZZEN_SCALE_NAMESPACES=N spreads the services over N
// meshed namespaces mesh-scale-0 … mesh-scale-<N-1> (service i in namespace i mod N; default 1:
// everything in mesh-scale), and MIZZEN_SCALE_EGRESS=namespace scopes every proxy to the services
// of its own namespace (annotation mizzen.dev/egress-hosts "./*" on the pod templates, Istio's
// Sidecar egress hosts; default "all": unscoped, every proxy sees every service). Scoped, a
// VirtualService shapes only the proxies of its namespace, so its Ready condition counts those
// ("M/M proxies" with M the namespace's pods, internal/rollout's count), a weight change re-stamps
// those pods alone (asserted), and the all-VirtualServices change still changes every proxy.
// Unscoped at 1,000 services a proxy's config would pass the 1 MiB ConfigMap limit.
// The manager runs with the Go runtime settings config/manager gives it (GOGC, GOMEMLIMIT: as it
// is deployed); MIZZEN_SCALE_GOGC (e.g. 100, Go's default) and MIZZEN_SCALE_GOMEMLIMIT (e.g.
// 120MiB, or off) override them.
// MIZZEN_SCALE_STAMP_PODS=0 runs the manager with --stamp-pods=false: one API write per proxy
// change instead of a ConfigMap write and a pod patch; the harness then reads each proxy's hash
// from its ConfigMaps and asserts that no pod carries one.
//
// CPU: every phase also reports the CPU time (user + system, from /proc) that each process of the
// run — apiserver, etcd, controllers, kwok, manager, the harness with its bare client — spent per
// write. On a machine whose two cores everything shares, that is the steadier measure of what a
// write costs; MIZZEN_SCALE_CPU_PROFILE=<seconds> also saves the manager's CPU profile from the
// one-VS change on (manager-rollout.cpu.pprof beside its log).
//
// Memory: with MIZZEN_SCALE_PROFILES=1 (implied by MIZZEN_SCALE_CPU_PROFILE) the manager serves
// pprof on a loopback port (--pprof-bind-address), and the harness saves heap profiles beside the
// manager's log: manager-heap-converged.pprof, -one-vs.pprof and -end.pprof (each after a forced
// collection: the live heap), and manager-heap-peak.pprof (the heap as of the last collection,
// saved each time the peak RSS grew by 4 MiB: near the peak, with the manager's metrics —
// go_memstats_* among them — in manager-metrics-peak.txt). Read them with
// `go tool pprof -top -sample_index=inuse_space <file>`; keep them with MIZZEN_SCALE_STATE_DIR.
// Without it the manager runs as deployed: no pprof, and so no allocation sampling (~3 MiB).
//
// What one run does:
//
//  1. starts the cluster (a fake node per 110 pods, no cert-manager: the proxy reconciler then
//     writes configs without Certificates) and the manager binary beside it
//     (cluster.StartProcess: ENABLE_WEBHOOKS=false, plain-HTTP metrics on a loopback port);
//  2. creates meshed namespace mesh-scale: per service a Service, two Deployments (version v1 and
//     v2, half the service's pods each), a DestinationRule with subsets v1/v2 and a 90/10
//     VirtualService; converged = every pod Running with an IP, every pod in its Service's
//     EndpointSlices, every VirtualService Ready (reason Ready, "M/M proxies"), observed through
//     watches; then waits until the manager is idle (proxy queue empty, counters still);
//  3. the baseline: M ConfigMaps of the size of a real proxy's main ConfigMap (routes: the one a
//     weight change rewrites), updated once each by a client-go loop set up like the manager's
//     client (no client-side rate limit, protobuf): the apiserver's write rate on this machine;
//     then again with a pod annotation patch after each update (the manager stamps the config
//     hash on the pod after each write), each round with the CPU every process spent;
//  4. one VirtualService 90/10 → 50/50: time from the patch until Ready for the new generation
//     with every proxy updated (a watch), ConfigMap writes and bytes from the manager's metrics,
//     and every pod re-stamped with a new hash (asserted); the manager's write rate over its write
//     window (metrics sampled every 500 ms: a scrape costs the manager CPU too) against the baseline;
//  5. every VirtualService → 80/20 at once (the same figures);
//  6. a no-op resync: a Service annotation (one per namespace when scoped: a Service change
//     reaches the proxies that see it) makes the manager reconcile and render every proxy, and
//     it must write no ConfigMap (asserted: a count, not a time);
//  7. the manager's peak RSS (VmHWM).
//
// Figures measured on the 2-core development machine (times and write rates vary by ±50% between
// runs with the machine's other load — the bare client alone ran at 94–186 writes/s in one
// afternoon; the CPU per write is steadier). Current code, as shipped (config/manager: GOGC=50,
// GOMEMLIMIT=400MiB; --stamp-pods; API responses uncompressed and not decoded; no pprof):
//
//	100 × 1,000 (MIZZEN_SCALE_ALL=0): convergence 2 m 08 s, idle after 3 m 03 s; main ConfigMap
//	            146 KiB; one VS 90/10 → 50/50 Ready in 16.5 s: 1,000 writes (143 MiB), 1,000/1,000
//	            proxies with a new hash, 2 snapshot builds; no-op: 0 writes, 1,000 renders; peak
//	            RSS 116 MiB (77 anonymous, 38 the binary's pages; 135 MiB before the gRPC-free
//	            binary and the uncopied stores, 145–147 MiB before that); bare 141.4 writes/s,
//	            bare+pod 90.5, manager 60.5 = 43% of bare, 67% of bare+pod (46% and 57% before).
//	            CPU per proxy: 30.2 ms (apiserver 12.5, manager 9.0 — 10.4 before —, etcd 4.4);
//	            bare CPU per write / that = 42%. With the clusters kept across snapshots: peak RSS
//	            116 MiB, one VS 18.1 s, 39% of bare, 63% of bare+pod, manager 9.5 ms per proxy —
//	            the same within run-to-run variation. Now (problems kept per namespace, fewer
//	            copies): convergence 1 m 51 s, idle after 2 m 36 s (744 snapshot builds); peak RSS
//	            107 MiB (70 anonymous); one VS 18.3 s; bare 134.3 writes/s, bare+pod 78.4, manager
//	            54.5 = 41% of bare, 69% of bare+pod; manager 9.7 ms per proxy.
//	the same with --stamp-pods=false (MIZZEN_SCALE_STAMP_PODS=0; measured two sessions ago):
//	            one VS Ready in 9.3 s; bare 145.8 writes/s, manager 107.8 writes/s = 74% of bare;
//	            CPU per write: bare 12.2 ms, manager 16.6 ms per proxy (apiserver 6.2, manager 5.6,
//	            etcd 3.4) = 73%; peak RSS 145 MiB. With GOGC=100 and gzip (MIZZEN_SCALE_GOGC=100):
//	            one VS 11.5 s, manager 6.3 ms per proxy, peak RSS 194 MiB.
//	1,000 × 2,000 in 20 namespaces, scoped (MIZZEN_SCALE_NAMESPACES=20 MIZZEN_SCALE_EGRESS=namespace
//	            MIZZEN_SCALE_ALL=0): convergence 5 m 36 s, idle after 5 m 53 s (7,570 writes, 4,942
//	            renders, 2,143 snapshot builds; 5 m 38 s – 7 m 17 s in this session's runs, with
//	            the machine's other load); main ConfigMap 80 KiB; one VS Ready in 1.7 s on its
//	            namespace's 100 proxies (1.7–2.9 s over eleven runs): 100 writes (7.8 MiB), 103
//	            renders, 1 snapshot build; manager CPU 12.0 ms per proxy (16.9 at the start of this
//	            session, 54 ms before the rollout counts were grouped); bare 169.3 writes/s,
//	            bare+pod 99.1, manager 56.8 = 34% of bare, 57% of bare+pod; no-op (a Service
//	            annotated per namespace): 2,000 renders, 0 writes; peak RSS 169 MiB (132 anonymous,
//	            37 the binary's pages; 175–188 MiB in this session's earlier runs, 178–210 MiB
//	            before it, ±10 MiB between runs at one heap peak; 209–212 MiB before the problem
//	            cache, the uncopied stores and the gRPC-free binary, 304 MiB with GOGC=100); the
//	            heap peaked at 112 MB, the live heap at 77 MB (gctrace). Allocations until idle
//	            (the sum of gctrace's heap growth between collections): 15.9 GB in 974
//	            collections — 23.7 GB in 1,432 at the start of this session, 30 GB in 1,804 before
//	            the clusters were kept across snapshots. With MIZZEN_SCALE_GOMEMLIMIT=110MiB (an
//	            earlier session): peak RSS 145 MiB (107 anonymous), but the collector runs every
//	            100 ms once the live heap nears the limit: convergence 7 m 09 s, one VS Ready in
//	            2.8 s, manager 27.7 ms per proxy; with 105MiB, 145 MiB and 41.8 ms per proxy.
//
// Earlier: one ConfigMap per proxy, endpoints and routes together, each render re-marshalling
// every shared resource — 100 × 1,000 one VS Ready in 5 m 25 s with 871 MiB written (972 KiB
// ConfigMaps), manager 41% of bare, peak RSS 264 MiB; 1,000 × 2,000 scoped one VS in 18.6 s, peak
// RSS 345 MiB. Then (split ConfigMaps, memoized rendering, trimmed informers): 100 × 1,000 one VS
// in 16.5–21.0 s, 33–47% of bare; 1,000 × 2,000 one VS in 4.3–5.9 s, peak RSS 323–338 MiB, the
// status reconcilers walking every pod for every rule at each snapshot (most of the manager's CPU).
//
// Where the CPU goes (the figures above): a pod annotation patch costs the control plane about as
// much as a ConfigMap write of 150 KiB (apiserver patch path, and every pod watcher: scheduler,
// controller-manager, kwok, manager), so with --stamp-pods (the default) the manager cannot
// reach more than bare / (bare + pod patch) of the bare ConfigMap rate whatever its own cost.
// The manager's own share of a one-VS rollout at 1,000 × 2,000 (an earlier session, before the
// problems were kept per namespace; MIZZEN_SCALE_CPU_PROFILE=5: 1.6 s of CPU in 5 s): the
// collector 22%, the proxy reconciler 28% (rendering 20%, translating the 100 proxies 1%), the
// status reconcilers 19% (re-checking all 2,000 rules at each snapshot; the rule problems'
// translation of a proxy per namespace 6%), the rest the informers' decoding and the HTTP/2
// client.
// Where the memory goes at 1,000 × 2,000 (heap profiles, MIZZEN_SCALE_PROFILES=1, and
// GODEBUG=gctrace=1, which the manager inherits): ≈38 MiB are the binary's pages (62 MB binary;
// 50 MiB when go-control-plane's discovery package linked all of gRPC into an 82 MB one). The
// live heap grows with the mesh through the convergence (35 MB after a minute, 60 after two) to
// 77–83 MB in its last minute, and falls to ≈60 MB once translations idle for 10 s are released;
// at its peak the heap reaches 115–126 MB (GOGC=50). The runtime's own account at the last peak
// sample (manager-metrics-peak.txt, 181 MiB RSS): 96 MB of objects in 116.5 MB of spans in use
// (20 MB of free slots in them), 15.5 MB of free pages not yet returned to the system (21.9 idle,
// 6.4 released), 5 MB of collector metadata, 1.6 MB of stacks, 3 MB of profiling buckets (pprof
// on only). So at GOGC=50 the anonymous RSS is about 1.8 times the live heap: under 150 MiB with
// the binary's 38 needs a live heap near 60 MB at the peak. Of the live heap at the peak
// (manager-heap-peak.pprof, 82 MB sampled): envoy.Cache ≈20 MB (the YAML of every resource in use
// or not yet swept ≈11.5 MB, the memoized files ≈4 MB, its index ≈2 MB), the translations the
// snapshots memoize ≈12.5 MB (the clusters kept across snapshots ≈9 MB; the status reconcilers'
// problem translation of a proxy per namespace is most of the rest), the informers ≈17 MB (2,000
// rules JSON-decoded with their status ≈8.5 MB, 4,000 ConfigMaps' metadata ≈4 MB, pods ≈2.5 MB,
// Services and EndpointSlices ≈2 MB), metrics ≈3.3 MB and their gzip writers ≈2.3 MB, the work
// queues ≈2.6 MB, the events library's cache ≈2 MB (7 MB before the pods' ProxyIDAssigned events
// went), package init ≈3.5 MB. No single part is large enough. Tried and measured, none moving
// the peak live heap: envoy.Cache's bounds halved, the idle release after 2 s instead of 10 s, the
// rule problems translated on a throwaway view of the snapshot (that one added 50% to the
// allocations: each miss rebuilt the clusters no render had kept). The collector took 16–24% of
// the manager's CPU during convergence (gctrace).
// Allocations during a convergence: 54 GB before the problem cache and the uncopied stores,
// 39.5 GB after them (alloc_space of manager-heap-end.pprof), 23.7 GB until idle before this
// session (gctrace), 15.9 GB now. Of the 34 GB a whole run allocated before this session
// (manager-heap-end.pprof, alloc_space): the status reconcilers' problem translations 7.5 GB — a snapshot whose rules, services or endpoint identities changed
// translated a sidecar of every namespace; now a namespace's problems are found again only when
// its translation's questions get other answers (internal/translate/outboundreads.go): 2.5 GB
// of 26.7 —, the route index's rebuilds 2.2 GB (0.1: it files what changed), the cluster
// cache's digests 1.8 GB (0.1: fields written one by one), the ConfigMap writes' encoding
// 2.5 GB and the files' string copies 1.25 GB (halved and gone since), the snapshot builds
// 3.9 GB (a quarter less since their maps are sized up front). What remains is mostly rendering
// the resources that changed (protojson, the strict decoding and the deep validation every
// fragment passes: 5.8 GB) and building a snapshot per change.
//
// Targets of the issue: zero writes on a no-op resync — met at every size. ≥ 70% of the bare
// write rate at 1,000 pods — met with --stamp-pods=false (74%, 70%, 71% in three runs), not with
// the pod stamp, the default (39–47% of bare; 57–78% of bare+pod, the bound a stamping manager
// has). RSS < 150 MiB — met at 100 services × 1,000 pods (107 MiB), not at 1,000 services /
// 2,000 pods as shipped (169–188 MiB; 145 MiB with GOMEMLIMIT=110MiB, at 1.8 times the manager's
// CPU per proxy — a fixed limit that low would starve a larger mesh, so it is not the default).
package scale
