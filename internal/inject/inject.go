// Package inject adds the proxy to a meshed pod: the Envoy container that runs the config the
// proxy reconciler writes, the volumes of ConfigMaps and Secret it reads (named after the pod's
// proxy id), and the init container that captures the pod's traffic. It is pure: the admission webhook
// (internal/admission) gathers the facts about the pod's namespace and Gateways and calls Pod.
package inject

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/mizzen-mesh/mizzen/internal/envoy"
	"github.com/mizzen-mesh/mizzen/internal/identity"
	"github.com/mizzen-mesh/mizzen/internal/mesh"
)

// Labels and annotations that decide and shape injection.
const (
	// MeshLabel on a namespace: MeshEnabled meshes its pods.
	MeshLabel   = "mizzen.dev/mesh"
	MeshEnabled = "enabled"
	// ProxyLabel on a pod: ProxyDisabled opts it out of the mesh.
	ProxyLabel    = "mizzen.dev/proxy"
	ProxyDisabled = "disabled"

	// ProxyIDAnnotation names the pod's ConfigMap, Secret and Envoy node id.
	ProxyIDAnnotation = mesh.ProxyIDAnnotation
	// ProxyImageAnnotation overrides the Envoy image of one pod (e.g. to try a new Envoy release).
	ProxyImageAnnotation = "mizzen.dev/proxy-image"
	// TemplateAnnotation: TemplateGateway injects a gateway proxy (no traffic capture),
	// TemplateSidecar (the default) a sidecar.
	TemplateAnnotation = "mizzen.dev/inject-template"
	TemplateSidecar    = "sidecar"
	TemplateGateway    = "gateway"

	// DefaultContainerAnnotation makes kubectl logs/exec pick the workload, not the proxy.
	DefaultContainerAnnotation = "kubectl.kubernetes.io/default-container"

	PrometheusScrapeAnnotation = "prometheus.io/scrape"
	PrometheusPortAnnotation   = "prometheus.io/port"
	PrometheusPathAnnotation   = "prometheus.io/path"
)

// Names of what Pod adds.
const (
	ProxyContainer   = "mizzen-proxy"
	CaptureContainer = "mizzen-capture"
	ConfigVolume     = "mizzen-proxy-config"
	CertVolume       = "mizzen-proxy-certs"
	// AutoImage on a container named ProxyContainer marks a placeholder the injector fills in: a
	// gateway Deployment's only container, whose ports and resources are kept.
	AutoImage = "auto"

	// PrometheusPortName is Istio's name for the stats port.
	PrometheusPortName = "http-envoy-prom"
	HealthPortName     = "mizzen-health"
)

// Images and resources used unless the manager's flags say otherwise.
const (
	// DefaultProxyImage is the upstream Envoy release whose API go-control-plane's envoy module
	// v1.40.0 (go.mod) is generated from: the config Mizzen writes uses exactly the fields this
	// Envoy knows.
	DefaultProxyImage = "envoyproxy/envoy:v1.40.0"
	// DefaultCaptureImage is the manager's own image (config/manager), which holds `capture`.
	DefaultCaptureImage = "ghcr.io/mizzen-mesh/mizzen:latest"
	// EnvoyBinary is where the upstream images (envoy and envoy-distroless) install Envoy. The
	// command is named instead of going through the image's entrypoint script, which wants root.
	EnvoyBinary = "/usr/local/bin/envoy"
)

// DefaultProxyResources are Istio's sidecar defaults: requests fit a sidecar handling little
// traffic; the limits stop a runaway proxy without throttling an ordinary one.
func DefaultProxyResources() corev1.ResourceRequirements {
	return corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
		Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("1Gi")},
	}
}

// captureResources: the init container only installs a few rules and exits.
func captureResources() corev1.ResourceRequirements {
	return corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("16Mi")},
		Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
	}
}

// Options are the injector's settings (the manager's --proxy-* and --capture-image flags).
type Options struct {
	// ProxyImage runs Envoy; empty means DefaultProxyImage.
	ProxyImage string
	// CaptureImage runs `manager capture`; empty means DefaultCaptureImage.
	CaptureImage string
	// ProxyResources of the Envoy container; requests and limits left out take
	// DefaultProxyResources' values.
	ProxyResources corev1.ResourceRequirements
	// NewProxyID makes a proxy id; nil means identity.NewProxyID (tests pass a fixed one).
	NewProxyID func() string
}

