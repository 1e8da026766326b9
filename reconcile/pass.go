package reconcile

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"time"

	"golang.org/x/sys/unix"

	"github.com/linx-net/linx/diff"
	"github.com/linx-net/linx/reconcile/fakekernel"
	"github.com/linx-net/linx/rtnl"
)

// Options tunes a pass. The zero value owns routes with rtnl.DefaultProtocol.
type Options struct {
	// Protocol tags and owns the pass's routes; 0 means
	// rtnl.DefaultProtocol (76). A desired route's own Protocol overrides
	// it for that route.
	Protocol rtnl.Protocol
	// AdoptProtocol lets the scope take a protocol that already marks
	// routes it did not create, as its own: they are deleted unless
	// desired. Without it such a pass fails with a *ClaimError.
	AdoptProtocol bool
	// NoRoutes makes a pass that manages no routes and no nexthop
	// objects: it neither lists nor changes any, and claims no protocol,
	// so several such scopes (and one that owns routes) can share a
	// namespace. A desired route or nexthop is then invalid.
	NoRoutes bool
	// FailFast stops the pass at the first failing link, address,
	// neighbour, rule or nexthop operation, as a single-shot caller may
	// want: nothing after it is sent. Without it (the default) a failure
	// holds back only what depends on the failed object (see the package
	// documentation, "Dependencies") and everything else converges in
	// the same pass.
	FailFast bool
	// Retries, when set, is the per-object retry state a long-lived caller
	// keeps across passes: an object that keeps failing is skipped until
	// its backoff has passed (see Retries). Nil retries every failed
	// object on every pass. Ignored with FailFast.
	Retries *Retries
	// Now is the time the pass takes as its start, for Retries; the zero
	// value means time.Now().
	Now time.Time
}

// BulkRoutes is the number of route operations in one batch from which a
// pass mutes their echo (RouteMuter): below it, hearing the echo of its own
// changes costs less than the full listing that muting brings on.
const BulkRoutes = 10_000

// routeProtocols returns the route protocols a pass with o owns for d:
// none with NoRoutes, otherwise d.Protocols(o.protocol()).
func (o Options) routeProtocols(d Desired) []rtnl.Protocol {
	if o.NoRoutes {
		return nil
	}
	return d.Protocols(o.protocol())
}

func (o Options) protocol() rtnl.Protocol {
	if o.Protocol == 0 {
		return rtnl.DefaultProtocol
	}
	return o.Protocol
}

// Report is the outcome of a pass.
type Report struct {
	// Converged is true when the kernel matched the desired state at the
	// end of the pass: nothing failed and nothing conflicted.
	Converged bool
	// Applied are the operations that took effect, in order. For Plan,
	// the operations a pass would apply.
	Applied []diff.Op
	// Failed is the first operation that failed, nil when none did. With
	// Options.FailFast it stopped the pass; otherwise the pass went on
	// and Failures lists every one.
	Failed *Failure
	// Failures are the operations that failed (or, with Options.Retries,
	// were skipped while their object backs off), in order.
	Failures []Failure
	// Blocked are the desired objects held back because an object they
	// depend on failed or is blocked.
	Blocked []Blocked
	// Conflicts are desired objects that cannot converge because foreign
	// state holds their key; that state is left untouched.
	Conflicts []diff.Conflict
	// Started is when the pass began; Duration how long it took.
	Started  time.Time
	Duration time.Duration
	// Narrowed says the pass looked at the routes only at the keys the
	// kernel reported changed (see Narrowing.Pass); false for a full pass.
	Narrowed bool
}

// Failure is an operation that failed in a pass and why.
type Failure struct {
	Op diff.Op
	// Err is the kernel's *rtnl.Error, or the reason the op could not be
	// sent (an interface that does not exist). For an op skipped while its
	// object backs off (Skipped), the error of its last attempt.
	Err error
	// Skipped is true when the op was not sent this pass: its object
	// backs off after failing before (see Retries).
	Skipped bool
	// RetryAt is when the op will be tried again (Options.Retries); zero
	// without retry state.
	RetryAt time.Time
}

// Error returns "route create 10.1.0.0/16 …: netlink …".
func (f *Failure) Error() string { return f.Op.String() + ": " + f.Err.Error() }

// Unwrap returns the underlying error.
func (f *Failure) Unwrap() error { return f.Err }

// Pass converges the namespace of s (an *rtnl.Socket, or any Kernel) onto d in one pass and returns what it
// did. It records created keys in l before creating and removes deleted
// ones after deleting, records the interface index of the links it created
// once it sees them, and drops an owned link name now held by a link of
// another index (see Ledger); l must not be nil.
//
// Before anything else the pass
//
//  1. checks that l belongs to the namespace of s, recording it in a
//     ledger no pass has applied yet;
//  2. checks that each route protocol the pass owns (o.Protocol and the
//     desired routes' overrides: Desired.Protocols) was claimed in l, or
//     marks no route in the namespace, or that o.AdoptProtocol is set,
//     and records the claims: a protocol already marking routes the
//     scope did not create is never taken silently;
//  3. drops from l the keys that can no longer name an object the scope
//     made: an owned object observed absent and not desired, an address
//     or neighbour key whose interface index no longer names the link it
//     was recorded with (see Ledger).
//
// The error is nil when the pass ran to its end (Report.Converged says
// whether conflicts remain); an *InvalidError when d is invalid, a
// *NamespaceError when l belongs to another namespace, a *ClaimError (or
// several, joined) for a protocol claimed as step 2 refuses, and an
// error when l is nil or o.Protocol belongs to another writer (nothing
// was applied in any of these cases); the first *Failure (Report.Failed:
// with o.FailFast it stopped the pass, otherwise the pass went on and
// Report.Failures and Report.Blocked say what did not converge); or the
// failure to list the kernel's state or to read or save the ledger.
func Pass(s Kernel, d Desired, l *Ledger, o Options) (Report, error) {
	return run(s, d, l, o, false, nil)
}

// PassValidated is Pass for a desired state already validated (see
// Desired.Validated): it skips Validate, the part of a converged pass
// that grows with the desired state rather than with what changed, so
// that a long-lived loop validates once per change instead of once per
// pass. Its errors are Pass's.
func PassValidated(s Kernel, v Validated, l *Ledger, o Options) (Report, error) {
	if v.scratch != nil && v.scratch.mu.TryLock() {
		defer v.scratch.mu.Unlock()
		return run(s, v.d, l, o, true, v.scratch)
	}
	return run(s, v.d, l, o, true, nil)
}

// Validated is a desired state that passed Validate, for PassValidated.
// The zero value is the empty desired state. It shares its slices with
// the Desired it was made from: changing them afterwards voids the check,
// so a caller that changes its desired state validates it again.
//
// A Validated made by Desired.Validated also keeps, from one of its
// passes to the next, the memory of their route diff (about 112 bytes a
// desired route), which a converged pass over a large table would
// otherwise fill afresh each time; copies share it, and passes that run
// at once take turns with it.
type Validated struct {
	d Desired
	// scratch is the memory of the route diff, kept from one pass to the
	// next (see routeScratch); nil in the zero value.
	scratch *routeScratch
	// narrow is the route index of narrowed passes, built on first use
	// and shared by copies (see Narrowing); nil in the zero value.
	narrow *narrowIndex
}

