package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/linx-net/linx/config"
	"github.com/linx-net/linx/reconcile"
	"github.com/linx-net/linx/rtnl"
)

func newPlanCmd() *cobra.Command {
	var path, output string
	cmd := &cobra.Command{
		Use:   "plan --config FILE",
		Short: "Print what one pass would do in each configured scope, changing nothing",
		Long: `Print, for each scope of the configuration file, the operations one
reconcile pass would apply and the desired objects held by foreign state
(conflicts). The kernel and the ledgers in state_dir are only read: plan
changes nothing, and may run beside a running agent.

Operations on links that do not exist yet name them by a placeholder index
(from 1073741824 on).

Exit status: 0 when every scope could be planned, 1 when one could not
(its namespace cannot be entered, its ledger cannot be read), 2 for an
invalid configuration.`,
		Example: `  linx-node plan --config /etc/linx/linx.yaml
  linx-node plan --config linx.yaml -o json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return passCommand(cmd.OutOrStdout(), path, output, false)
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", "", "configuration file")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}

// scopeResult is the outcome of planning or applying one scope.
type scopeResult struct {
	Scope     string   `json:"scope"`
	Netns     string   `json:"netns"`
	Converged bool     `json:"converged"`
	Ops       []string `json:"ops"`
	Conflicts []string `json:"conflicts"`
	Failed    string   `json:"failed,omitempty"`
	Error     string   `json:"error,omitempty"`
	// Warning says what went wrong without stopping the pass: a damaged
	// ledger moved aside.
	Warning string `json:"warning,omitempty"`
}

// passCommand plans (apply false) or applies one pass in every scope of
// the file at path and prints the results. It returns a runtime error
// when a scope failed (or, applying, has conflicts).
func passCommand(w io.Writer, path, output string, apply bool) error {
	if output != "text" && output != "json" {
		return usagef("output format %q: want text or json", output)
	}
	cfg, err := loadConfig(path)
	if err != nil {
		return err
	}
	if apply {
		if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
			return failed(fmt.Errorf("creating the state directory: %w", err))
		}
	}
	results := make([]scopeResult, 0, len(cfg.Scopes))
	var bad []string
	for _, s := range cfg.Scopes {
		r := passScope(cfg.StateDir, s, apply)
		if r.Error != "" || (apply && len(r.Conflicts) > 0) {
			bad = append(bad, s.Name)
		}
		results = append(results, r)
	}
	if output == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(results); err != nil {
			return failed(err)
		}
	} else {
		for _, r := range results {
			writeResult(w, r, apply)
		}
	}
	if len(bad) > 0 {
		verb := "planning"
		if apply {
			verb = "applying"
		}
		return failed(fmt.Errorf("%s failed or left conflicts in %d of %d scopes: %v", verb, len(bad), len(results), bad))
	}
	return nil
}

// passScope plans or applies one pass in scope s, with its ledger from
// stateDir.
func passScope(stateDir string, s config.Scope, apply bool) scopeResult {
	r := scopeResult{Scope: s.Name, Netns: s.Namespace.String(), Ops: []string{}, Conflicts: []string{}}
	var ledger *reconcile.Ledger
	var err error
	if apply {
		ledger, err = reconcile.OpenScopeLedger(stateDir, s.Name, s.Namespace)
	} else {
		// A plan only reads: an older Linx's ledger is read where it is.
		var path string
		if path, err = reconcile.ScopeLedgerFile(stateDir, s.Name, s.Namespace); err == nil {
			ledger, err = reconcile.OpenLedger(path)
		}
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
	o := reconcile.Options{Protocol: s.Protocol, AdoptProtocol: s.AdoptProtocol}
	var rep reconcile.Report
	if apply {
		rep, err = reconcile.Pass(sock, s.Desired, ledger, o)
	} else {
		rep, err = reconcile.Plan(sock, s.Desired, ledger, o)
	}
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
	r.Converged = rep.Converged && err == nil
	return r
}

// writeResult prints r as text: a heading, then one operation per line.
func writeResult(w io.Writer, r scopeResult, apply bool) {
	verb := "would apply"
	if apply {
		verb = "applied"
	}
	fmt.Fprintf(w, "scope %s (%s): %s %d ops", r.Scope, r.Netns, verb, len(r.Ops))
	switch {
	case r.Error != "":
		fmt.Fprintf(w, ", failed\n")
	case apply && r.Converged:
		fmt.Fprintf(w, ", converged\n")
	case !apply && len(r.Ops) == 0 && len(r.Conflicts) == 0:
		fmt.Fprintf(w, ", up to date\n")
	default:
		fmt.Fprintln(w)
	}
	for _, op := range r.Ops {
		fmt.Fprintf(w, "  %s\n", op)
	}
	for _, c := range r.Conflicts {
		fmt.Fprintf(w, "  conflict: %s (left alone)\n", c)
	}
	if r.Warning != "" {
		fmt.Fprintf(w, "  warning: %s\n", r.Warning)
	}
	if r.Error != "" {
		fmt.Fprintf(w, "  error: %s\n", r.Error)
	}
}
