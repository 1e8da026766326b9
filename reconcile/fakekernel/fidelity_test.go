package fakekernel_test

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/reconcile/fakekernel"
	"github.com/linx-net/linx/rtnl"
)

// kernel is what the fidelity test drives: a socket or the fake.
type kernel interface {
	fakekernel.Source
	ApplyWith(b *rtnl.Batch, o rtnl.ApplyOptions) error
}

// index returns the index of the link named name in k, 0 when none.
func index(t *testing.T, k kernel, name string) int {
	t.Helper()
	links, err := k.Links()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range links {
		if l.Name == name {
			return l.Index
		}
	}
	return 0
}

// apply sends the one request fill adds, and returns the errno it failed
// with ("ok" when none).
func apply(k kernel, fill func(b *rtnl.Batch)) string {
	var b rtnl.Batch
	fill(&b)
	err := k.ApplyWith(&b, rtnl.ApplyOptions{StopOnError: true})
	var errno unix.Errno
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &errno):
		return unix.ErrnoName(errno)
	}
	return err.Error()
}

// state returns k's links, IPv4 addresses and IPv4 routes outside the
// local table as sorted lines, interfaces by name: what the fake models.
// Links have their index: in a namespace where no link was deleted yet,
// the kernel's next index is the copy's.
func state(t *testing.T, k kernel) []string {
	t.Helper()
	links, err := k.Links()
	if err != nil {
		t.Fatal(err)
	}
	name := map[int]string{}
	for _, l := range links {
		name[l.Index] = l.Name
	}
	var out []string
	for _, l := range links {
		out = append(out, fmt.Sprintf("link %s index=%d kind=%q mtu=%d up=%v master=%s parent=%s",
			l.Name, l.Index, l.Kind, l.MTU, l.Flags&net.FlagUp != 0, name[l.MasterIndex], name[l.ParentIndex]))
	}
	addrs, err := k.Addresses()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if a.Prefix.Addr().Is4() {
			out = append(out, "address "+a.Prefix.String()+" dev "+name[a.Index])
		}
	}
	routes, err := k.RoutesFiltered(rtnl.RouteFilter{Family: rtnl.FamilyV4})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range routes {
		if r.Table != unix.RT_TABLE_LOCAL {
			out = append(out, fmt.Sprintf("route %s table %d proto %d via %v dev %s scope %v src %v", r.Dst, r.Table, r.Protocol, r.Gateway, name[r.OIF], r.Scope, r.Src))
		}
	}
	slices.Sort(out)
	return out
}

