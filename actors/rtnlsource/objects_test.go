package rtnlsource_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/linx-net/linx/actors/rtnlsource"
	"github.com/linx-net/linx/actors/source"
	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/messages"
	"github.com/linx-net/linx/reconcile"
)

// syncBuffer is a log sink the test reads while the source writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// impossible is a scope on this kernel, which has no dummy: d0 with an
// address, beside a bridge with an address and a route through it.
func impossible(withD0 bool) reconcile.Desired {
	d := reconcile.Desired{
		Links:     []reconcile.Link{{Name: "br0", Kind: "bridge", State: reconcile.LinkStateUp}},
		Addresses: []reconcile.Address{{Link: "br0", Prefix: netip.MustParsePrefix("10.0.0.1/24")}},
		Routes:    []reconcile.Route{{Dst: netip.MustParsePrefix("10.50.0.0/24"), Via: netip.MustParseAddr("10.0.0.254")}},
	}
	if withD0 {
		d.Links = append(d.Links, reconcile.Link{Name: "d0", Kind: "dummy"})
		d.Addresses = append(d.Addresses, reconcile.Address{Link: "d0", Prefix: netip.MustParsePrefix("10.1.0.1/24")})
	}
	return d
}

// A pass with an impossible link is degraded, not failed: its report lists
// the link (failed, with the kernel's error) and the address on it
// (blocked), with per-kind counts; the next pass does not send the link
// again while it backs off; the failure is logged once when it appears
// and once when it clears.
func TestSourceReportsObjectsAndLogsOnce(t *testing.T) {
	ns := nstest.New(t)
	var logs syncBuffer
	src, err := rtnlsource.New(ns.Namespace(), reconcile.NewLedger(), reconcile.Options{},
		rtnlsource.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	var last reconcile.Report
	src.OnPass(func(rep reconcile.Report, _ error) { last = rep })
	h, err := src.Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()

	r := src.Pass(context.Background(), h, impossible(true))
	if !errors.Is(r.Err, source.ErrDegraded) || r.Converged || r.RetryIn <= 0 {
		t.Fatalf("first pass: err %v, converged %v, retry in %v; want degraded with a retry", r.Err, r.Converged, r.RetryIn)
	}
	if len(r.Objects) != 2 || r.Objects[0].Kind != "link" || r.Objects[0].Key != "d0" || r.Objects[0].State != source.StateFailed ||
		!strings.Contains(r.Objects[0].Err, "EOPNOTSUPP") || r.Objects[1].State != source.StateBlocked || r.Objects[1].By != "link d0" {
		t.Fatalf("objects: %v", r.Objects)
	}
	want := map[string]source.Count{
		"link":    {Kind: "link", Desired: 2, Failed: 1},
		"address": {Kind: "address", Desired: 2, Blocked: 1},
		"route":   {Kind: "route", Desired: 1},
	}
	for _, c := range r.Counts {
		if w, ok := want[c.Kind]; ok && c != w {
			t.Errorf("count %+v, want %+v", c, w)
		}
		delete(want, c.Kind)
	}
	if len(want) > 0 {
		t.Errorf("counts %v lack %v", r.Counts, want)
	}
	if !hasAddr(ns, "br0", "10.0.0.1/24") {
		t.Error("br0's address did not converge beside the impossible link")
	}

	r = src.Pass(context.Background(), h, impossible(true))
	if !errors.Is(r.Err, source.ErrDegraded) || len(last.Failures) != 1 || !last.Failures[0].Skipped {
		t.Fatalf("second pass: err %v, failures %+v; want d0 skipped while it backs off", r.Err, last.Failures)
	}
	if n := strings.Count(logs.String(), "object failed"); n != 1 {
		t.Errorf("the failure was logged %d times in two passes, want once:\n%s", n, logs.String())
	}

	for range 2 {
		if r = src.Pass(context.Background(), h, impossible(false)); r.Err != nil || !r.Converged || len(r.Objects) != 0 {
			t.Fatalf("without d0: %+v", r)
		}
	}
	if n := strings.Count(logs.String(), "object no longer failing"); n != 1 {
		t.Errorf("the cleared failure was logged %d times, want once:\n%s", n, logs.String())
	}

	// A standing conflict: logged when it appears and when it clears.
	ns.IP("route", "add", "10.60.0.0/24", "dev", "br0", "proto", "static")
	d := impossible(false)
	d.Routes = append(d.Routes, reconcile.Route{Dst: netip.MustParsePrefix("10.60.0.0/24"), Dev: "br0"})
	for range 3 {
		if r = src.Pass(context.Background(), h, d); !errors.Is(r.Err, source.ErrDegraded) || len(r.Objects) != 1 || r.Objects[0].State != source.StateConflict {
			t.Fatalf("with a foreign route: %+v", r)
		}
	}
	ns.IP("route", "del", "10.60.0.0/24", "dev", "br0", "proto", "static")
	for range 2 {
		if r = src.Pass(context.Background(), h, d); r.Err != nil {
			t.Fatalf("without the foreign route: %v", r.Err)
		}
	}
	if a, c := strings.Count(logs.String(), "conflict: another writer"), strings.Count(logs.String(), "conflict cleared"); a != 1 || c != 1 {
		t.Errorf("the conflict was logged %d times appearing and %d clearing, want once each:\n%s", a, c, logs.String())
	}
}

// Through the node, a scope with an impossible link, or with a standing
// conflict, is in phase degraded with its objects in its status, not
// converging forever.
func TestScopeDegraded(t *testing.T) {
	ns := nstest.New(t)
	_, node := startNode(t)
	up := true
	err := spawnMsg(node, &messages.SpawnScope{
		Name:      "a",
		Namespace: &messages.Namespace{Kind: &messages.Namespace_Path{Path: ns.Path()}},
		Desired: &messages.Desired{
			Links:     []*messages.Link{{Name: "br0", Kind: "bridge", Up: &up}, {Name: "d0", Kind: "dummy"}},
			Addresses: []*messages.Address{{Link: "br0", Address: "10.0.0.1/24"}, {Link: "d0", Address: "10.1.0.1/24"}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	st := waitPhase(t, node, "a", messages.Phase_PHASE_DEGRADED)
	if len(st.Objects) != 2 || st.Objects[0].GetKey() != "d0" || st.Objects[0].GetState() != "failed" || st.Objects[0].GetError() == "" ||
		st.Objects[1].GetState() != "blocked" || st.Objects[1].GetBy() != "link d0" || len(st.ObjectCounts) == 0 {
		t.Fatalf("status: %v", st)
	}
	if !hasAddr(ns, "br0", "10.0.0.1/24") {
		t.Error("br0's address did not converge")
	}

	// A standing conflict: another writer's route holds a desired key.
	ns.IP("route", "add", "10.60.0.0/24", "dev", "br0", "proto", "static")
	err = updateMsg(node, "a", &messages.Desired{
		Links:     []*messages.Link{{Name: "br0", Kind: "bridge", Up: &up}},
		Addresses: []*messages.Address{{Link: "br0", Address: "10.0.0.1/24"}}, // kept: its removal would flush the route
		Routes:    []*messages.Route{{Dst: "10.60.0.0/24", Dev: "br0"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	st = waitPhase(t, node, "a", messages.Phase_PHASE_DEGRADED)
	for st.GetObjects()[0].GetState() != "conflict" {
		st = waitPhase(t, node, "a", messages.Phase_PHASE_DEGRADED)
	}
	if len(st.Objects) != 1 || st.Objects[0].GetKind() != "route" {
		t.Fatalf("status with a conflict: %v", st)
	}
	ns.IP("route", "del", "10.60.0.0/24", "dev", "br0", "proto", "static")
	waitPhase(t, node, "a", messages.Phase_PHASE_CONVERGED)
}

// A desired link without a kind that is not there (a container runtime
// is to move it in) keeps the scope converging, not degraded: the link
// is reported as absent and what is on it as blocked by it, and once the
// link appears everything converges.
func TestAbsentLinkIsWaitedFor(t *testing.T) {
	ns := nstest.New(t)
	src, err := rtnlsource.New(ns.Namespace(), reconcile.NewLedger(), reconcile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h, err := src.Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	d := reconcile.Desired{
		Links:     []reconcile.Link{{Name: "up0", State: reconcile.LinkStateUp}},
		Addresses: []reconcile.Address{{Link: "up0", Prefix: netip.MustParsePrefix("10.7.0.1/24")}},
		Routes:    []reconcile.Route{{Dst: netip.MustParsePrefix("10.70.0.0/24"), Dev: "up0"}},
	}
	r := src.Pass(context.Background(), h, d)
	if r.Err == nil || errors.Is(r.Err, source.ErrDegraded) || !strings.Contains(r.Err.Error(), `waiting for link "up0"`) {
		t.Fatalf("before up0 exists: err %v; want a wait for up0, not degraded", r.Err)
	}
	if len(r.Objects) != 3 {
		t.Fatalf("objects %v; want up0 and the two objects blocked by it", r.Objects)
	}
	for _, o := range r.Objects {
		switch {
		case o.Kind == "link":
			if o.Key != "up0" || o.State != source.StateConflict {
				t.Errorf("object %v; want up0 in conflict (absent)", o)
			}
		case o.State != source.StateBlocked || o.By != "link up0":
			t.Errorf("object %v; want blocked by link up0", o)
		}
	}
	ns.IP("link", "add", "up0", "type", "veth", "peer", "name", "up1")
	if r = src.Pass(context.Background(), h, d); r.Err != nil || !r.Converged {
		t.Fatalf("once up0 exists: %+v", r)
	}
	if !hasAddr(ns, "up0", "10.7.0.1/24") {
		t.Error("up0's address did not converge once up0 appeared")
	}
}
