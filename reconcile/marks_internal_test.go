package reconcile

import (
	"testing"

	"github.com/linx-net/linx/diff"
	"github.com/linx-net/linx/rtnl"
)

// TestKernelMarks checks how a pass decides that the kernel keeps a kind's
// ownership mark: from the release that added the attribute, or from a
// listed object that carries a protocol.
func TestKernelMarks(t *testing.T) {
	tests := []struct {
		release string
		seen    diff.State
		want    diff.Marks
	}{
		{"6.18.0-1-amd64", diff.State{}, diff.Marks{Addresses: true, Neighbours: true, Rules: true}},
		{"6.1.0", diff.State{}, diff.Marks{Addresses: true, Neighbours: true, Rules: true}},
		{"6.0.19", diff.State{}, diff.Marks{Neighbours: true, Rules: true}},
		{"5.0.0-rc1", diff.State{}, diff.Marks{Neighbours: true, Rules: true}},
		{"4.19.0", diff.State{}, diff.Marks{Rules: true}},
		{"4.17.0", diff.State{}, diff.Marks{Rules: true}},
		{"4.14.300", diff.State{}, diff.Marks{}},
		{"3.10.0-1160.el7.x86_64", diff.State{}, diff.Marks{}},
		{"", diff.State{}, diff.Marks{}},
		{"garbage", diff.State{}, diff.Marks{}},
		// An older release, yet objects carry protocols: a backport.
		{"5.15.0", diff.State{Addresses: []rtnl.Address{{}, {Protocol: rtnl.AddressProtocolKernelLL}}},
			diff.Marks{Addresses: true, Neighbours: true, Rules: true}},
		{"4.9.0", diff.State{Neighbours: []rtnl.Neighbour{{Protocol: 76}}, Rules: []rtnl.Rule{{Protocol: 0}}},
			diff.Marks{Neighbours: true}},
		{"4.9.0", diff.State{Rules: []rtnl.Rule{{Protocol: rtnl.ProtocolKernel}}}, diff.Marks{Rules: true}},
	}
	for _, tt := range tests {
		if got := kernelMarks(tt.release, tt.seen); got != tt.want {
			t.Errorf("kernelMarks(%q, %+v) = %+v, want %+v", tt.release, tt.seen, got, tt.want)
		}
	}
	if r := kernelRelease(); parseRelease(r) == [2]int{} {
		t.Errorf("kernelRelease() = %q, which does not parse", r)
	}
}
