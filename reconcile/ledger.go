package reconcile

import (
	"bytes"
	"cmp"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/linx-net/linx/diff"
	"github.com/linx-net/linx/rtnl"
)

// Ledger is the set of keys of the links, addresses, neighbours and rules a
// scope created: what it may delete when they are no longer desired.
// Routes need no ledger (they are owned by protocol); the ledger records
// which protocols the scope claimed (see Pass).
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
// Address and neighbour keys name an interface by index, which the kernel
// hands out again once the link is gone (or another writer asks for it):
// the ledger records, per index, the name of the link the keys on it were
// recorded with, and a pass drops every key of an index that no longer
// names that link. A pass also drops, before it diffs anything, every key
// whose object it observes absent and does not desire (see Pass): a key
// cannot outlive its object and later claim another writer's.
//
// A ledger belongs to one network namespace: the first pass that applies
// it records the namespace's identity (rtnl.NamespaceID) and the name it
// was given by, and a pass on a socket in any other namespace fails
// rather than apply it. A namespace whose inode the kernel gave a
// namespace that no longer exists (told by its cookie) starts the ledger
// afresh: its keys named objects that are gone with their namespace.
// OpenScopeLedger keeps one file per scope and namespace.
//
// A Ledger with a path is saved to that file after every change, atomically
// (temporary file, fsync, rename, fsync of the directory), with mode 0600
// in a directory created 0700. Every change is made under an exclusive
// flock(2) of PATH.lock and merged with what the file holds then, so
// processes that share a state directory (the agent and `linx-node apply`)
// never lose each other's keys; Refresh reads the file again. A file that
// cannot be parsed is moved aside (see Damaged) and the ledger starts
// empty, rather than stop the scope for good. A Ledger is safe for
// concurrent use.
type Ledger struct {
	path string
	// from is the file a memory-only ledger was read from (ReadLedger,
	// Clone), named in its errors; it is never written.
	from string

	mu sync.Mutex
	// ledgerState is what the file holds, as last loaded or recorded.
	ledgerState
	// damaged is what the last load found wrong, nil when nothing.
	damaged *DamagedError
}

// ledgerNamespace is the namespace a ledger was written for.
type ledgerNamespace struct {
	// Name is how the namespace was named: "host", "pid:N" or "path:P".
	Name string `json:"name"`
	rtnl.NamespaceID
}

// DamagedError says that a ledger file could not be parsed and was moved
// aside: the ledger started empty. Ledger.Damaged returns it.
type DamagedError struct {
	// Path is the ledger's file, MovedTo where the damaged file now is.
	Path, MovedTo string
	// Err is what could not be read, naming the line.
	Err error
}

// Error returns "ledger PATH: …; moved aside to PATH.bad-…, starting empty",
// or, for a file only read (ReadLedger), "ledger PATH: …; read as empty".
func (e *DamagedError) Error() string {
	if e.MovedTo == "" {
		return fmt.Sprintf("%v; read as empty, left in place (a pass would move it aside and start empty)", e.Err)
	}
	return fmt.Sprintf("%v; moved aside to %s, starting empty (the objects it owned are left in place, unowned)", e.Err, e.MovedTo)
}

// Unwrap returns the parse error.
func (e *DamagedError) Unwrap() error { return e.Err }

// NewLedger returns an empty ledger kept in memory only.
func NewLedger() *Ledger { return &Ledger{} }

// OpenLedger returns the ledger saved at path, or an empty one when the
// file does not exist yet. A file that cannot be parsed is moved aside to
// PATH.bad-TIMESTAMP and the ledger starts empty: Damaged then says why.
// It fails on a file it cannot read, or one of a version newer than it
// knows (written by a newer Linx), rather than start from empty and
// forget what it owns.
func OpenLedger(path string) (*Ledger, error) {
	l := &Ledger{path: path}
	if err := l.Refresh(); err != nil {
		return nil, err
	}
	return l, nil
}

