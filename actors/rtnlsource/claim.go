package rtnlsource

import (
	"fmt"

	"github.com/linx-net/linx/actors/supervisor"
	"github.com/linx-net/linx/messages"
	"github.com/linx-net/linx/reconcile"
	"github.com/linx-net/linx/rtnl"
)

// Claim is a supervisor.Config.Claim for scopes of this package: the
// route protocols a scope of spec owns (its own, 76 when unset, and every
// protocol a desired route overrides it with) in the namespace spec names,
// identified by device and inode so that every name of one namespace
// (host, pid:N, a path) compares equal. d is the desired state as
// DesiredFromProto converted it; nil claims the scope's own protocol only.
// A scope with options.no_routes claims none.
// It fails when the namespace does not exist or is not one.
func Claim(spec *messages.SpawnScope, d any) (supervisor.Claim, error) {
	ns, err := NamespaceFromProto(spec.GetNamespace())
	if err != nil {
		return supervisor.Claim{}, err
	}
	id, err := ns.ID()
	if err != nil {
		return supervisor.Claim{}, fmt.Errorf("scope %q: %w", spec.GetName(), err)
	}
	var desired reconcile.Desired
	switch v := d.(type) {
	case reconcile.Desired:
		desired = v
	case *reconcile.Desired:
		if v != nil {
			desired = *v
		}
	}
	own := spec.GetProtocol()
	if own > 255 {
		return supervisor.Claim{}, fmt.Errorf("scope %q: protocol %d out of range (1 to 255)", spec.GetName(), own)
	}
	protos := desired.Protocols(rtnl.Protocol(own))
	if spec.GetOptions().GetNoRoutes() {
		protos = nil // it lists and touches no route: it owns none
	}
	c := supervisor.Claim{Namespace: fmt.Sprintf("%d:%d", id.Dev, id.Inode), Protocols: make([]uint8, len(protos))}
	for i, p := range protos {
		c.Protocols[i] = uint8(p)
	}
	return c, nil
}
