package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/linx-net/linx/messages"
)

func TestRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	in := []proto.Message{
		&messages.ListScopes{},
		&messages.SpawnScope{Name: "web", Namespace: &messages.Namespace{Kind: &messages.Namespace_Path{Path: "/var/run/netns/web"}},
			Desired: &messages.Desired{Routes: []*messages.Route{{Dst: "198.51.100.0/24", Type: "blackhole"}}}},
		&messages.Ack{Error: "permission denied: x"},
	}
	for _, m := range in {
		if err := Write(&buf, m, 0); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range in {
		got, err := Read(&buf, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(got, want) {
			t.Errorf("read %v; want %v", got, want)
		}
	}
	if _, err := Read(&buf, 1<<20); err != io.EOF {
		t.Errorf("after the last frame: %v; want io.EOF", err)
	}
}

func frame(body []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(body)))
	return append(b, body...)
}

func anyOf(t testing.TB, m proto.Message) []byte {
	a, err := anypb.New(m)
	if err != nil {
		t.Fatal(err)
	}
	b, err := proto.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestReadRefuses(t *testing.T) {
	huge := binary.BigEndian.AppendUint32(nil, 1<<31)
	if _, err := Read(bytes.NewReader(huge), 1<<20); !errors.Is(err, ErrTooLarge) {
		t.Errorf("a 2 GiB header: %v; want ErrTooLarge before reading", err)
	}
	if _, err := Read(bytes.NewReader(frame(anyOf(t, durationpb.New(1)))), 1<<20); err == nil {
		t.Error("a google.protobuf.Duration was accepted")
	}
	if _, err := Read(bytes.NewReader([]byte{0, 0}), 1<<20); err == nil || err == io.EOF {
		t.Errorf("a truncated header: %v", err)
	}
	if _, err := Read(bytes.NewReader(frame([]byte{0xff, 0xff})), 1<<20); err == nil {
		t.Error("garbage was accepted")
	}
	bogus, _ := proto.Marshal(&anypb.Any{TypeUrl: "type.googleapis.com/linx.v1.Nope", Value: []byte{1}})
	if _, err := Read(bytes.NewReader(frame(bogus)), 1<<20); err == nil {
		t.Error("an unregistered linx.v1 type was accepted")
	}
	if err := Write(io.Discard, &messages.SpawnScope{Name: string(make([]byte, 100))}, 50); !errors.Is(err, ErrTooLarge) {
		t.Errorf("writing over the cap: %v; want ErrTooLarge", err)
	}
	if err := Write(io.Discard, durationpb.New(1), 0); err == nil {
		t.Error("writing a foreign type succeeded")
	}
}

// FuzzRead feeds random and hostile frames to Read: it never panics,
// never returns a message outside package messages, and what it returns
// round-trips.
func FuzzRead(f *testing.F) {
	f.Add(frame(anyOf(f, &messages.SpawnScope{Name: "evil", Namespace: &messages.Namespace{Kind: &messages.Namespace_Host{Host: true}}})))
	f.Add(frame(anyOf(f, &messages.UpdateDesired{Name: "demo", Desired: &messages.Desired{}})))
	f.Add(frame(anyOf(f, &messages.StopScope{Name: "../../etc", Forget: true})))
	f.Add(frame(anyOf(f, durationpb.New(5))))
	f.Add(binary.BigEndian.AppendUint32(nil, 1<<31))
	f.Add([]byte{0, 0, 0, 3, 0x0a, 0x01})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Read(bytes.NewReader(data), 1<<16)
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := Write(&buf, m, 0); err != nil {
			t.Fatalf("a message Read returned does not write: %v", err)
		}
		back, err := Read(&buf, 1<<20)
		if err != nil || !proto.Equal(back, m) {
			t.Fatalf("round trip: %v, %v; want %v", back, err, m)
		}
	})
}
