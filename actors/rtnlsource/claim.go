package rtnlsource

import (
	"fmt"

	"github.com/linx-net/linx/actors/supervisor"
)

// Claim is a supervisor.Config.Claim for scopes of this package: the
// route protocols a scope of spec owns (its own, 76 when unset, and every
// protocol a desired route overrides it with) in the namespace spec names,
// identified by device and inode so that every name of one namespace
// (host, pid:N, a path) compares equal. spec.Desired is a
// reconcile.Desired (nil claims the scope's own protocol only) and
// spec.Source a Settings (nil means the defaults). A scope with
// Settings.NoRoutes claims none. It fails when the namespace does not
// exist (for a path: namespace not there yet, with an error wrapping
// source.ErrScopeAbsent) or is not one, or when spec holds values of other
// types.
func Claim(spec supervisor.Spec) (supervisor.Claim, error) {
	set, err := settingsOf(spec)
	if err != nil {
		return supervisor.Claim{}, err
	}
	desired, err := desiredOf(spec)
	if err != nil {
		return supervisor.Claim{}, err
	}
	id, err := spec.Namespace.ID()
	if err != nil {
		return supervisor.Claim{}, fmt.Errorf("scope %q: %w", spec.Name, absent(spec.Namespace, err))
	}
	protos := desired.Protocols(set.Protocol)
	if set.NoRoutes {
		protos = nil // it lists and touches no route: it owns none
	}
	c := supervisor.Claim{Namespace: fmt.Sprintf("%d:%d", id.Dev, id.Inode), Protocols: make([]uint8, len(protos))}
	for i, p := range protos {
		c.Protocols[i] = uint8(p)
	}
	return c, nil
}
