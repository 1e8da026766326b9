package diff

import (
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

	at := make(map[RouteKey]int32, len(desired))
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
		if _, dup := at[k]; dup {
			conflict(k, *d, nil, reasonDuplicate)
			flags[i] = routeSkip
			continue
		}
		at[k] = int32(i)
		held[i] = -1
	}

	var foreign map[int32]int32 // desired index -> first foreign observed index
	for j := range observed {
		o := &observed[j]
		k := KeyOfRoute(*o)
		i, desiredKey := at[k]
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
