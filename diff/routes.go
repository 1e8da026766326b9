package diff

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"maps"
	"net/netip"
	"slices"

	"github.com/linx-net/linx/internal/parts"
	"github.com/linx-net/linx/rtnl"
)

// Routes diffs desired routes against observed ones, owned two-way by
// protocol: only observed routes whose Protocol is proto are considered,
// and every other observed route is invisible, with one exception. A
// desired route with Protocol 0 takes proto.
//
// For each desired route, by RouteKey:
//
//   - no observed route holds the key: Create;
//   - a route of another protocol holds it: a Conflict, never an op, since
//     the kernel's replace ignores the protocol and would overwrite it;
//   - a route of proto holds it and differs in Gateway, OIF, Src, Scope,
//     Type, NextHops, NHID or SrcPrefix: Update, applied in place with
//     replace (a desired OIF of 0 is "don't care": the kernel picks the
//     interface for a gateway; a route through a nexthop object, NHID, is
//     compared by the object's id, not by the gateway and interface the
//     kernel reports beside it);
//   - a desired route whose Protocol is neither 0 nor proto is a Conflict,
//     as is a key desired twice and a route with no destination.
//
// Observed routes of proto whose key is not desired are deleted, as are
// extra routes of proto sharing a desired key (`ip route append` makes
// those). Routes are compared after the defaults the kernel fills in: see
// KeyOfRoute, and Op for what a Create carries. RouteKey has the source
// prefix (SrcPrefix) too: IPv6 routes to one destination from different
// sources are different routes.
func Routes(desired, observed []rtnl.Route, proto rtnl.Protocol) ([]Op, []Conflict) {
	var o ObservedRoutes
	o.share(observed, proto)
	return routesOps(desiredSide{list: desired}, &o)
}

// RoutesObserved is Routes with the observed routes collected in o (see
// ObservedRoutes), as a dump streams them, owned by o's protocol. It
// sorts o's records in place; o stays valid for another diff.
func RoutesObserved(desired []rtnl.Route, o *ObservedRoutes) ([]Op, []Conflict) {
	return routesOps(desiredSide{list: desired}, o)
}

// RoutesFrom is RoutesObserved with the desired routes read one at a time
// from desired (see DesiredRoutes): a caller that holds them in another
// form converts each as the diff reads it, rather than building a list of
// them all for every diff.
func RoutesFrom(desired DesiredRoutes, o *ObservedRoutes) ([]Op, []Conflict) {
	return routesOps(desiredSide{src: desired}, o)
}

// DesiredRoutes is the desired side of a route diff (RoutesFrom), read
// one route at a time.
type DesiredRoutes interface {
	// Len returns how many desired routes there are.
	Len() int
	// Route sets *r to desired route i, 0 ≤ i < Len(). The diff calls it
	// once per route to key it, then again for the routes it compares in
	// full, creates, updates or reports in a conflict: it must give the
	// same route every time. A diff of a large table keys it in parts,
	// calling Route from several goroutines at once, each with its own r.
	Route(i int, r *rtnl.Route)
}

// desiredSide is the desired routes of a diff: a list, or a source read
// route by route.
type desiredSide struct {
	list []rtnl.Route
	src  DesiredRoutes
}

func (d desiredSide) len() int {
	if d.src != nil {
		return d.src.Len()
	}
	return len(d.list)
}

// at returns desired route i: in the list, or read into scratch.
func (d desiredSide) at(i int, scratch *rtnl.Route) *rtnl.Route {
	if d.src == nil {
		return &d.list[i]
	}
	d.src.Route(i, scratch)
	return scratch
}

func routesOps(desired desiredSide, o *ObservedRoutes) ([]Op, []Conflict) {
	r := routes(desired, o)
	var ops []Op
	if n := len(r.apply) + len(r.remove); n > 0 {
		ops = r.changes(desired, o).Append(make([]Op, 0, n), 0, len(r.apply))
		ops = r.appendDeletes(ops, o)
	}
	return ops, r.conflicts
}

// RoutesInParts is RoutesFrom with the creates and updates left to be
// built: it returns them as a RouteChanges, which builds them when asked,
// and the deletes and conflicts as RoutesFrom does. A caller sending a
// million creates builds and sends them a chunk at a time (the kernel
// applying one while the next is built) rather than building them all
// first. changes reads desired, which must stay unchanged while changes
// is in use; o can be reset and reused at once.
func RoutesInParts(desired DesiredRoutes, o *ObservedRoutes) (changes RouteChanges, deletes []Op, conflicts []Conflict) {
	side := desiredSide{src: desired}
	r := routes(side, o)
	if len(r.remove) > 0 {
		deletes = r.appendDeletes(make([]Op, 0, len(r.remove)), o)
	}
	return r.changes(side, o), deletes, r.conflicts
}

// RouteChanges is the creates and updates of a route diff
// (RoutesInParts), in key order, each built when asked for. The zero
// value holds none.
type RouteChanges struct {
	apply   []routeApply
	desired desiredSide
	proto   rtnl.Protocol
}

