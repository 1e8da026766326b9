package reconcile_test

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/reconcile"
)

// BenchmarkIdlePassOwnedKeys measures a converged pass of a scope owning
// 1,000 addresses and 200 rules, against the dumps its stale-key check
// (prune) adds: links, addresses, neighbours and rules listed once more.
// It prints the best of five of each and the share of the pass they take.
func BenchmarkIdlePassOwnedKeys(b *testing.B) {
	ns := nstest.New(b)
	s := ns.Open()
	d := reconcile.Desired{Links: []reconcile.Link{{Name: "bb0", Kind: "bridge"}}}
	for i := range 1000 {
		d.Addresses = append(d.Addresses, reconcile.Address{Link: "bb0",
			Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 30, byte(i >> 8), byte(i)}), 16)})
	}
	for i := range 200 {
		d.Rules = append(d.Rules, reconcile.Rule{From: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 40, byte(i), 0}), 24),
			Table: 1000, Priority: uint32(1000 + i)})
	}
	l := reconcile.NewLedger()
	if _, err := reconcile.Pass(s, d, l, reconcile.Options{}); err != nil {
		b.Fatal(err)
	}
	for range b.N {
		pass, dumps := time.Duration(1<<62), time.Duration(1<<62)
		for range 5 {
			start := time.Now()
			r, err := reconcile.Pass(s, d, l, reconcile.Options{})
			if err != nil || len(r.Applied) != 0 {
				b.Fatalf("idle pass: %v, applied %v", err, r.Applied)
			}
			pass = min(pass, time.Since(start))
			start = time.Now()
			if _, err := s.Links(); err != nil {
				b.Fatal(err)
			}
			if _, err := s.Addresses(); err != nil {
				b.Fatal(err)
			}
			if _, err := s.Neighbours(); err != nil {
				b.Fatal(err)
			}
			if _, err := s.Rules(); err != nil {
				b.Fatal(err)
			}
			dumps = min(dumps, time.Since(start))
		}
		fmt.Printf("idle_pass_1k_addresses_200_rules: pass=%.2fms prune_dumps=%.2fms share=%.2f\n",
			float64(pass)/1e6, float64(dumps)/1e6, float64(dumps)/float64(pass))
	}
}

// BenchmarkPassBackingOff measures an idle pass of a scope owning 1,000
// addresses with an impossible link (this kernel has no dummy) backing
// off, against the same scope without it in the same run: what a
// permanently impossible object costs each pass while it is skipped (its
// fingerprint kept up to date, its dependents blocked). It prints the
// best of five of each and the ratio.
func BenchmarkPassBackingOff(b *testing.B) {
	ns := nstest.New(b)
	s := ns.Open()
	d := reconcile.Desired{Links: []reconcile.Link{{Name: "bb0", Kind: "bridge"}}}
	for i := range 1000 {
		d.Addresses = append(d.Addresses, reconcile.Address{Link: "bb0",
			Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 30, byte(i >> 8), byte(i)}), 16)})
	}
	withD0 := d
	withD0.Links = append([]reconcile.Link{{Name: "d0", Kind: "dummy"}}, d.Links...)
	withD0.Addresses = append(append([]reconcile.Address(nil), d.Addresses...), reconcile.Address{Link: "d0", Prefix: netip.MustParsePrefix("10.99.0.1/24")})
	l := reconcile.NewLedger()
	if _, err := reconcile.Pass(s, d, l, reconcile.Options{}); err != nil {
		b.Fatal(err)
	}
	retries := reconcile.NewRetries(time.Hour, time.Hour) // backing off for the whole run
	if r, _ := reconcile.Pass(s, withD0, l, reconcile.Options{Retries: retries}); r.Failed == nil {
		b.Fatal("d0 did not fail")
	}
	for range b.N {
		base, degraded := time.Duration(1<<62), time.Duration(1<<62)
		for range 5 {
			start := time.Now()
			if r, err := reconcile.Pass(s, d, l, reconcile.Options{}); err != nil || len(r.Applied) != 0 {
				b.Fatalf("idle pass: %v, applied %v", err, r.Applied)
			}
			base = min(base, time.Since(start))
			start = time.Now()
			r, _ := reconcile.Pass(s, withD0, l, reconcile.Options{Retries: retries})
			if r.Failed == nil || !r.Failed.Skipped || len(r.Applied) != 0 {
				b.Fatalf("degraded pass: failed %v, applied %v", r.Failed, r.Applied)
			}
			degraded = min(degraded, time.Since(start))
		}
		fmt.Printf("idle_pass_1k_addresses: converged=%.2fms backing_off=%.2fms ratio=%.2f\n",
			float64(base)/1e6, float64(degraded)/1e6, float64(degraded)/float64(base))
	}
}
