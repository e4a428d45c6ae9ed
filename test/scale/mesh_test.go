package scale

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	v1 "github.com/mizzen-mesh/mizzen/api/v1alpha1"
	"github.com/mizzen-mesh/mizzen/controllers"
	"github.com/mizzen-mesh/mizzen/internal/mesh"
	"github.com/mizzen-mesh/mizzen/test/cluster"
)

// meshNamespace holds the benchmark's services when they are in one namespace (the default); with
// MIZZEN_SCALE_NAMESPACES=N they are spread over mesh-scale-0 … mesh-scale-<N-1>. Each is meshed
// (mizzen.dev/mesh=enabled).
const meshNamespace = "mesh-scale"

// meshSize is the mesh the benchmark builds: services services, each a Service, a
// DestinationRule with subsets v1 and v2, a VirtualService splitting 90/10 between them, and two
// Deployments (app=<service>, version=v1|v2) sharing the service's share of pods. Service i is in
// namespace i mod namespaces. With scoped, every pod carries annotation mizzen.dev/egress-hosts
// "./*" (Istio's Sidecar egress hosts): its proxy sees the services of its own namespace only.
type meshSize struct {
	services, pods, namespaces int
	scoped                     bool
}

func serviceName(i int) string { return fmt.Sprintf("svc-%d", i) }

// namespace is the namespace of service i.
func (s meshSize) namespace(i int) string {
	if s.namespaces <= 1 {
		return meshNamespace
	}
	return fmt.Sprintf("%s-%d", meshNamespace, i%s.namespaces)
}

// meshNamespaces are the namespaces of the mesh.
func (s meshSize) meshNamespaces() []string {
	out := make([]string, max(s.namespaces, 1))
	for i := range out {
		out[i] = s.namespace(i)
	}
	return out
}

// watchNamespace is what the harness's watches list: the mesh namespace, or every namespace when
// there are several (inMesh then filters).
func (s meshSize) watchNamespace() string {
	if s.namespaces <= 1 {
		return meshNamespace
	}
	return ""
}

// inMesh reports whether namespace ns is one of the mesh's.
func (s meshSize) inMesh(ns string) bool {
	return ns == meshNamespace || (s.namespaces > 1 && strings.HasPrefix(ns, meshNamespace+"-"))
}

// replicas are the pods of service i's v1 and v2 Deployments: pods spread evenly over the
// services, each service's split in halves (v1 takes the odd one).
func (s meshSize) replicas(i int) (v1, v2 int) {
	per := s.pods / s.services
	if i < s.pods%s.services {
		per++
	}
	return per - per/2, per / 2
}

// shapedBy is the number of proxies whose config service i's VirtualService shapes, so the count
// its Ready condition reports ("M/M proxies"): every proxy when proxies are unscoped (each routes
// to every service), else the pods of the service's namespace. internal/rollout counts a candidate
// only once it was translated from a snapshot holding the rule and the rule shaped it.
func (s meshSize) shapedBy(i int) int {
	if !s.scoped {
		return s.pods
	}
	n := 0
	for j := range s.services {
		if s.namespace(j) == s.namespace(i) {
			v1Pods, v2Pods := s.replicas(j)
			n += v1Pods + v2Pods
		}
	}
	return n
}

// createMesh creates the namespace and every object of the mesh, several at a time.
func createMesh(ctx context.Context, cl client.Client, s meshSize) error {
	for _, name := range s.meshNamespaces() {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
			Name: name, Labels: map[string]string{controllers.MeshLabel: controllers.MeshLabelEnabled},
		}}
		if err := cl.Create(ctx, ns); err != nil {
			return fmt.Errorf("creating namespace %s: %w", name, err)
		}
	}
	return parallel(s.services, 8, func(i int) error {
		v1Pods, v2Pods := s.replicas(i)
		ns := s.namespace(i)
		objs := []client.Object{service(ns, i), destinationRule(ns, i), virtualService(ns, i, 90, 10),
			s.deployment(i, "v1", v1Pods), s.deployment(i, "v2", v2Pods)}
		for _, o := range objs {
			if err := cl.Create(ctx, o); err != nil {
				return fmt.Errorf("creating %T %s: %w", o, o.GetName(), err)
			}
		}
		return nil
	})
}

func service(ns string, i int) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: serviceName(i), Namespace: ns},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": serviceName(i)},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}},
		},
	}
}

func destinationRule(ns string, i int) *v1.DestinationRule {
	dr := &v1.DestinationRule{}
	mustYAML(dr, fmt.Sprintf(`
metadata: {name: %[1]s, namespace: %[2]s}
spec:
  host: %[1]s
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}`, serviceName(i), ns))
	return dr
}