// WithDefaults fills in what o leaves empty.
func (o Options) WithDefaults() Options {
	if o.ProxyImage == "" {
		o.ProxyImage = DefaultProxyImage
	}
	if o.CaptureImage == "" {
		o.CaptureImage = DefaultCaptureImage
	}
	def := DefaultProxyResources()
	r := corev1.ResourceRequirements{Requests: corev1.ResourceList{}, Limits: corev1.ResourceList{}}
	maps.Copy(r.Requests, def.Requests)
	maps.Copy(r.Requests, o.ProxyResources.Requests)
	maps.Copy(r.Limits, def.Limits)
	maps.Copy(r.Limits, o.ProxyResources.Limits)
	o.ProxyResources = r
	if o.NewProxyID == nil {
		o.NewProxyID = identity.NewProxyID
	}
	return o
}

// Validate checks options after WithDefaults: images are references, and no request exceeds its
// limit (the API server would refuse every injected pod).
func (o Options) Validate() error {
	var errs []error
	for _, img := range []struct{ flag, value string }{{"proxy image", o.ProxyImage}, {"capture image", o.CaptureImage}} {
		if err := validateImage(img.value); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", img.flag, err))
		}
	}
	for name, req := range o.ProxyResources.Requests {
		if lim, ok := o.ProxyResources.Limits[name]; ok && req.Cmp(lim) > 0 {
			errs = append(errs, fmt.Errorf("proxy %s request %s exceeds its limit %s", name, req.String(), lim.String()))
		}
	}
	return errors.Join(errs...)
}

func validateImage(img string) error {
	if img == "" || img == AutoImage || strings.ContainsAny(img, " \t\n") {
		return fmt.Errorf("%q is not an image reference", img)
	}
	return nil
}

// Facts are what the webhook knows about a pod beyond the pod itself.
type Facts struct {
	// NamespaceLabels are the labels of the pod's namespace.
	NamespaceLabels map[string]string
	// GatewaySelected: a Gateway's selector matches the pod's labels.
	GatewaySelected bool
}

// Skip says why a pod gets no proxy, or "" when Pod should inject it. A pod is meshed, as for
// the proxy reconciler, when its namespace is labelled mizzen.dev/mesh=enabled or a Gateway
// selects it, unless it is labelled mizzen.dev/proxy=disabled.
func Skip(pod *corev1.Pod, f Facts) string {
	switch {
	case pod.Labels[ProxyLabel] == ProxyDisabled:
		return "the pod is labelled " + ProxyLabel + "=" + ProxyDisabled
	case f.NamespaceLabels[MeshLabel] != MeshEnabled && !f.GatewaySelected:
		return "the namespace is not labelled " + MeshLabel + "=" + MeshEnabled + " and no Gateway selects the pod"
	case pod.Spec.HostNetwork:
		// Capture rules would be installed in the node's network namespace.
		return "the pod uses the host's network"
	case injected(pod):
		return "the pod already has its proxy"
	}
	return ""
}

// injected: the pod has a proxy container that is not a placeholder.
func injected(pod *corev1.Pod) bool {
	i := slices.IndexFunc(pod.Spec.Containers, func(c corev1.Container) bool { return c.Name == ProxyContainer })
	return i >= 0 && pod.Spec.Containers[i].Image != AutoImage
}

