package integration

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/rtnl"
)

// The nexthop benchmarks' objects: two gateways on installNS's r0, and a
// group routes go through.
const (
	nhFirst      = 1
	nhSecond     = 2
	nhGroup      = 100
	nhRounds     = 3
	rtaNexthopID = 30 // RTA_NH_ID
)

var nhSecondGateway = netip.MustParseAddr("10.0.0.3")

// nexthopNS returns installNS with nexthops 1 (10.0.0.2) and 2 (10.0.0.3)
// on r0 and group 100 holding nexthop 1.
func nexthopNS(b *testing.B) (*nstest.NS, *rtnl.Socket) {
	b.Helper()
	ns := installNS(b)
	s := ns.Open()
	r0, err := s.LinkByName("r0")
	if err != nil {
		b.Fatal(err)
	}
	var batch rtnl.Batch
	batch.NexthopAdd(rtnl.Nexthop{ID: nhFirst, Gateway: installGateway, OIF: r0.Index, Protocol: installProto})
	batch.NexthopAdd(rtnl.Nexthop{ID: nhSecond, Gateway: nhSecondGateway, OIF: r0.Index, Protocol: installProto})
	batch.NexthopAdd(rtnl.Nexthop{ID: nhGroup, Group: []rtnl.NexthopMember{{ID: nhFirst}}, Protocol: installProto})
	if err := s.Apply(&batch); err != nil {
		b.Fatal(err)
	}
	return ns, s
}

// viaGateway returns the gateway the kernel picks for the first and the
// last benchmark destination.
func viaGateway(b *testing.B, s *rtnl.Socket) (first, last netip.Addr) {
	b.Helper()
	for i, d := range []int{0, installRoutes - 1} {
		r, err := s.RouteGet(installDst(d).Addr())
		if err != nil {
			b.Fatal(err)
		}
		gw := r.Gateway
		if len(r.NextHops) > 0 {
			gw = r.NextHops[0].Gateway
		}
		if i == 0 {
			first = gw
		} else {
			last = gw
		}
	}
	return first, last
}

// nexthopEvents returns a netlink socket in ns joined to the nexthop
// multicast group alone, so that the 100,000 route notifications a group
// change causes (see groupFailover) do not bury its own.
func nexthopEvents(b *testing.B, ns *nstest.NS) int {
	b.Helper()
	fd := rawSocket(b, ns)
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 1<<20)
	if err := unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_ADD_MEMBERSHIP, unix.RTNLGRP_NEXTHOP); err != nil {
		unix.Close(fd)
		b.Fatal(err)
	}
	return fd
}

// waitNexthop reads fd until the kernel reports nexthop id as a group of
// the one member want.
func waitNexthop(b *testing.B, fd int, id, want uint32) {
	b.Helper()
	buf := make([]byte, 64<<10)
	tv := unix.NsecToTimeval(int64(30 * time.Second))
	_ = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			b.Fatalf("waiting for the nexthop event: %v", err)
		}
		for d := buf[:n]; len(d) >= unix.NLMSG_HDRLEN; {
			l := int(binary.NativeEndian.Uint32(d))
			if l < unix.NLMSG_HDRLEN || l > len(d) {
				break
			}
			if binary.NativeEndian.Uint16(d[4:]) == unix.RTM_NEWNEXTHOP {
				nh, err := rtnl.DecodeNexthop(d[unix.NLMSG_HDRLEN:l])
				if err == nil && nh.ID == id && len(nh.Group) == 1 && nh.Group[0].ID == want {
					return
				}
			}
			d = d[min((l+3)&^3, len(d)):]
		}
	}
}

// groupFailover times moving installRoutes routes that use group 100 from
// nexthop 1 to nexthop 2 by replacing the group: from the request until
// the kernel reports the group's new member on the nexthop multicast
// group. With compat set, the namespace keeps the kernel's default
// net.ipv4.nexthop_compat_mode=1, in which the kernel also sends a route
// notification for every route the change moves; without it the
// namespace is set to 0, as routing daemons that use nexthop objects do.
func groupFailover(b *testing.B, compat bool) time.Duration {
	ns, s := nexthopNS(b)
	if !compat {
		ns.Exec("sysctl", "-q", "-w", "net.ipv4.nexthop_compat_mode=0")
	}
	var batch rtnl.Batch
	for i := range installRoutes {
		batch.RouteAdd(rtnl.Route{Dst: installDst(i), NHID: nhGroup, Protocol: installProto})
	}
	if err := s.Apply(&batch); err != nil {
		b.Fatal(err)
	}
	wantOwn(b, ns, "routes through the group", installRoutes)
	fd := nexthopEvents(b, ns)
	defer unix.Close(fd)

	start := time.Now()
	if err := s.NexthopReplace(rtnl.Nexthop{ID: nhGroup, Group: []rtnl.NexthopMember{{ID: nhSecond}}, Protocol: installProto}); err != nil {
		b.Fatal(err)
	}
	waitNexthop(b, fd, nhGroup, nhSecond)
	took := time.Since(start)
	if first, last := viaGateway(b, s); first != nhSecondGateway || last != nhSecondGateway {
		b.Fatalf("after the group replace the routes go via %s and %s, want %s", first, last, nhSecondGateway)
	}
	return took
}

