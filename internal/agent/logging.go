package agent

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

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
