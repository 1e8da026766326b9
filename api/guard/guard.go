package guard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/linx-net/linx/messages"
)

// messagesPackage is the protobuf package of package messages.
const messagesPackage = "linx.v1."

// localAddress is the address protoactor gives the PIDs of a system whose
// remote is not started, and treats as local wherever it is received.
const localAddress = "nonhost"

// Type names of the system messages a Policy may accept.
const (
	Terminated = "actor.Terminated"
	Watch      = "actor.Watch"
	Unwatch    = "actor.Unwatch"
)

// MessageType reports whether name is the protobuf type name of one of the
// messages of package messages ("linx.v1.…"). It returns false for any
// other name, and for a name in that package that this binary does not
// register.
func MessageType(name string) bool {
	return strings.HasPrefix(name, messagesPackage) && registered(name)
}

func registered(name string) bool {
	_, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName(name))
	return err == nil
}

// Policy is what a guarded endpoint accepts. Its zero value accepts no
// message type and logs to slog.Default().
type Policy struct {
	// Name names the endpoint in its logs ("message API").
	Name string
	// Self returns the endpoint's own address, host:port. It is called
	// only for streams the endpoint accepted, so once it listens. Nil
	// means the endpoint's address is not known: only "nonhost" is then
	// refused as the endpoint's own.
	Self func() string
	// Types reports whether a batch may carry messages of the protobuf
	// type name; a type must also be registered. Nil accepts none.
	Types func(name string) bool
	// Target reports whether a batch may address the endpoint's actor of
	// that id. Nil accepts every actor.
	Target func(id string) bool
	// Deliver reports whether the peer that declared the address peer (""
	// before it declared one) may deliver a message of the protobuf type
	// name to the endpoint's actor id; it is asked for every message of a
	// batch whose types and targets passed. Nil accepts every delivery.
	Deliver func(peer, id, name string) bool
	// Own reports whether id names one of the endpoint's own actors, whose
	// end no peer may report whatever address it gives. Nil means none.
	Own func(id string) bool
	// Declare reports why the peer of the stream whose context is ctx
	// may not declare the reply address addr (nil when it may); it is
	// asked once per stream, on the peer's ConnectRequest. Nil accepts
	// any address but the endpoint's own.
	Declare func(ctx context.Context, addr string) error
	// Stamp returns the header every message of the stream whose context
	// is ctx is delivered with, replacing whatever header the peer sent:
	// the receiving actor reads who sent it there, and a peer cannot
	// forge it. Nil leaves headers as the peer sent them.
	Stamp func(ctx context.Context) map[string]string
	// Logger receives refusals and recovered panics; nil means
	// slog.Default().
	Logger *slog.Logger
}

// ServerOptions returns the options that install p's guard and the panic
// recovery on protoactor's gRPC server (remote.WithServerOptions). It does
// not fail.
func ServerOptions(p Policy) []grpc.ServerOption {
	if p.Logger == nil {
		p.Logger = slog.Default()
	}
	return []grpc.ServerOption{
		grpc.ChainStreamInterceptor(recoverStream(p.Name, p.Logger), guardStream(p)),
		grpc.ChainUnaryInterceptor(recoverUnary(p.Name, p.Logger)),
	}
}

// guardStream returns a stream interceptor that checks every message of
// the stream as p says before protoactor's handler sees it.
func guardStream(p Policy) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		g := &guardedStream{ServerStream: ss, p: p}
		if p.Stamp != nil {
			g.stamp = &remote.MessageHeader{HeaderData: p.Stamp(ss.Context())}
		}
		return handler(srv, g)
	}
}

type guardedStream struct {
	grpc.ServerStream
	p Policy

	// peerAddr is the address the peer declared in its ConnectRequest (the
	// address of its own actor system), "" before it did. Only the
	// handler's goroutine calls RecvMsg, so it needs no lock.
	peerAddr string
	// stamp is Policy.Stamp's header for this stream, nil without one.
	stamp *remote.MessageHeader
}

func (g *guardedStream) RecvMsg(m any) error {
	if err := g.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	rm, ok := m.(*remote.RemoteMessage)
	if !ok {
		return nil
	}
	err := g.connect(rm.GetConnectRequest())
	if err == nil {
		err = g.check(rm.GetMessageBatch())
	}
	if err != nil {
		from := "unknown peer"
		if p, ok := peer.FromContext(g.Context()); ok {
			from = p.Addr.String()
		}
		g.p.Logger.Warn(g.p.Name+": refused a batch", "peer", from, "declared", g.peerAddr, "err", err)
		return status.Error(codes.PermissionDenied, err.Error())
	}
	return nil
}

