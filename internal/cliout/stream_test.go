package cliout

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"

	"github.com/linx-net/linx/rtnl"
)

// sampleRoutes returns n routes of varied shapes: multipath, nexthop
// objects, source prefixes, unnamed interfaces.
func sampleRoutes(n int) []rtnl.Route {
	out := make([]rtnl.Route, 0, n)
	for i := range n {
		r := rtnl.Route{
			Dst:      netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 32-i%9),
			OIF:      2 + i%3,
			Table:    uint32(250 + i%7),
			Protocol: rtnl.Protocol(i % 200),
			Metric:   uint32(i % 1000),
			Type:     rtnl.RouteType(1 + i%3),
			Scope:    rtnl.Scope(i % 2 * 253),
		}
		switch i % 5 {
		case 1:
			r.Gateway = netip.MustParseAddr("10.255.0.1")
			r.Src = netip.MustParseAddr("10.255.0.2")
		case 2:
			r.NextHops = []rtnl.NextHop{{Gateway: netip.MustParseAddr("10.1.1.1"), OIF: 2, Weight: 1}, {OIF: 7, Weight: 3}}
			r.OIF = 0
		case 3:
			r.Dst = netip.MustParsePrefix("fd00::/64")
			r.SrcPrefix = netip.MustParsePrefix("fd01::/48")
			r.NHID = uint32(i)
		}
		r.Dst = r.Dst.Masked()
		out = append(out, r)
	}
	return out
}

// Each appendJSON writes what json.Marshal writes, byte for byte.
func TestAppendJSONMatchesMarshal(t *testing.T) {
	names := Names{2: "eth0", 3: `we<ird>&"\`, 4: "ünï"}
	check := func(v any, got []byte) {
		t.Helper()
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("appendJSON:\n got %s\nwant %s", got, want)
		}
	}
	for _, v := range Routes(sampleRoutes(50), names) {
		check(v, v.appendJSON(nil))
	}
	mac := net.HardwareAddr{2, 0, 0, 0, 0, 1}
	for i, a := range []rtnl.Address{
		{Index: 2, Prefix: netip.MustParsePrefix("10.0.0.1/24"), Broadcast: netip.MustParseAddr("10.0.0.255"), Label: "eth0:1", Flags: 0x80},
		{Index: 3, Prefix: netip.MustParsePrefix("fd00::1/64"), Flags: 0x1001},
		{Index: 9, Prefix: netip.MustParsePrefix("10.9.0.1/32"), Peer: netip.MustParseAddr("10.9.0.2")},
	} {
		v := AddressOf(&a, names)
		check(v, v.appendJSON(nil))
		if i == 0 {
			v.FlagNames = nil
			check(v, v.appendJSON(nil))
		}
	}
	for _, n := range []rtnl.Neighbour{
		{Index: 2, IP: netip.MustParseAddr("10.0.0.9"), HardwareAddr: mac, State: rtnl.NeighReachable, Flags: 0x80},
		{Index: 4, IP: netip.MustParseAddr("fe80::1"), State: rtnl.NeighFailed},
	} {
		v := NeighbourOf(&n, names)
		check(v, v.appendJSON(nil))
	}
}

// streamed writes rows through a Stream in format f.
func streamed[R Row](t *testing.T, f Format, rows []R) string {
	t.Helper()
	var buf bytes.Buffer
	s := NewStream[R](&buf, f)
	for _, r := range rows {
		if err := s.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// Up to a screenful the streamed table is the buffered one, byte for
// byte; beyond it the columns keep the widths of the first screenful.
func TestStreamTable(t *testing.T) {
	for _, n := range []int{0, 1, 7, Screenful} {
		rows := Routes(sampleRoutes(n), Names{2: "eth0"})
		var want bytes.Buffer
		if err := Write(&want, FormatTable, rows); err != nil {
			t.Fatal(err)
		}
		if got := streamed(t, FormatTable, rows); got != want.String() {
			t.Errorf("%d rows: streamed table differs from the buffered one:\n%s\nwant\n%s", n, got, want.String())
		}
	}
	// A wide cell after the first screenful pushes its own line only.
	rows := Routes(sampleRoutes(Screenful+2), Names{2: "eth0"})
	rows[Screenful].Dev = "a-much-wider-device-name"
	lines := strings.Split(strings.TrimSuffix(streamed(t, FormatTable, rows), "\n"), "\n")
	if len(lines) != Screenful+3 {
		t.Fatalf("%d lines, want %d", len(lines), Screenful+3)
	}
	col := strings.Index(lines[0], "TABLE")
	if strings.Index(lines[Screenful+2], rows[Screenful+1].Cells()[3]+" ") != col {
		t.Errorf("row after the wide one lost its alignment:\n%s\n%s", lines[0], lines[Screenful+2])
	}
	if !strings.Contains(lines[Screenful+1], "a-much-wider-device-name  ") {
		t.Errorf("wide row: %q", lines[Screenful+1])
	}
}

// The streamed JSON and YAML decode to what the buffered JSON decodes to.
func TestStreamJSONAndYAML(t *testing.T) {
	for _, n := range []int{0, 1, 30} {
		rows := Routes(sampleRoutes(n), Names{2: "eth0"})
		var buf bytes.Buffer
		if err := Write(&buf, FormatJSON, rows); err != nil {
			t.Fatal(err)
		}
		var want, got, gotYAML []map[string]any
		if err := json.Unmarshal(buf.Bytes(), &want); err != nil {
			t.Fatal(err)
		}
		js := streamed(t, FormatJSON, rows)
		if err := json.Unmarshal([]byte(js), &got); err != nil {
			t.Fatalf("%d rows: streamed JSON: %v\n%s", n, err, js)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%d rows: streamed JSON decodes to\n%v\nwant\n%v", n, got, want)
		}
		ys := streamed(t, FormatYAML, rows)
		if err := yaml.UnmarshalWithOptions([]byte(ys), &gotYAML, yaml.UseJSONUnmarshaler()); err != nil {
			t.Fatalf("%d rows: YAML: %v\n%s", n, err, ys)
		}
		// YAML integers decode as uint64/int64: compare through JSON.
		j, _ := json.Marshal(gotYAML)
		gotYAML = nil
		_ = json.Unmarshal(j, &gotYAML)
		if len(gotYAML) != len(want) || (n > 0 && !reflect.DeepEqual(gotYAML, want)) {
			t.Errorf("%d rows: YAML decodes to\n%v\nwant\n%v\n%s", n, gotYAML, want, ys)
		}
	}
}

// failingWriter fails every write with err.
type failingWriter struct{ err error }

func (w failingWriter) Write([]byte) (int, error) { return 0, w.err }

func TestStreamWriteError(t *testing.T) {
	boom := errors.New("boom")
	s := NewStream[RouteView](failingWriter{boom}, FormatJSON)
	var err error
	for _, r := range Routes(sampleRoutes(5000), nil) {
		if err = s.Write(r); err != nil {
			break
		}
	}
	if err == nil {
		err = s.Close()
	}
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "writing") {
		t.Errorf("error = %v, want the writer's, wrapped", err)
	}
}
