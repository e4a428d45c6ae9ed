package dataplane_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/mizzen-mesh/mizzen/internal/mesh"
)

var yamlSeparator = regexp.MustCompile(`(?m)^---\s*$`)

// loadMesh reads Kubernetes objects and rules from YAML files into a mesh.Input, with an
// EndpointSlice per service listing the pods its selector picks (what the EndpointSlice controller
// would write).
func loadMesh(t *testing.T, files ...string) mesh.Input {
	t.Helper()
	var in mesh.Input
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range yamlSeparator.Split(string(data), -1) {
			if strings.TrimSpace(doc) == "" {
				continue
			}
			var head metav1.TypeMeta
			if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			var err error
			switch head.Kind {
			case "Node":
				var nodes []*corev1.Node
				if err = unmarshalInto(doc, &nodes); err == nil {
					in.Nodes = append(in.Nodes, *nodes[0])
				}
			case "Service":
				err = unmarshalInto(doc, &in.Services)
			case "Pod":
				err = unmarshalInto(doc, &in.Pods)
			case "VirtualService":
				err = unmarshalInto(doc, &in.VirtualServices)
			case "DestinationRule":
				err = unmarshalInto(doc, &in.DestinationRules)
			case "Gateway":
				err = unmarshalInto(doc, &in.Gateways)
			default:
				t.Fatalf("%s: unexpected kind %q", f, head.Kind)
			}
			if err != nil {
				t.Fatalf("%s: %s: %v", f, head.Kind, err)
			}
		}
	}
	for _, svc := range in.Services {
		in.EndpointSlices = append(in.EndpointSlices, endpointSlice(svc, in.Pods))
	}
	return in
}

// unmarshalInto strictly decodes doc as one more element of *list, in namespace "default" when it
// names none, as kubectl apply would (Istio's samples name none).
func unmarshalInto[T any, PT interface {
	*T
	GetNamespace() string
	SetNamespace(string)
}](doc string, list *[]PT) error {
	v := PT(new(T))
	if err := yaml.UnmarshalStrict([]byte(doc), v); err != nil {
		return err
	}
	if v.GetNamespace() == "" {
		v.SetNamespace("default")
	}
	*list = append(*list, v)
	return nil
}

func endpointSlice(svc *corev1.Service, pods []*corev1.Pod) *discoveryv1.EndpointSlice {
	es := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: svc.Name + "-x", Namespace: svc.Namespace, Labels: map[string]string{discoveryv1.LabelServiceName: svc.Name}},
		AddressType: discoveryv1.AddressTypeIPv4,
	}
	for _, sp := range svc.Spec.Ports {
		name, port := sp.Name, sp.TargetPort.IntVal
		es.Ports = append(es.Ports, discoveryv1.EndpointPort{Name: &name, Port: &port})
	}
	ready := true
	for _, p := range pods {
		if p.Namespace == svc.Namespace && mesh.LabelsMatch(svc.Spec.Selector, p.Labels) {
			node := p.Spec.NodeName
			es.Endpoints = append(es.Endpoints, discoveryv1.Endpoint{Addresses: []string{p.Status.PodIP},
				Conditions: discoveryv1.EndpointConditions{Ready: &ready}, NodeName: &node,
				TargetRef: &corev1.ObjectReference{Kind: "Pod", Name: p.Name, Namespace: p.Namespace}})
		}
	}
	return es
}