// Len returns how many creates and updates c holds.
func (c RouteChanges) Len() int { return len(c.apply) }

// Append appends creates and updates from to to-1 of c to dst and returns
// the extended slice, as RoutesFrom would give them: their routes are
// written into one array made for them. It panics if the range is out of
// bounds.
func (c RouteChanges) Append(dst []Op, from, to int) []Op {
	apply := c.apply[from:to]
	if len(apply) == 0 {
		return dst
	}
	dst = slices.Grow(dst, len(apply))
	routes := make([]rtnl.Route, len(apply))
	for k, a := range apply {
		rt := &routes[k]
		if d := c.desired.at(int(a.idx), rt); d != rt {
			*rt = *d
		}
		prepareRouteInPlace(rt, c.proto)
		dst = append(dst, Op{Action: a.action, Kind: KindRoute, Route: rt})
	}
	return dst
}

// ObservedRoutes holds the observed routes of a diff (RoutesObserved)
// compactly, added one at a time as a dump streams them: each as the
// pointer-free record the diff sorts and compares (56 bytes), and only the
// routes that their record cannot give back exactly (next hops, an IPv6
// gateway or source, kernel flags, another protocol, …) also in full. A
// table of gateway routes, the usual case, then costs its records alone,
// not a decoded list of every route (200 bytes each) besides.
//
// An ObservedRoutes also keeps the memory of the desired side's records
// from one diff to the next, so that a loop diffing a large table again
// and again reuses it.
//
// The zero value holds no routes and is owned by protocol 0: call Reset
// first. Methods are not safe for concurrent use.
type ObservedRoutes struct {
	proto rtnl.Protocol
	recs  []routeRec
	// full holds the routes kept whole; a record with kept set is the
	// route full[idx], the others are rebuilt from their record.
	full  []rtnl.Route
	ranks srcRanks
	// drecs is the memory of the desired side's records, kept for the
	// next diff.
	drecs []routeRec
	// expect is how many routes Grow was told to expect in all; the room
	// is made at the first Add.
	expect int
}

// Reset empties o, keeping its memory, for routes owned by proto: the
// others added are other writers' (see Routes).
func (o *ObservedRoutes) Reset(proto rtnl.Protocol) {
	o.proto = proto
	o.recs = o.recs[:0]
	clear(o.full)
	o.full = o.full[:0]
	o.ranks = srcRanks{}
	o.expect = 0
}

// Grow makes room for n more routes, so that a listing of a known size
// fills its memory once instead of regrowing it. The room is made when
// the first of them is added: a listing that finds none (a table's first
// install) takes none.
func (o *ObservedRoutes) Grow(n int) { o.expect = len(o.recs) + n }

// Len returns how many routes were added since the last Reset.
func (o *ObservedRoutes) Len() int { return len(o.recs) }

// Add adds observed route r, copying what it keeps: r may be reused once
// Add returns (rtnl.Socket.EachRoute hands out one value for every
// route).
func (o *ObservedRoutes) Add(r *rtnl.Route) {
	if len(o.recs) == cap(o.recs) {
		// Double, or take the room Grow asked for: append grows a large
		// slice by only 1.25x.
		o.recs = slices.Grow(o.recs, max(len(o.recs), 64, o.expect-len(o.recs)))
	}
	o.recs = o.recs[:len(o.recs)+1]
	rec := &o.recs[len(o.recs)-1]
	foreign := r.Protocol != o.proto
	rec.setObserved(r, len(o.recs)-1, foreign, &o.ranks)
	if !foreign && rec.meta&recCompact != 0 && recordable(r) && r.NextHops == nil {
		var back rtnl.Route
		rec.rebuild(&back, o.proto)
		if sameRoute(&back, r) {
			return
		}
	}
	if len(o.full) == cap(o.full) {
		o.full = slices.Grow(o.full, max(len(o.full), 16))
	}
	rec.idx, rec.kept = uint32(len(o.full)), true
	o.full = append(o.full, *r)
	o.full[len(o.full)-1].NextHops = slices.Clone(r.NextHops)
}

// share makes o hold observed, shared rather than copied: every record is
// kept, indexing observed.
func (o *ObservedRoutes) share(observed []rtnl.Route, proto rtnl.Protocol) {
	o.proto = proto
	o.full = observed
	o.recs = make([]routeRec, len(observed))
	for j := range observed {
		o.recs[j].setObserved(&observed[j], j, observed[j].Protocol != proto, &o.ranks)
		o.recs[j].kept = true
	}
}

// route returns the observed route of record rec, in place when kept.
func (o *ObservedRoutes) route(rec *routeRec, scratch *rtnl.Route) *rtnl.Route {
	if rec.kept {
		return &o.full[rec.idx]
	}
	rec.rebuild(scratch, o.proto)
	return scratch
}

// routeConflict is a route conflict with what orders it: the key, then
// whether it was found checking the desired routes alone (phase 0:
// invalid, foreign protocol, duplicate) or against the observed ones
// (phase 1: a foreign route holds the key), then the desired index.
type routeConflict struct {
	key   RouteKey
	phase uint8
	idx   int
	c     Conflict
}

