package convert

import (
	"fmt"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/linx-net/linx/actors/rtnlsource"
	"github.com/linx-net/linx/config"
	"github.com/linx-net/linx/messages"
)

// SpawnFromConfig returns the SpawnScope message that starts the
// configured scope s: its name, namespace, interval, route protocol,
// monitor buffer and desired state (through rtnlsource.DesiredToProto). A zero Interval or Protocol is
// left unset, so that the agent's defaults apply. It returns
// rtnlsource.DesiredToProto's error, prefixed with the scope's name, and no message.
func SpawnFromConfig(s config.Scope) (*messages.SpawnScope, error) {
	d, err := rtnlsource.DesiredToProto(s.Desired)
	if err != nil {
		return nil, fmt.Errorf("scope %q: %w", s.Name, err)
	}
	m := &messages.SpawnScope{
		Name:      s.Name,
		Namespace: rtnlsource.NamespaceToProto(s.Namespace),
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
