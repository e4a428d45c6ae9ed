package controllers

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"slices"
	"unsafe"

	"google.golang.org/protobuf/encoding/protowire"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
)

// echolessWriter writes the proxies' ConfigMaps and stamps pods without keeping the API server's
// reply. The reply echoes the whole object — a ConfigMap of 80–150 KiB at 100 services — and the
// reconciler reads nothing from it (its cache gets the object from the watch), while the
// controller-runtime client decodes it into the object written: a copy of every ConfigMap and
// ~0.4 ms of CPU per write. A successful reply is read through a small buffer and dropped, not
// collected whole (rest.Request.Do reads it into memory, growing a buffer to the ConfigMap's size);
// errors are the API server's, as apierrors reads them.
type echolessWriter struct {
	core rest.Interface
}

func newEcholessWriter(mgr ctrl.Manager) (*echolessWriter, error) {
	codecs := serializer.NewCodecFactory(mgr.GetScheme())
	core, err := apiutil.RESTClientForGVK(corev1.SchemeGroupVersion.WithKind("ConfigMap"), false, false,
		mgr.GetConfig(), codecs, mgr.GetHTTPClient())
	if err != nil {
		return nil, fmt.Errorf("building the core/v1 REST client: %w", err)
	}
	return &echolessWriter{core: core}, nil
}

func (w *echolessWriter) createConfigMap(ctx context.Context, cm *corev1.ConfigMap) error {
	return w.sendConfigMap(ctx, w.core.Post().Namespace(cm.Namespace).Resource("configmaps"), cm)
}

// updateConfigMap replaces cm; its resourceVersion, when set, guards the write.
func (w *echolessWriter) updateConfigMap(ctx context.Context, cm *corev1.ConfigMap) error {
	return w.sendConfigMap(ctx, w.core.Put().Namespace(cm.Namespace).Resource("configmaps").Name(cm.Name), cm)
}

// sendConfigMap makes req with cm as its protobuf body (configMapBody). The body is a reader, not
// bytes, so client-go does not retry the request itself when the API server answers 429 with a
// Retry-After (it cannot rewind a reader): the reconcile fails and its work queue retries it.
func (w *echolessWriter) sendConfigMap(ctx context.Context, req *rest.Request, cm *corev1.ConfigMap) error {
	body, err := configMapBody(cm)
	if err != nil {
		return err
	}
	return send(ctx, req.SetHeader("Content-Type", runtime.ContentTypeProtobuf).Body(body))
}

// protobufMagic starts every object in the API server's protobuf encoding (runtime.Unknown follows).
var protobufMagic = []byte{0x6b, 0x38, 0x73, 0x00} // "k8s\x00"

// Field numbers of runtime.Unknown (the envelope), its TypeMeta and core/v1 ConfigMap, from their
// generated.proto.
const (
	unknownTypeMeta, unknownRaw, unknownContentEncoding, unknownContentType   = 1, 2, 3, 4
	typeMetaAPIVersion, typeMetaKind                                          = 1, 2
	configMapMetadata, configMapData, configMapBinaryData, configMapImmutable = 1, 2, 3, 4
	mapEntryKey, mapEntryValue                                                = 1, 2
)