// routeResult is the route diff before its ops are built: the desired
// indices to create or update and the observed records to delete (indices
// into the sorted ObservedRoutes.recs), each in key order, and the
// conflicts, sorted.
type routeResult struct {
	apply     []routeApply
	remove    []int32
	orecs     []routeRec
	conflicts []Conflict
}

type routeApply struct {
	action Action
	idx    int32
}

// changes returns the creates and updates of r, of routes read from
// desired.
func (r *routeResult) changes(desired desiredSide, obs *ObservedRoutes) RouteChanges {
	return RouteChanges{apply: r.apply, desired: desired, proto: obs.proto}
}

// appendDeletes appends the deletes of r to dst, their routes written
// into one array made for them.
func (r *routeResult) appendDeletes(dst []Op, obs *ObservedRoutes) []Op {
	if len(r.remove) == 0 {
		return dst
	}
	dst = slices.Grow(dst, len(r.remove))
	routes := make([]rtnl.Route, len(r.remove))
	for k, j := range r.remove {
		rt := &routes[k]
		*rt = *obs.route(&r.orecs[j], rt)
		dst = append(dst, Op{Action: Delete, Kind: KindRoute, Route: rt})
	}
	return dst
}

// routes diffs by sorting and merging: both sides are reduced to compact,
// pointer-free key records (routeRec), sorted by a radix sort that skips
// the bytes every key shares (and not at all when already sorted, as a
// kernel dump of one table usually is), and walked together in key order.
// Memory is read in sequence rather than probed at random, so the cost per
// route grows slowly as the table grows past the caches (about 2x from
// 10,000 to 1,000,000 routes: a radix pass more, and the garbage
// collections the scratch memory brings on). Key order is
// RouteKey.Compare's, and ties keep input order, so the ops come out in
// their final order.
func routes(desired desiredSide, obs *ObservedRoutes) routeResult {
	proto := obs.proto
	var r routeResult
	var conflicts []routeConflict
	conflict := func(phase uint8, i int, o any, reason string) {
		var scratch rtnl.Route
		d := *desired.at(i, &scratch)
		k := KeyOfRoute(d)
		conflicts = append(conflicts, routeConflict{k, phase, i, Conflict{
			Kind: KindRoute, Key: k.String(), Desired: d, Observed: o, Reason: reason}})
	}

	// Source prefix ranks span both sides: the observed records hold
	// provisional numbers (see srcRanks), turned into ranks in copies so
	// that obs stays valid.
	ranks := obs.ranks.clone()
	n := desired.len()
	// The desired records go in the memory the last diff of obs left.
	drecs := obs.drecs[:0]
	if cap(drecs) < n {
		drecs = make([]routeRec, 0, n)
	}
	// A large table is keyed in parts, one per processor, as far as the
	// first route that needs more than its own record; the rest, if any,
	// in order.
	start := 0
	if k := parts.Of(n); k > 1 {
		start = keyInParts(desired, drecs[:n], proto, k)
		drecs = drecs[:start]
	}
	var dscratch rtnl.Route
	for i := start; i < n; i++ {
		d := desired.at(i, &dscratch)
		switch {
		case !d.Dst.IsValid():
			conflict(0, i, nil, "the route has no destination")
			continue
		case d.Protocol != 0 && d.Protocol != proto:
			conflict(0, i, nil, fmt.Sprintf("the desired route has protocol %s, but the owner's is %s", d.Protocol, proto))
			continue
		}
		drecs = drecs[:len(drecs)+1]
		drecs[len(drecs)-1].setDesired(d, i, &ranks)
	}
	orecs := obs.recs
	if len(ranks.list) > 0 {
		orecs = slices.Clone(orecs)
	}
	ranks.finish(drecs, orecs)
	drecs = sortRouteRecs(drecs)
	obs.drecs = drecs[:0]
	orecs = sortRouteRecs(orecs)
	if len(ranks.list) == 0 {
		// Sorted in place, or in a buffer: either way obs keeps them
		// sorted, and a second diff finds them so.
		obs.recs = orecs
	}
	var scratch rtnl.Route

	// Desired routes to create (held -1) or compare with the route of
	// ours that holds their key, in key order.
	var pairs []routePair
	for i, j := 0, 0; i < len(drecs) || j < len(orecs); {
		c := 1
		switch {
		case i == len(drecs):
		case j == len(orecs):
			c = -1
		default:
			c = drecs[i].compare(&orecs[j])
		}
		if c > 0 {
			// An observed key that is not desired: ours is stale.
			if !orecs[j].foreign {
				r.remove = append(r.remove, int32(j))
			}
			j++
			continue
		}
		k := &drecs[i]
		di := int(k.idx)
		i++
		for ; i < len(drecs) && drecs[i].sameKey(k); i++ {
			conflict(0, int(drecs[i].idx), nil, reasonDuplicate)
		}
		held, foreign := -1, -1
		var heldRec *routeRec
		for ; c == 0 && j < len(orecs) && orecs[j].sameKey(k); j++ {
			switch o := &orecs[j]; {
			case o.foreign:
				if foreign < 0 {
					foreign = j
				}
			case held < 0:
				held, heldRec = j, o
			default:
				// An extra route of ours with the key (ip route append).
				r.remove = append(r.remove, int32(j))
			}
		}
		if foreign >= 0 {
			o := *obs.route(&orecs[foreign], &scratch)
			conflict(1, di, o, fmt.Sprintf(
				"a route of protocol %s holds the key; replacing it would overwrite that route, whatever its protocol", o.Protocol))
			continue
		}
		p := routePair{desired: int32(di), held: int32(held)}
		if heldRec != nil {
			p.verdict = k.verdict(heldRec)
		}
		if p.verdict != verdictSame {
			// A route already as desired needs nothing: only the others
			// are listed, so a converged table lists none.
			if len(pairs) == cap(pairs) {
				// Double: a million creates grew by 1.25x copied them over
				// and over.
				pairs = slices.Grow(pairs, max(len(pairs), 64))
			}
			pairs = append(pairs, p)
		}
	}
	r.apply = comparePairs(r.apply, pairs, desired, obs, orecs)
	r.orecs = orecs

	if len(conflicts) > 0 {
		slices.SortFunc(conflicts, func(a, b routeConflict) int {
			if c := a.key.Compare(b.key); c != 0 {
				return c
			}
			if c := cmp.Compare(a.phase, b.phase); c != 0 {
				return c
			}
			return cmp.Compare(a.idx, b.idx)
		})
		r.conflicts = make([]Conflict, len(conflicts))
		for i := range conflicts {
			r.conflicts[i] = conflicts[i].c
		}
	}
	return r
}

