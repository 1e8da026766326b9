package supervisor_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/linx-net/linx/actors/source"
	"github.com/linx-net/linx/actors/supervisor"
	"github.com/linx-net/linx/messages"
	"github.com/linx-net/linx/rtnl"
)

// mapSource is a toy Source: its "kernel" is a set of address strings.
type mapSource struct {
	mu     sync.Mutex
	kernel map[string]bool
}

type nopHandle struct{}

func (nopHandle) Close() error { return nil }

func (s *mapSource) Open(context.Context) (source.Handle, error) { return nopHandle{}, nil }
func (s *mapSource) Watch(context.Context) (source.Watch, error) { return nil, nil } // interval only

func (s *mapSource) Pass(_ context.Context, _ source.Handle, desired any) source.Report {
	s.mu.Lock()
	defer s.mu.Unlock()
	var r source.Report
	for _, key := range desired.([]string) {
		if !s.kernel[key] {
			s.kernel[key] = true
			r.Applied++
		}
	}
	r.Converged = true
	return r
}

// A host controller runs Linx scopes inside its own actor system.
func Example() {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	system := actor.NewActorSystem(actor.WithLoggerFactory(supervisor.LoggerFactory(logger)))

	node, err := supervisor.Start(system, supervisor.Config{
		NewSource: func(supervisor.Spec) (source.Source, error) {
			return &mapSource{kernel: map[string]bool{}}, nil
		},
		Logger: logger,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer node.Shutdown()

	// The desired state is whatever the Source's Pass expects: here a
	// list of "link address" strings.
	err = node.Spawn(supervisor.Spec{
		Name:      "web",
		Namespace: rtnl.NamespaceOfPID(4242),
		Desired:   []string{"eth0 10.0.0.2/24"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for {
		st, err := node.Status("web")
		if err != nil {
			fmt.Println(err)
			return
		}
		if st.GetPhase() == messages.Phase_PHASE_CONVERGED {
			fmt.Println(st.GetName(), st.GetPhase(), "ops applied:", st.GetOpsApplied())
			break
		}
		time.Sleep(time.Millisecond)
	}
	// Output:
	// web PHASE_CONVERGED ops applied: 1
}