// perRouteFailover times the same move without nexthop objects: every
// route rewritten by its own RouteReplace, one round trip each, as a
// client without nexthop objects fails over.
func perRouteFailover(b *testing.B) time.Duration {
	ns := installNS(b)
	s := ns.Open()
	var batch rtnl.Batch
	for i := range installRoutes {
		batch.RouteAdd(rtnl.Route{Dst: installDst(i), Gateway: installGateway, Protocol: installProto})
	}
	if err := s.Apply(&batch); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	for i := range installRoutes {
		if err := s.RouteReplace(rtnl.Route{Dst: installDst(i), Gateway: nhSecondGateway, Protocol: installProto}); err != nil {
			b.Fatal(err)
		}
	}
	took := time.Since(start)
	if first, last := viaGateway(b, s); first != nhSecondGateway || last != nhSecondGateway {
		b.Fatalf("after rewriting every route they go via %s and %s, want %s", first, last, nhSecondGateway)
	}
	return took
}

// BenchmarkNexthopFailover moves 100,000 routes from one gateway to
// another: by replacing the nexthop group they use (timed until the
// kernel reports the change), and, as the baseline measured in the same
// run, by rewriting each route with its own request. Each runs nhRounds
// times in fresh namespaces; the best run of each is printed. The group
// replace is timed with net.ipv4.nexthop_compat_mode=0 (group_ms) and with
// the kernel's default 1 (group_compat_ms), in which the kernel sends one
// route notification per route the change moves.
//
//	nexthop_failover: routes=100000 group_ms=<ms> per_route_ms=<ms> ratio=<per_route/group> group_compat_ms=<ms>
func BenchmarkNexthopFailover(b *testing.B) {
	if testing.Short() {
		b.Skip("SKIPPED: installs 100,000 routes; not under -short")
	}
	nstest.RequireRoot(b)
	var group, compat, perRoute []time.Duration
	for b.Loop() {
		for range nhRounds {
			group = append(group, groupFailover(b, false))
			compat = append(compat, groupFailover(b, true))
			perRoute = append(perRoute, perRouteFailover(b))
		}
	}
	ms := func(ds []time.Duration) float64 { return float64(slices.Min(ds)) / float64(time.Millisecond) }
	g, c, p := ms(group), ms(compat), ms(perRoute)
	fmt.Printf("nexthop_failover: routes=%d group_ms=%.3f per_route_ms=%.1f ratio=%.0f group_compat_ms=%.1f\n", installRoutes, g, p, p/g, c)
}

// linxInstallNH times installing installRoutes routes through nexthop 1
// with a batch, building it included.
func linxInstallNH(b *testing.B) time.Duration {
	ns, s := nexthopNS(b)
	start := time.Now()
	var batch rtnl.Batch
	for i := range installRoutes {
		batch.RouteAdd(rtnl.Route{Dst: installDst(i), NHID: nhFirst, Protocol: installProto})
	}
	if err := s.Apply(&batch); err != nil {
		b.Fatal(err)
	}
	took := time.Since(start)
	wantOwn(b, ns, "linx install through a nexthop", installRoutes)
	return took
}

// rawInstallNH times the raw batched install of the same routes: one
// pre-encoded RTM_NEWROUTE with RTA_NH_ID each, sent as rawRun sends.
func rawInstallNH(b *testing.B) time.Duration {
	ns, _ := nexthopNS(b)
	const msgLen = 16 + 12 + 8 + 8 + 8 // nlmsghdr, rtmsg, RTA_TABLE, RTA_DST, RTA_NH_ID
	msgs := make([]byte, 0, installRoutes*msgLen)
	for i := range installRoutes {
		dst := installDst(i).Addr().As4()
		at := len(msgs)
		msgs = binary.NativeEndian.AppendUint32(msgs, 0)
		msgs = binary.NativeEndian.AppendUint16(msgs, unix.RTM_NEWROUTE)
		msgs = binary.NativeEndian.AppendUint16(msgs, unix.NLM_F_REQUEST|unix.NLM_F_CREATE|unix.NLM_F_EXCL)
		msgs = binary.NativeEndian.AppendUint32(msgs, uint32(i+1))
		msgs = binary.NativeEndian.AppendUint32(msgs, 0)
		msgs = append(msgs, unix.AF_INET, 24, 0, 0, unix.RT_TABLE_MAIN, installProto, unix.RT_SCOPE_UNIVERSE, unix.RTN_UNICAST, 0, 0, 0, 0)
		msgs = rawAttr(msgs, unix.RTA_TABLE, binary.NativeEndian.AppendUint32(nil, unix.RT_TABLE_MAIN))
		msgs = rawAttr(msgs, unix.RTA_DST, dst[:])
		msgs = rawAttr(msgs, rtaNexthopID, binary.NativeEndian.AppendUint32(nil, nhFirst))
		binary.NativeEndian.PutUint32(msgs[at:], uint32(len(msgs)-at))
	}
	fd := rawSocket(b, ns)
	defer unix.Close(fd)
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 4<<20)
	_ = unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_CAP_ACK, 1)
	took := rawRun(b, fd, msgs)
	wantOwn(b, ns, "raw install through a nexthop", installRoutes)
	return took
}

// BenchmarkRouteInstallNH100k installs 100,000 routes through a nexthop
// object with rtnl's batch API and, as the baseline in the same run, with
// a raw batched client; each runs installRounds times in turn and the
// best run of each is printed.
//
//	route_install_nh_100k: linx=<ms> raw=<ms> ratio=<x.xx>
func BenchmarkRouteInstallNH100k(b *testing.B) {
	if testing.Short() {
		b.Skip("SKIPPED: installs 100,000 routes; not under -short")
	}
	nstest.RequireRoot(b)
	var linx, raw []time.Duration
	for b.Loop() {
		for range installRounds {
			linx = append(linx, linxInstallNH(b))
			raw = append(raw, rawInstallNH(b))
		}
	}
	l := float64(slices.Min(linx)) / float64(time.Millisecond)
	r := float64(slices.Min(raw)) / float64(time.Millisecond)
	fmt.Printf("route_install_nh_100k: linx=%.0f raw=%.0f ratio=%.2f\n", l, r, l/r)
}