// Pod returns a copy of pod with its proxy; a pod that already has it comes back unchanged. o
// must have passed WithDefaults. Errors name the annotation or field at fault; they are the
// user's to fix, and the pod is not created without its proxy.
func Pod(pod *corev1.Pod, f Facts, o Options) (*corev1.Pod, error) {
	out := pod.DeepCopy()
	if injected(pod) {
		return out, nil
	}
	gateway, err := isGateway(pod, f)
	if err != nil {
		return nil, err
	}
	image := o.ProxyImage
	if v, ok := pod.Annotations[ProxyImageAnnotation]; ok {
		if err := validateImage(v); err != nil {
			return nil, fmt.Errorf("annotation %s: %w", ProxyImageAnnotation, err)
		}
		image = v
	}
	var capture Capture
	if !gateway {
		if capture, err = captureFromAnnotations(pod.Annotations); err != nil {
			return nil, err
		}
	}
	if err := checkConflicts(pod); err != nil {
		return nil, err
	}

	if out.Annotations == nil {
		out.Annotations = map[string]string{}
	}
	id := out.Annotations[ProxyIDAnnotation]
	if identity.ValidateProxyID(id) != nil {
		id = o.NewProxyID()
		out.Annotations[ProxyIDAnnotation] = id
	}

	proxy := proxyContainer(image, o.ProxyResources)
	spec := &out.Spec
	if i := slices.IndexFunc(spec.Containers, func(c corev1.Container) bool { return c.Name == ProxyContainer }); i >= 0 {
		fillPlaceholder(&proxy, spec.Containers[i])
		spec.Containers = slices.Delete(spec.Containers, i, i+1)
	}
	if _, ok := out.Annotations[DefaultContainerAnnotation]; !ok && len(spec.Containers) > 0 {
		out.Annotations[DefaultContainerAnnotation] = spec.Containers[0].Name
	}
	// First, so the kubelet starts Envoy before the workload.
	spec.Containers = append([]corev1.Container{proxy}, spec.Containers...)
	spec.Volumes = append(spec.Volumes, proxyVolumes(id)...)
	if gateway {
		mountCredentials(spec, &spec.Containers[0], id)
	}
	if !gateway {
		// Last: the pod's own init containers run before capture exists and reach the network
		// directly (Envoy does not run until every init container has finished).
		spec.InitContainers = append(spec.InitContainers, captureContainer(o.CaptureImage, capture))
	}
	if !hasAny(out.Annotations, PrometheusScrapeAnnotation, PrometheusPortAnnotation, PrometheusPathAnnotation) {
		out.Annotations[PrometheusScrapeAnnotation] = "true"
		out.Annotations[PrometheusPortAnnotation] = strconv.Itoa(PrometheusPort)
		out.Annotations[PrometheusPathAnnotation] = PrometheusPath
	}
	return out, nil
}

func isGateway(pod *corev1.Pod, f Facts) (bool, error) {
	switch t := pod.Annotations[TemplateAnnotation]; t {
	case TemplateGateway:
		return true, nil
	case "", TemplateSidecar:
		return f.GatewaySelected, nil
	default:
		return false, fmt.Errorf("annotation %s: %q is neither %q nor %q", TemplateAnnotation, t, TemplateSidecar, TemplateGateway)
	}
}

// reservedPorts are the ports Envoy listens on in the pod's network namespace.
var reservedPorts = map[int32]string{
	envoy.AdminPort: "Envoy's admin API", OutboundPort: "outbound capture", InboundPort: "inbound capture",
	HealthPort: "the proxy's readiness endpoint", PrometheusPort: "the proxy's Prometheus endpoint",
}

// checkConflicts refuses a pod whose own containers or volumes would collide with the proxy's.
func checkConflicts(pod *corev1.Pod) error {
	for _, c := range pod.Spec.Containers {
		if c.Name == ProxyContainer {
			continue // the placeholder, replaced
		}
		for i, p := range c.Ports {
			if what, ok := reservedPorts[p.ContainerPort]; ok {
				return fmt.Errorf("container %s: ports[%d]: port %d is reserved for %s", c.Name, i, p.ContainerPort, what)
			}
		}
	}
	for _, c := range pod.Spec.InitContainers {
		if c.Name == CaptureContainer || c.Name == ProxyContainer {
			return fmt.Errorf("init container %s: the name is reserved for the proxy", c.Name)
		}
	}
	for _, v := range pod.Spec.Volumes {
		if v.Name == ConfigVolume || v.Name == CertVolume || v.Name == envoy.CredentialsVolume {
			return fmt.Errorf("volume %s: the name is reserved for the proxy", v.Name)
		}
	}
	return nil
}

func hasAny(m map[string]string, keys ...string) bool {
	for _, k := range keys {
		if _, ok := m[k]; ok {
			return true
		}
	}
	return false
}

