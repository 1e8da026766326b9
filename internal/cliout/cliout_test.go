package cliout

import (
	"bytes"
	"encoding/json"
	"net"
	"net/netip"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/linx-net/linx/rtnl"
)

var testNames = Names{1: "lo", 2: "veth0", 3: "br0"}

func mustMAC(t *testing.T, s string) net.HardwareAddr {
	t.Helper()
	m, err := net.ParseMAC(s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// render writes rows as JSON and decodes them back as generic objects.
func render[R Row](t *testing.T, rows []R) []map[string]any {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, FormatJSON, rows); err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	if err := json.Unmarshal(buf.Bytes(), &out); err != nil {
		t.Fatalf("output is not a JSON array of objects: %v\n%s", err, buf.String())
	}
	if len(out) != len(rows) {
		t.Fatalf("got %d objects, want %d", len(out), len(rows))
	}
	return out
}

// table writes rows as a table and returns its lines.
func table[R Row](t *testing.T, rows []R) []string {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, FormatTable, rows); err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
}

func keys(m map[string]any) []string {
	var k []string
	for key := range m {
		k = append(k, key)
	}
	sort.Strings(k)
	return k
}

// wantKeys fails unless every key of want is in m with that value; a nil
// value in want requires a JSON null.
func wantKeys(t *testing.T, what string, m map[string]any, want map[string]any) {
	t.Helper()
	for k, v := range want {
		got, ok := m[k]
		if !ok {
			t.Errorf("%s: key %q missing (have %v)", what, k, keys(m))
			continue
		}
		if !reflect.DeepEqual(got, v) {
			t.Errorf("%s: %s = %#v, want %#v", what, k, got, v)
		}
	}
}

func absent(t *testing.T, what string, m map[string]any, ks ...string) {
	t.Helper()
	for _, k := range ks {
		if v, ok := m[k]; ok {
			t.Errorf("%s: key %q present (%#v), want it absent", what, k, v)
		}
	}
}

func TestParseFormat(t *testing.T) {
	for s, want := range map[string]Format{"table": FormatTable, "json": FormatJSON, "yaml": FormatYAML} {
		f, err := ParseFormat(s)
		if err != nil || f != want || f.String() != s {
			t.Errorf("ParseFormat(%q) = %v, %v; want %v", s, f, err, want)
		}
	}
	for _, s := range []string{"", "JSON", "yml"} {
		if _, err := ParseFormat(s); err == nil || !strings.Contains(err.Error(), `"`+s+`"`) {
			t.Errorf("ParseFormat(%q) error = %v, want one quoting the input", s, err)
		}
	}
}

func TestNames(t *testing.T) {
	n := NamesOf([]rtnl.Link{{Index: 1, Name: "lo"}, {Index: 7, Name: "br0"}})
	for idx, want := range map[int]string{0: "", 1: "lo", 7: "br0", 9: "9"} {
		if got := n.Name(idx); got != want {
			t.Errorf("Name(%d) = %q, want %q", idx, got, want)
		}
	}
	var zero Names
	if got := zero.Name(3); got != "3" {
		t.Errorf("nil Names: Name(3) = %q, want 3", got)
	}
}

func TestTableName(t *testing.T) {
	for id, want := range map[uint32]string{254: "main", 255: "local", 253: "default", 100: "100", 1000: "1000"} {
		if got := TableName(id); got != want {
			t.Errorf("TableName(%d) = %q, want %q", id, got, want)
		}
	}
}

func TestWriteEmpty(t *testing.T) {
	var buf bytes.Buffer
	if err := Write[LinkView](&buf, FormatJSON, nil); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(buf.String()); got != "[]" {
		t.Errorf("empty JSON = %q, want []", got)
	}
	lines := table[RouteView](t, nil)
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "DST") {
		t.Errorf("empty table = %q, want the header line only", lines)
	}
}

