package scale

import (
	"context"
	"fmt"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/mizzen-mesh/mizzen/internal/envoy"
)

// bareNamespace holds the baseline's ConfigMaps; it is not meshed.
const bareNamespace = "bare-writes"

// bareWriteRate measures what the apiserver takes from a plain client-go loop: n ConfigMaps
// holding data are created (not timed), then each is updated once by workers goroutines (timed);
// it returns the updates per second. The client is set up as the manager's is: no client-side
// rate limit (controller-runtime's GetConfig sets QPS -1 when the kubeconfig says nothing, and
// main.go keeps it) and protobuf (controller-runtime's encoding for built-in kinds). Each update
// changes the hash annotation, as a manager write does, so the apiserver stores the whole object
// again.
func bareWriteRate(ctx context.Context, base *rest.Config, data map[string]string, n, workers int) (float64, time.Duration, error) {
	cfg := rest.CopyConfig(base)
	cfg.QPS, cfg.Burst = -1, 0
	cfg.ContentType = runtime.ContentTypeProtobuf
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return 0, 0, err
	}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: bareNamespace}}, metav1.CreateOptions{}); err != nil {
		return 0, 0, fmt.Errorf("creating namespace %s: %w", bareNamespace, err)
	}
	cms := make([]*corev1.ConfigMap, n)
	err = parallel(n, workers, func(i int) error {
		cm := &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{
				Name: fmt.Sprintf("bare-%d", i), Namespace: bareNamespace,
				Labels:      map[string]string{"app.kubernetes.io/managed-by": "mizzen-scale-benchmark"},
				Annotations: map[string]string{envoy.HashAnnotation: "0"},
			},
			Data: data,
		}
		created, err := cs.CoreV1().ConfigMaps(bareNamespace).Create(ctx, cm, metav1.CreateOptions{})
		cms[i] = created
		return err
	})
	if err != nil {
		return 0, 0, fmt.Errorf("creating the baseline's ConfigMaps: %w", err)
	}
	start := time.Now()
	err = parallel(n, workers, func(i int) error {
		cm := cms[i]
		cm.Annotations[envoy.HashAnnotation] = strconv.Itoa(i + 1)
		_, err := cs.CoreV1().ConfigMaps(bareNamespace).Update(ctx, cm, metav1.UpdateOptions{})
		return err
	})
	elapsed := time.Since(start)
	if err != nil {
		return 0, 0, fmt.Errorf("updating the baseline's ConfigMaps: %w", err)
	}
	return float64(n) / elapsed.Seconds(), elapsed, nil
}

// configSize is a ConfigMap's payload as the manager's bytes metric counts it: names and contents.
func configSize(data map[string]string) int {
	n := 0
	for k, v := range data {
		n += len(k) + len(v)
	}
	return n
}
