package reconcile

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/linx-net/linx/diff"
	"github.com/linx-net/linx/rtnl"
)

func addrOp(a diff.Action, i int) diff.Op {
	return diff.Op{Action: a, Kind: diff.KindAddress, Address: &rtnl.Address{Index: 2,
		Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), 24)}}
}

// Two ledgers on one file (two processes sharing a state directory) keep
// each other's keys: every change merges with the file under a lock.
func TestLedgerSharedFileMerges(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "s.ledger")
	a, err := OpenLedger(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := OpenLedger(path)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for _, l := range []*Ledger{a, b} {
		wg.Add(1)
		go func(l *Ledger, base int) {
			defer wg.Done()
			for i := range 50 {
				if err := l.Record(addrOp(diff.Create, base+i)); err != nil {
					t.Error(err)
				}
			}
		}(l, map[*Ledger]int{a: 0, b: 1000}[l])
	}
	wg.Wait()
	c, err := OpenLedger(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Len() != 100 {
		t.Fatalf("merged ledger holds %d keys, want 100", c.Len())
	}
	if err := a.Refresh(); err != nil || a.Len() != 100 {
		t.Fatalf("Refresh: %v, %d keys", err, a.Len())
	}
	if err := b.Record(addrOp(diff.Delete, 3)); err != nil {
		t.Fatal(err)
	}
	if err := a.Refresh(); err != nil || a.Len() != 99 {
		t.Fatalf("after another's delete: %v, %d keys", err, a.Len())
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("ledger mode %v, %v; want 0600", st.Mode(), err)
	}
	dir, err := os.Stat(filepath.Dir(path))
	if err != nil || dir.Mode().Perm() != 0o700 {
		t.Errorf("state dir mode %v, %v; want 0700", dir.Mode(), err)
	}
}

// A file that cannot be parsed is moved aside, naming the line it could
// not read, and the ledger starts empty; a file of a newer version is
// refused and left in place.
func TestLedgerMovesCorruptFileAside(t *testing.T) {
	for body, line := range map[string]string{
		"{not json": "line 1",
		"{\n  \"version\": 1,\n  \"rules\": [\n    \"x\"\n  ]\n}": "line 4",
		"{\n \"version\": 2,\n \"links\": [\"a b\"]}":             "line 3",
	} {
		dir := t.TempDir()
		path := filepath.Join(dir, "s.ledger")
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		l, err := OpenLedger(path)
		if err != nil {
			t.Fatalf("OpenLedger(%q) = %v, want the file moved aside", body, err)
		}
		d := l.Damaged()
		if d == nil || !strings.Contains(d.Error(), line) || !strings.Contains(d.Error(), path) || l.Len() != 0 {
			t.Fatalf("OpenLedger(%q): Damaged() = %v, want it to name %s; %d keys", body, d, line, l.Len())
		}
		moved, err := os.ReadFile(d.MovedTo)
		if err != nil || string(moved) != body || !strings.HasPrefix(d.MovedTo, path+".bad-") {
			t.Fatalf("moved to %s: %q, %v", d.MovedTo, moved, err)
		}
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Fatalf("damaged file still at %s: %v", path, err)
		}
		// The empty ledger is usable: a key is recorded and saved.
		if err := l.Record(addrOp(diff.Create, 1)); err != nil {
			t.Fatal(err)
		}
		if l2, err := OpenLedger(path); err != nil || l2.Len() != 1 || l2.Damaged() != nil {
			t.Fatalf("reopened: %v, %v", l2, err)
		}
	}
	path := filepath.Join(t.TempDir(), "s.ledger")
	if err := os.WriteFile(path, []byte(`{"version": 3}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenLedger(path); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("OpenLedger of version 3 = %v, want it refused", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("a newer file was moved: %v", err)
	}
}

// Link indices round-trip through the file; a bad one fails the load, and
// one of a name not owned is ignored.
func TestLedgerLinkIndexFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.ledger")
	l, err := OpenLedger(path)
	if err != nil {
		t.Fatal(err)
	}
	x := diff.LinkKey{Name: "x0"}
	create := diff.Op{Action: diff.Create, Kind: diff.KindLink, Link: &rtnl.Link{Name: "x0"}}
	if err := l.Record(create); err != nil {
		t.Fatal(err)
	}
	foreign, err := l.settleLinks([]rtnl.Link{{Name: "x0", Index: 7}, {Name: "other", Index: 8}}, true)
	if err != nil || len(foreign) != 0 {
		t.Fatalf("settleLinks = %v, %v", foreign, err)
	}
	l2, err := OpenLedger(path)
	if err != nil {
		t.Fatal(err)
	}
	if idx, ok := l2.LinkIndex(x); !ok || idx != 7 {
		t.Fatalf("reloaded index of x0 = %d, %v; want 7", idx, ok)
	}
	// A plan sees another index as foreign but changes nothing.
	if foreign, err := l2.settleLinks([]rtnl.Link{{Name: "x0", Index: 9}}, false); err != nil || len(foreign) != 1 || foreign[0] != x {
		t.Fatalf("settleLinks without saving = %v, %v", foreign, err)
	}
	if idx, ok := l2.LinkIndex(x); !ok || idx != 7 || !l2.Owned().Links.Has(x) {
		t.Fatalf("a plan changed the ledger: index %d, %v", idx, ok)
	}
	// Creating the name again forgets the index of the link it had.
	if err := l2.Record(create); err != nil {
		t.Fatal(err)
	}
	if _, ok := l2.LinkIndex(x); ok {
		t.Fatal("index of x0 kept across a new create")
	}

	for body, wantDamaged := range map[string]bool{
		`{"version":1,"links":["x0"],"link_index":{"x0":3,"gone":4}}`: false,
		`{"version":1,"links":["x0"],"link_index":{"x0":0}}`:          true,
		`{"version":1,"links":["x0"],"link_index":{"x 0":3}}`:         true,
	} {
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		l, err := OpenLedger(path)
		if err != nil || (l.Damaged() != nil) != wantDamaged {
			t.Errorf("OpenLedger(%s) = %v, damaged %v; want damaged %v", body, err, l.Damaged(), wantDamaged)
			continue
		}
		if !wantDamaged {
			if idx, ok := l.LinkIndex(x); !ok || idx != 3 {
				t.Errorf("OpenLedger(%s): index of x0 = %d, %v", body, idx, ok)
			}
			if _, ok := l.LinkIndex(diff.LinkKey{Name: "gone"}); ok || l.Len() != 1 {
				t.Errorf("OpenLedger(%s): index of a name not owned kept", body)
			}
		}
	}
}

// TestLedgerRefusesOpsWithoutObject: an op whose kind's object is missing
// is refused with an error, and the ledger is unchanged; diff.Owned
// ignores it.
func TestLedgerRefusesOpsWithoutObject(t *testing.T) {
	l := NewLedger()
	good := diff.Op{Action: diff.Create, Kind: diff.KindLink, Link: &rtnl.Link{Name: "x0", Kind: "bridge"}}
	for _, bad := range []diff.Op{
		{Action: diff.Create, Kind: diff.KindLink},
		{Action: diff.Delete, Kind: diff.KindAddress},
	} {
		if err := l.Record(good, bad); err == nil {
			t.Fatalf("Record(%v) without its object succeeded", bad)
		}
		if l.Len() != 0 {
			t.Fatalf("a refused Record left %d keys", l.Len())
		}
		var o diff.Owned
		o.Record(bad)
		if o.Links.Len()+o.Addresses.Len() != 0 {
			t.Fatalf("Owned.Record(%v) recorded a key", bad)
		}
	}
}
