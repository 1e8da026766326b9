package integration

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/rtnl/monitor"
)

const (
	monitorRoutes = 100_000
	// monitorBuffer is large enough that the kernel keeps the whole burst
	// (about 1 KiB of socket buffer per notification), so that both
	// readers decode every event and the rates compare like for like.
	monitorBuffer = 256 << 20
	// monitorIdle ends a measurement: no route event for this long after
	// the install finished means the burst has been read.
	monitorIdle = 500 * time.Millisecond
)

// monitorBurst returns the `ip -batch` lines installing the burst:
// blackhole /32s in 10.0.0.0/8.
func monitorBurst() string {
	var b strings.Builder
	for i := range monitorRoutes {
		fmt.Fprintf(&b, "route add blackhole 10.%d.%d.%d/32\n", i>>16&255, i>>8&255, i&255)
	}
	return b.String()
}

// eventClock counts route events and remembers when the first and the last
// arrived.
type eventClock struct {
	mu          sync.Mutex
	n           int
	first, last time.Time
}

func (c *eventClock) tick() {
	now := time.Now()
	c.mu.Lock()
	if c.n == 0 {
		c.first = now
	}
	c.n++
	c.last = now
	c.mu.Unlock()
}

// settle waits until all monitorRoutes events arrived or none came for
// monitorIdle, and returns the count and the events per second between the
// first and the last.
func (c *eventClock) settle() (n int, rate float64) {
	for {
		c.mu.Lock()
		n, first, last := c.n, c.first, c.last
		c.mu.Unlock()
		if n >= monitorRoutes || (n > 0 && time.Since(last) > monitorIdle) {
			if n < 2 || !last.After(first) {
				return n, 0
			}
			return n, float64(n-1) / last.Sub(first).Seconds()
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// monitorBurstRates installs the burst in a fresh namespace while both
// rtnl/monitor and vishvananda/netlink's route subscription (the baseline)
// read it, side by side, so that both see the same kernel pacing.
func monitorBurstRates(b *testing.B, burst string) (linx, base monitorResult, install time.Duration) {
	ns := nstest.New(b)

	// Linx: a queue as long as the burst, so that the counting consumer
	// never makes the monitor collapse its queue.
	m, err := monitor.Open(ns.Namespace(), monitor.WithReceiveBuffer(monitorBuffer), monitor.WithQueue(monitorRoutes))
	if err != nil {
		b.Fatal(err)
	}
	var linxClock eventClock
	linxDone := make(chan struct{})
	go func() {
		defer close(linxDone)
		for ev := range m.Events() {
			if ev.Op == monitor.NewRoute {
				linxClock.tick()
			}
		}
	}()

	// Baseline.
	h, err := ns.Namespace().Handle()
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	updates := make(chan netlink.RouteUpdate, monitorRoutes)
	stop := make(chan struct{})
	var (
		errMu  sync.Mutex
		subErr error
	)
	err = netlink.RouteSubscribeWithOptions(updates, stop, netlink.RouteSubscribeOptions{
		Namespace:              &h,
		ReceiveBufferSize:      monitorBuffer,
		ReceiveBufferForceSize: true,
		ErrorCallback: func(err error) {
			errMu.Lock()
			if subErr == nil {
				subErr = err
			}
			errMu.Unlock()
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	var baseClock eventClock
	baseDone := make(chan struct{})
	go func() {
		defer close(baseDone)
		for u := range updates {
			if u.Type == unix.RTM_NEWROUTE {
				baseClock.tick()
			}
		}
	}()

	start := time.Now()
	ns.Batch(burst)
	install = time.Since(start)
	linx.received, linx.rate = linxClock.settle()
	base.received, base.rate = baseClock.settle()
	c := m.Counters()
	linx.overruns, linx.dropped = c.Overruns, c.Dropped
	if err := m.Close(); err != nil {
		b.Fatal(err)
	}
	<-linxDone

	close(stop)
	// The baseline's reader blocks in recvfrom, which closing its socket
	// does not interrupt: one more change wakes it so that it sees the
	// close.
	ns.IP("route", "add", "blackhole", "192.0.2.1/32")
	select {
	case <-baseDone:
	case <-time.After(5 * time.Second):
		b.Log("vishvananda/netlink's subscription did not end after close")
	}
	errMu.Lock()
	defer errMu.Unlock()
	if subErr != nil && base.received < monitorRoutes {
		b.Logf("vishvananda/netlink subscription error: %v", subErr)
	}
	return linx, base, install
}

// monitorResult is one reader's measurement.
type monitorResult struct {
	rate              float64
	received          int
	overruns, dropped uint64
}

// BenchmarkMonitorEvents measures route events decoded per second while
// `ip -batch` installs 100,000 routes in a throwaway namespace, counted from
// the first event to the last. The baseline is vishvananda/netlink's
// RouteSubscribe reading the same burst at the same time; both readers have
// a receive buffer large enough to keep the whole burst. install is the
// rate at which ip -batch installed the routes: the ceiling for a reader
// that keeps up, so a ratio near 1 means both kept up.
func BenchmarkMonitorEvents(b *testing.B) {
	if testing.Short() {
		b.Skip("SKIPPED: installs 100,000 routes; not under -short")
	}
	nstest.RequireRoot(b)
	burst := monitorBurst()
	var (
		linx, base monitorResult
		install    time.Duration
	)
	for b.Loop() {
		linx, base, install = monitorBurstRates(b, burst)
	}
	if linx.received < monitorRoutes {
		b.Errorf("linx decoded %d of %d route events (overruns %d, dropped %d)", linx.received, monitorRoutes, linx.overruns, linx.dropped)
	}
	ratio := 0.0
	if base.rate > 0 {
		ratio = linx.rate / base.rate
	}
	fmt.Printf("monitor_events: linx=%.0f baseline=%.0f ratio=%.2f received=%d overruns=%d dropped=%d baseline_received=%d install=%.0f\n",
		linx.rate, base.rate, ratio, linx.received, linx.overruns, linx.dropped, base.received, monitorRoutes/install.Seconds())
	b.ReportMetric(linx.rate, "linx-events/s")
	b.ReportMetric(ratio, "ratio-vishvananda")
}
