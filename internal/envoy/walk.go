package envoy

import (
	"fmt"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"
)

// visitFunc sees every message under a root, depth first; viaAny is true
// for a message unpacked from an Any.
type visitFunc func(m proto.Message, at *path, viaAny bool) error

// walk calls visit for m and every message it contains, unpacking Anys
// (strictly: an unknown type or field is an error).
func walk(m proto.Message, at *path, visit visitFunc) error {
	return walkMsg(m.ProtoReflect(), at, false, visit)
}

func walkMsg(m protoreflect.Message, at *path, viaAny bool, visit visitFunc) error {
	if a, ok := m.Interface().(*anypb.Any); ok {
		inner, err := a.UnmarshalNew()
		if err != nil {
			return at.errorf("unpack %s: %w", a.GetTypeUrl(), err)
		}
		return walkMsg(inner.ProtoReflect(), &path{parent: at, typ: string(inner.ProtoReflect().Descriptor().FullName())}, true, visit)
	}
	if err := visit(m.Interface(), at, viaAny); err != nil {
		return err
	}
	var err error
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		err = walkField(fd, v, at, visit)
		return err == nil
	})
	return err
}

func walkField(fd protoreflect.FieldDescriptor, v protoreflect.Value, at *path, visit visitFunc) error {
	name := string(fd.Name())
	switch {
	case fd.IsMap():
		if fd.MapValue().Message() == nil {
			return nil
		}
		mp := v.Map()
		keys := make([]protoreflect.MapKey, 0, mp.Len())
		mp.Range(func(k protoreflect.MapKey, _ protoreflect.Value) bool {
			keys = append(keys, k)
			return true
		})
		// Sorted, so the first problem reported is the same every run.
		slices.SortFunc(keys, func(a, b protoreflect.MapKey) int { return strings.Compare(a.String(), b.String()) })
		for _, k := range keys {
			if err := walkMsg(mp.Get(k).Message(), &path{parent: at, field: name, index: -1, key: k.String()}, false, visit); err != nil {
				return err
			}
		}
	case fd.Message() == nil:
		return nil
	case fd.IsList():
		l := v.List()
		for i := range l.Len() {
			if err := walkMsg(l.Get(i).Message(), &path{parent: at, field: name, index: i}, false, visit); err != nil {
				return err
			}
		}
	default:
		return walkMsg(v.Message(), &path{parent: at, field: name, index: -1}, false, visit)
	}
	return nil
}

// canonical returns a copy of m in which every Any holds its message
// encoded deterministically, recursively, so that proto.Equal compares
// contents rather than one encoder's byte order.
func canonical(m proto.Message) (proto.Message, error) {
	c := proto.Clone(m)
	if err := canonicalize(c.ProtoReflect()); err != nil {
		return nil, err
	}
	return c, nil
}

func canonicalize(m protoreflect.Message) error {
	if a, ok := m.Interface().(*anypb.Any); ok {
		inner, err := a.UnmarshalNew()
		if err != nil {
			return fmt.Errorf("unpack %s: %w", a.GetTypeUrl(), err)
		}
		if err := canonicalize(inner.ProtoReflect()); err != nil {
			return err
		}
		a.Value, err = packOpts.Marshal(inner)
		return err
	}
	var err error
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsMap():
			if fd.MapValue().Message() != nil {
				v.Map().Range(func(_ protoreflect.MapKey, e protoreflect.Value) bool {
					err = canonicalize(e.Message())
					return err == nil
				})
			}
		case fd.Message() == nil:
		case fd.IsList():
			l := v.List()
			for i := 0; i < l.Len() && err == nil; i++ {
				err = canonicalize(l.Get(i).Message())
			}
		default:
			err = canonicalize(v.Message())
		}
		return err == nil
	})
	return err
}
