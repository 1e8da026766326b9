package rtnlsource

import (
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"slices"
	"strings"
	"time"

	"github.com/linx-net/linx/actors/source"
	"github.com/linx-net/linx/diff"
)

// Defaults of the fight detector. A key the scope creates (or deletes, or
// updates) again and again without undoing it itself is being undone by
// another writer: a scope of the same protocol elsewhere, a daemon, a
// script. Two loops woken by each other's changes fight several times a
// second (the case that forced this: 54 creates in 5 s); an operator
// deleting by hand, or a self-healing test, redoes a key a few times a
// minute at most. Ten times the same action on one key within a minute
// lies between.
const (
	FightRepeats = 10
	FightWindow  = time.Minute
)

// FightError is the error of a pass that converged, but only by redoing
// what another writer keeps undoing: the scope is reported as fighting,
// not converged.
type FightError struct {
	// Keys are the keys redone, sorted; Op is the action on the first.
	Keys []string
	Op   diff.Action
	// Repeats is how many times the first key was redone within Window.
	Repeats int
	Window  time.Duration
}

// Unwrap returns source.ErrFighting.
func (e *FightError) Unwrap() error { return source.ErrFighting }

// Error returns "fighting another writer: route … created 10 times
// within 1m0s (and 1 more keys); …".
func (e *FightError) Error() string {
	more := ""
	if len(e.Keys) > 1 {
		more = fmt.Sprintf(" (and %d more keys)", len(e.Keys)-1)
	}
	return fmt.Sprintf("fighting another writer: %s %sd %d times within %v%s; something else undoes this scope's work (another scope or program owning the same objects or protocol)",
		e.Keys[0], e.Op, e.Repeats, e.Window, more)
}

// fights remembers, per key, the last action a pass applied to it, when
// that action was first seen in the current window, and how many times it
// was applied since. An action different from the last (the scope undoing
// its own work: a desired state that changed) starts the count again, and
// so does the end of the window. It is pure: time comes in with each pass.
//
// Keys are held as 64-bit hashes, 24 bytes an entry: the first pass of a
// scope of 100,000 routes records them all, and they stay for a window.
type fights struct {
	seed maphash.Seed
	keys map[uint64]keyWindow
	// swept is when ended windows were last dropped (UnixNano): at most
	// once per FightWindow, since a sweep walks every key, and a
	// narrowed pass of one op must not cost the 100,000 keys a first
	// pass recorded. An ended window left in place until then is
	// restarted when its key comes again.
	swept int64
	// now is when the pass being observed began (UnixNano), fighting the
	// keys it redid FightRepeats times so far, and fresh those it applied
	// that keys does not hold: they are recorded at its end.
	now      int64
	fighting []fought
	fresh    freshKeys
	// recorded is closed once the fresh keys of the last pass are in
	// keys; nil when they were recorded at once.
	recorded chan struct{}
}

type keyWindow struct {
	start int64 // UnixNano of the window's first application
	count uint32
	last  diff.Action
}

// freshKey is a key a pass applied that had no window yet, by its hash.
type freshKey struct {
	h    uint64
	last diff.Action
}

// freshKeys is a list of fresh keys in blocks of a fixed size: a million
// of them are written once, not copied from one doubled list to the next.
type freshKeys struct {
	blocks [][]freshKey
	n      int
}

// freshBlock is how many keys a block of freshKeys holds (128 KiB).
const freshBlock = 1 << 13

// add appends k.
func (l *freshKeys) add(k freshKey) {
	if l.n%freshBlock == 0 {
		l.blocks = append(l.blocks, make([]freshKey, 0, freshBlock))
	}
	b := &l.blocks[len(l.blocks)-1]
	*b = append(*b, k)
	l.n++
}

// fought is a key a pass redid FightRepeats times: its name ("route
// …"), made only for these few, and its hash.
type fought struct {
	name string
	h    uint64
}

// backgroundKeys is how many fresh keys a pass must bring for them to be
// recorded in the background (see end).
const backgroundKeys = 4096

// observe records the ops of a pass at now and returns a *FightError when
// the pass redid a key that has now seen the same action FightRepeats
// times within one FightWindow, nil otherwise (a pass that redid nothing
// ends a fight). It is begin, add and end in one.
func (f *fights) observe(now time.Time, ops []diff.Op) *FightError {
	f.begin(now)
	f.add(ops)
	return f.end()
}

// begin starts observing a pass that began at now: its ops are given to
// add, batch by batch as the pass applies them, and end returns what
// observe would of them all. It waits for the recording of the last
// pass's keys.
func (f *fights) begin(now time.Time) {
	if f.recorded != nil {
		<-f.recorded
		f.recorded = nil
	}
	if f.keys == nil {
		f.seed = maphash.MakeSeed()
		f.keys = make(map[uint64]keyWindow)
	}
	f.now, f.fighting, f.fresh = now.UnixNano(), nil, freshKeys{}
}

