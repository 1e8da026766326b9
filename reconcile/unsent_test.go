package reconcile_test

import (
	"errors"
	"fmt"
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/linx-net/linx/diff"
	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/reconcile"
)

// TestUnsentCreatesForgotten checks that the keys of creates recorded in
// the ledger before a fail-fast batch, but never sent because the batch
// stopped at an earlier failure, leave the ledger with the refused create,
// while the creates that took effect stay owned.
//
// Address creates go out sorted by interface index, then prefix: one IPv6
// address on a0 (the lower index), where IPv6 is disabled so the kernel
// refuses it, comes first; many IPv4 addresses on b0 follow. The batch
// stops after the datagram that carried the refused one, so the addresses
// after that datagram are never sent.
func TestUnsentCreatesForgotten(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	ns.IP("link", "add", "a0", "type", "veth", "peer", "name", "a1")
	ns.IP("link", "add", "b0", "type", "veth", "peer", "name", "b1")
	ns.Exec("sysctl", "-q", "-w", "net.ipv6.conf.a0.disable_ipv6=1")
	if ipIndex(t, ns, "a0") >= ipIndex(t, ns, "b0") {
		t.Fatalf("a0 (index %d) does not sort before b0 (index %d)", ipIndex(t, ns, "a0"), ipIndex(t, ns, "b0"))
	}

	refused := netip.MustParsePrefix("fd00::1/64")
	d := reconcile.Desired{Addresses: []reconcile.Address{{Link: "a0", Prefix: refused}}}
	const n = 300
	for i := range n {
		d.Addresses = append(d.Addresses, reconcile.Address{Link: "b0",
			Prefix: netip.MustParsePrefix(fmt.Sprintf("10.1.%d.%d/32", i/250, 1+i%250))})
	}
	l := reconcile.NewLedger()
	r, err := reconcile.Pass(s, d, l, reconcile.Options{FailFast: true})
	var f *reconcile.Failure
	if !errors.As(err, &f) || f.Op.Kind != diff.KindAddress || f.Op.Address.Prefix != refused || !errors.Is(err, unix.EACCES) {
		t.Fatalf("pass = %v; want the create of %s refused with EACCES", err, refused)
	}

	present := addrs(ns)
	if present["a0 "+refused.String()] {
		t.Fatalf("%s was added on a0 with IPv6 disabled", refused)
	}
	owned := l.Owned().Addresses
	applied := map[diff.AddressKey]bool{}
	for _, op := range r.Applied {
		if op.Kind == diff.KindAddress {
			applied[diff.KeyOfAddress(*op.Address)] = true
		}
	}
	sent, unsent := 0, 0
	for _, op := range r.Applied {
		if op.Kind != diff.KindAddress || op.Action != diff.Create {
			t.Errorf("applied %v, want address creates only", op)
		}
	}
	for k := range owned.All() {
		if !applied[k] {
			t.Errorf("ledger owns %v, which the pass did not create", k)
		}
	}
	b0 := ipIndex(t, ns, "b0")
	for _, a := range d.Addresses[1:] {
		k := diff.AddressKey{Index: b0, Prefix: a.Prefix}
		if present["b0 "+a.Prefix.String()] {
			sent++
			if !owned.Has(k) || !applied[k] {
				t.Errorf("%s was created but is owned %v, reported applied %v", a.Prefix, owned.Has(k), applied[k])
			}
			continue
		}
		unsent++
		if owned.Has(k) {
			t.Errorf("ledger owns %s, never sent", a.Prefix)
		}
	}
	if owned.Has(diff.AddressKey{Index: ipIndex(t, ns, "a0"), Prefix: refused}) {
		t.Errorf("ledger owns the refused %s", refused)
	}
	if sent == 0 || unsent == 0 {
		t.Fatalf("%d addresses created and %d not sent; the test needs some of both", sent, unsent)
	}
	if owned.Len() != sent {
		t.Errorf("ledger owns %d addresses, %d were created", owned.Len(), sent)
	}
}
