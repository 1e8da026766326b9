package reconciler

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// sendEvery ticks until cancelled, and not once after; cancelling while
// ticks fire is race-free (run with -race).
func TestSendEvery(t *testing.T) {
	system := actor.NewActorSystem()
	defer system.Shutdown()
	var n atomic.Int64
	pid := system.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		if _, ok := c.Message().(tick); ok {
			n.Add(1)
		}
	}))
	cancel := sendEvery(system.Root, time.Millisecond, pid, tick{})
	deadline := time.Now().Add(10 * time.Second)
	for n.Load() < 5 {
		if time.Now().After(deadline) {
			t.Fatalf("%d ticks in 10 s at 1 ms", n.Load())
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	cancel()                          // idempotent
	time.Sleep(20 * time.Millisecond) // let a tick sent before cancel land
	after := n.Load()
	time.Sleep(50 * time.Millisecond)
	if got := n.Load(); got != after {
		t.Fatalf("%d ticks after cancel", got-after)
	}
	for range 200 { // cancel racing a firing timer
		sendEvery(system.Root, time.Microsecond, pid, tick{})()
	}
}
