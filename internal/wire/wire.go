package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/linx-net/linx/messages"
)

// HeaderLen is the length of a frame's header.
const HeaderLen = 4

// messagesPackage is the protobuf package of package messages.
const messagesPackage = "linx.v1."

// ErrTooLarge is returned (wrapped) by Read for a frame longer than its
// cap, and by Write for a message longer than its cap.
var ErrTooLarge = errors.New("frame too large")

// Write writes m as one frame to w. It returns an error when m is not a
// message of package messages, is longer than max bytes encoded (max <= 0
// means no cap), or w fails.
func Write(w io.Writer, m proto.Message, max int) error {
	name := string(proto.MessageName(m))
	if !strings.HasPrefix(name, messagesPackage) {
		return fmt.Errorf("wire: writing %s: not a message of package messages", name)
	}
	a, err := anypb.New(m)
	if err != nil {
		return fmt.Errorf("wire: writing %s: %w", name, err)
	}
	data, err := proto.Marshal(a)
	if err != nil {
		return fmt.Errorf("wire: writing %s: %w", name, err)
	}
	if max > 0 && len(data) > max {
		return fmt.Errorf("wire: writing %s of %d bytes (cap %d): %w", name, len(data), max, ErrTooLarge)
	}
	buf := make([]byte, HeaderLen+len(data))
	binary.BigEndian.PutUint32(buf, uint32(len(data)))
	copy(buf[HeaderLen:], data)
	if _, err := w.Write(buf); err != nil {
		return fmt.Errorf("wire: writing %s: %w", name, err)
	}
	return nil
}

// Read reads one frame from r and returns its message. It returns io.EOF
// when r ends before a frame begins, and an error for a frame longer than
// max bytes (wrapping ErrTooLarge; nothing of it is read), a truncated
// frame, bytes that are not an Any, or a type outside package messages.
func Read(r io.Reader, max int) (proto.Message, error) {
	var hdr [HeaderLen]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("wire: reading a frame header: %w", err)
		}
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if uint64(n) > uint64(max) {
		return nil, fmt.Errorf("wire: a frame of %d bytes (cap %d): %w", n, max, ErrTooLarge)
	}
	data := make([]byte, n)
	if _, err := io.ReadFull(r, data); err != nil {
		return nil, fmt.Errorf("wire: reading a frame of %d bytes: %w", n, err)
	}
	return Decode(data)
}

// Decode decodes a frame's body. It returns an error for bytes that are
// not an Any, or that hold a type outside package messages.
func Decode(data []byte) (proto.Message, error) {
	var a anypb.Any
	if err := proto.Unmarshal(data, &a); err != nil {
		return nil, fmt.Errorf("wire: decoding a frame: %w", err)
	}
	name := a.MessageName()
	if !strings.HasPrefix(string(name), messagesPackage) || !name.IsValid() {
		return nil, fmt.Errorf("wire: message type %q is not one of package messages", a.GetTypeUrl())
	}
	mt, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName(name))
	if err != nil {
		return nil, fmt.Errorf("wire: message type %q: %w", name, err)
	}
	m := mt.New().Interface()
	if err := proto.Unmarshal(a.GetValue(), m); err != nil {
		return nil, fmt.Errorf("wire: decoding %s: %w", name, err)
	}
	return m, nil
}

// The registry must hold the types of package messages.
var _ = messages.File_linx_proto
