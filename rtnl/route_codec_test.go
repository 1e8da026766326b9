package rtnl

import (
	"net/netip"
	"reflect"
	"testing"

	"golang.org/x/sys/unix"
)

// testEncodeRouteSource appends r's nexthop id and source prefix as the
// kernel sends them, the prefix length going into rtm_src_len.
func testEncodeRouteSource(e *encoder, r Route) {
	if r.NHID != 0 {
		e.u32(rtaNHID, r.NHID)
	}
	if r.SrcPrefix.IsValid() {
		e.b[e.msg+unix.NLMSG_HDRLEN+2] = uint8(r.SrcPrefix.Bits())
		e.addr(unix.RTA_SRC, r.SrcPrefix.Addr())
	}
}

var nhidRoutes = []Route{
	{Dst: netip.MustParsePrefix("172.16.0.0/16"), NHID: 5, Gateway: netip.MustParseAddr("10.0.0.2"), OIF: 3, Table: 254, Type: RouteTypeUnicast},
	{Dst: netip.MustParsePrefix("fd07::/64"), SrcPrefix: netip.MustParsePrefix("fd00::/64"), Gateway: netip.MustParseAddr("fd00::2"), OIF: 3, Table: 254, Metric: 1024, Type: RouteTypeUnicast},
	{Dst: netip.MustParsePrefix("fd08::/64"), SrcPrefix: netip.MustParsePrefix("::/0"), NHID: 6, Table: 1000, Type: RouteTypeUnicast},
}

// TestDecodeRouteSource decodes RTA_NH_ID and RTA_SRC with rtm_src_len.
func TestDecodeRouteSource(t *testing.T) {
	for _, want := range nhidRoutes {
		got, ok, err := DecodeRoute(testEncodeRoute(want))
		if err != nil || !ok || !reflect.DeepEqual(got, want) {
			t.Errorf("DecodeRoute = %v, %v, %v\nwant %v", got, ok, err, want)
		}
	}
	b := testEncodeRoute(nhidRoutes[1])
	b[2] = 129
	if _, _, err := DecodeRoute(b); err == nil {
		t.Error("a source prefix length of 129 decoded")
	}
}

// TestEncodeRouteNHID checks that a route with a nexthop id is sent with
// the id alone (the kernel refuses a gateway or interface beside it), and
// that the source prefix is sent with its length.
func TestEncodeRouteNHID(t *testing.T) {
	for _, r := range nhidRoutes {
		for _, typ := range []uint16{unix.RTM_NEWROUTE, unix.RTM_DELROUTE} {
			var e encoder
			if err := encodeRoute(&e, "test", typ, 0, &r); err != nil {
				t.Fatal(err)
			}
			got, ok, err := DecodeRoute(e.message()[unix.NLMSG_HDRLEN:])
			if err != nil || !ok {
				t.Fatalf("decoding what was sent for %v: %v", r, err)
			}
			if got.NHID != r.NHID || got.SrcPrefix != r.SrcPrefix {
				t.Errorf("sent nhid=%d from=%v, want %d %v", got.NHID, got.SrcPrefix, r.NHID, r.SrcPrefix)
			}
			if r.NHID != 0 && (got.Gateway.IsValid() || got.OIF != 0 || got.NextHops != nil || got.Flags != 0) {
				t.Errorf("route through nexthop %d sent with %v", r.NHID, got)
			}
			if r.NHID == 0 && (got.Gateway != r.Gateway || got.OIF != r.OIF) {
				t.Errorf("sent %v, want gateway and interface of %v", got, r)
			}
		}
	}
}
