package reconcile_test

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/linx-net/linx/diff"
	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/reconcile"
	"github.com/linx-net/linx/reconcile/fakekernel"
	"github.com/linx-net/linx/rtnl"
)

// linkNames returns the names of k's links by index.
func linkNames(t *testing.T, k interface{ Links() ([]rtnl.Link, error) }) map[int]string {
	t.Helper()
	links, err := k.Links()
	if err != nil {
		t.Fatal(err)
	}
	m := make(map[int]string, len(links))
	for _, l := range links {
		m[l.Index] = l.Name
	}
	return m
}

// canonical returns op as text with every interface index replaced by
// the name names gives it, so that the ops of a plan (whose new links
// have the copy's indices) compare with those of the pass.
func canonical(op diff.Op, names map[int]string) string {
	var devs []string
	dev := func(i *int) {
		if *i != 0 {
			n, ok := names[*i]
			if !ok {
				n = "#" + strconv.Itoa(*i)
			}
			devs = append(devs, n)
		}
		*i = 0
	}
	// The object is copied before its indices are replaced: op shares it
	// with the report.
	switch op.Kind {
	case diff.KindLink:
		op.Link = new(*op.Link)
		dev(&op.Link.Index)
		dev(&op.Link.MasterIndex)
		dev(&op.Link.ParentIndex)
	case diff.KindAddress:
		op.Address = new(*op.Address)
		dev(&op.Address.Index)
	case diff.KindRoute:
		op.Route = new(*op.Route)
		dev(&op.Route.OIF)
		op.Route.NextHops = slices.Clone(op.Route.NextHops)
		for i := range op.Route.NextHops {
			dev(&op.Route.NextHops[i].OIF)
		}
	case diff.KindNeighbour:
		op.Neighbour = new(*op.Neighbour)
		dev(&op.Neighbour.Index)
	case diff.KindNexthop:
		op.Nexthop = new(*op.Nexthop)
		dev(&op.Nexthop.OIF)
	}
	return op.String() + " dev=" + strings.Join(devs, ",")
}

// outcome is a report as comparable text: its ops in order, its
// conflicts and its failure.
func outcome(r reconcile.Report, err error, names map[int]string) []string {
	var out []string
	for _, op := range r.Applied {
		out = append(out, "op "+canonical(op, names))
	}
	for _, c := range r.Conflicts {
		out = append(out, "conflict "+c.Kind.String()+" "+c.Key+": "+c.Reason)
	}
	if r.Failed != nil {
		out = append(out, "failed "+canonical(r.Failed.Op, names))
	}
	if err != nil {
		out = append(out, "error "+err.Error())
	}
	return out
}

// withBefore adds to names those of before it lacks: links a pass deleted.
func withBefore(names, before map[int]string) map[int]string {
	for i, n := range before {
		if _, ok := names[i]; !ok {
			names[i] = n
		}
	}
	return names
}

// applied runs Pass on s and returns its outcome (see outcome).
func applied(t *testing.T, s *rtnl.Socket, d reconcile.Desired, l *reconcile.Ledger) []string {
	t.Helper()
	before := linkNames(t, s)
	r, err := reconcile.Pass(s, d, l, reconcile.Options{})
	return outcome(r, err, withBefore(linkNames(t, s), before))
}

