package reconcile

import (
	"fmt"
	"net/netip"
	"strconv"

	"github.com/linx-net/linx/diff"
	"github.com/linx-net/linx/rtnl"
)

// This file holds what a pass does when an operation fails: it records
// the failure, marks the object, and holds back only what depends on it
// (see the package documentation, "Dependencies").

// fail records that op failed with err (or, skipped, was not sent while
// its object backs off) and marks the object, so that what depends on it
// is blocked. link names the interface of an address whose op carries no
// index yet. With Options.FailFast it returns the first *Failure, which
// stops the pass; otherwise nil.
func (p *pass) fail(op diff.Op, link string, err error, skipped bool) error {
	f := Failure{Op: op, Err: err, Skipped: skipped}
	p.report.Failures = append(p.report.Failures, f)
	if p.report.Failed == nil {
		first := f
		p.report.Failed = &first
	}
	p.markBad(op, link, RefOf(op))
	if p.o.FailFast {
		return p.report.Failed
	}
	return nil
}

// block records that the desired object ref (whose op, or would-be op,
// is op) is held back by the object by, and marks it in turn.
func (p *pass) block(ref Ref, op diff.Op, link string, by Ref) {
	if p.out[ref] {
		return
	}
	p.report.Blocked = append(p.report.Blocked, Blocked{Ref: ref, Desired: op.Object(), By: by})
	p.markBad(op, link, ref)
}

// markBad marks the object of op, known as ref, as not converging in
// this pass: its later ops are not sent again, and what depends on it is
// blocked.
func (p *pass) markBad(op diff.Op, link string, ref Ref) {
	if p.out == nil {
		p.out = make(map[Ref]bool)
	}
	p.out[ref] = true
	switch op.Kind {
	case diff.KindLink:
		if _, ok := p.bad[op.Link.Name]; !ok {
			if p.bad == nil {
				p.bad = make(map[string]Ref)
			}
			p.bad[op.Link.Name] = ref
			p.badChanged = true
		}
	case diff.KindAddress:
		if op.Action == diff.Delete {
			return
		}
		if link == "" {
			link = p.nameOf(op.Address.Index)
		}
		p.badAddrs = append(p.badAddrs, badAddress{link: link, prefix: op.Address.Prefix, ref: ref})
	case diff.KindNexthop:
		if op.Action == diff.Delete {
			return
		}
		if p.badNexthops == nil {
			p.badNexthops = make(map[uint32]Ref)
		}
		p.badNexthops[op.Nexthop.ID] = ref
	}
}

// nameOf returns the name of the link of index i in the last listing, ""
// when none.
func (p *pass) nameOf(i int) string { return p.listed[i].Name }

// linkRef is the Ref of the desired link named name.
func linkRef(name string) Ref { return Ref{Kind: diff.KindLink, Key: name} }

// onLink is the key of an object desired on a link that does not exist:
// "link=d0 prefix=10.1.0.1/24" rather than an index.
func onLink(link, field string, v fmt.Stringer) string {
	return "link=" + link + " " + field + "=" + v.String()
}

// keep returns ops without the creates and updates that must not be sent:
// those of objects already failed or blocked in this pass (sent once per
// pass at most), and those of objects that depend on a failed or blocked
// one, which are recorded as blocked. A recreate's delete goes with its
// create. Deletes of what is not desired are kept unless they failed in
// this pass already. ops is reused when nothing is dropped.
func (p *pass) keep(ops []diff.Op) []diff.Op {
	if len(p.out) == 0 && len(p.bad) == 0 && len(p.badAddrs) == 0 && len(p.badNexthops) == 0 {
		return ops
	}
	var out []diff.Op
	dropped := false
	for i := 0; i < len(ops); i++ {
		n := 1
		if recreated(ops, i) {
			n = 2
		}
		op := &ops[i+n-1] // the create of a recreate decides
		ref := RefOf(*op)
		drop := p.out[ref]
		if !drop && op.Action != diff.Delete {
			if by, ok := p.blocker(op); ok {
				p.block(ref, *op, "", by)
				drop = true
			}
		}
		if drop && !dropped {
			out, dropped = append(make([]diff.Op, 0, len(ops)), ops[:i]...), true
		}
		if !drop && dropped {
			out = append(out, ops[i:i+n]...)
		}
		i += n - 1
	}
	if !dropped {
		return ops
	}
	return out
}

// blocker returns the object that the create or update op depends on and
// that failed or is blocked, if any.
func (p *pass) blocker(op *diff.Op) (Ref, bool) {
	link := func(index int) (Ref, bool) {
		if index == 0 || len(p.bad) == 0 {
			return Ref{}, false
		}
		name := p.nameOf(index)
		if _, ok := p.bad[name]; ok && name != "" {
			return linkRef(name), true
		}
		return Ref{}, false
	}
	switch op.Kind {
	case diff.KindAddress:
		return link(op.Address.Index)
	case diff.KindNeighbour:
		return link(op.Neighbour.Index)
	case diff.KindNexthop:
		n := op.Nexthop
		if r, ok := link(n.OIF); ok {
			return r, true
		}
		for _, m := range n.Group {
			if _, ok := p.badNexthops[m.ID]; ok {
				return Ref{Kind: diff.KindNexthop, Key: diff.KeyOfNexthop(rtnl.Nexthop{ID: m.ID}).String()}, true
			}
		}
		return p.gatewayBlocked(n.Gateway, n.OIF)
	case diff.KindRoute:
		r := op.Route
		if ref, ok := link(r.OIF); ok {
			return ref, true
		}
		if _, ok := p.badNexthops[r.NHID]; ok && r.NHID != 0 {
			return Ref{Kind: diff.KindNexthop, Key: diff.KeyOfNexthop(rtnl.Nexthop{ID: r.NHID}).String()}, true
		}
		if ref, ok := p.gatewayBlocked(r.Gateway, r.OIF); ok {
			return ref, true
		}
		for _, nh := range r.NextHops {
			if ref, ok := link(nh.OIF); ok {
				return ref, true
			}
			if ref, ok := p.gatewayBlocked(nh.Gateway, nh.OIF); ok {
				return ref, true
			}
		}
	}
	return Ref{}, false
}

