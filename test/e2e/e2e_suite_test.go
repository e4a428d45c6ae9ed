// Package e2e holds the end-to-end suite: one local cluster (test/cluster: etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler, kwok fake nodes and, when built, the cert-manager
// controller) started for the whole suite.
//
// The control-plane binaries come from testenv.AssetsDir() ($KUBEBUILDER_ASSETS, else hack/assets.sh
// builds them). Missing binaries fail the suite, unless MIZZEN_SKIP_E2E is set: then it is skipped
// with the reason. MIZZEN_E2E_STATE_DIR chooses the cluster's state dir (default: a temp dir,
// removed after a passing run and kept, with every component's log, after a failing one).
package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/mizzen-mesh/mizzen/test/cluster"
	"github.com/mizzen-mesh/mizzen/test/testenv"
)

var (
	testCluster     *cluster.Cluster
	k8s             kubernetes.Interface
	dyn             dynamic.Interface
	withCertManager bool
	stateDir        string
	removeStateDir  bool
	anyFailed       bool
)

func TestE2E(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "End-to-end suite (local cluster)")
}

var _ = BeforeSuite(func(ctx SpecContext) {
	SetDefaultEventuallyTimeout(time.Minute)
	SetDefaultEventuallyPollingInterval(100 * time.Millisecond)

	assets, err := testenv.AssetsDir()
	if err == nil {
		if missing := cluster.MissingBinaries(assets, false); len(missing) > 0 {
			err = fmt.Errorf("%s not found in the assets dir %s", strings.Join(missing, ", "), assets)
		}
	}
	if err != nil {
		if os.Getenv("MIZZEN_SKIP_E2E") != "" {
			Skip("MIZZEN_SKIP_E2E is set and the control-plane binaries are missing: " + err.Error())
		}
		Fail("the end-to-end suite needs the control-plane binaries (build them with hack/assets.sh, " +
			"or set MIZZEN_SKIP_E2E=1 to skip this suite): " + err.Error())
	}
	withCertManager = cluster.CertManagerAvailable(assets)

	stateDir = os.Getenv("MIZZEN_E2E_STATE_DIR")
	if stateDir == "" {
		stateDir, err = os.MkdirTemp("", "mizzen-e2e-")
		Expect(err).NotTo(HaveOccurred())
		removeStateDir = true
	}
	testCluster, err = cluster.Start(ctx, cluster.Options{
		AssetsDir:   assets,
		StateDir:    stateDir,
		Nodes:       3,
		CertManager: withCertManager,
		Logf:        func(format string, args ...any) { GinkgoWriter.Printf(format+"\n", args...) },
	})
	Expect(err).NotTo(HaveOccurred())
	// Stopped in AfterSuite; this also runs when the suite is interrupted.
	DeferCleanup(func() error { return testCluster.Stop() })

	AddReportEntry("cluster start", testCluster.Timings().String())
	k8s = testCluster.Client()
	dyn, err = dynamic.NewForConfig(testCluster.RESTConfig())
	Expect(err).NotTo(HaveOccurred())
}, NodeTimeout(5*time.Minute))

var _ = AfterEach(func() {
	if CurrentSpecReport().Failed() {
		anyFailed = true
	}
})

var _ = AfterSuite(func() {
	if testCluster == nil {
		return
	}
	if rss, err := testCluster.PeakRSS(cluster.APIServer); err == nil {
		AddReportEntry("kube-apiserver peak RSS", fmt.Sprintf("%.0f MiB", float64(rss)/(1<<20)))
	}
	Expect(testCluster.Stop()).To(Succeed())
	if anyFailed || !removeStateDir {
		fmt.Fprintf(os.Stderr, "local cluster state and logs kept in %s\n", filepath.Join(stateDir, "logs"))
		return
	}
	Expect(os.RemoveAll(stateDir)).To(Succeed())
})
