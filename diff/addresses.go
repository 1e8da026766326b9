package diff

import (
	"fmt"

	"github.com/linx-net/linx/rtnl"
)

// Addresses diffs desired addresses against observed ones, three-way with
// owned, the keys of the addresses this owner created. Addresses are keyed
// by interface index and prefix (host bits kept).
//
// A desired address that is missing is created. One that exists with a
// different Peer, Broadcast, Label or Scope (compared only where the
// desired field is set) cannot be changed in place: an owned address is
// recreated (Delete right before Create), a foreign one is left alone. An
// owned address no longer desired is deleted; a foreign address that
// merely appeared is never deleted. Flags are not compared (the kernel
// adds its own).
//
// Addresses returns ops only: the conflicts it finds (a foreign address
// that differs, a key desired twice, an invalid prefix or index) are
// reported by Compute, whose Plan carries them.
func Addresses(desired, observed []rtnl.Address, owned Set[AddressKey]) []Op {
	return addressSpec.run(desired, observed, owned).ops(AddressKey.Compare)
}

var addressSpec = &threeWay[rtnl.Address, AddressKey]{
	kind:    KindAddress,
	key:     KeyOfAddress,
	prepare: prepareAddress,
	compare: compareAddress,
	wrap:    func(a Action, x rtnl.Address) Op { return Op{Action: a, Kind: KindAddress, Address: x} },
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
