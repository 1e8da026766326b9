package rtnl

import (
	"net"
	"net/netip"
	"strings"
	"testing"
)

func TestParseMAC(t *testing.T) {
	for _, in := range []string{"02:aa:bb:cc:dd:ee", "02-AA-BB-CC-DD-EE", "02aa.bbcc.ddee", "02:Aa:bB:cc:dd:ee"} {
		mac, err := ParseMAC(in)
		if err != nil {
			t.Errorf("ParseMAC(%q): %v", in, err)
			continue
		}
		if got := mac.String(); got != "02:aa:bb:cc:dd:ee" {
			t.Errorf("ParseMAC(%q) = %s, want 02:aa:bb:cc:dd:ee", in, got)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"", `rtnl: ParseMAC(""): not a MAC address`},
		{"02:aa:bb:cc:dd", `rtnl: ParseMAC("02:aa:bb:cc:dd"): not a MAC address`},
		{"02:aa:bb:cc:dd:zz", `rtnl: ParseMAC("02:aa:bb:cc:dd:zz"): not a MAC address`},
		{"02:aa:bb:cc:dd:ee:ff:00", `rtnl: ParseMAC("02:aa:bb:cc:dd:ee:ff:00"): 8 bytes, want a 6-byte EUI-48 address`},
		{"00:00:00:00:fe:80:00:00:00:00:00:00:02:00:5e:10:00:00:00:01",
			`rtnl: ParseMAC("00:00:00:00:fe:80:00:00:00:00:00:00:02:00:5e:10:00:00:00:01"): 20 bytes, want a 6-byte EUI-48 address`},
		{"10.0.0.1", `rtnl: ParseMAC("10.0.0.1"): not a MAC address`},
	} {
		mac, err := ParseMAC(tc.in)
		if err == nil || err.Error() != tc.want || mac != nil {
			t.Errorf("ParseMAC(%q) = %v, %v; want nil, %s", tc.in, mac, err, tc.want)
		}
	}
}

func TestMustParseMAC(t *testing.T) {
	if got := MustParseMAC("02:aa:bb:cc:dd:ee"); got.String() != "02:aa:bb:cc:dd:ee" {
		t.Fatalf("MustParseMAC = %s", got)
	}
	defer func() {
		r := recover()
		err, ok := r.(error)
		if !ok || !strings.Contains(err.Error(), `"bogus"`) {
			t.Fatalf("MustParseMAC(bogus) panicked with %v; want an error quoting the input", r)
		}
	}()
	MustParseMAC("bogus")
	t.Fatal("MustParseMAC(bogus) did not panic")
}

// TestPrefixKeepsHostBits pins the fact the package documents instead of
// adding a helper: netip.MustParsePrefix keeps an interface address's host
// bits.
func TestPrefixKeepsHostBits(t *testing.T) {
	p := netip.MustParsePrefix("10.0.42.5/24")
	if p.Addr() != netip.MustParseAddr("10.0.42.5") || p.Bits() != 24 || p.String() != "10.0.42.5/24" {
		t.Fatalf("MustParsePrefix(10.0.42.5/24) = %s", p)
	}
}

