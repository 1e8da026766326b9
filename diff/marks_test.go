package diff

import (
	"strconv"
	"testing"

	"github.com/linx-net/linx/rtnl"
)

// TestMarkOwnership checks the ownership decision where the kernel keeps
// the writer's protocol: an object is the owner's only when its key is
// owned and it carries the owner's protocol; without marks, the ledger
// alone decides.
func TestMarkOwnership(t *testing.T) {
	const own = rtnl.DefaultProtocol
	n := rtnl.Neighbour{Index: 2, IP: ip("10.1.0.9"), HardwareAddr: mac("02:00:00:00:00:09"), State: rtnl.NeighPermanent}
	with := func(p rtnl.Protocol, m string) rtnl.Neighbour {
		x := n
		x.Protocol = p
		x.HardwareAddr = mac(m)
		return x
	}
	desired := rtnl.Neighbour{Index: 2, IP: ip("10.1.0.9"), HardwareAddr: mac("02:00:00:00:00:01")}
	tests := []struct {
		name      string
		desired   []rtnl.Neighbour
		observed  rtnl.Neighbour
		owned     bool
		kept      bool
		ops       []string
		conflicts []string
	}{
		{name: "owned and marked, not desired: deleted", observed: with(own, "02:00:00:00:00:09"), owned: true, kept: true,
			ops: []string{"delete Neighbour<10.1.0.9 -> 02:00:00:00:00:09 ifindex=2>"}},
		{name: "an owned key held by another writer's protocol: not deleted", observed: with(99, "02:00:00:00:00:09"), owned: true, kept: true},
		{name: "an owned key held by an unmarked entry: not deleted", observed: with(0, "02:00:00:00:00:09"), owned: true, kept: true},
		{name: "without marks the ledger decides: deleted", observed: with(99, "02:00:00:00:00:09"), owned: true, kept: false,
			ops: []string{"delete Neighbour<10.1.0.9 -> 02:00:00:00:00:09 ifindex=2>"}},
		{name: "owned and marked, desired with another MAC: updated", desired: []rtnl.Neighbour{desired}, observed: with(own, "02:00:00:00:00:09"), owned: true, kept: true,
			ops: []string{"update Neighbour<10.1.0.9 -> 02:00:00:00:00:01 ifindex=2>"}},
		{name: "an owned key held by another writer's protocol, desired: a conflict", desired: []rtnl.Neighbour{desired}, observed: with(99, "02:00:00:00:00:09"), owned: true, kept: true,
			conflicts: []string{"neighbour index=2 ip=10.1.0.9: the key is held by another writer's neighbour (protocol 99); left untouched"}},
		{name: "a foreign entry with another MAC, desired: a conflict", desired: []rtnl.Neighbour{desired}, observed: with(0, "02:00:00:00:00:09"), kept: true,
			conflicts: []string{"neighbour index=2 ip=10.1.0.9: the key is held by another writer's neighbour (protocol 0); left untouched"}},
		{name: "an entry carrying the owner's protocol, its key not owned, equal: left, no conflict", desired: []rtnl.Neighbour{desired}, observed: with(own, "02:00:00:00:00:01"), kept: true},
		{name: "an entry carrying the owner's protocol, its key not owned, not desired: not deleted", observed: with(own, "02:00:00:00:00:01"), kept: true},
		{name: "an entry carrying the owner's protocol, its key not owned, differing: a conflict", desired: []rtnl.Neighbour{desired}, observed: with(own, "02:00:00:00:00:09"), kept: true,
			conflicts: []string{"neighbour index=2 ip=10.1.0.9: it differs from the desired neighbour; the neighbour (protocol 76) is not known to be ours (its protocol and the ledger disagree), and is left untouched"}},
		{name: "an unmarked entry under an owned key that equals the desired one: left, no conflict", desired: []rtnl.Neighbour{desired}, observed: with(0, "02:00:00:00:00:01"), owned: true, kept: true},
		{name: "an unmarked entry under an owned key that differs: a conflict, not overwritten", desired: []rtnl.Neighbour{desired}, observed: with(0, "02:00:00:00:00:09"), owned: true, kept: true,
			conflicts: []string{"neighbour index=2 ip=10.1.0.9: it differs from the desired neighbour; the neighbour (protocol 0) is not known to be ours (its protocol and the ledger disagree), and is left untouched"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			owned := NewSet[NeighbourKey]()
			if tt.owned {
				owned.Add(KeyOfNeighbour(tt.observed))
			}
			ops, cs := Neighbours(tt.desired, []rtnl.Neighbour{tt.observed}, owned, Mark{Protocol: own, Kept: tt.kept})
			wantLines(t, "ops", lines(ops), tt.ops...)
			wantLines(t, "conflicts", reasons(cs), tt.conflicts...)
			for _, c := range cs {
				if !c.Foreign || c.Observed == nil {
					t.Errorf("conflict %v: want Foreign with the observed entry", c)
				}
			}
		})
	}
}

