package rtnl

import (
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"
)

// BenchmarkDecodeRouteListing decodes route messages as a listing does,
// each into the next zeroed slot of a slice: the part of Routes that is
// not the kernel's, without the kernel.
func BenchmarkDecodeRouteListing(b *testing.B) {
	routes := []Route{
		{Dst: netip.MustParsePrefix("10.1.2.3/32"), Table: TableMain, Type: RouteTypeBlackhole, Protocol: ProtocolBoot},
		{Dst: netip.MustParsePrefix("10.1.0.0/16"), Gateway: netip.MustParseAddr("192.0.2.1"), OIF: 2, Metric: 100, Table: TableMain, Type: RouteTypeUnicast, Protocol: ProtocolStatic},
		{Dst: netip.MustParsePrefix("fd00:1::/64"), OIF: 2, Metric: 1024, Table: TableMain, Type: RouteTypeUnicast, Protocol: ProtocolKernel},
	}
	var msgs [][]byte
	for i := range routes {
		var e encoder
		if err := encodeRoute(&e, "bench", unix.RTM_NEWROUTE, 0, &routes[i]); err != nil {
			b.Fatal(err)
		}
		msgs = append(msgs, e.message()[unix.NLMSG_HDRLEN:])
	}
	const n = 4096
	out := make([]Route, n)
	b.ReportAllocs()
	for b.Loop() {
		clear(out)
		for i := range out {
			if ok, err := decodeRouteZeroed(msgs[i%len(msgs)], &out[i]); !ok || err != nil {
				b.Fatalf("decode: %v %v", ok, err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/route")
}
