package integration

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/linx-net/linx/internal/nstest"
)

// dumpRoutes is how many routes BenchmarkRouteDump100k lists.
const dumpRoutes = 100_000

// dumpRounds is how many times each client lists the table per iteration;
// the best run of each is compared: one run on this shared machine varied
// by a third from the next.
const dumpRounds = 5

// dumpPairs is how many times Linx and the raw read each list the table in
// every round, back to back and in alternating order. Their ratio is the
// figure that matters, and each run of the two takes a tenth of a
// vishvananda or `ip` one, so they get three times the samples at little
// cost, taken close together so that load from other processes falls on
// both alike.
const dumpPairs = 3

// dumpNS returns a namespace holding dumpRoutes blackhole /32s in the main
// table (blackhole routes need no device), installed with `ip -batch`.
func dumpNS(b *testing.B) *nstest.NS {
	b.Helper()
	ns := nstest.New(b)
	var lines strings.Builder
	for i := range dumpRoutes {
		fmt.Fprintf(&lines, "route add blackhole 10.%d.%d.%d/32\n", i>>16&255, i>>8&255, i&255)
	}
	ns.Batch(lines.String())
	return ns
}

// rawSocket returns a plain blocking NETLINK_ROUTE socket created inside
// ns and bound, for the raw baselines; the caller closes it.
func rawSocket(b *testing.B, ns *nstest.NS) int {
	b.Helper()
	fd := -1
	if err := ns.Namespace().Run(func() error {
		var err error
		fd, err = unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
		return err
	}); err != nil {
		b.Fatal(err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		b.Fatal(err)
	}
	return fd
}

// dumpRaw is the baseline: the same dump as Socket.Routes (every table,
// both families; only routes of protocol proto when proto is not 0 and the
// socket has NETLINK_GET_STRICT_CHK) on a plain blocking netlink socket
// opened in the namespace, reading every datagram until NLMSG_DONE and
// decoding nothing beyond the message headers needed to find the end. It
// returns the number of route messages and the time taken.
func dumpRaw(b *testing.B, fd int, buf []byte, seq uint32, proto uint8) (int, time.Duration) {
	req := make([]byte, unix.NLMSG_HDRLEN+unix.SizeofRtMsg)
	binary.NativeEndian.PutUint32(req[0:], uint32(len(req)))
	binary.NativeEndian.PutUint16(req[4:], unix.RTM_GETROUTE)
	binary.NativeEndian.PutUint16(req[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	binary.NativeEndian.PutUint32(req[8:], seq)
	req[unix.NLMSG_HDRLEN] = unix.AF_UNSPEC
	req[unix.NLMSG_HDRLEN+5] = proto // rtm_protocol

	start := time.Now()
	if err := unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		b.Fatalf("raw dump: send: %v", err)
	}
	n := 0
	for {
		m, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			b.Fatalf("raw dump: recv: %v", err)
		}
		for p := buf[:m]; len(p) >= unix.NLMSG_HDRLEN; {
			l := int(binary.NativeEndian.Uint32(p[0:4]))
			switch binary.NativeEndian.Uint16(p[4:6]) {
			case unix.NLMSG_DONE:
				return n, time.Since(start)
			case unix.NLMSG_ERROR:
				b.Fatalf("raw dump: kernel error %d", int32(binary.NativeEndian.Uint32(p[16:20])))
			case unix.RTM_NEWROUTE:
				n++
			}
			if l < unix.NLMSG_HDRLEN || l > len(p) {
				b.Fatalf("raw dump: bad message length %d", l)
			}
			p = p[min((l+unix.NLMSG_ALIGNTO-1)&^(unix.NLMSG_ALIGNTO-1), len(p)):]
		}
	}
}

// dumpIPJSON is the `ip -j route show` baseline: it runs
// `ip -n NAME -j route show table all`, which lists every table of both
// families as Socket.Routes does, reads its output to the end and returns
// it with the time taken (process start included, as a user pays it).
func dumpIPJSON(b *testing.B, ns *nstest.NS, out *bytes.Buffer) time.Duration {
	out.Reset()
	var stderr bytes.Buffer
	cmd := exec.Command("ip", "-n", ns.Name, "-j", "route", "show", "table", "all")
	cmd.Stdout, cmd.Stderr = out, &stderr
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if err != nil {
		b.Fatalf("ip -n %s -j route show table all: %v: %s", ns.Name, err, bytes.TrimSpace(stderr.Bytes()))
	}
	return d
}

// BenchmarkRouteDump100k lists 100,000 routes in a throwaway namespace
// with Socket.Routes and times, in the same run and on the same table, a
// raw netlink dump that reads the bytes and decodes nothing (the kernel's
// own cost), vishvananda/netlink's RouteListFiltered over all tables, and
// `ip -j route show table all` with its output read to the end. Every
// iteration runs the four in turn, so load from other processes hits them
// alike, dumpRounds times per iteration (Linx and the raw read dumpPairs
// times each per round, side by side), and the best run of each is
// printed:
//
//	route_dump_100k: linx=<ms> raw=<ms> vishvananda=<ms> ratio_raw=<x.xx> ratio_vishvananda=<x.xx> allocs_per_route=<n> ip_json=<ms> ratio_ip_json=<x.xx>
//
// A ratio is Linx's time over the baseline's; allocs_per_route is the heap
// allocations of one Socket.Routes call divided by the routes it returned.
func BenchmarkRouteDump100k(b *testing.B) {
	if testing.Short() {
		b.Skip("SKIPPED: installs 100,000 routes; not under -short")
	}
	nstest.RequireRoot(b)
	ns := dumpNS(b)

	s := ns.Open()
	fd := rawSocket(b, ns)
	defer unix.Close(fd)
	buf := make([]byte, 64<<10)
	h, err := ns.Namespace().Handle()
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	nl, err := netlink.NewHandleAt(h)
	if err != nil {
		b.Fatal(err)
	}
	defer nl.Close()

	// One untimed pass of each checks that all three see the same routes.
	routes, err := s.Routes()
	if err != nil {
		b.Fatal(err)
	}
	want := len(routes)
	if want < dumpRoutes {
		b.Fatalf("Routes returned %d routes, want at least %d", want, dumpRoutes)
	}
	if n, _ := dumpRaw(b, fd, buf, 1, 0); n != want {
		b.Fatalf("raw dump read %d routes, Linx %d", n, want)
	}
	vr, err := nl.RouteListFiltered(netlink.FAMILY_ALL, &netlink.Route{Table: unix.RT_TABLE_UNSPEC}, netlink.RT_FILTER_TABLE)
	if err != nil {
		b.Fatal(err)
	}
	if len(vr) < dumpRoutes {
		b.Fatalf("vishvananda listed %d routes, want at least %d", len(vr), dumpRoutes)
	}
	var ipOut bytes.Buffer
	dumpIPJSON(b, ns, &ipOut)
	var ipRoutes []json.RawMessage
	if err := json.Unmarshal(ipOut.Bytes(), &ipRoutes); err != nil {
		b.Fatalf("decoding ip -j route show: %v", err)
	}
	if len(ipRoutes) != want {
		b.Fatalf("ip -j route show table all listed %d routes, Linx %d", len(ipRoutes), want)
	}
	ipRoutes = nil

	// Allocations of one Linx listing, per route.
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	routes, err = s.Routes()
	runtime.ReadMemStats(&after)
	if err != nil {
		b.Fatal(err)
	}
	allocs := float64(after.Mallocs-before.Mallocs) / float64(len(routes))
	routes = nil

	var linx, raw, vish, ipj []time.Duration
	seq := uint32(1)
	timeLinx := func() {
		runtime.GC()
		start := time.Now()
		rs, err := s.Routes()
		linx = append(linx, time.Since(start))
		if err != nil || len(rs) != want {
			b.Fatalf("Routes: %d routes, %v", len(rs), err)
		}
	}
	timeRaw := func() {
		runtime.GC()
		seq++
		n, d := dumpRaw(b, fd, buf, seq, 0)
		raw = append(raw, d)
		if n != want {
			b.Fatalf("raw dump read %d routes, Linx %d", n, want)
		}
	}
	for b.Loop() {
		for range dumpRounds {
			for i := range dumpPairs {
				// Alternate which goes first, so that neither always
				// follows the heavier clients below.
				if i%2 == 0 {
					timeLinx()
					timeRaw()
				} else {
					timeRaw()
					timeLinx()
				}
			}

			runtime.GC()
			start := time.Now()
			vr, err := nl.RouteListFiltered(netlink.FAMILY_ALL, &netlink.Route{Table: unix.RT_TABLE_UNSPEC}, netlink.RT_FILTER_TABLE)
			vish = append(vish, time.Since(start))
			if err != nil || len(vr) < dumpRoutes {
				b.Fatalf("RouteListFiltered: %d routes, %v", len(vr), err)
			}
			vr = nil

			runtime.GC()
			ipj = append(ipj, dumpIPJSON(b, ns, &ipOut))
			if ipOut.Len() < dumpRoutes*len(`{"dst":"10.0.0.0"}`) {
				b.Fatalf("ip -j route show printed only %d bytes", ipOut.Len())
			}
		}
	}
	ms := func(ds []time.Duration) float64 { return float64(slices.Min(ds)) / float64(time.Millisecond) }
	l, r, v, j := ms(linx), ms(raw), ms(vish), ms(ipj)
	fmt.Printf("route_dump_100k: linx=%.1f raw=%.1f vishvananda=%.1f ratio_raw=%.2f ratio_vishvananda=%.2f allocs_per_route=%.2f ip_json=%.1f ratio_ip_json=%.2f\n",
		l, r, v, l/r, l/v, allocs, j, l/j)
	b.ReportMetric(l, "linx-ms")
	b.ReportMetric(l/r, "ratio-raw")
	b.ReportMetric(l/v, "ratio-vishvananda")
	b.ReportMetric(l/j, "ratio-ip-json")
	b.ReportMetric(allocs, "allocs/route")
}
