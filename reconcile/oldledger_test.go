package reconcile_test

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/linx-net/linx/diff"
	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/reconcile"
	"github.com/linx-net/linx/rtnl"
)

// TestLedgerWrittenBeforeMarks loads a ledger as Linx wrote it before it
// keyed a rule's /0 selector as none and wrote ownership marks, with the
// rule it created then (no protocol) in the kernel: the ledger loads, its
// rule key is today's, and a pass desiring the same rule converges with
// nothing to do, touching nothing.
func TestLedgerWrittenBeforeMarks(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	path := filepath.Join(t.TempDir(), "s.ledger")
	old := `{"version":1,"links":[],"addresses":["index=1 prefix=10.9.9.9/32"],"neighbours":[],` +
		`"rules":["family=inet priority=1 from=0.0.0.0/0 to= fwmark=0x0 fwmask=0x0 iif= oif= tos=0 invert=false action=to_tbl table=1999"]}`
	if err := os.WriteFile(path, []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	ns.IP("rule", "add", "from", "0.0.0.0/0", "table", "1999", "priority", "1")
	ns.IP("address", "add", "10.9.9.9/32", "dev", "lo")
	l, err := reconcile.OpenLedger(path)
	if err != nil {
		t.Fatalf("OpenLedger of a ledger written before: %v", err)
	}
	want := diff.KeyOfRule(rtnl.Rule{From: netip.MustParsePrefix("0.0.0.0/0"), Table: 1999, Priority: 1})
	if !l.Owned().Rules.Has(want) {
		t.Fatalf("ledger rules %v, want %v", l.Owned().Rules, want)
	}
	before := snapshot(ns, []string{"rule", "show", "priority", "1"}, []string{"address", "show", "dev", "lo"})
	d := reconcile.Desired{
		Addresses: []reconcile.Address{{Link: "lo", Prefix: netip.MustParsePrefix("10.9.9.9/32")}},
		Rules:     []reconcile.Rule{{From: netip.MustParsePrefix("0.0.0.0/0"), Table: 1999, Priority: 1}},
	}
	r := passReport(t, s, d, l)
	if len(r.Applied) != 0 || !r.Converged {
		t.Fatalf("pass: applied %v, conflicts %v; want converged with nothing to do", r.Applied, r.Conflicts)
	}
	unchanged(t, "the objects created before marks", before, snapshot(ns, []string{"rule", "show", "priority", "1"}, []string{"address", "show", "dev", "lo"}))
}
