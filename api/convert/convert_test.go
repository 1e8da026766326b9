package convert_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/linx-net/linx/api/convert"
	"github.com/linx-net/linx/config"
	"github.com/linx-net/linx/rtnl"
)

// TestSpawnFromConfig converts every scope of a configuration that uses
// each kind of entry and checks that the agent would run what the file
// says.
func TestSpawnFromConfig(t *testing.T) {
	cfg, err := config.Parse("test.yaml", []byte(`
scopes:
  - name: all
    netns: pid:4242
    interval: 5s
    protocol: 77
    monitor_buffer: 16MiB
    desired:
      links:
        - {name: v0, kind: veth, peer: v1, up: true, mtu: 1400, mac: "02:00:00:00:00:01"}
        - {name: mv0, kind: macvtap, parent: v0, mode: private}
        - {name: iv0, kind: ipvlan, parent: v0, mode: l3s}
        - {name: vl0, kind: vlan, parent: v0, id: 42, master: br0}
        - {name: br0, kind: bridge}
        - {name: vx0, kind: vxlan, vni: 7, port: 4789, local: 10.0.0.1, group: 239.1.1.1}
      addresses:
        - {link: br0, address: 10.0.42.1/24}
      routes:
        - {dst: default, via: 10.0.42.254, src: 10.0.42.1, table: 100, metric: 5, protocol: 78}
        - {dst: 192.0.2.0/24, type: blackhole}
      neighbours:
        - {link: br0, ip: 10.0.42.7, mac: "02:aa:bb:cc:dd:ee"}
      rules:
        - {priority: 100, table: 100, from: 10.0.42.0/24, iif: br0, oif: vx0, fwmark: 1, fwmask: 3}
  - name: plain
    netns: path:/var/run/netns/plain
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range cfg.Scopes {
		m, err := convert.SpawnFromConfig(s)
		if err != nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
		if m.GetName() != s.Name || m.GetProtocol() != uint32(s.Protocol) || m.GetInterval().AsDuration() != s.Interval ||
			m.GetOptions().GetMonitorBuffer() != uint32(s.MonitorBuffer) {
			t.Errorf("%s: spawn message %v", s.Name, m)
		}
		ns, err := convert.NamespaceFromProto(m.GetNamespace())
		if err != nil || ns != s.Namespace {
			t.Errorf("%s: namespace %v, %v; want %v", s.Name, ns, err, s.Namespace)
		}
		d, err := convert.DesiredFromProto(m.GetDesired())
		if err != nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
		if !reflect.DeepEqual(d, s.Desired) {
			t.Errorf("%s: desired\n got %+v\nwant %+v", s.Name, d, s.Desired)
		}
	}
	if s := cfg.Scopes[0]; s.Interval != 5*time.Second || s.Desired.Routes[1].Type != rtnl.RouteTypeBlackhole {
		t.Errorf("the configuration did not parse as the test expects: %+v", s)
	}
}
