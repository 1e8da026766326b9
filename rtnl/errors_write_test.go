package rtnl_test

import (
	"errors"
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/linx-net/linx/rtnl"
)

// TestBatchErrorShape checks BatchError's text and unwrapping without a
// kernel.
func TestBatchErrorShape(t *testing.T) {
	be := &rtnl.BatchError{
		Failures: []rtnl.BatchFailure{
			{Index: 3, Op: "route add", Err: &rtnl.Error{Op: "route add", Errno: unix.EEXIST, Message: "File exists"}},
			{Index: 9, Op: "rule add", Err: &rtnl.Error{Op: "rule add", Errno: unix.EINVAL, Message: "rule needs a table"}},
		},
		Done: 64,
		Len:  100,
	}
	want := "batch: 2 of 100 entries failed, 36 not sent; first #3 route add: netlink EEXIST (17): File exists"
	if got := be.Error(); got != want {
		t.Fatalf("Error() = %q\nwant      %q", got, want)
	}
	var err error = be
	if !errors.Is(err, unix.EEXIST) || !errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENODEV) {
		t.Fatal("errors.Is does not follow the failures")
	}
	var e *rtnl.Error
	if !errors.As(err, &e) || e.Errno != unix.EEXIST {
		t.Fatalf("errors.As = %v", e)
	}
}

// TestBatchLenCountsRefusedEntries checks that an entry refused while
// being added still takes its number, so later failures keep theirs.
func TestBatchLenCountsRefusedEntries(t *testing.T) {
	var b rtnl.Batch
	b.RouteAdd(rtnl.Route{Dst: netip.MustParsePrefix("10.0.0.0/24"), Gateway: netip.MustParseAddr("fd00::1")})
	b.LinkDelete(-1)
	b.NeighbourAdd(rtnl.Neighbour{Index: 1, IP: netip.MustParseAddr("10.0.0.1")}) // no MAC
	b.AddressAdd(rtnl.Address{Index: 1, Prefix: netip.MustParsePrefix("10.0.0.1/24")})
	if b.Len() != 4 {
		t.Fatalf("Len = %d, want 4", b.Len())
	}
	b.Reset()
	if b.Len() != 0 {
		t.Fatalf("Len after Reset = %d", b.Len())
	}
}