// gatewayBlocked reports whether gateway gw (through link index oif, 0
// for any) is reachable only through desired addresses that failed or are
// blocked, and returns the first of them. A gateway that an address in
// the kernel or a desired address still converging reaches is not
// blocked, and neither is one that no address reaches (the kernel decides:
// ENETUNREACH is a failure of the route itself).
func (p *pass) gatewayBlocked(gw netip.Addr, oif int) (Ref, bool) {
	if !gw.IsValid() || len(p.badAddrs) == 0 {
		return Ref{}, false
	}
	on := func(link string) bool {
		if oif == 0 {
			return true
		}
		i, ok := p.index[link]
		return ok && i == oif
	}
	var by Ref
	for _, b := range p.badAddrs {
		if b.prefix.Masked().Contains(gw) && on(b.link) {
			by = b.ref
			break
		}
	}
	if by == (Ref{}) {
		return Ref{}, false
	}
	for _, a := range p.observedAddrs {
		if a.Prefix.Masked().Contains(gw) && (oif == 0 || a.Index == oif) {
			return Ref{}, false
		}
	}
	for _, a := range p.d.Addresses {
		if !a.Prefix.Masked().Contains(gw) || !on(a.Link) {
			continue
		}
		bad := false
		for _, b := range p.badAddrs {
			if b.link == a.Link && b.prefix == a.Prefix {
				bad = true
				break
			}
		}
		if !bad {
			return Ref{}, false
		}
	}
	return by, true
}

// skipBackingOff returns ops without those whose object backs off (see
// Retries), which are recorded as failed with their last error. A
// recreate's two halves go together. ops is reused when nothing backs
// off.
func (p *pass) skipBackingOff(ops []diff.Op) []diff.Op {
	if p.o.Retries.Len() == 0 {
		return ops
	}
	var out []diff.Op
	dropped := false
	for i := 0; i < len(ops); i++ {
		n := 1
		if recreated(ops, i) {
			n = 2
		}
		op := ops[i] // a recreate backs off by its delete, which is what fails
		ref := RefOf(op)
		e, held := p.o.Retries.holding(ref, fingerprint(&op, p.sig(op.Kind)), p.now)
		if held {
			p.skipped = append(p.skipped, ref)
			p.fail(op, "", e.err, true) // never FailFast: Retries is nil then
			if !dropped {
				out, dropped = append(make([]diff.Op, 0, len(ops)), ops[:i]...), true
			}
		} else if dropped {
			out = append(out, ops[i:i+n]...)
		}
		i += n - 1
	}
	if !dropped {
		return ops
	}
	return out
}

// sig returns the fingerprint of the kernel state an op of kind k depends
// on, for the retry state: the names of the links for a link; the links
// and the addresses (by interface index and prefix) for the rest. A link
// that appears, or an address that is added, ends the backoff of what
// failed before it.
func (p *pass) sig(k diff.Kind) string {
	if k == diff.KindLink {
		return strconv.FormatUint(p.linkSig, 16)
	}
	return strconv.FormatUint(p.linkSig, 16) + "/" + strconv.FormatUint(p.addrSig, 16)
}

// linkHash and addrHash are the terms of the kernel fingerprints: the
// fingerprint of a set is the XOR of its members', so that the pass keeps
// it up to date as it creates and deletes (FNV-1a, 64 bits).
func linkHash(name string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(name); i++ {
		h = (h ^ uint64(name[i])) * 1099511628211
	}
	return h
}

func addrHash(a rtnl.Address) uint64 {
	h := uint64(14695981039346656037)
	b := a.Prefix.Addr().As16()
	for _, c := range b {
		h = (h ^ uint64(c)) * 1099511628211
	}
	for _, c := range [...]uint64{uint64(a.Index), uint64(a.Prefix.Bits())} {
		h = (h ^ c) * 1099511628211
	}
	return h
}

// kernelSigs sets the kernel fingerprints from a fresh listing of links
// and addresses, as the pass leaves them: a failed op is remembered
// against them. It costs two listings, in a pass where something failed
// for the first time or again (at most once per backoff period of each
// object); a listing that fails leaves a fingerprint no pass matches, so
// the object is simply tried again.
func (p *pass) kernelSigs() {
	p.linkSig, p.addrSig = 1, 1
	if links, err := p.s.Links(); err == nil {
		p.linkSig = 0
		for _, l := range links {
			p.linkSig ^= linkHash(l.Name)
		}
	}
	if addrs, err := p.s.Addresses(); err == nil {
		p.addrSig = 0
		for _, a := range addrs {
			p.addrSig ^= addrHash(a)
		}
	}
}

// follow updates the kernel fingerprints with ops that took effect.
func (p *pass) follow(op *diff.Op) {
	switch {
	case op.Kind == diff.KindLink && op.Action == diff.Create:
		p.linkSig ^= linkHash(op.Link.Name)
	case op.Kind == diff.KindLink && op.Action == diff.Delete:
		p.linkSig ^= linkHash(op.Link.Name)
	case op.Kind == diff.KindAddress && op.Action != diff.Update:
		p.addrSig ^= addrHash(rtnl.Address{Index: op.Address.Index, Prefix: op.Address.Prefix})
	}
}
