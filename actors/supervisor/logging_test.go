package supervisor

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
)

// protoactor's "EndpointWriter lost connection", logged at ERROR whenever
// a remote peer hangs up, reaches the agent's log at DEBUG; real errors
// keep their level.
func TestLoggerFactoryLowersRoutineRecords(t *testing.T) {
	for _, tc := range []struct {
		level slog.Level
		want  []string // substrings of the output, in order; none: empty
	}{
		{slog.LevelInfo, []string{`"level":"ERROR","msg":"EndpointWriter failed to receive connect response"`}},
		{slog.LevelDebug, []string{`"level":"DEBUG","msg":"EndpointWriter lost connection"`, `"level":"ERROR","msg":"EndpointWriter failed`}},
	} {
		var buf bytes.Buffer
		log := LoggerFactory(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: tc.level})))(&actor.ActorSystem{ID: "test"})
		log.Error("EndpointWriter lost connection", "address", "127.0.0.1:9")
		log.Error("EndpointWriter failed to receive connect response", "address", "127.0.0.1:9")
		out := buf.String()
		if n := strings.Count(out, "\n"); n != len(tc.want) {
			t.Errorf("level %v: %d records, want %d:\n%s", tc.level, n, len(tc.want), out)
		}
		for _, w := range tc.want {
			i := strings.Index(out, w)
			if i < 0 {
				t.Errorf("level %v: no %s in:\n%s", tc.level, w, out)
				continue
			}
			out = out[i:]
		}
		if !strings.Contains(buf.String(), `"lib":"protoactor"`) {
			t.Errorf("records lost the logger's attributes:\n%s", buf.String())
		}
	}
}
