package reconcile_test

import (
	"errors"
	"fmt"
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"
	"pgregory.net/rapid"

	"github.com/linx-net/linx/diff"
	"github.com/linx-net/linx/reconcile"
	"github.com/linx-net/linx/reconcile/fakekernel"
	"github.com/linx-net/linx/rtnl"
)

// For random desired states with random injected failures, one pass
// converges exactly the objects with no failed dependency: each of them
// is in the kernel, and the report names every other one, failed or
// blocked, and nothing more. The oracle below is the dependency rules of
// the package documentation, written out independently of the pass.
func TestPropertyDependentsOnly(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		masters := []string{"b0", "b1"}
		ports := []string{"p0", "p1", "p2"}
		type addr struct {
			link string
			i    int
		}
		var (
			d       reconcile.Desired
			failing = map[string]bool{} // by object name below
			master  = map[string]string{}
			addrs   []addr
		)
		maybeFail := func(name string) {
			if rapid.IntRange(0, 3).Draw(t, "fail "+name) == 0 {
				failing[name] = true
			}
		}
		for _, m := range masters {
			d.Links = append(d.Links, reconcile.Link{Name: m, Kind: "bridge", State: reconcile.LinkStateUp})
			maybeFail(m)
		}
		for _, p := range ports {
			l := reconcile.Link{Name: p, Kind: "ifb", State: reconcile.LinkStateUp}
			if mi := rapid.IntRange(-1, 1).Draw(t, "master of "+p); mi >= 0 {
				l.Master = masters[mi]
				master[p] = l.Master
			}
			d.Links = append(d.Links, l)
			maybeFail(p)
		}
		links := append(append([]string(nil), masters...), ports...)
		for i := range rapid.IntRange(0, 5).Draw(t, "addresses") {
			a := addr{link: rapid.SampledFrom(links).Draw(t, "address link"), i: i}
			addrs = append(addrs, a)
			d.Addresses = append(d.Addresses, reconcile.Address{Link: a.link, Prefix: netip.MustParsePrefix(fmt.Sprintf("10.%d.0.1/24", i))})
			maybeFail(fmt.Sprintf("a%d", i))
		}
		type route struct {
			dev string
			gw  int // index into addrs, or -1
		}
		var routes []route
		for i := range rapid.IntRange(0, 4).Draw(t, "routes") {
			r := reconcile.Route{Dst: netip.MustParsePrefix(fmt.Sprintf("10.%d.0.0/24", 100+i))}
			rt := route{gw: -1}
			if len(addrs) > 0 && rapid.Bool().Draw(t, "via") {
				rt.gw = rapid.IntRange(0, len(addrs)-1).Draw(t, "gateway")
				r.Via = netip.MustParseAddr(fmt.Sprintf("10.%d.0.254", addrs[rt.gw].i))
			} else {
				rt.dev = rapid.SampledFrom(links).Draw(t, "route dev")
				r.Dev = rt.dev
			}
			routes = append(routes, rt)
			d.Routes = append(d.Routes, r)
			maybeFail(fmt.Sprintf("r%d", i))
		}
		for i := range rapid.IntRange(0, 2).Draw(t, "rules") {
			d.Rules = append(d.Rules, reconcile.Rule{Priority: uint32(1000 + i), Table: uint32(100 + i)})
			maybeFail(fmt.Sprintf("u%d", i))
		}

		// The oracle: what does not converge.
		// An object whose dependency is bad is blocked (never sent);
		// one that is not but fails is failed.
		bad, blocked := map[string]bool{}, map[string]bool{}
		set := func(n string, dep bool) {
			blocked[n] = dep
			bad[n] = dep || failing[n]
		}
		for _, m := range masters {
			set(m, false)
		}
		for _, p := range ports {
			// A port is created in the round its master is, without the
			// master (not there yet): its own failure comes first.
			set(p, !failing[p] && master[p] != "" && bad[master[p]])
		}
		for i, a := range addrs {
			set(fmt.Sprintf("a%d", i), bad[a.link])
		}
		for i, r := range routes {
			n := fmt.Sprintf("r%d", i)
			if r.dev != "" {
				set(n, bad[r.dev])
			} else {
				set(n, bad[fmt.Sprintf("a%d", r.gw)]) // one address per subnet
			}
		}
		for i := range d.Rules {
			set(fmt.Sprintf("u%d", i), false)
		}

		// The fake kernel refuses the creates and updates of the failing
		// objects.
		k := fakekernel.New(rtnl.Host(), rtnl.NamespaceID{Dev: 1, Inode: 1})
		k.SetFault(func(op string, obj any) *rtnl.Error {
			var name string
			switch o := obj.(type) {
			case rtnl.Link:
				if op != "link add" {
					return nil
				}
				name = o.Name // an update names its link too
			case rtnl.Address:
				name = fmt.Sprintf("a%d", o.Prefix.Addr().As4()[1])
			case rtnl.Route:
				name = fmt.Sprintf("r%d", int(o.Dst.Addr().As4()[1])-100)
			case rtnl.Rule:
				name = fmt.Sprintf("u%d", int(o.Priority)-1000)
			}
			if failing[name] && op != "link delete" {
				return fakekernel.Refuse(op, unix.EINVAL, "injected failure of "+name)
			}
			return nil
		})
		r, err := reconcile.Pass(k, d, reconcile.NewLedger(), reconcile.Options{})
		var f *reconcile.Failure
		if err != nil && !errors.As(err, &f) {
			t.Fatalf("pass: %v", err)
		}

		// What the report names, by the names above.
		named := map[string]reconcile.State{}
		for _, s := range r.Objects() {
			named[objectName(s.Ref)] = s.State
		}
		present := presentNames(k)
		for n, b := range bad {
			_, reported := named[n]
			switch {
			case b && !reported:
				t.Errorf("%s has a failed dependency (or failed) but is not reported; report: %v", n, r.Objects())
			case !b && reported:
				t.Errorf("%s has no failed dependency but is reported %v; report: %v", n, named[n], r.Objects())
			case !b && !present[n]:
				t.Errorf("%s has no failed dependency but did not converge", n)
			case b && blocked[n] && named[n] != reconcile.StateBlocked:
				t.Errorf("%s has a failed dependency but is reported %v", n, named[n])
			case b && !blocked[n] && named[n] != reconcile.StateFailed:
				t.Errorf("%s failed but is reported %v", n, named[n])
			}
		}
		if len(named) != len(r.Objects()) || r.Converged != (len(named) == 0) {
			t.Errorf("report names %d objects (converged %v): %v", len(named), r.Converged, r.Objects())
		}
	})
}

