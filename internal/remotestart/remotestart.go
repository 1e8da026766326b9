// Package remotestart starts a protoactor remote endpoint without letting
// its panics escape: the agent's API server and the controller's client
// both need that, and neither imports the other.
package remotestart

import (
	"fmt"

	"github.com/asynkron/protoactor-go/remote"
)

// Start runs r.Start, which panics when it cannot listen (a port taken, an
// address not on this machine), and returns that panic as an error.
func Start(r *remote.Remote) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("starting the remote endpoint: %v", p)
		}
	}()
	r.Start()
	return nil
}