// Validated returns d as a Validated, or Validate's *InvalidError.
func (d Desired) Validated() (Validated, error) {
	if err := d.Validate(); err != nil {
		return Validated{}, err
	}
	return Validated{d: d, scratch: new(routeScratch), narrow: new(narrowIndex)}, nil
}

// Desired returns the validated desired state.
func (v Validated) Desired() Desired { return v.d }

// Plan returns what Pass would do, changing nothing: it runs Pass itself
// against a copy of the namespace's state in memory (fakekernel.Copy)
// with a copy of l (Ledger.Clone), so that its report is the pass's own:
// the operations that would take effect (Report.Applied), the conflicts
// the kernel would raise (a foreign route holding a desired key, say),
// and the failure that would stop it, with Pass's errors. The copy's
// limits (fakekernel.Copy) are where a plan can differ from the pass
// that follows. Links to be created get indices in the copy after the
// highest one in use, which the kernel may not give them. It fails as
// well when the state cannot be listed.
func Plan(s Kernel, d Desired, l *Ledger, o Options) (Report, error) {
	if l == nil {
		return Report{}, errors.New("reconcile: nil ledger")
	}
	k, err := fakekernel.Copy(s, fakekernel.CopyOptions{NoRoutes: o.NoRoutes})
	if err != nil {
		return Report{}, fmt.Errorf("reconcile: planning: %w", err)
	}
	return Pass(k, d, l.Clone(), o)
}

type pass struct {
	s Kernel
	d Desired
	l *Ledger
	o Options
	// apply is set on every pass; only CheckClaim's look at the ledger
	// and the protocols leaves it unset, to record nothing.
	apply bool
	// validated skips Validate: the caller has (PassValidated).
	validated bool
	owned     diff.Owned
	report    Report
	index     map[string]int // link name -> index
	deletes   [][]diff.Op    // per kind, applied in reverse after all creates
	// listed holds the links of the last listing by index: what a link
	// update changes is sent, and nothing else (see linkChanges).
	listed map[int]rtnl.Link
	// held names the desired links whose name another writer's link holds
	// (or whose parent is held): what is desired on them is held back.
	held map[string]bool
	// bad names the desired links that failed or are blocked, with the
	// object that stops each (itself when it failed): what depends on
	// them is blocked (see the package documentation, "Dependencies").
	bad map[string]Ref
	// badAddrs are the desired addresses that failed or are blocked, with
	// the name of their link: a gateway only they reach is blocked.
	badAddrs []badAddress
	// badNexthops are the desired nexthop ids that failed or are blocked.
	badNexthops map[uint32]Ref
	// observedAddrs are the addresses of the last listing (also for the
	// narrowed pass that follows: see Narrowing.sure).
	observedAddrs []rtnl.Address
	// now is the pass's time for the retry state; tried and skipped
	// collect what Options.Retries settles at the end.
	now     time.Time
	tried   []triedOp
	skipped []Ref
	// linkSig and addrSig fingerprint the kernel's links and addresses
	// for the retry state (see sig), kept up to date through the pass
	// when track is set: when some object backs off, and its op must be
	// compared with the kernel as it is.
	linkSig, addrSig uint64
	track            bool
	// out marks the objects failed or blocked in this pass; badChanged
	// says a link was marked since it was last cleared.
	out        map[Ref]bool
	badChanged bool
	// scratch, when not nil, lends the pass the route diff's memory from
	// the pass before (PassValidated); the pass holds its lock.
	scratch *routeScratch
	// narrow, when set, narrows the routes to the keys the kernel
	// reported changed (see Narrowing.Pass).
	narrow *narrowed
}

// badAddress is a desired address that failed or is blocked.
type badAddress struct {
	link   string
	prefix netip.Prefix
	ref    Ref
}

func run(s Kernel, d Desired, l *Ledger, o Options, validated bool, scratch *routeScratch) (Report, error) {
	p := newPass(s, d, l, o, validated, scratch)
	err := p.finish(p.run())
	return p.report, err
}

// newPass returns a pass of d over s with o, ready to run.
func newPass(s Kernel, d Desired, l *Ledger, o Options, validated bool, scratch *routeScratch) *pass {
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	if o.FailFast {
		o.Retries = nil
	}
	return &pass{s: s, d: d, l: l, o: o, apply: true, validated: validated, scratch: scratch, now: now,
		report: Report{Started: time.Now()}, track: o.Retries.Len() > 0}
}

// finish completes the report of a pass that ended with err, settles the
// retry state (Options.Retries) and returns the pass's error: err, or
// else the first failure.
func (p *pass) finish(err error) error {
	p.report.Duration = time.Since(p.report.Started)
	if err == nil && p.report.Failed != nil {
		err = p.report.Failed
	}
	var ferr *Failure
	if r := p.o.Retries; r != nil && (err == nil || errors.As(err, &ferr)) {
		// Retry state follows a pass that ran, not one whose listing or
		// ledger failed: nothing is known then. A failure is remembered
		// against the kernel state the pass left, which the next pass
		// lists unless something changed.
		if len(p.tried) > 0 {
			p.kernelSigs()
		}
		for i := range p.tried {
			p.tried[i].fp = fingerprint(&p.tried[i].op, p.sig(p.tried[i].op.Kind))
		}
		r.settle(p.now, p.tried, p.skipped)
		for i := range p.report.Failures {
			if e, ok := r.m[RefOf(p.report.Failures[i].Op)]; ok {
				p.report.Failures[i].RetryAt = e.next
			}
		}
		if p.report.Failed != nil {
			p.report.Failed.RetryAt = p.report.Failures[0].RetryAt
		}
	}
	p.report.Converged = err == nil && len(p.report.Conflicts) == 0 && len(p.report.Blocked) == 0
	return err
}

func (p *pass) run() error {
	if p.l == nil {
		return errors.New("reconcile: nil ledger")
	}
	if err := CheckProtocol(p.o.protocol()); err != nil {
		return fmt.Errorf("reconcile: %w", err)
	}
	if !p.validated {
		if err := p.d.Validate(); err != nil {
			return err
		}
	}
	if p.o.NoRoutes && len(p.d.Routes) > 0 {
		return &InvalidError{Problems: []Problem{{Entry: "routes[0]", Field: "dst", Message: "the scope manages no routes (NoRoutes): it cannot desire one"}}}
	}
	if p.o.NoRoutes && len(p.d.Nexthops) > 0 {
		return &InvalidError{Problems: []Problem{{Entry: "nexthops[0]", Field: "id", Message: "the scope manages no routes (NoRoutes): it cannot desire a nexthop"}}}
	}
	if err := p.begin(); err != nil {
		return err
	}
	if err := p.links(); err != nil {
		return err
	}
	linkDeletes := p.deletes
	linkConflicts := len(p.report.Conflicts)
	// Removing an interface's last IPv4 address makes the kernel flush
	// every IPv4 route and ARP entry through it (fib_disable_ip), including
	// ones this pass just made: when a pass deleted addresses, look again.
	for round := 0; round < 2; round++ {
		p.deletes = nil
		// A second look reports its conflicts afresh, not twice.
		p.report.Conflicts = p.report.Conflicts[:linkConflicts]
		if err := p.rest(); err != nil {
			return err
		}
		before := len(p.report.Applied)
		for i := len(p.deletes) - 1; i >= 0; i-- {
			if err := p.do(p.keep(p.deletes[i])); err != nil { // a delete that failed is sent once a pass
				return err
			}
		}
		if !deletedAddress(p.report.Applied[before:]) {
			break
		}
		if p.narrow != nil {
			// The kernel may have flushed routes with the address.
			return errUnsure
		}
	}
	for i := len(linkDeletes) - 1; i >= 0; i-- {
		if err := p.do(p.keep(linkDeletes[i])); err != nil {
			return err
		}
	}
	return nil
}

