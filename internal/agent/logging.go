package agent

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"

	"github.com/lmittmann/tint"
	"golang.org/x/sys/unix"
)

// ParseLevel returns the slog level named by s: debug, info, warn (or
// warning) or error, in any case. It returns an error quoting s otherwise.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("log level %q: want debug, info, warn or error", s)
}

// NewLogger returns a logger writing records at level and above to w:
// coloured human-readable lines (github.com/lmittmann/tint) when terminal
// is true, one JSON object per line otherwise (for journald and log
// shippers).
func NewLogger(w io.Writer, level slog.Level, terminal bool) *slog.Logger {
	if terminal {
		return slog.New(tint.NewTextHandler(w, &tint.Options{Level: level, TimeFormat: "15:04:05.000"}))
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}

// IsTerminal reports whether f is a terminal. It is false for pipes,
// files, sockets and on any error.
func IsTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// NewJournalLogger returns a logger writing one JSON object per line to w,
// each line prefixed with its syslog priority in the form journald reads
// from a service's standard error ("<3>" for errors, "<4>" warnings, "<6>"
// information, "<7>" debugging; sd-daemon(3)), so that `journalctl -p err`
// finds the agent's errors. Use it when JournalStream reports that w is
// connected to the journal.
func NewJournalLogger(w io.Writer, level slog.Level) *slog.Logger {
	pw := &priorityWriter{w: w}
	inner := slog.NewJSONHandler(pw, &slog.HandlerOptions{Level: level})
	return slog.New(&priorityHandler{inner: inner, pw: pw})
}

// JournalStream reports whether f is the stream $JOURNAL_STREAM names
// (systemd sets it to the device and inode of the journal connection it
// gives a service as stdout or stderr), so that priority prefixes are
// understood on it. It is false outside systemd and on any error.
func JournalStream(f *os.File, getenv func(string) string) bool {
	var dev, ino uint64
	if _, err := fmt.Sscanf(getenv("JOURNAL_STREAM"), "%d:%d", &dev, &ino); err != nil {
		return false
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return false
	}
	return st.Dev == dev && st.Ino == ino
}

// priority returns the syslog priority of a slog level.
func priority(l slog.Level) int {
	switch {
	case l >= slog.LevelError:
		return 3 // err
	case l >= slog.LevelWarn:
		return 4 // warning
	case l >= slog.LevelInfo:
		return 6 // info
	default:
		return 7 // debug
	}
}

// priorityWriter writes each record (one Write call of slog's JSON
// handler) behind the priority prefix of the record being handled.
type priorityWriter struct {
	mu    sync.Mutex // held by priorityHandler.Handle around the write
	w     io.Writer
	level slog.Level
}

func (p *priorityWriter) Write(b []byte) (int, error) {
	line := make([]byte, 0, len(b)+3)
	line = append(line, '<', byte('0'+priority(p.level)), '>')
	line = append(line, b...)
	if _, err := p.w.Write(line); err != nil {
		return 0, err
	}
	return len(b), nil
}

// priorityHandler is a JSON handler whose lines carry their priority.
type priorityHandler struct {
	inner slog.Handler
	pw    *priorityWriter
}

func (h *priorityHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

func (h *priorityHandler) Handle(ctx context.Context, r slog.Record) error {
	h.pw.mu.Lock()
	defer h.pw.mu.Unlock()
	h.pw.level = r.Level
	return h.inner.Handle(ctx, r)
}

func (h *priorityHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &priorityHandler{inner: h.inner.WithAttrs(as), pw: h.pw}
}

func (h *priorityHandler) WithGroup(name string) slog.Handler {
	return &priorityHandler{inner: h.inner.WithGroup(name), pw: h.pw}
}
