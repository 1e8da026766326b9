package rtnl

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"

	"golang.org/x/sys/unix"
)

// attrDecoder iterates over a run of netlink attributes (struct nlattr /
// struct rtattr, which share a layout). Typed getters read the current
// attribute; a malformed value records a sticky error that Err returns, so
// a codec decodes straight through and checks once at the end.
type attrDecoder struct {
	b    []byte
	typ  uint16
	data []byte
	err  error
}

func newAttrDecoder(b []byte) attrDecoder { return attrDecoder{b: b} }

// Next advances to the next attribute and reports whether there is one.
func (d *attrDecoder) Next() bool {
	if d.err != nil || len(d.b) < unix.SizeofRtAttr {
		return false
	}
	l := int(binary.NativeEndian.Uint16(d.b[0:2]))
	if l < unix.SizeofRtAttr || l > len(d.b) {
		d.err = fmt.Errorf("attribute length %d out of range (%d bytes left)", l, len(d.b))
		return false
	}
	d.typ = binary.NativeEndian.Uint16(d.b[2:4]) &^ (unix.NLA_F_NESTED | unix.NLA_F_NET_BYTEORDER)
	d.data = d.b[unix.SizeofRtAttr:l]
	d.b = d.b[min(rtaAlign(l), len(d.b)):]
	return true
}

// Type returns the current attribute's type with the nested and
// byte-order flags cleared.
func (d *attrDecoder) Type() uint16 { return d.typ }

// Bytes returns the current attribute's payload, aliasing the input.
func (d *attrDecoder) Bytes() []byte { return d.data }

// Err returns the first decoding error.
func (d *attrDecoder) Err() error { return d.err }

func (d *attrDecoder) fail(want string) {
	if d.err == nil {
		d.err = fmt.Errorf("attribute %d: want %s, got %d bytes", d.typ, want, len(d.data))
	}
}

func (d *attrDecoder) Uint8() uint8 {
	if len(d.data) < 1 {
		d.fail("1 byte")
		return 0
	}
	return d.data[0]
}

func (d *attrDecoder) Uint16() uint16 {
	if len(d.data) < 2 {
		d.fail("2 bytes")
		return 0
	}
	return binary.NativeEndian.Uint16(d.data)
}

// BEUint16 reads a big-endian (network order) 16-bit value, such as a port.
func (d *attrDecoder) BEUint16() uint16 {
	if len(d.data) < 2 {
		d.fail("2 bytes")
		return 0
	}
	return binary.BigEndian.Uint16(d.data)
}

func (d *attrDecoder) Uint32() uint32 {
	if len(d.data) < 4 {
		d.fail("4 bytes")
		return 0
	}
	return binary.NativeEndian.Uint32(d.data)
}

func (d *attrDecoder) Uint64() uint64 {
	if len(d.data) < 8 {
		d.fail("8 bytes")
		return 0
	}
	return binary.NativeEndian.Uint64(d.data)
}

// String reads a NUL-terminated (or unterminated) string.
func (d *attrDecoder) String() string {
	b := d.data
	for i, c := range b {
		if c == 0 {
			b = b[:i]
			break
		}
	}
	return string(b)
}

// Addr reads a 4- or 16-byte IP address.
func (d *attrDecoder) Addr() netip.Addr {
	switch len(d.data) {
	case 4:
		return netip.AddrFrom4([4]byte(d.data))
	case 16:
		return netip.AddrFrom16([16]byte(d.data))
	}
	d.fail("a 4- or 16-byte address")
	return netip.Addr{}
}

// HardwareAddr copies a link-layer address.
func (d *attrDecoder) HardwareAddr() net.HardwareAddr {
	if len(d.data) == 0 {
		return nil
	}
	return net.HardwareAddr(append([]byte(nil), d.data...))
}

// Nested returns a decoder over the current attribute's payload.
func (d *attrDecoder) Nested() attrDecoder { return attrDecoder{b: d.data} }

