package scale

import (
	"context"
	"fmt"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/mizzen-mesh/mizzen/internal/envoy"
)

// bareNamespace holds the baseline's ConfigMaps; it is not meshed.
const bareNamespace = "bare-writes"

// bareAnnotation is what the baseline stamps on a mesh pod: not the manager's hash annotation, so
// the manager finds the pod's config current and writes nothing.
const bareAnnotation = "scale.mizzen.dev/bare-round"

// bareLoop measures what the apiserver takes from a plain client-go loop: ConfigMaps holding a
// proxy's data, each updated once per round by workers goroutines. Its client is set up as the
// manager's is: no client-side rate limit (controller-runtime's GetConfig sets QPS -1 when the
// kubeconfig says nothing, and main.go keeps it), protobuf (controller-runtime's encoding for
// built-in kinds) and no gzip (main.go's --kube-api-compression=false).
type bareLoop struct {
	cs      kubernetes.Interface
	cms     []*corev1.ConfigMap
	workers int
}

// newBareLoop creates n ConfigMaps holding data in bareNamespace (not timed).
func newBareLoop(ctx context.Context, base *rest.Config, data map[string]string, n, workers int) (*bareLoop, error) {
	cfg := rest.CopyConfig(base)
	cfg.QPS, cfg.Burst = -1, 0
	cfg.ContentType = runtime.ContentTypeProtobuf
	cfg.DisableCompression = true
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: bareNamespace}}, metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("creating namespace %s: %w", bareNamespace, err)
	}
	l := &bareLoop{cs: cs, cms: make([]*corev1.ConfigMap, n), workers: workers}
	err = parallel(n, workers, func(i int) error {
		cm := &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{
				Name: fmt.Sprintf("bare-%d", i), Namespace: bareNamespace,
				Labels:      map[string]string{"app.kubernetes.io/managed-by": "mizzen-scale-benchmark"},
				Annotations: map[string]string{envoy.HashAnnotation: "0"},
			},
			Data: data,
		}
		var err error
		l.cms[i], err = cs.CoreV1().ConfigMaps(bareNamespace).Create(ctx, cm, metav1.CreateOptions{})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("creating the baseline's ConfigMaps: %w", err)
	}
	return l, nil
}

// round updates every ConfigMap once, changing its hash annotation as a manager write does (the
// apiserver stores the whole object again), and returns how long that took. With pods, each
// update is followed by an annotation patch of mesh pod pods[i], as the manager
// stamps the hash on the pod after writing its ConfigMap.
func (l *bareLoop) round(ctx context.Context, round int, pods []types.NamespacedName) (time.Duration, error) {
	start := time.Now()
	err := parallel(len(l.cms), l.workers, func(i int) error {
		cm := l.cms[i]
		cm.Annotations[envoy.HashAnnotation] = fmt.Sprintf("%d-%d", round, i)
		updated, err := l.cs.CoreV1().ConfigMaps(bareNamespace).Update(ctx, cm, metav1.UpdateOptions{})
		if err != nil {
			return err
		}
		l.cms[i] = updated
		if pods == nil {
			return nil
		}
		patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, bareAnnotation, strconv.Itoa(round))
		_, err = l.cs.CoreV1().Pods(pods[i].Namespace).Patch(ctx, pods[i].Name, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("baseline round %d: %w", round, err)
	}
	return time.Since(start), nil
}

// configSize is a ConfigMap's payload as the manager's bytes metric counts it: names and contents.
func configSize(data map[string]string) int {
	n := 0
	for k, v := range data {
		n += len(k) + len(v)
	}
	return n
}