func deletedAddress(ops []diff.Op) bool {
	for _, op := range ops {
		if op.Kind == diff.KindAddress && op.Action == diff.Delete {
			return true
		}
	}
	return false
}

// linkRounds bounds the link rounds of a pass that apply changes: a link's
// parent or master may be created in the same pass, so its index is known
// only after the round that created it (round 0 creates, round 1
// enslaves); enslaving may in turn change a bridge's MTU, which the kernel
// recomputes from its ports unless it was set with a change rather than at
// creation (round 2 restores it). One more round only looks: a change
// still wanted then fails the pass, the kernel having undone it.
const linkRounds = 3

// links converges links in rounds (see linkRounds). Deletes wait for the
// end of the pass.
func (p *pass) links() error {
	for round := 0; ; round++ {
		observed, err := p.s.Links()
		if err != nil {
			return fmt.Errorf("listing links: %w", err)
		}
		p.index = make(map[string]int, len(observed))
		p.listed = make(map[int]rtnl.Link, len(observed))
		p.linkSig = 0
		for _, l := range observed {
			p.index[l.Name] = l.Index
			p.listed[l.Index] = l
			if p.track {
				p.linkSig ^= linkHash(l.Name)
			}
		}
		// Record the indices of owned links seen for the first time (those
		// created in the round before), and disown a name now held by a
		// link of another index: the link this scope created is gone.
		foreign, err := p.l.settleLinks(observed, p.apply)
		if err != nil {
			return err
		}
		for _, k := range foreign {
			p.owned.Links.Remove(k)
		}
		// A desired link held by a foreign link holds back the links
		// desired on it, which may hold others, and so does one that
		// failed or is blocked: diff again until no more are held (at most
		// once per desired link).
		var (
			desired             []rtnl.Link
			down, adopt         diff.Set[diff.LinkKey]
			pending             string
			ops                 []diff.Op
			conflicts, heldBack []diff.Conflict
		)
		for range 2*len(p.d.Links) + 1 {
			p.badChanged = false
			desired, down, adopt, pending, heldBack = p.desiredLinks()
			ops, conflicts = diff.Links(desired, observed, p.owned.Links, down, adopt)
			if !p.hold(conflicts) && !p.badChanged {
				break
			}
		}
		ops = p.keep(ops)
		creates, deletes := split(ops)
		if round == 0 {
			p.report.Conflicts = append(p.report.Conflicts, conflicts...)
			p.report.Conflicts = append(p.report.Conflicts, heldBack...)
		}
		if len(creates) > 0 && round == linkRounds {
			for _, op := range creates {
				err := fmt.Errorf("links did not settle after %d rounds: the kernel keeps undoing this change", linkRounds+1)
				if err := p.fail(op, "", err, false); err != nil {
					return err
				}
			}
			p.deletes = append(p.deletes, deletes)
			return nil
		}
		if len(creates) == 0 {
			if pending != "" {
				// A link whose parent is neither present nor desired fails;
				// the links on it are then blocked by it.
				op := diff.Op{Action: diff.Create, Kind: diff.KindLink, Link: &rtnl.Link{Name: pending}}
				if err := p.fail(op, "", fmt.Errorf("no such interface %q (neither present nor desired)", p.pendingName(pending)), false); err != nil {
					return err
				}
				round-- // look again, without the failed link
				continue
			}
			p.deletes = append(p.deletes, deletes)
			return nil
		}
		if err := p.do(creates); err != nil {
			return err
		}
	}
}

// pendingName returns what a pending link waits for.
func (p *pass) pendingName(link string) string {
	for _, l := range p.d.Links {
		if l.Name == link {
			if _, ok := p.index[l.Parent]; l.Parent != "" && !ok {
				return l.Parent
			}
			return l.Master
		}
	}
	return link
}

// hold adds to p.held the desired links that conflicts say a foreign link
// holds, and reports whether it added any.
func (p *pass) hold(conflicts []diff.Conflict) bool {
	added := false
	for _, c := range conflicts {
		if c.Kind != diff.KindLink || !c.Foreign {
			continue
		}
		l, ok := c.Desired.(rtnl.Link)
		if !ok || p.held[l.Name] {
			continue
		}
		if p.held == nil {
			p.held = make(map[string]bool)
		}
		p.held[l.Name], added = true, true
	}
	return added
}

// heldConflict is the conflict of an object desired on the held link
// named link: it is not applied to the foreign link.
func heldConflict(kind diff.Kind, key string, desired any, link string) diff.Conflict {
	return diff.Conflict{Kind: kind, Key: key, Desired: desired, Foreign: true,
		Reason: fmt.Sprintf("link %q is another writer's (see its conflict): the %s is not applied to it", link, kind)}
}

// desiredLinks resolves desired links against the current indices, with
// the keys of those wanted down and adopted. A link whose parent does not
// exist yet is left out (pending) until a later round; a master that does
// not exist yet is left unset. A link whose parent is held (p.held) is
// left out and held too, and one whose master is held is not enslaved to
// it: both are conflicts, returned in held. A link whose parent or master
// failed or is blocked (p.bad) is blocked by it, unless it is enslaved to
// that master already; the ops of a blocked or failed link are dropped
// later (see keep), but an existing one stays desired, so that it is not
// deleted.
func (p *pass) desiredLinks() (out []rtnl.Link, down, adopt diff.Set[diff.LinkKey], pending string, held []diff.Conflict) {
	for _, dl := range p.d.Links {
		l := rtnl.Link{Name: dl.Name, Kind: dl.Kind, MTU: dl.MTU, HardwareAddr: dl.MAC, Data: dl.Data}
		if dl.Adopt {
			if adopt == nil {
				adopt = diff.NewSet[diff.LinkKey]()
			}
			adopt.Add(diff.KeyOfLink(l))
		}
		if dl.Parent != "" && p.held[dl.Parent] {
			if !p.held[dl.Name] {
				if p.held == nil {
					p.held = make(map[string]bool)
				}
				p.held[dl.Name] = true
			}
			held = append(held, diff.Conflict{Kind: diff.KindLink, Key: dl.Name, Desired: l, Foreign: true,
				Reason: fmt.Sprintf("its parent %q is another writer's link (see its conflict): the link is not created on it", dl.Parent)})
			continue
		}
		if _, bad := p.bad[dl.Name]; !bad && len(p.bad) > 0 {
			create := diff.Op{Action: diff.Create, Kind: diff.KindLink, Link: new(l)}
			if _, pb := p.bad[dl.Parent]; pb && dl.Parent != "" {
				p.block(linkRef(dl.Name), create, "", linkRef(dl.Parent))
			} else if _, mb := p.bad[dl.Master]; mb && dl.Master != "" && !p.enslaved(dl.Name, dl.Master) {
				p.block(linkRef(dl.Name), create, "", linkRef(dl.Master))
			}
		}
		switch dl.State {
		case LinkStateUp:
			l.Flags = net.FlagUp
		case LinkStateDown:
			if down == nil {
				down = diff.NewSet[diff.LinkKey]()
			}
			down.Add(diff.KeyOfLink(l))
		}
		if dl.Parent != "" {
			idx, ok := p.index[dl.Parent]
			if !ok {
				if _, bad := p.bad[dl.Name]; bad {
					continue // failed or blocked: nothing to wait for
				}
				if pending == "" {
					pending = dl.Name
				}
				continue
			}
			l.ParentIndex = idx
		}
		_, badMaster := p.bad[dl.Master]
		switch {
		case dl.Master != "" && p.held[dl.Master]:
			held = append(held, diff.Conflict{Kind: diff.KindLink, Key: dl.Name, Desired: l, Foreign: true,
				Reason: fmt.Sprintf("its master %q is another writer's link (see its conflict): the link is not enslaved to it", dl.Master)})
		case dl.Master != "" && badMaster:
			// Left unset: the link is blocked by its master (above).
		case dl.Master != "":
			l.MasterIndex = p.index[dl.Master] // 0 (don't care) until it exists
		}
		out = append(out, l)
	}
	return out, down, adopt, pending, held
}

