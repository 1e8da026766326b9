package diff

// The route diff as it was first written (a hash index of the desired
// routes, probed in observed order), kept as the reference the sort-merge
// implementation is checked against.

import (
	"encoding/binary"
	"fmt"

	"github.com/linx-net/linx/rtnl"
)

func routesReference(desired, observed []rtnl.Route, proto rtnl.Protocol) ([]Op, []Conflict) {
	r := routesReferenceResult(desired, observed, proto)
	return r.ops(RouteKey.Compare), sortConflicts(r.conflicts, RouteKey.Compare)
}

// Route flags of routes's desired-route table.
const (
	refSkip    uint8 = 1 << iota // invalid or a duplicate: already reported
	refForeign                   // a route of another protocol holds the key
)

func routesReferenceResult(desired, observed []rtnl.Route, proto rtnl.Protocol) result[RouteKey] {
	var r result[RouteKey]
	conflict := func(k RouteKey, d rtnl.Route, o any, reason string) {
		r.conflicts = append(r.conflicts, keyedConflict[RouteKey]{k, Conflict{
			Kind: KindRoute, Key: k.String(), Desired: d, Observed: o, Reason: reason}})
	}

	at := newRefIndex(len(desired))
	held := make([]int32, len(desired))
	flags := make([]uint8, len(desired))
	for i := range desired {
		d := &desired[i]
		k := KeyOfRoute(*d)
		switch {
		case !d.Dst.IsValid():
			conflict(k, *d, nil, "the route has no destination")
			flags[i] = refSkip
			continue
		case d.Protocol != 0 && d.Protocol != proto:
			conflict(k, *d, nil, fmt.Sprintf("the desired route has protocol %s, but the owner's is %s", d.Protocol, proto))
			flags[i] = refSkip
			continue
		}
		ik := refKey(k)
		if at.find(desired, ik) >= 0 {
			conflict(k, *d, nil, reasonDuplicate)
			flags[i] = refSkip
			continue
		}
		at.insert(ik, int32(i))
		held[i] = -1
	}

	var foreign map[int32]int32 // desired index -> first foreign observed index
	for j := range observed {
		o := &observed[j]
		k := KeyOfRoute(*o)
		i := at.find(desired, refKey(k))
		desiredKey := i >= 0
		switch {
		case o.Protocol != proto:
			if desiredKey && flags[i]&refForeign == 0 {
				if foreign == nil {
					foreign = make(map[int32]int32)
				}
				flags[i] |= refForeign
				foreign[i] = int32(j)
			}
		case !desiredKey:
			r.remove = append(r.remove, keyed[RouteKey]{k, Op{Action: Delete, Kind: KindRoute, Route: new(*o)}})
		case held[i] < 0:
			held[i] = int32(j)
		default:
			// An extra route of ours with the key (ip route append).
			r.remove = append(r.remove, keyed[RouteKey]{k, Op{Action: Delete, Kind: KindRoute, Route: new(*o)}})
		}
	}

	for i := range desired {
		if flags[i]&refSkip != 0 {
			continue
		}
		d := &desired[i]
		if flags[i]&refForeign != 0 {
			o := observed[foreign[int32(i)]]
			conflict(KeyOfRoute(*d), *d, o, fmt.Sprintf(
				"a route of protocol %s holds the key; replacing it would overwrite that route, whatever its protocol", o.Protocol))
			continue
		}
		w := prepareRoute(*d, proto)
		switch {
		case held[i] < 0:
			r.apply = append(r.apply, keyed[RouteKey]{KeyOfRoute(w), Op{Action: Create, Kind: KindRoute, Route: &w}})
		case !refRouteSame(&w, &observed[held[i]]):
			r.apply = append(r.apply, keyed[RouteKey]{KeyOfRoute(w), Op{Action: Update, Kind: KindRoute, Route: &w}})
		}
	}
	return r
}

// refIndexKey is a RouteKey packed without pointers: cheap to hash and
// compare. Every RouteKey with a valid Dst maps to a distinct
// refIndexKey (a Prefix carries no zone).
type refIndexKey struct {
	hi, lo        uint64
	shi, slo      uint64 // the source prefix's address
	table, metric uint32
	bits, sbits   int16
	family, tos   uint8
}

func refKey(k RouteKey) refIndexKey {
	a := k.Dst.Addr().As16()
	var sa [16]byte
	sbits := int16(-1)
	if k.Src.IsValid() {
		sa, sbits = k.Src.Addr().As16(), int16(k.Src.Bits())
	}
	return refIndexKey{
		shi:    binary.BigEndian.Uint64(sa[:8]),
		slo:    binary.BigEndian.Uint64(sa[8:]),
		sbits:  sbits,
		hi:     binary.BigEndian.Uint64(a[:8]),
		lo:     binary.BigEndian.Uint64(a[8:]),
		table:  k.Table,
		metric: k.Metric,
		bits:   int16(k.Dst.Bits()),
		family: uint8(k.Family),
		tos:    k.TOS,
	}
}

// refIndex maps the keys of the desired routes to their indices: an open
// addressing table of tagged indices with linear probing, without
// pointers, so that a million routes cost 16 MB the garbage collector never
// scans. A tag match is confirmed against the desired route's own key, so
// the index is exact whatever the hash does.
type refIndex struct {
	slots []uint64 // 0 when empty, else tag<<32 | index+1
	mask  uint64
}

func newRefIndex(n int) refIndex {
	size := 16
	for size < 2*n {
		size <<= 1
	}
	return refIndex{slots: make([]uint64, size), mask: uint64(size - 1)}
}

func (k refIndexKey) hash() uint64 {
	h := k.hi*0x9e3779b97f4a7c15 ^ k.lo
	h ^= h >> 32
	h *= 0xff51afd7ed558ccd
	h ^= uint64(k.table)<<32 | uint64(k.metric)
	h ^= h >> 29
	h *= 0xc4ceb9fe1a85ec53
	h ^= uint64(uint16(k.bits))<<16 | uint64(k.family)<<8 | uint64(k.tos) | uint64(uint16(k.sbits))<<32
	h ^= k.shi*0x9e3779b97f4a7c15 ^ k.slo
	h ^= h >> 32
	h *= 0x9e3779b97f4a7c15
	return h ^ h>>31
}

// find returns the index of the desired route with key k, or -1.
func (x *refIndex) find(desired []rtnl.Route, k refIndexKey) int32 {
	h := k.hash()
	tag := h >> 32
	for i := h & x.mask; ; i = (i + 1) & x.mask {
		s := x.slots[i]
		if s == 0 {
			return -1
		}
		if s>>32 == tag {
			idx := int32(uint32(s)) - 1
			if refKey(KeyOfRoute(desired[idx])) == k {
				return idx
			}
		}
	}
}

// insert records that the desired route at idx has key k, which find has
// just reported absent.
func (x *refIndex) insert(k refIndexKey, idx int32) {
	h := k.hash()
	for i := h & x.mask; ; i = (i + 1) & x.mask {
		if x.slots[i] == 0 {
			x.slots[i] = h>>32<<32 | uint64(uint32(idx+1))
			return
		}
	}
}

// refRouteSame reports whether observed route o already is prepared desired
// route d, on the attributes a replace changes.
func refRouteSame(d, o *rtnl.Route) bool {
	if d.NHID != o.NHID || d.SrcPrefix != o.SrcPrefix {
		return false
	}
	if d.NHID != 0 { // by the object's id, whatever gateway the kernel shows
		return d.Type == o.Type && d.Src == o.Src
	}
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
