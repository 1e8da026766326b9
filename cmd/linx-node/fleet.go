package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/linx-net/linx/api/convert"
	"github.com/linx-net/linx/config"
	"github.com/linx-net/linx/fleet"
	"github.com/linx-net/linx/messages"
)

// fleetFlags reach etcd.
type fleetFlags struct {
	endpoints         []string
	prefix            string
	cert, key, cacert string
	timeout           time.Duration
}

func (f *fleetFlags) client() (*fleet.Client, func(), error) {
	var tc *tls.Config
	if f.cert != "" || f.cacert != "" {
		tc = &tls.Config{MinVersion: tls.VersionTLS12}
		if f.cert != "" {
			pair, err := tls.LoadX509KeyPair(f.cert, f.key)
			if err != nil {
				return nil, nil, usagef("--cert/--key: %v", err)
			}
			tc.Certificates = []tls.Certificate{pair}
		}
		if f.cacert != "" {
			pem, err := os.ReadFile(f.cacert)
			if err != nil {
				return nil, nil, usagef("--cacert: %v", err)
			}
			tc.RootCAs = x509.NewCertPool()
			if !tc.RootCAs.AppendCertsFromPEM(pem) {
				return nil, nil, usagef("--cacert %s: no PEM certificate", f.cacert)
			}
		}
	}
	etcd, err := clientv3.New(clientv3.Config{Endpoints: f.endpoints, TLS: tc, DialTimeout: f.timeout, Logger: zap.NewNop()})
	if err != nil {
		return nil, nil, failed(fmt.Errorf("connecting to etcd %v: %w", f.endpoints, err))
	}
	return fleet.New(etcd, f.prefix), func() { etcd.Close() }, nil
}

func (f *fleetFlags) run(cmd *cobra.Command, fn func(context.Context, *fleet.Client) error) error {
	c, done, err := f.client()
	if err != nil {
		return err
	}
	defer done()
	ctx, cancel := context.WithTimeout(context.Background(), f.timeout)
	defer cancel()
	return failed(fn(ctx, c))
}

func newFleetCmd() *cobra.Command {
	f := &fleetFlags{}
	cmd := &cobra.Command{
		Use:   "fleet",
		Short: "Write and read the desired scopes of a fleet of agents in etcd",
		Long: `Agents configured with a fleet section follow their node's desired scopes
in etcd (<prefix>/v1/nodes/<node>/scopes/<scope>, a SpawnScope in protobuf
JSON), and write each scope's status (<prefix>/v1/status/<node>/<scope>)
and their membership (<prefix>/v1/members/<node>) under a lease.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return usagef("missing command: try %s --help", cmd.CommandPath())
		},
	}
	def := []string{"http://127.0.0.1:2379"}
	if e := os.Getenv("LINX_ETCD_ENDPOINTS"); e != "" {
		def = strings.Split(e, ",")
	}
	pf := cmd.PersistentFlags()
	pf.StringSliceVar(&f.endpoints, "endpoints", def, "etcd client URLs (default from LINX_ETCD_ENDPOINTS)")
	pf.StringVar(&f.prefix, "prefix", config.DefaultFleetPrefix, "the fleet's key prefix")
	pf.StringVar(&f.cert, "cert", "", "client certificate (PEM) for etcd")
	pf.StringVar(&f.key, "key", "", "client certificate's key (PEM)")
	pf.StringVar(&f.cacert, "cacert", "", "CA (PEM) that verifies etcd's certificate")
	pf.DurationVar(&f.timeout, "timeout", 10*time.Second, "how long to wait for etcd")
	cmd.AddCommand(newFleetApplyCmd(f), newFleetStatusCmd(f), newFleetGetCmd(f), newFleetDeleteCmd(f))
	return cmd
}

func newFleetApplyCmd(f *fleetFlags) *cobra.Command {
	var path string
	var dry bool
	cmd := &cobra.Command{
		Use:   "apply -f FLEET.yaml",
		Short: "Make the listed nodes' desired scopes those of the file",
		Long: `Read a fleet file (nodes: [...], and scopes: as in the configuration file),
print for each node the changes (spawn, update, stop) that make its desired
scopes exactly the file's, and write them, one transaction per node. A node
whose scopes another writer changed meanwhile is refused; apply again.
--dry-run prints the changes only.`,
		Example: `  linx-node fleet apply -f fleet.yaml --dry-run
  linx-node fleet apply -f fleet.yaml --endpoints https://etcd-1:2379 --cacert ca.pem --cert me.pem --key me-key.pem`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if path == "" {
				return usagef("apply needs -f FLEET.yaml")
			}
			data, err := config.ReadFile(path)
			if err != nil {
				return usageError{err}
			}
			ff, err := config.ParseFleet(path, data)
			if err != nil {
				return usageError{err}
			}
			specs := make([]*messages.SpawnScope, 0, len(ff.Scopes))
			for _, s := range ff.Scopes {
				m, err := convert.SpawnFromConfig(s)
				if err != nil {
					return usagef("%v", err)
				}
				specs = append(specs, m)
			}
			out := cmd.OutOrStdout()
			return f.run(cmd, func(ctx context.Context, c *fleet.Client) error {
				var todo []string
				for _, node := range ff.Nodes {
					changes, _, err := c.Plan(ctx, node, specs)
					if err != nil {
						return err
					}
					printChanges(out, node, changes)
					if len(changes) > 0 {
						todo = append(todo, node)
					}
				}
				if dry || len(todo) == 0 {
					return nil
				}
				_, err := c.ApplyNodes(ctx, todo, specs)
				return err
			})
		},
	}
	cmd.Flags().StringVarP(&path, "file", "f", "", "fleet file (YAML)")
	cmd.Flags().BoolVar(&dry, "dry-run", false, "print the changes only")
	return cmd
}

