package main

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	certmanagerv1 "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mizzen-mesh/mizzen/internal/identity"
	"github.com/mizzen-mesh/mizzen/internal/mesh"
)

// waitProxyCertificates waits until every pod of the meshed namespace ns has a Ready Certificate
// written by Mizzen, printing the count as it grows, and returns the pods. On timeout the error
// names the Certificates still not Ready and why.
func waitProxyCertificates(ctx context.Context, cl client.Client, ns string, timeout time.Duration) ([]corev1.Pod, error) {
	deadline := time.Now().Add(timeout)
	last := ""
	for {
		pods, notReady, err := proxyCertificates(ctx, cl, ns)
		if err == nil {
			issued := fmt.Sprintf("%d/%d proxy certificates issued", len(pods)-len(notReady), len(pods))
			if issued != last {
				fmt.Printf("    %s\n", issued)
				last = issued
			}
			if len(pods) > 0 && len(notReady) == 0 {
				return pods, nil
			}
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("%s; not Ready: %s", last, strings.Join(notReady, "; "))
			}
			return nil, fmt.Errorf("proxy certificates did not issue within %s (is ClusterIssuer %s Ready?): %w",
				timeout, identity.DefaultIssuerName, err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// proxyCertificates lists the running pods of ns and, for each, why its proxy Certificate is not
// Ready (no proxy id yet, no Certificate, or its Ready condition's message).
func proxyCertificates(ctx context.Context, cl client.Client, ns string) ([]corev1.Pod, []string, error) {
	pods := &corev1.PodList{}
	if err := cl.List(ctx, pods, client.InNamespace(ns)); err != nil {
		return nil, nil, err
	}
	certs := &certmanagerv1.CertificateList{}
	if err := cl.List(ctx, certs, client.InNamespace(ns), client.MatchingLabels{identity.ManagedByLabel: identity.ManagedBy}); err != nil {
		return nil, nil, err
	}
	running := slices.DeleteFunc(pods.Items, func(p corev1.Pod) bool { return p.DeletionTimestamp != nil })
	var notReady []string
	for _, pod := range running {
		id := pod.Annotations[mesh.ProxyIDAnnotation]
		if id == "" {
			notReady = append(notReady, pod.Name+": no proxy id yet")
			continue
		}
		name := identity.CertificateName(id)
		i := slices.IndexFunc(certs.Items, func(c certmanagerv1.Certificate) bool { return c.Name == name })
		if i < 0 {
			notReady = append(notReady, name+": no Certificate yet")
			continue
		}
		if reason := certNotReady(&certs.Items[i]); reason != "" {
			notReady = append(notReady, name+": "+reason)
		}
	}
	return running, notReady, nil
}

// certNotReady says why a Certificate is not Ready, or "" when it is.
func certNotReady(c *certmanagerv1.Certificate) string {
	for _, cond := range c.Status.Conditions {
		if cond.Type == certmanagerv1.CertificateConditionReady {
			if cond.Status == cmmeta.ConditionTrue {
				return ""
			}
			return fmt.Sprintf("Ready=%s %s: %s", cond.Status, cond.Reason, cond.Message)
		}
	}
	return "no Ready condition yet"
}

// podIdentity reads the certificate in a pod's proxy Secret and checks it is what the mesh needs:
// one URI SAN, the pod's SPIFFE ID (default trust domain, as the demo runs the manager), chaining
// to the CA certificate stored beside it.
func podIdentity(ctx context.Context, cl client.Client, pod *corev1.Pod) (*x509.Certificate, error) {
	name := identity.CertificateName(pod.Annotations[mesh.ProxyIDAnnotation])
	secret := &corev1.Secret{}
	if err := cl.Get(ctx, client.ObjectKey{Namespace: pod.Namespace, Name: name}, secret); err != nil {
		return nil, fmt.Errorf("pod %s: %w", pod.Name, err)
	}
	leaf, err := parsePEM(secret.Data[corev1.TLSCertKey])
	if err != nil {
		return nil, fmt.Errorf("secret %s/%s %s: %w", pod.Namespace, name, corev1.TLSCertKey, err)
	}
	ca, err := parsePEM(secret.Data["ca.crt"])
	if err != nil {
		return nil, fmt.Errorf("secret %s/%s ca.crt: %w", pod.Namespace, name, err)
	}
	want := identity.PodSPIFFEID(identity.DefaultTrustDomain, pod)
	if len(leaf.URIs) != 1 || leaf.URIs[0].String() != want {
		return nil, fmt.Errorf("secret %s/%s: URI SANs %v, want exactly the pod's SPIFFE ID %s", pod.Namespace, name, leaf.URIs, want)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return nil, fmt.Errorf("secret %s/%s: the certificate does not chain to its ca.crt: %w", pod.Namespace, name, err)
	}
	return leaf, nil
}

func parsePEM(data []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM certificate")
	}
	return x509.ParseCertificate(block.Bytes)
}
