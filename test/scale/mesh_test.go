package scale

import (
	"context"
	"errors"
	"fmt"
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
	"github.com/mizzen-mesh/mizzen/test/cluster"
)

// meshNamespace holds the benchmark's services; it is meshed (mizzen.dev/mesh=enabled).
const meshNamespace = "mesh-scale"

// meshSize is the mesh the benchmark builds: services services, each a Service, a
// DestinationRule with subsets v1 and v2, a VirtualService splitting 90/10 between them, and two
// Deployments (app=<service>, version=v1|v2) sharing the service's share of pods.
type meshSize struct{ services, pods int }

func serviceName(i int) string { return fmt.Sprintf("svc-%d", i) }

// replicas are the pods of service i's v1 and v2 Deployments: pods spread evenly over the
// services, each service's split in halves (v1 takes the odd one).
func (s meshSize) replicas(i int) (v1, v2 int) {
	per := s.pods / s.services
	if i < s.pods%s.services {
		per++
	}
	return per - per/2, per / 2
}

// createMesh creates the namespace and every object of the mesh, several at a time.
func createMesh(ctx context.Context, cl client.Client, s meshSize) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name: meshNamespace, Labels: map[string]string{controllers.MeshLabel: controllers.MeshLabelEnabled},
	}}
	if err := cl.Create(ctx, ns); err != nil {
		return fmt.Errorf("creating namespace %s: %w", meshNamespace, err)
	}
	return parallel(s.services, 8, func(i int) error {
		v1Pods, v2Pods := s.replicas(i)
		objs := []client.Object{service(i), destinationRule(i), virtualService(i, 90, 10),
			deployment(i, "v1", v1Pods), deployment(i, "v2", v2Pods)}
		for _, o := range objs {
			if err := cl.Create(ctx, o); err != nil {
				return fmt.Errorf("creating %T %s: %w", o, o.GetName(), err)
			}
		}
		return nil
	})
}

func service(i int) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: serviceName(i), Namespace: meshNamespace},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": serviceName(i)},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}},
		},
	}
}

func destinationRule(i int) *v1.DestinationRule {
	dr := &v1.DestinationRule{}
	mustYAML(dr, fmt.Sprintf(`
metadata: {name: %[1]s, namespace: %[2]s}
spec:
  host: %[1]s
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}`, serviceName(i), meshNamespace))
	return dr
}

func virtualService(i, v1Weight, v2Weight int) *v1.VirtualService {
	vs := &v1.VirtualService{}
	mustYAML(vs, fmt.Sprintf(`
metadata: {name: %[1]s, namespace: %[2]s}
spec:
  hosts: [%[1]s]
  http:
  - route:
    - {destination: {host: %[1]s, subset: v1}, weight: %[3]d}
    - {destination: {host: %[1]s, subset: v2}, weight: %[4]d}`, serviceName(i), meshNamespace, v1Weight, v2Weight))
	return vs
}

func mustYAML(obj any, manifest string) {
	if err := yaml.UnmarshalStrict([]byte(manifest), obj); err != nil {
		panic(fmt.Sprintf("benchmark manifest: %v\n%s", err, manifest))
	}
}

func deployment(i int, version string, replicas int) *appsv1.Deployment {
	labels := map[string]string{"app": serviceName(i), "version": version}
	pod := corev1.PodSpec{Containers: []corev1.Container{{
		Name: "app", Image: "registry.invalid/scale-app:" + version,
		Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
	}}}
	cluster.TolerateFakeNodes(&pod)
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: serviceName(i) + "-" + version, Namespace: meshNamespace},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(int32(replicas)),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: pod},
		},
	}
}

// setWeights changes service i's split and returns the VirtualService's new generation.
func setWeights(ctx context.Context, cl client.Client, i, v1Weight, v2Weight int) (int64, error) {
	vs := &v1.VirtualService{ObjectMeta: metav1.ObjectMeta{Name: serviceName(i), Namespace: meshNamespace}}
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

// podsRunning counts the pods that run with an IP.
func podsRunning(pods map[string]*corev1.Pod) int {
	n := 0
	for _, p := range pods {
		if p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning && p.Status.PodIP != "" {
			n++
		}
	}
	return n
}

// endpointsComplete reports whether every service's EndpointSlices list all its pods as ready.
func endpointsComplete(slices map[string]*discoveryv1.EndpointSlice, s meshSize) bool {
	ready := map[string]int{}
	for _, sl := range slices {
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
