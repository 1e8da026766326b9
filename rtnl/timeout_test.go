package rtnl_test

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/rtnl"
)

// toHang is how long a call may take before a timeout test declares it
// hung: far above any timeout the tests set.
const toHang = 10 * time.Second

// toWithin runs f and fails the test if it has not returned within d, so
// that a call that would hang fails the test instead of stalling it.
func toWithin[T any](t *testing.T, d time.Duration, f func() (T, error)) (T, error) {
	t.Helper()
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := f()
		ch <- result{v, err}
	}()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-time.After(d):
		t.Fatalf("call still blocked after %v: the socket's timeout did not end it", d)
		panic("unreachable")
	}
}

// toCheckTimeout asserts that err is the *Error a timed-out wait gives.
func toCheckTimeout(t *testing.T, err error, op string, timeout time.Duration) {
	t.Helper()
	var e *rtnl.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v (%T), want an *rtnl.Error", err, err)
	}
	if !errors.Is(err, unix.EAGAIN) || e.Errno != unix.EAGAIN || e.Code() != 11 {
		t.Fatalf("err = %v, errno %d, want EAGAIN (11)", err, e.Errno)
	}
	if e.Op != op {
		t.Errorf("Op = %q, want %q", e.Op, op)
	}
	want := "netlink EAGAIN (11): no reply from the kernel within " + timeout.String()
	if e.Error() != want {
		t.Errorf("Error() = %q, want %q", e.Error(), want)
	}
}

// toLinkNames returns the sorted names of links, and those ip lists.
func toLinkNames(t *testing.T, ns *nstest.NS, links []rtnl.Link) (got, want []string) {
	t.Helper()
	for _, l := range links {
		got = append(got, l.Name)
	}
	var ip []struct {
		Name string `json:"ifname"`
	}
	ns.JSON(&ip, "link", "show")
	for _, l := range ip {
		want = append(want, l.Name)
	}
	slices.Sort(got)
	slices.Sort(want)
	return got, want
}

// TestTimeoutUnansweredRequest sends a request the kernel never answers:
// the call must end after the socket's timeout with EAGAIN, not block, and
// the socket must serve the next requests with their own replies.
func TestTimeoutUnansweredRequest(t *testing.T) {
	ns := nstest.New(t)
	ns.IP("link", "add", "to0", "type", "veth", "peer", "name", "to1")
	const timeout = 100 * time.Millisecond
	s, err := rtnl.Open(ns.Namespace(), rtnl.WithTimeout(timeout))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })

	for i := range 2 {
		start := time.Now()
		_, err := toWithin(t, toHang, func() (struct{}, error) { return struct{}{}, rtnl.RequestUnanswered(s) })
		elapsed := time.Since(start)
		toCheckTimeout(t, err, "noop", timeout)
		if elapsed < timeout {
			t.Fatalf("request %d failed after %v, before its %v timeout: %v", i, elapsed, timeout, err)
		}

		links, err := s.Links()
		if err != nil {
			t.Fatalf("Links after a timed-out request: %v", err)
		}
		if got, want := toLinkNames(t, ns, links); !slices.Equal(got, want) {
			t.Fatalf("Links after a timed-out request = %v, ip lists %v", got, want)
		}
		l, err := s.LinkByName("to1")
		if err != nil {
			t.Fatalf("LinkByName after a timed-out request: %v", err)
		}
		var ip []struct {
			Index int `json:"ifindex"`
		}
		ns.JSON(&ip, "link", "show", "to1")
		if len(ip) != 1 || l.Index != ip[0].Index || l.Name != "to1" {
			t.Fatalf("LinkByName(to1) after a timed-out request = %v, ip says ifindex %v", l, ip)
		}
	}
}

// TestTimeoutLostDumpEnd checks a socket owing the rest of a dump whose
// end will never come: the next request waits one timeout for it, then
// goes on and succeeds, and the one after does not wait at all.
func TestTimeoutLostDumpEnd(t *testing.T) {
	ns := nstest.New(t)
	const timeout = 300 * time.Millisecond
	s, err := rtnl.Open(ns.Namespace(), rtnl.WithTimeout(timeout))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	rtnl.OwePhantomDump(s)
	start := time.Now()
	l, err := toWithin(t, toHang, func() (rtnl.Link, error) { return s.LinkByName("lo") })
	if err != nil || l.Index != 1 {
		t.Fatalf("LinkByName(lo) owing a lost dump = %v, %v; want lo after one timeout", l, err)
	}
	if waited := time.Since(start); waited < timeout {
		t.Fatalf("answered after %v: the socket did not wait for the owed dump", waited)
	}
	start = time.Now()
	if _, err := s.Links(); err != nil {
		t.Fatalf("Links after: %v", err)
	}
	if waited := time.Since(start); waited >= timeout {
		t.Fatalf("the next request waited %v again", waited)
	}
}

