package reconcile_test

import (
	"errors"
	"testing"

	"github.com/linx-net/linx/diff"
	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/reconcile"
	"github.com/linx-net/linx/rtnl"
)

// TestRecreateOwnedLink checks that an owned link whose settings the kernel
// cannot change in place (a vxlan's VNI, a link's kind) is deleted and
// created again within one pass, stays owned, and that the next pass has
// nothing to do.
func TestRecreateOwnedLink(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	l := reconcile.NewLedger()
	desired := func(vni uint32, kind string) reconcile.Desired {
		d := reconcile.Desired{Links: []reconcile.Link{
			{Name: "p0", Kind: "veth", Data: rtnl.Veth{Peer: "p1"}, State: reconcile.LinkStateUp},
			{Name: "x0", Kind: kind, State: reconcile.LinkStateUp},
		}}
		if kind == "vxlan" {
			d.Links[1].Data = rtnl.Vxlan{VNI: vni, NoLearning: vni == 2}
			d.Links[1].Parent = "p0"
		}
		return d
	}
	mustPass(t, s, desired(1, "vxlan"), l)

	for _, step := range []struct {
		name string
		vni  uint32
		kind string
	}{
		{"vni and learning changed", 2, "vxlan"},
		{"kind changed", 0, "bridge"},
	} {
		before := ipIndex(t, ns, "x0")
		r := mustPass(t, s, desired(step.vni, step.kind), l)
		if !r.Converged || len(r.Conflicts) > 0 {
			t.Fatalf("%s: converged=%v conflicts=%v applied=%v", step.name, r.Converged, r.Conflicts, r.Applied)
		}
		var info []struct {
			Ifindex  int `json:"ifindex"`
			LinkInfo struct {
				Kind string         `json:"info_kind"`
				Data map[string]any `json:"info_data"`
			} `json:"linkinfo"`
		}
		ns.JSON(&info, "-d", "link", "show", "x0")
		if len(info) != 1 || info[0].LinkInfo.Kind != step.kind || info[0].Ifindex == before {
			t.Fatalf("%s: ip reports %+v; want a new %s link (it was index %d)", step.name, info, step.kind, before)
		}
		if step.kind == "vxlan" && (info[0].LinkInfo.Data["id"] != float64(step.vni) || info[0].LinkInfo.Data["learning"] != false) {
			t.Fatalf("%s: info_data %v; want id %d, learning off", step.name, info[0].LinkInfo.Data, step.vni)
		}
		if !l.Owned().Links.Has(diff.LinkKey{Name: "x0"}) {
			t.Fatalf("%s: the recreated x0 is no longer owned", step.name)
		}
		if got, ok := l.LinkIndex(diff.LinkKey{Name: "x0"}); !ok || got != info[0].Ifindex {
			t.Fatalf("%s: ledger index of x0 = %d, %v; ip reports %d", step.name, got, ok, info[0].Ifindex)
		}
		if r := mustPass(t, s, desired(step.vni, step.kind), l); len(r.Applied) != 0 || !r.Converged {
			t.Fatalf("%s: the pass after the recreate applied %v", step.name, r.Applied)
		}
	}

	// Owned still: no longer desired, it is deleted.
	d := desired(0, "bridge")
	d.Links = d.Links[:1]
	mustPass(t, s, d, l)
	if i := ipIndex(t, ns, "x0"); i != 0 {
		t.Fatalf("x0 (index %d) outlived the pass that no longer desires it", i)
	}
}

// TestRecreateRefusedKeepsOwnership checks a recreate whose delete the
// kernel refuses: the pass fails on the delete, reports no conflict, and
// the object (still there) stays owned. The loopback device cannot be
// deleted, so a ledger owning lo, asked for a bridge named lo, gets there.
func TestRecreateRefusedKeepsOwnership(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	l := reconcile.NewLedger()
	lo := diff.LinkKey{Name: "lo"}
	if err := l.Record(diff.Op{Action: diff.Create, Kind: diff.KindLink, Link: &rtnl.Link{Name: "lo"}}); err != nil {
		t.Fatal(err)
	}
	r, err := reconcile.Pass(s, reconcile.Desired{Links: []reconcile.Link{{Name: "lo", Kind: "bridge"}}}, l, reconcile.Options{})
	var f *reconcile.Failure
	if !errors.As(err, &f) || f.Op.Action != diff.Delete || f.Op.Kind != diff.KindLink || f.Op.Link.Name != "lo" {
		t.Fatalf("pass: %v; want the failure of deleting lo", err)
	}
	if len(r.Conflicts) != 0 {
		t.Errorf("conflicts %v; want none: lo is ours, its delete failed", r.Conflicts)
	}
	if !l.Owned().Links.Has(lo) {
		t.Fatal("lo is no longer owned after its recreate was refused")
	}
	if ipIndex(t, ns, "lo") != 1 {
		t.Fatal("lo is gone")
	}
}
