package agent

import (
	"errors"
	"fmt"
	"strconv"

	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/proto"

	"github.com/linx-net/linx/actors/supervisor"
	"github.com/linx-net/linx/api"
	"github.com/linx-net/linx/api/convert"
	"github.com/linx-net/linx/internal/scopestore"
	"github.com/linx-net/linx/messages"
	"github.com/linx-net/linx/rtnl"
)

// Durable scopes: every spawn, update and stop the message API makes is
// recorded in the state directory (package scopestore) and resumed at the
// next start. A scope of the configuration file is not recorded: the file
// is its record, and it wins over a record of the same name.

// recordAPI is the API's api.Options.Accepted: it records m, which the node
// accepted. A failure to record is logged: the change is made, but would
// not survive a restart.
func (a *Agent) recordAPI(identity string, m proto.Message) {
	if err := a.record(identity, m); err != nil {
		a.logger.Error("durable scopes: recording a change made through the API failed; it will not survive a restart", "err", err)
	}
}

func (a *Agent) record(identity string, m proto.Message) error {
	name := ""
	if n, ok := m.(interface{ GetName() string }); ok {
		name = n.GetName()
	}
	if _, ok := a.configuredNamespace(name); ok {
		return nil
	}
	st := a.store
	switch m := m.(type) {
	case *messages.SpawnScope:
		return st.Put(scopestore.Record{Spec: m, Owner: identity, Namespace: namespaceID(m.GetNamespace())})
	case *messages.UpdateDesired:
		r, ok, err := st.Get(name)
		if err != nil || !ok {
			return err
		}
		r.Spec = proto.Clone(r.Spec).(*messages.SpawnScope)
		r.Spec.Desired = m.GetDesired()
		r.Updated = a.now()
		return st.Put(r)
	case *messages.StopScope:
		if m.GetForget() {
			return st.Delete(name)
		}
		r, ok, err := st.Get(name)
		if err != nil || !ok {
			return err
		}
		r.Stopped, r.Reason, r.Updated = true, supervisor.ReasonStopped, a.now()
		return st.Put(r)
	}
	return nil
}

// namespaceID returns the identity of the namespace m names, zero when it
// cannot be read.
func namespaceID(m *messages.Namespace) rtnl.NamespaceID {
	ns, err := convert.NamespaceFromProto(m)
	if err != nil {
		return rtnl.NamespaceID{}
	}
	id, _ := ns.ID()
	return id
}

// resume spawns the recorded scopes, after the configured ones: a record
// whose name the file uses is skipped (logged), one recorded as stopped is
// listed as stopped, and a pid: scope whose process is gone (or whose pid
// now names another namespace) is listed as stopped with that reason. A
// scope that cannot be spawned again is listed as stopped with the error.
// It returns the number of scopes resumed.
func (a *Agent) resume() int {
	records, err := a.store.Load()
	if err != nil {
		a.logger.Error("durable scopes: some records could not be read; they are left in place", "err", err)
	}
	resumed := 0
	for _, r := range records {
		name := r.Name()
		if _, ok := a.configuredNamespace(name); ok {
			a.logger.Warn("durable scopes: the configuration file has a scope of this name; it wins over the recorded one", "scope", name)
			continue
		}
		if r.Stopped {
			a.listStopped(name, r.Reason)
			continue
		}
		if why := processGone(r); why != "" {
			a.listStopped(name, why)
			r.Stopped, r.Reason, r.Updated = true, why, a.now()
			if err := a.store.Put(r); err != nil {
				a.logger.Warn("durable scopes: recording a stop", "scope", name, "err", err)
			}
			continue
		}
		if err := a.spawnMessage(r.Spec); err != nil {
			a.logger.Error("durable scopes: resuming a recorded scope failed", "scope", name, "err", err)
			a.listStopped(name, "not resumed: "+err.Error())
			continue
		}
		resumed++
		a.logger.Info("durable scopes: resumed", "scope", name, "recorded", r.Updated)
	}
	return resumed
}

func (a *Agent) listStopped(name, reason string) {
	if err := a.node.ListStopped(name, reason); err != nil {
		a.logger.Warn("durable scopes: listing a recorded scope", "scope", name, "err", err)
	}
}

// processGone returns why a pid: scope's process no longer names its
// namespace ("" when it does, or when r is no pid: scope).
func processGone(r scopestore.Record) string {
	pid := r.Spec.GetNamespace().GetPid()
	if pid == 0 {
		return ""
	}
	id, err := rtnl.NamespaceOfPID(int(pid)).ID()
	switch {
	case errors.Is(err, unix.ESRCH):
		return "process " + strconv.Itoa(int(pid)) + " is gone"
	case err != nil:
		return fmt.Sprintf("process %d: %v", pid, err)
	case !r.Namespace.IsZero() && (id.Dev != r.Namespace.Dev || id.Inode != r.Namespace.Inode):
		return fmt.Sprintf("process %d is gone: its number now names a process in another namespace", pid)
	}
	return ""
}

// owned returns the recorded API scopes with their owners. A record the
// file's scope of the same name overrides is left out.
func (a *Agent) owned() []api.OwnedScope {
	records, _ := a.store.Load() // resume logged the damaged ones
	var out []api.OwnedScope
	for _, r := range records {
		if _, ok := a.configuredNamespace(r.Name()); ok || r.Owner == "" {
			continue
		}
		ns := r.Spec.GetNamespace()
		if ns == nil {
			ns = &messages.Namespace{Kind: &messages.Namespace_Host{Host: true}}
		}
		out = append(out, api.OwnedScope{Name: r.Name(), Identity: r.Owner, Namespace: ns, Stopped: r.Stopped})
	}
	return out
}
