package convert

import (
	"fmt"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/linx-net/linx/actors/rtnlsource"
	"github.com/linx-net/linx/actors/supervisor"
	"github.com/linx-net/linx/config"
	"github.com/linx-net/linx/messages"
)

// SpawnFromConfig returns the SpawnScope message that starts the
// configured scope s: its name, namespace, interval, route protocol,
// monitor buffer and desired state (through DesiredToProto). A zero Interval or Protocol is
// left unset, so that the agent's defaults apply. It returns
// DesiredToProto's error, prefixed with the scope's name, and no message.
func SpawnFromConfig(s config.Scope) (*messages.SpawnScope, error) {
	d, err := DesiredToProto(s.Desired)
	if err != nil {
		return nil, fmt.Errorf("scope %q: %w", s.Name, err)
	}
	m := &messages.SpawnScope{
		Name:      s.Name,
		Namespace: NamespaceToProto(s.Namespace),
		Desired:   d,
		Protocol:  uint32(s.Protocol),

		AdoptProtocol: s.AdoptProtocol,
	}
	if s.Interval != 0 {
		m.Interval = durationpb.New(s.Interval)
	}
	if s.MonitorBuffer != 0 || s.NoRoutes {
		m.Options = &messages.ScopeOptions{MonitorBuffer: uint32(s.MonitorBuffer), NoRoutes: s.NoRoutes}
	}
	return m, nil
}

// SpecFromConfig returns the supervisor.Spec that starts the configured
// scope s, directly in Go types: its name, namespace, desired state,
// interval, and the rtnlsource.Settings of its route protocol, adoption,
// route management and monitor buffer. A zero Interval or Protocol is
// left zero, so that the agent's defaults apply. The desired state is not
// validated here: config.Parse has, and the node does once more as it
// accepts the spawn.
func SpecFromConfig(s config.Scope) supervisor.Spec {
	return supervisor.Spec{
		Name:      s.Name,
		Namespace: s.Namespace,
		Desired:   s.Desired,
		Loop:      supervisor.Loop{Interval: s.Interval},
		Source: rtnlsource.Settings{
			Protocol:      s.Protocol,
			AdoptProtocol: s.AdoptProtocol,
			NoRoutes:      s.NoRoutes,
			MonitorBuffer: s.MonitorBuffer,
		},
	}
}
