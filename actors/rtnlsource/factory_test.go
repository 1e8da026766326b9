package rtnlsource

import (
	"strings"
	"testing"

	"github.com/linx-net/linx/actors/supervisor"
	"github.com/linx-net/linx/messages"
)

// A remote spawn may not own another writer's protocol, nor wrap a
// number above 255 onto one.
func TestFactoryRefusesProtocols(t *testing.T) {
	f := Factory("")
	for proto, want := range map[uint32]string{
		332: "protocol 332 out of range",
		2:   "protocol 2 (kernel) belongs to another writer",
		186: "protocol 186 (bgp) belongs to another writer",
	} {
		spec, err := SpecFromProto(&messages.SpawnScope{Name: "a", Protocol: proto})
		if err == nil {
			_, err = f(spec)
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("protocol %d: %v, want %q", proto, err, want)
		}
	}
	if _, err := f(supervisor.Spec{Name: "a", Source: Settings{Protocol: 77}}); err != nil {
		t.Errorf("protocol 77: %v", err)
	}
}