// enslaved reports whether the link named name is a port of the link
// named master, as last listed.
func (p *pass) enslaved(name, master string) bool {
	i, ok := p.index[name]
	m, mok := p.index[master]
	return ok && mok && p.listed[i].MasterIndex == m
}

// rest converges addresses, routes, neighbours and rules.
func (p *pass) rest() error {
	resolve := func(what, name string) (int, error) {
		idx, ok := p.index[name]
		if !ok {
			return 0, fmt.Errorf("%s on an unknown interface: no such interface %q", what, name)
		}
		return idx, nil
	}
	// fail records a desired object that names an interface neither
	// present nor desired: with FailFast it stops the pass; otherwise the
	// object is left out and the rest goes on.
	fail := func(op diff.Op, link string, err error) error {
		op.Action = diff.Create
		return p.fail(op, link, err, false)
	}
	// gone reports whether the link named name failed or is blocked and
	// does not exist: what is desired on it is blocked and left out (it
	// cannot exist either). One that exists stays desired, so that what
	// is on it is not deleted; its ops are held back by keep.
	// A desired link without a kind that is not there (another program
	// is to make it: a container runtime, say) blocks what is on it too,
	// until it appears.
	absent := p.absentLinks()
	gone := func(name string) bool {
		_, bad := p.bad[name]
		_, exists := p.index[name]
		return (bad || absent[name]) && !exists
	}

	var desired diff.State
	for _, a := range p.d.Addresses {
		if p.held[a.Link] {
			x := rtnl.Address{Index: p.index[a.Link], Prefix: a.Prefix}
			p.report.Conflicts = append(p.report.Conflicts, heldConflict(diff.KindAddress, diff.KeyOfAddress(x).String(), x, a.Link))
			continue
		}
		op := diff.Op{Action: diff.Create, Kind: diff.KindAddress, Address: &rtnl.Address{Prefix: a.Prefix}}
		if gone(a.Link) {
			p.block(Ref{Kind: diff.KindAddress, Key: onLink(a.Link, "prefix", a.Prefix)}, op, a.Link, linkRef(a.Link))
			continue
		}
		idx, err := resolve("address", a.Link)
		if err != nil {
			if err := fail(op, a.Link, err); err != nil {
				return err
			}
			continue
		}
		desired.Addresses = append(desired.Addresses, rtnl.Address{Index: idx, Prefix: a.Prefix})
	}
	protos := p.routeProtocols()
	// The desired routes are checked here, and converted only as the diff
	// reads them (passRoutes): a list of them all, made afresh by every
	// pass, cost more than the rest of a converged pass. A narrowed pass
	// reads only those at the keys the kernel reported changed.
	routes := &passRoutes{p: p}
	count := len(p.d.Routes)
	if p.narrow != nil {
		count = len(p.narrow.positions)
	}
	for k := range count {
		i := k
		if p.narrow != nil {
			i = int(p.narrow.positions[k])
		}
		r := &p.d.Routes[i]
		if held := p.heldDev(r); held != "" {
			rt := p.routeBase(r)
			p.report.Conflicts = append(p.report.Conflicts, heldConflict(diff.KindRoute, diff.KeyOfRoute(rt).String(), rt, held))
			continue
		}
		if dev := p.goneDev(r, gone); dev != "" {
			op := diff.Op{Action: diff.Create, Kind: diff.KindRoute, Route: new(p.routeBase(r))}
			p.block(RefOf(op), op, "", linkRef(dev))
			continue
		}
		if r.Dev != "" {
			if _, err := resolve("route", r.Dev); err != nil {
				if err := fail(diff.Op{Kind: diff.KindRoute, Route: new(p.routeBase(r))}, "", err); err != nil {
					return err
				}
				continue
			}
		}
		unknown := false
		for _, nh := range r.NextHops {
			if nh.Dev != "" {
				if _, err := resolve("route", nh.Dev); err != nil {
					rt := p.routeBase(r)
					rt.OIF = p.index[r.Dev]
					if err := fail(diff.Op{Kind: diff.KindRoute, Route: new(rt)}, "", err); err != nil {
						return err
					}
					unknown = true
					break
				}
			}
		}
		if unknown {
			continue
		}
		routes.keep(i)
	}
	var (
		desiredNexthops []rtnl.Nexthop
		heldByLink      map[uint32]bool
	)
	for _, n := range p.d.Nexthops {
		nh := rtnl.Nexthop{ID: n.ID, Gateway: n.Via, Blackhole: n.Blackhole, Group: n.Group, GroupType: n.Type}
		if n.Group != nil && n.Type == rtnl.NexthopGroupResilient {
			res := n.Resilient
			nh.Resilient = &res
		}
		if p.held[n.Dev] {
			p.report.Conflicts = append(p.report.Conflicts, heldConflict(diff.KindNexthop, diff.KeyOfNexthop(nh).String(), nh, n.Dev))
			if heldByLink == nil {
				heldByLink = make(map[uint32]bool)
			}
			heldByLink[n.ID] = true
			// Still desired, so that it is not deleted and its groups stay
			// whole; its ops are dropped (see nexthops).
			desiredNexthops = append(desiredNexthops, nh)
			continue
		}
		if n.Dev != "" {
			op := diff.Op{Action: diff.Create, Kind: diff.KindNexthop, Nexthop: new(nh)}
			idx, err := resolve("nexthop", n.Dev)
			switch {
			case gone(n.Dev):
				p.block(RefOf(op), op, "", linkRef(n.Dev))
			case err != nil:
				if err := fail(op, "", err); err != nil {
					return err
				}
			}
			if err != nil {
				// Still desired, as a held one is, so that its groups stay
				// whole; its ops are dropped (keep: it is marked).
				desiredNexthops = append(desiredNexthops, nh)
				continue
			}
			nh.OIF = idx
		}
		desiredNexthops = append(desiredNexthops, nh)
	}
	nhOps, heldNexthops, err := p.nexthops(desiredNexthops, heldByLink, protos)
	if err != nil {
		return err
	}
	if p.narrow != nil && (len(p.held) > 0 || len(heldNexthops) > 0 || len(nhOps) > 0) {
		// Held links and nexthops hold back routes at keys the journal
		// does not name, and a nexthop op changes routes through it.
		return errUnsure
	}
	if len(heldNexthops) > 0 {
		// A route through a nexthop another writer's holds would go
		// through that writer's nexthop: it is held back.
		routes = routes.filter(func(i int, r *Route) bool {
			if !heldNexthops[r.Nexthop] {
				return true
			}
			var rt rtnl.Route
			routes.Route(i, &rt)
			p.report.Conflicts = append(p.report.Conflicts, diff.Conflict{Kind: diff.KindRoute, Key: diff.KeyOfRoute(rt).String(),
				Desired: rt, Foreign: true, Reason: fmt.Sprintf("nexthop %d is another writer's (see its conflict): the route is not sent through it", rt.NHID)})
			return false
		})
	}
	for _, n := range p.d.Neighbours {
		if p.held[n.Link] {
			x := rtnl.Neighbour{Index: p.index[n.Link], IP: n.IP, HardwareAddr: n.MAC, State: rtnl.NeighPermanent}
			p.report.Conflicts = append(p.report.Conflicts, heldConflict(diff.KindNeighbour, diff.KeyOfNeighbour(x).String(), x, n.Link))
			continue
		}
		op := diff.Op{Action: diff.Create, Kind: diff.KindNeighbour, Neighbour: &rtnl.Neighbour{IP: n.IP, HardwareAddr: n.MAC, State: rtnl.NeighPermanent}}
		if gone(n.Link) {
			p.block(Ref{Kind: diff.KindNeighbour, Key: onLink(n.Link, "ip", n.IP)}, op, n.Link, linkRef(n.Link))
			continue
		}
		idx, err := resolve("neighbour", n.Link)
		if err != nil {
			if err := fail(op, n.Link, err); err != nil {
				return err
			}
			continue
		}
		desired.Neighbours = append(desired.Neighbours, rtnl.Neighbour{Index: idx, IP: n.IP, HardwareAddr: n.MAC, State: rtnl.NeighPermanent})
	}
	desired.Rules = p.d.Rules

	var observed diff.State
	if observed.Addresses, err = p.s.Addresses(); err != nil {
		return fmt.Errorf("listing addresses: %w", err)
	}
	if observed.Neighbours, err = p.s.Neighbours(); err != nil {
		return fmt.Errorf("listing neighbours: %w", err)
	}
	if observed.Rules, err = p.s.Rules(); err != nil {
		return fmt.Errorf("listing rules: %w", err)
	}
	p.observedAddrs = observed.Addresses
	if p.track {
		p.addrSig = 0
		for _, a := range observed.Addresses {
			p.addrSig ^= addrHash(a)
		}
	}
	// Addresses, neighbours and rules carry the scope's protocol, and are
	// its own only with it where the kernel keeps it (see kernelMarks).
	marked := kernelMarks(kernelRelease(), observed)
	own := p.o.protocol()

	addrOps, addrConflicts := diff.Addresses(desired.Addresses, observed.Addresses, p.owned.Addresses, diff.Mark{Protocol: own, Kept: marked.Addresses})
	p.report.Conflicts = append(p.report.Conflicts, addrConflicts...)
	var (
		routeChanges []diff.RouteChanges
		routeDeletes []diff.Op
	)
	obs := p.routeScratch()
	for _, proto := range protos {
		// Kernel-side filtering: the pass costs the routes it owns, not the
		// size of the table.
		want := routes
		if len(protos) > 1 {
			want = routes.filter(func(_ int, r *Route) bool { return p.routeProtocol(r) == proto })
		}
		if p.narrow != nil {
			p.narrow.observe(proto, obs)
		} else if err := listRoutes(p.s, proto, want.Len(), obs); err != nil {
			return fmt.Errorf("listing routes of protocol %s: %w", proto, err)
		}
		changes, deletes, conflicts := diff.RoutesInParts(want, obs)
		routeChanges = append(routeChanges, changes)
		if routeDeletes == nil {
			routeDeletes = deletes // one protocol, the usual case: no copy
		} else {
			routeDeletes = append(routeDeletes, deletes...)
		}
		p.report.Conflicts = append(p.report.Conflicts, conflicts...)
	}
	neighOps, neighConflicts := diff.Neighbours(desired.Neighbours, observed.Neighbours, p.owned.Neighbours, diff.Mark{Protocol: own, Kept: marked.Neighbours})
	ruleOps, ruleConflicts := diff.Rules(desired.Rules, observed.Rules, p.owned.Rules, diff.Mark{Protocol: own, Kept: marked.Rules})
	p.report.Conflicts = append(p.report.Conflicts, neighConflicts...)
	p.report.Conflicts = append(p.report.Conflicts, ruleConflicts...)

	// Nexthops are created before the routes that name them and, deletes
	// going in reverse, deleted after them; single nexthops go before the
	// groups that list them, in a batch of their own, so that a group
	// whose member failed is blocked rather than refused.
	singles, groups := nexthopsByLevel(nhOps)
	if err := p.doKinds(addrOps, singles, groups); err != nil {
		return err
	}
	p.deletes = append(p.deletes, routeDeletes)
	if err := p.doRoutes(routeChanges); err != nil {
		return err
	}
	return p.doKinds(neighOps, ruleOps)
}

