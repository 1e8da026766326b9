package rtnlsource

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/linx-net/linx/actors/source"
	"github.com/linx-net/linx/diff"
	"github.com/linx-net/linx/rtnl"
)

func TestFights(t *testing.T) {
	route := func(a diff.Action) diff.Op {
		return diff.Op{Action: a, Kind: diff.KindRoute, Route: &rtnl.Route{Dst: netip.MustParsePrefix("10.9.0.0/24"), Protocol: 76}}
	}
	t0 := time.Unix(1000, 0)
	var f fights
	// Created, then deleted and created again by the scope itself (its
	// desired state changed twice): no fight.
	for i, a := range []diff.Action{diff.Create, diff.Delete, diff.Create, diff.Delete, diff.Create} {
		if e := f.observe(t0.Add(time.Duration(i)*time.Second), []diff.Op{route(a)}); e != nil {
			t.Fatalf("step %d: %v; the scope undoing its own work is no fight", i, e)
		}
	}
	// Created again and again with no delete of its own: someone else
	// deletes it.
	for i := 2; i < FightRepeats; i++ {
		if e := f.observe(t0.Add(10*time.Second), []diff.Op{route(diff.Create)}); e != nil {
			t.Fatalf("create %d: %v", i, e)
		}
	}
	e := f.observe(t0.Add(11*time.Second), []diff.Op{route(diff.Create)})
	if e == nil || e.Repeats != FightRepeats || e.Op != diff.Create || len(e.Keys) != 1 {
		t.Fatalf("create %d: %v, want a fight over one key", FightRepeats, e)
	}
	t.Log(e)
	if !errors.Is(e, source.ErrFighting) {
		t.Errorf("%v does not wrap source.ErrFighting", e)
	}
	// A pass that redoes nothing ends the fight; one more redo within the
	// window starts it again at once.
	if e := f.observe(t0.Add(12*time.Second), nil); e != nil {
		t.Errorf("a pass that redid nothing: %v", e)
	}
	if e := f.observe(t0.Add(13*time.Second), []diff.Op{route(diff.Create)}); e == nil {
		t.Errorf("a redo within the window: no fight reported")
	}
	// The keys are forgotten once the window has passed.
	if e := f.observe(t0.Add(13*time.Second+FightWindow), nil); e != nil {
		t.Errorf("after the window: %v", e)
	}
	if len(f.keys) != 0 {
		t.Errorf("keys kept after the window: %v", f.keys)
	}
}

// TestFightsBulkPass: the keys of a pass large enough to be recorded in
// the background, fed batch by batch as a pass applies them, count as
// the first application of each: the next passes find them, and a fight
// over one of them is reported at its FightRepeats-th create, as after a
// small pass. A key the bulk pass applied twice (a delete, then a create)
// ends with its last action.
func TestFightsBulkPass(t *testing.T) {
	const n = max(backgroundKeys, freshBlock) + 1000 // two blocks of fresh keys
	ops := make([]diff.Op, n)
	routes := make([]rtnl.Route, n)
	for i := range ops {
		routes[i] = rtnl.Route{Dst: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 9, byte(i >> 8), byte(i)}), 32), Protocol: 76}
		ops[i] = diff.Op{Action: diff.Create, Kind: diff.KindRoute, Route: &routes[i]}
	}
	// The last key is deleted, then created, in one pass.
	ops = append(ops, diff.Op{Action: diff.Delete, Kind: diff.KindRoute, Route: &routes[n-1]}, ops[n-1])
	t0 := time.Unix(1000, 0)
	var f fights
	f.begin(t0)
	for i := 0; i < len(ops); i += 1000 {
		f.add(ops[i:min(i+1000, len(ops))])
	}
	if e := f.end(); e != nil {
		t.Fatalf("first pass: %v", e)
	}
	if f.recorded == nil {
		t.Fatalf("a pass of %d fresh keys was recorded before end returned", len(ops))
	}
	for _, i := range []int{7, n - 1} {
		for k := 2; k < FightRepeats; k++ {
			if e := f.observe(t0.Add(time.Duration(k)*time.Second), []diff.Op{ops[i]}); e != nil {
				t.Fatalf("key %d, create %d: %v", i, k, e)
			}
		}
		e := f.observe(t0.Add(FightRepeats*time.Second), []diff.Op{ops[i]})
		if e == nil || e.Repeats != FightRepeats || len(e.Keys) != 1 {
			t.Fatalf("key %d, create %d: %v, want a fight over it", i, FightRepeats, e)
		}
	}
	if len(f.keys) != n {
		t.Errorf("%d keys recorded, want %d", len(f.keys), n)
	}
}
