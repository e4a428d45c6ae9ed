package envoy

import (
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func mustRender(t testing.TB, node Node, ls []*listenerv3.Listener, cs []*clusterv3.Cluster) *Files {
	t.Helper()
	f, err := Render(node, ls, cs)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	return f
}

// TestGolden pins every byte of the files and the hash. Regenerate with
// go test ./internal/envoy/ -update, then review the diff like code.
func TestGolden(t *testing.T) {
	for name, tc := range map[string]struct {
		listeners []*listenerv3.Listener
		clusters  []*clusterv3.Cluster
	}{
		"basic": {testListeners(), testClusters()},
		"empty": {nil, nil},
	} {
		t.Run(name, func(t *testing.T) {
			f := mustRender(t, testNode(), tc.listeners, tc.clusters)
			got := map[string]string{"hash": f.Hash + "\n"}
			for k, v := range f.Data {
				got[k] = v
			}
			dir := filepath.Join("testdata", name)
			if *update {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				for file, content := range got {
					if err := os.WriteFile(filepath.Join(dir, file), []byte(content), 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			var onDisk []string
			for _, e := range entries {
				onDisk = append(onDisk, e.Name())
			}
			if want := sortedKeys(got); !slices.Equal(onDisk, want) {
				t.Errorf("testdata/%s holds %v, want %v (run with -update)", name, onDisk, want)
			}
			for file, content := range got {
				want, err := os.ReadFile(filepath.Join(dir, file))
				if err != nil {
					t.Fatal(err)
				}
				if string(want) != content {
					t.Errorf("%s differs from testdata/%s/%s (run with -update to accept):\n%s", file, name, file, content)
				}
			}
			// Golden files are what a ConfigMap would hold: they verify
			// without the rendered messages too.
			if err := Verify(&Files{Data: f.Data, Hash: f.Hash}); err != nil {
				t.Errorf("Verify(read back): %v", err)
			}
		})
	}
}

func TestDeterministic(t *testing.T) {
	a := mustRender(t, testNode(), testListeners(), testClusters())
	for range 20 {
		// Input order must not matter either: resources are sorted.
		ls, cs := testListeners(), testClusters()
		slices.Reverse(ls)
		slices.Reverse(cs)
		b := mustRender(t, testNode(), ls, cs)
		if b.Hash != a.Hash {
			t.Fatalf("hash %s then %s", a.Hash, b.Hash)
		}
		for file := range a.Data {
			if a.Data[file] != b.Data[file] {
				t.Fatalf("%s differs between two renders", file)
			}
		}
	}
}

// TestDeterministicAcrossProcesses renders in a fresh process (new map
// seeds, new protojson whitespace choice) and compares the hash.
func TestDeterministicAcrossProcesses(t *testing.T) {
	if os.Getenv("MIZZEN_ENVOY_PRINT_HASH") == "1" {
		fmt.Printf("hash=%s\n", mustRender(t, testNode(), testListeners(), testClusters()).Hash)
		return
	}
	want := mustRender(t, testNode(), testListeners(), testClusters()).Hash
	for range 3 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestDeterministicAcrossProcesses$", "-test.count=1")
		cmd.Env = append(os.Environ(), "MIZZEN_ENVOY_PRINT_HASH=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
		if !strings.Contains(string(out), "hash="+want+"\n") {
			t.Fatalf("child process rendered a different hash, want %s:\n%s", want, out)
		}
	}
}

func TestVerifyStrictRoundTrip(t *testing.T) {
	f := mustRender(t, testNode(), testListeners(), testClusters())
	if err := Verify(f); err != nil {
		t.Fatalf("Verify(rendered): %v", err)
	}
	edit := func(file, old, new string) *Files {
		t.Helper()
		data := map[string]string{}
		for k, v := range f.Data {
			data[k] = v
		}
		if !strings.Contains(data[file], old) {
			t.Fatalf("%s does not contain %q", file, old)
		}
		data[file] = strings.Replace(data[file], old, new, 1)
		return &Files{Data: data}
	}
	for name, tc := range map[string]struct {
		files *Files
		want  string
	}{
		"unknown field":        {edit(CDSFile, "  connect_timeout: 10s\n", "  connect_timeout: 10s\n  connect_timout: 10s\n"), `unknown field "connect_timout"`},
		"unknown field in Any": {edit(LDSFile, "      stat_prefix: stats\n", "      stat_prefix: stats\n      stat_prefx: stats\n"), `unknown field "stat_prefx"`},
		"duplicate key":        {edit(CDSFile, "  connect_timeout: 10s\n", "  connect_timeout: 10s\n  connect_timeout: 5s\n"), `duplicate key "connect_timeout"`},
		"unknown type":         {edit(LDSFile, "envoy.extensions.filters.http.router.v3.Router", "envoy.extensions.filters.http.nope.v3.Nope"), `Nope`},
		"invalid in Any":       {edit(LDSFile, "      stat_prefix: stats\n", "      stat_prefix: \"\"\n"), `HttpConnectionManager>: invalid HttpConnectionManager.StatPrefix`},
		"wrong type_url":       {edit(RootCASDSFile, "type_url: type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret", "type_url: type.googleapis.com/envoy.config.cluster.v3.Cluster"), "type_url"},
		"wrong secret":         {edit(RootCASDSFile, "name: ROOTCA", "name: default"), `want exactly the secret "ROOTCA"`},
		"missing file":         {&Files{Data: map[string]string{BootstrapFile: f.Data[BootstrapFile]}}, "files [envoy.yaml], want"},
		"empty version":        {edit(CDSFile, "version_info: \""+cdsVersion(f), "version_info: \""), "empty version_info"},
		"comment":              {edit(CDSFile, "type_url:", "# hand edit\ntype_url:"), `want a key: "# hand edit"`},
		"lds elsewhere":        {edit(BootstrapFile, "path: /etc/mizzen/proxy/lds.yaml", "path: /etc/envoy/lds.yaml"), `lds_config reads "/etc/envoy/lds.yaml"`},
	} {
		t.Run(name, func(t *testing.T) {
			err := Verify(tc.files)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Verify: %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func cdsVersion(f *Files) string {
	_, v, _ := strings.Cut(f.Data[CDSFile], "version_info: \"")
	return strings.TrimSuffix(v, "\"\n")
}

// TestVerifyComparesContent: a file that decodes and validates but says
// something else than what was rendered is caught by the comparison.
func TestVerifyComparesContent(t *testing.T) {
	f := mustRender(t, testNode(), testListeners(), testClusters())
	f.Data[CDSFile] = strings.Replace(f.Data[CDSFile], "connect_timeout: 10s", "connect_timeout: 11s", 1)
	err := Verify(f)
	if err == nil || !strings.Contains(err.Error(), "differs from the rendered one") {
		t.Fatalf("Verify: %v, want a comparison error", err)
	}
}

type renderCase struct {
	node      Node
	listeners []*listenerv3.Listener
	clusters  []*clusterv3.Cluster
	want      string
}

// renderErrorCases are inputs Render must refuse, with the error they give.
func renderErrorCases() map[string]renderCase {
	badTimeout := testClusters()
	badTimeout[1].ConnectTimeout = durationpb.New(-time.Second)

	badHCM := testListeners()
	badHCM[3].FilterChains[0].Filters[0] = hcmFilter("", &routev3.RouteConfiguration{Name: "x"})

	unknownCluster := testListeners()
	unknownCluster[1].FilterChains[0].Filters[0] = hcmFilter("x", &routev3.RouteConfiguration{
		Name: "9080",
		VirtualHosts: []*routev3.VirtualHost{{Name: "a", Domains: []string{"*"},
			Routes: []*routev3.Route{prefixRoute("r", "/", toCluster("outbound|9080||nowhere"))}}},
	})

	wrongSecret := testClusters()
	wrongSecret = append(wrongSecret, istioMutual(staticCluster("outbound|9080||ratings", "10.0.3.1"), "ratings"))
	wrongSecret[len(wrongSecret)-1].TransportSocket.GetTypedConfig().Value = mustMarshal(&tlsv3.UpstreamTlsContext{
		CommonTlsContext: &tlsv3.CommonTlsContext{TlsCertificateSdsSecretConfigs: []*tlsv3.SdsSecretConfig{
			{Name: "default", SdsConfig: FileConfigSource(RootCASDSFile)},
		}},
	})

	adsSecret := testClusters()
	adsSecret = append(adsSecret, istioMutual(staticCluster("outbound|9080||ratings", "10.0.3.1"), "ratings"))
	adsSecret[len(adsSecret)-1].TransportSocket.GetTypedConfig().Value = mustMarshal(&tlsv3.UpstreamTlsContext{
		CommonTlsContext: &tlsv3.CommonTlsContext{TlsCertificateSdsSecretConfigs: []*tlsv3.SdsSecretConfig{
			{Name: "default", SdsConfig: &corev3.ConfigSource{ConfigSourceSpecifier: &corev3.ConfigSource_Ads{Ads: &corev3.AggregatedConfigSource{}}}},
		}},
	})

	unwatched := testClusters()
	unwatched = append(unwatched, istioMutual(staticCluster("outbound|9080||ratings", "10.0.3.1"), "ratings"))
	src := FileConfigSource(WorkloadSDSFile)
	src.GetPathConfigSource().WatchedDirectory = nil
	unwatched[len(unwatched)-1].TransportSocket.GetTypedConfig().Value = mustMarshal(&tlsv3.UpstreamTlsContext{
		CommonTlsContext: &tlsv3.CommonTlsContext{TlsCertificateSdsSecretConfigs: []*tlsv3.SdsSecretConfig{
			{Name: "default", SdsConfig: src},
		}},
	})

	dup := append(testClusters(), staticCluster("inbound|9080||", "127.0.0.2"))
	static := append(testClusters(), staticCluster(PrometheusStatsCluster, "127.0.0.1"))
	withNil := append(testListeners(), nil)

	return map[string]renderCase{
		"ValidateAll fails": {testNode(), testListeners(), badTimeout,
			`render config of proxy "p-7f3k2": cluster "outbound|9080|v1|reviews.default.svc.cluster.local": invalid Cluster.ConnectTimeout: value must be greater than 0s`},
		"invalid inside Any": {testNode(), badHCM, testClusters(),
			`lds.yaml: listener "0.0.0.0_15090": filter_chains[0].filters[0].typed_config<envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager>: invalid HttpConnectionManager.StatPrefix`},
		"unknown route cluster": {testNode(), unknownCluster, testClusters(),
			`listener "0.0.0.0_9080": filter_chains[0].filters[0].typed_config<envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager>: route_config "9080": virtual host "a": route #0 ("r"): unknown cluster "outbound|9080||nowhere"`},
		"secret from the wrong file": {testNode(), testListeners(), wrongSecret,
			`secret "default" read from sds-rootca.yaml, which holds "ROOTCA"`},
		"secret over ADS": {testNode(), testListeners(), adsSecret,
			`config source is not a file (*corev3.ConfigSource_Ads): no management server serves it`},
		"source not watched": {testNode(), testListeners(), unwatched,
			`watched_directory "", want "/etc/mizzen/proxy"`},
		"duplicate name": {testNode(), testListeners(), dup, `cluster "inbound|9080||": defined twice`},
		"static name":    {testNode(), testListeners(), static, `cluster "prometheus_stats": name is taken by a static resource of the bootstrap`},
		"nil listener":   {testNode(), withNil, testClusters(), "listener #4 is nil"},
		"no proxy id":    {Node{}, nil, nil, "node: empty proxy id"},
	}
}

func TestRenderErrors(t *testing.T) {
	for name, tc := range renderErrorCases() {
		t.Run(name, func(t *testing.T) {
			f, err := Render(tc.node, tc.listeners, tc.clusters)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Render: %v, want an error containing %q", err, tc.want)
			}
			if f != nil {
				t.Fatalf("Render returned files with an error")
			}
		})
	}
}

// Envoy loads an inline route table naming an unknown cluster when
// validate_clusters is false (the router answers 503): not an error here.
func TestUnknownClusterAllowedWithoutValidation(t *testing.T) {
	ls := testListeners()
	rc := &routev3.RouteConfiguration{
		Name:             "9080",
		ValidateClusters: wrapperspb.Bool(false),
		VirtualHosts: []*routev3.VirtualHost{{Name: "a", Domains: []string{"*"},
			Routes: []*routev3.Route{prefixRoute("r", "/", toCluster("outbound|9080||nowhere"))}}},
	}
	ls[1].FilterChains[0].Filters[0] = hcmFilter("x", rc)
	mustRender(t, testNode(), ls, testClusters())
}

func mustMarshal(m proto.Message) []byte {
	b, err := proto.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

// The limit holds per ConfigMap: the larger one decides.
func TestSizeLimit(t *testing.T) {
	f := mustRender(t, testNode(), testListeners(), testClusters())
	var largest ConfigMapData
	for _, cm := range f.ConfigMaps() {
		if dataSize(cm.Data) > dataSize(largest.Data) {
			largest = cm
		}
	}
	size := dataSize(largest.Data)
	_, err := Renderer{MaxBytes: size - 1}.Render(testNode(), testListeners(), testClusters())
	var se *SizeError
	if !errors.As(err, &se) {
		t.Fatalf("Render: %v, want a *SizeError", err)
	}
	if se.ConfigMap != largest.Name || se.Size != size || se.Limit != size-1 || len(se.Files) != len(largest.Data) {
		t.Errorf("SizeError %+v does not match ConfigMap %s of %d bytes", se, largest.Name, size)
	}
	want := fmt.Sprintf(`envoy: render config of proxy "p-7f3k2": ConfigMap %s of proxy "p-7f3k2" would be %d bytes, over the limit of %d (a ConfigMap holds at most 1048576); bytes per file: `,
		largest.Name, size, size-1)
	if !strings.HasPrefix(err.Error(), want) || !strings.HasSuffix(err.Error(), "reduce what this proxy sees") {
		t.Errorf("message:\n%s\nwant prefix:\n%s", err, want)
	}
	if _, err := (Renderer{MaxBytes: size}).Render(testNode(), testListeners(), testClusters()); err != nil {
		t.Errorf("at the limit: %v", err)
	}
	if f.Size() > DefaultMaxBytes || DefaultMaxBytes >= MaxConfigMapBytes {
		t.Errorf("DefaultMaxBytes %d", DefaultMaxBytes)
	}
}

// The ConfigMaps hold every file once, cds.yaml apart from what rules change, and their union
// hashes to the pod's stamp.
func TestConfigMaps(t *testing.T) {
	f := mustRender(t, testNode(), testListeners(), testClusters())
	cms := f.ConfigMaps()
	if len(cms) != 2 || cms[0].Name != "mizzen-proxy-p-7f3k2-clusters" || cms[1].Name != "mizzen-proxy-p-7f3k2" {
		t.Fatalf("ConfigMaps %v, want the clusters one first, then the main one", []string{cms[0].Name, cms[1].Name})
	}
	if !reflect.DeepEqual(slices.Sorted(maps.Keys(cms[0].Data)), []string{CDSFile}) {
		t.Errorf("clusters ConfigMap holds %v, want cds.yaml only", slices.Sorted(maps.Keys(cms[0].Data)))
	}
	if _, ok := cms[1].Data[CDSFile]; ok || cms[1].Data[LDSFile] == "" || cms[1].Data[BootstrapFile] == "" {
		t.Errorf("main ConfigMap holds %v, want every file but cds.yaml", slices.Sorted(maps.Keys(cms[1].Data)))
	}
	if merged := Merge(cms[0].Data, cms[1].Data); !reflect.DeepEqual(merged, f.Data) {
		t.Errorf("the ConfigMaps' union differs from the rendered files")
	}
	if f.Hash != StampOf(cms[0].Hash, cms[1].Hash) {
		t.Errorf("pod stamp %s is not StampOf the ConfigMaps' hashes", f.Hash)
	}
	for _, cm := range cms {
		if cm.Hash != HashOf(cm.Data) || cm.Hash == f.Hash {
			t.Errorf("ConfigMap %s hash %s: want its own data's hash", cm.Name, cm.Hash)
		}
	}

	// A change of listeners (a rule's, say) leaves the clusters ConfigMap as it was.
	ls := testListeners()
	ls[0].StatPrefix = "changed"
	g := mustRender(t, testNode(), ls, testClusters())
	after := g.ConfigMaps()
	if after[0].Hash != cms[0].Hash || after[1].Hash == cms[1].Hash || g.Hash == f.Hash {
		t.Errorf("after a listener change: clusters %s→%s, main %s→%s; want only the main one changed",
			cms[0].Hash, after[0].Hash, cms[1].Hash, after[1].Hash)
	}
}

// TestHash: the hash changes iff some file does, and a change touches only
// the file it belongs to.
func TestHash(t *testing.T) {
	base := mustRender(t, testNode(), testListeners(), testClusters())
	if got := mustRender(t, testNode(), testListeners(), testClusters()); got.Hash != base.Hash {
		t.Fatalf("same input, hash %s then %s", base.Hash, got.Hash)
	}
	if len(base.Hash) != 16 || strings.Trim(base.Hash, "0123456789abcdef") != "" {
		t.Errorf("hash %q: want 16 hex digits", base.Hash)
	}

	timeout := testClusters()
	timeout[0].ConnectTimeout = durationpb.New(5 * time.Second)
	weights := testListeners()
	weights[1].FilterChains[0].Filters[0] = hcmFilter("outbound_0.0.0.0_9080", func() *routev3.RouteConfiguration {
		rc := reviewsRoutes()
		w := rc.VirtualHosts[0].Routes[0].GetRoute().GetWeightedClusters().Clusters
		w[0].Weight, w[1].Weight = wrapperspb.UInt32(80), wrapperspb.UInt32(20)
		return rc
	}())
	node := testNode()
	node.Metadata["POD_NAME"] = "other"

	for name, tc := range map[string]struct {
		node    Node
		ls      []*listenerv3.Listener
		cs      []*clusterv3.Cluster
		changed string
	}{
		"cluster timeout": {testNode(), testListeners(), timeout, CDSFile},
		"route weights":   {testNode(), weights, testClusters(), LDSFile},
		"node metadata":   {node, testListeners(), testClusters(), BootstrapFile},
	} {
		t.Run(name, func(t *testing.T) {
			f := mustRender(t, tc.node, tc.ls, tc.cs)
			if f.Hash == base.Hash {
				t.Errorf("hash unchanged")
			}
			for file := range f.Data {
				if changed := f.Data[file] != base.Data[file]; changed != (file == tc.changed) {
					t.Errorf("%s changed: %v, want %v", file, changed, file == tc.changed)
				}
			}
		})
	}
}

// The SDS documents reference files of the mounted Secret, never key
// material, and the secrets reload when the kubelet swaps the Secret volume.
func TestSDSFilesHoldNoKeyMaterial(t *testing.T) {
	f := mustRender(t, testNode(), nil, nil)
	for _, want := range []string{"filename: /etc/mizzen/certs/tls.crt", "filename: /etc/mizzen/certs/tls.key", "path: /etc/mizzen/certs"} {
		if !strings.Contains(f.Data[WorkloadSDSFile], want) {
			t.Errorf("%s lacks %q:\n%s", WorkloadSDSFile, want, f.Data[WorkloadSDSFile])
		}
	}
	if !strings.Contains(f.Data[RootCASDSFile], "filename: /etc/mizzen/certs/ca.crt") {
		t.Errorf("%s:\n%s", RootCASDSFile, f.Data[RootCASDSFile])
	}
	for file, content := range f.Data {
		if strings.Contains(content, "BEGIN") || strings.Contains(content, "inline_") {
			t.Errorf("%s holds inline data", file)
		}
	}
}
