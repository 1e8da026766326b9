package guard

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/linx-net/linx/messages"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestRecoverStream(t *testing.T) {
	icpt := recoverStream("test endpoint", quiet())
	info := &grpc.StreamServerInfo{FullMethod: "/remote.Remoting/Receive"}
	err := icpt(nil, nil, info, func(any, grpc.ServerStream) error {
		// The kind of panic protoactor's handler raises on peer input it
		// indexes without checks.
		panic(errors.New("runtime error: index out of range [3] with length 0"))
	})
	if status.Code(err) != codes.Internal || !strings.Contains(err.Error(), "index out of range") {
		t.Fatalf("recovered error = %v; want code Internal naming the panic", err)
	}
	if err := icpt(nil, nil, info, func(any, grpc.ServerStream) error { return io.EOF }); err != io.EOF {
		t.Fatalf("a handler's own error became %v", err)
	}
	u := recoverUnary("test endpoint", quiet())
	_, err = u(context.Background(), nil, &grpc.UnaryServerInfo{FullMethod: "/x"}, func(context.Context, any) (any, error) {
		panic("implement me")
	})
	if status.Code(err) != codes.Internal {
		t.Fatalf("recovered unary error = %v; want code Internal", err)
	}
}

func TestMessageType(t *testing.T) {
	for name, want := range map[string]bool{
		"linx.v1.ListScopes": true,
		"linx.v1.Nope":       false, // in the package, not registered
		"actor.Terminated":   false,
		"linxtest.Bogus":     false,
		"":                   false,
	} {
		if got := MessageType(name); got != want {
			t.Errorf("MessageType(%q) = %v; want %v", name, got, want)
		}
	}
	// The registry lookup must see package messages' types.
	_ = messages.File_linx_proto
}

// testPolicy is the policy of these tests: an endpoint at 10.0.0.1:7946
// whose only reachable actor is "inbox", which it also calls its own with
// its children. (The message API's real policy is tested through this
// guard in package api.)
func testPolicy() Policy {
	return Policy{
		Name:   "test endpoint",
		Self:   func() string { return "10.0.0.1:7946" },
		Types:  func(name string) bool { return name == Terminated || MessageType(name) },
		Target: func(id string) bool { return id == "inbox" },
		Own:    func(id string) bool { return id == "inbox" || strings.HasPrefix(id, "inbox/") },
		Logger: quiet(),
	}
}