// ReadLedger returns a copy of the ledger saved at path, kept in memory
// only: it reads the file without its lock and never writes anything, not
// even the directory or the lock file, so that a caller that only looks
// (a plan) leaves the state directory as it found it. A pass may apply the
// copy (to a simulated kernel, say): what it records stays in memory.
//
// A missing file reads as an empty ledger. A file that cannot be parsed
// is left in place and read as the empty ledger OpenLedger would start
// from after moving it aside; Damaged then says why, with an empty
// MovedTo. It fails as OpenLedger does on a file it cannot read or of a
// newer version. Since a ledger is replaced by rename, the file read is
// always a whole one.
func ReadLedger(path string) (*Ledger, error) {
	l := &Ledger{from: path}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return l, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading ledger %s: %w", path, err)
	}
	st, err := parseLedger(data)
	var newer *newerError
	if errors.As(err, &newer) {
		return nil, fmt.Errorf("ledger %s: %w", path, err)
	}
	if err != nil {
		l.inherited = true
		l.damaged = &DamagedError{Path: path, Err: fmt.Errorf("ledger %s: %w", path, err)}
		return l, nil
	}
	l.ledgerState = st
	return l, nil
}

// Clone returns a copy of l kept in memory only (see ReadLedger): a pass
// may apply it without changing l or its file. Clone of nil is nil.
func (l *Ledger) Clone() *Ledger {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	c := &Ledger{from: cmp.Or(l.path, l.from), ledgerState: l.ledgerState.clone(), damaged: l.damaged}
	return c
}

// Damaged returns what the last load of the file found wrong, with where
// the damaged file was moved, or nil when the file loaded (or none
// existed).
func (l *Ledger) Damaged() *DamagedError {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.damaged
}

// Refresh replaces the keys held in memory with those saved in the file,
// which another process may have changed. It does nothing for a ledger
// kept in memory only, and fails on a file it cannot read (a file it
// cannot parse is moved aside, as OpenLedger says).
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

// ledgerVersion is the version of the saved form this Linx writes; it
// reads versions 1 and 2 (see ledgerFile).
const ledgerVersion = 2

// loadLocked reads the file into l; a missing file is empty, a damaged
// one is moved aside.
func (l *Ledger) loadLocked() error {
	data, err := os.ReadFile(l.path)
	if errors.Is(err, os.ErrNotExist) {
		l.resetLocked()
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading ledger %s: %w", l.path, err)
	}
	st, err := parseLedger(data)
	var newer *newerError
	if errors.As(err, &newer) {
		return fmt.Errorf("ledger %s: %w", l.path, err)
	}
	if err != nil {
		moved := l.path + ".bad-" + time.Now().UTC().Format("20060102T150405.000000000Z")
		if rerr := os.Rename(l.path, moved); rerr != nil {
			return fmt.Errorf("ledger %s: %w (and moving it aside: %w)", l.path, err, rerr)
		}
		l.resetLocked()
		l.inherited = true
		l.damaged = &DamagedError{Path: l.path, MovedTo: moved, Err: fmt.Errorf("ledger %s: %w", l.path, err)}
		return nil
	}
	l.ledgerState = st
	return nil
}

// resetLocked empties l, keeping its path and what Damaged says.
func (l *Ledger) resetLocked() {
	l.ledgerState = ledgerState{}
}

// ledgerState is what a ledger file holds.
type ledgerState struct {
	owned diff.Owned
	// index holds the interface index of owned links whose index is
	// known; every key in it is in owned.Links.
	index map[diff.LinkKey]int
	// names holds, by interface index, the name of the link the address
	// and neighbour keys on that index were recorded with.
	names map[int]string
	// ns is the namespace the ledger was written for (zero: not yet).
	ns ledgerNamespace
	// protocols are the route protocols the scope claimed in ns.
	protocols []rtnl.Protocol
	// inherited is true when the claims are unknown (a version 1 file, or
	// one moved aside as damaged): the protocols the scope uses are taken
	// as its own, as before claims were recorded.
	inherited bool
}

