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
// Ready, its Ready condition's reason and message, so a False in the READY column never goes
// unexplained.
func explainNotReady(ctx context.Context, cl client.Client, ns string) error {
	vss := &v1alpha1.VirtualServiceList{}
	drs := &v1alpha1.DestinationRuleList{}
	gws := &v1alpha1.GatewayList{}
	for _, l := range []client.ObjectList{vss, drs, gws} {
		if err := cl.List(ctx, l, client.InNamespace(ns)); err != nil {
			return err
		}
	}
	explain := func(kind, name string, conditions []metav1.Condition) {
		switch c := apimeta.FindStatusCondition(conditions, v1alpha1.ConditionReady); {
		case c == nil:
			fmt.Printf("    %s/%s has no Ready condition yet\n", kind, name)
		case c.Status != metav1.ConditionTrue:
			fmt.Printf("    %s/%s: Ready=%s (%s): %s\n", kind, name, c.Status, c.Reason, c.Message)
		}
	}
	for _, o := range vss.Items {
		explain("virtualservice", o.Name, o.Status.Conditions)
	}
	for _, o := range drs.Items {
		explain("destinationrule", o.Name, o.Status.Conditions)
	}
	for _, o := range gws.Items {
		explain("gateway", o.Name, o.Status.Conditions)
	}
	return nil
}

// gatewayProgrammed checks that the Gateway ns/name counts every pod its selector picks (want of
// them) as carrying its generation, and returns its Programmed column ("updated/total").
func gatewayProgrammed(ctx context.Context, cl client.Client, ns, name string, want int) (string, error) {
	gw := &v1alpha1.Gateway{}
	if err := cl.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, gw); err != nil {
		return "", err
	}
	p := gw.Status.Proxies
	if p == nil || p.Total != int32(want) || p.Updated != p.Total {
		return "", fmt.Errorf("gateway %s: programmed %q, want %d/%d (one per gateway pod)", name, gw.Status.UpdatedSummary, want, want)
	}
	return gw.Status.UpdatedSummary, nil
}
