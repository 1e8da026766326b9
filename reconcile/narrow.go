package reconcile

import (
	"errors"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/linx-net/linx/diff"
	"github.com/linx-net/linx/rtnl"
)

// Narrowing carries, from one pass to the next, what a narrowed pass
// needs: whether the last pass reached its end, for which desired state
// and options, and the route conflicts it reported (a narrowed pass looks
// again only at the keys the kernel changed, and reports the others' as
// they were). The zero value is ready for use; its first pass is full.
// A Narrowing is not safe for concurrent use: one loop runs its passes.
type Narrowing struct {
	// index is the desired state's (Validated.narrow) the last pass ran
	// with; nil when the next pass must be full.
	index *narrowIndex
	o     Options
	// conflicts are the route conflicts of the last pass.
	conflicts []diff.Conflict
	// v4 are the IPv4 addresses the last pass listed.
	v4 []rtnl.Address
}

// Invalidate makes the next pass full.
func (n *Narrowing) Invalidate() { n.index = nil }

// Full runs a full pass, PassValidated, and keeps what a narrowed pass
// after it needs. Its report and error are PassValidated's.
func (n *Narrowing) Full(s Kernel, v Validated, l *Ledger, o Options) (Report, error) {
	var scratch *routeScratch
	if v.scratch != nil && v.scratch.mu.TryLock() {
		defer v.scratch.mu.Unlock()
		scratch = v.scratch
	}
	p := newPass(s, v.d, l, o, true, scratch)
	err := p.finish(p.run())
	n.after(v, o, p, err)
	return p.report, err
}

// after keeps what the next pass needs: a narrowed pass may follow one
// that reached its end without error.
func (n *Narrowing) after(v Validated, o Options, p *pass, err error) {
	n.index, n.o, n.conflicts = nil, sameOptions(o), nil
	n.v4 = n.v4[:0]
	if err != nil || v.narrow == nil {
		return
	}
	n.keepV4(p.observedAddrs)
	rep := p.report
	n.index = v.narrow
	for _, c := range rep.Conflicts {
		if c.Kind == diff.KindRoute {
			n.conflicts = append(n.conflicts, c)
		}
	}
}

// Pass converges the namespace of s onto v as Full does, but looking at
// the routes only at the keys j names, when it can be sure that no other
// route changed: j is what the kernel reported since the last pass of n
// (see Journal.Take). It lists links, addresses, neighbours, rules and
// nexthops in full and diffs them as a full pass does; for routes it
// diffs the desired routes at j's keys against the kernel's routes there
// as j reports them, with the ownership, conflict and hold-back rules of
// a full pass. Report.Narrowed says whether it stayed narrowed.
//
// It runs a full pass instead when the last pass of n did not reach its
// end or ran with another desired state or options, when j is full (see
// Journal.Full), when an address deleted may have taken routes with it
// without a message (the last IPv4 address of its link, or the preferred
// source of a desired route), or when a held link or nexthop is in play.
// It goes on with a full pass when, narrowed, it meets what it cannot be
// sure of: an operation that failed, a route create refused at a key j
// does not show held by another writer, a link or nexthop changed, or an
// address deleted (the kernel may flush routes with it); the report then
// holds the operations of both. The errors are PassValidated's.
func (n *Narrowing) Pass(s Kernel, v Validated, l *Ledger, o Options, j *Journal) (Report, error) {
	if n.index == nil || n.index != v.narrow || n.o != sameOptions(o) || j.Full() != "" {
		return n.Full(s, v, l, o)
	}
	idx := v.narrow.get(v.d, o)
	if !n.sure(s, idx, j) {
		return n.Full(s, v, l, o)
	}
	nr := &narrowed{j: j, idx: idx}
	for k := range j.routes {
		nr.keys = append(nr.keys, k)
	}
	slices.SortFunc(nr.keys, diff.RouteKey.Compare)
	for _, k := range nr.keys {
		nr.positions = append(nr.positions, idx.lookup(v.d.Routes, k)...)
	}
	p := newPass(s, v.d, l, o, true, nil)
	p.narrow = nr
	err := p.run()
	if err == nil && (p.report.Failed != nil || len(p.report.Blocked) > 0) {
		// Whatever failed may hold back routes at keys the journal does
		// not name.
		nr.markUnsure("an operation failed")
	}
	if err == nil && slices.ContainsFunc(p.report.Applied, func(op diff.Op) bool {
		return op.Kind == diff.KindLink || op.Kind == diff.KindNexthop
	}) {
		nr.markUnsure("a link or nexthop changed")
	}
	if err != nil || nr.unsure != "" {
		// Unsure, or failed: the full pass decides.
		// What the narrowed part applied stays in the report, before the
		// full pass's own operations.
		applied := p.report.Applied
		rep, err := n.Full(s, v, l, o)
		rep.Applied = append(slices.Clip(applied), rep.Applied...)
		rep.Started = p.report.Started
		rep.Duration = time.Since(p.report.Started)
		return rep, err
	}
	if err := p.finish(nil); err != nil {
		return p.report, err
	}
	p.report.Narrowed = true
	// The route conflicts at the keys looked at are the pass's own; the
	// others stand as the last pass found them.
	looked := make(map[string]bool, len(nr.keys))
	for _, k := range nr.keys {
		looked[k.String()] = true
	}
	kept := slices.DeleteFunc(slices.Clone(n.conflicts), func(c diff.Conflict) bool { return looked[c.Key] })
	var fresh []diff.Conflict
	for _, c := range p.report.Conflicts {
		if c.Kind == diff.KindRoute {
			fresh = append(fresh, c)
		}
	}
	n.conflicts = append(kept, fresh...)
	n.keepV4(p.observedAddrs)
	p.report.Conflicts = append(p.report.Conflicts, kept...)
	p.report.Converged = len(p.report.Conflicts) == 0
	return p.report, nil
}

