package controllers

import (
	"fmt"
	"maps"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/mizzen-mesh/mizzen/api/v1alpha1"
	"github.com/mizzen-mesh/mizzen/internal/identity"
	"github.com/mizzen-mesh/mizzen/internal/mesh"
)

func TestTrimPodKeepsWhatTheReconcilersRead(t *testing.T) {
	now := metav1.Now()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: "reviews-1", Namespace: "bookinfo", UID: types.UID("u1"), ResourceVersion: "42",
			Labels: map[string]string{"app": "reviews", "version": "v2"},
			Annotations: map[string]string{mesh.ProxyIDAnnotation: "p1", mesh.EgressHostsAnnotation: "./*",
				"prometheus.io/scrape": "true", "kubectl.kubernetes.io/restartedAt": "2026-11-28T00:00:00Z"},
			OwnerReferences:   []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "reviews"}},
			DeletionTimestamp: &now,
			ManagedFields:     []metav1.ManagedFieldsEntry{{Manager: "kubelet"}},
		},
		Spec: corev1.PodSpec{
			NodeName: "node-1", ServiceAccountName: "bookinfo-reviews",
			Containers: []corev1.Container{{Name: "app", Image: "reviews:v2"}},
			Volumes:    []corev1.Volume{{Name: "token"}},
		},
		Status: corev1.PodStatus{
			Phase: corev1.PodRunning, PodIP: "10.0.0.7", PodIPs: []corev1.PodIP{{IP: "10.0.0.7"}},
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
		},
	}
	got, err := trimPod(pod)
	if err != nil {
		t.Fatal(err)
	}
	p := got.(*corev1.Pod)
	if p.Name != pod.Name || p.Namespace != pod.Namespace || p.UID != pod.UID || p.ResourceVersion != "42" ||
		p.Labels["version"] != "v2" || p.Annotations[mesh.ProxyIDAnnotation] != "p1" ||
		p.Annotations[mesh.EgressHostsAnnotation] != "./*" || p.DeletionTimestamp == nil {
		t.Errorf("metadata not kept: %+v", p.ObjectMeta)
	}
	if p.Spec.NodeName != "node-1" || p.Spec.ServiceAccountName != "bookinfo-reviews" ||
		p.Status.Phase != corev1.PodRunning || p.Status.PodIP != "10.0.0.7" {
		t.Errorf("node, service account, phase or IP lost: spec %+v, status %+v", p.Spec, p.Status)
	}
	if p.ManagedFields != nil || p.OwnerReferences != nil || p.Spec.Containers != nil || p.Spec.Volumes != nil || p.Status.Conditions != nil {
		t.Errorf("managed fields, owner references, containers, volumes or conditions kept")
	}
	if len(p.Annotations) != 2 {
		t.Errorf("annotations %v; want the mizzen.dev/ ones only", p.Annotations)
	}
	if len(pod.ManagedFields) != 1 || len(pod.Spec.Containers) != 1 || len(pod.Annotations) != 4 {
		t.Error("trimPod changed the object it was given")
	}
	if other, _ := trimPod(&corev1.Service{}); other == nil {
		t.Error("a non-pod object was dropped")
	}
}

func TestStripBookkeepingDropsManagedFieldsAndLastApplied(t *testing.T) {
	annotations := map[string]string{corev1.LastAppliedConfigAnnotation: `{"spec":{"hosts":["reviews"]}}`, "team": "bookinfo"}
	vs := &v1alpha1.VirtualService{ObjectMeta: metav1.ObjectMeta{Name: "reviews", Annotations: annotations,
		ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}}}
	if _, err := stripBookkeeping(vs); err != nil {
		t.Fatal(err)
	}
	if vs.ManagedFields != nil || len(vs.Annotations) != 1 || vs.Annotations["team"] != "bookinfo" {
		t.Errorf("after the transform: managed fields %v, annotations %v; want none and team only", vs.ManagedFields, vs.Annotations)
	}
	if len(annotations) != 2 {
		t.Error("the transform changed a map the object shared")
	}

	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "reviews-1",
		Annotations: map[string]string{corev1.LastAppliedConfigAnnotation: "{}"}}}
	got, err := trimPod(pod)
	if err != nil {
		t.Fatal(err)
	}
	if a := got.(*corev1.Pod).Annotations; a != nil {
		t.Errorf("trimmed pod's annotations: %v, want none", a)
	}
	cms := make([]*metav1.PartialObjectMetadata, 2)
	for i := range cms {
		cms[i] = &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprint("mizzen-proxy-", i),
			Labels: map[string]string{identity.ManagedByLabel: identity.ManagedBy}}}
		if _, err := stripBookkeeping(cms[i]); err != nil {
			t.Fatal(err)
		}
	}
	if !maps.Equal(cms[0].Labels, map[string]string{identity.ManagedByLabel: identity.ManagedBy}) ||
		reflect.ValueOf(cms[0].Labels).UnsafePointer() != reflect.ValueOf(cms[1].Labels).UnsafePointer() {
		t.Errorf("two ConfigMaps with Mizzen's label alone: labels %v, not one shared map", cms[0].Labels)
	}
	other := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{identity.ManagedByLabel: identity.ManagedBy, "team": "a"}}}
	if _, err := stripBookkeeping(other); err != nil || len(other.Labels) != 2 {
		t.Errorf("labels beside Mizzen's: %v, %v", other.Labels, err)
	}
	if _, err := stripBookkeeping("not an object"); err != nil {
		t.Errorf("a value without metadata: %v", err)
	}
}