// TestTimeoutOption checks which wait bound Open keeps for each
// WithTimeout argument.
func TestTimeoutOption(t *testing.T) {
	ns := nstest.New(t)
	for _, c := range []struct {
		name string
		opts []rtnl.Option
		want time.Duration
	}{
		{"none", nil, rtnl.DefaultTimeout},
		{"zero", []rtnl.Option{rtnl.WithTimeout(0)}, rtnl.DefaultTimeout},
		{"negative", []rtnl.Option{rtnl.WithTimeout(-time.Second)}, rtnl.DefaultTimeout},
		{"250ms", []rtnl.Option{rtnl.WithTimeout(250 * time.Millisecond)}, 250 * time.Millisecond},
		{"last wins", []rtnl.Option{rtnl.WithTimeout(time.Second), rtnl.WithTimeout(time.Millisecond)}, time.Millisecond},
	} {
		s, err := rtnl.Open(ns.Namespace(), c.opts...)
		if err != nil {
			t.Fatal(err)
		}
		if got := time.Duration(rtnl.SocketTimeout(s)); got != c.want {
			t.Errorf("%s: timeout %v, want %v", c.name, got, c.want)
		}
		s.Close()
	}
}

// TestTimeoutLargeDump times out dumps of a 100,000-route table: with a
// timeout too short for any reply the listing fails with EAGAIN at once;
// a dump abandoned half-way by a timed-out wait must not leave the socket
// refusing later dumps (the kernel keeps an unfinished dump running and
// answers any new one with EBUSY until the old one has been read out).
func TestTimeoutLargeDump(t *testing.T) {
	const n = 100_000
	ns := nstest.New(t)
	s := ns.Open()
	route := func(i int) rtnl.Route {
		return rtnl.Route{
			Dst:      netip.PrefixFrom(netip.AddrFrom4([4]byte{20, byte(i >> 16), byte(i >> 8), byte(i)}), 32),
			Type:     rtnl.RouteTypeBlackhole,
			Protocol: 76,
		}
	}
	var b rtnl.Batch
	for i := range n {
		b.RouteAdd(route(i))
	}
	if err := s.Apply(&b); err != nil {
		t.Fatalf("installing %d routes: %v", n, err)
	}
	if got := strings.Count(ns.IP("-4", "route", "show", "proto", "76"), "\n"); got != n {
		t.Fatalf("ip lists %d routes of protocol 76, want %d", got, n)
	}
	// checkRoutes lists the routes and requires exactly the n installed
	// plus extra, each once.
	checkRoutes := func(t *testing.T, step string, extra ...rtnl.Route) {
		t.Helper()
		rs, err := toWithin(t, toHang, s.Routes)
		if err != nil {
			t.Fatalf("%s: Routes: %v", step, err)
		}
		want := map[netip.Prefix]int{}
		for i := range n {
			want[route(i).Dst] = 1
		}
		for _, r := range extra {
			want[r.Dst] = 1
		}
		got := map[netip.Prefix]int{}
		for _, r := range rs {
			if r.Protocol == 76 {
				got[r.Dst]++
			}
		}
		if len(got) != len(want) {
			t.Fatalf("%s: %d distinct routes of protocol 76, want %d", step, len(got), len(want))
		}
		for dst, c := range got {
			if want[dst] != c {
				t.Fatalf("%s: route %v listed %d times, want %d", step, dst, c, want[dst])
			}
		}
	}

	t.Run("tiny timeout", func(t *testing.T) {
		ts, err := rtnl.Open(ns.Namespace(), rtnl.WithTimeout(time.Nanosecond))
		if err != nil {
			t.Fatal(err)
		}
		defer ts.Close()
		for range 3 {
			rs, err := toWithin(t, toHang, ts.Routes)
			toCheckTimeout(t, err, "route list", time.Nanosecond)
			if rs != nil {
				t.Fatalf("Routes returned %d routes with its error, want nil", len(rs))
			}
		}
	})

	t.Run("abandoned dump", func(t *testing.T) {
		got, err := toWithin(t, toHang, func() (int, error) { return rtnl.RoutesAbandoned(s) })
		toCheckTimeout(t, err, "route list", time.Nanosecond)
		if got == 0 || got >= n {
			t.Fatalf("the abandoned dump received %d routes, want some but not all %d", got, n)
		}
		checkRoutes(t, "first listing after an abandoned dump")
		checkRoutes(t, "second listing after an abandoned dump")
		links, err := s.Links()
		if err != nil {
			t.Fatalf("Links: %v", err)
		}
		if got, want := toLinkNames(t, ns, links); !slices.Equal(got, want) {
			t.Fatalf("Links = %v, ip lists %v", got, want)
		}
	})

	t.Run("abandoned dump then batch", func(t *testing.T) {
		if _, err := rtnl.RoutesAbandoned(s); !errors.Is(err, unix.EAGAIN) {
			t.Fatalf("abandoning a dump: %v, want EAGAIN", err)
		}
		var b rtnl.Batch
		extra := route(n)
		b.RouteAdd(extra)
		if err := s.Apply(&b); err != nil {
			t.Fatalf("Apply after an abandoned dump: %v", err)
		}
		if out := ns.IP("route", "show", extra.Dst.String(), "proto", "76"); !strings.Contains(out, "blackhole "+extra.Dst.Addr().String()) {
			t.Fatalf("ip does not list the route Apply added: %q", out)
		}
		checkRoutes(t, "listing after an abandoned dump and a batch", extra)
	})
}