// objectName maps a reported object back to the property's names.
func objectName(ref reconcile.Ref) string {
	var a, b, c, e int
	switch ref.Kind {
	case diff.KindLink:
		return ref.Key
	case diff.KindAddress:
		if _, err := fmt.Sscanf(lastField(ref.Key), "prefix=%d.%d.%d.%d/24", &a, &b, &c, &e); err == nil {
			return fmt.Sprintf("a%d", b)
		}
	case diff.KindRoute:
		for _, f := range splitFields(ref.Key) {
			if _, err := fmt.Sscanf(f, "dst=%d.%d.%d.%d/24", &a, &b, &c, &e); err == nil {
				return fmt.Sprintf("r%d", b-100)
			}
		}
	case diff.KindRule:
		for _, f := range splitFields(ref.Key) {
			if _, err := fmt.Sscanf(f, "priority=%d", &a); err == nil {
				return fmt.Sprintf("u%d", a-1000)
			}
		}
	}
	return ref.String()
}

// presentNames returns the property's objects found in the kernel, as
// desired: links (ports enslaved to their master when they have one are
// checked by the report), addresses, routes of protocol 76 and rules.
func presentNames(k *fakekernel.Kernel) map[string]bool {
	out := map[string]bool{}
	links, _ := k.Links()
	for _, l := range links {
		out[l.Name] = true
	}
	addrs, _ := k.Addresses()
	for _, a := range addrs {
		if a.Prefix.Addr().Is4() && a.Prefix.Addr().As4()[0] == 10 {
			out[fmt.Sprintf("a%d", a.Prefix.Addr().As4()[1])] = true
		}
	}
	routes, _ := k.RoutesFiltered(rtnl.RouteFilter{Protocol: rtnl.DefaultProtocol})
	for _, r := range routes {
		out[fmt.Sprintf("r%d", int(r.Dst.Addr().As4()[1])-100)] = true
	}
	rules, _ := k.Rules()
	for _, r := range rules {
		if r.Priority >= 1000 && r.Priority < 1010 {
			out[fmt.Sprintf("u%d", r.Priority-1000)] = true
		}
	}
	return out
}

func lastField(s string) string {
	f := splitFields(s)
	if len(f) == 0 {
		return ""
	}
	return f[len(f)-1]
}

func splitFields(s string) []string {
	var out []string
	start := -1
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ' ' {
			if start >= 0 {
				out = append(out, s[start:i])
			}
			start = -1
		} else if start < 0 {
			start = i
		}
	}
	return out
}
