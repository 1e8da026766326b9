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
	"github.com/linx-net/linx/rtnl"
)

// Ledger is the set of keys of the links, addresses, neighbours and rules a
// scope created: what it may delete when they are no longer desired.
// Routes need no ledger (they are owned by protocol).
//
// A link is keyed by its name, which another writer can reuse: the ledger
// also holds the interface index of each owned link, recorded by the first
// pass that sees the link after creating it (or, for a key saved without
// an index by an older Linx, by the first pass that sees a link of that
// name). A pass that finds an owned name held by a link of another index
// knows the link it created is gone and the one there now is not its own:
// it drops the name from the ledger and treats that link as foreign. An
// owned name without a recorded index is owned as its name alone.
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
	// index holds the interface index of owned links whose index is
	// known; every key in it is in owned.Links.
	index map[diff.LinkKey]int
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
		l.index = nil
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
	index := make(map[diff.LinkKey]int, len(f.LinkIndex))
	for name, idx := range f.LinkIndex {
		var k diff.LinkKey
		if err := k.UnmarshalText([]byte(name)); err != nil {
			errs = append(errs, fmt.Errorf("link index of %q: %w", name, err))
			continue
		}
		if idx <= 0 {
			errs = append(errs, fmt.Errorf("link index of %q: %d is not an interface index", name, idx))
			continue
		}
		if owned.Links.Has(k) { // an index of a name not owned means nothing
			index[k] = idx
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("ledger %s: %w", l.path, err)
	}
	l.owned = owned
	l.index = index
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

// LinkIndex returns the interface index recorded for the owned link k, and
// whether one is recorded: false when k is not owned, or owned by a key
// saved without its index (see Ledger).
func (l *Ledger) LinkIndex(k diff.LinkKey) (index int, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	index, ok = l.index[k]
	return index, ok
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
		if op.Kind == diff.KindLink {
			// A created link has an index yet unknown; a deleted one none.
			delete(l.index, diff.KeyOfLink(op.Link))
		}
	}
	return l.saveLocked()
}

// settleLinks compares the recorded indices of owned links with observed,
// the links of the namespace now. An owned link observed with no index
// recorded gets the observed one. An owned name observed with another index
// than the recorded one is no longer ours (the link we created is gone):
// it is removed from the ledger and returned. With save false (a plan) the
// ledger is left unchanged and only the names no longer ours are returned.
//
// The in-memory ledger decides first whether there is anything to do, so
// that the usual pass, with every index recorded and matching, takes no
// file lock. A change is then made under the lock and merged with the
// file, and applied only where the file still says what was seen: an
// index another process recorded meanwhile is kept.
func (l *Ledger) settleLinks(observed []rtnl.Link, save bool) ([]diff.LinkKey, error) {
	l.mu.Lock()
	adopt, foreign := l.compareLinksLocked(observed)
	l.mu.Unlock()
	if !save || (len(adopt) == 0 && len(foreign) == 0) {
		return foreign, nil
	}
	if l.path != "" {
		unlock, err := l.lock()
		if err != nil {
			return nil, err
		}
		defer unlock()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.path != "" {
		if err := l.loadLocked(); err != nil {
			return nil, err
		}
	}
	// Again: the ledger may have changed while it was unlocked.
	adopt, foreign = l.compareLinksLocked(observed)
	for _, k := range foreign {
		l.owned.Links.Remove(k)
		delete(l.index, k)
	}
	for k, idx := range adopt {
		if l.index == nil {
			l.index = make(map[diff.LinkKey]int)
		}
		l.index[k] = idx
	}
	if len(adopt) == 0 && len(foreign) == 0 {
		return nil, nil
	}
	return foreign, l.saveLocked()
}

// compareLinksLocked returns the owned links observed with no index
// recorded (with the observed index) and the owned names observed with an
// index other than the recorded one.
func (l *Ledger) compareLinksLocked(observed []rtnl.Link) (adopt map[diff.LinkKey]int, foreign []diff.LinkKey) {
	if l.owned.Links.Len() == 0 {
		return nil, nil
	}
	for i := range observed {
		k := diff.KeyOfLink(observed[i])
		if !l.owned.Links.Has(k) {
			continue
		}
		idx, ok := l.index[k]
		switch {
		case !ok:
			if adopt == nil {
				adopt = make(map[diff.LinkKey]int)
			}
			adopt[k] = observed[i].Index
		case idx != observed[i].Index:
			foreign = append(foreign, k)
		}
	}
	return adopt, foreign
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

// ledgerFile is the saved form, version 1. LinkIndex was added within
// version 1: a file without it (saved by an older Linx) loads with no
// index recorded, and an older Linx reading a newer file ignores it.
type ledgerFile struct {
	Version    int      `json:"version"`
	Links      []string `json:"links"`
	Addresses  []string `json:"addresses"`
	Neighbours []string `json:"neighbours"`
	Rules      []string `json:"rules"`
	// LinkIndex maps an owned link's name to its interface index.
	LinkIndex map[string]int `json:"link_index,omitempty"`
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
	if len(l.index) > 0 {
		f.LinkIndex = make(map[string]int, len(l.index))
		for k, idx := range l.index {
			f.LinkIndex[k.Name] = idx
		}
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