// clone returns a copy of st that shares nothing with it.
func (st ledgerState) clone() ledgerState {
	c := st
	c.owned = diff.Owned{
		Links:      st.owned.Links.Clone(),
		Addresses:  st.owned.Addresses.Clone(),
		Neighbours: st.owned.Neighbours.Clone(),
		Rules:      st.owned.Rules.Clone(),
	}
	c.protocols = slices.Clone(st.protocols)
	if st.index != nil {
		c.index = maps.Clone(st.index)
	}
	if st.names != nil {
		c.names = maps.Clone(st.names)
	}
	return c
}

// newerError is a file of a version this Linx does not know.
type newerError struct{ version int }

func (e *newerError) Error() string {
	return fmt.Sprintf("version %d, newer than this Linx knows (%d): written by a newer Linx", e.version, ledgerVersion)
}

// parseLedger parses a saved ledger. Its errors name the line at fault.
func parseLedger(data []byte) (ledgerState, error) {
	var st ledgerState
	var f ledgerFile
	if err := json.Unmarshal(data, &f); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return st, fmt.Errorf("line %d: %w", lineAt(data, se.Offset), err)
		case errors.As(err, &te):
			return st, fmt.Errorf("line %d: %w", lineAt(data, te.Offset), err)
		}
		return st, err
	}
	switch {
	case f.Version > ledgerVersion:
		return st, &newerError{f.Version}
	case f.Version < 1:
		return st, fmt.Errorf("line %d: version %d, want 1 to %d", lineOf(data, "version"), f.Version, ledgerVersion)
	}
	var errs []error
	st.owned = diff.Owned{
		Links:      parseKeys[diff.LinkKey](data, f.Links, &errs),
		Addresses:  parseKeys[diff.AddressKey](data, f.Addresses, &errs),
		Neighbours: parseKeys[diff.NeighbourKey](data, f.Neighbours, &errs),
		Rules:      parseKeys[diff.RuleKey](data, f.Rules, &errs),
	}
	st.index = make(map[diff.LinkKey]int, len(f.LinkIndex))
	for name, idx := range f.LinkIndex {
		var k diff.LinkKey
		if err := k.UnmarshalText([]byte(name)); err != nil {
			errs = append(errs, fmt.Errorf("line %d: link index of %q: %w", lineOf(data, name), name, err))
			continue
		}
		if idx <= 0 {
			errs = append(errs, fmt.Errorf("line %d: link index of %q: %d is not an interface index", lineOf(data, name), name, idx))
			continue
		}
		if st.owned.Links.Has(k) { // an index of a name not owned means nothing
			st.index[k] = idx
		}
	}
	for idx, name := range f.IndexLinks {
		if err := rtnl.CheckLinkName(name); err != nil || idx <= 0 {
			errs = append(errs, fmt.Errorf("line %d: link of index %d: %q is not an interface index and name", lineOf(data, name), idx, name))
			continue
		}
		if st.names == nil {
			st.names = make(map[int]string, len(f.IndexLinks))
		}
		st.names[idx] = name
	}
	for _, p := range f.Protocols {
		if p == 0 || p > 255 {
			errs = append(errs, fmt.Errorf("line %d: protocol %d out of range (1 to 255)", lineOf(data, "protocols"), p))
			continue
		}
		if !slices.Contains(st.protocols, rtnl.Protocol(p)) {
			st.protocols = append(st.protocols, rtnl.Protocol(p))
		}
	}
	if f.Namespace != nil {
		st.ns = *f.Namespace
	}
	// A version 1 file knows nothing of claims: the scope that wrote it
	// may own routes of any protocol it uses.
	st.inherited = f.Version == 1 || f.ClaimsUnknown
	return st, errors.Join(errs...)
}

// lineAt returns the line of data at byte offset off, from 1.
func lineAt(data []byte, off int64) int {
	off = min(max(off, 0), int64(len(data)))
	return 1 + bytes.Count(data[:off], []byte("\n"))
}