func testLinks(t *testing.T) []rtnl.Link {
	return []rtnl.Link{
		{Index: 1, Name: "lo", MTU: 65536, Flags: net.FlagUp | net.FlagLoopback, HardwareAddr: make(net.HardwareAddr, 6), OperState: rtnl.OperUnknown},
		{Index: 2, Name: "veth0", Kind: "veth", MTU: 1500, Flags: net.FlagUp | net.FlagBroadcast, HardwareAddr: mustMAC(t, "02:aa:bb:cc:dd:ee"), MasterIndex: 3, OperState: rtnl.OperUp},
		{Index: 3, Name: "br0", Kind: "bridge", MTU: 1500, OperState: rtnl.OperDown},
		{Index: 4, Name: "mv0", Kind: "macvlan", MTU: 1500, ParentIndex: 2, OperState: rtnl.OperDown},
		// A veth whose peer is index 4 of the namespace of id 0 (a valid id).
		{Index: 5, Name: "ve1", Kind: "veth", MTU: 1500, ParentIndex: 4, ParentElsewhere: true, OperState: rtnl.OperDown},
		{Index: 6, Name: "ve2", Kind: "veth", MTU: 1500, ParentIndex: 6, ParentElsewhere: true, ParentNamespaceID: 7, OperState: rtnl.OperDown},
	}
}

func TestLinksJSON(t *testing.T) {
	out := render(t, Links(testLinks(t), testNames))
	wantKeys(t, "lo", out[0], map[string]any{
		"index": 1.0, "name": "lo", "kind": "", "mtu": 65536.0, "up": true,
		"mac": "00:00:00:00:00:00", "master": nil, "operstate": "UNKNOWN",
	})
	wantKeys(t, "veth0", out[1], map[string]any{
		"index": 2.0, "name": "veth0", "kind": "veth", "mtu": 1500.0, "up": true,
		"mac": "02:aa:bb:cc:dd:ee", "master": "br0", "master_index": 3.0,
		"flags": []any{"UP", "BROADCAST"},
	})
	wantKeys(t, "br0", out[2], map[string]any{"up": false, "mac": nil, "master": nil, "flags": []any{}})
	absent(t, "br0", out[2], "parent_index", "link_netnsid")
	wantKeys(t, "mv0", out[3], map[string]any{"parent_index": 2.0})
	absent(t, "mv0", out[3], "link_netnsid")
	wantKeys(t, "ve1", out[4], map[string]any{"parent_index": 4.0, "link_netnsid": 0.0})
	wantKeys(t, "ve2", out[5], map[string]any{"parent_index": 6.0, "link_netnsid": 7.0})
}

// A LinkView made without Links still shows its parent: by index.
func TestLinkViewParentCell(t *testing.T) {
	for _, tc := range []struct {
		v    LinkView
		want string
	}{
		{LinkView{}, ""},
		{LinkView{ParentIndex: 9}, "9"},
		{Links([]rtnl.Link{{Index: 3, ParentIndex: 1}}, testNames)[0], "lo"},
		{Links([]rtnl.Link{{Index: 3, ParentIndex: 1, ParentElsewhere: true, ParentNamespaceID: -1}}, testNames)[0], "if1@nsid-1"},
	} {
		c := tc.v.Cells()
		if got := c[len(c)-1]; got != tc.want {
			t.Errorf("PARENT of %+v = %q, want %q", tc.v, got, tc.want)
		}
	}
}

