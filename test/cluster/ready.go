package cluster

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

const pollInterval = 100 * time.Millisecond

// FakeNodeToleration lets a pod run on the fake nodes (their taint kwok.x-k8s.io/node=fake:NoSchedule).
var FakeNodeToleration = corev1.Toleration{
	Key:      FakeNodeAnnotation,
	Operator: corev1.TolerationOpEqual,
	Value:    FakeNodeValue,
	Effect:   corev1.TaintEffectNoSchedule,
}

// TolerateFakeNodes adds FakeNodeToleration to spec unless it is there already.
func TolerateFakeNodes(spec *corev1.PodSpec) {
	for _, t := range spec.Tolerations {
		if t.MatchToleration(&FakeNodeToleration) {
			return
		}
	}
	spec.Tolerations = append(spec.Tolerations, FakeNodeToleration)
}

// poll calls cond every pollInterval until it returns true or an error, ctx ends, or a cluster
// process exits (then the error carries the end of its log).
func (c *Cluster) poll(ctx context.Context, what string, cond func(context.Context) (bool, error)) error {
	var last error
	for {
		if err := c.CheckAlive(); err != nil {
			return fmt.Errorf("waiting for %s: %w", what, err)
		}
		ok, err := cond(ctx)
		if ok {
			return nil
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			if last != nil {
				return fmt.Errorf("waiting for %s: %w (last error: %v)", what, ctx.Err(), last)
			}
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-time.After(pollInterval):
		}
	}
}

// waitHTTP waits until url answers 200 (nil client: a plain one).
func (c *Cluster) waitHTTP(ctx context.Context, p *process, url string, client *http.Client) error {
	if client == nil {
		client = &http.Client{Timeout: 2 * time.Second}
	}
	return c.poll(ctx, p.name+" at "+url, func(ctx context.Context) (bool, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return false, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return false, err
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return false, fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(body)))
		}
		return true, nil
	})
}

// insecureLoopbackClient probes the controllers' /healthz, served with their own certificates
// (always-allowed paths: no client certificate needed).
func insecureLoopbackClient() *http.Client {
	return &http.Client{
		Timeout:   2 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, //nolint:gosec // loopback health probe
	}
}

// waitAPIServer waits until kube-apiserver's /readyz passes (as admin: all checks, including the
// RBAC bootstrap roles and the priority classes).
func (c *Cluster) waitAPIServer(ctx context.Context, p *process) error {
	rc := c.client.Discovery().RESTClient()
	return c.poll(ctx, "kube-apiserver /readyz", func(ctx context.Context) (bool, error) {
		reqCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		body, err := rc.Get().AbsPath("/readyz").Do(reqCtx).Raw()
		if err != nil {
			return false, fmt.Errorf("%w: %s", err, body)
		}
		return string(body) == "ok", nil
	})
}

// bindClusterAdmin binds a certificate user to the cluster-admin ClusterRole.
func (c *Cluster) bindClusterAdmin(ctx context.Context, user string) error {
	crb := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: user, Labels: map[string]string{"app.kubernetes.io/managed-by": "mizzen-test-cluster"}},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}},
	}
	_, err := c.client.RbacV1().ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("binding %s to cluster-admin: %w", user, err)
	}
	return nil
}

// createNamespace creates a namespace unless it exists.
func (c *Cluster) createNamespace(ctx context.Context, name string) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	_, err := c.client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating namespace %s: %w", name, err)
	}
	return nil
}

// AddNodes creates n more fake nodes (named kwok-node-<i>) for kwok to run: annotation
// kwok.x-k8s.io/node=fake, taint kwok.x-k8s.io/node=fake:NoSchedule, an InternalIP in 198.18.0.0/15
// (RFC 2544's benchmarking range: never routed) and a Hostname address, and a podCIDR of its own
// from ClusterCIDR. It does not wait: see WaitForNodes.
func (c *Cluster) AddNodes(ctx context.Context, n int) error {
	_, pods, _ := net.ParseCIDR(c.opts.ClusterCIDR)
	ones, _ := pods.Mask.Size()
	maxNodes := 1<<(c.opts.NodeCIDRMaskSize-ones) - 1 // the last block is kwok's fallback
	c.mu.Lock()
	first := len(c.nodeNames)
	c.mu.Unlock()
	if first+n > maxNodes {
		return fmt.Errorf("adding %d nodes: ClusterCIDR %s holds %d /%d node ranges", n, c.opts.ClusterCIDR, maxNodes, c.opts.NodeCIDRMaskSize)
	}
	for i := first; i < first+n; i++ {
		name := fmt.Sprintf("kwok-node-%d", i)
		ip := make(net.IP, 4)
		binary.BigEndian.PutUint32(ip, binary.BigEndian.Uint32(net.IPv4(198, 18, 0, 0).To4())+uint32(i)+1)
		podCIDR := nodeCIDR(pods, c.opts.NodeCIDRMaskSize, i).String()
		node := &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{
				Name:        name,
				Annotations: map[string]string{FakeNodeAnnotation: FakeNodeValue, "node.alpha.kubernetes.io/ttl": "0"},
				Labels: map[string]string{
					"type":                   "kwok",
					"kubernetes.io/hostname": name,
					"kubernetes.io/os":       "linux",
					"kubernetes.io/arch":     "amd64",
				},
			},
			Spec: corev1.NodeSpec{
				PodCIDR:  podCIDR,
				PodCIDRs: []string{podCIDR},
				Taints:   []corev1.Taint{{Key: FakeNodeAnnotation, Value: FakeNodeValue, Effect: corev1.TaintEffectNoSchedule}},
			},
			Status: corev1.NodeStatus{
				Addresses: []corev1.NodeAddress{
					{Type: corev1.NodeInternalIP, Address: ip.String()},
					{Type: corev1.NodeHostName, Address: name},
				},
			},
		}
		if _, err := c.client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating node %s: %w", name, err)
		}
		c.mu.Lock()
		c.nodeNames = append(c.nodeNames, name)
		c.mu.Unlock()
	}
	return nil
}

