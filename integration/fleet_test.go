package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/linx-net/linx/api/apitest"
	"github.com/linx-net/linx/client"
	"github.com/linx-net/linx/internal/nstest"
	"github.com/linx-net/linx/messages"
)

// fleetAgent is one agent of the fleet: its process, namespace and API.
type fleetAgent struct {
	proc *agentProc
	ns   *nstest.NS
	api  string // host:port of its message API
	c    *client.Client
}

// fleetConfig writes an agent configuration with no scope, the metrics
// and the message API on loopback ports the kernel picks, and mutual TLS;
// the controller certificate may steer scopes in the tests' namespaces.
func fleetConfig(t *testing.T, dir string, node apitest.Pair, ca string) string {
	t.Helper()
	path := filepath.Join(dir, "linx.yaml")
	cfg := fmt.Sprintf(`state_dir: %s
metrics:
  listen: 127.0.0.1:0
api:
  socket: off
  listen: 127.0.0.1:0
  tls:
    cert: %s
    key: %s
    client_ca: %s
  authorization:
    - identity: controller
      verbs: ["*"]
      namespaces: {paths: ["/var/run/netns/linx-t-*"]}
scopes: []
`, filepath.Join(dir, "state"), node.CertFile, node.KeyFile, ca)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// fleetAPIAddr waits for the agent's "message API listening" log line and
// returns the address in it.
func fleetAPIAddr(t *testing.T, p *agentProc) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		sc := bufio.NewScanner(strings.NewReader(p.stderr.String()))
		for sc.Scan() {
			var rec struct {
				Msg     string `json:"msg"`
				Address string `json:"address"`
			}
			if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == "message API listening" {
				return rec.Address
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the agent does not serve its message API:\n%s", p.stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// fleetWait reads statuses until one of scope name satisfies ok.
func fleetWait(t *testing.T, ch <-chan *messages.ScopeStatus, name, what string, ok func(*messages.ScopeStatus) bool) *messages.ScopeStatus {
	t.Helper()
	timeout := time.After(20 * time.Second)
	var last *messages.ScopeStatus
	for {
		select {
		case st, open := <-ch:
			if !open {
				t.Fatalf("%s: subscription closed while waiting for %s", name, what)
			}
			if st.GetName() != name {
				continue
			}
			last = st
			if ok(st) {
				return st
			}
		case <-timeout:
			t.Fatalf("%s: no status change: %s (last: %v)", name, what, last)
		}
	}
}

func converged(st *messages.ScopeStatus) bool {
	return st.GetPhase() == messages.Phase_PHASE_CONVERGED
}

// fleetBogus returns a protobuf message of a type no Linx binary registers.
func fleetBogus(t *testing.T) proto.Message {
	t.Helper()
	fd, err := protodesc.NewFile(&descriptorpb.FileDescriptorProto{
		Name:    proto.String("fleet_bogus.proto"),
		Package: proto.String("linxfleet"),
		Syntax:  proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{{
			Name: proto.String("Bogus"),
			Field: []*descriptorpb.FieldDescriptorProto{{
				Name: proto.String("x"), Number: proto.Int32(1),
				Type:  descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum(),
				Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(),
			}},
		}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := dynamicpb.NewMessage(fd.Messages().Get(0))
	m.Set(fd.Messages().Get(0).Fields().Get(0), protoreflectString("boom"))
	return m
}

// TestFleet runs three agent processes, each owning its own namespace, and
// drives them from this process over the message API with mutual TLS:
// spawn, status changes by subscription, update, stop; clients without a
// valid certificate are refused; an unregistered message type does not
// bring an agent down.
func TestFleet(t *testing.T) {
	bin := agentBuild(t)
	ca := apitest.NewCA(t, "fleet")
	ctl := ca.Issue("controller")

	agents := make([]*fleetAgent, 3)
	for i := range agents {
		ns := nstest.New(t)
		ns.IP("link", "add", "veth0", "type", "veth", "peer", "name", "veth1")
		ns.IP("link", "set", "veth0", "up")
		node := ca.Issue(fmt.Sprintf("node%d", i))
		path := fleetConfig(t, t.TempDir(), node, ca.CertFile)
		p := agentStart(t, bin, path)
		agents[i] = &fleetAgent{proc: p, ns: ns, api: fleetAPIAddr(t, p)}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// One reply endpoint for the whole fleet, as a controller would run.
	ep, err := client.NewEndpoint(client.WithTLS(ctl.CertFile, ctl.KeyFile, ca.CertFile))
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close()
	subs := make([]<-chan *messages.ScopeStatus, len(agents))
	for i, a := range agents {
		if a.c, err = ep.Dial(ctx, a.api); err != nil {
			t.Fatalf("agent %d: %v", i, err)
		}
		defer a.c.Close()
		ch, stop, err := a.c.Subscribe(ctx)
		if err != nil {
			t.Fatalf("agent %d: %v", i, err)
		}
		defer stop()
		subs[i] = ch
	}

	addr := func(i, j int) string { return fmt.Sprintf("10.77.%d.%d/24", i, j) }
	for i, a := range agents {
		err := a.c.Spawn(ctx, &messages.SpawnScope{
			Name:      fmt.Sprintf("fleet%d", i),
			Namespace: &messages.Namespace{Kind: &messages.Namespace_Path{Path: a.ns.Path()}},
			Desired: &messages.Desired{Addresses: []*messages.Address{
				{Link: "veth0", Address: addr(i, 1)},
			}},
		})
		if err != nil {
			t.Fatalf("agent %d: spawn: %v", i, err)
		}
	}
	for i, a := range agents {
		name := fmt.Sprintf("fleet%d", i)
		st := fleetWait(t, subs[i], name, "converged after spawn", func(st *messages.ScopeStatus) bool {
			return converged(st) && st.GetPasses() > 0
		})
		if got := agentAddrs(a.ns, "veth0"); !slices.Contains(got, addr(i, 1)) {
			t.Errorf("agent %d: veth0 has %v after %v; want %s", i, got, st, addr(i, 1))
		}
		// Each agent touched its own namespace only.
		for j, b := range agents {
			if j != i && slices.Contains(agentAddrs(b.ns, "veth0"), addr(i, 1)) {
				t.Errorf("agent %d's address showed up in agent %d's namespace", i, j)
			}
		}
	}

	for i, a := range agents {
		err := a.c.Update(ctx, fmt.Sprintf("fleet%d", i), &messages.Desired{Addresses: []*messages.Address{
			{Link: "veth0", Address: addr(i, 2)},
		}})
		if err != nil {
			t.Fatalf("agent %d: update: %v", i, err)
		}
	}
	for i, a := range agents {
		name := fmt.Sprintf("fleet%d", i)
		fleetWait(t, subs[i], name, "converging after update", func(st *messages.ScopeStatus) bool {
			return st.GetPhase() == messages.Phase_PHASE_CONVERGING || st.GetOpsApplied() > 0
		})
		fleetWait(t, subs[i], name, "converged after update", converged)
		got := agentAddrs(a.ns, "veth0")
		if !slices.Contains(got, addr(i, 2)) || slices.Contains(got, addr(i, 1)) {
			t.Errorf("agent %d: veth0 has %v after the update; want %s instead of %s", i, got, addr(i, 2), addr(i, 1))
		}
		st, err := a.c.Status(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if !converged(st) || st.GetLastPass() == nil {
			t.Errorf("agent %d: Status = %v; want converged with a last pass", i, st)
		}
	}

	t.Run("refused without a valid certificate", func(t *testing.T) {
		a := agents[0]
		if c, err := client.Dial(ctx, a.api, client.WithTimeout(3*time.Second)); err == nil {
			c.Close()
			t.Error("a client without a certificate was let in")
		} else {
			t.Logf("no certificate: %v", err)
		}
		other := apitest.NewCA(t, "intruders")
		bad := other.Issue("intruder")
		if c, err := client.Dial(ctx, a.api, client.WithTimeout(3*time.Second),
			client.WithTLS(bad.CertFile, bad.KeyFile, ca.CertFile)); err == nil {
			c.Close()
			t.Error("a client with a certificate of another CA was let in")
		} else {
			t.Logf("certificate of another CA: %v", err)
		}
	})

	t.Run("unregistered message type", func(t *testing.T) {
		a := agents[1]
		// Sent by an authenticated controller: the guard, not TLS, must
		// stop it.
		ep.System().Root.Send(actor.NewPID(a.api, client.NodeName), fleetBogus(t))
		time.Sleep(300 * time.Millisecond)
		select {
		case <-a.proc.done:
			t.Fatalf("the agent died: %v\n%s", a.proc.err, a.proc.stderr.String())
		default:
		}
		// The refused batch closed that connection; the next request
		// reconnects.
		deadline := time.Now().Add(15 * time.Second)
		for {
			_, err := a.c.Status(ctx, "fleet1")
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the agent no longer answers: %v", err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if !strings.Contains(a.proc.stderr.String(), "linxfleet.Bogus") {
			t.Errorf("the agent did not log the refused type")
		}
	})

	for i, a := range agents {
		name := fmt.Sprintf("fleet%d", i)
		if err := a.c.Stop(ctx, name); err != nil {
			t.Fatalf("agent %d: stop: %v", i, err)
		}
		st, err := a.c.Status(ctx, name)
		for err == nil && st.GetPhase() != messages.Phase_PHASE_STOPPED {
			time.Sleep(10 * time.Millisecond)
			st, err = a.c.Status(ctx, name)
		}
		if err != nil {
			t.Fatal(err)
		}
		// Stopping deletes nothing from the kernel.
		if got := agentAddrs(a.ns, "veth0"); !slices.Contains(got, addr(i, 2)) {
			t.Errorf("agent %d: veth0 has %v after stop; want %s kept", i, got, addr(i, 2))
		}
	}
	for _, a := range agents {
		a.c.Close()
		a.proc.stop()
	}
}

func protoreflectString(s string) protoreflect.Value { return protoreflect.ValueOfString(s) }
