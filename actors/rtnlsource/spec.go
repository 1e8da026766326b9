package rtnlsource

import (
	"fmt"

	"github.com/linx-net/linx/actors/supervisor"
	"github.com/linx-net/linx/messages"
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

// SpecFromProto converts a SpawnScope message into the supervisor.Spec
// it describes, for supervisor.Config.Spec: its namespace, its desired
// state as a reconcile.Desired (not yet validated: the node validates it
// once, as it accepts the spawn), its loop settings and its Settings. It
// fails on a namespace the message cannot name, a protocol above 255, or a
// desired state that does not parse, listing every problem at once.
func SpecFromProto(m *messages.SpawnScope) (supervisor.Spec, error) {
	ns, err := NamespaceFromProto(m.GetNamespace())
	if err != nil {
		return supervisor.Spec{}, err
	}
	// The message carries a uint32: a value above 255 must not wrap onto
	// (and then own) another protocol's routes.
	if p := m.GetProtocol(); p > 255 {
		return supervisor.Spec{}, fmt.Errorf("scope %q: protocol %d out of range (1 to 255)", m.GetName(), p)
	}
	d, err := desiredFromProto(m.GetDesired())
	if err != nil {
		return supervisor.Spec{}, fmt.Errorf("desired state: %w", err)
	}
	spec := supervisor.MessageSpec(m, d)
	spec.Namespace = ns
	spec.Source = Settings{
		Protocol:      rtnl.Protocol(m.GetProtocol()),
		AdoptProtocol: m.GetAdoptProtocol(),
		NoRoutes:      m.GetOptions().GetNoRoutes(),
		MonitorBuffer: int(m.GetOptions().GetMonitorBuffer()),
	}
	return spec, nil
}

// DesiredForNode converts the desired state of an UpdateDesired message
// into a reconcile.Desired (as any), for supervisor.Config.Desired. Unlike
// DesiredFromProto it does not validate it: the node validates a desired
// state once, as it accepts it. It fails, listing every problem at once,
// on a value that does not parse.
func DesiredForNode(m *messages.Desired) (any, error) {
	d, err := desiredFromProto(m)
	if err != nil {
		return nil, err
	}
	return d, nil
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
