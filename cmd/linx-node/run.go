package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/linx-net/linx/config"
	"github.com/linx-net/linx/internal/agent"
	"github.com/linx-net/linx/internal/sdnotify"
)

func newRunCmd() *cobra.Command {
	var path, level string
	cmd := &cobra.Command{
		Use:   "run --config FILE",
		Short: "Run the node agent: converge the configured scopes until stopped",
		Long: `Run the Linx node agent. It loads the configuration file (an invalid file
is refused with every problem listed as file:line, exit status 2, and nothing
started), creates the state directory (0700), starts the actor system and one
scope per configured namespace, and serves /metrics, /healthz and /readyz on
metrics.listen, and the message API: on the local socket api.socket
(default /run/linx/linx.sock, for root and api.group) and, when api.listen
is set, over TCP with mutual TLS.

Signals:
  SIGINT, SIGTERM  stop every scope and exit 0. Nothing is deleted from the
                   kernel: what the scopes created stays, owned through the
                   ledgers in the state directory, for the next run. While
                   the file is still being read, exit 0 with nothing
                   started.
  SIGHUP           re-read the file. New scopes are spawned, removed ones
                   stopped (their kernel state left in place), changed ones
                   updated or restarted, those the message API changed
                   put back as the file says, those that stopped or
                   failed spawned again (but a pid: scope whose process
                   is gone), the others untouched;
                   api.authorization is re-read. An invalid
                   file is refused (its problems logged) and the running
                   state kept; SIGINT or SIGTERM while it is read abandons
                   the reload.

A scope whose path: namespace does not exist yet (or is deleted while the
agent runs) waits for it, in phase waiting, and converges it as soon as
'ip netns add' makes it; the wait is logged once, at WARN. A waiting scope
counts as ready for /readyz, which names it.

Logs go to standard error: coloured text on a terminal, JSON otherwise.`,
		Example: `  linx-node run --config /etc/linx/linx.yaml
  linx-node run --config linx.yaml --log-level debug`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			lvl, err := agent.ParseLevel(level)
			if err != nil {
				return usageError{err}
			}
			logger := newLogger(cmd.ErrOrStderr(), lvl)
			// Signals are caught before the file is read: a SIGINT or
			// SIGTERM while a large file loads stops the agent cleanly (exit
			// 0, nothing started), a SIGHUP is ignored (the file is being
			// read anyway). The agent's own handlers take over in Run; these
			// stay registered until then, so no signal finds the default
			// action in between.
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			logger.Info("loading the configuration", "path", path)
			cfg, err := loadConfigContext(ctx, path)
			if ctx.Err() != nil {
				logger.Info("stopped while loading the configuration; nothing started", "path", path)
				return nil
			}
			if err != nil {
				return err
			}
			// What reading the file allocated is garbage now: hand it back
			// to the system rather than keep it as idle heap.
			debug.FreeOSMemory()
			notifier, err := sdnotify.FromEnv(os.Getenv)
			if err != nil {
				return failed(err)
			}
			a, err := agent.New(agent.Options{Path: path, Config: cfg, Logger: logger, API: agent.ServeAPI, Notifier: notifier})
			if err != nil {
				return failed(err)
			}
			return failed(a.Run(ctx))
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", defaultConfig, "configuration file (YAML; see config/examples/linx.yaml)")
	cmd.Flags().StringVar(&level, "log-level", "info", "least severe level logged: debug, info, warn or error")
	return cmd
}

// loadConfig loads the file named by --config. Every problem of an invalid
// file, or a file that cannot be read, is a usage error (exit 2).
func loadConfig(path string) (*config.Config, error) {
	return loadConfigContext(context.Background(), path)
}

// loadConfigContext is loadConfig that gives up when ctx is done (see
// config.LoadContext).
func loadConfigContext(ctx context.Context, path string) (*config.Config, error) {
	if path == "" {
		return nil, usagef("missing --config FILE")
	}
	if _, err := os.Stat(path); path == defaultConfig && errors.Is(err, os.ErrNotExist) {
		return nil, usagef("no configuration at %s (the --config default): give --config FILE", path)
	}
	cfg, err := config.LoadContext(ctx, path)
	if err != nil {
		return nil, usageError{err}
	}
	return cfg, nil
}

// newLogger returns the agent's logger on w: coloured text on a
// terminal, JSON lines with syslog priority prefixes when w is systemd's
// journal stream, plain JSON lines otherwise.
func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	if f, ok := w.(*os.File); ok && !agent.IsTerminal(f) && agent.JournalStream(f, os.Getenv) {
		return agent.NewJournalLogger(w, level)
	}
	return agent.NewLogger(w, level, isTerminal(w))
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && agent.IsTerminal(f)
}