// connect records the address a peer declares when it opens its stream
// (protoactor's endpoint writer sends its actor system's address first). A
// peer may not change it on the same stream, nor declare none, the
// endpoint's own address or "nonhost": the actors a peer names as its own
// (senders, subscribers, watchers) would then be the endpoint's.
func (g *guardedStream) connect(c *remote.ConnectRequest) error {
	if c == nil {
		return nil
	}
	addr := c.GetServerConnection().GetAddress()
	switch {
	case addr == "":
		return errors.New("the peer declared no address")
	case g.own(addr):
		return fmt.Errorf("the peer declared this endpoint's own address %q", addr)
	}
	if g.peerAddr != "" && addr != g.peerAddr {
		return fmt.Errorf("the peer declared address %q after %q on the same stream", addr, g.peerAddr)
	}
	if g.peerAddr == "" && g.p.Declare != nil {
		if err := g.p.Declare(g.Context(), addr); err != nil {
			return fmt.Errorf("the peer may not declare the reply address %q: %w", addr, err)
		}
	}
	g.peerAddr = addr
	return nil
}

// check checks a batch; it may rewrite the watcher of a Watch or Unwatch
// (see checkWatch).
func (g *guardedStream) check(b *remote.MessageBatch) error {
	if b == nil {
		return nil
	}
	names := b.GetTypeNames()
	for _, name := range names {
		if g.p.Types == nil || !g.p.Types(name) || !registered(name) {
			return fmt.Errorf("message type %q is not accepted by the Linx %s", name, g.p.Name)
		}
	}
	targets := b.GetTargets()
	for _, t := range targets {
		if t == nil || (g.p.Target != nil && !g.p.Target(t.GetId())) {
			return fmt.Errorf("actor %q is not reachable through the Linx %s", t.GetId(), g.p.Name)
		}
	}
	for _, e := range b.GetEnvelopes() {
		// Serializer 0 is protobuf; the others decode arbitrary types.
		if e.GetSerializerId() != 0 {
			return fmt.Errorf("serializer %d is not accepted (protobuf only)", e.GetSerializerId())
		}
		// protoactor indexes these slices without checking.
		ti, target, sender := e.GetTypeId(), e.GetTarget(), e.GetSender()
		if ti < 0 || int(ti) >= len(names) || target < 0 || int(target) >= len(targets) ||
			sender < 0 || int(sender) > len(b.GetSenders()) {
			return fmt.Errorf("envelope indexes (type %d, target %d, sender %d) out of range", ti, target, sender)
		}
		if id := targets[target].GetId(); g.p.Deliver != nil && !g.p.Deliver(g.peerAddr, id, names[ti]) {
			return fmt.Errorf("%s to actor %q is not accepted from peer %q by the Linx %s", names[ti], id, g.peerAddr, g.p.Name)
		}
		if sender > 0 {
			if err := g.checkSender(b.GetSenders()[sender-1]); err != nil {
				return err
			}
		}
		if g.stamp != nil {
			e.MessageHeader = g.stamp
		}
		var err error
		switch names[ti] {
		case Terminated:
			err = g.checkTerminated(e.GetMessageData())
		case Watch, Unwatch:
			err = g.checkWatch(e, names[ti])
		case subscribeType:
			err = g.checkSubscriber(e.GetMessageData(), &messages.Subscribe{})
		case unsubscribeType:
			err = g.checkSubscriber(e.GetMessageData(), &messages.Unsubscribe{})
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// checkSender refuses the sender of a message (index 1 and up in the
// batch's Senders; 0 means none) that is not an actor of the sending peer.
// protoactor delivers the sender with the message, and a reply goes to it
// wherever it is: a peer naming another peer's actor (a controller's
// pending request, future$N) would have that peer receive a genuine answer
// to a request it did not make, and one naming "nonhost" or the endpoint's
// own address would have the endpoint answer its own actor.
func (g *guardedStream) checkSender(s *actor.PID) error {
	switch {
	case s == nil:
		return errors.New("a message names a nil sender")
	case g.peerAddr == "":
		return fmt.Errorf("a message from %s/%s before the peer declared its address", s.GetAddress(), s.GetId())
	case s.GetAddress() != g.peerAddr:
		return fmt.Errorf("a message from %s/%s: not an actor of the sending peer %s", s.GetAddress(), s.GetId(), g.peerAddr)
	}
	return nil
}

// The messages of package messages that name a subscriber actor.
var (
	subscribeType   = string(proto.MessageName(&messages.Subscribe{}))
	unsubscribeType = string(proto.MessageName(&messages.Unsubscribe{}))
)

// checkSubscriber refuses a messages.Subscribe or messages.Unsubscribe
// (decoded from data into m) whose subscriber is not an actor of the
// sending peer: the node dials a subscriber's address to push statuses to
// it (any host and port a peer names), and a peer could otherwise end
// another controller's subscription.
func (g *guardedStream) checkSubscriber(data []byte, m interface {
	proto.Message
	GetSubscriber() *actor.PID
}) error {
	name := proto.MessageName(m)
	if err := proto.Unmarshal(data, m); err != nil {
		return fmt.Errorf("decoding %s: %w", name, err)
	}
	s := m.GetSubscriber()
	switch {
	case s == nil:
		return fmt.Errorf("%s names no subscriber", name)
	case g.peerAddr == "":
		return fmt.Errorf("%s of %s/%s before the peer declared its address", name, s.GetAddress(), s.GetId())
	case s.GetAddress() != g.peerAddr:
		return fmt.Errorf("%s of %s/%s: not an actor of the sending peer %s", name, s.GetAddress(), s.GetId(), g.peerAddr)
	}
	return nil
}

// own reports whether addr is the endpoint's own address.
func (g *guardedStream) own(addr string) bool {
	return addr == localAddress || (g.p.Self != nil && addr == g.p.Self())
}

// checkTerminated refuses an actor.Terminated that does not concern an
// actor of the sending peer. protoactor hands its Who to the watcher
// unchecked, and a peer's legitimate Terminated only ever reports one of
// its own actors that the endpoint watches: one naming the endpoint's own
// address, the local "nonhost", an actor the Policy calls its own
// (whatever the address, which has aliases such as localhost), or any
// address other than the one the peer declared, is forged.
func (g *guardedStream) checkTerminated(data []byte) error {
	var t actor.Terminated
	if err := proto.Unmarshal(data, &t); err != nil {
		return fmt.Errorf("decoding %s: %w", Terminated, err)
	}
	who := t.GetWho()
	if who == nil {
		return errors.New("actor.Terminated names no actor")
	}
	addr, id := who.GetAddress(), who.GetId()
	switch {
	case g.own(addr):
		return fmt.Errorf("actor.Terminated of %s/%s: a peer may not report the end of this endpoint's actors", addr, id)
	case g.p.Own != nil && g.p.Own(id):
		return fmt.Errorf("actor.Terminated of %s/%s: names one of this endpoint's own actors", addr, id)
	case g.peerAddr == "":
		return fmt.Errorf("actor.Terminated of %s/%s before the peer declared its address", addr, id)
	case addr != g.peerAddr:
		return fmt.Errorf("actor.Terminated of %s/%s: not an actor of the sending peer %s", addr, id, g.peerAddr)
	}
	return nil
}

// checkWatch refuses an actor.Watch or actor.Unwatch (type name) whose
// watcher is not an actor of the sending peer: the watched actor's
// Terminated would go to that watcher, here if it is local. A watcher
// under "nonhost" is a local actor of the peer's (protoactor fixes a PID's
// address when the actor is spawned, and an actor spawned before its
// system's remote started keeps "nonhost"); it is rewritten, in the
// envelope, to the peer's address.
func (g *guardedStream) checkWatch(e *remote.MessageEnvelope, name string) error {
	var w interface {
		proto.Message
		GetWatcher() *actor.PID
	}
	if name == Watch {
		w = &actor.Watch{}
	} else {
		w = &actor.Unwatch{}
	}
	if err := proto.Unmarshal(e.GetMessageData(), w); err != nil {
		return fmt.Errorf("decoding %s: %w", name, err)
	}
	watcher := w.GetWatcher()
	switch {
	case watcher == nil:
		return fmt.Errorf("%s names no watcher", name)
	case g.peerAddr == "":
		return fmt.Errorf("%s by %s/%s before the peer declared its address", name, watcher.GetAddress(), watcher.GetId())
	case watcher.GetAddress() == localAddress:
		watcher.Address = g.peerAddr
		data, err := proto.Marshal(w)
		if err != nil {
			return fmt.Errorf("encoding %s: %w", name, err)
		}
		e.MessageData = data
	case watcher.GetAddress() != g.peerAddr:
		return fmt.Errorf("%s by %s/%s: not an actor of the sending peer %s", name, watcher.GetAddress(), watcher.GetId(), g.peerAddr)
	}
	return nil
}

// recoverStream returns a stream interceptor that turns a panic in the
// handler (protoactor's, which indexes and dereferences peer input without
// checks) into an Internal error ending that stream only.
func recoverStream(name string, logger *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		defer func() {
			if p := recover(); p != nil {
				logger.Error(name+": recovered from a panic in the stream handler",
					"method", info.FullMethod, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				err = status.Errorf(codes.Internal, "the endpoint could not handle the stream: %v", p)
			}
		}()
		return handler(srv, ss)
	}
}

// recoverUnary is recoverStream for unary calls (protoactor leaves some
// unimplemented, as panics).
func recoverUnary(name string, logger *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if p := recover(); p != nil {
				logger.Error(name+": recovered from a panic in a unary handler",
					"method", info.FullMethod, "panic", fmt.Sprint(p))
				resp, err = nil, status.Errorf(codes.Internal, "the endpoint could not handle the call: %v", p)
			}
		}()
		return handler(ctx, req)
	}
}