// configMapBody is cm in the API server's protobuf encoding — byte for byte what the REST client's
// encoder writes — as segments read in place: the envelope, the metadata and each data entry's
// key and lengths are written into one small buffer, and the data values (the proxy's files, up to
// a megabyte, which the renderer holds while they are in use and never changes) are sent from
// their strings without a copy. Encoding into one buffer allocated and copied the whole ConfigMap
// per write: 146 KiB per proxy at 100 services, a third of what a weight change allocated.
func configMapBody(cm *corev1.ConfigMap) (*net.Buffers, error) {
	meta, err := cm.ObjectMeta.Marshal()
	if err != nil {
		return nil, fmt.Errorf("encoding config map %s: %w", cm.Name, err)
	}
	keys := slices.Sorted(maps.Keys(cm.Data)) // generated marshallers write map entries in key order
	binKeys := slices.Sorted(maps.Keys(cm.BinaryData))
	entrySize := func(k string, v int) int {
		return protowire.SizeTag(mapEntryKey) + protowire.SizeBytes(len(k)) + protowire.SizeTag(mapEntryValue) + protowire.SizeBytes(v)
	}
	raw := protowire.SizeTag(configMapMetadata) + protowire.SizeBytes(len(meta))
	keyBytes := 0
	for _, k := range keys {
		raw += protowire.SizeTag(configMapData) + protowire.SizeBytes(entrySize(k, len(cm.Data[k])))
		keyBytes += len(k)
	}
	for _, k := range binKeys {
		raw += protowire.SizeTag(configMapBinaryData) + protowire.SizeBytes(entrySize(k, len(cm.BinaryData[k])))
		keyBytes += len(k)
	}
	if cm.Immutable != nil {
		raw += protowire.SizeTag(configMapImmutable) + protowire.SizeVarint(1)
	}

	// Everything but the values goes into head, in order; each value is its own segment after
	// the part of head that precedes it.
	head := make([]byte, 0, 64+len(meta)+keyBytes+24*(len(keys)+len(binKeys)))
	body := make(net.Buffers, 0, 2*(len(keys)+len(binKeys))+1)
	cut := 0
	value := func(v []byte) {
		body = append(body, head[cut:len(head):len(head)], v)
		cut = len(head)
	}
	head = append(head, protobufMagic...)
	var typeMeta []byte
	typeMeta = appendBytesField(typeMeta, typeMetaAPIVersion, corev1.SchemeGroupVersion.String())
	typeMeta = appendBytesField(typeMeta, typeMetaKind, "ConfigMap")
	head = appendBytesField(head, unknownTypeMeta, string(typeMeta))
	head = protowire.AppendTag(head, unknownRaw, protowire.BytesType)
	head = protowire.AppendVarint(head, uint64(raw))
	head = appendBytesField(head, configMapMetadata, string(meta))
	for _, k := range keys {
		v := cm.Data[k]
		head = appendEntryHeader(head, configMapData, entrySize(k, len(v)), k, len(v))
		value(unsafe.Slice(unsafe.StringData(v), len(v))) // read only, by the HTTP transport
	}
	for _, k := range binKeys {
		v := cm.BinaryData[k]
		head = appendEntryHeader(head, configMapBinaryData, entrySize(k, len(v)), k, len(v))
		value(v)
	}
	if cm.Immutable != nil {
		head = protowire.AppendTag(head, configMapImmutable, protowire.VarintType)
		head = protowire.AppendVarint(head, protowire.EncodeBool(*cm.Immutable))
	}
	head = appendBytesField(head, unknownContentEncoding, "")
	head = appendBytesField(head, unknownContentType, "")
	body = append(body, head[cut:])
	return &body, nil
}

// appendBytesField appends a length-delimited field.
func appendBytesField(b []byte, field protowire.Number, v string) []byte {
	b = protowire.AppendTag(b, field, protowire.BytesType)
	return protowire.AppendString(b, v)
}

// appendEntryHeader appends a map entry of the given size up to its value's bytes: the entry's tag
// and length, its key, and its value's tag and length.
func appendEntryHeader(b []byte, field protowire.Number, size int, key string, valueLen int) []byte {
	b = protowire.AppendTag(b, field, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(size))
	b = appendBytesField(b, mapEntryKey, key)
	b = protowire.AppendTag(b, mapEntryValue, protowire.BytesType)
	return protowire.AppendVarint(b, uint64(valueLen))
}

// mergePatchPod applies a JSON merge patch to the pod.
func (w *echolessWriter) mergePatchPod(ctx context.Context, pod types.NamespacedName, patch []byte) error {
	return send(ctx, w.core.Patch(types.MergePatchType).Namespace(pod.Namespace).Resource("pods").Name(pod.Name).Body(patch))
}

// send makes the request and drops a successful reply as it arrives. Stream returns the API
// server's error for any other status, decoded as Do would.
func send(ctx context.Context, req *rest.Request) error {
	body, err := req.Stream(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = body.Close() }()
	if _, err := io.Copy(io.Discard, body); err != nil {
		return fmt.Errorf("reading the API server's reply: %w", err)
	}
	return nil
}