// nodeCIDR is the i-th /maskSize block of pods.
func nodeCIDR(pods *net.IPNet, maskSize, i int) *net.IPNet {
	base := binary.BigEndian.Uint32(pods.IP.To4())
	ip := make(net.IP, 4)
	binary.BigEndian.PutUint32(ip, base+uint32(i)<<(32-maskSize))
	return &net.IPNet{IP: ip, Mask: net.CIDRMask(maskSize, 32)}
}

// WaitForNodes waits until every node AddNodes created is Ready, has a podCIDR and is no longer
// tainted node.kubernetes.io/not-ready (the admission plugin TaintNodesByCondition adds that taint to
// a new node; the node lifecycle controller lifts it once kwok reports Ready). Until then the
// scheduler leaves the node alone.
func (c *Cluster) WaitForNodes(ctx context.Context) error {
	want := c.NodeNames()
	return c.poll(ctx, fmt.Sprintf("%d fake nodes Ready", len(want)), func(ctx context.Context) (bool, error) {
		for _, name := range want {
			node, err := c.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			if why := nodeNotReady(node); why != "" {
				return false, fmt.Errorf("node %s: %s", name, why)
			}
		}
		return true, nil
	})
}

func nodeNotReady(node *corev1.Node) string {
	ready := false
	for _, cond := range node.Status.Conditions {
		if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
			ready = true
		}
	}
	if !ready {
		return "not Ready"
	}
	if node.Spec.PodCIDR == "" {
		return "no podCIDR"
	}
	for _, t := range node.Spec.Taints {
		if t.Key == corev1.TaintNodeNotReady || t.Key == corev1.TaintNodeUnreachable {
			return "tainted " + t.Key
		}
	}
	return ""
}

// waitDefaultServiceAccount waits for the ServiceAccount controller to create "default" in the
// default namespace: until it exists the ServiceAccount admission plugin rejects every pod there.
func (c *Cluster) waitDefaultServiceAccount(ctx context.Context) error {
	return c.poll(ctx, "ServiceAccount default/default", func(ctx context.Context) (bool, error) {
		_, err := c.client.CoreV1().ServiceAccounts(metav1.NamespaceDefault).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, err
	})
}

// installCertManagerCRDs creates cert-manager's CRDs and waits until they are established.
func (c *Cluster) installCertManagerCRDs(ctx context.Context) error {
	dir := c.opts.CertManagerCRDDir
	if dir == "" {
		mod, err := findModuleDir("github.com/cert-manager/cert-manager")
		if err != nil {
			return fmt.Errorf("finding cert-manager's CRDs: %w", err)
		}
		dir = filepath.Join(mod, "deploy", "crds")
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("no CRD files in %s (%v)", dir, err)
	}
	cs, err := apiextensionsclient.NewForConfig(c.restConfig)
	if err != nil {
		return err
	}
	var names []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		for doc := range strings.SplitSeq(string(data), "\n---") {
			if strings.TrimSpace(strings.TrimPrefix(doc, "---")) == "" {
				continue
			}
			crd := &apiextensionsv1.CustomResourceDefinition{}
			if err := yaml.UnmarshalStrict([]byte(doc), crd); err != nil {
				return fmt.Errorf("decoding a CRD in %s: %w", f, err)
			}
			if crd.Kind != "CustomResourceDefinition" {
				continue
			}
			if _, err := cs.ApiextensionsV1().CustomResourceDefinitions().Create(ctx, crd, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
				return fmt.Errorf("creating CRD %s from %s: %w", crd.Name, f, err)
			}
			names = append(names, crd.Name)
		}
	}
	return c.poll(ctx, "cert-manager CRDs established", func(ctx context.Context) (bool, error) {
		for _, name := range names {
			crd, err := cs.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			established := false
			for _, cond := range crd.Status.Conditions {
				if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
					established = true
				}
			}
			if !established {
				return false, errors.New("CRD " + name + " not established")
			}
		}
		return true, nil
	})
}
