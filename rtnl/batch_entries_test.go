package rtnl_test

import (
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/linx-net/linx/rtnl"
)

// TestBatchEntries checks that a batch lists its entries in order, each
// decodable with the codecs of the listings, and an entry refused while
// it was added as that refusal.
func TestBatchEntries(t *testing.T) {
	var b rtnl.Batch
	r := rtnl.Route{Dst: netip.MustParsePrefix("10.1.0.0/16"), OIF: 3, Table: 100, Protocol: 76, Metric: 5}
	b.RouteAdd(r)
	b.LinkDelete(0) // refused: no index
	a := rtnl.Address{Index: 3, Prefix: netip.MustParsePrefix("fd00::1/64")}
	b.AddressDelete(a)
	b.RuleDelete(rtnl.Rule{Priority: 10, Table: 100})
	var types []uint16
	for i, e := range b.Entries() {
		switch i {
		case 0:
			got, ok, err := rtnl.DecodeRoute(e.Payload)
			if err != nil || !ok || got.Dst != r.Dst || got.OIF != 3 || got.Table != 100 || got.Protocol != 76 || got.Metric != 5 {
				t.Errorf("entry 0 decodes as %v, %v, %v", got, ok, err)
			}
			if e.Flags&(unix.NLM_F_CREATE|unix.NLM_F_EXCL) != unix.NLM_F_CREATE|unix.NLM_F_EXCL || e.Flags&unix.NLM_F_ACK != 0 {
				t.Errorf("entry 0 flags %#x", e.Flags)
			}
		case 1:
			if e.Err == nil || e.Payload != nil {
				t.Errorf("entry 1 = %+v, want its refusal", e)
			}
		case 2:
			got, err := rtnl.DecodeAddress(e.Payload)
			if err != nil || got.Prefix != a.Prefix || got.Index != 3 {
				t.Errorf("entry 2 decodes as %v, %v", got, err)
			}
		}
		types = append(types, e.Type)
	}
	want := []uint16{unix.RTM_NEWROUTE, 0, unix.RTM_DELADDR, unix.RTM_DELRULE}
	if len(types) != len(want) {
		t.Fatalf("%d entries, want %d", len(types), len(want))
	}
	for i := range want {
		if types[i] != want[i] {
			t.Errorf("entry %d type %d, want %d", i, types[i], want[i])
		}
	}
}