// doKinds applies the creates and updates of each list of ops in turn,
// each of one kind, and keeps their deletes (p.deletes) for the end of
// the pass.
func (p *pass) doKinds(kinds ...[]diff.Op) error {
	for _, ops := range kinds {
		creates, deletes := split(ops)
		p.deletes = append(p.deletes, deletes)
		// What depends on an object that failed in an earlier batch is
		// held back (see the package documentation, "Dependencies").
		if err := p.do(p.keep(creates)); err != nil {
			return err
		}
	}
	return nil
}

// nexthopsByLevel splits nexthop ops into those of single nexthops and
// those of groups, keeping the order; a delete stays in singles (deletes
// go out in the order the diff gave them, groups first).
func nexthopsByLevel(ops []diff.Op) (singles, groups []diff.Op) {
	n := 0
	for i := range ops {
		if ops[i].Action != diff.Delete && ops[i].Nexthop.IsGroup() {
			n++
		}
	}
	if n == 0 || n == len(ops) {
		if n == 0 {
			return ops, nil
		}
		return nil, ops
	}
	singles = make([]diff.Op, 0, len(ops)-n)
	groups = make([]diff.Op, 0, n)
	for _, op := range ops {
		if op.Action != diff.Delete && op.Nexthop.IsGroup() {
			groups = append(groups, op)
		} else {
			singles = append(singles, op)
		}
	}
	return singles, groups
}

// absentLinks returns the names of the desired links that have no kind
// to create them from and that the kernel does not hold: the pass reports
// each as a conflict and blocks what is desired on it.
func (p *pass) absentLinks() map[string]bool {
	var out map[string]bool
	for _, l := range p.d.Links {
		if _, exists := p.index[l.Name]; exists || l.Kind != "" || l.Data != nil {
			continue
		}
		if out == nil {
			out = make(map[string]bool)
		}
		out[l.Name] = true
	}
	return out
}

