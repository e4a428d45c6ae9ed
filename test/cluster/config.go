package cluster

import (
	"embed"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// stages are kwok's default Stage objects (see stages/README.md): without them the kwok binary
// does nothing to nodes or pods.
//
//go:embed stages/*.yaml
var stages embed.FS

// Fake-node conventions shared by kwok's --manage-nodes-with-annotation-selector, the nodes Start
// creates and the toleration pods need.
const (
	FakeNodeAnnotation = "kwok.x-k8s.io/node"
	FakeNodeValue      = "fake"
)

const (
	serviceAccountIssuer = "https://kubernetes.default.svc.cluster.local"
	nodeLeaseSeconds     = 40 // the kubelet's default
)

func (c *Cluster) configPath(name string) string { return filepath.Join(c.dirs.config, name) }

// writeConfigs writes the kubeconfig of every identity, the scheduler's configuration and kwok's, and
// builds the admin rest.Config and client.
func (c *Cluster) writeConfigs() error {
	server := "https://127.0.0.1:" + strconv.Itoa(c.ports.apiserver)
	kubeconfigs := []struct {
		path string
		user string
		kp   *keyPair
	}{
		{c.Kubeconfig(), adminUser, c.pki.Admin},
		{c.configPath(ControllerManager + ".kubeconfig"), "system:kube-controller-manager", c.pki.ControllerMgr},
		{c.configPath(Scheduler + ".kubeconfig"), "system:kube-scheduler", c.pki.Scheduler},
		{c.configPath(Kwok + ".kubeconfig"), kwokUser, c.pki.Kwok},
		{c.configPath(CertManager + ".kubeconfig"), certManagerUser, c.pki.CertManager},
	}
	for _, k := range kubeconfigs {
		cfg := clientcmdapi.NewConfig()
		cfg.Clusters["mizzen-local"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: c.pki.CA.certPEM}
		cfg.AuthInfos[k.user] = &clientcmdapi.AuthInfo{ClientCertificateData: k.kp.certPEM, ClientKeyData: k.kp.keyPEM}
		cfg.Contexts["mizzen-local"] = &clientcmdapi.Context{Cluster: "mizzen-local", AuthInfo: k.user, Namespace: "default"}
		cfg.CurrentContext = "mizzen-local"
		if err := clientcmd.WriteToFile(*cfg, k.path); err != nil {
			return fmt.Errorf("writing %s: %w", k.path, err)
		}
	}

	qps := c.opts.KubeAPIQPS
	c.restConfig = &rest.Config{
		Host: server,
		TLSClientConfig: rest.TLSClientConfig{
			CAData:   c.pki.CA.certPEM,
			CertData: c.pki.Admin.certPEM,
			KeyData:  c.pki.Admin.keyPEM,
		},
		QPS:   float32(qps),
		Burst: 2 * qps,
	}
	var err error
	if c.client, err = kubernetes.NewForConfig(c.restConfig); err != nil {
		return fmt.Errorf("building the admin client: %w", err)
	}

	scheduler := fmt.Sprintf(`apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
clientConnection:
  kubeconfig: %q
  qps: %d
  burst: %d
leaderElection:
  leaderElect: false
`, c.configPath(Scheduler+".kubeconfig"), qps, 2*qps)
	if err := os.WriteFile(c.configPath("kube-scheduler.yaml"), []byte(scheduler), 0o644); err != nil {
		return err
	}
	return c.writeKwokConfig()
}

// writeKwokConfig writes kwok's --config: a KwokConfiguration and the stages. Outside kwokctl no
// defaults apply to a KwokConfiguration read from a file, so every option that matters is set: an
// unset parallelism is 0 workers, and nothing happens.
func (c *Cluster) writeKwokConfig() error {
	conf := fmt.Sprintf(`apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokConfiguration
metadata:
  name: mizzen-local
options:
  cidr: %q
  manageAllNodes: false
  manageNodesWithAnnotationSelector: %q
  nodeLeaseDurationSeconds: %d
  podPlayStageParallelism: 16
  nodePlayStageParallelism: 8
  nodeLeaseParallelism: 8
  podsOnNodeSyncParallelism: 4
  enablePodsOnNodeSyncListPager: true
  enablePodsOnNodeSyncStreamWatch: false
  enableDebuggingHandlers: false
  enableContentionProfiling: false
  enableProfilingHandler: false
`, c.kwokFallbackCIDR(), FakeNodeAnnotation+"="+FakeNodeValue, nodeLeaseSeconds)
	files, err := stages.ReadDir("stages")
	if err != nil {
		return err
	}
	for _, f := range files {
		data, err := stages.ReadFile("stages/" + f.Name())
		if err != nil {
			return err
		}
		conf += "---\n" + string(data)
		if len(data) > 0 && data[len(data)-1] != '\n' {
			conf += "\n"
		}
	}
	return os.WriteFile(c.configPath("kwok.yaml"), []byte(conf), 0o644)
}

// kwokFallbackCIDR is the range kwok takes pod IPs from for a node without a podCIDR (only nodes
// created outside AddNodes, before the node IPAM controller gives them one): the last node-sized
// block of ClusterCIDR, which AddNodes never hands out.
func (c *Cluster) kwokFallbackCIDR() string {
	_, pods, _ := net.ParseCIDR(c.opts.ClusterCIDR)
	ones, _ := pods.Mask.Size()
	blocks := 1 << (c.opts.NodeCIDRMaskSize - ones)
	return nodeCIDR(pods, c.opts.NodeCIDRMaskSize, blocks-1).String()
}

func (c *Cluster) etcdArgs() []string {
	client := "http://127.0.0.1:" + strconv.Itoa(c.ports.etcdClient)
	peer := "http://127.0.0.1:" + strconv.Itoa(c.ports.etcdPeer)
	return []string{
		"--name=mizzen-local",
		"--data-dir=" + c.dirs.etcd,
		"--listen-client-urls=" + client,
		"--advertise-client-urls=" + client,
		"--listen-peer-urls=" + peer,
		"--initial-advertise-peer-urls=" + peer,
		"--initial-cluster=mizzen-local=" + peer,
		"--initial-cluster-state=new",
		"--unsafe-no-fsync",                // test data: durability buys nothing, fsync latency costs every write
		"--auto-compaction-retention=1",    // hours; as kwokctl, keeps the db small in long demo runs
		"--quota-backend-bytes=8589934592", // 8 GiB: scale runs must not hit the 2 GiB default alarm
		"--log-level=warn",
	}
}

func (c *Cluster) apiserverArgs() []string {
	p := c.pki
	return []string{
		"--etcd-servers=http://127.0.0.1:" + strconv.Itoa(c.ports.etcdClient),
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(c.ports.apiserver),
		"--cert-dir=" + c.dirs.pki,
		"--tls-cert-file=" + p.APIServer.CertFile,
		"--tls-private-key-file=" + p.APIServer.KeyFile,
		"--client-ca-file=" + p.CA.CertFile,
		"--authorization-mode=RBAC", // no kubelets, so no Node authorizer (its graph costs CPU per pod)
		"--service-account-issuer=" + serviceAccountIssuer,
		"--service-account-key-file=" + p.SAPubKeyFile,
		"--service-account-signing-key-file=" + p.SAKeyFile,
		"--service-cluster-ip-range=" + c.opts.ServiceCIDR,
		// The lease reconciler would publish 127.0.0.1 as the kubernetes Service's endpoint, which
		// endpoint validation rejects (loopback), and it retries forever.
		"--endpoint-reconciler-type=none",
		// The aggregation layer's front proxy: without a requestheader CA the apiserver's
		// extension-apiserver-authentication ConfigMap is incomplete, and the delegated authentication
		// of the controller manager, scheduler and any aggregated API server fails.
		"--requestheader-client-ca-file=" + p.FrontProxy.CertFile,
		"--requestheader-allowed-names=" + frontProxyClientName,
		"--requestheader-username-headers=X-Remote-User",
		"--requestheader-group-headers=X-Remote-Group",
		"--requestheader-extra-headers-prefix=X-Remote-Extra-",
		"--proxy-client-cert-file=" + p.FrontProxyClnt.CertFile,
		"--proxy-client-key-file=" + p.FrontProxyClnt.KeyFile,
		"--allow-privileged=true", // the mesh's traffic-capture init container is privileged
		"--profiling=false",
	}
}

func (c *Cluster) controllerManagerArgs() []string {
	p, kubeconfig := c.pki, c.configPath(ControllerManager+".kubeconfig")
	qps := c.opts.KubeAPIQPS
	return []string{
		"--kubeconfig=" + kubeconfig,
		"--authentication-kubeconfig=" + kubeconfig,
		"--authorization-kubeconfig=" + kubeconfig,
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(c.ports.controllerManager),
		"--tls-cert-file=" + p.ControllerMgrTLS.CertFile,
		"--tls-private-key-file=" + p.ControllerMgrTLS.KeyFile,
		"--client-ca-file=" + p.CA.CertFile,
		"--requestheader-client-ca-file=" + p.FrontProxy.CertFile,
		// Every default controller: namespace, garbagecollector, deployment, replicaset, endpointslice,
		// endpointslicemirroring, serviceaccount, serviceaccount-token, nodeipam, nodelifecycle,
		// job, statefulset, daemonset, root-ca-cert-publisher, ...
		"--controllers=*",
		"--use-service-account-credentials=true", // each controller as its own ServiceAccount, as kubeadm runs it
		"--service-account-private-key-file=" + p.SAKeyFile,
		"--root-ca-file=" + p.CA.CertFile,
		"--cluster-signing-cert-file=" + p.CA.CertFile, // CertificateSigningRequests get signed
		"--cluster-signing-key-file=" + p.CA.KeyFile,
		"--cluster-name=mizzen-local",
		"--service-cluster-ip-range=" + c.opts.ServiceCIDR,
		"--cluster-cidr=" + c.opts.ClusterCIDR,
		"--allocate-node-cidrs=true", // nodes made outside AddNodes get a podCIDR too
		"--node-cidr-mask-size=" + strconv.Itoa(c.opts.NodeCIDRMaskSize),
		"--leader-elect=false", // one instance; a lease left in etcd would only delay a restart
		"--kube-api-qps=" + strconv.Itoa(qps),
		"--kube-api-burst=" + strconv.Itoa(2*qps),
		"--profiling=false",
	}
}

func (c *Cluster) schedulerArgs() []string {
	p, kubeconfig := c.pki, c.configPath(Scheduler+".kubeconfig")
	return []string{
		"--config=" + c.configPath("kube-scheduler.yaml"), // client QPS and leader election live there
		"--authentication-kubeconfig=" + kubeconfig,
		"--authorization-kubeconfig=" + kubeconfig,
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(c.ports.scheduler),
		"--tls-cert-file=" + p.SchedulerTLS.CertFile,
		"--tls-private-key-file=" + p.SchedulerTLS.KeyFile,
		"--client-ca-file=" + p.CA.CertFile,
		"--requestheader-client-ca-file=" + p.FrontProxy.CertFile,
	}
}

func (c *Cluster) kwokArgs() []string {
	return []string{
		"--kubeconfig=" + c.configPath(Kwok+".kubeconfig"),
		"--config=" + c.configPath("kwok.yaml"),
		// No --server-address / --node-port: kwok serves nothing (logs, exec and port-forward
		// through the apiserver do not work on fake nodes).
	}
}

func (c *Cluster) certManagerArgs() []string {
	qps := c.opts.KubeAPIQPS
	return []string{
		"--kubeconfig=" + c.configPath(CertManager+".kubeconfig"),
		"--leader-elect=false",
		"--cluster-resource-namespace=" + CertManagerNamespace, // where a CA ClusterIssuer's Secret lives
		// Each Certificate owns its Secret, so a proxy's Secret goes with its pod (the pod owns
		// the Certificate). Mizzen's install docs ask for the same.
		"--enable-certificate-owner-ref=true",
		"--healthz-listen-address=127.0.0.1:" + strconv.Itoa(c.ports.certManagerHealth),
		"--kube-api-qps=" + strconv.Itoa(qps),
		"--kube-api-burst=" + strconv.Itoa(2*qps),
	}
}
