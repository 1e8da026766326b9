package fakekernel

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/linx-net/linx/rtnl"
)

// datagram is the number of requests an *rtnl.Socket sends per sendmsg;
// a batch that stops on an error stops at the end of the datagram that
// carried it.
const datagram = 64

// Kernel is an in-memory namespace (see the package documentation).
type Kernel struct {
	mu     sync.Mutex
	ns     rtnl.Namespace
	id     rtnl.NamespaceID
	next   int
	links  []rtnl.Link
	addrs  []rtnl.Address
	routes routeTable
	neighs []rtnl.Neighbour
	rules  []rtnl.Rule
	nhs    []rtnl.Nexthop
	noIPv6 map[int]bool
	// mtuSet holds the bridges whose MTU was changed after creation: the
	// kernel no longer makes it follow their ports' (br_mtu_auto_adjust).
	mtuSet map[int]bool
	// noPeer is set while LinkAdd creates a veth whose peer goes to
	// another namespace, which the fake does not model.
	noPeer bool
	fault  Fault
}

// Fault decides whether the kernel refuses a request that it would
// otherwise carry out, as a real kernel does for reasons the fake does not
// model (a link kind not built in, a value out of range, a full table):
// op is the request ("link add", "address add", "route add", "neighbour
// add", "rule add", "nexthop add", or the "… delete" of each) and obj the
// object it carries, decoded from the request (rtnl.Link, rtnl.Address,
// rtnl.Route, rtnl.Neighbour, rtnl.Rule, rtnl.Nexthop). A non-nil error
// is the kernel's answer; nothing changes then. Link updates are "link
// add" requests too, without a Kind unless the update names one.
type Fault func(op string, obj any) *rtnl.Error

// SetFault makes the kernel consult f before every request of a batch
// (and of LinkAdd and RuleDelete); nil removes it.
func (k *Kernel) SetFault(f Fault) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.fault = f
}

// Refuse returns the *rtnl.Error a Fault answers with: op, errno and
// the kernel's message.
func Refuse(op string, errno unix.Errno, message string) *rtnl.Error {
	return &rtnl.Error{Op: op, Errno: errno, Message: message}
}

// faulty returns the fault's answer to op on obj, nil when there is no
// fault or it lets the request through.
func (k *Kernel) faulty(op string, obj any) *rtnl.Error {
	if k.fault == nil {
		return nil
	}
	return k.fault(op, obj)
}

// New returns a kernel for the namespace ns, whose identity is id: it
// holds the loopback device (index 1, up, with 127.0.0.1/8 and ::1/128)
// and the default rules of both families, all marked as the kernel's.
func New(ns rtnl.Namespace, id rtnl.NamespaceID) *Kernel {
	k := &Kernel{ns: ns, id: id, next: 2, noIPv6: map[int]bool{}, mtuSet: map[int]bool{}, routes: newRouteTable(0)}
	k.links = []rtnl.Link{{Index: 1, Name: "lo", MTU: 65536, Flags: net.FlagUp | net.FlagLoopback,
		HardwareAddr: net.HardwareAddr{0, 0, 0, 0, 0, 0}, TxQueueLen: 1000}}
	k.addrs = []rtnl.Address{
		{Index: 1, Prefix: netip.MustParsePrefix("127.0.0.1/8"), Label: "lo", Scope: rtnl.ScopeHost, Flags: unix.IFA_F_PERMANENT, Protocol: 1},
		{Index: 1, Prefix: netip.MustParsePrefix("::1/128"), Scope: rtnl.ScopeHost, Flags: unix.IFA_F_PERMANENT, Protocol: 1},
	}
	for _, r := range []struct {
		fam   rtnl.Family
		prio  uint32
		table uint32
	}{
		{rtnl.FamilyV4, 0, 255}, {rtnl.FamilyV4, 32766, 254}, {rtnl.FamilyV4, 32767, 253},
		{rtnl.FamilyV6, 0, 255}, {rtnl.FamilyV6, 32766, 254},
	} {
		k.rules = append(k.rules, rtnl.Rule{Family: r.fam, Priority: r.prio, Table: r.table,
			Action: rtnl.RuleToTable, Protocol: rtnl.ProtocolKernel})
	}
	return k
}

// Namespace returns the namespace given to New.
func (k *Kernel) Namespace() rtnl.Namespace { return k.ns }

// NamespaceID returns the identity given to New.
func (k *Kernel) NamespaceID() rtnl.NamespaceID { return k.id }

// DisableIPv6 turns IPv6 off on the link named name, as the sysctl
// net.ipv6.conf.NAME.disable_ipv6 does: its IPv6 addresses go, and adding
// one fails with EACCES. It returns ENODEV when there is no such link.
func (k *Kernel) DisableIPv6(name string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	l := k.linkByName(name)
	if l == nil {
		return fail("disable ipv6", unix.ENODEV, "no such interface %q", name)
	}
	k.noIPv6[l.Index] = true
	k.addrs = slices.DeleteFunc(k.addrs, func(a rtnl.Address) bool { return a.Index == l.Index && a.Prefix.Addr().Is6() })
	return nil
}

// Links returns the links by index.
func (k *Kernel) Links() ([]rtnl.Link, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := make([]rtnl.Link, len(k.links))
	for i, l := range k.links {
		l.HardwareAddr = slices.Clone(l.HardwareAddr)
		out[i] = l
	}
	return out, nil
}

// Addresses returns the addresses of every link.
func (k *Kernel) Addresses() ([]rtnl.Address, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Clone(k.addrs), nil
}

// Neighbours returns the neighbours of every link.
func (k *Kernel) Neighbours() ([]rtnl.Neighbour, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := make([]rtnl.Neighbour, len(k.neighs))
	for i, n := range k.neighs {
		n.HardwareAddr = slices.Clone(n.HardwareAddr)
		out[i] = n
	}
	return out, nil
}

