package rtnl_test

import (
	"net/netip"
	"strconv"
	"testing"

	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/rtnl"
)

// TestOwnershipMarks writes the writer's protocol on an address
// (IFA_PROTO), a neighbour (NDA_PROTOCOL) and a rule (FRA_PROTOCOL), reads
// each back, and cross-checks the neighbour's and the rule's with iproute2
// (whose 6.1 release does not print an address's). Objects added without
// one read back with protocol 0.
func TestOwnershipMarks(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	ns.IP("link", "add", "br0", "type", "bridge")
	ns.IP("link", "set", "br0", "up")
	br, err := s.LinkByName("br0")
	if err != nil {
		t.Fatal(err)
	}
	var b rtnl.Batch
	b.AddressAdd(rtnl.Address{Index: br.Index, Prefix: netip.MustParsePrefix("10.1.0.1/24"), Protocol: 76})
	b.AddressAdd(rtnl.Address{Index: br.Index, Prefix: netip.MustParsePrefix("fd00:1::1/64"), Protocol: 76})
	b.NeighbourAdd(rtnl.Neighbour{Index: br.Index, IP: netip.MustParseAddr("10.1.0.9"), HardwareAddr: rtnl.MustParseMAC("02:00:00:00:00:09"), Protocol: 76})
	b.RuleAdd(rtnl.Rule{Priority: 100, Table: 100, From: netip.MustParsePrefix("10.1.0.0/24"), Protocol: 76})
	if err := s.Apply(&b); err != nil {
		t.Fatal(err)
	}
	ns.IP("address", "add", "10.1.0.2/24", "dev", "br0")
	ns.IP("neighbour", "add", "10.1.0.8", "lladdr", "02:00:00:00:00:08", "dev", "br0", "nud", "permanent")
	ns.IP("rule", "add", "from", "10.2.0.0/24", "table", "100", "priority", "101")

	addrs, err := s.AddressesOf("br0")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]rtnl.AddressProtocol{"10.1.0.1/24": 76, "fd00:1::1/64": 76, "10.1.0.2/24": 0}
	for _, a := range addrs {
		if p, ok := want[a.Prefix.String()]; ok {
			if a.Protocol != p {
				t.Errorf("address %s: protocol %s, want %s", a.Prefix, a.Protocol, p)
			}
			delete(want, a.Prefix.String())
		} else if a.Prefix.Addr().IsLinkLocalUnicast() && a.Protocol != rtnl.AddressProtocolKernelLL {
			t.Errorf("link-local address %s: protocol %s, want kernel_ll", a.Prefix, a.Protocol)
		}
	}
	if len(want) != 0 {
		t.Errorf("addresses not listed: %v", want)
	}

	neighs, err := s.NeighboursOf("br0")
	if err != nil {
		t.Fatal(err)
	}
	var ipNeighs []struct {
		Dst      string `json:"dst"`
		Protocol string `json:"protocol"`
	}
	ns.JSON(&ipNeighs, "neighbour", "show", "dev", "br0")
	ipProto := make(map[string]string)
	for _, n := range ipNeighs {
		ipProto[n.Dst] = n.Protocol
	}
	seen := 0
	for _, n := range neighs {
		want, ok := map[string]rtnl.Protocol{"10.1.0.9": 76, "10.1.0.8": 0}[n.IP.String()]
		if !ok {
			continue // the kernel's own multicast entries, which ip hides
		}
		seen++
		if n.Protocol != want {
			t.Errorf("neighbour %s: protocol %s, want %s", n.IP, n.Protocol, want)
		}
		// ip -j names the key "protocol" and prints it only when set.
		if got, ok := ipProto[n.IP.String()]; !ok {
			t.Errorf("ip -j neighbour does not list %s", n.IP)
		} else if exp := strconv.Itoa(int(n.Protocol)); n.Protocol != 0 && got != exp || n.Protocol == 0 && got != "" {
			t.Errorf("neighbour %s: ip -j protocol %q, rtnl %d", n.IP, got, n.Protocol)
		}
	}
	if seen != 2 {
		t.Errorf("listed %d of the 2 neighbours added: %v", seen, neighs)
	}

	rules, err := s.Rules()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rules {
		switch r.Priority {
		case 100:
			if r.Protocol != 76 {
				t.Errorf("rule 100: protocol %s, want 76", r.Protocol)
			}
		case 101:
			// iproute2 sends no FRA_PROTOCOL: the kernel records unspec.
			if r.Protocol != 0 {
				t.Errorf("rule 101: protocol %s, want 0", r.Protocol)
			}
		}
	}
}