// TestMarkWrittenOnCreates checks that every create of an address,
// neighbour or rule carries the owner's protocol (a rule's own is
// replaced), marks kept or not.
func TestMarkWrittenOnCreates(t *testing.T) {
	for _, kept := range []bool{false, true} {
		m := Mark{Protocol: 77, Kept: kept}
		ops, _ := Addresses([]rtnl.Address{{Index: 2, Prefix: pfx("10.0.0.1/24")}}, nil, nil, m)
		ops2, _ := Neighbours([]rtnl.Neighbour{{Index: 2, IP: ip("10.0.0.9"), HardwareAddr: mac("02:00:00:00:00:09")}}, nil, nil, m)
		ops3, _ := Rules([]rtnl.Rule{{Priority: 5, Table: 100, Protocol: 3}}, nil, nil, m)
		if len(ops) != 1 || ops[0].Address.Protocol != 77 || len(ops2) != 1 || ops2[0].Neighbour.Protocol != 77 ||
			len(ops3) != 1 || ops3[0].Rule.Protocol != 77 {
			t.Errorf("kept=%v: creates %v %v %v do not all carry protocol 77", kept, ops, ops2, ops3)
		}
	}
	// Compute writes its proto on them too, and owns them by it where the
	// observed State says the kernel keeps marks.
	desired := State{Rules: []rtnl.Rule{{Priority: 5, Table: 100}}}
	p := Compute(desired, State{}, Owned{}, 77)
	if len(p.Ops) != 1 || p.Ops[0].Rule.Protocol != 77 {
		t.Fatalf("Compute: %v", p.Ops)
	}
	foreign := *p.Ops[0].Rule // a copy: the op is the plan's
	foreign.Protocol = 12
	observed := State{Rules: []rtnl.Rule{foreign}, Marked: Marks{Rules: true}}
	owned := Owned{Rules: NewSet(KeyOfRule(foreign))}
	if p := Compute(State{}, observed, owned, 77); len(p.Ops) != 0 {
		t.Errorf("a rule of protocol 12 under an owned key is deleted: %v", p.Ops)
	}
	observed.Marked = Marks{}
	if p := Compute(State{}, observed, owned, 77); len(p.Ops) != 1 {
		t.Errorf("without marks the ledger should decide: %v", p.Ops)
	}
}

