package diff

import (
	"strconv"

	"github.com/linx-net/linx/rtnl"
)

// verdict is the outcome of comparing a desired object with the observed
// object that holds its key.
type verdict uint8

const (
	// same: nothing to do.
	same verdict = iota
	// change: the kernel can change the observed object in place.
	change
	// incompatible: only a delete and a create converge it; done when the
	// key is owned, a conflict otherwise.
	incompatible
)

// threeWay describes one kind owned through a ledger of keys.
type threeWay[T any, K comparable] struct {
	kind Kind
	key  func(T) K
	// prepare returns the desired object with the defaults made explicit,
	// or a reason it cannot be used at all.
	prepare func(T) (T, string)
	// uncreatable, when set, returns why a missing desired object cannot be
	// created, or "".
	uncreatable func(T) string
	// hold, when set, returns why a valid desired object must be left as
	// it is, or "": a held object is a conflict, yet its key stays desired
	// (an owned one is not deleted).
	hold func(T) string
	// compare compares a prepared desired object with the observed one of
	// the same key: for change it returns the object to apply, for
	// incompatible the reason.
	compare func(d, o T) (verdict, T, string)
	wrap    func(Action, T) Op
	// proto, when set, returns the ownership mark the kernel keeps on an
	// object of this kind: the protocol of the writer that created it.
	proto func(T) rtnl.Protocol
	// mark, when set, returns a desired object carrying the owner's
	// protocol, which every create writes.
	mark func(T, rtnl.Protocol) T
	// configure, when set, reports whether a desired object may change a
	// foreign object holding its key in place (a link with no kind, or
	// one adopted); otherwise a foreign holder is a conflict.
	configure func(T) bool
	// cache, when set, reports whether a foreign observed object is the
	// kernel's cache rather than a writer's (a learned neighbour entry): a
	// desired object takes its place (Delete right before Create), and
	// becomes the owner's.
	cache func(T) bool
}

// ownership is who an observed object whose key is observed belongs to.
type ownership uint8

const (
	// foreign: another writer's; never changed or deleted.
	foreign ownership = iota
	// mine: its key is owned and, where the kernel keeps marks, it carries
	// the owner's protocol.
	mine
	// uncertain: the kernel keeps marks of its kind, and the key and the
	// mark disagree: its key is owned but it carries no protocol (created
	// before its owner wrote marks, or by a writer that sets none after the
	// owned object went), or it carries the owner's protocol but its key
	// is not owned (a ledger lost, or another owner using the protocol).
	// It is never changed or deleted, and satisfies a desired object it
	// equals.
	uncertain
)

// owner says whose the observed object o, of key k, is.
func (s *threeWay[T, K]) owner(o T, k K, owned Set[K], m Mark) ownership {
	if s.proto == nil || !m.active() {
		if owned.Has(k) {
			return mine
		}
		return foreign
	}
	switch p := s.proto(o); {
	case p == m.Protocol && owned.Has(k):
		return mine
	case p == m.Protocol, p == 0 && owned.Has(k):
		return uncertain
	}
	return foreign
}

// result is a kind's diff before ordering: apply holds creates, updates and
// the delete half of recreates; remove holds deletes of owned objects no
// longer desired.
type result[K any] struct {
	apply, remove []keyed[K]
	conflicts     []keyedConflict[K]
}

// ops returns the kind's ops alone: apply, then remove, each by key; nil
// for none.
func (r result[K]) ops(cmp func(a, b K) int) []Op {
	n := len(r.apply) + len(r.remove)
	if n == 0 {
		return nil
	}
	out := appendSorted(make([]Op, 0, n), r.apply, cmp)
	return appendSorted(out, r.remove, cmp)
}

const reasonDuplicate = "the key is desired more than once; the first is kept"

