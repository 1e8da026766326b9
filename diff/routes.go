package diff

import (
	"encoding/binary"
	"fmt"

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
//     Type or NextHops: Update, applied in place with replace (a desired
//     OIF of 0 is "don't care": the kernel picks the interface for a
//     gateway);
//   - a desired route whose Protocol is neither 0 nor proto is a Conflict,
//     as is a key desired twice and a route with no destination.
//
// Observed routes of proto whose key is not desired are deleted, as are
// extra routes of proto sharing a desired key (`ip route append` makes
// those). Routes are compared after the defaults the kernel fills in: see
// KeyOfRoute, and Op for what a Create carries.
func Routes(desired, observed []rtnl.Route, proto rtnl.Protocol) ([]Op, []Conflict) {
	r := routes(desired, observed, proto)
	return r.ops(RouteKey.Compare), sortConflicts(r.conflicts, RouteKey.Compare)
}

// Route flags of routes's desired-route table.
const (
	routeSkip    uint8 = 1 << iota // invalid or a duplicate: already reported
	routeForeign                   // a route of another protocol holds the key
)

func routes(desired, observed []rtnl.Route, proto rtnl.Protocol) result[RouteKey] {
	var r result[RouteKey]
	conflict := func(k RouteKey, d rtnl.Route, o any, reason string) {
		r.conflicts = append(r.conflicts, keyedConflict[RouteKey]{k, Conflict{
			Kind: KindRoute, Key: k.String(), Desired: d, Observed: o, Reason: reason}})
	}

	at := newRouteIndex(len(desired))
	held := make([]int32, len(desired))
	flags := make([]uint8, len(desired))
	for i := range desired {
		d := &desired[i]
		k := KeyOfRoute(*d)
		switch {
		case !d.Dst.IsValid():
			conflict(k, *d, nil, "the route has no destination")
			flags[i] = routeSkip
			continue
		case d.Protocol != 0 && d.Protocol != proto:
			conflict(k, *d, nil, fmt.Sprintf("the desired route has protocol %s, but the owner's is %s", d.Protocol, proto))
			flags[i] = routeSkip
			continue
		}
		ik := indexKey(k)
		if at.find(desired, ik) >= 0 {
			conflict(k, *d, nil, reasonDuplicate)
			flags[i] = routeSkip
			continue
		}
		at.insert(ik, int32(i))
		held[i] = -1
	}

	var foreign map[int32]int32 // desired index -> first foreign observed index
	for j := range observed {
		o := &observed[j]
		k := KeyOfRoute(*o)
		i := at.find(desired, indexKey(k))
		desiredKey := i >= 0
		switch {
		case o.Protocol != proto:
			if desiredKey && flags[i]&routeForeign == 0 {
				if foreign == nil {
					foreign = make(map[int32]int32)
				}
				flags[i] |= routeForeign
				foreign[i] = int32(j)
			}
		case !desiredKey:
			r.remove = append(r.remove, keyed[RouteKey]{k, Op{Action: Delete, Kind: KindRoute, Route: *o}})
		case held[i] < 0:
			held[i] = int32(j)
		default:
			// An extra route of ours with the key (ip route append).
			r.remove = append(r.remove, keyed[RouteKey]{k, Op{Action: Delete, Kind: KindRoute, Route: *o}})
		}
	}

	for i := range desired {
		if flags[i]&routeSkip != 0 {
			continue
		}
		d := &desired[i]
		if flags[i]&routeForeign != 0 {
			o := observed[foreign[int32(i)]]
			conflict(KeyOfRoute(*d), *d, o, fmt.Sprintf(
				"a route of protocol %s holds the key; replacing it would overwrite that route, whatever its protocol", o.Protocol))
			continue
		}
		w := prepareRoute(*d, proto)
		switch {
		case held[i] < 0:
			r.apply = append(r.apply, keyed[RouteKey]{KeyOfRoute(w), Op{Action: Create, Kind: KindRoute, Route: w}})
		case !routeSame(&w, &observed[held[i]]):
			r.apply = append(r.apply, keyed[RouteKey]{KeyOfRoute(w), Op{Action: Update, Kind: KindRoute, Route: w}})
		}
	}
	return r
}

// routeIndexKey is a RouteKey packed without pointers: cheap to hash and
// compare. Every RouteKey with a valid Dst maps to a distinct
// routeIndexKey (a Prefix carries no zone).
type routeIndexKey struct {
	hi, lo        uint64
	table, metric uint32
	bits          int16
	family, tos   uint8
}

func indexKey(k RouteKey) routeIndexKey {
	a := k.Dst.Addr().As16()
	return routeIndexKey{
		hi:     binary.BigEndian.Uint64(a[:8]),
		lo:     binary.BigEndian.Uint64(a[8:]),
		table:  k.Table,
		metric: k.Metric,
		bits:   int16(k.Dst.Bits()),
		family: uint8(k.Family),
		tos:    k.TOS,
	}
}

// routeIndex maps the keys of the desired routes to their indices: an open
// addressing table of tagged indices with linear probing, without
// pointers, so that a million routes cost 16 MB the garbage collector never
// scans. A tag match is confirmed against the desired route's own key, so
// the index is exact whatever the hash does.
type routeIndex struct {
	slots []uint64 // 0 when empty, else tag<<32 | index+1
	mask  uint64
}

func newRouteIndex(n int) routeIndex {
	size := 16
	for size < 2*n {
		size <<= 1
	}
	return routeIndex{slots: make([]uint64, size), mask: uint64(size - 1)}
}

func (k routeIndexKey) hash() uint64 {
	h := k.hi*0x9e3779b97f4a7c15 ^ k.lo
	h ^= h >> 32
	h *= 0xff51afd7ed558ccd
	h ^= uint64(k.table)<<32 | uint64(k.metric)
	h ^= h >> 29
	h *= 0xc4ceb9fe1a85ec53
	h ^= uint64(uint16(k.bits))<<16 | uint64(k.family)<<8 | uint64(k.tos)
	h ^= h >> 32
	h *= 0x9e3779b97f4a7c15
	return h ^ h>>31
}

// find returns the index of the desired route with key k, or -1.
func (x *routeIndex) find(desired []rtnl.Route, k routeIndexKey) int32 {
	h := k.hash()
	tag := h >> 32
	for i := h & x.mask; ; i = (i + 1) & x.mask {
		s := x.slots[i]
		if s == 0 {
			return -1
		}
		if s>>32 == tag {
			idx := int32(uint32(s)) - 1
			if indexKey(KeyOfRoute(desired[idx])) == k {
				return idx
			}
		}
	}
}

// insert records that the desired route at idx has key k, which find has
// just reported absent.
func (x *routeIndex) insert(k routeIndexKey, idx int32) {
	h := k.hash()
	for i := h & x.mask; ; i = (i + 1) & x.mask {
		if x.slots[i] == 0 {
			x.slots[i] = h>>32<<32 | uint64(uint32(idx+1))
			return
		}
	}
}

// prepareRoute returns d with the defaults made explicit, as it is to be
// installed: the owner's protocol, table main for 0, the masked
// destination, unicast for type 0, link scope for a gateway-less route out
// of an interface (as rtnl and `ip route add` send it), metric 1024 for an
// IPv6 route with metric 0, and weight 1 for a next hop with weight 0.
func prepareRoute(d rtnl.Route, proto rtnl.Protocol) rtnl.Route {
	d.Protocol = proto
	if d.Table == rtnl.TableUnspec {
		d.Table = rtnl.TableMain
	}
	d.Dst = d.Dst.Masked()
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
	return d
}

// routeSame reports whether observed route o already is prepared desired
// route d, on the attributes a replace changes.
func routeSame(d, o *rtnl.Route) bool {
	if d.Type != o.Type || d.Scope != o.Scope || d.Gateway != o.Gateway || d.Src != o.Src ||
		(d.OIF != 0 && d.OIF != o.OIF) || len(d.NextHops) != len(o.NextHops) {
		return false
	}
	for i := range d.NextHops {
		dn, on := &d.NextHops[i], &o.NextHops[i]
		if dn.Gateway != on.Gateway || dn.Weight != on.Weight || (dn.OIF != 0 && dn.OIF != on.OIF) {
			return false
		}
	}
	return true
}
