package monitor_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/sys/unix"

	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/rtnl"
	"github.com/linx-net/linx/rtnl/monitor"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// eventTimeout bounds every wait for an expected event.
const eventTimeout = 10 * time.Second

// open opens a monitor in ns, closed in t.Cleanup.
func open(t *testing.T, ns *nstest.NS, opts ...monitor.Option) *monitor.Monitor {
	t.Helper()
	m, err := monitor.Open(ns.Namespace(), opts...)
	if err != nil {
		t.Fatalf("monitor.Open(%s): %v", ns.Path(), err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return m
}

// waitFor reads events until one has op and a resource deeply equal to want
// (any event of op when want is nil); it fails the test after eventTimeout,
// listing what it saw.
func waitFor(t *testing.T, m *monitor.Monitor, op monitor.Op, want any) monitor.Event {
	t.Helper()
	timer := time.NewTimer(eventTimeout)
	defer timer.Stop()
	var seen []string
	for {
		select {
		case ev, ok := <-m.Events():
			if !ok {
				t.Fatalf("events channel closed while waiting for %s %v", op, want)
			}
			if ev.Err != nil {
				t.Errorf("event %s carries an error: %v", ev.Op, ev.Err)
			}
			if ev.Op == op && (want == nil || reflect.DeepEqual(ev.Resource(), want)) {
				return ev
			}
			seen = append(seen, fmt.Sprintf("%s %#v", ev.Op, ev.Resource()))
		case <-timer.C:
			t.Fatalf("no %s event equal to %#v within %v; saw:\n%s", op, want, eventTimeout, strings.Join(seen, "\n"))
		}
	}
}

func find[T any](t *testing.T, what string, list []T, err error, match func(T) bool) T {
	t.Helper()
	if err != nil {
		t.Fatalf("listing %s: %v", what, err)
	}
	for _, v := range list {
		if match(v) {
			return v
		}
	}
	t.Fatalf("%s not found in list %v", what, list)
	var zero T
	return zero
}

func linkNamed(t *testing.T, s *rtnl.Socket, name string) rtnl.Link {
	t.Helper()
	links, err := s.Links()
	return find(t, "link "+name, links, err, func(l rtnl.Link) bool { return l.Name == name })
}

func TestLinkEvents(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	m := open(t, ns)

	ns.IP("link", "add", "va", "type", "veth", "peer", "name", "vb")
	created := linkNamed(t, s, "va")
	ev := waitFor(t, m, monitor.NewLink, created)
	// Cross-check with iproute2.
	var ipLinks []struct {
		Ifindex int    `json:"ifindex"`
		Ifname  string `json:"ifname"`
		MTU     int    `json:"mtu"`
	}
	ns.JSON(&ipLinks, "link", "show", "va")
	if len(ipLinks) != 1 || ipLinks[0].Ifindex != ev.Link.Index || ipLinks[0].MTU != ev.Link.MTU {
		t.Errorf("event link %v, ip -j link show va: %+v", ev.Link, ipLinks)
	}

	ns.IP("link", "set", "va", "up")
	up := linkNamed(t, s, "va")
	if !up.Up() {
		t.Fatalf("va is not up after ip link set up: %v", up)
	}
	waitFor(t, m, monitor.NewLink, up)

	ns.IP("link", "set", "va", "down")
	down := linkNamed(t, s, "va")
	if down.Up() {
		t.Fatalf("va is still up after ip link set down: %v", down)
	}
	waitFor(t, m, monitor.NewLink, down)

	peer := linkNamed(t, s, "vb")
	ns.IP("link", "del", "va")
	// At teardown a veth no longer has a peer (veth_get_iflink returns 0
	// once the peer pointer is cleared), so the deletion reports no
	// parent; everything else is as last listed.
	down.ParentIndex, peer.ParentIndex = 0, 0
	waitFor(t, m, monitor.DelLink, down)
	// Deleting one end of a veth pair deletes the other.
	waitFor(t, m, monitor.DelLink, peer)
}

// vethUp creates the veth pair va/vb in ns with both ends up.
func vethUp(ns *nstest.NS) {
	ns.IP("link", "add", "va", "type", "veth", "peer", "name", "vb")
	ns.IP("link", "set", "va", "up")
	ns.IP("link", "set", "vb", "up")
}

func TestAddressEvents(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	vethUp(ns)
	m := open(t, ns)
	for _, prefix := range []string{"10.0.0.1/24", "2001:db8::1/64"} {
		t.Run(prefix, func(t *testing.T) {
			ns.IP("address", "add", prefix, "dev", "va", "nodad")
			addrs, err := s.Addresses()
			added := find(t, "address "+prefix, addrs, err, func(a rtnl.Address) bool { return a.Prefix.String() == prefix })
			waitFor(t, m, monitor.NewAddress, added)

			ns.IP("address", "del", prefix, "dev", "va")
			waitFor(t, m, monitor.DelAddress, added)
			addrs, err = s.Addresses()
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range addrs {
				if a.Prefix.String() == prefix {
					t.Fatalf("address %s still listed after delete", prefix)
				}
			}
		})
	}
}

func TestRouteEvents(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	vethUp(ns)
	m := open(t, ns)
	for _, tc := range []struct {
		dst   string
		table uint32
	}{
		{"10.9.0.0/24", rtnl.TableMain},
		{"10.9.1.0/24", 1000},
		{"2001:db8:9::/64", rtnl.TableMain},
		{"2001:db8:a::/64", 1000},
	} {
		t.Run(fmt.Sprintf("%s_table%d", tc.dst, tc.table), func(t *testing.T) {
			args := []string{"route", "add", tc.dst, "dev", "va", "table", strconv.Itoa(int(tc.table))}
			ns.IP(args...)
			routes, err := s.Routes()
			added := find(t, "route "+tc.dst, routes, err, func(r rtnl.Route) bool {
				return r.Dst.String() == tc.dst && r.Table == tc.table
			})
			waitFor(t, m, monitor.NewRoute, added)

			args[1] = "del"
			ns.IP(args...)
			waitFor(t, m, monitor.DelRoute, added)
		})
	}
}

func TestNeighbourEvents(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	vethUp(ns)
	m := open(t, ns)
	for _, ip := range []string{"10.0.0.2", "2001:db8::2"} {
		t.Run(ip, func(t *testing.T) {
			ns.IP("neigh", "add", ip, "lladdr", "02:00:00:00:00:02", "dev", "va", "nud", "permanent")
			neighs, err := s.Neighbours()
			added := find(t, "neighbour "+ip, neighs, err, func(n rtnl.Neighbour) bool { return n.IP.String() == ip })
			waitFor(t, m, monitor.NewNeighbour, added)

			ns.IP("neigh", "del", ip, "dev", "va")
			// The kernel fails an entry before removing it
			// (neigh_remove_one: NUD_FAILED, which carries no
			// link-layer address), and reports it so: first as a
			// change, then as the deletion.
			gone := added
			gone.State, gone.HardwareAddr = rtnl.NeighFailed, nil
			waitFor(t, m, monitor.NewNeighbour, gone)
			waitFor(t, m, monitor.DelNeighbour, gone)
		})
	}
}

func TestRuleEvents(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	m := open(t, ns)
	for _, from := range []string{"10.1.0.0/16", "2001:db8:1::/48"} {
		t.Run(from, func(t *testing.T) {
			args := []string{"-4", "rule", "add", "from", from, "table", "100", "priority", "100"}
			if strings.Contains(from, ":") {
				args[0] = "-6"
			}
			ns.IP(args...)
			rules, err := s.Rules()
			added := find(t, "rule from "+from, rules, err, func(r rtnl.Rule) bool { return r.From.String() == from })
			waitFor(t, m, monitor.NewRule, added)

			args[2] = "del"
			ns.IP(args...)
			waitFor(t, m, monitor.DelRule, added)
		})
	}
}

// Nexthop objects are reported, and so is the deletion of one that takes
// its routes with it (the kernel sends no route deletion for those).
func TestNexthopEvents(t *testing.T) {
	ns := nstest.New(t)
	ns.Batch("link add va type veth peer name vb\nlink set va up\nlink set vb up\naddress add 10.1.0.1/24 dev va")
	s := ns.Open()
	m := open(t, ns)
	ns.IP("nexthop", "add", "id", "1", "via", "10.1.0.2", "dev", "va", "proto", "76")
	added, err := s.Nexthop(1)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, m, monitor.NewNexthop, added)
	ns.IP("route", "add", "10.9.0.0/24", "nhid", "1")
	ns.IP("nexthop", "del", "id", "1")
	waitFor(t, m, monitor.DelNexthop, nil)
	if routes, err := s.RoutesFiltered(rtnl.RouteFilter{Table: 254, Protocol: rtnl.ProtocolBoot}); err != nil || len(routes) != 0 {
		t.Fatalf("routes through the deleted nexthop: %v, %v", routes, err)
	}
}

// blackholes returns `ip -batch` lines adding n blackhole /32 routes in
// 10.0.0.0/8.
func blackholes(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "route add blackhole 10.%d.%d.%d/32\n", i>>16&255, i>>8&255, i&255)
	}
	return b.String()
}

