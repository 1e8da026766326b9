package api

import (
	"log/slog"
	"strings"

	"google.golang.org/grpc"

	"github.com/linx-net/linx/api/guard"
)

// serverOptions installs the guard of package guard, with policy, on the
// API's gRPC server.
func serverOptions(nodeID string, self func() string, logger *slog.Logger) []grpc.ServerOption {
	return guard.ServerOptions(policy(nodeID, self, logger))
}

// policy is what the API accepts from its peers: the messages of package
// messages, addressed to the gate (NodeName), which authorizes them before
// the node sees them; and actor.Terminated (which protoactor sends the
// node when a remote subscriber it watches exits), addressed to the node
// under its own id nodeID, never about the node or its children. self
// returns the agent's address.
func policy(nodeID string, self func() string, logger *slog.Logger) guard.Policy {
	return guard.Policy{
		Name:   "message API",
		Self:   self,
		Types:  func(name string) bool { return name == guard.Terminated || guard.MessageType(name) },
		Target: func(id string) bool { return id == NodeName || id == nodeID },
		Deliver: func(_, id, name string) bool {
			if name == guard.Terminated {
				return id == nodeID
			}
			return id == NodeName
		},
		Own: func(id string) bool {
			return id == NodeName || id == nodeID || strings.HasPrefix(id, nodeID+"/")
		},
		Logger: logger,
	}
}