// TestCopyFollowsTheKernel: a copy of a real namespace answers a series
// of requests as the namespace itself does (the same error, or none) and
// ends in the same state, for what a pass meets there: a foreign route
// holding a key (EEXIST), the route the kernel adds for an address, a
// gateway reached through a link-scope route, the index of a new link, a
// veth's peer, a bridge's MTU following its port, and the flushes of a
// link going down, of a last address, of a deleted veth.
func TestCopyFollowsTheKernel(t *testing.T) {
	ns := nstest.New(t)
	ns.IP("link", "add", "b0", "type", "bridge")
	ns.IP("link", "set", "b0", "up")
	ns.IP("addr", "add", "10.1.0.1/24", "dev", "b0")
	ns.IP("link", "add", "x0", "type", "veth", "peer", "name", "x1")
	ns.IP("route", "add", "10.10.0.0/16", "dev", "b0", "proto", "static")
	ns.IP("route", "add", "10.9.0.0/24", "dev", "b0", "proto", "static")
	s := ns.Open()
	f, err := fakekernel.Copy(s, fakekernel.CopyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := state(t, f), state(t, s); !slices.Equal(got, want) {
		t.Fatalf("copy:\n  %s\nkernel:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	steps := []struct {
		what string
		fill func(k kernel, b *rtnl.Batch)
	}{
		{"a route at a foreign route's key", func(k kernel, b *rtnl.Batch) {
			b.RouteAdd(rtnl.Route{Dst: netip.MustParsePrefix("10.10.0.0/16"), Gateway: netip.MustParseAddr("10.1.0.254"), Protocol: 76})
		}},
		{"a gateway through a link-scope route", func(k kernel, b *rtnl.Batch) {
			b.RouteAdd(rtnl.Route{Dst: netip.MustParsePrefix("10.20.0.0/16"), Gateway: netip.MustParseAddr("10.9.0.5"), Protocol: 76})
		}},
		{"an unreachable gateway", func(k kernel, b *rtnl.Batch) {
			b.RouteAdd(rtnl.Route{Dst: netip.MustParsePrefix("10.21.0.0/16"), Gateway: netip.MustParseAddr("10.99.0.5"), Protocol: 76})
		}},
		{"a bridge", func(k kernel, b *rtnl.Batch) {
			b.LinkAdd(rtnl.Link{Name: "b1", Kind: "bridge", Flags: net.FlagUp})
		}},
		{"an address on it", func(k kernel, b *rtnl.Batch) {
			b.AddressAdd(rtnl.Address{Index: index(t, k, "b1"), Prefix: netip.MustParsePrefix("10.2.0.1/24")})
		}},
		{"an address in b0's prefix on it: two routes of one key", func(k kernel, b *rtnl.Batch) {
			b.AddressAdd(rtnl.Address{Index: index(t, k, "b1"), Prefix: netip.MustParsePrefix("10.1.0.2/24")})
		}},
		{"a route at the address's prefix route", func(k kernel, b *rtnl.Batch) {
			b.RouteAdd(rtnl.Route{Dst: netip.MustParsePrefix("10.2.0.0/24"), OIF: index(t, k, "b1"), Protocol: 76})
		}},
		{"a route through it", func(k kernel, b *rtnl.Batch) {
			b.RouteAdd(rtnl.Route{Dst: netip.MustParsePrefix("10.22.0.0/16"), Gateway: netip.MustParseAddr("10.2.0.9"), Protocol: 76, Table: 100})
		}},
		{"a veth", func(k kernel, b *rtnl.Batch) {
			b.LinkAdd(rtnl.Link{Name: "v0", Kind: "veth", MTU: 1400, Data: rtnl.Veth{Peer: "v1"}})
		}},
		{"a veth whose peer's name is taken", func(k kernel, b *rtnl.Batch) {
			b.LinkAdd(rtnl.Link{Name: "v2", Kind: "veth", Data: rtnl.Veth{Peer: "x1"}})
		}},
		{"the veth enslaved to the bridge", func(k kernel, b *rtnl.Batch) {
			b.LinkModify(rtnl.Link{Index: index(t, k, "v0"), MasterIndex: index(t, k, "b1")})
		}},
		{"the bridge's MTU set", func(k kernel, b *rtnl.Batch) {
			b.LinkModify(rtnl.Link{Index: index(t, k, "b1"), MTU: 1450, Flags: net.FlagUp})
		}},
		{"the port's MTU lowered", func(k kernel, b *rtnl.Batch) {
			b.LinkModify(rtnl.Link{Index: index(t, k, "v0"), MTU: 1300})
		}},
		{"the bridge down", func(k kernel, b *rtnl.Batch) {
			b.LinkModify(rtnl.Link{Index: index(t, k, "b1")}) // up or down is always sent
		}},
		{"the last address of b0 deleted", func(k kernel, b *rtnl.Batch) {
			b.AddressDelete(rtnl.Address{Index: index(t, k, "b0"), Prefix: netip.MustParsePrefix("10.1.0.1/24")})
		}},
		{"a veth deleted", func(k kernel, b *rtnl.Batch) {
			b.LinkDelete(index(t, k, "x0"))
		}},
	}
	for _, st := range steps {
		got := apply(f, func(b *rtnl.Batch) { st.fill(f, b) })
		want := apply(s, func(b *rtnl.Batch) { st.fill(s, b) })
		if got != want {
			t.Errorf("%s: the copy answers %s, the kernel %s", st.what, got, want)
		}
		if got, want := state(t, f), state(t, s); !slices.Equal(got, want) {
			t.Fatalf("after %s, the copy holds:\n  %s\nthe kernel:\n  %s", st.what, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
		}
	}
}
