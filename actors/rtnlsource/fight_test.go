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