// goneDev returns the name of a link route r goes out of that failed or
// is blocked and does not exist (gone), "" when none.
func (p *pass) goneDev(r *Route, gone func(string) bool) string {
	if r.Dev != "" && gone(r.Dev) {
		return r.Dev
	}
	for _, nh := range r.NextHops {
		if nh.Dev != "" && gone(nh.Dev) {
			return nh.Dev
		}
	}
	return ""
}

// heldDev returns the name of a held link (see pass.held) that desired
// route r goes out of, "" when none.
func (p *pass) heldDev(r *Route) string {
	if len(p.held) == 0 {
		return ""
	}
	if p.held[r.Dev] {
		return r.Dev
	}
	for _, nh := range r.NextHops {
		if p.held[nh.Dev] {
			return nh.Dev
		}
	}
	return ""
}

// nexthops diffs the desired nexthops against the kernel's, owned by the
// pass's protocol, and returns the ops. A delete of a nexthop that a
// route of a protocol the pass does not own, or another writer's group,
// still uses is not sent: the kernel would delete that route with the
// nexthop, or take the nexthop out of that group. It is a conflict
// instead, and the nexthop stays until nothing foreign uses it. A kernel
// without nexthop objects is taken to hold none, unless some are desired.
//
// held starts with the ids held back already (their link is another
// writer's); the result adds those another writer's nexthop holds, and
// the groups listing any of them, whose ops are dropped.
func (p *pass) nexthops(desired []rtnl.Nexthop, held map[uint32]bool, protos []rtnl.Protocol) ([]diff.Op, map[uint32]bool, error) {
	if p.o.NoRoutes {
		return nil, held, nil // nexthops are owned by the protocol it does not claim
	}
	own := p.o.protocol()
	observed, err := p.s.Nexthops()
	if err != nil {
		if len(desired) == 0 && len(p.d.Nexthops) == 0 && (errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EINVAL)) {
			return nil, nil, nil
		}
		return nil, nil, fmt.Errorf("listing nexthops: %w", err)
	}
	ops, conflicts := diff.Nexthops(desired, observed, own)
	p.report.Conflicts = append(p.report.Conflicts, conflicts...)
	// A desired id another writer's nexthop holds is held, and so is a
	// group listing a held id: neither is sent, nor a route through them.
	for _, c := range conflicts {
		if n, ok := c.Desired.(rtnl.Nexthop); ok && c.Foreign {
			if held == nil {
				held = make(map[uint32]bool)
			}
			held[n.ID] = true
		}
	}
	if len(held) > 0 {
		for _, n := range desired {
			if !held[n.ID] && slices.ContainsFunc(n.Group, func(m rtnl.NexthopMember) bool { return held[m.ID] }) {
				held[n.ID] = true
				p.report.Conflicts = append(p.report.Conflicts, diff.Conflict{Kind: diff.KindNexthop, Key: diff.KeyOfNexthop(n).String(),
					Desired: n, Foreign: true, Reason: "a member is another writer's nexthop (see its conflict): the group is not sent"})
			}
		}
		ops = slices.DeleteFunc(ops, func(op diff.Op) bool { return op.Action != diff.Delete && held[op.Nexthop.ID] })
	}
	if !slices.ContainsFunc(ops, func(op diff.Op) bool { return op.Action == diff.Delete }) {
		return ops, held, nil
	}
	// Who still uses each nexthop to delete: another writer's routes,
	// and another writer's groups.
	users := make(map[uint32]string)
	for _, n := range observed {
		if n.Protocol == own {
			continue
		}
		for _, m := range n.Group {
			if _, ok := users[m.ID]; !ok {
				users[m.ID] = fmt.Sprintf("the group %d of protocol %s lists it", n.ID, n.Protocol)
			}
		}
	}
	routes, err := p.s.RoutesFiltered(rtnl.RouteFilter{})
	if err != nil {
		return nil, nil, fmt.Errorf("listing the routes through nexthops: %w", err)
	}
	groups := make(map[uint32][]rtnl.NexthopMember, len(observed))
	for _, n := range observed {
		if n.IsGroup() {
			groups[n.ID] = n.Group
		}
	}
	for _, r := range routes {
		if r.NHID == 0 || slices.Contains(protos, r.Protocol) {
			continue
		}
		why := fmt.Sprintf("%s (protocol %s) goes through it", r, r.Protocol)
		if _, ok := users[r.NHID]; !ok {
			users[r.NHID] = why
		}
		for _, m := range groups[r.NHID] {
			if _, ok := users[m.ID]; !ok {
				users[m.ID] = why
			}
		}
	}
	kept := ops[:0]
	for _, op := range ops {
		why, used := users[op.Nexthop.ID]
		if op.Action == diff.Delete && used {
			p.report.Conflicts = append(p.report.Conflicts, diff.Conflict{Kind: diff.KindNexthop,
				Key: op.Key(), Observed: *op.Nexthop,
				Reason: "not deleted: " + why + ", and the kernel would delete or change it with the nexthop"})
			continue
		}
		kept = append(kept, op)
	}
	return kept, held, nil
}

// split separates deletes, which wait for the end of the pass, from
// creates and updates, keeping the order. The delete half of a recreate
// (see recreated) stays with its create: the create would fail while the
// old object holds the key.
func split(ops []diff.Op) (apply, deletes []diff.Op) {
	n := 0
	for i := range ops {
		if ops[i].Action == diff.Delete && !recreated(ops, i) {
			n++
		}
	}
	if n == 0 {
		return ops, nil
	}
	apply = make([]diff.Op, 0, len(ops)-n)
	deletes = make([]diff.Op, 0, n)
	for i, op := range ops {
		if op.Action == diff.Delete && !recreated(ops, i) {
			deletes = append(deletes, op)
		} else {
			apply = append(apply, op)
		}
	}
	return apply, deletes
}

// byProtocol reports whether objects of kind k are owned by their
// protocol (routes, nexthops), with no ledger keys.
func byProtocol(k diff.Kind) bool { return k == diff.KindRoute || k == diff.KindNexthop }

// recreated reports whether ops[i] is the delete half of a recreate: a
// delete the diff put right before a create of the same key, for an owned
// object the kernel cannot change in place (a link's kind or settings, an
// address's peer). Routes and nexthops are never recreated: the kernel
// replaces them.
func recreated(ops []diff.Op, i int) bool {
	op := &ops[i]
	if op.Action != diff.Delete || byProtocol(op.Kind) || i+1 == len(ops) {
		return false
	}
	next := &ops[i+1]
	return next.Action == diff.Create && next.Kind == op.Kind && next.Key() == op.Key()
}

// do applies ops of one kind as one pipelined batch, keeping the ledger:
// keys of creates are recorded before, keys of deletes removed after
// (except a recreate's, whose create decides: the key stays unless the
// create was refused or never sent).
// Deleting what is already gone counts as done; a route create refused
// because a foreign route holds its key is a conflict, not a failure.
func (p *pass) do(ops []diff.Op) error {
	ops, err := p.prepare(ops)
	if err != nil || len(ops) == 0 {
		return err
	}
	done, failed, err := p.sendMuted(ops)
	if err != nil {
		// Nothing is known of these ops; the next pass re-lists. Their keys
		// stay recorded: forgetting a key whose object was created would
		// leave it unowned for good.
		return err
	}
	return p.settle(ops, done, failed)
}

