package diff

import (
	"fmt"

	"github.com/linx-net/linx/rtnl"
)

// Addresses diffs desired addresses against observed ones, three-way with
// owned, the keys of the addresses this owner created, and the mark m
// (IFA_PROTO): an observed address is the owner's when its key is owned
// and, where m is Kept, it carries m.Protocol (see Mark). Addresses are
// keyed by interface index and prefix (host bits kept).
//
// A desired address that is missing is created, carrying m.Protocol. One
// that exists with a different Peer, Broadcast, Label or Scope (compared
// only where the desired field is set) cannot be changed in place: the
// owner's address is recreated (Delete right before Create). A desired
// address whose key another writer's address holds is a Conflict, and
// that address is left alone. The owner's addresses no longer desired are
// deleted; a foreign address is never deleted. Flags are not compared
// (the kernel adds its own).
//
// The conflicts are a foreign address holding a desired key, a key
// desired twice, and an invalid prefix or index.
func Addresses(desired, observed []rtnl.Address, owned Set[AddressKey], m Mark) ([]Op, []Conflict) {
	r := addressSpec.run(desired, observed, owned, m)
	return r.ops(AddressKey.Compare), sortConflicts(r.conflicts, AddressKey.Compare)
}

var addressSpec = &threeWay[rtnl.Address, AddressKey]{
	kind:    KindAddress,
	key:     KeyOfAddress,
	prepare: prepareAddress,
	compare: compareAddress,
	wrap:    func(a Action, x rtnl.Address) Op { return Op{Action: a, Kind: KindAddress, Address: &x} },
	proto:   func(a rtnl.Address) rtnl.Protocol { return rtnl.Protocol(a.Protocol) },
	mark: func(a rtnl.Address, p rtnl.Protocol) rtnl.Address {
		a.Protocol = rtnl.AddressProtocol(p)
		return a
	},
}

func prepareAddress(a rtnl.Address) (rtnl.Address, string) {
	switch {
	case !a.Prefix.IsValid():
		return a, "the address has no valid prefix"
	case a.Index <= 0:
		return a, fmt.Sprintf("the address %s has no interface index", a.Prefix)
	}
	return a, ""
}

func compareAddress(d, o rtnl.Address) (verdict, rtnl.Address, string) {
	switch {
	case d.Peer.IsValid() && d.Peer != o.Peer:
		return incompatible, d, fmt.Sprintf("address %s has peer %v, desired %s", o.Prefix, o.Peer, d.Peer)
	case d.Broadcast.IsValid() && d.Broadcast != o.Broadcast:
		return incompatible, d, fmt.Sprintf("address %s has broadcast %v, desired %s", o.Prefix, o.Broadcast, d.Broadcast)
	case d.Label != "" && d.Label != o.Label:
		return incompatible, d, fmt.Sprintf("address %s has label %q, desired %q", o.Prefix, o.Label, d.Label)
	case d.Scope != 0 && d.Scope != o.Scope:
		return incompatible, d, fmt.Sprintf("address %s has scope %s, desired %s", o.Prefix, o.Scope, d.Scope)
	}
	return same, o, ""
}
