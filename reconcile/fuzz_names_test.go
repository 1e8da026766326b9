package reconcile_test

import (
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/linx-net/linx/diff"
	"github.com/linx-net/linx/reconcile"
	"github.com/linx-net/linx/rtnl"
)

// FuzzDesiredNames builds desired states from arbitrary names in every
// field that names an interface: either Validate refuses the state, or
// the ledger records every key a pass of it would record, saves them and
// loads them back unchanged, with nothing damaged. Seeded with the names
// that once broke a scope for good, it runs as a plain test too.
func FuzzDesiredNames(f *testing.F) {
	for _, s := range [][6]string{
		{"br0", "", "", "", "", ""},
		{"br\r0", "", "", "", "", ""},
		{"br0", "a b", "", "br0", "br0", ""},
		{"br0", "", "x:y", "br0", "br0", "eth0"},
		{"v0", "eth0", "..", ".", "a/b", "a\tb"},
		{"é0", "\xa0", "\x00", "lo", "lo", "lo"},
		{"012345678901234", "lo", "lo", "012345678901234", "012345678901234", "012345678901234"},
		{"a=b", "a=b", "a=b", "a=b", "a=b", "a=b"},
		{"index=1", "prefix=", "ip=", "iif=x", "oif=", "from="},
	} {
		f.Add(s[0], s[1], s[2], s[3], s[4], s[5], uint32(7))
	}
	dir := f.TempDir()
	n := 0
	f.Fuzz(func(t *testing.T, link, iif, oif, addrLink, neighLink, master string, index uint32) {
		d := reconcile.Desired{
			Links:      []reconcile.Link{{Name: link, Kind: "bridge", Master: master}},
			Addresses:  []reconcile.Address{{Link: addrLink, Prefix: netip.MustParsePrefix("10.0.0.1/24")}},
			Neighbours: []reconcile.Neighbour{{Link: neighLink, IP: netip.MustParseAddr("10.0.0.9"), MAC: []byte{2, 0, 0, 0, 0, 9}}},
			Rules:      []reconcile.Rule{{IIF: iif, OIF: oif, Table: 100, Priority: 10}},
		}
		if d.Validate() != nil {
			return
		}
		idx := int(index%(1<<20)) + 1
		ops := []diff.Op{
			{Action: diff.Create, Kind: diff.KindLink, Link: &rtnl.Link{Name: link, Kind: "bridge"}},
			{Action: diff.Create, Kind: diff.KindAddress, Address: &rtnl.Address{Index: idx, Prefix: d.Addresses[0].Prefix}},
			{Action: diff.Create, Kind: diff.KindNeighbour, Neighbour: &rtnl.Neighbour{Index: idx, IP: d.Neighbours[0].IP}},
			{Action: diff.Create, Kind: diff.KindRule, Rule: &d.Rules[0]},
		}
		n++
		path := filepath.Join(dir, strconv.Itoa(n)+".ledger") // a failure leaves its file behind
		l, err := reconcile.OpenLedger(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Record(ops...); err != nil {
			t.Fatalf("Record of a valid desired state's keys: %v", err)
		}
		l2, err := reconcile.OpenLedger(path)
		if err != nil || l2.Damaged() != nil {
			t.Fatalf("reopening: %v, damaged %v", err, l2.Damaged())
		}
		want, got := l.Owned(), l2.Owned()
		for _, op := range ops {
			var ok bool
			switch op.Kind {
			case diff.KindLink:
				ok = got.Links.Has(diff.KeyOfLink(*op.Link)) && want.Links.Has(diff.KeyOfLink(*op.Link))
			case diff.KindAddress:
				ok = got.Addresses.Has(diff.KeyOfAddress(*op.Address))
			case diff.KindNeighbour:
				ok = got.Neighbours.Has(diff.KeyOfNeighbour(*op.Neighbour))
			case diff.KindRule:
				ok = got.Rules.Has(diff.KeyOfRule(*op.Rule))
			}
			if !ok {
				t.Fatalf("key of %v lost in the round trip: %+v", op, got)
			}
		}
		if l2.Len() != 4 {
			t.Fatalf("reloaded %d keys, want 4: %+v", l2.Len(), got)
		}
		os.Remove(path)
		os.Remove(path + ".lock")
	})
}