// keepV4 keeps the IPv4 addresses of addrs, a pass's listing, for the
// next narrowed pass (see sure).
func (n *Narrowing) keepV4(addrs []rtnl.Address) {
	n.v4 = n.v4[:0]
	for _, a := range addrs {
		if a.Prefix.Addr().Is4() {
			n.v4 = append(n.v4, a)
		}
	}
}

// sure reports whether the addresses j saw deleted took no route with
// them: a deleted IPv4 address's link kept an IPv4 address all along,
// one the last pass listed, that no event in j names and that is there
// now (so the link never had none: fib_disable_ip flushes every IPv4
// route through a link whose last IPv4 address goes), and no desired
// route prefers the address as its source (the kernel deletes such IPv4
// routes, and clears the source of such IPv6 ones, without a message).
func (n *Narrowing) sure(s Kernel, idx *routeIndex, j *Journal) bool {
	var gone []rtnl.Address
	for _, a := range j.addrs {
		if a.Deleted {
			gone = append(gone, a.Address)
		}
	}
	if len(gone) == 0 {
		return true
	}
	for _, a := range gone {
		if idx.srcs[a.Prefix.Addr()] {
			return false
		}
	}
	addrs, err := s.Addresses()
	if err != nil {
		return false
	}
	named := func(x rtnl.Address) bool {
		return slices.ContainsFunc(j.addrs, func(y AddressSeen) bool {
			return y.Address.Index == x.Index && y.Address.Prefix == x.Prefix
		})
	}
	for _, a := range gone {
		if !a.Prefix.Addr().Is4() {
			continue
		}
		kept := slices.ContainsFunc(addrs, func(x rtnl.Address) bool {
			return x.Index == a.Index && x.Prefix.Addr().Is4() && !named(x) &&
				slices.ContainsFunc(n.v4, func(y rtnl.Address) bool { return y.Index == x.Index && y.Prefix == x.Prefix })
		})
		if !kept {
			return false
		}
	}
	return true
}

// errUnsure stops a narrowed pass that met what it cannot be sure of; a
// full pass follows (see Narrowing.Pass).
var errUnsure = errors.New("reconcile: a narrowed pass cannot be sure")

// narrowed is a narrowed pass's view of the routes.
type narrowed struct {
	j    *Journal
	idx  *routeIndex
	keys []diff.RouteKey // the journal's, sorted
	// positions are those of the desired routes at keys, in the desired
	// state's Routes.
	positions []int32
	// unsure says why a full pass must follow; "" when none.
	unsure string
}

// observe collects in obs the routes of proto the journal shows present.
func (nr *narrowed) observe(proto rtnl.Protocol, obs *diff.ObservedRoutes) {
	obs.Reset(proto)
	for _, k := range nr.keys {
		if seen := nr.j.routes[k]; !seen.Deleted && seen.Route.Protocol == proto {
			obs.Add(&seen.Route)
		}
	}
}

// sameOptions returns o as Narrowing compares the options of passes:
// without the time of the pass, which differs every time.
func sameOptions(o Options) Options {
	o.Now = time.Time{}
	return o
}