// planTwin runs what Plan runs (a pass on a copy of the kernel and of
// the ledger), returning the copy for its link names; and checks that
// Plan itself reports the same.
func planTwin(t *testing.T, s *rtnl.Socket, d reconcile.Desired, l *reconcile.Ledger) []string {
	t.Helper()
	k, err := fakekernel.Copy(s, fakekernel.CopyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	before := linkNames(t, s)
	r, err := reconcile.Pass(k, d, l.Clone(), reconcile.Options{})
	names := withBefore(linkNames(t, k), before)
	got := outcome(r, err, names)
	pr, perr := reconcile.Plan(s, d, l, reconcile.Options{})
	if again := outcome(pr, perr, names); !slices.Equal(again, got) {
		t.Fatalf("Plan differs from a pass on a copy:\nPlan:\n  %s\ncopy:\n  %s", strings.Join(again, "\n  "), strings.Join(got, "\n  "))
	}
	return got
}

// TestPlanIsThePass: for one kernel and one desired state, a plan reports
// the very ops, conflicts and failure that the pass after it meets:
// creates (a new bridge, its address), updates (an MTU, a gateway), deletes
// (an address, a neighbour, a rule, a link) and a conflict with a foreign
// route holding a desired route's key, which the old plan reported as a
// create. The kernel is left as it was by the plan.
func TestPlanIsThePass(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	l := reconcile.NewLedger()
	d := desired()
	d.Links = append(d.Links, reconcile.Link{Name: "br9", Kind: "bridge"})
	d.Addresses = append(d.Addresses, reconcile.Address{Link: "br9", Prefix: netip.MustParsePrefix("10.9.0.1/24")})

	// The first plan: everything to create, veth peer and bridge MTU included.
	want := planTwin(t, s, d, l)
	if got := applied(t, s, d, l); !slices.Equal(got, want) {
		t.Fatalf("first pass:\n  %s\nplan said:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}

	// The kernel and the desired state move apart.
	ns.IP("route", "add", "10.10.0.0/16", "dev", "br0", "proto", "static")
	d2 := desired()
	d2.Links[0].MTU = 1300
	d2.Addresses = d2.Addresses[:1]
	d2.Neighbours = nil
	d2.Rules = []reconcile.Rule{{From: netip.MustParsePrefix("10.0.44.0/24"), Table: 100, Priority: 201}}
	d2.Routes[0].Via = netip.MustParseAddr("10.0.42.253")
	d2.Routes = append(d2.Routes,
		reconcile.Route{Dst: netip.MustParsePrefix("10.10.0.0/16"), Via: netip.MustParseAddr("10.0.42.254")},
		reconcile.Route{Dst: netip.MustParsePrefix("10.11.0.0/16"), Dev: "br1"})
	d2.Links = append(d2.Links, reconcile.Link{Name: "br1", Kind: "bridge", State: reconcile.LinkStateUp})
	d2.Addresses = append(d2.Addresses, reconcile.Address{Link: "br1", Prefix: netip.MustParsePrefix("10.1.0.1/24")})

	before := ipSnap(ns, []string{"link", "show"}, []string{"addr", "show"}, []string{"route", "show", "table", "all"}, []string{"rule", "show"}, []string{"neigh", "show"})
	want = planTwin(t, s, d2, l)
	if after := ipSnap(ns, []string{"link", "show"}, []string{"addr", "show"}, []string{"route", "show", "table", "all"}, []string{"rule", "show"}, []string{"neigh", "show"}); after != before {
		t.Fatalf("the plan changed the namespace:\nbefore %s\nafter  %s", before, after)
	}
	if !slices.ContainsFunc(want, func(s string) bool {
		return strings.HasPrefix(s, "conflict route") && strings.Contains(s, "10.10.0.0/16")
	}) {
		t.Errorf("the plan does not report the foreign route's conflict:\n  %s", strings.Join(want, "\n  "))
	}
	if got := applied(t, s, d2, l); !slices.Equal(got, want) {
		t.Fatalf("second pass:\n  %s\nplan said:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}

	// Converged but for the conflict: the plan has nothing to do.
	pr, err := reconcile.Plan(s, d2, l, reconcile.Options{})
	if err != nil || len(pr.Applied) != 0 || len(pr.Conflicts) != 1 || pr.Converged {
		t.Fatalf("plan after the pass: %v, applied %v, conflicts %v, converged %v", err, pr.Applied, pr.Conflicts, pr.Converged)
	}

	// A route whose gateway no address reaches: the plan meets the
	// kernel's refusal where the pass does.
	d2.Routes = append(d2.Routes, reconcile.Route{Dst: netip.MustParsePrefix("10.12.0.0/16"), Via: netip.MustParseAddr("10.99.0.1")})
	want = planTwin(t, s, d2, l)
	if !slices.ContainsFunc(want, func(s string) bool { return strings.HasPrefix(s, "failed ") && strings.Contains(s, "10.12.0.0/16") }) {
		t.Errorf("the plan does not foresee the refused route:\n  %s", strings.Join(want, "\n  "))
	}
	if got := applied(t, s, d2, l); !slices.Equal(got, want) {
		t.Fatalf("third pass:\n  %s\nplan said:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}