func TestOverrunIsSurvived(t *testing.T) {
	ns := nstest.New(t)
	// The smallest buffer the kernel allows overflows within a burst.
	m := open(t, ns, monitor.WithReceiveBuffer(1))

	// Consume concurrently, as a real consumer would, so that a
	// ResyncNeeded seen here comes from the kernel's ENOBUFS and not from
	// the queue overflowing.
	var (
		mu      sync.Mutex
		resyncs int
		routes  int
	)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case ev := <-m.Events():
				mu.Lock()
				switch ev.Op {
				case monitor.ResyncNeeded:
					resyncs++
				case monitor.NewRoute:
					routes++
				}
				mu.Unlock()
			case <-stop:
				return
			}
		}
	}()
	ns.Batch(blackholes(50_000))
	// Let the reader catch up with what the kernel kept.
	time.Sleep(200 * time.Millisecond)
	close(stop)
	<-done

	c := m.Counters()
	t.Logf("counters after 50,000 routes: %+v; consumer saw %d route events, %d resyncs", c, routes, resyncs)
	if m.Overruns() == 0 {
		t.Fatalf("no overrun reported with the smallest receive buffer during a 50,000-route burst")
	}
	if resyncs == 0 {
		t.Fatalf("overruns = %d but no ResyncNeeded event delivered", m.Overruns())
	}
	if c.Received >= 50_000 {
		t.Errorf("received %d events with overruns reported; expected losses", c.Received)
	}

	// The monitor still works after the overrun.
	ns.IP("route", "add", "blackhole", "192.0.2.1/32")
	s := ns.Open()
	routesNow, err := s.RoutesFiltered(rtnl.RouteFilter{Table: rtnl.TableMain})
	marker := find(t, "route 192.0.2.1/32", routesNow, err, func(r rtnl.Route) bool { return r.Dst.String() == "192.0.2.1/32" })
	waitFor(t, m, monitor.NewRoute, marker)
}

