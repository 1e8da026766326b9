package guard_test

import (
	"log/slog"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"

	"github.com/linx-net/linx/api/guard"
)

// An endpoint that only lets peers send the messages of package messages
// to its actor "inbox", and protects its process from protoactor's
// handler panicking on what they send.
func Example() {
	system := actor.NewActorSystem()
	opts := guard.ServerOptions(guard.Policy{
		Name:   "inbox endpoint",
		Self:   system.Address,
		Types:  guard.MessageType,
		Target: func(id string) bool { return id == "inbox" },
		Logger: slog.Default(),
	})
	r := remote.NewRemote(system, remote.Configure("127.0.0.1", 0, remote.WithServerOptions(opts...)))
	r.Start()
	defer r.Shutdown(false)
}