// prepare returns ops without those that back off, having recorded the
// keys of the creates in the ledger: the first half of do.
func (p *pass) prepare(ops []diff.Op) ([]diff.Op, error) {
	if len(ops) == 0 {
		return nil, nil
	}
	if ops = p.skipBackingOff(ops); len(ops) == 0 {
		return nil, nil
	}
	// Route ops never touch the ledger (routes are owned by protocol), so
	// they are not collected for it.
	var creates []diff.Op
	for i := range ops {
		if ops[i].Action == diff.Create && !byProtocol(ops[i].Kind) {
			creates = append(creates, ops[i])
		}
	}
	if err := p.l.record(p.linkName, creates...); err != nil {
		return nil, err
	}
	// The pass's own copy of the ledger follows, so that a later link
	// round sees what this one created as the scope's.
	for i := range creates {
		p.owned.Record(creates[i])
	}
	return ops, nil
}

// settle takes in what the kernel made of ops, the first done of which
// were sent, failed by index: the ledger, the report and the failures.
// It is the second half of do.
func (p *pass) settle(ops []diff.Op, done int, failed map[int]*rtnl.Error) error {
	// blocked reports whether ops[i] is the create half of a recreate
	// whose delete did not take effect: the owned object is still there,
	// its key stays owned, and the delete's failure is what is reported.
	blocked := func(i int) bool {
		if i == 0 || !recreated(ops, i-1) {
			return false
		}
		if i-1 >= done {
			return true
		}
		e, bad := failed[i-1]
		return bad && !rtnl.IsNotExist(e)
	}
	var unsent []diff.Op
	for i := done; i < len(ops); i++ {
		op := &ops[i]
		if op.Action == diff.Create && !byProtocol(op.Kind) && Classify(op, false, nil, blocked(i)) == OutcomeUnsent {
			unsent = append(unsent, *op) // recorded above, never sent
		}
	}
	if err := p.l.forget(unsent...); err != nil {
		return err
	}
	p.disown(unsent)
	var (
		applied, deleted, notOurs []diff.Op
		refused                   []int
	)
	if len(failed) == 0 {
		applied = ops[:done:done] // all of them: no copy
	} else {
		applied = make([]diff.Op, 0, done)
	}
	for i := range ops[:done] {
		op := &ops[i]
		e, bad := failed[i]
		switch Classify(op, true, e, bad && blocked(i)) {
		case OutcomeApplied:
			if len(failed) > 0 {
				applied = append(applied, *op)
			}
			if op.Action == diff.Delete && !byProtocol(op.Kind) && !recreated(ops, i) {
				deleted = append(deleted, *op)
			}
		case OutcomeGone:
			applied = append(applied, *op) // already gone
			if !byProtocol(op.Kind) && !recreated(ops, i) {
				deleted = append(deleted, *op)
			}
		case OutcomeBlocked:
			// Refused because the old object stayed: the delete's failure
			// is reported, and the object is still ours.
		case OutcomeShadowed:
			// See deleteRules: still ours, left in place for now.
			p.report.Conflicts = append(p.report.Conflicts, diff.Conflict{Kind: op.Kind, Key: op.Key(),
				Observed: op.Object(), Reason: "not deleted: " + e.Message})
		case OutcomeHeld:
			if !byProtocol(op.Kind) {
				notOurs = append(notOurs, *op)
			}
			if p.narrow != nil && op.Kind == diff.KindRoute && !p.narrow.foreignAt(diff.KeyOfRoute(*op.Route)) {
				p.narrow.markUnsure("a route create was refused at a key the kernel did not report held")
			}
			p.report.Conflicts = append(p.report.Conflicts, diff.Conflict{Kind: op.Kind, Key: op.Key(),
				Desired: op.Object(), Foreign: true, Reason: "the kernel holds this key already (another writer's object); left untouched"})
		default:
			if op.Action == diff.Create && !byProtocol(op.Kind) {
				notOurs = append(notOurs, *op) // the kernel refused it: nothing was created
			}
			refused = append(refused, i)
		}
	}
	if o, ok := p.s.(AppliedObserver); ok && len(applied) > 0 {
		o.Applied(applied)
	}
	if cap(p.report.Applied) == 0 {
		// Shared, not copied: neither ops nor the report is written to
		// again, and a later append reallocates (len == cap).
		p.report.Applied = slices.Clip(applied)
	} else {
		p.report.Applied = append(p.report.Applied, applied...)
	}
	if err := p.l.Record(deleted...); err != nil {
		return err
	}
	p.disown(deleted)
	if err := p.l.forget(notOurs...); err != nil {
		return err
	}
	p.disown(notOurs)
	if p.track {
		for _, op := range applied {
			p.follow(&op)
		}
	}
	for _, i := range refused {
		var err error = failed[i]
		if failed[i] == nil {
			err = errors.New("refused") // not reached: a refused op has the kernel's error
		}
		if p.o.Retries != nil {
			p.tried = append(p.tried, triedOp{ref: RefOf(ops[i]), op: ops[i], err: err})
		}
		if err := p.fail(ops[i], "", err, false); err != nil {
			return err
		}
	}
	return nil
}

// disown removes the keys of ops from the pass's copy of the ledger, as
// Ledger.forget and the record of a delete remove them from the ledger.
func (p *pass) disown(ops []diff.Op) {
	for _, op := range ops {
		op.Action = diff.Delete
		p.owned.Record(op)
	}
}

// sendChunk bounds the ops encoded at a time: they are applied in
// batches of at most this many entries through one reused Batch, so that
// a pass of 100,000 routes holds half a megabyte of requests, warm in the
// cache when sent, rather than a buffer of several megabytes left to the
// garbage collector; each batch still pipelines its requests.
const sendChunk = 8192

// send applies ops, all of one kind, in batches of sendChunk. Routes go
// through to the end (a refused create is a conflict, and the rest must
// still converge); other kinds stop at the first failure. It returns how
// many leading ops were processed (the rest were not sent) and the
// failures by index into ops; err is the error of a batch that failed
// without a *rtnl.BatchError, nothing being known of its ops.
func (p *pass) send(ops []diff.Op) (done int, failed map[int]*rtnl.Error, err error) {
	if ruleDeletes(ops) {
		return p.deleteRules(ops)
	}
	if slices.ContainsFunc(ops, peerElsewhere) {
		return p.sendEach(ops)
	}
	stop := p.o.FailFast && ops[0].Kind != diff.KindRoute
	var b rtnl.Batch
	for start := 0; start < len(ops); start += sendChunk {
		chunk := ops[start:min(start+sendChunk, len(ops))]
		b.Reset()
		for i := range chunk {
			p.addToBatch(&b, &chunk[i])
		}
		err := p.s.ApplyWith(&b, rtnl.ApplyOptions{StopOnError: stop})
		if err == nil {
			continue
		}
		var be *rtnl.BatchError
		if !errors.As(err, &be) {
			return 0, nil, err
		}
		if failed == nil {
			failed = make(map[int]*rtnl.Error, len(be.Failures))
		}
		for _, f := range be.Failures {
			failed[start+f.Index] = f.Err
		}
		// A batch cut short (the transport failed) or, for kinds that stop,
		// any failure ends the sending: later chunks are not sent.
		if be.Done < len(chunk) || (stop && len(be.Failures) > 0) {
			return start + be.Done, failed, nil
		}
	}
	return len(ops), failed, nil
}

