/*
Copyright 2026 The Mizzen Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package capture

import (
	"fmt"
	"net/netip"

	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// A term is one piece of a rule: the kernel expressions and the words `nft list` prints for
// them. Building both from the same constructor keeps --dry-run honest about what is installed.
type term struct {
	text  string
	exprs []expr.Any
}

// rule joins terms into a Rule.
func rule(terms ...term) Rule {
	var r Rule
	for i, t := range terms {
		if i > 0 {
			r.Text += " "
		}
		r.Text += t.text
		r.Exprs = append(r.Exprs, t.exprs...)
	}
	return r
}

// cmp compares register 1 with data.
func cmp(negate bool, data []byte) *expr.Cmp {
	op := expr.CmpOpEq
	if negate {
		op = expr.CmpOpNeq
	}
	return &expr.Cmp{Op: op, Register: 1, Data: data}
}

func not(negate bool) string {
	if negate {
		return "!= "
	}
	return ""
}

// oifname matches the output interface; the kernel compares the whole zero-padded name.
func oifname(name string) term {
	padded := make([]byte, unix.IFNAMSIZ)
	copy(padded, name)
	return term{
		text:  fmt.Sprintf("oifname %q", name),
		exprs: []expr.Any{&expr.Meta{Key: expr.MetaKeyOIFNAME, Register: 1}, cmp(false, padded)},
	}
}

// tcp matches TCP packets (after IPv4 or IPv6).
func tcp() term {
	return term{text: "meta l4proto tcp", exprs: tcpExprs()}
}

func tcpExprs() []expr.Any {
	return []expr.Any{&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1}, cmp(false, []byte{unix.IPPROTO_TCP})}
}

// tcpDport matches the TCP destination port; like nft it checks the protocol first.
func tcpDport(port uint16) term {
	return term{
		text: fmt.Sprintf("tcp dport %d", port),
		exprs: append(tcpExprs(),
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
			cmp(false, binaryutil.BigEndian.PutUint16(port))),
	}
}

// owner matches the UID (or GID) of the socket that sent the packet.
func owner(gid bool, id uint32, negate bool) term {
	key, word := expr.MetaKeySKUID, "skuid"
	if gid {
		key, word = expr.MetaKeySKGID, "skgid"
	}
	return term{
		text:  fmt.Sprintf("meta %s %s%d", word, not(negate), id),
		exprs: []expr.Any{&expr.Meta{Key: key, Register: 1}, cmp(negate, binaryutil.NativeEndian.PutUint32(id))},
	}
}

type direction int

const (
	source direction = iota
	destination
)

// addr matches the source or destination address against a prefix. In an inet table the family
// is checked first, so an IPv4 prefix never matches IPv6 packets. As nft does, a prefix that ends
// on a byte boundary loads only its bytes; any other loads the whole address and masks it.
func addr(dir direction, p netip.Prefix, negate bool) term {
	family, nfproto, nfprotoName, offset := "ip", byte(unix.NFPROTO_IPV4), "ipv4", uint32(12)
	if p.Addr().Is6() {
		family, nfproto, nfprotoName, offset = "ip6", byte(unix.NFPROTO_IPV6), "ipv6", 8
	}
	field := "saddr"
	if dir == destination {
		field = "daddr"
		offset += uint32(p.Addr().BitLen() / 8)
	}
	exprs := []expr.Any{&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1}, cmp(false, []byte{nfproto})}
	if p.Bits() == 0 {
		// Every address of the family: the family check is the whole match. Callers negate only
		// single addresses (loopback), never a /0.
		return term{text: "meta nfproto " + nfprotoName, exprs: exprs}
	}
	data := p.Addr().AsSlice()
	if p.Bits()%8 == 0 {
		data = data[:p.Bits()/8]
	}
	exprs = append(exprs, &expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: uint32(len(data))})
	if p.Bits()%8 != 0 {
		mask := make([]byte, len(data))
		for i := range p.Bits() {
			mask[i/8] |= 0x80 >> (i % 8)
		}
		exprs = append(exprs, &expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: uint32(len(data)), Mask: mask, Xor: make([]byte, len(data))})
	}
	exprs = append(exprs, cmp(negate, data))
	text := p.String()
	if p.IsSingleIP() {
		text = p.Addr().String()
	}
	return term{text: fmt.Sprintf("%s %s %s%s", family, field, not(negate), text), exprs: exprs}
}

// Verdicts.

func ret() term {
	return term{text: "return", exprs: []expr.Any{&expr.Verdict{Kind: expr.VerdictReturn}}}
}

func jump(chain string) term {
	return term{text: "jump " + chain, exprs: []expr.Any{&expr.Verdict{Kind: expr.VerdictJump, Chain: chain}}}
}

// redirectTo rewrites the destination of a new TCP connection to a local port (the kernel keeps
// the original destination for SO_ORIGINAL_DST).
func redirectTo(port uint16) term {
	return term{
		text: fmt.Sprintf("redirect to :%d", port),
		exprs: []expr.Any{
			&expr.Immediate{Register: 1, Data: binaryutil.BigEndian.PutUint16(port)},
			&expr.Redir{RegisterProtoMin: 1, Flags: unix.NF_NAT_RANGE_PROTO_SPECIFIED},
		},
	}
}