// keyInParts sets recs[i] to the record of desired route i, in n parts
// keyed at once (parts.Run). It stops at the first route that is not
// plain: one without a destination, of another protocol than proto, or
// with a source prefix (whose rank the records share). It returns how
// many leading records it set: len(recs) when every route is plain.
func keyInParts(desired desiredSide, recs []routeRec, proto rtnl.Protocol, n int) int {
	stops := make([]int, n) // where part k stopped, if it did
	if parts.Run(len(recs), n, func(k, lo, hi int) bool {
		var scratch rtnl.Route
		for i := lo; i < hi; i++ {
			d := desired.at(i, &scratch)
			if !d.Dst.IsValid() || (d.Protocol != 0 && d.Protocol != proto) || d.SrcPrefix.IsValid() {
				stops[k] = i
				return false
			}
			recs[i].setDesired(d, i, nil)
		}
		stops[k] = hi
		return true
	}) {
		return len(recs)
	}
	// The first part that stopped: every part before it keyed its all.
	for k := range n {
		if stops[k] < (k+1)*len(recs)/n {
			return stops[k]
		}
	}
	return len(recs) // not reached: a part stopped
}

// routePair is a desired route and the observed route of the owner that
// holds its key, by index into the desired routes and the sorted observed
// records; held is -1 for none. verdict is what the
// records alone tell of the two (see routeRec.verdict).
type routePair struct {
	desired, held int32
	verdict       recVerdict
}

// comparePairs appends to apply a Create for each pair with no held route
// and an Update for each whose held route differs, in the pairs' order.
//
// Most pairs were decided from their records. The others (routes with an
// IPv6 gateway or source, or next hops) are compared in full; they are in
// key order, so the desired routes they name are read at random: at a
// million routes, each read would miss every cache and wait for memory in
// turn. So they go by groups: a first tight loop reads a word of each route
// of the group, letting the processor fetch them all at once, then a
// second compares the routes, now cached.
func comparePairs(apply []routeApply, pairs []routePair, desired desiredSide, obs *ObservedRoutes, orecs []routeRec) []routeApply {
	// A pair left undecided by its records has two routes that are not
	// compact, kept whole: observed is never rebuilt into scratch.
	var scratch, dscratch rtnl.Route
	apply = slices.Grow(apply, len(pairs)) // at most one op a pair
	if desired.src != nil {
		// Routes read from a source come into scratch space: no group to
		// fetch ahead.
		for _, p := range pairs {
			switch {
			case p.held < 0:
				apply = append(apply, routeApply{Create, p.desired})
			case p.verdict == verdictSame:
			case p.verdict == verdictDiffers,
				!routeSameDesired(desired.at(int(p.desired), &dscratch), obs.route(&orecs[p.held], &scratch)):
				apply = append(apply, routeApply{Update, p.desired})
			}
		}
		return apply
	}
	const group = 16
	var touched uint
	for len(pairs) > 0 {
		g := pairs[:min(group, len(pairs))]
		pairs = pairs[len(g):]
		for _, p := range g {
			if p.held < 0 || p.verdict != verdictUnknown {
				continue
			}
			d, o := &desired.list[p.desired], obs.route(&orecs[p.held], &scratch)
			touched += uint(d.Src.BitLen()) + uint(d.OIF) + uint(len(d.NextHops))
			touched += uint(o.Src.BitLen()) + uint(o.OIF) + uint(len(o.NextHops))
		}
		for _, p := range g {
			switch {
			case p.held < 0:
				apply = append(apply, routeApply{Create, p.desired})
			case p.verdict == verdictSame:
			case p.verdict == verdictDiffers,
				!routeSameDesired(&desired.list[p.desired], obs.route(&orecs[p.held], &scratch)):
				apply = append(apply, routeApply{Update, p.desired})
			}
		}
	}
	if touched == 1 { // never (the reads must not be optimised away)
		apply = slices.Clip(apply)
	}
	return apply
}

