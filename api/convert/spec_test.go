package convert_test

import (
	"testing"
	"time"

	"github.com/linx-net/linx/actors/rtnlsource"
	"github.com/linx-net/linx/actors/supervisor"
	"github.com/linx-net/linx/api/convert"
	"github.com/linx-net/linx/config"
	"github.com/linx-net/linx/reconcile"
	"github.com/linx-net/linx/rtnl"
)

// TestSpecFromConfig: a configured scope becomes its Spec directly, and
// the same scope sent as a message (SpawnFromConfig, then SpecFromProto,
// as the agent converts one that arrives) becomes the same Spec.
func TestSpecFromConfig(t *testing.T) {
	cfg, err := config.Parse("test.yaml", []byte(`
scopes:
  - name: web
    netns: pid:4242
    interval: 5s
    protocol: 77
    adopt_protocol: true
    monitor_buffer: 1MiB
    desired:
      links:
        - {name: br0, kind: bridge, up: true}
      addresses:
        - {link: br0, address: 10.0.42.1/24}
      routes:
        - {dst: default, via: 10.0.42.254}
`))
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Scopes[0]
	spec := convert.SpecFromConfig(s)
	wantSettings := rtnlsource.Settings{Protocol: 77, AdoptProtocol: true, MonitorBuffer: 1 << 20}
	if spec.Name != "web" || spec.Namespace != rtnl.NamespaceOfPID(4242) ||
		spec.Loop != (supervisor.Loop{Interval: 5 * time.Second}) || spec.Source != wantSettings {
		t.Fatalf("SpecFromConfig = %+v", spec)
	}
	if !same(spec.Desired.(reconcile.Desired), s.Desired) {
		t.Fatalf("desired state = %+v, want %+v", spec.Desired, s.Desired)
	}
	m, err := convert.SpawnFromConfig(s)
	if err != nil {
		t.Fatal(err)
	}
	viaProto, err := convert.SpecFromProto(m)
	if err != nil {
		t.Fatal(err)
	}
	if viaProto.Name != spec.Name || viaProto.Namespace != spec.Namespace || viaProto.Loop != spec.Loop || viaProto.Source != spec.Source ||
		!same(viaProto.Desired.(reconcile.Desired), spec.Desired.(reconcile.Desired)) {
		t.Fatalf("through the message: %+v, directly: %+v", viaProto, spec)
	}
}
