package rtnlsource

import (
	"strings"
	"testing"

	"github.com/linx-net/linx/actors/supervisor"
	"github.com/linx-net/linx/rtnl"
)

// A scope may not own another writer's protocol (a number above 255 is
// refused where a message is converted: api/convert.SpecFromProto).
func TestFactoryRefusesProtocols(t *testing.T) {
	f := Factory("")
	for proto, want := range map[rtnl.Protocol]string{
		2:   "protocol 2 (kernel) belongs to another writer",
		186: "protocol 186 (bgp) belongs to another writer",
	} {
		_, err := f(supervisor.Spec{Name: "a", Source: Settings{Protocol: proto}})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("protocol %d: %v, want %q", proto, err, want)
		}
	}
	if _, err := f(supervisor.Spec{Name: "a", Source: Settings{Protocol: 77}}); err != nil {
		t.Errorf("protocol 77: %v", err)
	}
}