// Rules returns the rules in the order the kernel matches them.
func (k *Kernel) Rules() ([]rtnl.Rule, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Clone(k.rules), nil
}

// RoutesFiltered returns the routes f selects (a zero field selects any).
func (k *Kernel) RoutesFiltered(f rtnl.RouteFilter) ([]rtnl.Route, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.routes.list(func(r *rtnl.Route) bool { return selects(f, r) }), nil
}

// EachRoute calls fn with each route f selects, as RoutesFiltered lists
// them but in no particular order (as a dump streams them: the pass
// sorts what it reads), without a list of them all; it stops at and
// returns fn's first error. The *rtnl.Route is valid only during the
// call. fn must not call k.
func (k *Kernel) EachRoute(f rtnl.RouteFilter, fn func(*rtnl.Route) error) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	each := func(e *routeEntry) error {
		if !selects(f, &e.r) {
			return nil
		}
		r := e.r
		r.NextHops = slices.Clone(r.NextHops)
		return fn(&r)
	}
	for _, e := range k.routes.first {
		if err := each(&e); err != nil {
			return err
		}
	}
	for _, more := range k.routes.more {
		for i := range more {
			if err := each(&more[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

// selects reports whether filter f selects route r (a zero field selects
// any).
func selects(f rtnl.RouteFilter, r *rtnl.Route) bool {
	return (f.Family == 0 || familyOf(r.Dst.Addr()) == f.Family) &&
		(f.Table == 0 || r.Table == f.Table) &&
		(f.Protocol == 0 || r.Protocol == f.Protocol) &&
		(f.OIF == 0 || r.OIF == f.OIF)
}

// Nexthops returns every nexthop object, groups included, by id.
func (k *Kernel) Nexthops() ([]rtnl.Nexthop, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := make([]rtnl.Nexthop, len(k.nhs))
	for i, n := range k.nhs {
		n.Group = slices.Clone(n.Group)
		out[i] = n
	}
	slices.SortFunc(out, func(a, b rtnl.Nexthop) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// ApplyWith carries out the entries of b in order and fails as
// rtnl.Socket.ApplyWith does: nil, or a *rtnl.BatchError listing the
// failed entries (with StopOnError, Done marks the first entry of the
// datagram after the one that failed).
func (k *Kernel) ApplyWith(b *rtnl.Batch, o rtnl.ApplyOptions) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	var (
		fails   []rtnl.BatchFailure
		sent    int // requests sent (entries refused while encoding are not)
		stopped bool
	)
	done := 0
	for i, e := range b.Entries() {
		if stopped && (e.Err != nil || sent%datagram == 0) {
			break // the datagram that carried the failure is over
		}
		done = i + 1
		var err *rtnl.Error
		if e.Err != nil {
			err = e.Err
		} else {
			sent++
			err = k.do(e)
		}
		if err != nil {
			fails = append(fails, rtnl.BatchFailure{Index: i, Op: err.Op, Err: err})
			if o.StopOnError {
				stopped = true
				if e.Err != nil {
					break
				}
			}
		}
	}
	if len(fails) == 0 && done == b.Len() {
		return nil
	}
	return &rtnl.BatchError{Failures: fails, Done: done, Len: b.Len()}
}

// LinkAdd creates l as a one-entry batch would. A veth whose peer goes to
// another namespace is created alone: the fake models one namespace.
func (k *Kernel) LinkAdd(l rtnl.Link) error {
	if v, ok := l.Data.(rtnl.Veth); ok && !v.PeerNamespace.IsHost() {
		v.PeerNamespace = rtnl.Host()
		l.Data = v
		k.mu.Lock()
		k.noPeer = true
		k.mu.Unlock()
		defer func() {
			k.mu.Lock()
			k.noPeer = false
			k.mu.Unlock()
		}()
	}
	var b rtnl.Batch
	b.LinkAdd(l)
	err := k.ApplyWith(&b, rtnl.ApplyOptions{StopOnError: true})
	var be *rtnl.BatchError
	if errors.As(err, &be) && len(be.Failures) > 0 {
		return be.Failures[0].Err
	}
	return err
}

// RuleDelete deletes exactly r, as rtnl.Socket.RuleDelete does: ENOENT
// when r is not installed, EBUSY when the kernel would match an earlier
// rule to the request first (and nothing is deleted in either case).
func (k *Kernel) RuleDelete(r rtnl.Rule) error {
	const op = "rule delete"
	var b rtnl.Batch
	b.RuleDelete(r)
	var req rtnl.Rule
	for _, e := range b.Entries() {
		if e.Err != nil {
			return e.Err
		}
		d, _, err := rtnl.DecodeRule(e.Payload)
		if err != nil {
			return err
		}
		req = wireRule(d)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if f := k.faulty(op, r); f != nil {
		return f
	}
	first := -1
	for i, x := range k.rules {
		if x.Family != req.Family {
			continue
		}
		if first < 0 && ruleMatches(req, x) {
			first = i
		}
		if ruleSame(req, x) {
			if first != i {
				return fail(op, unix.EBUSY, "%s is shadowed by the earlier %s", r, k.rules[first])
			}
			k.rules = slices.Delete(k.rules, i, i+1)
			return nil
		}
	}
	return fail(op, unix.ENOENT, "%s is not installed", r)
}

func fail(op string, errno unix.Errno, format string, args ...any) *rtnl.Error {
	return &rtnl.Error{Op: op, Errno: errno, Message: fmt.Sprintf(format, args...)}
}

func familyOf(a netip.Addr) rtnl.Family {
	if a.Is4() {
		return rtnl.FamilyV4
	}
	return rtnl.FamilyV6
}

func (k *Kernel) linkByName(name string) *rtnl.Link {
	for i := range k.links {
		if k.links[i].Name == name {
			return &k.links[i]
		}
	}
	return nil
}

func (k *Kernel) linkByIndex(index int) *rtnl.Link {
	for i := range k.links {
		if k.links[i].Index == index {
			return &k.links[i]
		}
	}
	return nil
}

// do carries out one request.
func (k *Kernel) do(e rtnl.BatchEntry) *rtnl.Error {
	create := e.Flags&unix.NLM_F_CREATE != 0
	excl := e.Flags&unix.NLM_F_EXCL != 0
	replace := e.Flags&unix.NLM_F_REPLACE != 0
	switch e.Type {
	case unix.RTM_NEWLINK:
		return k.newLink(e.Payload, create, excl)
	case unix.RTM_DELLINK:
		return k.delLink(e.Payload)
	case unix.RTM_NEWADDR:
		a, err := rtnl.DecodeAddress(e.Payload)
		if err != nil {
			return fail("address add", unix.EINVAL, "%v", err)
		}
		if f := k.faulty("address add", a); f != nil {
			return f
		}
		return k.newAddr(a, excl, replace)
	case unix.RTM_DELADDR:
		a, err := rtnl.DecodeAddress(e.Payload)
		if err != nil {
			return fail("address delete", unix.EINVAL, "%v", err)
		}
		if f := k.faulty("address delete", a); f != nil {
			return f
		}
		return k.delAddr(a)
	case unix.RTM_NEWROUTE:
		r, _, err := rtnl.DecodeRoute(e.Payload)
		if err != nil {
			return fail("route add", unix.EINVAL, "%v", err)
		}
		if f := k.faulty("route add", r); f != nil {
			return f
		}
		return k.newRoute(r, excl, replace)
	case unix.RTM_DELROUTE:
		r, _, err := rtnl.DecodeRoute(e.Payload)
		if err != nil {
			return fail("route delete", unix.EINVAL, "%v", err)
		}
		if f := k.faulty("route delete", r); f != nil {
			return f
		}
		return k.delRoute(r)
	case unix.RTM_NEWNEIGH:
		n, _, err := rtnl.DecodeNeighbour(e.Payload)
		if err != nil {
			return fail("neighbour add", unix.EINVAL, "%v", err)
		}
		if f := k.faulty("neighbour add", n); f != nil {
			return f
		}
		return k.newNeigh(n, excl, replace)
	case unix.RTM_DELNEIGH:
		n, _, err := rtnl.DecodeNeighbour(e.Payload)
		if err != nil {
			return fail("neighbour delete", unix.EINVAL, "%v", err)
		}
		if f := k.faulty("neighbour delete", n); f != nil {
			return f
		}
		return k.delNeigh(n)
	case unix.RTM_NEWRULE:
		r, _, err := rtnl.DecodeRule(e.Payload)
		if err != nil {
			return fail("rule add", unix.EINVAL, "%v", err)
		}
		if f := k.faulty("rule add", r); f != nil {
			return f
		}
		return k.newRule(wireRule(r), excl)
	case unix.RTM_DELRULE:
		r, _, err := rtnl.DecodeRule(e.Payload)
		if err != nil {
			return fail("rule delete", unix.EINVAL, "%v", err)
		}
		if f := k.faulty("rule delete", r); f != nil {
			return f
		}
		return k.delRule(wireRule(r))
	case unix.RTM_NEWNEXTHOP:
		n, err := rtnl.DecodeNexthop(e.Payload)
		if err != nil {
			return fail("nexthop add", unix.EINVAL, "%v", err)
		}
		if f := k.faulty("nexthop add", n); f != nil {
			return f
		}
		return k.newNexthop(n, excl, replace)
	case unix.RTM_DELNEXTHOP:
		n, err := rtnl.DecodeNexthop(e.Payload)
		if err != nil {
			return fail("nexthop delete", unix.EINVAL, "%v", err)
		}
		if f := k.faulty("nexthop delete", n); f != nil {
			return f
		}
		return k.delNexthop(n.ID)
	}
	return fail("request", unix.EOPNOTSUPP, "message type %d is not modelled", e.Type)
}

func (k *Kernel) newLink(payload []byte, create, excl bool) *rtnl.Error {
	const op = "link add"
	l, err := rtnl.DecodeLink(payload)
	if err != nil {
		return fail(op, unix.EINVAL, "%v", err)
	}
	if f := k.faulty(op, l); f != nil {
		return f
	}
	if len(payload) < unix.SizeofIfInfomsg {
		return fail(op, unix.EINVAL, "short ifinfomsg")
	}
	flags := net.Flags(binary.NativeEndian.Uint32(payload[8:]))
	change := net.Flags(binary.NativeEndian.Uint32(payload[12:]))
	var cur *rtnl.Link
	if l.Index != 0 {
		cur = k.linkByIndex(l.Index)
	} else if l.Name != "" {
		cur = k.linkByName(l.Name)
	}
	if cur == nil {
		if !create {
			return fail("link modify", unix.ENODEV, "no such interface %q (index %d)", l.Name, l.Index)
		}
		if l.Kind == "" {
			return fail(op, unix.EOPNOTSUPP, "link %q has no kind", l.Name)
		}
		if l.ParentIndex != 0 && k.linkByIndex(l.ParentIndex) == nil {
			return fail(op, unix.ENODEV, "no such parent interface index %d", l.ParentIndex)
		}
		if l.MasterIndex != 0 && k.linkByIndex(l.MasterIndex) == nil {
			return fail(op, unix.ENODEV, "no such master interface index %d", l.MasterIndex)
		}
		if l.Name != "" && k.linkByName(l.Name) != nil {
			return fail(op, unix.EEXIST, "link %q exists", l.Name)
		}
		peer := ""
		if l.Kind == "veth" && !k.noPeer {
			peer = vethPeer(payload)
			if peer != "" && k.linkByName(peer) != nil {
				return fail(op, unix.EEXIST, "veth peer %q exists", peer)
			}
		}
		if peer != "" {
			k.next++ // veth_newlink registers the peer first
		}
		l.Index = k.next
		k.next++
		if l.MTU == 0 {
			l.MTU = 1500
		}
		if l.HardwareAddr == nil {
			l.HardwareAddr = net.HardwareAddr{0x02, 0xfa, 0x4b, 0, byte(l.Index >> 8), byte(l.Index)}
		}
		if l.TxQueueLen == 0 {
			l.TxQueueLen = 1000
		}
		l.Flags = flags & change & net.FlagUp
		l.OperState = 0
		if peer != "" {
			// veth_newlink: the peer is created down, of the default MTU,
			// and each end names the other as its link.
			pi := l.Index - 1
			p := rtnl.Link{Index: pi, Name: peer, Kind: "veth", MTU: 1500, ParentIndex: l.Index, Data: rtnl.Veth{},
				HardwareAddr: net.HardwareAddr{0x02, 0xfa, 0x4b, 0, byte(pi >> 8), byte(pi)}, TxQueueLen: 1000}
			l.ParentIndex = p.Index
			k.links = append(k.links, p, l)
		} else {
			k.links = append(k.links, l)
		}
		if l.MasterIndex != 0 {
			k.autoMTU(l.MasterIndex)
		}
		return nil
	}
	if create && excl {
		return fail(op, unix.EEXIST, "link %q exists", cur.Name)
	}
	if l.Kind != "" && l.Kind != cur.Kind {
		return fail("link modify", unix.EOPNOTSUPP, "link %q is of kind %q, not %q", cur.Name, cur.Kind, l.Kind)
	}
	if l.MasterIndex != 0 && (l.MasterIndex == cur.Index || k.linkByIndex(l.MasterIndex) == nil) {
		return fail("link modify", unix.ENODEV, "no such master interface index %d", l.MasterIndex)
	}
	// do_setlink sets the MTU before the master.
	if l.MTU != 0 && l.MTU != cur.MTU {
		cur.MTU = l.MTU
		if cur.Kind == "bridge" {
			k.mtuSet[cur.Index] = true // br_change_mtu
		}
		if cur.MasterIndex != 0 {
			k.autoMTU(cur.MasterIndex) // the bridge follows its port
		}
	}
	// IFLA_MASTER sent as 0 releases the link (do_set_master); not sent,
	// it leaves the master as it is.
	_, master := attr(payload[unix.SizeofIfInfomsg:], unix.IFLA_MASTER)
	if master && l.MasterIndex != cur.MasterIndex {
		old := cur.MasterIndex
		cur.MasterIndex = l.MasterIndex
		if old != 0 {
			k.autoMTU(old)
		}
		if l.MasterIndex != 0 {
			k.autoMTU(l.MasterIndex)
		}
	}
	if l.HardwareAddr != nil {
		cur.HardwareAddr = slices.Clone(l.HardwareAddr)
	}
	if l.TxQueueLen != 0 {
		cur.TxQueueLen = l.TxQueueLen
	}
	wasUp := cur.Flags&net.FlagUp != 0
	cur.Flags = cur.Flags&^change | flags&change
	switch up := cur.Flags&net.FlagUp != 0; {
	case wasUp && !up:
		// fib_disable_ip, rt6_sync_down_dev: the routes through a link
		// that goes down go with it.
		index := cur.Index
		k.routes.deleteFunc(func(r *rtnl.Route) bool { return r.OIF == index })
	case !wasUp && up:
		for _, a := range slices.Clone(k.addrs) {
			if a.Index == cur.Index {
				k.addPrefixRoute(a)
			}
		}
	}
	return nil
}

func (k *Kernel) delLink(payload []byte) *rtnl.Error {
	const op = "link delete"
	if len(payload) < unix.SizeofIfInfomsg {
		return fail(op, unix.EINVAL, "short ifinfomsg")
	}
	index := int(int32(binary.NativeEndian.Uint32(payload[4:])))
	l := k.linkByIndex(index)
	if l != nil {
		if f := k.faulty(op, *l); f != nil {
			return f
		}
	}
	switch {
	case l == nil:
		return fail(op, unix.ENODEV, "no such interface index %d", index)
	case l.Kind == "":
		return fail(op, unix.EOPNOTSUPP, "link %q cannot be deleted", l.Name)
	}
	// A veth takes its peer along.
	gone := []int{index}
	if l.Kind == "veth" && l.ParentIndex != 0 && !l.ParentElsewhere {
		if p := k.linkByIndex(l.ParentIndex); p != nil && p.Kind == "veth" && p.ParentIndex == index && !p.ParentElsewhere {
			gone = append(gone, p.Index)
		}
	}
	var masters []int
	for _, i := range gone {
		if x := k.linkByIndex(i); x.MasterIndex != 0 && !slices.Contains(gone, x.MasterIndex) {
			masters = append(masters, x.MasterIndex)
		}
	}
	k.links = slices.DeleteFunc(k.links, func(x rtnl.Link) bool { return slices.Contains(gone, x.Index) })
	for i := range k.links {
		if slices.Contains(gone, k.links[i].MasterIndex) {
			k.links[i].MasterIndex = 0
		}
	}
	for _, m := range masters {
		k.autoMTU(m)
	}
	if len(gone) > 1 {
		k.dropLink(gone[1])
	}
	k.dropLink(index)
	return nil
}

// dropLink removes what was on the deleted link of index.
func (k *Kernel) dropLink(index int) {
	k.addrs = slices.DeleteFunc(k.addrs, func(a rtnl.Address) bool { return a.Index == index })
	k.neighs = slices.DeleteFunc(k.neighs, func(n rtnl.Neighbour) bool { return n.Index == index })
	k.routes.deleteFunc(func(r *rtnl.Route) bool { return r.OIF == index })
	for _, n := range slices.Clone(k.nhs) {
		if n.OIF == index {
			k.delNexthop(n.ID)
		}
	}
	delete(k.noIPv6, index)
	delete(k.mtuSet, index)
}

// lowestPortMTU returns the lowest MTU of the ports of the link of index,
// and whether it has any.
func (k *Kernel) lowestPortMTU(index int) (int, bool) {
	low, ok := 0, false
	for _, l := range k.links {
		if l.MasterIndex == index && (!ok || l.MTU < low) {
			low, ok = l.MTU, true
		}
	}
	return low, ok
}

// autoMTU gives the bridge of index the lowest MTU of its ports (1500
// with none), unless its MTU was set after creation, as the kernel does
// when a port comes, goes or changes its MTU (br_mtu_auto_adjust).
func (k *Kernel) autoMTU(index int) {
	br := k.linkByIndex(index)
	if br == nil || br.Kind != "bridge" || k.mtuSet[index] {
		return
	}
	low, ok := k.lowestPortMTU(index)
	if !ok {
		low = 1500
	}
	br.MTU = low
}

// vethPeer returns the name of the peer a veth create request names in
// IFLA_LINKINFO / IFLA_INFO_DATA / VETH_INFO_PEER, "" when none, or when
// the peer goes to another namespace (IFLA_NET_NS_FD).
func vethPeer(payload []byte) string {
	if len(payload) < unix.SizeofIfInfomsg {
		return ""
	}
	info, ok := attr(payload[unix.SizeofIfInfomsg:], unix.IFLA_LINKINFO)
	if !ok {
		return ""
	}
	data, ok := attr(info, unix.IFLA_INFO_DATA)
	if !ok {
		return ""
	}
	peer, ok := attr(data, 1) // VETH_INFO_PEER
	if !ok || len(peer) < unix.SizeofIfInfomsg {
		return ""
	}
	attrs := peer[unix.SizeofIfInfomsg:]
	if _, elsewhere := attr(attrs, unix.IFLA_NET_NS_FD); elsewhere {
		return ""
	}
	name, ok := attr(attrs, unix.IFLA_IFNAME)
	if !ok {
		return ""
	}
	return string(bytes.TrimRight(name, "\x00"))
}

// attr returns the payload of the first attribute of type typ in b.
func attr(b []byte, typ uint16) ([]byte, bool) {
	for len(b) >= unix.SizeofRtAttr {
		n := int(binary.NativeEndian.Uint16(b))
		t := binary.NativeEndian.Uint16(b[2:]) &^ (unix.NLA_F_NESTED | unix.NLA_F_NET_BYTEORDER)
		if n < unix.SizeofRtAttr || n > len(b) {
			return nil, false
		}
		if t == typ {
			return b[unix.SizeofRtAttr:n], true
		}
		b = b[min((n+3)&^3, len(b)):]
	}
	return nil, false
}

// sameAddress reports whether a and b name one address of a link: IPv4 by
// address and prefix length, IPv6 by address alone.
func sameAddress(a, b rtnl.Address) bool {
	if a.Index != b.Index || a.Prefix.Addr() != b.Prefix.Addr() {
		return false
	}
	return a.Prefix.Addr().Is6() || a.Prefix.Bits() == b.Prefix.Bits()
}

func (k *Kernel) newAddr(a rtnl.Address, excl, replace bool) *rtnl.Error {
	const op = "address add"
	l := k.linkByIndex(a.Index)
	switch {
	case l == nil:
		return fail(op, unix.ENODEV, "no such interface index %d", a.Index)
	case a.Prefix.Addr().Is6() && k.noIPv6[a.Index]:
		return fail(op, unix.EACCES, "IPv6 is disabled on this device")
	}
	if a.Prefix.Addr().Is4() && a.Label == "" {
		a.Label = l.Name
	}
	a.Flags |= unix.IFA_F_PERMANENT
	for i := range k.addrs {
		if sameAddress(k.addrs[i], a) {
			if excl || !replace {
				return fail(op, unix.EEXIST, "address %s exists", a.Prefix)
			}
			k.addrs[i] = a
			return nil
		}
	}
	k.addrs = append(k.addrs, a)
	k.addPrefixRoute(a)
	return nil
}

func (k *Kernel) delAddr(a rtnl.Address) *rtnl.Error {
	i := slices.IndexFunc(k.addrs, func(x rtnl.Address) bool { return sameAddress(x, a) })
	if i < 0 {
		return fail("address delete", unix.EADDRNOTAVAIL, "no address %s on index %d", a.Prefix, a.Index)
	}
	k.addrs = slices.Delete(k.addrs, i, i+1)
	if !a.Prefix.Addr().Is4() {
		return nil
	}
	// fib_del_ifaddr: routes preferring the address as their source go;
	// fib_disable_ip: with the link's last IPv4 address, every IPv4 route
	// and ARP entry through it goes, permanent ones included.
	last := !slices.ContainsFunc(k.addrs, func(x rtnl.Address) bool { return x.Index == a.Index && x.Prefix.Addr().Is4() })
	k.routes.deleteFunc(func(r *rtnl.Route) bool {
		return r.Dst.Addr().Is4() && (r.Src == a.Prefix.Addr() || last && r.OIF == a.Index)
	})
	if last {
		k.neighs = slices.DeleteFunc(k.neighs, func(n rtnl.Neighbour) bool { return n.Index == a.Index && n.IP.Is4() })
	}
	return nil
}

// routeKey is what tells two routes of a table apart: IPv4's fib alias
// (destination, TOS, priority) and IPv6's (destination, metric).
type routeKey struct {
	table  uint32
	dst    netip.Prefix
	tos    uint8
	metric uint32
	src    netip.Prefix // IPv6 source-specific routes
}

// routeTable holds the routes by key, so that creating or deleting one
// costs the same in a table of a hundred thousand as in an empty one. A
// key holds one route, except where a copied kernel (Copy) holds several
// the kernel keeps apart by device (IPv6's fe80::/64 of each link, say):
// the first is in first, the others, rare, in more.
type routeTable struct {
	first map[routeKey]routeEntry
	more  map[routeKey][]routeEntry
	// seq numbers the routes in the order added, which listings keep.
	seq uint64
}

type routeEntry struct {
	seq uint64
	r   rtnl.Route
}

func newRouteTable(n int) routeTable {
	return routeTable{first: make(map[routeKey]routeEntry, n), more: map[routeKey][]routeEntry{}}
}

// at returns the routes of key, in the order added.
func (t *routeTable) at(key routeKey) []rtnl.Route {
	e, ok := t.first[key]
	if !ok {
		return nil
	}
	out := []rtnl.Route{e.r}
	for _, m := range t.more[key] {
		out = append(out, m.r)
	}
	return out
}

// setFirst replaces the first route of key, which must exist, with r.
func (t *routeTable) setFirst(key routeKey, r rtnl.Route) {
	e := t.first[key]
	e.r = r
	t.first[key] = e
}

// add adds r after every route in the table.
func (t *routeTable) add(r rtnl.Route) {
	key := keyOfRoute(r)
	t.seq++
	e := routeEntry{seq: t.seq, r: r}
	if _, ok := t.first[key]; ok {
		t.more[key] = append(t.more[key], e)
		return
	}
	t.first[key] = e
}

// removeAt removes the i-th route of key (see at).
func (t *routeTable) removeAt(key routeKey, i int) {
	more := t.more[key]
	switch {
	case i > 0:
		more = slices.Delete(more, i-1, i)
	case len(more) > 0:
		t.first[key], more = more[0], more[1:]
	default:
		delete(t.first, key)
	}
	if len(more) == 0 {
		delete(t.more, key)
	} else {
		t.more[key] = more
	}
}

// deleteFunc removes the routes del reports.
func (t *routeTable) deleteFunc(del func(*rtnl.Route) bool) {
	for key, more := range t.more {
		more = slices.DeleteFunc(more, func(e routeEntry) bool { return del(&e.r) })
		if len(more) == 0 {
			delete(t.more, key)
		} else {
			t.more[key] = more
		}
	}
	for key, e := range t.first {
		if del(&e.r) {
			t.removeAt(key, 0)
		}
	}
}

// each calls fn with each route, which it may change but not re-key.
func (t *routeTable) each(fn func(*rtnl.Route)) {
	for key, e := range t.first {
		fn(&e.r)
		t.first[key] = e
	}
	for _, more := range t.more {
		for i := range more {
			fn(&more[i].r)
		}
	}
}

// list returns the routes keep reports, in the order they were added.
func (t *routeTable) list(keep func(*rtnl.Route) bool) []rtnl.Route {
	var (
		found []rtnl.Route
		seqs  []uint64
	)
	take := func(e *routeEntry) {
		if keep(&e.r) {
			found = append(found, e.r)
			seqs = append(seqs, e.seq)
		}
	}
	for _, e := range t.first {
		take(&e)
	}
	for _, more := range t.more {
		for i := range more {
			take(&more[i])
		}
	}
	if len(found) == 0 {
		return nil
	}
	order := make([]int32, len(found))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int { return cmp.Compare(seqs[a], seqs[b]) })
	// Put found in that order in place, cycle by cycle (found[i] becomes
	// the route at order[i]): a second list of them all would double
	// what a listing of a large table costs.
	for i := range order {
		if order[i] < 0 {
			continue
		}
		first := found[i]
		j := i
		for {
			k := int(order[j])
			order[j] = -1
			if k == i {
				found[j] = first
				break
			}
			found[j] = found[k]
			j = k
		}
	}
	for i := range found {
		found[i].NextHops = slices.Clone(found[i].NextHops)
	}
	return found
}

func keyOfRoute(r rtnl.Route) routeKey {
	k := routeKey{table: r.Table, dst: r.Dst.Masked(), tos: r.TOS, metric: r.Metric}
	if r.SrcPrefix.IsValid() {
		k.src = r.SrcPrefix.Masked()
	}
	return k
}

// connected returns the index of an up link with an address whose prefix
// holds gw, preferring oif when it is set; failing that, of an up link
// with a route of link scope to gw (`ip route add 10.9.0.0/24 dev X`, as
// the kernel's lookup of the gateway finds); or oif itself for an IPv6
// link-local gateway, which needs no route. 0 when there is none.
func (k *Kernel) connected(gw netip.Addr, oif int) int {
	up := func(index int) bool {
		l := k.linkByIndex(index)
		return l != nil && l.Flags&net.FlagUp != 0
	}
	for _, a := range k.addrs {
		if oif != 0 && a.Index != oif {
			continue
		}
		if up(a.Index) && a.Prefix.Masked().Contains(gw) {
			return a.Index
		}
	}
	if gw.Is6() && gw.IsLinkLocalUnicast() {
		if oif != 0 && k.linkByIndex(oif) != nil {
			return oif
		}
		return 0
	}
	found := 0
	k.routes.each(func(r *rtnl.Route) {
		if found == 0 && r.Scope == rtnl.ScopeLink && !r.Gateway.IsValid() && r.OIF != 0 && (oif == 0 || r.OIF == oif) &&
			up(r.OIF) && r.Dst.Contains(gw) {
			found = r.OIF
		}
	})
	return found
}

// prefixRoute returns the route the kernel adds for a, on the link of
// index a.Index, when that link is up (fib_add_ifaddr): its prefix in
// the main table, of protocol kernel and link scope, preferring a as the
// source. An IPv4 address alone: IPv6 addresses are left without theirs.
// A /32, and an address whose prefix another on the link already holds
// (a secondary), get none.
func (k *Kernel) prefixRoute(a rtnl.Address) (rtnl.Route, bool) {
	l := k.linkByIndex(a.Index)
	if !a.Prefix.Addr().Is4() || a.Prefix.Bits() == 32 || l == nil || l.Flags&net.FlagUp == 0 || l.Flags&net.FlagLoopback != 0 {
		return rtnl.Route{}, false
	}
	for _, x := range k.addrs {
		if x.Index == a.Index && x.Prefix != a.Prefix && x.Prefix.Addr().Is4() && x.Prefix.Masked() == a.Prefix.Masked() {
			return rtnl.Route{}, false // a secondary: the primary's route serves
		}
	}
	return rtnl.Route{Dst: a.Prefix.Masked(), Src: a.Prefix.Addr(), OIF: a.Index, Table: unix.RT_TABLE_MAIN,
		Protocol: rtnl.ProtocolKernel, Scope: rtnl.ScopeLink, Type: rtnl.RouteTypeUnicast}, true
}

// addPrefixRoute adds the route prefixRoute gives for a, if any and not
// there yet.
func (k *Kernel) addPrefixRoute(a rtnl.Address) {
	r, ok := k.prefixRoute(a)
	if !ok {
		return
	}
	for _, x := range k.routes.at(keyOfRoute(r)) {
		if x.OIF == r.OIF && x.Protocol == r.Protocol {
			return
		}
	}
	k.routes.add(r) // appended beside another link's route of the prefix
}

func (k *Kernel) newRoute(r rtnl.Route, excl, replace bool) *rtnl.Error {
	const op = "route add"
	if r.Table == 0 {
		r.Table = unix.RT_TABLE_MAIN
	}
	if r.Type == 0 {
		r.Type = rtnl.RouteTypeUnicast
	}
	if r.Dst.Addr().Is6() && r.Metric == 0 {
		r.Metric = 1024 // IP6_RT_PRIO_USER
	}
	if r.OIF != 0 {
		switch l := k.linkByIndex(r.OIF); {
		case l == nil:
			return fail(op, unix.ENODEV, "no such interface index %d", r.OIF)
		case l.Flags&net.FlagUp == 0 && r.Type == rtnl.RouteTypeUnicast:
			return fail(op, unix.ENETDOWN, "Device for nexthop is not up")
		}
	}
	if r.NHID != 0 {
		n := k.nexthop(r.NHID)
		if n == nil {
			return fail(op, unix.EINVAL, "Nexthop id does not exist")
		}
		// The kernel reports the object's gateway and device beside its id.
		if !n.IsGroup() {
			r.Gateway, r.OIF = n.Gateway, n.OIF
		}
	}
	for i, nh := range r.NextHops {
		if nh.Gateway.IsValid() {
			oif := k.connected(nh.Gateway, nh.OIF)
			if oif == 0 {
				return fail(op, unix.ENETUNREACH, "Nexthop has invalid gateway")
			}
			r.NextHops[i].OIF = oif
		}
		if r.NextHops[i].Weight == 0 {
			r.NextHops[i].Weight = 1
		}
	}
	if r.Type == rtnl.RouteTypeUnicast && r.NHID == 0 && len(r.NextHops) == 0 {
		switch {
		case r.Gateway.IsValid():
			oif := k.connected(r.Gateway, r.OIF)
			if oif == 0 {
				return fail(op, unix.ENETUNREACH, "Nexthop has invalid gateway")
			}
			r.OIF = oif
		case r.OIF == 0:
			return fail(op, unix.ENODEV, "Nexthop device required")
		}
	}
	key := keyOfRoute(r)
	if _, held := k.routes.first[key]; held {
		if excl || !replace {
			return fail(op, unix.EEXIST, "route %s exists", r.Dst)
		}
		k.routes.setFirst(key, r)
		return nil
	}
	k.routes.add(r)
	return nil
}

func (k *Kernel) delRoute(r rtnl.Route) *rtnl.Error {
	if r.Table == 0 {
		r.Table = unix.RT_TABLE_MAIN
	}
	if r.Dst.Addr().Is6() && r.Metric == 0 {
		r.Metric = 1024
	}
	key := keyOfRoute(r)
	same := k.routes.at(key)
	i := slices.IndexFunc(same, func(x rtnl.Route) bool {
		switch {
		case r.Protocol != 0 && x.Protocol != r.Protocol,
			r.Gateway.IsValid() && x.Gateway != r.Gateway,
			r.OIF != 0 && x.OIF != r.OIF:
			return false
		}
		return true
	})
	if i < 0 {
		return fail("route delete", unix.ESRCH, "no such route %s", r.Dst)
	}
	k.routes.removeAt(key, i)
	return nil
}

func (k *Kernel) newNeigh(n rtnl.Neighbour, excl, replace bool) *rtnl.Error {
	const op = "neighbour add"
	if k.linkByIndex(n.Index) == nil {
		return fail(op, unix.ENODEV, "no such interface index %d", n.Index)
	}
	for i := range k.neighs {
		if k.neighs[i].Index == n.Index && k.neighs[i].IP == n.IP {
			if excl {
				return fail(op, unix.EEXIST, "neighbour %s exists", n.IP)
			}
			if !replace && k.neighs[i].State&rtnl.NeighPermanent != 0 && n.State&rtnl.NeighPermanent == 0 {
				return nil
			}
			k.neighs[i] = n
			return nil
		}
	}
	k.neighs = append(k.neighs, n)
	return nil
}

func (k *Kernel) delNeigh(n rtnl.Neighbour) *rtnl.Error {
	i := slices.IndexFunc(k.neighs, func(x rtnl.Neighbour) bool { return x.Index == n.Index && x.IP == n.IP })
	if i < 0 {
		return fail("neighbour delete", unix.ENOENT, "no neighbour %s on index %d", n.IP, n.Index)
	}
	k.neighs = slices.Delete(k.neighs, i, i+1)
	return nil
}

// wireRule returns r as the kernel keeps it: the action "to table" when
// none is given, a firewall mark's mask full when none is given.
func wireRule(r rtnl.Rule) rtnl.Rule {
	if r.Action == 0 {
		r.Action = rtnl.RuleToTable
	}
	if r.FwMark != 0 && r.FwMask == 0 {
		r.FwMask = 0xffffffff
	}
	return r
}

func (k *Kernel) newRule(r rtnl.Rule, excl bool) *rtnl.Error {
	if excl && slices.ContainsFunc(k.rules, func(x rtnl.Rule) bool { return ruleSame(r, x) && x.Protocol == r.Protocol }) {
		return fail("rule add", unix.EEXIST, "%s exists", r)
	}
	// fib_nl_newrule: after the last rule of a priority not above it.
	at := len(k.rules)
	for i, x := range k.rules {
		if x.Priority > r.Priority {
			at = i
			break
		}
	}
	k.rules = slices.Insert(k.rules, at, r)
	return nil
}

func (k *Kernel) delRule(req rtnl.Rule) *rtnl.Error {
	i := slices.IndexFunc(k.rules, func(x rtnl.Rule) bool { return x.Family == req.Family && ruleMatches(req, x) })
	if i < 0 {
		return fail("rule delete", unix.ENOENT, "no rule matches %s", req)
	}
	k.rules = slices.Delete(k.rules, i, i+1)
	return nil
}

// ruleSame reports whether installed rule x is req: every field equal, a
// request's protocol or priority of 0 matching any.
func ruleSame(req, x rtnl.Rule) bool {
	if req.Protocol == 0 {
		x.Protocol = 0
	}
	if req.Priority == 0 {
		x.Priority = 0
	}
	return req == x
}

// ruleMatches reports whether a delete request req matches installed
// rule x as the kernel's rule_find does for the selectors Linx writes:
// each one set in the request must be equal, an unset one matches any.
func ruleMatches(req, x rtnl.Rule) bool {
	prefix := func(q, p netip.Prefix) bool { return !q.IsValid() || q.Bits() == 0 || q == p }
	switch {
	case req.Action != 0 && x.Action != req.Action,
		req.Table != 0 && x.Table != req.Table,
		req.Priority != 0 && x.Priority != req.Priority,
		req.IIF != "" && x.IIF != req.IIF,
		req.OIF != "" && x.OIF != req.OIF,
		req.FwMark != 0 && x.FwMark != req.FwMark,
		req.FwMask != 0 && x.FwMask != req.FwMask,
		req.Protocol != 0 && x.Protocol != req.Protocol,
		req.TOS != 0 && x.TOS != req.TOS,
		!prefix(req.From, x.From),
		!prefix(req.To, x.To):
		return false
	}
	return true
}

// nexthop returns the nexthop of id, nil when there is none.
func (k *Kernel) nexthop(id uint32) *rtnl.Nexthop {
	for i := range k.nhs {
		if k.nhs[i].ID == id {
			return &k.nhs[i]
		}
	}
	return nil
}

// newNexthop adds or replaces n: a group's members must exist and be
// single nexthops, a single nexthop's device must exist and its gateway
// be reachable, and a replace cannot turn a group into a single nexthop
// or back. Protocol 0 is not sent by rtnl (it sends static).
func (k *Kernel) newNexthop(n rtnl.Nexthop, excl, replace bool) *rtnl.Error {
	const op = "nexthop add"
	if n.IsGroup() {
		n.Family = rtnl.FamilyAll
		for _, m := range n.Group {
			x := k.nexthop(m.ID)
			switch {
			case x == nil:
				return fail(op, unix.EINVAL, "Invalid nexthop id")
			case x.IsGroup():
				return fail(op, unix.EINVAL, "Nested groups are not supported")
			}
		}
		if n.GroupType == rtnl.NexthopGroupResilient {
			res := rtnl.Resilient{Buckets: 128, IdleTimer: 120 * time.Second}
			if n.Resilient != nil {
				if n.Resilient.Buckets != 0 {
					res.Buckets = n.Resilient.Buckets
				}
				if n.Resilient.IdleTimer != 0 {
					res.IdleTimer = n.Resilient.IdleTimer
				}
				res.UnbalancedTimer = n.Resilient.UnbalancedTimer
			}
			n.Resilient = &res
		}
	} else if !n.Blackhole {
		if n.OIF != 0 && k.linkByIndex(n.OIF) == nil {
			return fail(op, unix.ENODEV, "Device not found")
		}
		if n.Gateway.IsValid() {
			oif := k.connected(n.Gateway, n.OIF)
			if oif == 0 {
				return fail(op, unix.ENETUNREACH, "Nexthop has invalid gateway")
			}
			n.OIF, n.Scope = oif, rtnl.ScopeLink
		} else {
			n.Scope = rtnl.ScopeHost
		}
	}
	if x := k.nexthop(n.ID); x != nil {
		switch {
		case excl || !replace:
			return fail(op, unix.EEXIST, "Nexthop id already exists")
		case x.IsGroup() != n.IsGroup():
			return fail(op, unix.EINVAL, "Can not replace a nexthop group with a nexthop, or back")
		}
		*x = n
		if !n.IsGroup() {
			k.routes.each(func(r *rtnl.Route) {
				if r.NHID == n.ID {
					r.Gateway, r.OIF = n.Gateway, n.OIF
				}
			})
		}
		return nil
	}
	k.nhs = append(k.nhs, n)
	return nil
}

// delNexthop deletes the nexthop of id, as the kernel does: the routes
// through it go with it, it leaves the groups that list it, and a group
// left without members goes too, with its routes.
func (k *Kernel) delNexthop(id uint32) *rtnl.Error {
	if k.nexthop(id) == nil {
		return fail("nexthop delete", unix.ENOENT, "Nexthop id does not exist")
	}
	k.nhs = slices.DeleteFunc(k.nhs, func(n rtnl.Nexthop) bool { return n.ID == id })
	k.routes.deleteFunc(func(r *rtnl.Route) bool { return r.NHID == id })
	var empty []uint32
	for i := range k.nhs {
		n := &k.nhs[i]
		if !n.IsGroup() {
			continue
		}
		n.Group = slices.DeleteFunc(slices.Clone(n.Group), func(m rtnl.NexthopMember) bool { return m.ID == id })
		if len(n.Group) == 0 {
			empty = append(empty, n.ID)
		}
	}
	for _, g := range empty {
		k.delNexthop(g)
	}
	return nil
}
