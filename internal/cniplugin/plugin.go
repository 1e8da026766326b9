package cniplugin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/containernetworking/cni/pkg/invoke"
	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	types100 "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/cni/pkg/version"

	"github.com/linx-net/linx/messages"
	"github.com/linx-net/linx/rtnl"
)

// Versions are the CNI spec versions linx-cni speaks.
var Versions = version.PluginSupports("0.4.0", "1.0.0", "1.1.0")

// About is what linx-cni prints when run without CNI_COMMAND.
const About = "linx-cni: pod networks kept converged by the local Linx agent (bridge mode)"

// Plugin carries out the CNI commands. Its zero value runs delegated IPAM
// plugins with the CNI library's default executor; its methods match
// skel.CNIFuncs and each returns nil or a *types.Error.
type Plugin struct {
	// Exec runs the IPAM plugin; nil means the CNI library's default.
	Exec invoke.Exec
}

// Funcs returns p's methods for skel.PluginMainFuncs.
func (p *Plugin) Funcs() skel.CNIFuncs {
	return skel.CNIFuncs{Add: p.Add, Del: p.Del, Check: p.Check, GC: p.GC, Status: p.Status}
}

// ipamError is a CNI error for a failure of the IPAM plugin.
func ipamError(c *Config, verb string, err error) error {
	return types.NewError(ErrIPAM, fmt.Sprintf("linx-cni: IPAM plugin %q failed %s", c.IPAM.Type, verb), err.Error())
}

// agentError is a CNI error for a request the agent refused.
func agentError(what string, err error) error {
	var te *types.Error
	if errors.As(err, &te) {
		return te
	}
	return types.NewError(ErrAgent, "linx-cni: "+what, err.Error())
}

