package rtnlsource

import (
	"fmt"

	"github.com/linx-net/linx/actors/supervisor"
	"github.com/linx-net/linx/reconcile"
	"github.com/linx-net/linx/rtnl"
)

// Settings is the rtnetlink-specific part of a scope, carried in
// supervisor.Spec.Source and read by Factory and Claim. The zero value
// (and a nil Spec.Source) is the defaults: routes marked with
// reconcile.DefaultProtocol, no adoption, routes managed, the monitor's
// default receive buffer.
type Settings struct {
	// Protocol marks the scope's routes; zero means
	// reconcile.DefaultProtocol. Factory refuses one that belongs to
	// another writer (see reconcile.CheckProtocol).
	Protocol rtnl.Protocol
	// AdoptProtocol lets the scope take over routes already marked with
	// its protocol that it did not create (see reconcile.CheckClaim).
	AdoptProtocol bool
	// NoRoutes makes the scope list and touch no route (nor nexthop).
	NoRoutes bool
	// MonitorBuffer is the event monitor's socket receive buffer in
	// bytes; zero keeps the monitor's default.
	MonitorBuffer int
}

// settingsOf returns spec's Settings: the zero Settings for a nil Source.
func settingsOf(spec supervisor.Spec) (Settings, error) {
	switch s := spec.Source.(type) {
	case nil:
		return Settings{}, nil
	case Settings:
		return s, nil
	case *Settings:
		if s == nil {
			return Settings{}, nil
		}
		return *s, nil
	}
	return Settings{}, fmt.Errorf("scope %q: Spec.Source is a %T, not an rtnlsource.Settings", spec.Name, spec.Source)
}

// desiredOf returns spec's desired state: a reconcile.Desired (or a
// pointer to one; nil is the empty state) or a reconcile.Validated.
func desiredOf(spec supervisor.Spec) (reconcile.Desired, error) {
	switch v := spec.Desired.(type) {
	case nil:
		return reconcile.Desired{}, nil
	case reconcile.Desired:
		return v, nil
	case *reconcile.Desired:
		if v == nil {
			return reconcile.Desired{}, nil
		}
		return *v, nil
	case reconcile.Validated:
		return v.Desired(), nil
	}
	return reconcile.Desired{}, fmt.Errorf("scope %q: Spec.Desired is a %T, not a reconcile.Desired", spec.Name, spec.Desired)
}

// Check is a supervisor.Config.Check for scopes of this package: it
// validates a desired state (a reconcile.Desired, a pointer to one, nil
// or a reconcile.Validated) once, as the node accepts a spawn or an
// update, and returns it as a reconcile.Validated, which the Source's
// passes run without validating again. It returns Validate's
// *reconcile.InvalidError, or an error for a value of another type.
func Check(desired any) (any, error) {
	if v, ok := desired.(reconcile.Validated); ok {
		return v, nil
	}
	d, err := desiredOf(supervisor.Spec{Desired: desired})
	if err != nil {
		return nil, err
	}
	return d.Validated()
}