func printChanges(w io.Writer, node string, changes []fleet.Change) {
	if len(changes) == 0 {
		fmt.Fprintf(w, "%s: no change\n", node)
		return
	}
	for _, ch := range changes {
		fmt.Fprintf(w, "%s: %s %s\n", node, ch.Op, ch.Scope)
	}
}

// fleetRow is one line of fleet status.
type fleetRow struct {
	Node      string `json:"node"`
	Live      bool   `json:"live"`
	Scope     string `json:"scope,omitempty"`
	Phase     string `json:"phase,omitempty"`
	Reason    string `json:"reason,omitempty"`
	LastError string `json:"last_error,omitempty"`
}

func newFleetStatusCmd(f *fleetFlags) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show every node and scope: liveness, phase, last error",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "text" && output != "json" {
				return usagef("--output: want text or json, got %q", output)
			}
			return f.run(cmd, func(ctx context.Context, c *fleet.Client) error {
				members, err := c.Members(ctx)
				if err != nil {
					return err
				}
				statuses, err := c.Statuses(ctx)
				if err != nil {
					return err
				}
				desired, err := c.Desired(ctx)
				if err != nil {
					return err
				}
				nodes := map[string]bool{}
				for _, m := range []map[string]bool{keysOf(members), keysOf(statuses), keysOf(desired)} {
					maps.Copy(nodes, m)
				}
				var rows []fleetRow
				for _, node := range slices.Sorted(maps.Keys(nodes)) {
					_, live := members[node]
					scopes := keysOf(desired[node])
					maps.Copy(scopes, keysOf(statuses[node]))
					if len(scopes) == 0 {
						rows = append(rows, fleetRow{Node: node, Live: live})
					}
					for _, s := range slices.Sorted(maps.Keys(scopes)) {
						r := fleetRow{Node: node, Live: live, Scope: s, Phase: "unknown"}
						if st := statuses[node][s]; st != nil {
							r.Phase = strings.ToLower(strings.TrimPrefix(st.GetPhase().String(), "PHASE_"))
							r.Reason, r.LastError = st.GetReason(), st.GetLastError()
						}
						if _, ok := desired[node][s]; !ok {
							r.Phase += " (not desired)"
						}
						rows = append(rows, r)
					}
				}
				out := cmd.OutOrStdout()
				if output == "json" {
					e := json.NewEncoder(out)
					e.SetIndent("", "  ")
					return e.Encode(rows)
				}
				tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NODE\tLIVE\tSCOPE\tPHASE\tLAST ERROR")
				for _, r := range rows {
					live := "no"
					if r.Live {
						live = "yes"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Node, live, r.Scope, r.Phase, r.LastError)
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}

func keysOf[V any](m map[string]V) map[string]bool {
	out := make(map[string]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}

func newFleetGetCmd(f *fleetFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "get [NODE [SCOPE]]",
		Short: "Print desired scopes (protobuf JSON), of every node or one",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 2 {
				return usagef("get takes at most NODE and SCOPE, got %q", args)
			}
			return f.run(cmd, func(ctx context.Context, c *fleet.Client) error {
				all, err := c.Desired(ctx)
				if err != nil {
					return err
				}
				out := cmd.OutOrStdout()
				for _, node := range slices.Sorted(maps.Keys(all)) {
					if len(args) > 0 && node != args[0] {
						continue
					}
					for _, name := range slices.Sorted(maps.Keys(all[node])) {
						if len(args) > 1 && name != args[1] {
							continue
						}
						v, err := protojson.Marshal(all[node][name])
						if err != nil {
							return err
						}
						fmt.Fprintf(out, "%s/%s %s\n", node, name, v)
					}
				}
				return nil
			})
		},
	}
}

func newFleetDeleteCmd(f *fleetFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "delete NODE SCOPE",
		Short: "Delete a node's desired scope: its agent stops it, leaving its kernel state owned",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 2 {
				return usagef("delete takes NODE and SCOPE, got %q", args)
			}
			return f.run(cmd, func(ctx context.Context, c *fleet.Client) error {
				if err := c.Delete(ctx, args[0], args[1]); err != nil {
					return err
				}
				_, err := fmt.Fprintf(cmd.OutOrStdout(), "%s: delete %s\n", args[0], args[1])
				return err
			})
		},
	}
}