func TestSlowConsumerGetsOneResync(t *testing.T) {
	const (
		n        = 40
		attempts = 5
		// Forty notifications take a few kilobytes; a buffer this size
		// overruns only when the reader is starved for a long time, and a
		// fresh attempt then runs on a machine that is less busy.
		rcvbuf = 32 << 20
	)
	var (
		ns *nstest.NS
		m  *monitor.Monitor
	)
	for attempt := 1; ; attempt++ {
		ns = nstest.New(t)
		m = open(t, ns, monitor.WithQueue(4), monitor.WithReceiveBuffer(rcvbuf))
		ns.Batch(blackholes(n))
		deadline := time.Now().Add(eventTimeout)
		for c := m.Counters(); c.Received < n && c.Overruns == 0; c = m.Counters() {
			if time.Now().After(deadline) {
				t.Fatalf("only %d of %d events received: %+v", c.Received, n, c)
			}
			time.Sleep(5 * time.Millisecond)
		}
		c := m.Counters()
		if c.Overruns == 0 {
			break
		}
		// The kernel dropped notifications: what reaches the queue is then
		// not the burst this test needs.
		if attempt == attempts {
			t.Fatalf("the kernel overran a %d-byte receive buffer in all %d attempts (last: %+v); the queue policy went untested", rcvbuf, attempts, c)
		}
		t.Logf("attempt %d: the kernel overran the receive buffer (%+v); retrying in a fresh namespace", attempt, c)
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
	}
	c := m.Counters()
	if c.Dropped == 0 {
		t.Fatalf("a queue of 4 took %d events without dropping any: %+v", n, c)
	}
	first := <-m.Events()
	if first.Op != monitor.ResyncNeeded || first.Err != nil {
		t.Fatalf("first queued event after overflow = %v, want a plain ResyncNeeded", first)
	}
	if q := len(m.Events()); q > 3 {
		t.Fatalf("%d events queued behind the ResyncNeeded in a queue of 4", q)
	}
	// Events flow again once there is room.
	ns.IP("route", "add", "blackhole", "192.0.2.1/32")
	waitFor(t, m, monitor.NewRoute, nil)
}