// lineOf returns the line of the first JSON string s in data, or 0 when
// it is not there.
func lineOf(data []byte, s string) int {
	q, _ := json.Marshal(s)
	i := bytes.Index(data, q)
	if i < 0 {
		return 0
	}
	return lineAt(data, int64(i))
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
// route ops change nothing) and saves the ledger. It fails, changing
// nothing, when an op is not Valid (carries no object), when the key of a
// create cannot be saved (a rule's iif naming no possible interface, say:
// see rtnl.CheckLinkName), or when the file cannot be locked, read or
// written.
func (l *Ledger) Record(ops ...diff.Op) error { return l.record(nil, ops...) }

// record is Record, also noting for each address and neighbour create the
// name of the link at its index, as linkName gives it (nil: unknown).
func (l *Ledger) record(linkName func(index int) (string, bool), ops ...diff.Op) error {
	changes := ops[:0:0]
	for _, op := range ops {
		if op.Kind != diff.KindRoute && op.Kind != diff.KindNexthop && op.Action != diff.Update {
			changes = append(changes, op)
		}
	}
	if len(changes) == 0 {
		return nil
	}
	for i := range changes {
		if !changes[i].Valid() {
			return fmt.Errorf("recording a %s op in the ledger: the op carries no %s", changes[i].Kind, changes[i].Kind)
		}
		if changes[i].Action == diff.Create {
			if err := checkKey(changes[i]); err != nil {
				return fmt.Errorf("recording %v in the ledger: %w", changes[i], err)
			}
		}
	}
	// Only a change is saved: a pass that recreates an object whose key
	// the ledger holds already (an address deleted by hand, say) writes
	// nothing, and so waits for no fsync.
	return l.change(func() (bool, error) {
		changed := false
		for _, op := range changes {
			before := l.owned.Links.Len() + l.owned.Addresses.Len() + l.owned.Neighbours.Len() + l.owned.Rules.Len()
			l.owned.Record(op)
			if l.owned.Links.Len()+l.owned.Addresses.Len()+l.owned.Neighbours.Len()+l.owned.Rules.Len() != before {
				changed = true
			}
			switch op.Kind {
			case diff.KindLink:
				// A created link has an index yet unknown; a deleted one none.
				if k := diff.KeyOfLink(*op.Link); l.index != nil {
					if _, ok := l.index[k]; ok {
						delete(l.index, k)
						changed = true
					}
				}
			case diff.KindAddress, diff.KindNeighbour:
				var idx int
				if op.Kind == diff.KindAddress {
					idx = op.Address.Index
				} else {
					idx = op.Neighbour.Index
				}
				if op.Action != diff.Create || linkName == nil {
					break
				}
				if name, ok := linkName(idx); ok {
					if l.names == nil {
						l.names = make(map[int]string)
					}
					if was, known := l.names[idx]; !known || was != name {
						l.names[idx] = name
						changed = true
					}
				}
			}
		}
		return changed, nil
	})
}

// checkKey returns the error of encoding op's key, as the file holds it.
func checkKey(op diff.Op) error {
	var err error
	switch op.Kind {
	case diff.KindLink:
		_, err = diff.KeyOfLink(*op.Link).MarshalText()
	case diff.KindAddress:
		_, err = diff.KeyOfAddress(*op.Address).MarshalText()
	case diff.KindNeighbour:
		_, err = diff.KeyOfNeighbour(*op.Neighbour).MarshalText()
	case diff.KindRule:
		_, err = diff.KeyOfRule(*op.Rule).MarshalText()
	}
	return err
}

// change runs fn on the ledger, under the file lock and merged with the
// file first when there is one, and saves it when fn reports a change.
func (l *Ledger) change(fn func() (changed bool, err error)) error {
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
	changed, err := fn()
	if err != nil || !changed {
		return err
	}
	return l.saveLocked()
}

// Namespace returns the namespace the ledger was written for: the name
// it was given by ("host", "pid:N", "path:P") and its identity; the zero
// ID when no pass has applied the ledger yet.
func (l *Ledger) Namespace() (name string, id rtnl.NamespaceID) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ns.Name, l.ns.NamespaceID
}

// Protocols returns the route protocols the scope claimed in its
// namespace (see Pass), in the order claimed.
func (l *Ledger) Protocols() []rtnl.Protocol {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.protocols)
}