// opError returns err, the failure of op, as the kernel's *rtnl.Error
// that fails op alone; ok is false when err is not op's own failure but
// the pass's (a socket that broke, say).
func (p *pass) opError(op diff.Op, err error) (e *rtnl.Error, ok bool) {
	var errno unix.Errno
	switch {
	case errors.As(err, &e):
		return e, true
	case !p.o.FailFast && peerElsewhere(op) && errors.As(err, &errno):
		// The peer's namespace could not be entered (gone, say): a
		// failure of this link alone, not of the pass.
		return &rtnl.Error{Op: "link add", Errno: errno, Message: err.Error()}, true
	}
	return nil, false
}

// sendMuted is send, with the echo of route ops muted around a bulk
// batch (muteRoutes).
func (p *pass) sendMuted(ops []diff.Op) (done int, failed map[int]*rtnl.Error, err error) {
	if ops[0].Kind == diff.KindRoute {
		defer p.muteRoutes(len(ops))()
	}
	return p.send(ops)
}

// muteRoutes mutes the echo of n route operations about to be sent when
// they are BulkRoutes or more and the kernel is a RouteMuter, and returns
// what unmutes it (nothing otherwise).
func (p *pass) muteRoutes(n int) (unmute func()) {
	if m, ok := p.s.(RouteMuter); ok && n >= BulkRoutes {
		return m.MuteRoutes()
	}
	return func() {}
}

// peerElsewhere reports whether op creates a veth whose peer is created
// in another namespace, which a Batch cannot carry (rtnl.Batch.LinkAdd).
func peerElsewhere(op diff.Op) bool {
	if op.Kind != diff.KindLink || op.Action != diff.Create {
		return false
	}
	v, ok := op.Link.Data.(rtnl.Veth)
	return ok && !v.PeerNamespace.IsHost()
}

// sendEach is send for link ops among which a veth's peer goes to another
// namespace: one request at a time, those creates through
// Socket.LinkAdd, stopping at the first failure with Options.FailFast. A
// pod's link ops are a handful, so the lost pipelining costs nothing
// measurable.
func (p *pass) sendEach(ops []diff.Op) (done int, failed map[int]*rtnl.Error, err error) {
	var b rtnl.Batch
	for i := range ops {
		if peerElsewhere(ops[i]) {
			err = p.s.LinkAdd(*ops[i].Link)
		} else {
			b.Reset()
			p.addToBatch(&b, &ops[i])
			err = p.s.ApplyWith(&b, rtnl.ApplyOptions{StopOnError: true})
			var be *rtnl.BatchError
			if errors.As(err, &be) && len(be.Failures) > 0 {
				err = be.Failures[0].Err
			}
		}
		if err == nil {
			continue
		}
		e, ok := p.opError(ops[i], err)
		if !ok {
			return i, failed, err
		}
		if failed == nil {
			failed = make(map[int]*rtnl.Error)
		}
		failed[i] = e
		if p.o.FailFast {
			return i + 1, failed, nil
		}
	}
	return len(ops), failed, nil
}

// addToBatch appends the request that carries out op.
func (p *pass) addToBatch(b *rtnl.Batch, op *diff.Op) {
	switch op.Kind {
	case diff.KindLink:
		switch op.Action {
		case diff.Create:
			b.LinkAdd(*op.Link)
		case diff.Update:
			b.LinkModify(linkChanges(*op.Link, p.listed[op.Link.Index]))
		case diff.Delete:
			b.LinkDelete(op.Link.Index)
		}
	case diff.KindAddress:
		switch op.Action {
		case diff.Create:
			b.AddressAdd(*op.Address)
		case diff.Update:
			b.AddressReplace(*op.Address)
		case diff.Delete:
			b.AddressDelete(*op.Address)
		}
	case diff.KindRoute:
		switch op.Action {
		case diff.Create:
			b.RouteAdd(*op.Route)
		case diff.Update:
			b.RouteReplace(*op.Route)
		case diff.Delete:
			b.RouteDelete(*op.Route)
		}
	case diff.KindNeighbour:
		switch op.Action {
		case diff.Create:
			b.NeighbourAdd(*op.Neighbour)
		case diff.Update:
			b.NeighbourReplace(*op.Neighbour)
		case diff.Delete:
			b.NeighbourDelete(*op.Neighbour)
		}
	case diff.KindRule:
		switch op.Action {
		case diff.Create:
			b.RuleAdd(*op.Rule)
		case diff.Delete:
			b.RuleDelete(*op.Rule)
		}
	case diff.KindNexthop:
		switch op.Action {
		case diff.Create:
			b.NexthopAdd(*op.Nexthop)
		case diff.Update:
			b.NexthopReplace(*op.Nexthop)
		case diff.Delete:
			b.NexthopDelete(op.Nexthop.ID)
		}
	}
}

// linkChanges returns the link update u (the whole link as it is to be)
// with the MTU, hardware address and queue length it shares with o, the
// link as listed, left out: LinkModify sends those only when set, and
// sending one unchanged is not a no-op. A bridge given its MTU or address
// stops following its ports' (the kernel marks them set by the user).
// Master and up or down are always sent; the kernel ignores them when
// unchanged.
func linkChanges(u, o rtnl.Link) rtnl.Link {
	if o.Index != u.Index {
		return u // not listed: send it all
	}
	if u.MTU == o.MTU {
		u.MTU = 0
	}
	if bytes.Equal(u.HardwareAddr, o.HardwareAddr) {
		u.HardwareAddr = nil
	}
	if u.TxQueueLen == o.TxQueueLen {
		u.TxQueueLen = 0
	}
	return u
}

// ruleDeletes reports whether ops are all rule deletes.
func ruleDeletes(ops []diff.Op) bool {
	for i := range ops {
		if ops[i].Kind != diff.KindRule || ops[i].Action != diff.Delete {
			return false
		}
	}
	return true
}

// deleteRules deletes rules one at a time with Socket.RuleDelete, which
// deletes exactly the rule it is given: the kernel deletes the first rule
// a request matches, another writer's with more selectors perhaps, and a
// batch cannot check that. RuleDelete sends nothing for a rule no longer
// installed (ENOENT) or shadowed by another (EBUSY). Neither stops the
// other deletes (do reports them as done and as a conflict); with
// Options.FailFast any other failure does, as send stops then for every
// kind but routes.
func (p *pass) deleteRules(ops []diff.Op) (done int, failed map[int]*rtnl.Error, err error) {
	for i := range ops {
		err := p.s.RuleDelete(*ops[i].Rule)
		if err == nil {
			continue
		}
		e, ok := p.opError(ops[i], err)
		if !ok {
			return i, failed, err
		}
		if failed == nil {
			failed = make(map[int]*rtnl.Error)
		}
		failed[i] = e
		if p.o.FailFast && !rtnl.IsNotExist(e) && !errors.Is(e, unix.EBUSY) {
			return i + 1, failed, nil
		}
	}
	return len(ops), failed, nil
}
