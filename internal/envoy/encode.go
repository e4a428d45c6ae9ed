package envoy

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// protojson's output is deliberately unstable (it varies whitespace between
// runs), so it is only an intermediate: jsonToYAML parses it into generic
// maps and emits YAML with sorted keys, which is byte-stable. Proto field
// names (snake_case) match Envoy's documentation.
var jsonOut = protojson.MarshalOptions{UseProtoNames: true}

// packOpts: deterministic so Any bytes do not depend on map iteration order.
var packOpts = proto.MarshalOptions{Deterministic: true}

// hashLen is the length of the hex content hashes (64 bits): enough to tell
// configs of one proxy apart, short enough to read in kubectl.
const hashLen = 16

func toYAML(m proto.Message) ([]byte, error) {
	j, err := jsonOut.Marshal(m)
	if err != nil {
		return nil, err
	}
	return jsonToYAML(j)
}

// TypeURL is the Any type URL of a message, as Envoy expects in type_url.
func TypeURL(m proto.Message) string {
	return "type.googleapis.com/" + string(m.ProtoReflect().Descriptor().FullName())
}

// discoveryDoc renders a DiscoveryResponse holding resources, all of type
// typeURL (callers have validated them). version_info is the hash of the
// rest of the document, so it changes exactly when the resources do and
// shows in Envoy's /config_dump which ConfigMap content a proxy runs.
//
// The response is written field by field rather than through
// go-control-plane's DiscoveryResponse: its package carries the xDS gRPC
// services, and with them all of gRPC, which a file-based control plane never
// runs (a third of the binary's Go packages). decodeDoc reads it back as
// strictly as protojson would.
func discoveryDoc(typeURL string, resources []proto.Message) ([]byte, error) {
	var j bytes.Buffer
	j.WriteByte('{')
	if len(resources) > 0 {
		j.WriteString(`"resources":[`)
		for i, r := range resources {
			a := &anypb.Any{}
			if err := anypb.MarshalFrom(a, r, packOpts); err != nil {
				return nil, err
			}
			item, err := jsonOut.Marshal(a)
			if err != nil {
				return nil, err
			}
			if i > 0 {
				j.WriteByte(',')
			}
			j.Write(item)
		}
		j.WriteString(`],`)
	}
	j.WriteString(`"type_url":`)
	j.Write(strconv.AppendQuote(nil, typeURL))
	j.WriteByte('}')
	body, err := jsonToYAML(j.Bytes())
	if err != nil {
		return nil, err
	}
	// Keys are sorted, and version_info sorts after resources and type_url,
	// so appending it yields what rendering it would, without a second
	// pass. Quoted: a hex string of digits would otherwise read as a number.
	return fmt.Appendf(body, "version_info: %s\n", strconv.Quote(contentHash(body))), nil
}

func contentHash(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])[:hashLen]
}
