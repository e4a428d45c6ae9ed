package translate

import (
	"fmt"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// validatable is a go-control-plane message: ValidateAll checks its protoc-gen-validate rules,
// recursively but not inside Any fields.
type validatable interface {
	proto.Message
	ValidateAll() error
}

var packOpts = proto.MarshalOptions{Deterministic: true}

// pack validates m and packs it into an Any. Every Any of the output is made here, so nothing
// reaches Envoy unvalidated (ValidateAll of the enclosing message does not look inside an Any).
func pack(m validatable) (*anypb.Any, error) {
	if err := m.ValidateAll(); err != nil {
		return nil, fmt.Errorf("invalid %s: %w", m.ProtoReflect().Descriptor().FullName(), err)
	}
	a := &anypb.Any{}
	if err := anypb.MarshalFrom(a, m, packOpts); err != nil {
		return nil, fmt.Errorf("pack %s: %w", m.ProtoReflect().Descriptor().FullName(), err)
	}
	return a, nil
}

// mustPack packs a message built from constants only (no user input); failing is a bug.
func mustPack(m validatable) *anypb.Any {
	a, err := pack(m)
	if err != nil {
		panic(err)
	}
	return a
}