// foreignAt reports whether the journal shows a route of a protocol the
// pass does not own at k.
func (nr *narrowed) foreignAt(k diff.RouteKey) bool {
	seen, ok := nr.j.routes[k]
	return ok && !seen.Deleted && !slices.Contains(nr.idx.protos, seen.Route.Protocol)
}

// markUnsure records why the narrowed pass must be followed by a full one.
func (nr *narrowed) markUnsure(why string) {
	if nr.unsure == "" {
		nr.unsure = why
	}
}

// narrowIndex holds a Validated's route index, built on first use (a
// full pass never needs it) and shared by the copies of the Validated.
type narrowIndex struct {
	once sync.Once
	idx  *routeIndex
}

func (n *narrowIndex) get(d Desired, o Options) *routeIndex {
	n.once.Do(func() { n.idx = newRouteIndex(d, o) })
	return n.idx
}

// routeIndex finds the desired routes at a key. It holds a hash of each
// desired route's key with its position, sorted by hash: 16 bytes a
// route, against the hundred or so a map keyed by diff.RouteKey would
// take, which matters at a million routes.
type routeIndex struct {
	hashes []keyHash
	// srcs are the preferred sources desired routes name.
	srcs map[netip.Addr]bool
	// protos are the route protocols the pass owns (Options.routeProtocols).
	protos []rtnl.Protocol
}

type keyHash struct {
	h uint64
	i int32
}

func newRouteIndex(d Desired, o Options) *routeIndex {
	x := &routeIndex{hashes: make([]keyHash, len(d.Routes)), srcs: make(map[netip.Addr]bool), protos: o.routeProtocols(d)}
	for i := range d.Routes {
		x.hashes[i] = keyHash{h: hashRouteKey(desiredRouteKey(&d.Routes[i])), i: int32(i)}
		if src := d.Routes[i].Src; src.IsValid() {
			x.srcs[src] = true
		}
	}
	slices.SortFunc(x.hashes, func(a, b keyHash) int {
		switch {
		case a.h < b.h:
			return -1
		case a.h > b.h:
			return 1
		}
		return int(a.i - b.i)
	})
	return x
}

// lookup returns the positions in routes (the desired routes the index
// was built from) of those whose key is k, in order.
func (x *routeIndex) lookup(routes []Route, k diff.RouteKey) []int32 {
	h := hashRouteKey(k)
	at, _ := slices.BinarySearchFunc(x.hashes, h, func(e keyHash, h uint64) int {
		switch {
		case e.h < h:
			return -1
		case e.h > h:
			return 1
		}
		return 0
	})
	var out []int32
	for ; at < len(x.hashes) && x.hashes[at].h == h; at++ {
		if i := x.hashes[at].i; desiredRouteKey(&routes[i]) == k {
			out = append(out, i)
		}
	}
	return out
}

// desiredRouteKey returns the key of the route a pass makes of r.
func desiredRouteKey(r *Route) diff.RouteKey {
	return diff.KeyOfRoute(rtnl.Route{Dst: r.Dst, Table: r.Table, Metric: r.Metric, SrcPrefix: r.From})
}

// hashRouteKey mixes the fields of k into 64 bits (splitmix64's
// finaliser over each word); equal keys hash equal.
func hashRouteKey(k diff.RouteKey) uint64 {
	mix := func(h, v uint64) uint64 {
		h ^= v + 0x9e3779b97f4a7c15 + h<<6 + h>>2
		h ^= h >> 30
		h *= 0xbf58476d1ce4e5b9
		h ^= h >> 27
		h *= 0x94d049bb133111eb
		return h ^ h>>31
	}
	word := func(a netip.Addr) (uint64, uint64) {
		b := a.As16()
		var hi, lo uint64
		for i := range 8 {
			hi = hi<<8 | uint64(b[i])
			lo = lo<<8 | uint64(b[8+i])
		}
		return hi, lo
	}
	h := mix(0, uint64(k.Family)<<56|uint64(k.TOS)<<48|uint64(k.Table))
	h = mix(h, uint64(k.Metric)<<8|uint64(k.Dst.Bits()&0xff))
	hi, lo := word(k.Dst.Addr())
	h = mix(mix(h, hi), lo)
	if k.Src.IsValid() {
		hi, lo = word(k.Src.Addr())
		h = mix(mix(mix(h, hi), lo), uint64(k.Src.Bits()))
	}
	return h
}
