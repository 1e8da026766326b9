package rtnlsource_test

import (
	"context"
	"net/netip"
	"testing"

	"github.com/linx-net/linx/actors/rtnlsource"
	"github.com/linx-net/linx/diff"
	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/reconcile"
)

func TestOnPassSeesTheFullReport(t *testing.T) {
	ns := nstest.New(t)
	ns.IP("link", "set", "lo", "up")
	src, err := rtnlsource.New(ns.Namespace(), reconcile.NewLedger(), reconcile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var seen []reconcile.Report
	src.OnPass(func(rep reconcile.Report, err error) {
		if err != nil {
			t.Errorf("observed pass error: %v", err)
		}
		seen = append(seen, rep)
	})
	h, err := src.Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	want := reconcile.Desired{Addresses: []reconcile.Address{{Link: "lo", Prefix: netip.MustParsePrefix("10.9.9.1/32")}}}

	if rep := src.Pass(context.Background(), h, want); rep.Err != nil || !rep.Converged || rep.Applied != 1 {
		t.Fatalf("first pass: %+v", rep)
	}
	if len(seen) != 1 || len(seen[0].Applied) != 1 {
		t.Fatalf("observer saw %+v, want one report with one op", seen)
	}
	if op := seen[0].Applied[0]; op.Kind != diff.KindAddress || op.Action != diff.Create {
		t.Errorf("observed op %v, want an address create", op)
	}
	if !hasAddr(ns, "lo", "10.9.9.1/32") {
		t.Errorf("ip does not show the address the observed op created")
	}

	// Removing the observer stops the calls.
	src.OnPass(nil)
	if rep := src.Pass(context.Background(), h, want); rep.Err != nil || rep.Applied != 0 {
		t.Fatalf("second pass: %+v", rep)
	}
	if len(seen) != 1 {
		t.Errorf("observer called %d times after removal, want 1 in all", len(seen))
	}
}
