package reconcile

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/linx-net/linx/diff"
)

// dirListing returns the names in dir, nil when it does not exist.
func dirListing(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// ReadLedger reads without writing: no directory, no lock file, and what
// a pass records in the copy stays in memory.
func TestReadLedgerWritesNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	path := filepath.Join(dir, "s.ledger")

	// A state directory that does not exist reads as an empty ledger.
	l, err := ReadLedger(path)
	if err != nil || l.Len() != 0 || l.Path() != "" {
		t.Fatalf("ReadLedger of a missing file: %v, %d keys, path %q", err, l.Len(), l.Path())
	}
	if err := l.Record(addrOp(diff.Create, 1)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the state directory was created: %v", err)
	}

	// A saved ledger is read as it is, and left byte for byte.
	saved, err := OpenLedger(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := saved.Record(addrOp(diff.Create, 1), addrOp(diff.Create, 2)); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path + ".lock"); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	listing := dirListing(t, dir)
	r, err := ReadLedger(path)
	if err != nil || r.Len() != 2 || r.Damaged() != nil {
		t.Fatalf("ReadLedger: %v, %d keys, damaged %v", err, r.Len(), r.Damaged())
	}
	if err := r.Record(addrOp(diff.Delete, 1), addrOp(diff.Create, 3)); err != nil {
		t.Fatal(err)
	}
	if err := r.claim(nil); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(path); string(again) != string(data) {
		t.Fatalf("the file changed:\n%s\nwas\n%s", again, data)
	}
	if got := dirListing(t, dir); !slices.Equal(got, listing) {
		t.Fatalf("the directory holds %v, was %v", got, listing)
	}

	// A damaged file is read as empty and left in place, not moved aside.
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	listing = dirListing(t, dir)
	d, err := ReadLedger(path)
	if err != nil || d.Len() != 0 || d.Damaged() == nil || d.Damaged().MovedTo != "" {
		t.Fatalf("ReadLedger of a damaged file: %v, %d keys, damaged %v", err, d.Len(), d.Damaged())
	}
	if got := dirListing(t, dir); !slices.Equal(got, listing) {
		t.Fatalf("reading a damaged ledger changed the directory: %v, was %v", got, listing)
	}
}

// A clone is independent of its ledger both ways, and never saved.
func TestLedgerClone(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.ledger")
	l, err := OpenLedger(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Record(addrOp(diff.Create, 1)); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	c := l.Clone()
	if err := c.Record(addrOp(diff.Create, 2)); err != nil {
		t.Fatal(err)
	}
	if err := l.Record(addrOp(diff.Create, 3)); err != nil {
		t.Fatal(err)
	}
	if c.Len() != 2 || l.Len() != 2 || c.Owned().Addresses.Has(diff.KeyOfAddress(*addrOp(diff.Create, 3).Address)) {
		t.Fatalf("clone %v, ledger %v: not independent", c.Owned().Addresses, l.Owned().Addresses)
	}
	if again, _ := os.ReadFile(path); string(again) == string(data) {
		t.Fatal("the ledger's own change was not saved")
	}
	if (*Ledger)(nil).Clone() != nil {
		t.Fatal("Clone of nil is not nil")
	}
}