// routeRec is a route's RouteKey packed into four words that order as
// RouteKey.Compare does (family, table, the source prefix's rank among
// those of the diff, 0 for none; the destination's masked address and
// prefix length; TOS, metric), with the route's index and whether it is
// of another protocol. It holds no pointers, so that a million of them
// cost 56 MB the garbage collector never scans. Every
// RouteKey maps to distinct words (a Prefix carries no zone).
//
// For a route with no next hops and an IPv4 gateway and source (or none),
// the usual case, the record also holds what routeSameDesired compares,
// exactly: gateway and source in val; interface, type, scope and which of
// gateway and source are set in meta (see recValue). Two such records
// are compared without reading their routes, whose random reads would
// otherwise dominate the diff of a large table.
type routeRec struct {
	w         [4]uint64
	val, meta uint64
	idx       uint32
	foreign   bool
	// kept says an observed route is kept whole, at idx in
	// ObservedRoutes.full; otherwise rebuild gives it back.
	kept bool
}

// The bits of routeRec.meta above the interface index (bits 0-31).
const (
	recType    = 32 // route type, 8 bits
	recScope   = 40 // route scope, 8 bits
	recGateway = 1 << 48
	recSource  = 1 << 49
	// recCompact says val and meta hold the compared fields.
	recCompact = 1 << 50
	// recFlags holds an observed route's flags (rtnl.Route.Flags) when
	// they fit 8 bits (the RTNH_F_* ones, linkdown or onlink say), for
	// ObservedRoutes to rebuild the route; routes compare without them.
	recFlags     = 51
	recFlagsMask = 0xff << recFlags
)

// recValue returns the val and meta words of a route with gateway gw,
// source src, interface oif, type typ and scope scope and no next hops;
// meta lacks recCompact when gw or src is IPv6.
func recValue(gw, src netip.Addr, oif int, typ rtnl.RouteType, scope rtnl.Scope) (val, meta uint64) {
	meta = uint64(uint32(oif)) | uint64(typ)<<recType | uint64(scope)<<recScope
	compact := true
	if gw.IsValid() {
		meta |= recGateway
		if gw.Is4() {
			b := gw.As4()
			val |= uint64(binary.BigEndian.Uint32(b[:])) << 32
		} else {
			compact = false
		}
	}
	if src.IsValid() {
		meta |= recSource
		if src.Is4() {
			b := src.As4()
			val |= uint64(binary.BigEndian.Uint32(b[:]))
		} else {
			compact = false
		}
	}
	if compact {
		meta |= recCompact
	}
	return val, meta
}

// setDesired makes rec the record of desired route d, at index idx: its
// key, and the compared fields as prepareRoute leaves them. Records are
// filled in place: returning one (56 bytes, in memory) and copying it
// into its slice cost more than computing it.
func (rec *routeRec) setDesired(d *rtnl.Route, idx int, ranks *srcRanks) {
	rec.setKey(d, idx, false, ranks)
	rec.val, rec.meta = 0, 0
	if !recordable(d) {
		return
	}
	typ, scope := d.Type, d.Scope
	if typ == rtnl.RouteTypeUnspec {
		typ = rtnl.RouteTypeUnicast
	}
	if scope == rtnl.ScopeUniverse && !d.Gateway.IsValid() && d.OIF != 0 {
		scope = rtnl.ScopeLink
	}
	rec.val, rec.meta = recValue(d.Gateway, d.Src, d.OIF, typ, scope)
}

// rebuild sets *r to the observed route of protocol proto whose record,
// compact, is rec (see ObservedRoutes.Add): key, gateway, source,
// interface, type and scope from the record, nothing else. It is exact
// only for the routes Add checked it on.
func (rec *routeRec) rebuild(r *rtnl.Route, proto rtnl.Protocol) {
	*r = rtnl.Route{
		Table:    uint32(rec.w[0] >> 24),
		Protocol: proto,
		Metric:   uint32(rec.w[3]),
		TOS:      uint8(rec.w[3] >> 32),
		OIF:      int(uint32(rec.meta)),
		Type:     rtnl.RouteType(rec.meta >> recType),
		Scope:    rtnl.Scope(rec.meta >> recScope),
		Flags:    uint32((rec.meta & recFlagsMask) >> recFlags),
	}
	bits := int(rec.w[3]>>40&0xff) - 1
	switch rtnl.Family(rec.w[0] >> 56) {
	case rtnl.FamilyV4:
		var a [4]byte
		binary.BigEndian.PutUint32(a[:], uint32(rec.w[2]))
		r.Dst = netip.PrefixFrom(netip.AddrFrom4(a), bits)
	case rtnl.FamilyV6:
		var a [16]byte
		binary.BigEndian.PutUint64(a[:8], rec.w[1])
		binary.BigEndian.PutUint64(a[8:], rec.w[2])
		r.Dst = netip.PrefixFrom(netip.AddrFrom16(a), bits)
	}
	if rec.meta&recGateway != 0 {
		var a [4]byte
		binary.BigEndian.PutUint32(a[:], uint32(rec.val>>32))
		r.Gateway = netip.AddrFrom4(a)
	}
	if rec.meta&recSource != 0 {
		var a [4]byte
		binary.BigEndian.PutUint32(a[:], uint32(rec.val))
		r.Src = netip.AddrFrom4(a)
	}
}