// NamespaceError is a ledger refused because it was written for another
// namespace than the one a pass runs in.
type NamespaceError struct {
	// Path is the ledger's file ("" in memory only).
	Path string
	// Recorded is the namespace the ledger was written for, Name how it
	// was named; Got the namespace of the pass's socket.
	Recorded, Got         rtnl.NamespaceID
	RecordedName, GotName string
}

// Error returns "ledger PATH was written for namespace …, not …".
func (e *NamespaceError) Error() string {
	return fmt.Sprintf("ledger %s was written for namespace %s (%v), not %s (%v): it is never applied to another namespace",
		cmp.Or(e.Path, "(in memory)"), e.RecordedName, e.Recorded, e.GotName, e.Got)
}

// bind checks that the ledger belongs to the namespace id (named name)
// and, with save, records it in a ledger not yet bound. A ledger bound to
// another namespace fails with a *NamespaceError. One bound to a
// namespace of the same inode but another cookie was written for a
// namespace that no longer exists (the kernel reuses inodes): with save it
// starts afresh; it reports fresh true then, for a plan as well.
func (l *Ledger) bind(id rtnl.NamespaceID, name string, save bool) (fresh bool, err error) {
	check := func() (bind, fresh bool, err error) {
		rec := l.ns.NamespaceID
		switch {
		case rec.IsZero():
			return true, false, nil
		case rec.Dev != id.Dev || rec.Inode != id.Inode:
			return false, false, &NamespaceError{Path: cmp.Or(l.path, l.from), Recorded: rec, RecordedName: l.ns.Name, Got: id, GotName: name}
		case !rec.Same(id):
			return true, true, nil
		}
		return rec.Cookie == 0 && id.Cookie != 0, false, nil
	}
	l.mu.Lock()
	bind, fresh, err := check()
	l.mu.Unlock()
	if err != nil || !bind || !save {
		return fresh, err
	}
	err = l.change(func() (bool, error) {
		bind, fresh, err = check()
		if err != nil || !bind {
			return false, err
		}
		if fresh {
			l.resetLocked()
		}
		l.ns = ledgerNamespace{Name: name, NamespaceID: id}
		return true, nil
	})
	return fresh, err
}

// claimed reports whether the scope claimed p in its namespace.
func (l *Ledger) claimed(p rtnl.Protocol) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Contains(l.protocols, p)
}

// claimsUnknown reports whether the ledger's claims were not recorded
// (see Ledger.inherited).
func (l *Ledger) claimsUnknown() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.inherited
}

// claim records that the scope claimed protos in its namespace. From then
// on its claims are known: a protocol it takes later is checked.
func (l *Ledger) claim(protos []rtnl.Protocol) error {
	return l.change(func() (bool, error) {
		changed := l.inherited
		l.inherited = false
		for _, p := range protos {
			if !slices.Contains(l.protocols, p) {
				l.protocols = append(l.protocols, p)
				changed = true
			}
		}
		return changed, nil
	})
}

// linkName returns the name of the link the address and neighbour keys on
// index were recorded with, and whether one is known.
func (l *Ledger) linkName(index int) (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	name, ok := l.names[index]
	return name, ok
}

// prune removes the stale keys from the ledger and records, for indices
// with none recorded, the link names in adopt.
func (l *Ledger) prune(stale diff.Owned, adopt map[int]string) error {
	return l.change(func() (bool, error) {
		changed := false
		remove := func(n int) { changed = changed || n > 0 }
		for k := range stale.Links.All() {
			if l.owned.Links.Has(k) {
				l.owned.Links.Remove(k)
				delete(l.index, k)
				remove(1)
			}
		}
		remove(removeAll(l.owned.Addresses, stale.Addresses))
		remove(removeAll(l.owned.Neighbours, stale.Neighbours))
		remove(removeAll(l.owned.Rules, stale.Rules))
		for idx, name := range adopt {
			if _, ok := l.names[idx]; !ok {
				if l.names == nil {
					l.names = make(map[int]string)
				}
				l.names[idx] = name
				changed = true
			}
		}
		return changed, nil
	})
}

