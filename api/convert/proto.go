package convert

import (
	"errors"
	"fmt"

	"github.com/linx-net/linx/actors/rtnlsource"
	"github.com/linx-net/linx/actors/supervisor"
	"github.com/linx-net/linx/messages"
	"github.com/linx-net/linx/rtnl"
)

// SpecFromProto converts a SpawnScope message into the supervisor.Spec
// it describes, for supervisor.Config.Spec with rtnlsource's Factory, Check and Claim: its namespace, its desired
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
	spec.Source = rtnlsource.Settings{
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

// NamespaceFromProto returns the namespace m names (nil or host: the host),
// or an error for pid 0, an empty path or a kind it does not know.
func NamespaceFromProto(m *messages.Namespace) (rtnl.Namespace, error) {
	switch k := m.GetKind().(type) {
	case nil, *messages.Namespace_Host:
		return rtnl.Host(), nil
	case *messages.Namespace_Pid:
		if k.Pid == 0 {
			return rtnl.Host(), errors.New("namespace: pid 0")
		}
		return rtnl.NamespaceOfPID(int(k.Pid)), nil
	case *messages.Namespace_Path:
		if k.Path == "" {
			return rtnl.Host(), errors.New("namespace: empty path")
		}
		return rtnl.NamespaceAt(k.Path), nil
	}
	return rtnl.Host(), fmt.Errorf("namespace: unknown kind %T", m.GetKind())
}
