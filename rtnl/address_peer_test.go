package rtnl_test

import (
	"net/netip"
	"slices"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/rtnl"
)

// ipAddrs returns the addresses `ip -j addr show dev` lists for link, as
// "local/len" or "local/len peer P".
func ipAddrs(t *testing.T, ns *nstest.NS, link string) []string {
	t.Helper()
	var out []struct {
		AddrInfo []struct {
			Local     string `json:"local"`
			Address   string `json:"address"`
			PrefixLen int    `json:"prefixlen"`
		} `json:"addr_info"`
	}
	ns.JSON(&out, "addr", "show", "dev", link)
	var s []string
	for _, l := range out {
		for _, a := range l.AddrInfo {
			if netip.MustParseAddr(a.Local).IsLinkLocalUnicast() {
				continue
			}
			x := a.Local + "/" + strconv.Itoa(a.PrefixLen)
			if a.Address != "" && a.Address != a.Local {
				x += " peer " + a.Address
			}
			s = append(s, x)
		}
	}
	slices.Sort(s)
	return s
}

// TestAddressDeletePeer checks that AddressDelete removes IPv4 (and IPv6)
// point-to-point addresses named by their local address and prefix
// length, as Address.Prefix holds them, and nothing else.
func TestAddressDeletePeer(t *testing.T) {
	ns := nstest.New(t)
	s := ns.Open()
	ns.Batch(`link add d0 type veth peer name d0p
addr add 10.0.0.1 peer 10.0.0.2/32 dev d0
addr add 10.0.1.1 peer 10.0.9.0/24 dev d0
addr add 10.0.2.1/24 dev d0
addr add 10.0.3.1 peer 10.0.3.2/32 dev d0
addr add fd00::1 peer fd00::2/128 dev d0 nodad
`)
	as, err := s.AddressesOf("d0")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(as, func(a rtnl.Address) bool {
		return a.Prefix == netip.MustParsePrefix("10.0.0.1/32") && a.Peer == netip.MustParseAddr("10.0.0.2")
	}) {
		t.Fatalf("decoded %+v: want 10.0.0.1/32 with peer 10.0.0.2", as)
	}
	before := ipAddrs(t, ns, "d0")
	for _, c := range []struct {
		prefix string
		gone   string
	}{
		{"10.0.0.1/32", "10.0.0.1/32 peer 10.0.0.2"},
		{"10.0.1.1/24", "10.0.1.1/24 peer 10.0.9.0"},
		{"fd00::1/128", "fd00::1/128 peer fd00::2"},
	} {
		if err := s.AddressDelete("d0", netip.MustParsePrefix(c.prefix)); err != nil {
			t.Fatalf("AddressDelete(d0, %s): %v", c.prefix, err)
		}
		after := ipAddrs(t, ns, "d0")
		want := slices.DeleteFunc(slices.Clone(before), func(a string) bool { return a == c.gone })
		if len(want) != len(before)-1 || !slices.Equal(after, want) {
			t.Fatalf("AddressDelete(d0, %s): addresses went from %v to %v, want %v", c.prefix, before, after, want)
		}
		as, err := s.AddressesOf("d0")
		if err != nil {
			t.Fatal(err)
		}
		if slices.ContainsFunc(as, func(a rtnl.Address) bool { return a.Prefix.String() == c.prefix }) {
			t.Fatalf("AddressDelete(d0, %s) returned nil, but the address is still there: %v", c.prefix, after)
		}
		before = after
	}
	// Gone already: the kernel's answer, which IsNotExist reports.
	err = s.AddressDelete("d0", netip.MustParsePrefix("10.0.0.1/32"))
	wWantErr(t, err, unix.EADDRNOTAVAIL)
	if !rtnl.IsNotExist(err) {
		t.Fatal("IsNotExist false for a deleted peer address")
	}
	// The local address with another prefix length names no address.
	wWantErr(t, s.AddressDelete("d0", netip.MustParsePrefix("10.0.3.1/24")), unix.EADDRNOTAVAIL)
	if after := ipAddrs(t, ns, "d0"); !slices.Equal(after, before) {
		t.Fatalf("failed deletes changed the addresses from %v to %v", before, after)
	}
	if want := 2; len(before) != want {
		t.Fatalf("left %v, want the plain address and 10.0.3.1 peer 10.0.3.2", before)
	}
}
