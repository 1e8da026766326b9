package reconcile

import (
	"sync"

	"github.com/linx-net/linx/diff"
	"github.com/linx-net/linx/rtnl"
)

// passRoutes is the desired routes of a pass as the route diff reads them
// (diff.DesiredRoutes): the routes of the desired state the pass keeps,
// each converted to the rtnl.Route it sends when the diff asks for it,
// its interfaces resolved to the indices the pass listed. Nothing is
// copied: a million desired routes cost the pass no list of a million
// rtnl.Routes (176 MB, filled afresh every pass), only their records in
// the diff.
type passRoutes struct {
	p *pass
	// n is how many routes are kept while they are the first n of the
	// desired state, all of them in the usual case; once one is left out,
	// listed is set and idx holds the indices of those kept.
	n      int
	listed bool
	idx    []int32
}

var _ diff.DesiredRoutes = (*passRoutes)(nil)

// keep adds desired route i, which comes after every route added before.
func (d *passRoutes) keep(i int) {
	if !d.listed && i == d.n {
		d.n++
		return
	}
	if !d.listed {
		d.listed = true
		d.idx = make([]int32, d.n, d.n+1)
		for j := range d.idx {
			d.idx[j] = int32(j)
		}
	}
	d.idx = append(d.idx, int32(i))
}

// filter returns the routes of d for which keep, given the route's index
// in d and the desired route, reports true.
func (d *passRoutes) filter(keep func(i int, r *Route) bool) *passRoutes {
	out := &passRoutes{p: d.p, listed: true}
	for i := range d.Len() {
		j := d.at(i)
		if keep(i, &d.p.d.Routes[j]) {
			out.idx = append(out.idx, int32(j))
		}
	}
	return out
}

// at returns the index in the desired state of route i.
func (d *passRoutes) at(i int) int {
	if d.listed {
		return int(d.idx[i])
	}
	return i
}

// Len returns how many routes the pass keeps.
func (d *passRoutes) Len() int {
	if d.listed {
		return len(d.idx)
	}
	return d.n
}

// Route sets *rt to route i as the pass sends it. It only reads the
// pass, so the diff may call it from several goroutines at once.
func (d *passRoutes) Route(i int, rt *rtnl.Route) {
	r := &d.p.d.Routes[d.at(i)]
	*rt = d.p.routeBase(r)
	if r.Dev != "" {
		rt.OIF = d.p.index[r.Dev] // the pass checked it holds the name
	}
	if len(r.NextHops) > 0 {
		rt.NextHops = make([]rtnl.NextHop, len(r.NextHops))
		for k, nh := range r.NextHops {
			rt.NextHops[k] = rtnl.NextHop{Gateway: nh.Via, Weight: nh.Weight}
			if nh.Dev != "" {
				rt.NextHops[k].OIF = d.p.index[nh.Dev]
			}
		}
	}
}

// routeBase returns desired route r as the pass sends it, but for its
// interfaces (OIF, and those of its next hops, which it leaves out).
func (p *pass) routeBase(r *Route) rtnl.Route {
	return rtnl.Route{Dst: r.Dst, Gateway: r.Via, Table: r.Table, Metric: r.Metric,
		Protocol: p.routeProtocol(r), Type: r.Type, Src: r.Src, SrcPrefix: r.From, NHID: r.Nexthop}
}

// routeProtocol returns the protocol that owns desired route r: its own,
// or the pass's.
func (p *pass) routeProtocol(r *Route) rtnl.Protocol {
	if r.Protocol != 0 {
		return r.Protocol
	}
	return p.o.protocol()
}

// routeScratch is the memory of a pass's route diff (its records of the
// observed and desired routes, 112 bytes a route), kept by a Validated
// from one pass to the next: a loop converging a large table over and
// over then fills the same memory each time rather than fresh memory,
// which at a million routes cost as much as the dump itself. Passes of
// one Validated that run at once take turns (mu); one that finds it
// taken uses memory of its own.
type routeScratch struct {
	mu  sync.Mutex
	obs diff.ObservedRoutes
	// protos are the route protocols the desired state owns with
	// protosOf, the pass's protocol (Options.routeProtocols), found once:
	// finding them reads every desired route, twice a pass.
	protos   []rtnl.Protocol
	protosOf rtnl.Protocol
}

// routeProtocols returns p.o.routeProtocols(p.d): for a narrowed pass
// the index's (found once per desired state), otherwise from the scratch
// when it holds them. Finding them reads every desired route.
func (p *pass) routeProtocols() []rtnl.Protocol {
	if p.narrow != nil {
		return p.narrow.idx.protos
	}
	if p.o.NoRoutes || p.scratch == nil {
		return p.o.routeProtocols(p.d)
	}
	if own := p.o.protocol(); p.scratch.protos == nil || p.scratch.protosOf != own {
		p.scratch.protos, p.scratch.protosOf = p.o.routeProtocols(p.d), own
	}
	return p.scratch.protos
}

// routeScratch returns the memory for the pass's route diff: the
// Validated's, or fresh.
func (p *pass) routeScratch() *diff.ObservedRoutes {
	if p.scratch != nil {
		return &p.scratch.obs
	}
	return new(diff.ObservedRoutes)
}
