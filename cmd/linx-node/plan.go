package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/linx-net/linx/config"
	"github.com/linx-net/linx/internal/cliout"
	"github.com/linx-net/linx/reconcile"
	"github.com/linx-net/linx/reconcile/fakekernel"
	"github.com/linx-net/linx/rtnl"
)

func newPlanCmd() *cobra.Command {
	var path, output string
	var exitCode bool
	cmd := &cobra.Command{
		Use:   "plan [--config FILE]",
		Short: "Print what one pass would do in each configured scope, changing nothing",
		Long: `Print, for each scope of the configuration file, what one reconcile pass
would change, as a diff: one line per change, "+" to create, "-" to
delete, "~" to update (with old → new for each field that changes), with
interfaces named (a link still to be created by the name it will have);
then the desired objects held by foreign state ("!", conflicts, left
alone), the operation the kernel would refuse ("! fails"), and a summary
line.

The plan is the pass itself, run against a copy in memory of the
namespace's links, addresses, routes, neighbours, rules and nexthops and
of the scope's ledger: what it prints is what apply would do then,
conflicts with foreign state included. The kernel is only listed and the
ledgers in state_dir only read: plan creates, locks and writes nothing,
and may run beside a running agent. A scope is up to date ("converged"
in JSON) only when nothing is pending: no change, no conflict, no
failure.

Exit status: 0 when every scope could be planned, a refused operation
being part of the plan; 1 when one could not (its namespace cannot be
entered, its ledger cannot be read, the pass would refuse to start: a
protocol it may not claim, a ledger of another namespace); 2 for an
invalid configuration. With --exit-code (or --detailed-exitcode), 0 means
nothing pending and 3 changes pending (a refused operation included), so
that scripts can gate on it.`,
		Example: `  linx-node plan
  linx-node plan --config linx.yaml -o json
  linx-node plan --exit-code || echo "changes pending: $?"`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pending, err := passCommand(cmd.OutOrStdout(), path, output, false)
			if err == nil && exitCode && pending {
				return exitStatus(exitPending)
			}
			return err
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", defaultConfig, "configuration file")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	cmd.Flags().BoolVar(&exitCode, "exit-code", false, "exit 3 when there are changes to make, 0 when none")
	cmd.Flags().BoolVar(&exitCode, "detailed-exitcode", false, "the same as --exit-code")
	return cmd
}

// exitPending is the exit status of plan --exit-code with changes to make.
const exitPending = 3

// exitStatus is an error that only sets the exit status: run prints
// nothing for it.
type exitStatus int

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// scopeResult is the outcome of planning or applying one scope.
type scopeResult struct {
	Scope     string   `json:"scope"`
	Netns     string   `json:"netns"`
	Converged bool     `json:"converged"`
	Ops       []string `json:"ops"`
	Conflicts []string `json:"conflicts"`
	Failed    string   `json:"failed,omitempty"`
	Error     string   `json:"error,omitempty"`
	// Changes are Ops as the diff lines print them.
	Changes []change `json:"changes"`
	// Warning says what went wrong without stopping the pass: a damaged
	// ledger moved aside.
	Warning string `json:"warning,omitempty"`
}

// passCommand plans (apply false) or applies one pass in every scope of
// the file at path and prints the results. It returns a runtime error
// when a scope failed (or, applying, has conflicts), and whether any scope
// has operations to apply (or applied some).
func passCommand(w io.Writer, path, output string, apply bool) (pending bool, _ error) {
	if output != "text" && output != "json" {
		return false, usagef("output format %q: want text or json", output)
	}
	cfg, err := loadConfig(path)
	if err != nil {
		return false, err
	}
	if apply {
		if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
			return false, failed(fmt.Errorf("creating the state directory: %w", err))
		}
	}
	results := make([]scopeResult, 0, len(cfg.Scopes))
	var bad []string
	for _, s := range cfg.Scopes {
		r := passScope(cfg.StateDir, s, apply)
		if (r.Error != "" && (apply || r.Failed == "")) || (apply && len(r.Conflicts) > 0) {
			bad = append(bad, s.Name)
		}
		pending = pending || len(r.Ops) > 0 || (!apply && r.Failed != "")
		results = append(results, r)
	}
	if output == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(results); err != nil {
			return pending, failed(err)
		}
	} else {
		writeResults(w, results, apply)
	}
	if len(bad) > 0 {
		verb := "planning"
		if apply {
			verb = "applying"
		}
		return pending, failed(fmt.Errorf("%s failed or left conflicts in %d of %d scopes: %v", verb, len(bad), len(results), bad))
	}
	return pending, nil
}