// sameRoute reports whether a and b are the same route in every field;
// next hops compare as a list (nil and empty alike).
func sameRoute(a, b *rtnl.Route) bool {
	return a.Dst == b.Dst && a.Src == b.Src && a.Gateway == b.Gateway && a.OIF == b.OIF &&
		a.Table == b.Table && a.Protocol == b.Protocol && a.Metric == b.Metric &&
		a.Type == b.Type && a.Scope == b.Scope && a.TOS == b.TOS && a.Flags == b.Flags &&
		a.NHID == b.NHID && a.SrcPrefix == b.SrcPrefix && slices.Equal(a.NextHops, b.NextHops)
}

// recVerdict says what two records tell of their routes' compared fields.
type recVerdict uint8

const (
	verdictUnknown recVerdict = iota // read the routes
	verdictSame
	verdictDiffers
)

// verdict compares desired record d with observed record o as
// routeSameDesired compares their routes. Records hold the compared fields
// only when compact: two compact records decide; a compact and a
// non-compact one differ (in next hops or a gateway or source family);
// two non-compact ones leave it to the routes.
func (d *routeRec) verdict(o *routeRec) recVerdict {
	dc, oc := d.meta&recCompact != 0, o.meta&recCompact != 0
	switch {
	case dc && oc:
		oif := uint32(d.meta)
		if d.val == o.val && (d.meta&^recFlagsMask)>>32 == (o.meta&^recFlagsMask)>>32 && (oif == 0 || oif == uint32(o.meta)) {
			return verdictSame
		}
		return verdictDiffers
	case dc != oc:
		return verdictDiffers
	}
	return verdictUnknown
}

// setObserved makes rec the record of observed route r (a route as the
// kernel reports it), at index idx: KeyOfRoute(*r), packed, with the
// compared fields.
func (rec *routeRec) setObserved(r *rtnl.Route, idx int, foreign bool, ranks *srcRanks) {
	rec.setKey(r, idx, foreign, ranks)
	rec.val, rec.meta = 0, 0
	if recordable(r) {
		rec.val, rec.meta = recValue(r.Gateway, r.Src, r.OIF, r.Type, r.Scope)
		if r.Flags <= 0xff {
			rec.meta |= uint64(r.Flags) << recFlags
		}
	}
}

// recordable reports whether r's compared fields may fit a record: none
// of next hops, a nexthop object or a source prefix, which records do not
// hold (recValue then checks the addresses).
func recordable(r *rtnl.Route) bool {
	return len(r.NextHops) == 0 && r.NHID == 0 && !r.SrcPrefix.IsValid()
}

// setKey sets rec's key words to r's, its index and its foreign flag. A
// source prefix gets a provisional rank from ranks, which ranks.finish
// turns into its rank once every record is set.
func (rec *routeRec) setKey(r *rtnl.Route, idx int, foreign bool, ranks *srcRanks) {
	a := r.Dst.Addr()
	bits := r.Dst.Bits()
	var hi, lo uint64
	fam := rtnl.FamilyAll
	switch {
	case !r.Dst.IsValid():
		// Masked() is the invalid prefix: address length 0, bits -1.
		bits = -1
	case a.Is4():
		// As16 would give ::ffff:a.b.c.d; As4 is cheaper.
		fam = rtnl.FamilyV4
		b := a.As4()
		lo = (0xffff<<32 | uint64(binary.BigEndian.Uint32(b[:]))) & (^uint64(0) << (32 - bits))
	default:
		fam = rtnl.FamilyV6
		b := a.As16()
		hi = binary.BigEndian.Uint64(b[:8])
		lo = binary.BigEndian.Uint64(b[8:])
		if bits <= 64 {
			hi &= ^uint64(0) << (64 - bits)
			lo = 0
		} else {
			lo &= ^uint64(0) << (128 - bits)
		}
	}
	table, metric := r.Table, r.Metric
	if table == rtnl.TableUnspec {
		table = rtnl.TableMain
	}
	if fam == rtnl.FamilyV6 && metric == 0 {
		metric = ipv6DefaultMetric
	}
	// The family decides the address length: w[0] holds family, table
	// and the source prefix's rank (see srcRanks), 24 bits.
	rec.w[0] = uint64(fam)<<56 | uint64(table)<<24
	if r.SrcPrefix.IsValid() {
		rec.w[0] |= ranks.provisional(r.SrcPrefix)
	}
	rec.w[1] = hi
	rec.w[2] = lo
	rec.w[3] = uint64(bits+1)<<40 | uint64(r.TOS)<<32 | uint64(metric)
	rec.idx, rec.foreign, rec.kept = uint32(idx), foreign, false
}

