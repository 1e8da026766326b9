package guard

import (
	"context"
	"errors"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/protobuf/proto"

	"github.com/linx-net/linx/messages"
)

// FuzzCheck feeds the guard random and hostile RemoteMessages, as a peer
// would send them on its stream: the guard never panics, and a batch it
// passes holds only indexes protoactor can use, types the policy accepts,
// and the stamped header on every envelope.
func FuzzCheck(f *testing.F) {
	enc := func(m *remote.RemoteMessage) []byte {
		b, err := proto.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	spawn, _ := proto.Marshal(&messages.SpawnScope{Name: "evil", Namespace: &messages.Namespace{Kind: &messages.Namespace_Host{Host: true}}})
	term, _ := proto.Marshal(&actor.Terminated{Who: &actor.PID{Address: "10.0.0.1:7946", Id: "inbox/scope-1"}})
	inbox := &actor.PID{Address: "10.0.0.1:7946", Id: "inbox"}
	f.Add(enc(&remote.RemoteMessage{MessageType: &remote.RemoteMessage_ConnectRequest{ConnectRequest: &remote.ConnectRequest{
		ConnectionType: &remote.ConnectRequest_ServerConnection{ServerConnection: &remote.ServerConnection{Address: "10.0.0.9:4000"}}}}}))
	f.Add(enc(&remote.RemoteMessage{MessageType: &remote.RemoteMessage_MessageBatch{MessageBatch: &remote.MessageBatch{
		TypeNames: []string{"linx.v1.SpawnScope"}, Targets: []*actor.PID{inbox},
		Senders:   []*actor.PID{{Address: "10.0.0.9:4000", Id: "future$1"}},
		Envelopes: []*remote.MessageEnvelope{{MessageData: spawn, Sender: 1, MessageHeader: &remote.MessageHeader{HeaderData: map[string]string{"linx-identity": "uid:0"}}}},
	}}}))
	f.Add(enc(&remote.RemoteMessage{MessageType: &remote.RemoteMessage_MessageBatch{MessageBatch: &remote.MessageBatch{
		TypeNames: []string{"actor.Terminated"}, Targets: []*actor.PID{inbox},
		Envelopes: []*remote.MessageEnvelope{{MessageData: term, TypeId: 0, Target: 7, Sender: -3}},
	}}}))
	f.Add([]byte{0x12, 0x03, 0x0a, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		var m remote.RemoteMessage
		if proto.Unmarshal(data, &m) != nil {
			return
		}
		p := testPolicy()
		p.Declare = func(_ context.Context, addr string) error {
			if addr == "10.6.6.6:1" {
				return errors.New("not vouched")
			}
			return nil
		}
		stamp := &remote.MessageHeader{HeaderData: map[string]string{"linx-identity": "tenant"}}
		g := &guardedStream{p: p, stamp: stamp, ServerStream: nopStream{}}
		err := g.connect(m.GetConnectRequest())
		if err == nil {
			err = g.check(m.GetMessageBatch())
		}
		if err != nil {
			return
		}
		b := m.GetMessageBatch()
		for _, e := range b.GetEnvelopes() {
			if int(e.GetTypeId()) >= len(b.GetTypeNames()) || int(e.GetTarget()) >= len(b.GetTargets()) || int(e.GetSender()) > len(b.GetSenders()) {
				t.Fatalf("an envelope with indexes out of range passed: %v", e)
			}
			if e.GetMessageHeader() != stamp {
				t.Fatalf("an envelope passed without the stamped header: %v", e)
			}
			if name := b.GetTypeNames()[e.GetTypeId()]; !p.Types(name) {
				t.Fatalf("type %q passed", name)
			}
		}
	})
}

// nopStream is a grpc.ServerStream with a background context.
type nopStream struct{ remote.Remoting_ReceiveServer }

func (nopStream) Context() context.Context { return context.Background() }