// Add attaches the pod: IPAM first, then the network, host and pod
// scopes, and waits until the host and pod scopes converged. A failure
// after IPAM gave addresses releases them and forgets the pod's scopes.
func (p *Plugin) Add(args *skel.CmdArgs) error {
	c, err := ParseConfig(args.StdinData)
	if err != nil {
		return err
	}
	if _, err := os.Stat(args.Netns); err != nil {
		return types.NewError(types.ErrUnknownContainer, fmt.Sprintf("linx-cni: the pod's namespace %q is missing", args.Netns), err.Error())
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	a, err := dial(ctx, c.Socket)
	if err != nil {
		return err
	}
	defer a.Close()

	r, err := invoke.DelegateAdd(ctx, c.IPAM.Type, args.StdinData, p.Exec)
	if err != nil {
		return ipamError(c, "to allocate", err)
	}
	res, err := types100.NewResultFromResult(r)
	if err != nil {
		return ipamError(c, "to allocate", err)
	}
	at := c.AttachmentOf(args.ContainerID, args.IfName)
	result, err := p.attach(ctx, a, c, at, args, res)
	if err != nil {
		// Undo on a fresh context and connection: ctx may be what ran
		// out, in the middle of a request.
		uctx, ucancel := context.WithTimeout(context.Background(), c.timeout)
		defer ucancel()
		if ua, derr := dial(uctx, c.Socket); derr == nil {
			_ = detach(uctx, ua, c, at)
			ua.Close()
		}
		_ = invoke.DelegateDel(uctx, c.IPAM.Type, args.StdinData, p.Exec)
		return err
	}
	return types.PrintResult(result, c.CNIVersion)
}

// attach spawns the scopes of an attachment and builds the result.
func (p *Plugin) attach(ctx context.Context, a *agent, c *Config, at Attachment, args *skel.CmdArgs, res *types100.Result) (*types100.Result, error) {
	ips, err := ipConfigs(res)
	if err == nil && len(ips) == 0 {
		err = errors.New("no address")
	}
	if err != nil {
		return nil, ipamError(c, "to give an address", err)
	}
	routes, err := c.podRoutes(res, ips)
	if err != nil {
		return nil, ipamError(c, "to give usable routes", err)
	}
	if err := a.ensure(ctx, c.networkSpec(ips)); err != nil {
		return nil, agentError("spawning the network scope "+c.NetworkScope(), err)
	}
	hostPasses, err := a.put(ctx, c.hostSpec(at, args.Netns, args.IfName))
	if err != nil {
		return nil, agentError("spawning the host scope "+at.HostScope, err)
	}
	podPasses, err := a.put(ctx, c.podSpec(at, args.Netns, args.IfName, ips, routes))
	if err != nil {
		return nil, agentError("spawning the pod scope "+at.PodScope, err)
	}
	if _, err := a.converged(ctx, at.HostScope, hostPasses); err != nil {
		return nil, err
	}
	if _, err := a.converged(ctx, at.PodScope, podPasses); err != nil {
		return nil, err
	}

	// The interfaces as the kernel has them, for their addresses.
	hs, err := rtnl.Open(c.hostNS())
	if err != nil {
		return nil, types.NewError(types.ErrInternal, "linx-cni: opening rtnetlink in the host namespace", err.Error())
	}
	defer hs.Close()
	ps, err := rtnl.Open(rtnl.NamespaceAt(args.Netns))
	if err != nil {
		return nil, types.NewError(types.ErrUnknownContainer, fmt.Sprintf("linx-cni: opening the pod's namespace %q", args.Netns), err.Error())
	}
	defer ps.Close()
	result := &types100.Result{CNIVersion: types100.ImplementedSpecVersion, Routes: routes, DNS: res.DNS}
	for _, l := range []struct {
		s           *rtnl.Socket
		name, netns string
	}{{hs, c.Bridge, ""}, {hs, at.HostVeth, ""}, {ps, args.IfName, args.Netns}} {
		link, err := l.s.LinkByName(l.name)
		if err != nil {
			return nil, types.NewError(ErrConverge, fmt.Sprintf("linx-cni: reading interface %s after convergence", l.name), err.Error())
		}
		result.Interfaces = append(result.Interfaces, &types100.Interface{Name: l.name, Mac: link.HardwareAddr.String(), Mtu: link.MTU, Sandbox: l.netns})
	}
	pod := len(result.Interfaces) - 1
	for _, ic := range ips {
		ipc := &types100.IPConfig{Interface: &pod,
			Address: net.IPNet{IP: net.IP(ic.addr.Addr().AsSlice()), Mask: net.CIDRMask(ic.addr.Bits(), ic.addr.Addr().BitLen())}}
		if ic.gateway.IsValid() {
			ipc.Gateway = net.IP(ic.gateway.AsSlice())
		}
		result.IPs = append(result.IPs, ipc)
	}
	return result, nil
}

// hostNS is the host namespace as rtnl names it.
func (c *Config) hostNS() rtnl.Namespace {
	if c.HostNetns == "" {
		return rtnl.Host()
	}
	return rtnl.NamespaceAt(c.HostNetns)
}

// detach removes an attachment's scopes: the pod scope first (so that it
// does not fight the veth's removal), then the host scope after a pass
// with nothing desired deleted the veth. Scopes the agent does not know
// are success.
func detach(ctx context.Context, a *agent, c *Config, at Attachment) error {
	var errs []error
	if err := a.forget(ctx, at.PodScope); err != nil {
		errs = append(errs, fmt.Errorf("forgetting %s: %w", at.PodScope, err))
	}
	st, err := a.status(ctx, at.HostScope)
	switch {
	case unknown(err):
	case err != nil:
		errs = append(errs, fmt.Errorf("status of %s: %w", at.HostScope, err))
	default:
		if running(st) {
			before := st.GetPasses()
			if err := a.update(ctx, at.HostScope, &messages.Desired{}); err == nil {
				if _, err := a.converged(ctx, at.HostScope, before); err != nil {
					errs = append(errs, err)
				} else if err := vethGone(ctx, c, at); err != nil {
					errs = append(errs, err)
				}
			} else {
				errs = append(errs, fmt.Errorf("emptying %s: %w", at.HostScope, err))
			}
		}
		if err := a.forget(ctx, at.HostScope); err != nil {
			errs = append(errs, fmt.Errorf("forgetting %s: %w", at.HostScope, err))
		}
	}
	// The veth is gone once a pass ran on the empty state; one the agent
	// did not own (a scope forgotten before its pass) is deleted here.
	if s, err := rtnl.Open(c.hostNS()); err == nil {
		if err := s.LinkDelete(at.HostVeth); err != nil && !rtnl.IsNotExist(err) {
			errs = append(errs, fmt.Errorf("deleting %s: %w", at.HostVeth, err))
		}
		s.Close()
	} else if _, serr := os.Stat(c.HostNetns); c.HostNetns == "" || serr == nil {
		errs = append(errs, fmt.Errorf("deleting %s: %w", at.HostVeth, err))
	}
	return errors.Join(errs...)
}

// vethGone waits until the attachment's host veth is gone from the host
// namespace. A converged status alone does not show it: the pass that
// converged may have started before the agent took the empty desired
// state, and a stopped scope does not wait for a pass in flight, which
// could then put the veth back.
func vethGone(ctx context.Context, c *Config, at Attachment) error {
	s, err := rtnl.Open(c.hostNS())
	if err != nil {
		return fmt.Errorf("opening the host namespace: %w", err)
	}
	defer s.Close()
	for {
		_, err := s.LinkByName(at.HostVeth)
		if rtnl.IsNotExist(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading %s: %w", at.HostVeth, err)
		}
		if !sleep(ctx, 20*time.Millisecond) {
			return types.NewError(ErrConverge, fmt.Sprintf("linx-cni: scope %s did not delete %s in time", at.HostScope, at.HostVeth), "")
		}
	}
}

// Del detaches the pod and releases its addresses. It succeeds for an
// attachment it never saw, a namespace already gone and a second DEL.
func (p *Plugin) Del(args *skel.CmdArgs) error {
	c, err := ParseConfig(args.StdinData)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	a, err := dial(ctx, c.Socket)
	if err != nil {
		return err
	}
	defer a.Close()
	at := c.AttachmentOf(args.ContainerID, args.IfName)
	if err := detach(ctx, a, c, at); err != nil {
		return agentError("removing attachment "+at.Hash, err)
	}
	if err := invoke.DelegateDel(ctx, c.IPAM.Type, args.StdinData, p.Exec); err != nil {
		return ipamError(c, "to release", err)
	}
	return nil
}

// Check reports whether the attachment's two scopes run and converged,
// and IPAM's own CHECK.
func (p *Plugin) Check(args *skel.CmdArgs) error {
	c, err := ParseConfig(args.StdinData)
	if err != nil {
		return err
	}
	if _, err := os.Stat(args.Netns); err != nil {
		return types.NewError(types.ErrUnknownContainer, fmt.Sprintf("linx-cni: the pod's namespace %q is missing", args.Netns), err.Error())
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	a, err := dial(ctx, c.Socket)
	if err != nil {
		return err
	}
	defer a.Close()
	at := c.AttachmentOf(args.ContainerID, args.IfName)
	for _, name := range []string{at.HostScope, at.PodScope} {
		st, err := a.status(ctx, name)
		if err != nil {
			return types.NewError(ErrConverge, fmt.Sprintf("linx-cni: scope %s is not running", name), err.Error())
		}
		if st.GetPhase() != messages.Phase_PHASE_CONVERGED {
			return types.NewError(ErrConverge, fmt.Sprintf("linx-cni: scope %s is %s", name, phaseName(st)), describe(st))
		}
	}
	if err := invoke.DelegateCheck(ctx, c.IPAM.Type, args.StdinData, p.Exec); err != nil {
		return ipamError(c, "its check", err)
	}
	return nil
}

// GC removes the scopes (and veths) of this network's attachments absent
// from cni.dev/valid-attachments, then delegates GC to IPAM.
func (p *Plugin) GC(args *skel.CmdArgs) error {
	c, err := ParseConfig(args.StdinData)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*c.timeout)
	defer cancel()
	a, err := dial(ctx, c.Socket)
	if err != nil {
		return err
	}
	defer a.Close()
	valid := map[string]bool{}
	for _, v := range c.ValidAttachments {
		valid[c.AttachmentOf(v.ContainerID, v.IfName).Hash] = true
	}
	list, err := a.list(ctx)
	if err != nil {
		return agentError("listing the agent's scopes", err)
	}
	stale := map[string]bool{}
	for _, st := range list {
		if h, ok := c.attachmentHash(st.GetName()); ok && !valid[h] {
			stale[h] = true
		}
	}
	var errs []error
	for h := range stale {
		if err := detach(ctx, a, c, c.attachment(h)); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return agentError("removing stale attachments", err)
	}
	if err := invoke.DelegateGC(ctx, c.IPAM.Type, args.StdinData, p.Exec); err != nil {
		return ipamError(c, "its garbage collection", err)
	}
	return nil
}

// Status succeeds when the agent answers on its socket, and fails with
// code 50 (plugin not available) otherwise.
func (p *Plugin) Status(args *skel.CmdArgs) error {
	c, err := ParseConfig(args.StdinData)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	a, err := dial(ctx, c.Socket)
	if err != nil {
		var te *types.Error
		if errors.As(err, &te) {
			return types.NewError(ErrPluginNotAvailable, te.Msg, te.Details)
		}
		return types.NewError(ErrPluginNotAvailable, "linx-cni: the Linx agent is unreachable", err.Error())
	}
	a.Close()
	if err := invoke.DelegateStatus(ctx, c.IPAM.Type, args.StdinData, p.Exec); err != nil {
		return ipamError(c, "its status", err)
	}
	return nil
}