// removeAll removes from s the keys of stale it holds, and returns how
// many.
func removeAll[K comparable](s, stale diff.Set[K]) int {
	n := 0
	for k := range stale.All() {
		if s.Has(k) {
			s.Remove(k)
			n++
		}
	}
	return n
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

// ledgerFile is the saved form, version 2. Version 1 (Linx before
// namespaces and claims were recorded) has no namespace, index_links or
// protocols: it loads as a ledger of no namespace yet, bound by the first
// pass that applies it, whose every protocol counts as claimed (see
// Ledger), and is saved as version 2 at its first change. An older Linx
// refuses a version 2 file rather than apply it to another namespace.
// LinkIndex was added within version 1: a file without it loads with no
// index recorded.
type ledgerFile struct {
	Version int `json:"version"`
	// Namespace is the namespace the ledger was written for.
	Namespace  *ledgerNamespace `json:"namespace,omitempty"`
	Links      []string         `json:"links"`
	Addresses  []string         `json:"addresses"`
	Neighbours []string         `json:"neighbours"`
	Rules      []string         `json:"rules"`
	// LinkIndex maps an owned link's name to its interface index.
	LinkIndex map[string]int `json:"link_index,omitempty"`
	// IndexLinks maps the interface index of address and neighbour keys
	// to the name of the link they were recorded with.
	IndexLinks map[int]string `json:"index_links,omitempty"`
	// Protocols are the route protocols the scope claimed.
	Protocols []int `json:"protocols,omitempty"`
	// ClaimsUnknown is set until the first claim of a ledger whose claims
	// were not recorded (converted from version 1, or started afresh after
	// its file was damaged).
	ClaimsUnknown bool `json:"claims_unknown,omitempty"`
}

func (l *Ledger) saveLocked() error {
	if l.path == "" {
		return nil
	}
	f := ledgerFile{Version: ledgerVersion}
	var err error
	if f.Links, err = keyTexts(l.owned.Links); err != nil {
		return err
	}
	if f.Addresses, err = keyTexts(l.owned.Addresses); err != nil {
		return err
	}
	if f.Neighbours, err = keyTexts(l.owned.Neighbours); err != nil {
		return err
	}
	if f.Rules, err = keyTexts(l.owned.Rules); err != nil {
		return err
	}
	if !l.ns.NamespaceID.IsZero() {
		ns := l.ns
		f.Namespace = &ns
	}
	if len(l.index) > 0 {
		f.LinkIndex = make(map[string]int, len(l.index))
		for k, idx := range l.index {
			f.LinkIndex[k.Name] = idx
		}
	}
	// Only the names of indices some key is still on are kept.
	used := make(map[int]bool, len(l.names))
	for k := range l.owned.Addresses.All() {
		used[k.Index] = true
	}
	for k := range l.owned.Neighbours.All() {
		used[k.Index] = true
	}
	for idx, name := range l.names {
		if used[idx] {
			if f.IndexLinks == nil {
				f.IndexLinks = make(map[int]string)
			}
			f.IndexLinks[idx] = name
		} else {
			delete(l.names, idx)
		}
	}
	for _, p := range l.protocols {
		f.Protocols = append(f.Protocols, int(p))
	}
	f.ClaimsUnknown = l.inherited
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding ledger: %w", err)
	}
	if err := writeAtomic(l.path, append(data, '\n')); err != nil {
		return err
	}
	return nil
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

func keyTexts[K textKey](s diff.Set[K]) ([]string, error) {
	out := make([]string, 0, s.Len())
	for k := range s.All() {
		b, err := k.MarshalText()
		if err != nil {
			return nil, fmt.Errorf("encoding ledger key %v: %w", k, err)
		}
		out = append(out, string(b))
	}
	slices.Sort(out)
	return out, nil
}

func parseKeys[K comparable, P interface {
	*K
	encoding.TextUnmarshaler
}](data []byte, texts []string, errs *[]error) diff.Set[K] {
	s := make(diff.Set[K], len(texts))
	for _, t := range texts {
		var k K
		if err := P(&k).UnmarshalText([]byte(t)); err != nil {
			*errs = append(*errs, fmt.Errorf("line %d: key %q: %w", lineOf(data, t), t, err))
			continue
		}
		s.Add(k)
	}
	return s
}