func marshal(t *testing.T, m proto.Message) []byte {
	t.Helper()
	data, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestCheck(t *testing.T) {
	g := &guardedStream{p: testPolicy(), peerAddr: "10.0.0.9:4000"}
	node := &actor.PID{Address: "10.0.0.1:7946", Id: "inbox"}
	terminated := func(addr, id string) *remote.MessageBatch {
		return &remote.MessageBatch{
			TypeNames: []string{Terminated},
			Targets:   []*actor.PID{node},
			Envelopes: []*remote.MessageEnvelope{{MessageData: marshal(t, &actor.Terminated{Who: &actor.PID{Address: addr, Id: id}})}},
		}
	}
	const subscribe, unsubscribe = "linx.v1.Subscribe", "linx.v1.Unsubscribe"
	one := func(name string, m proto.Message) *remote.MessageBatch {
		return &remote.MessageBatch{
			TypeNames: []string{name},
			Targets:   []*actor.PID{node},
			Envelopes: []*remote.MessageEnvelope{{MessageData: marshal(t, m)}},
		}
	}
	request := func(sender *actor.PID) *remote.MessageBatch {
		return &remote.MessageBatch{
			TypeNames: []string{"linx.v1.ListScopes"},
			Targets:   []*actor.PID{node},
			Senders:   []*actor.PID{sender},
			Envelopes: []*remote.MessageEnvelope{{Sender: 1}},
		}
	}
	for _, tc := range []struct {
		name string
		b    *remote.MessageBatch
		ok   bool
	}{
		{"api message", &remote.MessageBatch{TypeNames: []string{"linx.v1.ListScopes"}, Targets: []*actor.PID{node}}, true},
		{"unregistered", &remote.MessageBatch{TypeNames: []string{"linxtest.Bogus"}, Targets: []*actor.PID{node}}, false},
		{"unregistered in our package", &remote.MessageBatch{TypeNames: []string{"linx.v1.Nope"}, Targets: []*actor.PID{node}}, false},
		{"system message", &remote.MessageBatch{TypeNames: []string{"actor.PoisonPill"}, Targets: []*actor.PID{node}}, false},
		{"watch, not accepted here", &remote.MessageBatch{TypeNames: []string{Watch}, Targets: []*actor.PID{node}}, false},
		{"other actor", &remote.MessageBatch{TypeNames: []string{"linx.v1.ListScopes"}, Targets: []*actor.PID{{Id: "activator"}}}, false},
		{"nil target", &remote.MessageBatch{TypeNames: []string{"linx.v1.ListScopes"}, Targets: []*actor.PID{nil}}, false},
		{"json serializer", &remote.MessageBatch{
			TypeNames: []string{"linx.v1.ListScopes"}, Targets: []*actor.PID{node},
			Envelopes: []*remote.MessageEnvelope{{SerializerId: 1}},
		}, false},
		{"no batch", nil, true},
		{"type index out of range", &remote.MessageBatch{
			TypeNames: []string{"linx.v1.ListScopes"}, Targets: []*actor.PID{node},
			Envelopes: []*remote.MessageEnvelope{{TypeId: 1}},
		}, false},
		{"target index out of range", &remote.MessageBatch{
			TypeNames: []string{"linx.v1.ListScopes"}, Targets: []*actor.PID{node},
			Envelopes: []*remote.MessageEnvelope{{Target: 1}},
		}, false},
		{"sender index out of range", &remote.MessageBatch{
			TypeNames: []string{"linx.v1.ListScopes"}, Targets: []*actor.PID{node},
			Envelopes: []*remote.MessageEnvelope{{Sender: 1}},
		}, false},
		{"request by the peer's actor", request(&actor.PID{Address: "10.0.0.9:4000", Id: "future$3"}), true},
		{"request by another peer's actor", request(&actor.PID{Address: "10.0.0.8:4000", Id: "future$3"}), false},
		{"request by the endpoint's own actor", request(&actor.PID{Address: "10.0.0.1:7946", Id: "future$3"}), false},
		{"request by a local actor", request(&actor.PID{Address: "nonhost", Id: "future$3"}), false},
		{"request by no actor", request(nil), false},
		{"unused sender of another peer", &remote.MessageBatch{
			TypeNames: []string{"linx.v1.ListScopes"}, Targets: []*actor.PID{node},
			Senders:   []*actor.PID{{Address: "10.0.0.8:4000", Id: "future$3"}},
			Envelopes: []*remote.MessageEnvelope{{}},
		}, true},
		{"second sender of another peer", &remote.MessageBatch{
			TypeNames: []string{"linx.v1.ListScopes"}, Targets: []*actor.PID{node},
			Senders:   []*actor.PID{{Address: "10.0.0.9:4000", Id: "future$3"}, {Address: "10.0.0.8:4000", Id: "future$3"}},
			Envelopes: []*remote.MessageEnvelope{{Sender: 1}, {Sender: 2}},
		}, false},
		{"subscribe the peer's actor", one(subscribe, &messages.Subscribe{Subscriber: &actor.PID{Address: "10.0.0.9:4000", Id: "$2"}}), true},
		{"unsubscribe the peer's actor", one(unsubscribe, &messages.Unsubscribe{Subscriber: &actor.PID{Address: "10.0.0.9:4000", Id: "$2"}}), true},
		{"subscribe any host's port", one(subscribe, &messages.Subscribe{Subscriber: &actor.PID{Address: "10.1.2.3:22", Id: "$2"}}), false},
		{"unsubscribe another peer's actor", one(unsubscribe, &messages.Unsubscribe{Subscriber: &actor.PID{Address: "10.0.0.8:4000", Id: "$2"}}), false},
		{"subscribe a local actor", one(subscribe, &messages.Subscribe{Subscriber: &actor.PID{Address: "nonhost", Id: "inbox"}}), false},
		{"subscribe the endpoint's own actor", one(subscribe, &messages.Subscribe{Subscriber: &actor.PID{Address: "10.0.0.1:7946", Id: "inbox"}}), false},
		{"subscribe no actor", one(subscribe, &messages.Subscribe{}), false},
		{"unsubscribe no actor", one(unsubscribe, &messages.Unsubscribe{}), false},
		{"subscribe that does not decode", &remote.MessageBatch{
			TypeNames: []string{subscribe}, Targets: []*actor.PID{node},
			Envelopes: []*remote.MessageEnvelope{{MessageData: []byte{0xff}}},
		}, false},
		{"subscriber of the peer terminated", terminated("10.0.0.9:4000", "$12"), true},
		{"terminated of the endpoint's own actor", terminated("10.0.0.1:7946", "inbox/x"), false},
		{"terminated of a local actor", terminated("nonhost", "$4"), false},
		{"terminated of an own actor under the peer's address", terminated("10.0.0.9:4000", "inbox/x"), false},
		{"terminated of an own actor under an alias", terminated("localhost:7946", "inbox"), false},
		{"terminated of another peer's actor", terminated("10.0.0.8:4000", "$3"), false},
		{"terminated of no actor", &remote.MessageBatch{
			TypeNames: []string{Terminated}, Targets: []*actor.PID{node},
			Envelopes: []*remote.MessageEnvelope{{}},
		}, false},
		{"terminated that does not decode", &remote.MessageBatch{
			TypeNames: []string{Terminated}, Targets: []*actor.PID{node},
			Envelopes: []*remote.MessageEnvelope{{MessageData: []byte{0xff}}},
		}, false},
	} {
		err := g.check(tc.b)
		t.Logf("%s: %v", tc.name, err)
		if (err == nil) != tc.ok {
			t.Errorf("%s: check = %v; want ok=%v", tc.name, err, tc.ok)
		}
	}
}

func TestConnect(t *testing.T) {
	g := &guardedStream{p: testPolicy()}
	b := &remote.MessageBatch{
		TypeNames: []string{Terminated},
		Targets:   []*actor.PID{{Id: "inbox"}},
		Envelopes: []*remote.MessageEnvelope{{MessageData: marshal(t, &actor.Terminated{Who: &actor.PID{Address: "10.0.0.9:4000", Id: "$1"}})}},
	}
	if err := g.check(b); err == nil {
		t.Error("a Terminated before the peer declared its address passed")
	}
	req := &remote.MessageBatch{
		TypeNames: []string{"linx.v1.ListScopes"},
		Targets:   []*actor.PID{{Id: "inbox"}},
		Senders:   []*actor.PID{{Address: "10.0.0.9:4000", Id: "future$1"}},
		Envelopes: []*remote.MessageEnvelope{{Sender: 1}},
	}
	if err := g.check(req); err == nil {
		t.Error("a request before the peer declared its address passed")
	}
	sub := &remote.MessageBatch{
		TypeNames: []string{"linx.v1.Subscribe"},
		Targets:   []*actor.PID{{Id: "inbox"}},
		Envelopes: []*remote.MessageEnvelope{{MessageData: marshal(t, &messages.Subscribe{Subscriber: &actor.PID{Address: "10.0.0.9:4000", Id: "$1"}})}},
	}
	if err := g.check(sub); err == nil {
		t.Error("a Subscribe before the peer declared its address passed")
	}
	declare := func(addr string) *remote.ConnectRequest {
		return &remote.ConnectRequest{ConnectionType: &remote.ConnectRequest_ServerConnection{
			ServerConnection: &remote.ServerConnection{Address: addr},
		}}
	}
	for _, addr := range []string{"10.0.0.1:7946", "nonhost", ""} {
		fresh := &guardedStream{p: testPolicy()}
		if err := fresh.connect(declare(addr)); err == nil {
			t.Errorf("a peer declared the address %q", addr)
		}
	}
	if err := g.connect(declare("10.0.0.9:4000")); err != nil {
		t.Fatal(err)
	}
	if err := g.check(b); err != nil {
		t.Errorf("the peer's own subscriber's Terminated was refused: %v", err)
	}
	if err := g.connect(declare("10.0.0.9:4000")); err != nil {
		t.Errorf("declaring the same address again: %v", err)
	}
	if err := g.connect(declare("10.0.0.8:4000")); err == nil {
		t.Error("a peer changed its declared address on the same stream")
	}
}

// TestCheckWatch checks a controller's reply endpoint's view of the Watch
// and Unwatch an agent's node sends for the subscribers it watches.
func TestCheckWatch(t *testing.T) {
	p := Policy{
		Name: "reply endpoint",
		Self: func() string { return "10.0.0.9:4000" },
		Types: func(name string) bool {
			return name == Watch || name == Unwatch || name == Terminated || MessageType(name)
		},
		Logger: quiet(),
	}
	sub := &actor.PID{Address: "10.0.0.9:4000", Id: "$5"}
	batch := func(name string, m proto.Message) *remote.MessageBatch {
		return &remote.MessageBatch{
			TypeNames: []string{name},
			Targets:   []*actor.PID{sub},
			Envelopes: []*remote.MessageEnvelope{{MessageData: marshal(t, m)}},
		}
	}
	undeclared := &guardedStream{p: p}
	if err := undeclared.check(batch(Watch, &actor.Watch{Watcher: &actor.PID{Address: "10.0.0.1:7946", Id: "linx"}})); err == nil {
		t.Error("a Watch before the peer declared its address passed")
	}

	g := &guardedStream{p: p, peerAddr: "10.0.0.1:7946"}
	for _, tc := range []struct {
		name    string
		b       *remote.MessageBatch
		ok      bool
		watcher string // the watcher's address after the check
	}{
		{"watch by the peer's node", batch(Watch, &actor.Watch{Watcher: &actor.PID{Address: "10.0.0.1:7946", Id: "linx"}}), true, "10.0.0.1:7946"},
		{"unwatch by the peer's node", batch(Unwatch, &actor.Unwatch{Watcher: &actor.PID{Address: "10.0.0.1:7946", Id: "linx"}}), true, "10.0.0.1:7946"},
		{"watch by the peer's node spawned before its remote", batch(Watch, &actor.Watch{Watcher: &actor.PID{Address: "nonhost", Id: "linx"}}), true, "10.0.0.1:7946"},
		{"unwatch by the same", batch(Unwatch, &actor.Unwatch{Watcher: &actor.PID{Address: "nonhost", Id: "linx"}}), true, "10.0.0.1:7946"},
		{"watch by another host's actor", batch(Watch, &actor.Watch{Watcher: &actor.PID{Address: "10.0.0.7:1", Id: "x"}}), false, ""},
		{"watch by the endpoint's own actor", batch(Watch, &actor.Watch{Watcher: &actor.PID{Address: "10.0.0.9:4000", Id: "$6"}}), false, ""},
		{"watch by no one", batch(Watch, &actor.Watch{}), false, ""},
		{"terminated of the agent's actor", batch(Terminated, &actor.Terminated{Who: &actor.PID{Address: "10.0.0.1:7946", Id: "linx"}}), true, ""},
		{"terminated of the endpoint's own actor", batch(Terminated, &actor.Terminated{Who: sub}), false, ""},
	} {
		err := g.check(tc.b)
		t.Logf("%s: %v", tc.name, err)
		if (err == nil) != tc.ok {
			t.Errorf("%s: check = %v; want ok=%v", tc.name, err, tc.ok)
			continue
		}
		if tc.watcher == "" {
			continue
		}
		var w actor.Watch // Unwatch has the same wire form
		if err := proto.Unmarshal(tc.b.GetEnvelopes()[0].GetMessageData(), &w); err != nil {
			t.Fatal(err)
		}
		if got := w.GetWatcher(); got.GetAddress() != tc.watcher || got.GetId() != "linx" {
			t.Errorf("%s: watcher after the check = %v; want %s/linx", tc.name, got, tc.watcher)
		}
	}
}

func TestZeroPolicyAcceptsNothing(t *testing.T) {
	g := &guardedStream{p: Policy{Logger: quiet()}}
	b := &remote.MessageBatch{TypeNames: []string{"linx.v1.ListScopes"}, Targets: []*actor.PID{{Id: "x"}}}
	if err := g.check(b); err == nil {
		t.Error("the zero Policy accepted a message type")
	}
}

func TestDeliver(t *testing.T) {
	type call struct{ peer, id, name string }
	var calls []call
	p := testPolicy()
	p.Target = nil
	p.Deliver = func(peer, id, name string) bool {
		calls = append(calls, call{peer, id, name})
		return id != "kept"
	}
	g := &guardedStream{p: p, peerAddr: "10.0.0.9:4000"}
	b := &remote.MessageBatch{
		TypeNames: []string{"linx.v1.ScopeStatus", "linx.v1.Ack"},
		Targets:   []*actor.PID{{Id: "$1"}, {Id: "future$2"}},
		Envelopes: []*remote.MessageEnvelope{{TypeId: 0, Target: 0}, {TypeId: 1, Target: 1}},
	}
	if err := g.check(b); err != nil {
		t.Fatal(err)
	}
	want := []call{{"10.0.0.9:4000", "$1", "linx.v1.ScopeStatus"}, {"10.0.0.9:4000", "future$2", "linx.v1.Ack"}}
	if !slices.Equal(calls, want) {
		t.Errorf("Deliver was asked %v; want %v", calls, want)
	}
	b.Targets[1].Id = "kept"
	if err := g.check(b); err == nil {
		t.Error("a delivery Deliver refused passed")
	} else if !strings.Contains(err.Error(), `linx.v1.Ack to actor "kept"`) {
		t.Errorf("refusal %q does not say what was refused", err)
	}
}
