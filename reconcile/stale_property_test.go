package reconcile_test

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"pgregory.net/rapid"

	"github.com/linx-net/linx/diff"
	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/reconcile"
	"github.com/linx-net/linx/rtnl"
)

// The universe the property draws from: the scope's bridges, the
// addresses it may put on them, the rules it may want. Foreign objects
// reuse the same addresses and rules, and the indices the scope's bridges
// had.
var (
	propLinks    = []string{"s0", "s1"}
	propPrefixes = []netip.Prefix{netip.MustParsePrefix("10.9.0.1/24"), netip.MustParsePrefix("10.9.1.1/24"), netip.MustParsePrefix("10.9.2.1/24")}
	propRules    = []rtnl.Rule{
		{Family: rtnl.FamilyV4, From: netip.MustParsePrefix("10.5.1.0/24"), Table: 1000, Priority: 301},
		{Family: rtnl.FamilyV4, From: netip.MustParsePrefix("10.5.2.0/24"), Table: 1000, Priority: 302},
		{Family: rtnl.FamilyV4, From: netip.MustParsePrefix("10.5.3.0/24"), Table: 1000, Priority: 303},
	}
)

// TestPropertyForeignNeverTouched runs random interleavings of passes,
// restarts (the ledger reopened from its file), changes of the desired
// state, deletions of the scope's objects by another writer, and foreign
// objects that reuse the scope's keys: bridges created with an index the
// scope's bridges had (ip link add … index N) and given the scope's
// addresses, and rules with the scope's keys. No pass ever deletes or
// changes a foreign object.
//
// One interleaving no ledger can tell apart is left out: another writer
// deleting an object the scope owns and creating its twin before any pass
// sees the deletion (only a kernel-side mark could tell the twin apart).
// A foreign rule takes a key only once a pass has run without the scope's
// own rule holding it.
func TestPropertyForeignNeverTouched(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()  // the scope's socket
	fs := ns.Open() // another writer's
	dir := t.TempDir()
	run := 0
	rapid.Check(t, func(rt *rapid.T) {
		run++
		resetPropNS(rt, fs)
		path := filepath.Join(dir, strconv.Itoa(run)+".ledger")
		l, err := reconcile.OpenLedger(path)
		if err != nil {
			rt.Fatal(err)
		}
		var (
			d        reconcile.Desired
			used     []int                         // indices the scope's links have had
			foreignL = map[string]int{}            // foreign link name -> index
			foreignA = map[string][]rtnl.Address{} // foreign link name -> its addresses
			foreignR []rtnl.Rule
			// held are the rules the scope's own objects held at the end
			// of the last pass: a foreign twin of one is left out (see
			// the test's documentation).
			held  = map[uint32]bool{}
			trace []string
		)
		check := func(what string) {
			for name, idx := range foreignL {
				got, err := fs.LinkByName(name)
				if err != nil || got.Index != idx {
					rt.Fatalf("%s: foreign link %s (index %d) now %+v, %v\ntrace: %v", what, name, idx, got, err, trace)
				}
				now, err := fs.AddressesOf(name)
				if err != nil {
					rt.Fatal(err)
				}
				if fmt.Sprint(now) != fmt.Sprint(foreignA[name]) {
					rt.Fatalf("%s: addresses of foreign %s were %v, now %v\ntrace: %v", what, name, foreignA[name], now, trace)
				}
			}
			rules, err := fs.Rules()
			if err != nil {
				rt.Fatal(err)
			}
			for _, fr := range foreignR {
				if !slices.ContainsFunc(rules, func(r rtnl.Rule) bool { return diff.KeyOfRule(r) == diff.KeyOfRule(fr) }) {
					rt.Fatalf("%s: foreign rule %v deleted\ntrace: %v", what, fr, trace)
				}
			}
		}
		steps := rapid.IntRange(1, 14).Draw(rt, "steps")
		for step := 0; step < steps; step++ {
			action := rapid.SampledFrom([]string{"pass", "pass", "desire", "restart", "delete", "foreign-link", "foreign-rule"}).Draw(rt, "action")
			trace = append(trace, action)
			switch action {
			case "pass":
				r, err := reconcile.Pass(s, d, l, reconcile.Options{})
				if err != nil {
					rt.Fatalf("pass: %v\ntrace: %v", err, trace)
				}
				check(fmt.Sprintf("pass %d (applied %v)", step, r.Applied))
				links, err := fs.Links()
				if err != nil {
					rt.Fatal(err)
				}
				for _, ln := range links {
					if slices.Contains(propLinks, ln.Name) && !slices.Contains(used, ln.Index) {
						used = append(used, ln.Index)
					}
				}
				clear(held)
				for _, r := range d.Rules {
					if !slices.ContainsFunc(foreignR, func(f rtnl.Rule) bool { return f.Priority == r.Priority }) {
						held[r.Priority] = true
					}
				}
			case "desire":
				d = reconcile.Desired{}
				for _, name := range propLinks {
					if !rapid.Bool().Draw(rt, "link "+name) {
						continue
					}
					d.Links = append(d.Links, reconcile.Link{Name: name, Kind: "bridge"})
					for _, p := range propPrefixes {
						if rapid.Bool().Draw(rt, "address") {
							d.Addresses = append(d.Addresses, reconcile.Address{Link: name, Prefix: p})
						}
					}
				}
				for _, r := range propRules {
					if rapid.Bool().Draw(rt, "rule") {
						d.Rules = append(d.Rules, r)
					}
				}
				trace = append(trace, fmt.Sprintf("%d links %d addresses %d rules", len(d.Links), len(d.Addresses), len(d.Rules)))
			case "restart":
				if l, err = reconcile.OpenLedger(path); err != nil {
					rt.Fatal(err)
				}
			case "delete":
				// Another writer deletes one of the scope's objects.
				links, _ := fs.Links()
				var mine []string
				for _, ln := range links {
					if slices.Contains(propLinks, ln.Name) {
						mine = append(mine, ln.Name)
					}
				}
				if len(mine) == 0 {
					continue
				}
				name := rapid.SampledFrom(mine).Draw(rt, "victim")
				if rapid.Bool().Draw(rt, "whole link") {
					if err := fs.LinkDelete(name); err != nil {
						rt.Fatal(err)
					}
					trace = append(trace, "deleted link "+name)
				} else {
					as, _ := fs.AddressesOf(name)
					if len(as) > 0 {
						a := rapid.SampledFrom(as).Draw(rt, "address victim")
						if err := fs.AddressDelete(name, a.Prefix); err != nil {
							rt.Fatal(err)
						}
						trace = append(trace, fmt.Sprintf("deleted %s on %s", a.Prefix, name))
					}
				}
				if rapid.Bool().Draw(rt, "a rule too") {
					rules, _ := fs.Rules()
					for _, r := range rules {
						if r.Priority >= 301 && r.Priority <= 303 && !slices.ContainsFunc(foreignR, func(f rtnl.Rule) bool { return f.Priority == r.Priority }) {
							if err := fs.RuleDelete(r); err != nil {
								rt.Fatal(err)
							}
							trace = append(trace, fmt.Sprintf("deleted rule %d", r.Priority))
							break
						}
					}
				}
			case "foreign-link":
				// Another writer creates a bridge with an index the scope's
				// bridges had, free now, and gives it the scope's addresses.
				links, _ := fs.Links()
				var free []int
				for _, idx := range used {
					if !slices.ContainsFunc(links, func(ln rtnl.Link) bool { return ln.Index == idx }) {
						free = append(free, idx)
					}
				}
				if len(free) == 0 || len(foreignL) >= 3 {
					continue
				}
				idx := rapid.SampledFrom(free).Draw(rt, "index")
				name := "f" + strconv.Itoa(len(foreignL))
				ns.IP("link", "add", "name", name, "index", strconv.Itoa(idx), "type", "bridge")
				for _, p := range propPrefixes {
					if rapid.Bool().Draw(rt, "foreign address") {
						if err := fs.AddressAdd(name, p); err != nil {
							rt.Fatal(err)
						}
					}
				}
				foreignL[name] = idx
				if foreignA[name], err = fs.AddressesOf(name); err != nil {
					rt.Fatal(err)
				}
				trace = append(trace, fmt.Sprintf("foreign %s at index %d with %v", name, idx, foreignA[name]))
			case "foreign-rule":
				r := rapid.SampledFrom(propRules).Draw(rt, "foreign rule")
				if held[r.Priority] || slices.ContainsFunc(foreignR, func(f rtnl.Rule) bool { return f.Priority == r.Priority }) {
					continue
				}
				if err := fs.RuleAdd(r); err != nil {
					continue // the scope's rule is in place
				}
				foreignR = append(foreignR, r)
				trace = append(trace, fmt.Sprintf("foreign rule %d", r.Priority))
			}
		}
		// A last pass, after a restart, with nothing desired: everything
		// the scope owns goes, nothing foreign does.
		if l, err = reconcile.OpenLedger(path); err != nil {
			rt.Fatal(err)
		}
		trace = append(trace, "restart", "final pass with nothing desired")
		if _, err := reconcile.Pass(s, reconcile.Desired{}, l, reconcile.Options{}); err != nil {
			rt.Fatalf("final pass: %v", err)
		}
		check("final pass")
	})
}

// resetPropNS removes every link but lo and the property's rules.
func resetPropNS(t *rapid.T, s *rtnl.Socket) {
	links, err := s.Links()
	if err != nil {
		t.Fatal(err)
	}
	for _, ln := range links {
		if ln.Name != "lo" {
			if err := s.LinkDelete(ln.Name); err != nil && !rtnl.IsNotExist(err) {
				t.Fatal(err)
			}
		}
	}
	rules, err := s.Rules()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rules {
		if r.Priority >= 301 && r.Priority <= 303 {
			if err := s.RuleDelete(r); err != nil && !rtnl.IsNotExist(err) {
				t.Fatal(err)
			}
		}
	}
}