func TestLinksTable(t *testing.T) {
	got := table(t, Links(testLinks(t), testNames))
	want := []string{
		"INDEX  NAME   KIND     STATE  OPER     MTU    MAC                MASTER  PARENT",
		"1      lo     -        UP     UNKNOWN  65536  00:00:00:00:00:00  -       -",
		"2      veth0  veth     UP     UP       1500   02:aa:bb:cc:dd:ee  br0     -",
		"3      br0    bridge   DOWN   DOWN     1500   -                  -       -",
		"4      mv0    macvlan  DOWN   DOWN     1500   -                  -       veth0",
		"5      ve1    veth     DOWN   DOWN     1500   -                  -       if4@nsid0",
		"6      ve2    veth     DOWN   DOWN     1500   -                  -       if6@nsid7",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("table:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestAddresses(t *testing.T) {
	addrs := []rtnl.Address{
		{Index: 2, Prefix: netip.MustParsePrefix("10.0.0.1/24"), Broadcast: netip.MustParseAddr("10.0.0.255"), Scope: rtnl.ScopeUniverse, Label: "veth0"},
		{Index: 2, Prefix: netip.MustParsePrefix("fd00::1/64"), Scope: rtnl.ScopeUniverse, Flags: 0x282, Protocol: 76},
		{Index: 9, Prefix: netip.MustParsePrefix("10.9.0.1/32"), Peer: netip.MustParseAddr("10.9.0.2"), Scope: rtnl.ScopeLink},
	}
	v := Addresses(addrs, testNames)
	out := render(t, v)
	wantKeys(t, "v4", out[0], map[string]any{"ifindex": 2.0, "ifname": "veth0", "address": "10.0.0.1/24", "family": "inet", "scope": "global", "broadcast": "10.0.0.255"})
	wantKeys(t, "v6", out[1], map[string]any{"ifindex": 2.0, "address": "fd00::1/64", "family": "inet6", "protocol": 76.0})
	absent(t, "v6", out[1], "peer", "broadcast", "label")
	if names, _ := out[1]["flag_names"].([]any); len(names) != 3 || names[0] != "nodad" || names[1] != "permanent" || names[2] != "noprefixroute" {
		t.Errorf("v6 flag_names = %v, want nodad, permanent, noprefixroute", out[1]["flag_names"])
	}
	wantKeys(t, "p2p", out[2], map[string]any{"ifname": "9", "peer": "10.9.0.2"})

	got := table(t, v)
	want := []string{
		"IFINDEX  DEV    FAMILY  ADDRESS                  SCOPE  FLAGS                         PROTO",
		"2        veth0  inet    10.0.0.1/24              global  -                             unspec",
		"2        veth0  inet6   fd00::1/64               global  nodad,permanent,noprefixroute  76",
		"9        9      inet    10.9.0.1/32 peer 10.9.0.2  link  -                             unspec",
	}
	// The last line is wider than the others in the ADDRESS column, so
	// compare the cells rather than the padding.
	for i := range want {
		if strings.Join(strings.Fields(got[i]), " ") != strings.Join(strings.Fields(want[i]), " ") {
			t.Errorf("line %d = %q, want %q", i, got[i], want[i])
		}
	}
}

func TestRoutes(t *testing.T) {
	routes := []rtnl.Route{
		{Dst: netip.MustParsePrefix("0.0.0.0/0"), Gateway: netip.MustParseAddr("10.0.0.254"), OIF: 2, Table: 254, Protocol: rtnl.ProtocolBoot, Type: rtnl.RouteTypeUnicast},
		{Dst: netip.MustParsePrefix("10.1.0.0/16"), OIF: 2, Table: 100, Protocol: rtnl.ProtocolStatic, Metric: 50, Type: rtnl.RouteTypeUnicast, Scope: rtnl.ScopeLink, Src: netip.MustParseAddr("10.0.0.1")},
		{Dst: netip.MustParsePrefix("::/0"), Gateway: netip.MustParseAddr("fd00::ff"), OIF: 2, Table: 1000, Protocol: 76, Metric: 1024, Type: rtnl.RouteTypeUnicast},
		{Dst: netip.MustParsePrefix("192.0.2.0/24"), Table: 254, Type: rtnl.RouteTypeBlackhole, Protocol: rtnl.ProtocolStatic},
		{Dst: netip.MustParsePrefix("10.2.0.0/16"), Table: 254, Type: rtnl.RouteTypeUnicast, NextHops: []rtnl.NextHop{
			{Gateway: netip.MustParseAddr("10.0.0.2"), OIF: 2, Weight: 1}, {Gateway: netip.MustParseAddr("10.0.0.3"), OIF: 2, Weight: 2}}},
	}
	v := Routes(routes, testNames)
	out := render(t, v)
	wantKeys(t, "default4", out[0], map[string]any{"dst": "0.0.0.0/0", "gateway": "10.0.0.254", "oif": 2.0, "dev": "veth0", "table": 254.0, "protocol": 3.0, "metric": 0.0, "family": "inet", "type": "unicast", "scope": "global"})
	wantKeys(t, "table100", out[1], map[string]any{"dst": "10.1.0.0/16", "table": 100.0, "protocol": 4.0, "metric": 50.0, "scope": "link", "prefsrc": "10.0.0.1"})
	absent(t, "table100", out[1], "gateway")
	wantKeys(t, "default6", out[2], map[string]any{"dst": "::/0", "gateway": "fd00::ff", "table": 1000.0, "protocol": 76.0, "family": "inet6"})
	wantKeys(t, "blackhole", out[3], map[string]any{"type": "blackhole", "oif": 0.0})
	absent(t, "blackhole", out[3], "gateway", "dev")
	wantKeys(t, "multipath", out[4], map[string]any{"nexthops": []any{
		map[string]any{"gateway": "10.0.0.2", "oif": 2.0, "dev": "veth0", "weight": 1.0},
		map[string]any{"gateway": "10.0.0.3", "oif": 2.0, "dev": "veth0", "weight": 2.0},
	}})

	got := table(t, v)
	want := []string{
		"DST           GATEWAY                            DEV    TABLE  PROTO   METRIC  TYPE       SCOPE",
		"default       10.0.0.254                         veth0  main   boot    0       unicast    global",
		"10.1.0.0/16   -                                  veth0  100    static  50      unicast    link",
		"default       fd00::ff                           veth0  1000   76      1024    unicast    global",
		"192.0.2.0/24  -                                  -      main   static  0       blackhole  global",
		"10.2.0.0/16   10.0.0.2@veth0*1,10.0.0.3@veth0*2  -      main   unspec  0       unicast    global",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("table:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestNeighbours(t *testing.T) {
	neighs := []rtnl.Neighbour{
		{Index: 2, IP: netip.MustParseAddr("10.0.0.9"), HardwareAddr: mustMAC(t, "02:00:00:00:00:09"), State: rtnl.NeighPermanent, Protocol: 76},
		{Index: 2, IP: netip.MustParseAddr("fd00::9"), State: rtnl.NeighFailed},
	}
	v := Neighbours(neighs, testNames)
	out := render(t, v)
	wantKeys(t, "v4", out[0], map[string]any{"ifindex": 2.0, "ip": "10.0.0.9", "mac": "02:00:00:00:00:09", "state": "PERMANENT", "family": "inet", "ifname": "veth0", "protocol": 76.0})
	wantKeys(t, "v6", out[1], map[string]any{"ip": "fd00::9", "mac": nil, "state": "FAILED", "family": "inet6", "protocol": 0.0})
	got := table(t, v)
	want := []string{
		"IP        DEV    MAC                STATE      PROTO",
		"10.0.0.9  veth0  02:00:00:00:00:09  PERMANENT  76",
		"fd00::9   veth0  -                  FAILED     unspec",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("table:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestRules(t *testing.T) {
	rules := []rtnl.Rule{
		{Family: rtnl.FamilyV4, Priority: 0, Table: 255, Action: rtnl.RuleToTable},
		{Family: rtnl.FamilyV4, Priority: 100, Table: 100, From: netip.MustParsePrefix("10.0.0.0/24"), Action: rtnl.RuleToTable},
		{Family: rtnl.FamilyV6, Priority: 200, Table: 1000, To: netip.MustParsePrefix("fd00:1::/64"), FwMark: 0x10, FwMask: 0xff, Action: rtnl.RuleToTable},
		{Family: rtnl.FamilyV4, Priority: 300, Action: rtnl.RuleBlackhole, IIF: "veth0", Invert: true},
	}
	v := Rules(rules)
	out := render(t, v)
	wantKeys(t, "local", out[0], map[string]any{"priority": 0.0, "table": 255.0, "family": "inet", "fwmark": 0.0, "fwmask": 0.0})
	absent(t, "local", out[0], "from", "to")
	wantKeys(t, "from", out[1], map[string]any{"priority": 100.0, "table": 100.0, "from": "10.0.0.0/24"})
	absent(t, "from", out[1], "to")
	wantKeys(t, "v6", out[2], map[string]any{"family": "inet6", "to": "fd00:1::/64", "fwmark": 16.0, "fwmask": 255.0, "table": 1000.0})
	absent(t, "v6", out[2], "from")
	wantKeys(t, "blackhole", out[3], map[string]any{"action": "blackhole", "iif": "veth0", "invert": true})

	got := table(t, v)
	want := []string{
		"PRIORITY  FAMILY  FROM         TO           FWMARK     IIF    OIF  ACTION",
		"0         inet    all          all          -          -      -    lookup local",
		"100       inet    10.0.0.0/24  all          -          -      -    lookup 100",
		"200       inet6   all          fd00:1::/64  0x10/0xff  -      -    lookup 1000",
		"300       inet    not all      all          -          veth0  -    blackhole",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("table:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// statsKeys are the field names of struct rtnl_link_stats64, in the
// kernel's order (include/uapi/linux/if_link.h).
var statsKeys = []string{
	"rx_packets", "tx_packets", "rx_bytes", "tx_bytes", "rx_errors", "tx_errors",
	"rx_dropped", "tx_dropped", "multicast", "collisions", "rx_length_errors",
	"rx_over_errors", "rx_crc_errors", "rx_frame_errors", "rx_fifo_errors",
	"rx_missed_errors", "tx_aborted_errors", "tx_carrier_errors", "tx_fifo_errors",
	"tx_heartbeat_errors", "tx_window_errors", "rx_compressed", "tx_compressed",
	"rx_nohandler", "rx_otherhost_dropped",
}

func TestStats(t *testing.T) {
	st := rtnl.Stats{Index: 2, Name: "veth0", Link: rtnl.LinkStats64{
		RxPackets: 128431, RxBytes: 189204771, TxPackets: 85912, TxBytes: 12504331,
		RxDropped: 3, RxNoHandler: 24, RxOtherhostDropped: 25,
	}}
	v := AllStats([]rtnl.Stats{st})
	out := render(t, v)
	wantKeys(t, "stats", out[0], map[string]any{"ifindex": 2.0, "name": "veth0"})
	link, ok := out[0]["link"].(map[string]any)
	if !ok {
		t.Fatalf("link = %#v, want an object", out[0]["link"])
	}
	if got := keys(link); len(got) != 25 {
		t.Errorf("link has %d keys, want 25: %v", len(got), got)
	}
	for _, k := range statsKeys {
		if _, ok := link[k]; !ok {
			t.Errorf("link: key %q missing", k)
		}
	}
	wantKeys(t, "link", link, map[string]any{"rx_packets": 128431.0, "rx_bytes": 189204771.0, "tx_packets": 85912.0,
		"tx_bytes": 12504331.0, "rx_dropped": 3.0, "rx_nohandler": 24.0, "rx_otherhost_dropped": 25.0})

	got := table(t, v)
	want := []string{
		"IFINDEX  NAME   RX_PACKETS  RX_BYTES   RX_ERRORS  RX_DROPPED  TX_PACKETS  TX_BYTES  TX_ERRORS  TX_DROPPED",
		"2        veth0  128431      189204771  0          3           85912       12504331  0          0",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("table:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