func virtualService(ns string, i, v1Weight, v2Weight int) *v1.VirtualService {
	vs := &v1.VirtualService{}
	mustYAML(vs, fmt.Sprintf(`
metadata: {name: %[1]s, namespace: %[2]s}
spec:
  hosts: [%[1]s]
  http:
  - route:
    - {destination: {host: %[1]s, subset: v1}, weight: %[3]d}
    - {destination: {host: %[1]s, subset: v2}, weight: %[4]d}`, serviceName(i), ns, v1Weight, v2Weight))
	return vs
}

func mustYAML(obj any, manifest string) {
	if err := yaml.UnmarshalStrict([]byte(manifest), obj); err != nil {
		panic(fmt.Sprintf("benchmark manifest: %v\n%s", err, manifest))
	}
}

// egressOwnNamespace is the scoped pods' mizzen.dev/egress-hosts: the services of their namespace.
const egressOwnNamespace = "./*"

func (s meshSize) deployment(i int, version string, replicas int) *appsv1.Deployment {
	labels := map[string]string{"app": serviceName(i), "version": version}
	var annotations map[string]string
	if s.scoped {
		annotations = map[string]string{mesh.EgressHostsAnnotation: egressOwnNamespace}
	}
	pod := corev1.PodSpec{Containers: []corev1.Container{{
		Name: "app", Image: "registry.invalid/scale-app:" + version,
		Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
	}}}
	cluster.TolerateFakeNodes(&pod)
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: serviceName(i) + "-" + version, Namespace: s.namespace(i)},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(int32(replicas)),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: annotations}, Spec: pod},
		},
	}
}

// setWeights changes service i's split and returns the VirtualService's new generation.
func (s meshSize) setWeights(ctx context.Context, cl client.Client, i, v1Weight, v2Weight int) (int64, error) {
	vs := &v1.VirtualService{ObjectMeta: metav1.ObjectMeta{Name: serviceName(i), Namespace: s.namespace(i)}}
	patch := fmt.Sprintf(`[{"op":"replace","path":"/spec/http/0/route/0/weight","value":%d},`+
		`{"op":"replace","path":"/spec/http/0/route/1/weight","value":%d}]`, v1Weight, v2Weight)
	if err := cl.Patch(ctx, vs, client.RawPatch(types.JSONPatchType, []byte(patch))); err != nil {
		return 0, fmt.Errorf("setting the weights of VirtualService %s: %w", vs.Name, err)
	}
	return vs.Generation, nil
}

// rolledOut reports whether vs is Ready (reason Ready, not NoProxies) for generation, with every
// one of proxies carrying it.
func rolledOut(vs *v1.VirtualService, generation int64, proxies int) bool {
	c := meta.FindStatusCondition(vs.Status.Conditions, v1.ConditionReady)
	return vs.Generation == generation && c != nil && c.Status == metav1.ConditionTrue && c.Reason == v1.ReasonReady &&
		c.ObservedGeneration == generation && vs.Status.Canary != nil &&
		vs.Status.Canary.Proxies.Total == int32(proxies) && vs.Status.Canary.Proxies.Updated == int32(proxies)
}

// podsRunning counts the mesh's pods that run with an IP.
func (s meshSize) podsRunning(pods map[string]*corev1.Pod) int {
	n := 0
	for _, p := range pods {
		if s.inMesh(p.Namespace) && p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning && p.Status.PodIP != "" {
			n++
		}
	}
	return n
}

// endpointsComplete reports whether every service's EndpointSlices list all its pods as ready.
func endpointsComplete(slices map[string]*discoveryv1.EndpointSlice, s meshSize) bool {
	ready := map[string]int{}
	for _, sl := range slices {
		if !s.inMesh(sl.Namespace) {
			continue
		}
		for _, e := range sl.Endpoints {
			if ptr.Deref(e.Conditions.Ready, false) {
				ready[sl.Labels[discoveryv1.LabelServiceName]] += len(e.Addresses)
			}
		}
	}
	for i := range s.services {
		v1Pods, v2Pods := s.replicas(i)
		if ready[serviceName(i)] != v1Pods+v2Pods {
			return false
		}
	}
	return true
}

// parallel calls fn(0..n-1) from workers goroutines and returns the first few errors.
func parallel(n, workers int, fn func(i int) error) error {
	next := make(chan int)
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Go(func() {
			for i := range next {
				if err := fn(i); err != nil {
					mu.Lock()
					if len(errs) < 5 {
						errs = append(errs, err)
					}
					mu.Unlock()
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return errors.Join(errs...)
}