// TestZeroLengthRuleSelectors checks that a rule's /0 selector is keyed as
// the kernel stores it, with none, so that a created rule is recognised:
// from 0.0.0.0/0, to 0.0.0.0/0 and from ::/0.
func TestZeroLengthRuleSelectors(t *testing.T) {
	tests := []struct {
		desired rtnl.Rule
		kernel  rtnl.Rule // as the kernel reports it
	}{
		{rtnl.Rule{From: pfx("0.0.0.0/0"), Table: 1999, Priority: 1},
			rtnl.Rule{Family: rtnl.FamilyV4, Table: 1999, Priority: 1, Action: rtnl.RuleToTable, Protocol: 76}},
		{rtnl.Rule{To: pfx("0.0.0.0/0"), Table: 1999, Priority: 2},
			rtnl.Rule{Family: rtnl.FamilyV4, Table: 1999, Priority: 2, Action: rtnl.RuleToTable, Protocol: 76}},
		{rtnl.Rule{From: pfx("::/0"), Table: 1999, Priority: 3},
			rtnl.Rule{Family: rtnl.FamilyV6, Table: 1999, Priority: 3, Action: rtnl.RuleToTable, Protocol: 76}},
	}
	for _, tt := range tests {
		k := KeyOfRule(tt.desired)
		if k != KeyOfRule(tt.kernel) {
			t.Errorf("KeyOfRule(%v) = %v, the kernel's rule has %v", tt.desired, k, KeyOfRule(tt.kernel))
		}
		ops, cs := Rules([]rtnl.Rule{tt.desired}, nil, nil, Mark{Protocol: 76, Kept: true})
		if len(ops) != 1 || len(cs) != 0 || ops[0].Rule.From.IsValid() || ops[0].Rule.To.IsValid() || ops[0].Rule.Family != tt.kernel.Family {
			t.Fatalf("create of %v: %v %v; want one create with no selector, family %s", tt.desired, ops, cs, tt.kernel.Family)
		}
		owned := NewSet(KeyOfRule(*ops[0].Rule))
		if ops, cs := Rules([]rtnl.Rule{tt.desired}, []rtnl.Rule{tt.kernel}, owned, Mark{Protocol: 76, Kept: true}); len(ops) != 0 || len(cs) != 0 {
			t.Errorf("%v created: next diff %v %v, want converged", tt.desired, ops, cs)
		}
		if ops, _ := Rules(nil, []rtnl.Rule{tt.kernel}, owned, Mark{Protocol: 76, Kept: true}); len(ops) != 1 || ops[0].Action != Delete {
			t.Errorf("%v dropped: %v, want its delete", tt.desired, ops)
		}
		// A ledger written before keyed the selector as given.
		old := "family=" + tt.kernel.Family.String() + " priority=" + itoa(tt.desired.Priority) + " from=" + prefixText(tt.desired.From) +
			" to=" + prefixText(tt.desired.To) + " fwmark=0x0 fwmask=0x0 iif= oif= tos=0 invert=false action=to_tbl table=1999"
		var back RuleKey
		if err := back.UnmarshalText([]byte(old)); err != nil || back != k {
			t.Errorf("old key %q parsed as %v (%v), want %v", old, back, err, k)
		}
	}
}

func itoa(n uint32) string { return strconv.FormatUint(uint64(n), 10) }

// TestKeysAsTheKernelStoresThem checks the normalisation of address and
// neighbour keys: an IPv4-mapped address is the IPv4 address it names.
func TestKeysAsTheKernelStoresThem(t *testing.T) {
	if a, b := KeyOfAddress(rtnl.Address{Index: 2, Prefix: pfx("::ffff:10.0.0.5/120")}), KeyOfAddress(rtnl.Address{Index: 2, Prefix: pfx("10.0.0.5/24")}); a != b {
		t.Errorf("address keys %v and %v differ", a, b)
	}
	if a, b := KeyOfNeighbour(rtnl.Neighbour{Index: 2, IP: ip("::ffff:10.0.0.9")}), KeyOfNeighbour(rtnl.Neighbour{Index: 2, IP: ip("10.0.0.9")}); a != b {
		t.Errorf("neighbour keys %v and %v differ", a, b)
	}
	if a, b := KeyOfRule(rtnl.Rule{Priority: 4, Table: 9, From: pfx("::ffff:10.0.0.0/104")}), KeyOfRule(rtnl.Rule{Priority: 4, Table: 9, From: pfx("10.0.0.0/8")}); a != b {
		t.Errorf("rule keys %v and %v differ", a, b)
	}
}