func TestWake(t *testing.T) {
	ns := nstest.New(t)
	m := open(t, ns)
	if cap(m.Wake()) != 1 {
		t.Fatalf("Wake has capacity %d, want 1", cap(m.Wake()))
	}
	const n = 100
	ns.Batch(blackholes(n))
	waitReceived(t, m, n)
	for len(m.Events()) < n {
		time.Sleep(5 * time.Millisecond)
	}
	// The wake-up follows the event's delivery; give the last one time.
	time.Sleep(50 * time.Millisecond)
	// A hundred changes leave exactly one wake-up pending.
	select {
	case <-m.Wake():
	default:
		t.Fatal("no wake-up after a change")
	}
	select {
	case <-m.Wake():
		t.Fatal("a second wake-up was pending after one burst")
	default:
	}
	// The next change wakes again.
	ns.IP("route", "add", "blackhole", "192.0.2.1/32")
	select {
	case <-m.Wake():
	case <-time.After(eventTimeout):
		t.Fatal("no wake-up after a later change")
	}
}

// waitReceived waits until m has decoded at least n events.
func waitReceived(t *testing.T, m *monitor.Monitor, n uint64) {
	t.Helper()
	deadline := time.Now().Add(eventTimeout)
	for m.Counters().Received < n {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d events received: %+v", m.Counters().Received, n, m.Counters())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func fdCount(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

func TestCloseReleasesEverything(t *testing.T) {
	ns := nstest.New(t)
	before := fdCount(t)
	m, err := monitor.Open(ns.Namespace())
	if err != nil {
		t.Fatal(err)
	}
	if fdCount(t) != before+1 {
		t.Fatalf("Open used %d descriptors, want 1", fdCount(t)-before)
	}
	// A consumer ranging over Events ends when the monitor closes.
	consumed := make(chan int)
	go func() {
		n := 0
		for range m.Events() {
			n++
		}
		consumed <- n
	}()
	ns.IP("link", "add", "va", "type", "veth", "peer", "name", "vb")
	waitReceived(t, m, 2)
	if err := m.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	select {
	case <-consumed:
	case <-time.After(eventTimeout):
		t.Fatal("consumer still blocked on Events after Close")
	}
	if after := fdCount(t); after != before {
		t.Fatalf("descriptors: %d before Open, %d after Close", before, after)
	}
	goleak.VerifyNone(t)
}

func TestCloseDiscardsQueuedEvents(t *testing.T) {
	ns := nstest.New(t)
	m, err := monitor.Open(ns.Namespace())
	if err != nil {
		t.Fatal(err)
	}
	ns.Batch(blackholes(50))
	waitReceived(t, m, 50)
	if len(m.Events()) == 0 {
		t.Fatal("expected queued events before Close")
	}
	var wg sync.WaitGroup
	for range 3 { // concurrent Close calls are safe
		wg.Go(func() { _ = m.Close() })
	}
	wg.Wait()
	if ev, ok := <-m.Events(); ok {
		t.Fatalf("event %v delivered after Close returned", ev)
	}
	if _, ok := <-m.Wake(); ok {
		t.Fatal("wake-up delivered after Close returned")
	}
}

func TestOpenByPIDAndPath(t *testing.T) {
	pid := nstest.Process(t)
	m, err := monitor.Open(rtnl.NamespaceOfPID(pid))
	if err != nil {
		t.Fatalf("Open(pid %d): %v", pid, err)
	}
	t.Cleanup(func() { m.Close() })
	if m.Namespace() != rtnl.NamespaceOfPID(pid) {
		t.Errorf("Namespace() = %v", m.Namespace())
	}
	// Make changes only in a namespace that is certainly not ours.
	self, _ := os.Readlink("/proc/thread-self/ns/net")
	if other, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", pid)); err != nil || other == self {
		t.Fatalf("process %d is not in a namespace of its own (%q, ours %q, %v)", pid, other, self, err)
	}
	out, err := exec.Command("nsenter", "-t", strconv.Itoa(pid), "-n", "ip", "link", "add", "pa", "type", "veth", "peer", "name", "pb").CombinedOutput()
	if err != nil {
		t.Fatalf("nsenter ip link add: %v: %s", err, out)
	}
	ev := waitFor(t, m, monitor.NewLink, nil)
	for ev.Link.Name != "pa" && ev.Link.Name != "pb" {
		ev = waitFor(t, m, monitor.NewLink, nil)
	}

	ns := nstest.New(t)
	byPath := open(t, ns)
	ns.IP("rule", "add", "from", "10.3.0.0/16", "table", "100", "priority", "100")
	if ev := waitFor(t, byPath, monitor.NewRule, nil); ev.Rule.From.String() != "10.3.0.0/16" {
		t.Fatalf("rule event by path = %v", ev)
	}
	// The change in the pid's namespace is not seen in the path's.
	select {
	case ev := <-byPath.Events():
		if ev.Link != nil && (ev.Link.Name == "pa" || ev.Link.Name == "pb") {
			t.Fatalf("link of another namespace seen: %v", ev)
		}
	default:
	}
}

func TestOpenHost(t *testing.T) {
	nstest.RequireRoot(t)
	// Only reads the host namespace: subscribe and close.
	m, err := monitor.Open(rtnl.Host())
	if err != nil {
		t.Fatalf("Open(host): %v", err)
	}
	if err := m.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func TestOpenMissingNamespace(t *testing.T) {
	nstest.RequireRoot(t)
	for _, tc := range []struct {
		ns    rtnl.Namespace
		errno unix.Errno
	}{
		{rtnl.NamespaceOfPID(1 << 30), unix.ESRCH},
		{rtnl.NamespaceAt("/var/run/netns/linx-no-such-namespace"), unix.ENOENT},
	} {
		m, err := monitor.Open(tc.ns)
		if err == nil {
			m.Close()
			t.Fatalf("Open(%s) succeeded", tc.ns)
		}
		var re *rtnl.Error
		if !errors.As(err, &re) {
			t.Fatalf("Open(%s) error %T %v is not an *rtnl.Error", tc.ns, err, err)
		}
		if !errors.Is(err, tc.errno) {
			t.Errorf("Open(%s) = %v, want %s", tc.ns, err, unix.ErrnoName(tc.errno))
		}
	}
}

// TestCloseWhileConsumed closes monitors whose queue holds events while a
// consumer drains it: Close must return every time. The reader discards
// what is queued when it ends, and a consumer taking the last event under
// it once left it blocked for good.
func TestCloseWhileConsumed(t *testing.T) {
	ns := nstest.New(t)
	burst := blackholes(600) + "route flush proto boot\n"
	for i := range 30 {
		m, err := monitor.Open(ns.Namespace(), monitor.WithQueue(2000))
		if err != nil {
			t.Fatal(err)
		}
		ns.Batch(burst)
		for deadline := time.Now().Add(5 * time.Second); m.Counters().Received < 1000; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: %d events received, want 1000", i, m.Counters().Received)
			}
		}
		consumed := make(chan struct{})
		go func() {
			defer close(consumed)
			for range m.Events() {
			}
		}()
		closed := make(chan struct{})
		go func() { m.Close(); close(closed) }()
		select {
		case <-closed:
		case <-time.After(5 * time.Second):
			t.Fatalf("round %d: Close did not return while a consumer drained the queue", i)
		}
		<-consumed
	}
}

