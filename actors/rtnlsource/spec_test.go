package rtnlsource_test

import (
	"errors"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/linx-net/linx/actors/rtnlsource"
	"github.com/linx-net/linx/actors/supervisor"
	"github.com/linx-net/linx/api/convert"
	"github.com/linx-net/linx/messages"
	"github.com/linx-net/linx/reconcile"
	"github.com/linx-net/linx/rtnl"
)

// SpecFromProto converts a message once, without validating its desired
// state; Check validates it, refusing an invalid one with the
// *reconcile.InvalidError and returning a valid one as a
// reconcile.Validated.
func TestSpecFromProtoThenCheck(t *testing.T) {
	m := &messages.SpawnScope{
		Name:          "s",
		Namespace:     &messages.Namespace{Kind: &messages.Namespace_Pid{Pid: 42}},
		Protocol:      77,
		AdoptProtocol: true,
		Interval:      durationpb.New(time.Minute),
		Options:       &messages.ScopeOptions{NoRoutes: true, MonitorBuffer: 4096, Burst: 5},
		Desired:       &messages.Desired{Links: []*messages.Link{{Name: "x0", Kind: "nosuchkind"}}},
	}
	spec, err := convert.SpecFromProto(m)
	if err != nil {
		t.Fatal(err)
	}
	want := rtnlsource.Settings{Protocol: 77, AdoptProtocol: true, NoRoutes: true, MonitorBuffer: 4096}
	if spec.Name != "s" || spec.Namespace != rtnl.NamespaceOfPID(42) || spec.Source != want ||
		spec.Loop != (supervisor.Loop{Interval: time.Minute, Burst: 5}) {
		t.Fatalf("SpecFromProto = %+v", spec)
	}
	var inv *reconcile.InvalidError
	if _, err := rtnlsource.Check(spec.Desired); !errors.As(err, &inv) {
		t.Fatalf("Check of an unknown kind = %v, want an *InvalidError", err)
	}
	v, err := rtnlsource.Check(reconcile.Desired{Links: []reconcile.Link{{Name: "x0", Kind: "bridge"}}})
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := v.(reconcile.Validated); !ok || d.Desired().Links[0].Name != "x0" {
		t.Fatalf("Check = %#v, want a reconcile.Validated", v)
	}
	if _, err := rtnlsource.Check("not a desired state"); err == nil {
		t.Fatal("Check of a string succeeded")
	}
	if _, err := convert.SpecFromProto(&messages.SpawnScope{Name: "p", Protocol: 300}); err == nil {
		t.Fatal("SpecFromProto took protocol 300")
	}
}
