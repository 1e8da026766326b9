package reconcile

import (
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/linx-net/linx/diff"
	"github.com/linx-net/linx/rtnl"
)

func addrOp(a diff.Action, i int) diff.Op {
	return diff.Op{Action: a, Kind: diff.KindAddress, Address: rtnl.Address{Index: 2,
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

func TestLedgerRefusesCorruptFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.ledger")
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenLedger(path); err == nil {
		t.Fatal("OpenLedger accepted a corrupt file")
	}
}
