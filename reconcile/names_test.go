package reconcile_test

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/linx-net/linx/diff"
	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/reconcile"
	"github.com/linx-net/linx/rtnl"
)

// badNames are names no interface can have, each refused by
// rtnl.CheckLinkName for its own reason.
var badNames = []string{"", "a b", "br\r0", "a\tb", "a\nb", "a\vb", "a\fb", "a/b", "a:b", ".", "..",
	"0123456789abcdef", "a\x00b", "a\xa0b"}

// One name check for every interface name, in the library: Validate
// refuses each bad name in each field, a pass refuses the desired state
// before touching the kernel, and the ledger refuses to record a key it
// could not save, returning the error and leaving its file loadable.
func TestBadNamesRefusedEverywhere(t *testing.T) {
	for _, name := range badNames {
		if rtnl.CheckLinkName(name) == nil {
			t.Errorf("CheckLinkName(%q) = nil", name)
		}
		if name == "" {
			continue // an empty iif or oif means "any"
		}
		p := netip.MustParsePrefix("10.0.0.1/24")
		for field, d := range map[string]reconcile.Desired{
			"links[0].name":       {Links: []reconcile.Link{{Name: name, Kind: "bridge"}}},
			"links[1].parent":     {Links: []reconcile.Link{{Name: "b0", Kind: "bridge"}, {Name: "m0", Kind: "macvlan", Parent: name}}},
			"links[0].master":     {Links: []reconcile.Link{{Name: "b0", Kind: "bridge", Master: name}}},
			"addresses[0].link":   {Addresses: []reconcile.Address{{Link: name, Prefix: p}}},
			"neighbours[0].link":  {Neighbours: []reconcile.Neighbour{{Link: name, IP: p.Addr(), MAC: []byte{2, 0, 0, 0, 0, 1}}}},
			"rules[0].iif":        {Rules: []reconcile.Rule{{IIF: name, Table: 100, Priority: 10}}},
			"rules[0].oif":        {Rules: []reconcile.Rule{{OIF: name, Table: 100, Priority: 10}}},
			"links[0].vxlan/peer": {Links: []reconcile.Link{{Name: "v0", Kind: "veth", Data: rtnl.Veth{Peer: name}}}},
		} {
			err := d.Validate()
			var ie *reconcile.InvalidError
			if !errors.As(err, &ie) {
				t.Errorf("Validate with %s %q = %v, want an *InvalidError", field, name, err)
				continue
			}
			if !strings.Contains(err.Error(), "interface name") {
				t.Errorf("Validate with %s %q = %v, want it to name the interface name", field, name, err)
			}
		}
	}

	path := filepath.Join(t.TempDir(), "s.ledger")
	l, err := reconcile.OpenLedger(path)
	if err != nil {
		t.Fatal(err)
	}
	good := diff.Op{Action: diff.Create, Kind: diff.KindRule, Rule: &rtnl.Rule{IIF: "eth0", Table: 100, Priority: 10}}
	if err := l.Record(good); err != nil {
		t.Fatal(err)
	}
	for _, op := range []diff.Op{
		{Action: diff.Create, Kind: diff.KindRule, Rule: &rtnl.Rule{IIF: "a b", Table: 100, Priority: 11}},
		{Action: diff.Create, Kind: diff.KindRule, Rule: &rtnl.Rule{OIF: "a\nb", Table: 100, Priority: 12}},
		{Action: diff.Create, Kind: diff.KindLink, Link: &rtnl.Link{Name: "br\r0"}},
	} {
		if err := l.Record(good, op); err == nil {
			t.Errorf("Record(%v) = nil, want its key's encoding error", op)
		}
	}
	data, _ := os.ReadFile(path)
	l2, err := reconcile.OpenLedger(path)
	if err != nil || l2.Damaged() != nil || l2.Len() != 1 || l.Len() != 1 {
		t.Fatalf("ledger after refused records: %v, damaged %v, %d and %d keys\n%s", err, l2.Damaged(), l2.Len(), l.Len(), data)
	}
}

// A pass refuses a desired state with a bad name before touching the
// kernel or the ledger.
func TestPassRefusesBadNames(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	before := ipSnap(ns, []string{"link", "show"}, []string{"rule", "show"})
	l := reconcile.NewLedger()
	for _, d := range []reconcile.Desired{
		{Rules: []reconcile.Rule{{IIF: "a b", Table: 100, Priority: 10}}},
		{Links: []reconcile.Link{{Name: "br\r0", Kind: "bridge"}}},
	} {
		r, err := reconcile.Pass(s, d, l, reconcile.Options{})
		var ie *reconcile.InvalidError
		if !errors.As(err, &ie) || len(r.Applied) != 0 {
			t.Fatalf("pass of %+v = %v, applied %v; want an *InvalidError", d, err, r.Applied)
		}
	}
	if l.Len() != 0 {
		t.Fatalf("ledger holds %d keys", l.Len())
	}
	if after := ipSnap(ns, []string{"link", "show"}, []string{"rule", "show"}); after != before {
		t.Fatalf("namespace changed:\n%s\n%s", before, after)
	}
}