func TestSubnetMath(t *testing.T) {
	for _, tc := range []struct {
		p, network, broadcast string
	}{
		{"10.0.42.5/24", "10.0.42.0", "10.0.42.255"},
		{"10.0.0.0/8", "10.0.0.0", "10.255.255.255"},
		{"192.168.1.130/25", "192.168.1.128", "192.168.1.255"},
		{"172.16.5.9/12", "172.16.0.0", "172.31.255.255"},
		{"10.1.2.3/32", "10.1.2.3", "10.1.2.3"},
		{"10.1.2.2/31", "10.1.2.2", "10.1.2.3"},
		{"1.2.3.4/0", "0.0.0.0", "255.255.255.255"},
		{"fd00::1/64", "fd00::", "fd00::ffff:ffff:ffff:ffff"},
		{"2001:db8:abcd:12::5/56", "2001:db8:abcd::", "2001:db8:abcd:ff:ffff:ffff:ffff:ffff"},
		{"2001:db8::7/127", "2001:db8::6", "2001:db8::7"},
		{"::1/128", "::1", "::1"},
		{"::/0", "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
	} {
		p := netip.MustParsePrefix(tc.p)
		if got := Network(p); got != netip.MustParseAddr(tc.network) {
			t.Errorf("Network(%s) = %s, want %s", tc.p, got, tc.network)
		}
		if got := Broadcast(p); got != netip.MustParseAddr(tc.broadcast) {
			t.Errorf("Broadcast(%s) = %s, want %s", tc.p, got, tc.broadcast)
		}
		// Both ends lie in the prefix; one past the end does not.
		if !Contains(p, Network(p)) || !Contains(p, Broadcast(p)) {
			t.Errorf("Contains(%s) excludes its own network or last address", tc.p)
		}
		if next := Broadcast(p).Next(); next.IsValid() && Contains(p, next) {
			t.Errorf("Contains(%s, %s) = true past the last address", tc.p, next)
		}
	}
	var zero netip.Prefix
	if Network(zero).IsValid() || Broadcast(zero).IsValid() {
		t.Errorf("Network/Broadcast of the zero Prefix are valid")
	}
}

func TestContains(t *testing.T) {
	for _, tc := range []struct {
		p, a string
		want bool
	}{
		{"10.0.0.0/8", "10.99.0.5", true},
		{"10.0.42.5/24", "10.0.42.9", true}, // host bits of p ignored
		{"10.0.42.5/24", "10.0.43.1", false},
		{"10.0.0.0/8", "11.0.0.1", false},
		{"10.0.0.0/8", "::ffff:10.1.2.3", true}, // mapped form is IPv4
		{"::ffff:10.0.0.0/104", "10.1.2.3", false},
		{"10.0.0.0/8", "fd00::1", false},
		{"fd00::/64", "fd00::1234", true},
		{"fd00::/64", "fd00:0:0:1::1", false},
		{"fe80::/10", "fe80::1%eth0", true}, // zone ignored
		{"0.0.0.0/0", "8.8.8.8", true},
		{"::/0", "8.8.8.8", false},
	} {
		if got := Contains(netip.MustParsePrefix(tc.p), netip.MustParseAddr(tc.a)); got != tc.want {
			t.Errorf("Contains(%s, %s) = %v, want %v", tc.p, tc.a, got, tc.want)
		}
	}
	if Contains(netip.Prefix{}, netip.MustParseAddr("10.0.0.1")) || Contains(netip.MustParsePrefix("0.0.0.0/0"), netip.Addr{}) {
		t.Error("Contains with an invalid argument is true")
	}
}

// TestSubnetMathReference checks Network, Broadcast and Contains against a
// slow, obviously correct reference built on net.IPNet for every prefix
// length of a few addresses.
func TestSubnetMathReference(t *testing.T) {
	probes := []string{"10.20.30.40", "255.255.255.255", "0.0.0.0", "2001:db8:1:2:3:4:5:6", "ffff::ffff", "::"}
	for _, s := range probes {
		a := netip.MustParseAddr(s)
		for bits := 0; bits <= a.BitLen(); bits++ {
			p := netip.PrefixFrom(a, bits)
			ipnet := &net.IPNet{IP: net.IP(a.AsSlice()), Mask: net.CIDRMask(bits, a.BitLen())}
			wantNet, _ := netip.AddrFromSlice(ipnet.IP.Mask(ipnet.Mask))
			last := make(net.IP, len(ipnet.IP))
			for i := range last {
				last[i] = ipnet.IP[i] | ^ipnet.Mask[i]
			}
			wantLast, _ := netip.AddrFromSlice(last)
			if got := Network(p); got != wantNet {
				t.Errorf("Network(%s) = %s, want %s", p, got, wantNet)
			}
			if got := Broadcast(p); got != wantLast {
				t.Errorf("Broadcast(%s) = %s, want %s", p, got, wantLast)
			}
			for _, q := range probes {
				b := netip.MustParseAddr(q)
				want := b.BitLen() == a.BitLen() && ipnet.Contains(net.IP(b.AsSlice()))
				if got := Contains(p, b); got != want {
					t.Errorf("Contains(%s, %s) = %v, want %v", p, b, got, want)
				}
			}
		}
	}
}