// passScope plans or applies one pass in scope s, with its ledger from
// stateDir.
//
// A plan runs the very pass apply runs, against a copy of the namespace
// (fakekernel.Copy) and of the ledger read into memory
// (reconcile.ReadScopeLedger): it reports what the kernel would answer,
// a foreign object holding a desired key included, and writes nothing.
// reconcile.Plan does the same; the copy is made here so that the links
// the plan creates are named from it.
func passScope(stateDir string, s config.Scope, apply bool) scopeResult {
	r := scopeResult{Scope: s.Name, Netns: s.Namespace.String(), Ops: []string{}, Conflicts: []string{}}
	var ledger *reconcile.Ledger
	var err error
	if apply {
		ledger, err = reconcile.OpenScopeLedger(stateDir, s.Name, s.Namespace)
	} else {
		// No lock, no directory, no save; an older Linx's ledger is read
		// where it is.
		ledger, err = reconcile.ReadScopeLedger(stateDir, s.Name, s.Namespace)
	}
	if err != nil {
		r.Error = err.Error()
		return r
	}
	if d := ledger.Damaged(); d != nil {
		r.Warning = d.Error()
	}
	sock, err := rtnl.Open(s.Namespace)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	defer sock.Close()
	o := reconcile.Options{Protocol: s.Protocol, AdoptProtocol: s.AdoptProtocol, NoRoutes: s.NoRoutes}
	var rep reconcile.Report
	// Interface names from before the pass, for the links it deletes.
	before, _ := names(sock)
	var k reconcile.Kernel = sock
	if !apply {
		if k, err = fakekernel.Copy(sock, fakekernel.CopyOptions{NoRoutes: s.NoRoutes}); err != nil {
			r.Error = fmt.Sprintf("copying the namespace's state: %v", err)
			return r
		}
	}
	rep, err = reconcile.Pass(k, s.Desired, ledger, o)
	// Names after the pass: of the links it created (in the copy, for a
	// plan), then those it deleted.
	n := kernelNames(k)
	for i, name := range before {
		if _, ok := n[i]; !ok {
			n[i] = name
		}
	}
	r.Changes = describeOps(sock, rep.Applied, n, !apply)
	for _, op := range rep.Applied {
		r.Ops = append(r.Ops, op.String())
	}
	for _, c := range rep.Conflicts {
		r.Conflicts = append(r.Conflicts, c.String())
	}
	var f *reconcile.Failure
	if errors.As(err, &f) {
		r.Failed = f.Op.String()
	}
	if err != nil {
		r.Error = err.Error()
	}
	// A plan has converged only when nothing is pending; a pass, when
	// the kernel matched at its end.
	r.Converged = rep.Converged && err == nil && (apply || len(rep.Applied) == 0)
	return r
}

// kernelNames returns the names of k's links by index (none when they
// cannot be listed).
func kernelNames(k reconcile.Kernel) cliout.Names {
	n := cliout.Names{}
	links, _ := k.Links()
	for _, l := range links {
		n[l.Index] = l.Name
	}
	return n
}

// writeResults prints the results as a diff: per scope a heading, one
// line per change, the conflicts, and the scope's summary; then the
// total when there is more than one scope.
func writeResults(w io.Writer, results []scopeResult, apply bool) {
	var total counts
	for _, r := range results {
		c := writeResult(w, r, apply)
		total.add(c)
	}
	if len(results) > 1 {
		fmt.Fprintf(w, "total: %s in %d scopes\n", total.summary(apply), len(results))
	}
}

// counts are the changes and conflicts of a plan or a pass.
type counts struct{ create, update, del, conflicts int }

func (c *counts) add(o counts) {
	c.create += o.create
	c.update += o.update
	c.del += o.del
	c.conflicts += o.conflicts
}

// summary returns "2 to create, 1 to update, 0 to delete, 1 conflict", or
// in the past tense for an applied pass.
func (c counts) summary(apply bool) string {
	verbs := [3]string{"to create", "to update", "to delete"}
	if apply {
		verbs = [3]string{"created", "updated", "deleted"}
	}
	conflicts := "conflicts"
	if c.conflicts == 1 {
		conflicts = "conflict"
	}
	return fmt.Sprintf("%d %s, %d %s, %d %s, %d %s",
		c.create, verbs[0], c.update, verbs[1], c.del, verbs[2], c.conflicts, conflicts)
}

// writeResult prints r as a diff and returns its counts.
func writeResult(w io.Writer, r scopeResult, apply bool) counts {
	c := counts{conflicts: len(r.Conflicts)}
	if len(r.Changes) == 0 && len(r.Conflicts) == 0 && r.Error == "" && r.Warning == "" {
		state := "up to date"
		if apply && r.Converged {
			state = "converged, nothing to change"
		}
		fmt.Fprintf(w, "scope %s (%s): %s\n", r.Scope, r.Netns, state)
		return c
	}
	fmt.Fprintf(w, "scope %s (%s):\n", r.Scope, r.Netns)
	for _, ch := range r.Changes {
		switch ch.Action {
		case "create":
			c.create++
		case "update":
			c.update++
		case "delete":
			c.del++
		}
		fmt.Fprintln(w, ch.line())
	}
	for _, k := range r.Conflicts {
		fmt.Fprintf(w, "! conflict: %s\n", k)
	}
	if !apply && r.Failed != "" {
		// The kernel would refuse it: part of the plan, not its failure.
		fmt.Fprintf(w, "! fails: %s\n", r.Error)
	}
	if r.Warning != "" {
		fmt.Fprintf(w, "warning: %s\n", r.Warning)
	}
	if r.Error != "" && (apply || r.Failed == "") {
		fmt.Fprintf(w, "error: %s\n", r.Error)
	}
	end := ""
	switch {
	case r.Error != "" && !apply && r.Failed != "":
		end = ", 1 to fail"
	case r.Error != "":
		end = ", failed"
	case apply && r.Converged:
		end = ", converged"
	}
	fmt.Fprintf(w, "scope %s: %s%s\n", r.Scope, c.summary(apply), end)
	return c
}
