package main

import (
	"errors"
	"fmt"
	"io"
	"syscall"

	"github.com/spf13/cobra"
)

// Exit codes of linx-node.
const (
	exitOK      = 0 // success
	exitRuntime = 1 // the kernel or the system refused
	exitUsage   = 2 // unknown command, flag, argument or value
)

// defaultConfig is the configuration file run, plan and apply read when
// --config is not given: where make install puts it.
const defaultConfig = "/etc/linx/linx.yaml"

// usageError marks an error in how the command was called (exit 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// runtimeError marks a failure of the work itself (exit 1). Every error a
// command's RunE returns is one of the two; anything else comes from cobra
// rejecting the command line, and is a usage error.
type runtimeError struct{ err error }

func (e runtimeError) Error() string { return e.err.Error() }
func (e runtimeError) Unwrap() error { return e.err }

// failed wraps err, when not nil, as a runtime error.
func failed(err error) error {
	if err == nil {
		return nil
	}
	return runtimeError{err}
}

// noArgs is cobra.NoArgs reporting a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("%s takes no arguments, got %q", cmd.CommandPath(), args)
	}
	return nil
}

// newRootCmd returns the linx-node command with all its subcommands.
func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "linx-node",
		Short: "Read and converge Linux network state over rtnetlink",
		Long: `linx-node is the Linx node agent and its command line.

It reads the links, addresses, routes, neighbours, policy rules and link
statistics of any network namespace (linx-node show …), watches their
changes (linx-node monitor), converges them onto a configuration once
(linx-node plan, linx-node apply) or as the node agent (linx-node run).

Exit codes: 0 success (for run: stopped by SIGINT or SIGTERM); 1 runtime
error (the kernel's or the system's error is printed on standard error;
for apply: a scope failed or has conflicts); 2 usage or configuration
error (every problem of an invalid configuration file is printed as
file:line, and nothing is started or applied).`,
		Version:       versionString(),
		SilenceErrors: true,
		SilenceUsage:  true,
		// A root that runs lets cobra reject unknown commands by name.
		RunE: func(cmd *cobra.Command, args []string) error {
			return usagef("missing command: try %s --help", cmd.CommandPath())
		},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.SetVersionTemplate("{{.Version}}\n")
	root.AddCommand(newShowCmd(), newVersionCmd())
	root.AddCommand(newRunCmd(), newPlanCmd(), newApplyCmd(), newMonitorCmd())
	root.AddCommand(newStatusCmd(), newScopeCmd(), newFleetCmd())
	return root
}

// run executes linx-node with args, writing to stdout and stderr, and
// returns the process exit code.
func run(args []string, stdout, stderr io.Writer) int {
	root := newRootCmd()
	root.SetArgs(expandShowObject(args))
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteC()
	if err == nil || readerGone(err) {
		return exitOK
	}
	var st exitStatus
	if errors.As(err, &st) {
		return int(st)
	}
	fmt.Fprintf(stderr, "linx-node: %v\n", err)
	var rt runtimeError
	if errors.As(err, &rt) {
		return exitRuntime
	}
	fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
	return exitUsage
}

// readerGone reports whether err says that the reader of the output went
// away (EPIPE: `linx-node show routes | head` once head has its lines).
// That ends the command normally, with status 0 and no message, as it
// ends ip. main ignores SIGPIPE so that the write fails with EPIPE rather
// than killing the process.
func readerGone(err error) bool { return errors.Is(err, syscall.EPIPE) }
