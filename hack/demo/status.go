package main

import (
	"context"
	"fmt"

	certmanagerv1 "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/dynamic"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mizzen-mesh/mizzen/api/v1alpha1"
	"github.com/mizzen-mesh/mizzen/test/cluster"
)

// clients are a typed client for reading the cluster (core, cert-manager and Mizzen kinds) and a
// dynamic one for watching.
func clients(c *cluster.Cluster) (client.Client, dynamic.Interface, error) {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(certmanagerv1.AddToScheme(s))
	utilruntime.Must(v1alpha1.AddToScheme(s))
	cl, err := client.New(c.RESTConfig(), client.Options{Scheme: s})
	if err != nil {
		return nil, nil, err
	}
	dyn, err := dynamic.NewForConfig(c.RESTConfig())
	return cl, dyn, err
}

// explainNotReady prints, for every VirtualService, DestinationRule and Gateway of ns that is not
// Ready, its conditions, so a False in the READY column never goes unexplained.
func explainNotReady(ctx context.Context, cl client.Client, ns string) error {
	type rule struct {
		kind       string
		name       string
		conditions []metav1.Condition
	}
	var rules []rule
	vss := &v1alpha1.VirtualServiceList{}
	drs := &v1alpha1.DestinationRuleList{}
	gws := &v1alpha1.GatewayList{}
	for _, l := range []client.ObjectList{vss, drs, gws} {
		if err := cl.List(ctx, l, client.InNamespace(ns)); err != nil {
			return err
		}
	}
	for _, o := range vss.Items {
		rules = append(rules, rule{"virtualservice", o.Name, o.Status.Conditions})
	}
	for _, o := range drs.Items {
		rules = append(rules, rule{"destinationrule", o.Name, o.Status.Conditions})
	}
	for _, o := range gws.Items {
		rules = append(rules, rule{"gateway", o.Name, o.Status.Conditions})
	}
	for _, r := range rules {
		if apimeta.IsStatusConditionTrue(r.conditions, v1alpha1.ConditionReady) {
			continue
		}
		fmt.Printf("    %s/%s is not Ready:\n", r.kind, r.name)
		for _, c := range r.conditions {
			fmt.Printf("      %s=%s (%s): %s\n", c.Type, c.Status, c.Reason, c.Message)
		}
	}
	return nil
}
