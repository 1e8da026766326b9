package reconcile_test

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/reconcile"
	"github.com/linx-net/linx/rtnl"
)

// Random desired sets, within what this kernel supports, converge in one
// pass against the real kernel, and the pass after applies nothing. Each
// case moves from the previous case's state, so creates, updates and
// deletes are all exercised, links going up and down among them: a link
// desired up or down is so after the pass, one desired in any state is as
// it was before.
func TestPropertyConvergesInOnePass(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	l := reconcile.NewLedger()
	// Make the links first and let the kernel's link watch (which runs up
	// to a second later) settle their carrier before the cases start.
	if _, err := reconcile.Pass(s, reconcile.Desired{Links: fixedLinks()}, l, reconcile.Options{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	rapid.Check(t, func(t *rapid.T) {
		d := genDesired(t)
		before := ipUpFlags(ns)
		r, err := reconcile.Pass(s, d, l, reconcile.Options{})
		if err != nil {
			t.Fatalf("pass: %v\ndesired: %+v\napplied: %v", err, d, r.Applied)
		}
		if !r.Converged {
			t.Fatalf("not converged: %v", r.Conflicts)
		}
		// Each link's administrative state, as ip reports it: up or down
		// as desired, or as it was before the pass for "any".
		after := ipUpFlags(ns)
		for _, dl := range d.Links {
			want := before[dl.Name]
			switch dl.State {
			case reconcile.LinkStateUp:
				want = true
			case reconcile.LinkStateDown:
				want = false
			}
			if got, ok := after[dl.Name]; !ok || got != want {
				t.Fatalf("%s (desired %v): UP is %v (listed %v), want %v; before the pass %v\napplied: %v",
					dl.Name, dl.State, got, ok, want, before[dl.Name], r.Applied)
			}
		}
		r2, err := reconcile.Pass(s, d, l, reconcile.Options{})
		if err != nil || len(r2.Applied) != 0 {
			t.Fatalf("second pass: err=%v applied=%v\ndesired: %+v", err, r2.Applied, d)
		}
	})
}

// ipUpFlags returns whether `ip -j link show` lists UP among each link's
// flags, by name.
func ipUpFlags(ns *nstest.NS) map[string]bool {
	var out []struct {
		Ifname string   `json:"ifname"`
		Flags  []string `json:"flags"`
	}
	ns.JSON(&out, "link", "show")
	m := make(map[string]bool, len(out))
	for _, l := range out {
		m[l.Ifname] = slices.Contains(l.Flags, "UP")
	}
	return m
}

func genDesired(t *rapid.T) reconcile.Desired {
	// The links stay the same from case to case: recreating links makes
	// the kernel flush routes and neighbours asynchronously (its deferred
	// link watch), which one pass cannot outrun; link lifecycle has its
	// own tests.
	//
	// Each link is desired up, down or in any state (left as the previous
	// case left it). Routes through a device and neighbours go on links
	// desired up only: the kernel refuses a route through a link that is
	// down (ENETDOWN), and flushes a link's routes and neighbours, permanent
	// ones included, when it goes down.
	d := reconcile.Desired{Links: fixedLinks()}
	links := []string{"br0", "ve0", "ve1"}
	var up []string
	for i := range d.Links {
		d.Links[i].State = rapid.SampledFrom([]reconcile.LinkState{
			reconcile.LinkStateUp, reconcile.LinkStateDown, reconcile.LinkStateAny,
		}).Draw(t, "state "+d.Links[i].Name)
		if d.Links[i].State == reconcile.LinkStateUp {
			up = append(up, d.Links[i].Name)
		}
	}
	nBridges := 1
	seenAddr := map[string]bool{}
	for range rapid.IntRange(0, 6).Draw(t, "addresses") {
		link := rapid.SampledFrom(links).Draw(t, "link")
		n := rapid.IntRange(1, 20).Draw(t, "net")
		v6 := rapid.Bool().Draw(t, "v6")
		p := netip.MustParsePrefix(fmt.Sprintf("10.%d.0.1/24", n))
		if v6 {
			p = netip.MustParsePrefix(fmt.Sprintf("fd00:%x::1/64", n))
		}
		if seenAddr[p.String()] {
			continue
		}
		seenAddr[p.String()] = true
		d.Addresses = append(d.Addresses, reconcile.Address{Link: link, Prefix: p})
	}
	seenRoute := map[string]bool{}
	for range rapid.IntRange(0, 8).Draw(t, "routes") {
		dst := netip.MustParsePrefix(fmt.Sprintf("172.16.%d.0/24", rapid.IntRange(0, 30).Draw(t, "dst")))
		table := rapid.SampledFrom([]uint32{0, 100, 1000}).Draw(t, "table")
		metric := rapid.SampledFrom([]uint32{0, 10}).Draw(t, "metric")
		k := fmt.Sprint(dst, table, metric)
		if seenRoute[k] {
			continue
		}
		seenRoute[k] = true
		r := reconcile.Route{Dst: dst, Table: table, Metric: metric}
		if len(up) == 0 || rapid.Bool().Draw(t, "blackhole") {
			r.Type = rtnl.RouteTypeBlackhole
		} else {
			r.Dev = rapid.SampledFrom(up).Draw(t, "dev")
		}
		d.Routes = append(d.Routes, r)
	}
	seenNeigh := map[string]bool{}
	var upVeths []string
	for _, n := range up {
		if slices.Contains(links[nBridges:], n) {
			upVeths = append(upVeths, n)
		}
	}
	for range rapid.IntRange(0, 3).Draw(t, "neighbours") {
		if len(upVeths) == 0 {
			break
		}
		// Neighbours on veths desired up only: a link that goes down or
		// loses its carrier (an empty bridge does, a moment after it comes
		// up, from the kernel's deferred link watch) has its entries
		// flushed, permanent ones included, so one pass cannot promise
		// them there; the next pass restores them.
		link := rapid.SampledFrom(upVeths).Draw(t, "link")
		ip := netip.MustParseAddr(fmt.Sprintf("192.168.0.%d", rapid.IntRange(1, 20).Draw(t, "ip")))
		if seenNeigh[link+ip.String()] {
			continue
		}
		seenNeigh[link+ip.String()] = true
		mac := rtnl.MustParseMAC(fmt.Sprintf("02:00:00:00:00:%02x", rapid.IntRange(1, 250).Draw(t, "mac")))
		d.Neighbours = append(d.Neighbours, reconcile.Neighbour{Link: link, IP: ip, MAC: mac})
	}
	seenRule := map[uint32]bool{}
	for range rapid.IntRange(0, 3).Draw(t, "rules") {
		prio := uint32(rapid.IntRange(100, 110).Draw(t, "priority"))
		if seenRule[prio] {
			continue
		}
		seenRule[prio] = true
		r := reconcile.Rule{Priority: prio, Table: rapid.SampledFrom([]uint32{100, 1000}).Draw(t, "table")}
		if rapid.Bool().Draw(t, "from") {
			r.From = netip.MustParsePrefix(fmt.Sprintf("10.%d.0.0/16", rapid.IntRange(0, 5).Draw(t, "from")))
		} else {
			r.FwMark = uint32(rapid.IntRange(1, 5).Draw(t, "fwmark"))
		}
		d.Rules = append(d.Rules, r)
	}
	return d
}

func fixedLinks() []reconcile.Link {
	return []reconcile.Link{
		{Name: "br0", Kind: "bridge", State: reconcile.LinkStateUp},
		{Name: "ve0", Kind: "veth", Data: rtnl.Veth{Peer: "vp0"}, Master: "br0", State: reconcile.LinkStateUp},
		{Name: "ve1", Kind: "veth", Data: rtnl.Veth{Peer: "vp1"}, State: reconcile.LinkStateUp},
	}
}
