package cluster

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

// Start itself is exercised by the end-to-end suite (test/e2e); these tests cover what needs no binaries.

func TestPKI(t *testing.T) {
	p, err := newPKI(t.TempDir(), net.IPv4(10, 96, 0, 1))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(p.CA.cert)
	for name, tc := range map[string]struct {
		kp    *keyPair
		usage x509.ExtKeyUsage
		cn    string
		org   string
		dns   string
	}{
		"apiserver":  {p.APIServer, x509.ExtKeyUsageServerAuth, "kube-apiserver", "", "127.0.0.1"},
		"admin":      {p.Admin, x509.ExtKeyUsageClientAuth, adminUser, "system:masters", ""},
		"kcm":        {p.ControllerMgr, x509.ExtKeyUsageClientAuth, "system:kube-controller-manager", "", ""},
		"scheduler":  {p.Scheduler, x509.ExtKeyUsageClientAuth, "system:kube-scheduler", "", ""},
		"kwok":       {p.Kwok, x509.ExtKeyUsageClientAuth, kwokUser, "", ""},
		"cm":         {p.CertManager, x509.ExtKeyUsageClientAuth, certManagerUser, "", ""},
		"kcm-tls":    {p.ControllerMgrTLS, x509.ExtKeyUsageServerAuth, "kube-controller-manager", "", "localhost"},
		"sched-tls":  {p.SchedulerTLS, x509.ExtKeyUsageServerAuth, "kube-scheduler", "", "localhost"},
		"kubernetes": {p.APIServer, x509.ExtKeyUsageServerAuth, "kube-apiserver", "", "kubernetes.default.svc"},
		"service-ip": {p.APIServer, x509.ExtKeyUsageServerAuth, "kube-apiserver", "", "10.96.0.1"},
	} {
		t.Run(name, func(t *testing.T) {
			cert := readCert(t, tc.kp.CertFile)
			if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: tc.dns, KeyUsages: []x509.ExtKeyUsage{tc.usage}}); err != nil {
				t.Errorf("verify: %v", err)
			}
			if cert.Subject.CommonName != tc.cn {
				t.Errorf("CN %q, want %q", cert.Subject.CommonName, tc.cn)
			}
			if tc.org != "" && !slices.Contains(cert.Subject.Organization, tc.org) {
				t.Errorf("O %v, want %q", cert.Subject.Organization, tc.org)
			}
			if fi, err := os.Stat(tc.kp.KeyFile); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("key file %s: %v %v", tc.kp.KeyFile, fi.Mode(), err)
			}
		})
	}
	front := x509.NewCertPool()
	front.AddCert(p.FrontProxy.cert)
	if _, err := readCert(t, p.FrontProxyClnt.CertFile).Verify(x509.VerifyOptions{Roots: front, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("front-proxy-client: %v", err)
	}
	for _, f := range []string{p.SAKeyFile, p.SAPubKeyFile} {
		if data, err := os.ReadFile(f); err != nil || !strings.Contains(string(data), "-----BEGIN ") {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func TestKwokConfig(t *testing.T) {
	c := &Cluster{opts: Options{ClusterCIDR: "10.244.0.0/16", NodeCIDRMaskSize: 24}, dirs: stateDirs{config: t.TempDir()}}
	if err := c.writeKwokConfig(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(c.dirs.config, "kwok.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var stages []string
	for i, doc := range strings.Split(string(data), "\n---\n") {
		var obj struct {
			Kind     string
			Metadata struct{ Name string }
			Options  map[string]any
		}
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
		switch obj.Kind {
		case "KwokConfiguration":
			// No defaults apply to a KwokConfiguration read from --config: each must be set.
			for _, opt := range []string{"cidr", "manageNodesWithAnnotationSelector", "nodeLeaseDurationSeconds",
				"podPlayStageParallelism", "nodePlayStageParallelism", "nodeLeaseParallelism", "podsOnNodeSyncParallelism",
				"enablePodsOnNodeSyncListPager", "enablePodsOnNodeSyncStreamWatch"} {
				if _, ok := obj.Options[opt]; !ok {
					t.Errorf("KwokConfiguration lacks options.%s", opt)
				}
			}
			if got := obj.Options["cidr"]; got != "10.244.255.0/24" {
				t.Errorf("fallback cidr %v, want the last /24 of the cluster CIDR", got)
			}
		case "Stage":
			stages = append(stages, obj.Metadata.Name)
		default:
			t.Errorf("document %d: unexpected kind %q", i, obj.Kind)
		}
	}
	want := []string{"node-heartbeat-with-lease", "node-initialize", "pod-complete", "pod-delete", "pod-ready"}
	slices.Sort(stages)
	if !slices.Equal(stages, want) {
		t.Errorf("stages %v, want %v", stages, want)
	}
}

func TestNodeCIDR(t *testing.T) {
	_, pods, _ := net.ParseCIDR("10.244.0.0/16")
	for i, want := range map[int]string{0: "10.244.0.0/24", 1: "10.244.1.0/24", 255: "10.244.255.0/24"} {
		if got := nodeCIDR(pods, 24, i).String(); got != want {
			t.Errorf("nodeCIDR(%d) = %s, want %s", i, got, want)
		}
	}
}

func TestOptionsComplete(t *testing.T) {
	assets := t.TempDir()
	for _, b := range requiredBinaries {
		if err := os.WriteFile(filepath.Join(assets, b), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	o := Options{AssetsDir: assets, StateDir: t.TempDir()}
	if err := o.complete(); err != nil {
		t.Fatal(err)
	}
	if o.Nodes != 1 || o.ServiceCIDR != "10.96.0.0/16" || o.KubeAPIQPS != 500 {
		t.Errorf("defaults not applied: %+v", o)
	}
	if CertManagerAvailable(assets) {
		t.Error("CertManagerAvailable without the binary")
	}
	o = Options{AssetsDir: assets, StateDir: t.TempDir(), CertManager: true}
	if err := o.complete(); err == nil || !strings.Contains(err.Error(), CertManager) {
		t.Errorf("want an error naming %s, got %v", CertManager, err)
	}
	o = Options{AssetsDir: assets, StateDir: t.TempDir(), ServiceCIDR: "10.0.0.0/8", ClusterCIDR: "10.244.0.0/16"}
	if err := o.complete(); err == nil || !strings.Contains(err.Error(), "overlap") {
		t.Errorf("want an overlap error, got %v", err)
	}
}

func TestPrepareStateDirRefusesForeignDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "precious"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := prepareStateDir(dir); err == nil {
		t.Fatal("cleared a directory it did not create")
	}
	dir = filepath.Join(t.TempDir(), "state")
	if _, err := prepareStateDir(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "logs", "old.log"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := prepareStateDir(dir); err != nil {
		t.Fatalf("reusing its own state dir: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "logs", "old.log")); !os.IsNotExist(err) {
		t.Errorf("old state kept: %v", err)
	}
}

// TestStartFailureStopsEverything starts a cluster whose kube-apiserver cannot start: Start must
// say why (with the end of its log) and leave no process behind.
func TestStartFailureStopsEverything(t *testing.T) {
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" || len(MissingBinaries(assets, false)) > 0 {
		t.Skip("KUBEBUILDER_ASSETS does not hold the control-plane binaries (make test sets it)")
	}
	state := filepath.Join(t.TempDir(), "state")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := Start(ctx, Options{
		AssetsDir: assets,
		StateDir:  state,
		ExtraArgs: map[string][]string{APIServer: {"--no-such-flag"}},
	})
	if err == nil {
		c.Stop()
		t.Fatal("Start succeeded with a broken kube-apiserver")
	}
	if !strings.Contains(err.Error(), "kube-apiserver") || !strings.Contains(err.Error(), "no-such-flag") {
		t.Errorf("error does not name the component and its log: %v", err)
	}
	t.Logf("Start: %v", err)
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, f := range procs {
		if cmdline, err := os.ReadFile(f); err == nil && strings.Contains(string(cmdline), state) {
			t.Errorf("process left running: %s", strings.ReplaceAll(string(cmdline), "\x00", " "))
		}
	}
	if _, err := os.Stat(filepath.Join(state, "logs", "etcd.log")); err != nil {
		t.Errorf("etcd's log not kept: %v", err)
	}
}
