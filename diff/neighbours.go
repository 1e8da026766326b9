package diff

import (
	"bytes"

	"github.com/linx-net/linx/rtnl"
)

// Neighbours diffs desired neighbour entries against observed ones,
// three-way with owned, the keys of the entries this owner created, and
// the mark m (NDA_PROTOCOL): an observed entry is the owner's when its key
// is owned and, where m is Kept, it carries m.Protocol (see Mark). Entries
// are keyed by interface index and IP.
//
// A desired entry that is missing is created (an exclusive create, which
// never replaces an entry the kernel holds), with State PERMANENT when
// its State is zero and carrying m.Protocol. The owner's entry is updated
// in place (a neighbour replace) when its HardwareAddr differs (a nil
// desired one is "don't care"), when its Flags differ (zero is "don't
// care"), or when the desired State is PERMANENT or NOARP and the
// observed one is not: other states are the kernel's to move between, and
// are not compared. A desired entry whose key another writer's entry
// holds (a PERMANENT or NOARP one, one carrying a protocol, or one
// externally learned) is a Conflict, and that entry is never overwritten.
// An entry the kernel learned itself (its cache: reachable, stale, …) is
// no writer's: a desired entry takes its place, its delete right before
// the create. The owner's entries no longer desired are deleted; foreign
// entries never are.
//
// The conflicts are a foreign entry holding a desired key, a key desired
// twice and an entry with no IP or no interface index.
func Neighbours(desired, observed []rtnl.Neighbour, owned Set[NeighbourKey], m Mark) ([]Op, []Conflict) {
	r := neighbourSpec.run(desired, observed, owned, m)
	return r.ops(NeighbourKey.Compare), sortConflicts(r.conflicts, NeighbourKey.Compare)
}

var neighbourSpec = &threeWay[rtnl.Neighbour, NeighbourKey]{
	kind:    KindNeighbour,
	key:     KeyOfNeighbour,
	prepare: prepareNeighbour,
	compare: compareNeighbour,
	wrap:    func(a Action, n rtnl.Neighbour) Op { return Op{Action: a, Kind: KindNeighbour, Neighbour: &n} },
	proto:   func(n rtnl.Neighbour) rtnl.Protocol { return n.Protocol },
	cache:   learned,
	mark: func(n rtnl.Neighbour, p rtnl.Protocol) rtnl.Neighbour {
		n.Protocol = p
		return n
	},
}

// ntfExtLearned is NTF_EXT_LEARNED: an entry another writer (a control
// plane such as an EVPN daemon) put in, not one the kernel learned.
const ntfExtLearned = 0x10

// learned reports whether n is an entry the kernel learned by resolving
// its address (ARP or NDP): neither PERMANENT nor NOARP, carrying no
// writer's protocol and not externally learned. Such an entry is the
// kernel's cache, which it refreshes or drops by itself, not a writer's
// configuration: a desired static entry takes its place.
func learned(n rtnl.Neighbour) bool {
	return n.State&(rtnl.NeighPermanent|rtnl.NeighNoARP) == 0 && n.Protocol == 0 && n.Flags&ntfExtLearned == 0
}

func prepareNeighbour(n rtnl.Neighbour) (rtnl.Neighbour, string) {
	switch {
	case !n.IP.IsValid():
		return n, "the neighbour has no IP"
	case n.Index <= 0:
		return n, "the neighbour " + n.IP.String() + " has no interface index"
	}
	// Sent as is, a zero state creates an entry without a link-layer
	// address; PERMANENT is what a static entry means.
	if n.State == 0 {
		n.State = rtnl.NeighPermanent
	}
	return n, ""
}

func compareNeighbour(d, o rtnl.Neighbour) (verdict, rtnl.Neighbour, string) {
	u, changed := o, false
	if d.HardwareAddr != nil && !bytes.Equal(d.HardwareAddr, o.HardwareAddr) {
		u.HardwareAddr, changed = d.HardwareAddr, true
	}
	if (d.State == rtnl.NeighPermanent || d.State == rtnl.NeighNoARP) && o.State != d.State {
		u.State, changed = d.State, true
	}
	if d.Flags != 0 && d.Flags != o.Flags {
		u.Flags, changed = d.Flags, true
	}
	if changed {
		return change, u, ""
	}
	return same, o, ""
}