// add records ops of the pass begun last. A key with a window is updated
// at once; a fresh key cannot be redone FightRepeats times by one pass,
// so it only waits in a list for end, which a first pass of a million
// routes fills in sequence while the kernel installs them, instead of
// inserting at random into a map of a million keys.
func (f *fights) add(ops []diff.Op) {
	t := f.now
	for i := range ops {
		k := f.hash(&ops[i])
		w, ok := f.keys[k]
		if !ok {
			f.fresh.add(freshKey{h: k, last: ops[i].Action})
			continue
		}
		if w.last != ops[i].Action || t-w.start >= int64(FightWindow) {
			f.keys[k] = keyWindow{start: t, count: 1, last: ops[i].Action}
			continue
		}
		w.count++
		f.keys[k] = w
		if w.count >= FightRepeats {
			f.fighting = append(f.fighting, fought{name: ops[i].Kind.String() + " " + ops[i].Key(), h: k})
		}
	}
}

// end ends the pass begun last, returning a *FightError when it redid a
// key FightRepeats times within one FightWindow, nil otherwise. The
// pass's fresh keys are recorded before it returns, or, when there are
// backgroundKeys of them or more, by a goroutine of their own that the
// next begin waits for: the scope reports a large install as soon as the
// kernel has it.
func (f *fights) end() *FightError {
	t := f.now
	if t-f.swept >= int64(FightWindow) {
		f.swept = t
		for k, w := range f.keys {
			if t-w.start >= int64(FightWindow) {
				delete(f.keys, k)
			}
		}
	}
	err := f.fight()
	if f.fresh.n < backgroundKeys {
		f.record(f.fresh, t)
		return err
	}
	done := make(chan struct{})
	go func(fresh freshKeys) {
		defer close(done)
		f.record(fresh, t)
	}(f.fresh)
	f.recorded, f.fresh = done, freshKeys{}
	return err
}

// record gives each of fresh a window begun at t. A key that comes twice
// (a delete and a create in one pass) ends with the last. Nothing else
// reads or writes f while it runs in the background: begin waits for it.
func (f *fights) record(fresh freshKeys, t int64) {
	if len(f.keys) == 0 && fresh.n > 0 {
		// Sized for the pass: a first pass of a million ops grew the map
		// a dozen times over.
		f.keys = make(map[uint64]keyWindow, fresh.n)
	}
	for _, b := range fresh.blocks {
		for _, k := range b {
			w, ok := f.keys[k.h]
			if ok && w.last == k.last {
				w.count++
			} else {
				w = keyWindow{start: t, count: 1, last: k.last}
			}
			f.keys[k.h] = w
		}
	}
}

// fight returns the *FightError of the pass's fighting keys, nil with
// none.
func (f *fights) fight() *FightError {
	fighting := f.fighting
	f.fighting = nil
	if len(fighting) == 0 {
		return nil
	}
	slices.SortFunc(fighting, func(a, b fought) int { return strings.Compare(a.name, b.name) })
	keys := make([]string, len(fighting))
	for i := range fighting {
		keys[i] = fighting[i].name
	}
	w := f.keys[fighting[0].h]
	return &FightError{Keys: keys, Op: w.last, Repeats: int(w.count), Window: FightWindow}
}

// hash returns the hash of the kind and key of the object op carries.
func (f *fights) hash(op *diff.Op) uint64 {
	if op.Valid() {
		switch op.Kind {
		case diff.KindRoute:
			return routeHash(f.seed, diff.KeyOfRoute(*op.Route))
		case diff.KindLink:
			return keyHash(f.seed, op.Kind, diff.KeyOfLink(*op.Link))
		case diff.KindAddress:
			return keyHash(f.seed, op.Kind, diff.KeyOfAddress(*op.Address))
		case diff.KindNeighbour:
			return keyHash(f.seed, op.Kind, diff.KeyOfNeighbour(*op.Neighbour))
		case diff.KindRule:
			return keyHash(f.seed, op.Kind, diff.KeyOfRule(*op.Rule))
		case diff.KindNexthop:
			return keyHash(f.seed, op.Kind, diff.KeyOfNexthop(*op.Nexthop))
		}
	}
	return keyHash(f.seed, op.Kind, struct{}{})
}

// keyHash hashes a kind and a key of that kind.
func keyHash[K comparable](seed maphash.Seed, kind diff.Kind, key K) uint64 {
	return maphash.Comparable(seed, struct {
		kind diff.Kind
		key  K
	}{kind, key})
}

// routeHash hashes a route key, with its kind, from its bytes: faster
// than keyHash's field by field, for the kind a pass may apply a million
// of.
func routeHash(seed maphash.Seed, k diff.RouteKey) uint64 {
	var b [45]byte
	dst, src := k.Dst.Addr().As16(), k.Src.Addr().As16()
	copy(b[0:16], dst[:])
	copy(b[16:32], src[:])
	binary.LittleEndian.PutUint32(b[32:], k.Table)
	binary.LittleEndian.PutUint32(b[36:], k.Metric)
	b[40] = byte(k.Dst.Bits() + 1) // -1 (no prefix) is 0
	b[41] = byte(k.Src.Bits() + 1)
	b[42] = k.TOS
	b[43] = byte(k.Family)
	b[44] = byte(diff.KindRoute)
	return maphash.Bytes(seed, b[:])
}
