package reconciler

import (
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/scheduler"
)

// sendEvery sends msg to pid every interval until the returned function is
// called; once it returns, no more messages are sent.
//
// It stands in for scheduler.SendRepeatedly, whose timer reads its state
// without an atomic load while cancelling writes it atomically
// (protoactor-go scheduler/timer.go, `if state == stateDone`): the race
// detector reports it whenever a tick fires as the loop stops.
func sendEvery(root *actor.RootContext, interval time.Duration, pid *actor.PID, msg any) scheduler.CancelFunc {
	var (
		mu      sync.Mutex
		t       *time.Timer
		stopped bool
	)
	mu.Lock()
	defer mu.Unlock()
	t = time.AfterFunc(interval, func() {
		mu.Lock()
		defer mu.Unlock()
		if stopped {
			return
		}
		root.Send(pid, msg)
		t.Reset(interval)
	})
	return func() {
		mu.Lock()
		defer mu.Unlock()
		stopped = true
		t.Stop()
	}
}