// proxyContainer runs Envoy on the bootstrap of the ConfigMap, as the proxy user that capture
// lets through, with nothing writable: Envoy reads its files and writes only to stdout.
func proxyContainer(image string, res corev1.ResourceRequirements) corev1.Container {
	return corev1.Container{
		Name:    ProxyContainer,
		Image:   image,
		Command: []string{EnvoyBinary},
		Args: []string{
			"-c", envoy.ConfigPath(envoy.BootstrapFile),
			// Config changes are file reloads, never a hot restart: no shared memory needed.
			"--disable-hot-restart",
		},
		Ports: []corev1.ContainerPort{
			{Name: PrometheusPortName, ContainerPort: PrometheusPort, Protocol: corev1.ProtocolTCP},
			{Name: HealthPortName, ContainerPort: HealthPort, Protocol: corev1.ProtocolTCP},
		},
		Resources: res,
		ReadinessProbe: &corev1.Probe{
			ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
				Path: HealthPath, Port: intstr.FromInt32(HealthPort),
			}},
			// Frequent, so a new pod turns Ready soon after Envoy has its config.
			PeriodSeconds:    2,
			FailureThreshold: 3,
		},
		VolumeMounts: []corev1.VolumeMount{
			{Name: ConfigVolume, MountPath: envoy.ConfigDir, ReadOnly: true},
			{Name: CertVolume, MountPath: envoy.CertDir, ReadOnly: true},
		},
		SecurityContext: &corev1.SecurityContext{
			RunAsUser:                ptr.To[int64](ProxyUID),
			RunAsGroup:               ptr.To[int64](ProxyGID),
			RunAsNonRoot:             ptr.To(true),
			ReadOnlyRootFilesystem:   ptr.To(true),
			AllowPrivilegeEscalation: ptr.To(false),
			Privileged:               ptr.To(false),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
	}
}

// fillPlaceholder keeps what a gateway's placeholder container declares for itself: its ports
// (the gateway's listeners) and resources.
func fillPlaceholder(proxy *corev1.Container, placeholder corev1.Container) {
	for _, p := range placeholder.Ports {
		if !slices.ContainsFunc(proxy.Ports, func(q corev1.ContainerPort) bool { return q.ContainerPort == p.ContainerPort }) {
			proxy.Ports = append(proxy.Ports, p)
		}
	}
	maps.Copy(proxy.Resources.Requests, placeholder.Resources.Requests)
	maps.Copy(proxy.Resources.Limits, placeholder.Resources.Limits)
}

// proxyVolumes mount the proxy's ConfigMaps (one projected volume, so the kubelet swaps the
// directory Envoy watches in one move) and Secret mizzen-proxy-<id>. None is optional: the kubelet
// holds the pod until the reconciler and cert-manager have written them, so Envoy never starts
// without its config or certificate.
func proxyVolumes(id string) []corev1.Volume {
	var sources []corev1.VolumeProjection
	for _, name := range envoy.ConfigMapNames(id) {
		sources = append(sources, corev1.VolumeProjection{ConfigMap: &corev1.ConfigMapProjection{
			LocalObjectReference: corev1.LocalObjectReference{Name: name},
		}})
	}
	return []corev1.Volume{
		{Name: ConfigVolume, VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: sources}}},
		{Name: CertVolume, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
			SecretName: envoy.ConfigMapName(id),
		}}},
	}
}

// mountCredentials gives a gateway proxy the Secret the proxy reconciler fills with copies of
// its servers' credentialName Secrets. Optional: it exists only while some server needs one, and a
// gateway without TLS servers must still start.
func mountCredentials(spec *corev1.PodSpec, proxy *corev1.Container, id string) {
	spec.Volumes = append(spec.Volumes, corev1.Volume{Name: envoy.CredentialsVolume, VolumeSource: corev1.VolumeSource{
		Secret: &corev1.SecretVolumeSource{SecretName: envoy.CredentialsSecretName(id), Optional: ptr.To(true)},
	}})
	proxy.VolumeMounts = append(proxy.VolumeMounts, corev1.VolumeMount{Name: envoy.CredentialsVolume, MountPath: envoy.CredentialsDir, ReadOnly: true})
}

// captureContainer installs the redirect rules and exits. It needs root and NET_ADMIN/NET_RAW in
// the pod's network namespace only; nothing else.
func captureContainer(image string, c Capture) corev1.Container {
	return corev1.Container{
		Name:      CaptureContainer,
		Image:     image,
		Command:   []string{"/manager"},
		Args:      c.Args(),
		Resources: captureResources(),
		SecurityContext: &corev1.SecurityContext{
			RunAsUser:                ptr.To[int64](0),
			RunAsGroup:               ptr.To[int64](0),
			RunAsNonRoot:             ptr.To(false),
			Privileged:               ptr.To(false),
			AllowPrivilegeEscalation: ptr.To(false),
			ReadOnlyRootFilesystem:   ptr.To(true),
			Capabilities: &corev1.Capabilities{
				Add:  []corev1.Capability{"NET_ADMIN", "NET_RAW"},
				Drop: []corev1.Capability{"ALL"},
			},
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
	}
}