// TestMuteRoutes: while routes are muted, route changes bring no event
// but other changes do; unmuting delivers a ResyncNeeded, after which
// route changes bring events again. Mutes nest, and an unmute called
// twice counts once.
func TestMuteRoutes(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	vethUp(ns)
	m := open(t, ns)

	outer, err := m.MuteRoutes()
	if err != nil {
		t.Fatal(err)
	}
	inner, err := m.MuteRoutes()
	if err != nil {
		t.Fatal(err)
	}
	ns.IP("route", "add", "10.9.0.0/24", "dev", "va")
	ns.IP("-6", "route", "add", "2001:db8:9::/64", "dev", "va")
	ns.IP("address", "add", "10.0.0.1/24", "dev", "va")
	addrs, err := s.Addresses()
	added := find(t, "address 10.0.0.1/24", addrs, err, func(a rtnl.Address) bool { return a.Prefix.String() == "10.0.0.1/24" })
	inner()
	inner() // counts once: the outer mute still holds
	ns.IP("route", "add", "10.9.1.0/24", "dev", "va")
	// The address event comes after the routes' changes: any route event
	// they brought would have come before it. The address's own prefix
	// route (10.0.0.0/24, proto kernel) is muted too, as is the route
	// added after it: none may come, until the last unmute.
	timer := time.NewTimer(eventTimeout)
	defer timer.Stop()
	for seen := false; !seen; {
		select {
		case ev := <-m.Events():
			if ev.Route != nil {
				t.Fatalf("route event while muted: %s %v", ev.Op, ev.Route)
			}
			seen = ev.Op == monitor.NewAddress && reflect.DeepEqual(ev.Resource(), added)
		case <-timer.C:
			t.Fatal("no address event while routes were muted")
		}
	}
	drain := func() {
		for {
			select {
			case ev := <-m.Events():
				if ev.Route != nil {
					t.Fatalf("route event while muted: %s %v", ev.Op, ev.Route)
				}
				if ev.Op == monitor.ResyncNeeded {
					t.Fatalf("ResyncNeeded before the last unmute")
				}
			case <-time.After(200 * time.Millisecond):
				return
			}
		}
	}
	drain()

	outer()
	if ev := waitFor(t, m, monitor.ResyncNeeded, nil); ev.Err != nil {
		t.Fatalf("ResyncNeeded after unmute carries %v", ev.Err)
	}
	ns.IP("route", "add", "10.9.2.0/24", "dev", "va")
	routes, err := s.Routes()
	back := find(t, "route 10.9.2.0/24", routes, err, func(r rtnl.Route) bool { return r.Dst.String() == "10.9.2.0/24" })
	waitFor(t, m, monitor.NewRoute, back)
	outer() // once only: no second ResyncNeeded, and the mute count stays sane
	if _, err := m.MuteRoutes(); err != nil {
		t.Fatalf("muting again: %v", err)
	}
}

// TestMuteRoutesAfterClose: a closed monitor refuses to mute, and an
// unmute after Close neither panics nor delivers.
func TestMuteRoutesAfterClose(t *testing.T) {
	ns := nstest.New(t)
	m, err := monitor.Open(ns.Namespace())
	if err != nil {
		t.Fatal(err)
	}
	unmute, err := m.MuteRoutes()
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	unmute()
	if _, err := m.MuteRoutes(); err == nil {
		t.Fatal("MuteRoutes after Close succeeded")
	}
}