func (a *routeRec) compare(b *routeRec) int {
	for i := range a.w {
		if a.w[i] != b.w[i] {
			if a.w[i] < b.w[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

func (a *routeRec) sameKey(b *routeRec) bool { return a.w == b.w }

// sortRouteRecs sorts recs by key, stably, and returns them (in recs or
// in a buffer of the same length). It is a radix sort on bytes that skips
// every byte position all keys share: a table of /24s in one table and
// family sorts on three bytes. Sorted input costs one comparison per
// record.
//
// A small set is sorted least-significant byte first. A large one is
// first split on its most significant varying byte, in one pass over
// memory, and each part, now small enough for the caches, is then sorted
// on the other bytes: three passes over a million records would each miss
// the caches, as the 10,000-record case never does.
func sortRouteRecs(recs []routeRec) []routeRec {
	sorted := true
	for i := 1; i < len(recs); i++ {
		if recs[i].compare(&recs[i-1]) < 0 {
			sorted = false
			break
		}
	}
	if sorted {
		return recs
	}
	and := [4]uint64{^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0)}
	var or [4]uint64
	for i := range recs {
		for w := range or {
			or[w] |= recs[i].w[w]
			and[w] &= recs[i].w[w]
		}
	}
	var digits []recDigit // least significant first
	for w := len(or) - 1; w >= 0; w-- {
		varying := or[w] &^ and[w]
		for s := uint8(0); s < 64; s += 8 {
			if varying>>s&0xff != 0 {
				digits = append(digits, recDigit{uint8(w), s})
			}
		}
	}
	buf := make([]routeRec, len(recs))
	const splitAbove = 1 << 15 // records; 32,768 of them fill 1.8 MB
	if len(recs) <= splitAbove || len(digits) < 2 {
		return lsdSort(recs, buf, digits, make([][256]int, len(digits)))
	}
	// Split on the top digit into buf, then sort each part in place, with
	// the same span of recs as its scratch space. Every part goes through
	// the same digits, so every part ends in the same one of the two.
	top, rest := digits[len(digits)-1], digits[:len(digits)-1]
	var counts [256]int
	for i := range recs {
		counts[top.of(&recs[i])]++
	}
	var offsets [256]int
	sum := 0
	for b, n := range counts {
		offsets[b] = sum
		sum += n
	}
	for i := range recs {
		b := top.of(&recs[i])
		buf[offsets[b]] = recs[i]
		offsets[b]++
	}
	start := 0
	partCounts := make([][256]int, len(rest)) // one for every part in turn
	for _, n := range counts {
		if n > 0 {
			clear(partCounts)
			lsdSort(buf[start:start+n], recs[start:start+n], rest, partCounts)
		}
		start += n
	}
	if len(rest)%2 == 1 {
		return recs
	}
	return buf
}

// recDigit is one byte of a record's key: of word word, shifted by shift.
type recDigit struct {
	word, shift uint8
}

func (d recDigit) of(r *routeRec) byte { return byte(r.w[d.word] >> d.shift) }

// lsdSort sorts src by digits, least significant first, stably, using dst
// (of the same length) as scratch and counts (one zeroed table per digit)
// for the byte counts, and returns whichever holds the result: src after
// an even number of digits, dst after an odd one.
func lsdSort(src, dst []routeRec, digits []recDigit, counts [][256]int) []routeRec {
	for i := range src {
		for d, dg := range digits {
			counts[d][dg.of(&src[i])]++
		}
	}
	for d, dg := range digits {
		var offsets [256]int
		sum := 0
		for b, n := range counts[d] {
			offsets[b] = sum
			sum += n
		}
		for i := range src {
			b := dg.of(&src[i])
			dst[offsets[b]] = src[i]
			offsets[b]++
		}
		src, dst = dst, src
	}
	return src
}

// prepareRoute returns d with the defaults made explicit, as it is to be
// installed: the owner's protocol, table main for 0, the masked
// destination and source prefix, unicast for type 0, link scope for a
// gateway-less route out of an interface (as rtnl and `ip route add` send
// it), metric 1024 for an IPv6 route with metric 0, and weight 1 for a
// next hop with weight 0.
func prepareRoute(d rtnl.Route, proto rtnl.Protocol) rtnl.Route {
	prepareRouteInPlace(&d, proto)
	return d
}

// prepareRouteInPlace is prepareRoute on *d. A NextHops slice it changes
// is copied first: the caller's stays as it was.
func prepareRouteInPlace(d *rtnl.Route, proto rtnl.Protocol) {
	d.Protocol = proto
	if d.Table == rtnl.TableUnspec {
		d.Table = rtnl.TableMain
	}
	d.Dst = d.Dst.Masked()
	d.SrcPrefix = maskedSrc(d.SrcPrefix)
	if d.Type == rtnl.RouteTypeUnspec {
		d.Type = rtnl.RouteTypeUnicast
	}
	if d.Scope == rtnl.ScopeUniverse && !d.Gateway.IsValid() && d.OIF != 0 && len(d.NextHops) == 0 {
		d.Scope = rtnl.ScopeLink
	}
	if d.Family() == rtnl.FamilyV6 && d.Metric == 0 {
		d.Metric = ipv6DefaultMetric
	}
	for i, nh := range d.NextHops {
		if nh.Weight == 0 {
			hops := make([]rtnl.NextHop, len(d.NextHops))
			copy(hops, d.NextHops)
			for j := i; j < len(hops); j++ {
				if hops[j].Weight == 0 {
					hops[j].Weight = 1
				}
			}
			d.NextHops = hops
			break
		}
	}
}

// routeSameDesired reports whether observed route o already is desired
// route d once prepared by prepareRoute, on the fields Routes compares
// (Type, Scope, Gateway, Src, OIF, NextHops, NHID and SrcPrefix), without
// the copy. A route through a nexthop object is compared by the object's
// id: the kernel reports the object's gateway and interface beside it.
func routeSameDesired(d, o *rtnl.Route) bool {
	typ, scope := d.Type, d.Scope
	if typ == rtnl.RouteTypeUnspec {
		typ = rtnl.RouteTypeUnicast
	}
	if scope == rtnl.ScopeUniverse && !d.Gateway.IsValid() && d.OIF != 0 && len(d.NextHops) == 0 {
		scope = rtnl.ScopeLink
	}
	if typ != o.Type || d.Src != o.Src || d.NHID != o.NHID || maskedSrc(d.SrcPrefix) != o.SrcPrefix {
		return false
	}
	if d.NHID != 0 {
		return true
	}
	if scope != o.Scope || d.Gateway != o.Gateway ||
		(d.OIF != 0 && d.OIF != o.OIF) || len(d.NextHops) != len(o.NextHops) {
		return false
	}
	for i := range d.NextHops {
		dn, on := &d.NextHops[i], &o.NextHops[i]
		w := dn.Weight
		if w == 0 {
			w = 1
		}
		if dn.Gateway != on.Gateway || w != on.Weight || (dn.OIF != 0 && dn.OIF != on.OIF) {
			return false
		}
	}
	return true
}

// maskedSrc returns p masked, as the kernel stores a source prefix. The
// invalid (unset) prefix is returned as it is: masking it would allocate
// an error inside netip.
func maskedSrc(p netip.Prefix) netip.Prefix {
	if !p.IsValid() {
		return p
	}
	return p.Masked()
}

// srcRanks numbers the source prefixes (IPv6 source-specific routing) of
// the routes of one diff, so that a record holds a prefix's rank in 24
// bits rather than the prefix: routes without one, nearly all, keep
// records of four words. Records are given provisional numbers, in order
// of appearance, and finish replaces them with ranks in the prefixes'
// order (netip.Prefix.Compare), once, when any prefix was seen.
//
// The zero value is ready to use. A diff holds at most 2^24-1 distinct
// source prefixes (sixteen million routes at least).
type srcRanks struct {
	ids  map[netip.Prefix]uint64
	list []netip.Prefix
}

const rankMask = 1<<24 - 1

// clone returns a copy of s that numbers on without changing s.
func (s *srcRanks) clone() srcRanks {
	if len(s.list) == 0 {
		return srcRanks{}
	}
	return srcRanks{ids: maps.Clone(s.ids), list: slices.Clone(s.list)}
}

// provisional returns p's provisional number, from 1.
func (s *srcRanks) provisional(p netip.Prefix) uint64 {
	p = p.Masked()
	if id, ok := s.ids[p]; ok {
		return id
	}
	if s.ids == nil {
		s.ids = make(map[netip.Prefix]uint64)
	}
	if len(s.list) == rankMask {
		panic("diff: more than 2^24-1 distinct route source prefixes")
	}
	s.list = append(s.list, p)
	s.ids[p] = uint64(len(s.list))
	return uint64(len(s.list))
}

// finish turns the provisional numbers in the records of sets into
// ranks.
func (s *srcRanks) finish(sets ...[]routeRec) {
	if len(s.list) == 0 {
		return
	}
	order := make([]uint64, len(s.list)) // provisional-1 -> rank
	byPrefix := make([]int, len(s.list))
	for i := range byPrefix {
		byPrefix[i] = i
	}
	slices.SortFunc(byPrefix, func(a, b int) int { return s.list[a].Compare(s.list[b]) })
	for rank, i := range byPrefix {
		order[i] = uint64(rank + 1)
	}
	for _, recs := range sets {
		for i := range recs {
			if p := recs[i].w[0] & rankMask; p != 0 {
				recs[i].w[0] = recs[i].w[0]&^rankMask | order[p-1]
			}
		}
	}
}
