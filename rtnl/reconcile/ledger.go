package reconcile

import (
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/linx-net/linx/diff"
)

// Ledger is the set of keys of the links, addresses, neighbours and rules a
// scope created: what it may delete when they are no longer desired.
// Routes need no ledger (they are owned by protocol).
//
// A Ledger with a path is saved to that file after every change, atomically
// (temporary file, fsync, rename, fsync of the directory), with mode 0600
// in a directory created 0700. Every change is made under an exclusive
// flock(2) of PATH.lock and merged with what the file holds then, so
// processes that share a state directory (the agent and `linx-node apply`)
// never lose each other's keys; Refresh reads the file again. A Ledger is
// safe for concurrent use.
type Ledger struct {
	path string

	mu    sync.Mutex
	owned diff.Owned
}

// NewLedger returns an empty ledger kept in memory only.
func NewLedger() *Ledger { return &Ledger{} }

// OpenLedger returns the ledger saved at path, or an empty one when the
// file does not exist yet. It fails on a file it cannot read or parse,
// rather than start from empty and forget what it owns.
func OpenLedger(path string) (*Ledger, error) {
	l := &Ledger{path: path}
	if err := l.Refresh(); err != nil {
		return nil, err
	}
	return l, nil
}

// Refresh replaces the keys held in memory with those saved in the file,
// which another process may have changed. It does nothing for a ledger
// kept in memory only, and fails on a file it cannot read or parse.
func (l *Ledger) Refresh() error {
	if l.path == "" {
		return nil
	}
	unlock, err := l.lock()
	if err != nil {
		return err
	}
	defer unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.loadLocked()
}

// loadLocked reads the file into l.owned; a missing file is empty.
func (l *Ledger) loadLocked() error {
	data, err := os.ReadFile(l.path)
	if errors.Is(err, os.ErrNotExist) {
		l.owned = diff.Owned{}
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading ledger %s: %w", l.path, err)
	}
	var f ledgerFile
	if err := json.Unmarshal(data, &f); err != nil {
		return fmt.Errorf("parsing ledger %s: %w", l.path, err)
	}
	if f.Version != 1 {
		return fmt.Errorf("ledger %s: version %d, want 1", l.path, f.Version)
	}
	var errs []error
	owned := diff.Owned{
		Links:      parseKeys[diff.LinkKey](f.Links, &errs),
		Addresses:  parseKeys[diff.AddressKey](f.Addresses, &errs),
		Neighbours: parseKeys[diff.NeighbourKey](f.Neighbours, &errs),
		Rules:      parseKeys[diff.RuleKey](f.Rules, &errs),
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("ledger %s: %w", l.path, err)
	}
	l.owned = owned
	return nil
}

// lock takes an exclusive flock of PATH.lock, waiting for another
// process's change to finish, and returns its release.
func (l *Ledger) lock() (func(), error) {
	if err := os.MkdirAll(filepath.Dir(l.path), 0o700); err != nil {
		return nil, fmt.Errorf("locking ledger: %w", err)
	}
	f, err := os.OpenFile(l.path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("locking ledger: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking ledger %s: %w", l.path, err)
	}
	return func() { f.Close() }, nil // closing releases the lock
}

// Path returns the file the ledger is saved to, "" for memory only.
func (l *Ledger) Path() string { return l.path }

// Owned returns a copy of the owned keys.
func (l *Ledger) Owned() diff.Owned {
	l.mu.Lock()
	defer l.mu.Unlock()
	return diff.Owned{
		Links:      l.owned.Links.Clone(),
		Addresses:  l.owned.Addresses.Clone(),
		Neighbours: l.owned.Neighbours.Clone(),
		Rules:      l.owned.Rules.Clone(),
	}
}

// Len returns how many keys the ledger holds.
func (l *Ledger) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.owned.Links.Len() + l.owned.Addresses.Len() + l.owned.Neighbours.Len() + l.owned.Rules.Len()
}

// Record applies ops (creates add keys, deletes remove them; updates and
// route ops change nothing) and saves the ledger.
func (l *Ledger) Record(ops ...diff.Op) error {
	changes := ops[:0:0]
	for _, op := range ops {
		if op.Kind != diff.KindRoute && op.Action != diff.Update {
			changes = append(changes, op)
		}
	}
	if len(changes) == 0 {
		return nil
	}
	if l.path != "" {
		unlock, err := l.lock()
		if err != nil {
			return err
		}
		defer unlock()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.path != "" {
		// Merge with what another process may have saved meanwhile.
		if err := l.loadLocked(); err != nil {
			return err
		}
	}
	for _, op := range changes {
		l.owned.Record(op)
	}
	return l.saveLocked()
}

// forget removes the keys of creates that made nothing: never sent, refused
// by the kernel, or refused because a foreign object already held the key.
// Those keys were recorded before sending; left in the ledger, they would
// let a later pass delete an object that was never ours.
func (l *Ledger) forget(ops ...diff.Op) error {
	del := make([]diff.Op, 0, len(ops))
	for _, op := range ops {
		op.Action = diff.Delete
		del = append(del, op)
	}
	return l.Record(del...)
}

type ledgerFile struct {
	Version    int      `json:"version"`
	Links      []string `json:"links"`
	Addresses  []string `json:"addresses"`
	Neighbours []string `json:"neighbours"`
	Rules      []string `json:"rules"`
}

func (l *Ledger) saveLocked() error {
	if l.path == "" {
		return nil
	}
	f := ledgerFile{
		Version:    1,
		Links:      keyTexts(l.owned.Links),
		Addresses:  keyTexts(l.owned.Addresses),
		Neighbours: keyTexts(l.owned.Neighbours),
		Rules:      keyTexts(l.owned.Rules),
	}
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding ledger: %w", err)
	}
	return writeAtomic(l.path, append(data, '\n'))
}

// writeAtomic replaces path with data so that a crash leaves either the old
// or the new file, never a torn one.
func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("saving ledger: %w", err)
	}
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("saving ledger: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename this finds nothing
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("saving ledger: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("saving ledger: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("saving ledger: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("saving ledger: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("saving ledger: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("saving ledger: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("saving ledger: syncing %s: %w", dir, err)
	}
	return nil
}

type textKey interface {
	comparable
	encoding.TextMarshaler
}

func keyTexts[K textKey](s diff.Set[K]) []string {
	out := make([]string, 0, s.Len())
	for k := range s.All() {
		b, _ := k.MarshalText()
		out = append(out, string(b))
	}
	slices.Sort(out)
	return out
}

func parseKeys[K comparable, P interface {
	*K
	encoding.TextUnmarshaler
}](texts []string, errs *[]error) diff.Set[K] {
	s := make(diff.Set[K], len(texts))
	for _, t := range texts {
		var k K
		if err := P(&k).UnmarshalText([]byte(t)); err != nil {
			*errs = append(*errs, fmt.Errorf("key %q: %w", t, err))
			continue
		}
		s.Add(k)
	}
	return s
}
