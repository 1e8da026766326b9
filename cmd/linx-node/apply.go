package main

import "github.com/spf13/cobra"

func newApplyCmd() *cobra.Command {
	var path, output string
	cmd := &cobra.Command{
		Use:   "apply --config FILE",
		Short: "Run one reconcile pass in each configured scope, then exit",
		Long: `Converge each scope of the configuration file in a single pass, without
a daemon: list the namespace, compute the difference with the desired
state, apply it, and print what was done. Ownership is kept in the ledgers
in state_dir (created 0700), exactly as the agent keeps it, so apply and
run may take turns on the same scopes; do not run apply while an agent
converges the same scopes, or each may undo what the other does.

Exit status: 0 when every scope converged, 1 when a scope failed or has
conflicts (desired objects held by foreign state, left alone), 2 for an
invalid configuration.`,
		Example: `  linx-node apply --config /etc/linx/linx.yaml
  linx-node apply --config linx.yaml -o json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := passCommand(cmd.OutOrStdout(), path, output, true)
			return err
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", defaultConfig, "configuration file")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}
