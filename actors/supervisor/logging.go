package supervisor

import (
	"context"
	"log/slog"

	"github.com/asynkron/protoactor-go/actor"
)

// LoggerFactory returns a protoactor logger factory that routes the actor
// system's own logs to l, for actor.WithLoggerFactory:
//
//	system := actor.NewActorSystem(actor.WithLoggerFactory(supervisor.LoggerFactory(logger)))
//
// Records protoactor logs as errors for routine events are lowered to
// the level their event deserves (see routine).
func LoggerFactory(l *slog.Logger) func(*actor.ActorSystem) *slog.Logger {
	h := &routineHandler{Handler: l.Handler()}
	return func(s *actor.ActorSystem) *slog.Logger {
		return slog.New(h).With("lib", "protoactor", "system", s.ID)
	}
}

// routine maps the messages protoactor logs at ERROR for events that are
// not errors to their level. "EndpointWriter lost connection" is logged
// each time a remote peer closes its connection, which every `linx-node
// status --api` call and every controller that exits does.
var routine = map[string]slog.Level{
	"EndpointWriter lost connection": slog.LevelDebug,
}

// routineHandler lowers the level of routine records before its Handler
// sees them.
type routineHandler struct{ slog.Handler }

// Enabled lets every routine record reach Handle, which decides on its
// lowered level.
func (h *routineHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelError || h.Handler.Enabled(ctx, l)
}

func (h *routineHandler) Handle(ctx context.Context, r slog.Record) error {
	if l, ok := routine[r.Message]; ok && l < r.Level {
		r.Level = l
	}
	if !h.Handler.Enabled(ctx, r.Level) {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

func (h *routineHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &routineHandler{Handler: h.Handler.WithAttrs(as)}
}

func (h *routineHandler) WithGroup(name string) slog.Handler {
	return &routineHandler{Handler: h.Handler.WithGroup(name)}
}