// run diffs desired against observed under ownership owned, with the
// kind's mark m.
func (s *threeWay[T, K]) run(desired, observed []T, owned Set[K], m Mark) result[K] {
	var r result[K]
	want := make([]T, len(desired))
	keys := make([]K, len(desired))
	valid := make([]bool, len(desired))
	at := make(map[K]int, len(desired))
	for i, d := range desired {
		k := s.key(d)
		p, bad := s.prepare(d)
		if bad != "" {
			r.conflicts = append(r.conflicts, s.conflict(k, d, nil, bad))
			continue
		}
		if _, dup := at[k]; dup {
			r.conflicts = append(r.conflicts, s.conflict(k, d, nil, reasonDuplicate))
			continue
		}
		at[k] = i
		if s.mark != nil && m.Protocol != 0 {
			p = s.mark(p, m.Protocol)
		}
		want[i], keys[i], valid[i] = p, k, true
	}

	held := make([]int, len(desired))
	for i := range held {
		held[i] = -1
	}
	for j := range observed {
		o := observed[j]
		k := s.key(o)
		if i, ok := at[k]; ok {
			if held[i] < 0 {
				held[i] = j
				continue
			}
			// A second observed object with a desired key: the kernel
			// allows this for rules only. Ours is one too many.
			if s.owner(o, k, owned, m) == mine {
				r.remove = append(r.remove, keyed[K]{k, s.wrap(Delete, o)})
			}
			continue
		}
		if s.owner(o, k, owned, m) == mine {
			r.remove = append(r.remove, keyed[K]{k, s.wrap(Delete, o)})
		}
	}

	for i := range desired {
		if !valid[i] {
			continue
		}
		d, k := want[i], keys[i]
		if s.hold != nil {
			if why := s.hold(d); why != "" {
				var o any
				if held[i] >= 0 {
					o = observed[held[i]]
				}
				r.conflicts = append(r.conflicts, s.conflict(k, desired[i], o, why))
				continue
			}
		}
		if held[i] < 0 {
			if s.uncreatable != nil {
				if why := s.uncreatable(d); why != "" {
					r.conflicts = append(r.conflicts, s.conflict(k, desired[i], nil, why))
					continue
				}
			}
			r.apply = append(r.apply, keyed[K]{k, s.wrap(Create, d)})
			continue
		}
		o := observed[held[i]]
		own := s.owner(o, k, owned, m)
		if own == foreign && s.cache != nil && s.cache(o) {
			r.apply = append(r.apply, keyed[K]{k, s.wrap(Delete, o)}, keyed[K]{k, s.wrap(Create, d)})
			continue
		}
		if own == foreign && (s.configure == nil || !s.configure(d)) {
			why := "the key is held by another writer's " + s.kind.String() + s.protoText(o) + "; left untouched"
			if v, _, w := s.compare(d, o); v == incompatible {
				why = w + "; the " + s.kind.String() + " is not ours to recreate"
			}
			c := s.conflict(k, desired[i], o, why)
			c.c.Foreign = true
			r.conflicts = append(r.conflicts, c)
			continue
		}
		v, u, why := s.compare(d, o)
		switch {
		case v == same:
		case own == uncertain:
			c := s.conflict(k, desired[i], o, why+s.differs(v)+"; the "+s.kind.String()+s.protoText(o)+" is not known to be ours (its protocol and the ledger disagree), and is left untouched")
			c.c.Foreign = true
			r.conflicts = append(r.conflicts, c)
		case v == change:
			r.apply = append(r.apply, keyed[K]{k, s.wrap(Update, u)})
		case v == incompatible && own == mine:
			r.apply = append(r.apply, keyed[K]{k, s.wrap(Delete, o)}, keyed[K]{k, s.wrap(Create, d)})
		case v == incompatible:
			c := s.conflict(k, desired[i], o, why+"; the "+s.kind.String()+" is not ours to recreate")
			c.c.Foreign = true
			r.conflicts = append(r.conflicts, c)
		}
	}
	return r
}

// protoText returns " (protocol N)" for an object of a marked kind, ""
// otherwise.
func (s *threeWay[T, K]) protoText(o T) string {
	if s.proto == nil {
		return ""
	}
	return " (protocol " + strconv.Itoa(int(s.proto(o))) + ")"
}

// differs returns the reason an unmarked object differs when compare gave
// none (a change in place names no attribute).
func (s *threeWay[T, K]) differs(v verdict) string {
	if v == change {
		return "it differs from the desired " + s.kind.String()
	}
	return ""
}

func (s *threeWay[T, K]) conflict(k K, d T, o any, reason string) keyedConflict[K] {
	return keyedConflict[K]{k, Conflict{Kind: s.kind, Key: keyString(k), Desired: d, Observed: o, Reason: reason}}
}

func keyString[K any](k K) string {
	if s, ok := any(k).(interface{ String() string }); ok {
		return s.String()
	}
	return ""
}