func rtaAlign(n int) int { return (n + unix.RTA_ALIGNTO - 1) &^ (unix.RTA_ALIGNTO - 1) }

// encoder appends netlink messages to a byte slice. Several messages may be
// appended one after another to form a batch.
type encoder struct {
	b      []byte
	msg    int   // offset of the current message's header
	nested []int // offsets of open nested attributes
}

// begin starts a message of type typ with flags (NLM_F_REQUEST is added).
// The sequence number is written by the socket when the message is sent.
func (e *encoder) begin(typ, flags uint16) {
	e.msg = len(e.b)
	e.b = binary.NativeEndian.AppendUint32(e.b, 0)
	e.b = binary.NativeEndian.AppendUint16(e.b, typ)
	e.b = binary.NativeEndian.AppendUint16(e.b, flags|unix.NLM_F_REQUEST)
	e.b = binary.NativeEndian.AppendUint32(e.b, 0)
	e.b = binary.NativeEndian.AppendUint32(e.b, 0)
}

// fixed appends a message's fixed header (ifinfomsg, rtmsg, …), padded.
func (e *encoder) fixed(p []byte) {
	e.b = append(e.b, p...)
	e.pad()
}

// end closes the current message by writing its length.
func (e *encoder) end() {
	binary.NativeEndian.PutUint32(e.b[e.msg:], uint32(len(e.b)-e.msg))
}

// bytes returns the last finished message (begin … end).
func (e *encoder) message() []byte { return e.b[e.msg:] }

func (e *encoder) pad() {
	for len(e.b)%unix.RTA_ALIGNTO != 0 {
		e.b = append(e.b, 0)
	}
}

func (e *encoder) attr(typ uint16, payload []byte) {
	e.b = binary.NativeEndian.AppendUint16(e.b, uint16(unix.SizeofRtAttr+len(payload)))
	e.b = binary.NativeEndian.AppendUint16(e.b, typ)
	e.b = append(e.b, payload...)
	e.pad()
}

func (e *encoder) u8(typ uint16, v uint8) { e.attr(typ, []byte{v}) }

func (e *encoder) u16(typ uint16, v uint16) {
	e.attr(typ, binary.NativeEndian.AppendUint16(nil, v))
}

func (e *encoder) beU16(typ uint16, v uint16) {
	e.attr(typ, binary.BigEndian.AppendUint16(nil, v))
}

func (e *encoder) u32(typ uint16, v uint32) {
	e.b = binary.NativeEndian.AppendUint16(e.b, unix.SizeofRtAttr+4)
	e.b = binary.NativeEndian.AppendUint16(e.b, typ)
	e.b = binary.NativeEndian.AppendUint32(e.b, v)
}

// str appends a NUL-terminated string.
func (e *encoder) str(typ uint16, s string) {
	e.b = binary.NativeEndian.AppendUint16(e.b, uint16(unix.SizeofRtAttr+len(s)+1))
	e.b = binary.NativeEndian.AppendUint16(e.b, typ)
	e.b = append(e.b, s...)
	e.b = append(e.b, 0)
	e.pad()
}

// addr appends an IPv4 (4 bytes) or IPv6 (16 bytes) address.
func (e *encoder) addr(typ uint16, a netip.Addr) {
	if a.Is4() {
		v := a.As4()
		e.attr(typ, v[:])
		return
	}
	v := a.As16()
	e.attr(typ, v[:])
}

// nest opens a nested attribute; close it with endNest.
func (e *encoder) nest(typ uint16) {
	e.nested = append(e.nested, len(e.b))
	e.b = binary.NativeEndian.AppendUint16(e.b, 0)
	e.b = binary.NativeEndian.AppendUint16(e.b, typ|unix.NLA_F_NESTED)
}

func (e *encoder) endNest() {
	at := e.nested[len(e.nested)-1]
	e.nested = e.nested[:len(e.nested)-1]
	binary.NativeEndian.PutUint16(e.b[at:], uint16(len(e.b)-at))
}
