package reconcile

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/linx-net/linx/rtnl"
)

// ClaimError is a pass refused because one of its route protocols already
// marks routes (or, for the scope's own protocol, nexthop objects) in the
// namespace that the scope did not create: owning the protocol would
// delete them. Options.AdoptProtocol takes them instead.
type ClaimError struct {
	Protocol rtnl.Protocol
	// Routes are the first few routes of Protocol found, Count how many
	// there are in all.
	Routes []rtnl.Route
	Count  int
	// Nexthops are the first few nexthop objects of Protocol found (only
	// the scope's own protocol owns nexthops), NexthopCount how many
	// there are in all.
	Nexthops     []rtnl.Nexthop
	NexthopCount int
}

// claimShown is how many routes a ClaimError names.
const claimShown = 3

// Error returns "protocol 77 already marks 2 routes this scope did not
// create (…): …".
func (e *ClaimError) Error() string {
	shown := make([]string, len(e.Routes))
	for i, r := range e.Routes {
		shown[i] = r.String()
	}
	more := ""
	if e.Count > len(e.Routes) {
		more = fmt.Sprintf(" and %d more", e.Count-len(e.Routes))
	}
	what := fmt.Sprintf("%d route(s)", e.Count)
	if e.NexthopCount > 0 {
		for _, n := range e.Nexthops {
			shown = append(shown, n.String())
		}
		if e.NexthopCount > len(e.Nexthops) {
			more += fmt.Sprintf(" and %d more nexthop(s)", e.NexthopCount-len(e.Nexthops))
		}
		what += fmt.Sprintf(" and %d nexthop(s)", e.NexthopCount)
	}
	return fmt.Sprintf("protocol %d already marks %s in the namespace that this scope did not create (%s%s): owning the protocol would delete them; choose another protocol, or set adopt_protocol to take them as the scope's own",
		e.Protocol, what, strings.Join(shown, ", "), more)
}

// CheckClaim checks, without changing anything, that a pass of d with
// ledger l in the namespace of s may own its route protocols (see Pass):
// it returns nil when each is claimed in l already, marks no route in the
// namespace, or o.AdoptProtocol is set; a *ClaimError per protocol that
// marks routes the scope did not create (joined); a *NamespaceError when
// l was written for another namespace; or the failure to list routes.
// Call it before starting a scope so that a refusal is known at once.
func CheckClaim(s Kernel, d Desired, l *Ledger, o Options) error {
	if l == nil {
		return errors.New("reconcile: nil ledger")
	}
	p := &pass{s: s, d: d, l: l, o: o}
	fresh, err := p.l.bind(s.NamespaceID(), s.Namespace().String(), false)
	if err != nil {
		return err
	}
	return p.claimProtocols(fresh)
}

// begin checks the ledger against the pass's namespace and protocols,
// then drops its stale keys (see prune); p.owned is what it owns then.
func (p *pass) begin() error {
	// Another process sharing the state directory may have changed it.
	if err := p.l.Refresh(); err != nil {
		return err
	}
	fresh, err := p.l.bind(p.s.NamespaceID(), p.s.Namespace().String(), p.apply)
	if err != nil {
		return err
	}
	if err := p.claimProtocols(fresh); err != nil {
		return err
	}
	p.owned = p.l.Owned()
	if fresh && !p.apply {
		// A plan on a ledger of a namespace that no longer exists: it
		// would start afresh.
		p.owned = NewLedger().Owned()
	}
	return p.prune()
}

// claimProtocols refuses the pass when a route protocol it owns and has
// not claimed in this namespace yet marks routes there (a *ClaimError per
// protocol), unless Options.AdoptProtocol is set; otherwise a pass that
// applies records the claims. fresh says the ledger starts afresh (its
// claims are void).
func (p *pass) claimProtocols(fresh bool) error {
	unknown := !fresh && p.l.claimsUnknown()
	var unclaimed []rtnl.Protocol
	for _, proto := range p.routeProtocols() {
		if fresh || !p.l.claimed(proto) {
			unclaimed = append(unclaimed, proto)
		}
	}
	if len(unclaimed) == 0 {
		return nil
	}
	// A ledger whose claims were not recorded (see Ledger) resumes every
	// protocol the scope uses: its routes are the scope's from before.
	if !p.o.AdoptProtocol && !unknown {
		var errs []error
		for _, proto := range unclaimed {
			routes, err := p.s.RoutesFiltered(rtnl.RouteFilter{Protocol: proto})
			if err != nil {
				return fmt.Errorf("listing routes of protocol %s: %w", proto, err)
			}
			var nhs []rtnl.Nexthop
			if proto == p.o.protocol() {
				// Nexthops are owned by the scope's protocol alone. A kernel
				// without them holds none.
				all, err := p.s.Nexthops()
				if err != nil && !errors.Is(err, unix.EOPNOTSUPP) && !errors.Is(err, unix.EINVAL) {
					return fmt.Errorf("listing nexthops: %w", err)
				}
				for _, n := range all {
					if n.Protocol == proto {
						nhs = append(nhs, n)
					}
				}
			}
			if len(routes) > 0 || len(nhs) > 0 {
				errs = append(errs, &ClaimError{Protocol: proto, Routes: routes[:min(len(routes), claimShown)], Count: len(routes),
					Nexthops: nhs[:min(len(nhs), claimShown)], NexthopCount: len(nhs)})
			}
		}
		if err := errors.Join(errs...); err != nil {
			return err
		}
	}
	if !p.apply {
		return nil
	}
	return p.l.claim(unclaimed)
}
