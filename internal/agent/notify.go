package agent

import (
	"fmt"
	"strings"
	"time"

	"github.com/linx-net/linx/internal/sdnotify"
)

// DefaultReadyTimeout bounds how long the agent waits for every
// configured scope to converge before it tells systemd it is ready
// anyway: a scope that cannot converge (a namespace not there yet, a
// conflict) must not hold the unit in "activating" until its start
// timeout kills it. 90 s is systemd's default TimeoutStartSec.
const DefaultReadyTimeout = 90 * time.Second

// readyPoll is how often readiness is checked before READY=1 is sent.
const readyPoll = 100 * time.Millisecond

// notifyActor returns the run.Group actor that speaks to systemd through
// n: READY=1 once every configured scope has converged once, or once
// timeout has passed, whichever comes first; then WATCHDOG=1 at the
// watchdog interval for as long as the node supervisor answers (a wedged
// actor system misses its pings and systemd restarts the unit); and
// STOPPING=1 when the group ends. With n disabled the actor only waits.
func (a *Agent) notifyActor(n *sdnotify.Notifier, timeout time.Duration) (func() error, func(error)) {
	quit := make(chan struct{})
	execute := func() error {
		if !n.Enabled() {
			<-quit
			return nil
		}
		if !a.waitReady(n, timeout, quit) {
			return nil
		}
		interval := n.WatchdogInterval()
		if interval <= 0 {
			<-quit
			return nil
		}
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-quit:
				return nil
			case <-tick.C:
				// The node answering a List is the main loop being
				// alive: its mailbox is served and its children reply.
				if _, err := a.node.List(); err != nil {
					a.logger.Warn("watchdog: the node supervisor did not answer; not pinging systemd", "err", err)
					continue
				}
				if err := n.Notify(sdnotify.Watchdog); err != nil {
					a.logger.Warn("watchdog ping", "err", err)
				}
			}
		}
	}
	interrupt := func(error) {
		close(quit)
		if err := n.Notify(sdnotify.Stopping); err != nil {
			a.logger.Warn("notifying systemd of the stop", "err", err)
		}
	}
	return execute, interrupt
}

// waitReady sends READY=1 through n once no configured scope is pending
// or timeout has passed, and reports whether it did (false when quit
// closed first).
func (a *Agent) waitReady(n *sdnotify.Notifier, timeout time.Duration, quit <-chan struct{}) bool {
	if timeout <= 0 {
		timeout = DefaultReadyTimeout
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	poll := time.NewTicker(readyPoll)
	defer poll.Stop()
	status := "every configured scope has converged"
wait:
	for {
		pending := a.unconverged()
		if len(pending) == 0 {
			break
		}
		select {
		case <-quit:
			return false
		case <-deadline.C:
			status = fmt.Sprintf("ready after %s; not converged yet: %s", timeout, strings.Join(pending, ", "))
			a.logger.Warn("telling systemd the agent is ready before every scope converged", "waited", timeout, "pending", pending)
			break wait
		case <-poll.C:
		}
	}
	if err := n.Notify(sdnotify.Ready, sdnotify.Status(status)); err != nil {
		a.logger.Warn("notifying systemd of readiness", "err", err)
	}
	return true
}
