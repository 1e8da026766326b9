package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/linx-net/linx/api/convert"
	"github.com/linx-net/linx/client"
	"github.com/linx-net/linx/config"
	"github.com/linx-net/linx/internal/cliout"
	"github.com/linx-net/linx/messages"
)

func newScopeCmd() *cobra.Command {
	var af apiFlags
	cmd := &cobra.Command{
		Use:   "scope",
		Short: "Spawn, update, stop and list the scopes of a running agent",
		Long: `Spawn, update, stop and list the scopes of a running agent through its
message API: its local socket by default (root and the agent's api.group),
or --api with TLS flags for a remote agent (see 'linx-node status --help').

What an identity may do is the agent's api.authorization: by default root
on the socket may do everything and anyone else may only list. A request
the agent refuses prints "permission denied: …", naming the rule.

Exit codes: 0 success, 1 the agent cannot be reached or refuses the request,
2 usage error.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("missing subcommand: spawn, update, stop or list")
			}
			return usagef("unknown subcommand %q: want spawn, update, stop or list", args[0])
		},
	}
	af.register(cmd.PersistentFlags())
	cmd.AddCommand(newScopeSpawnCmd(&af), newScopeUpdateCmd(&af), newScopeStopCmd(&af), newScopeListCmd(&af))
	return cmd
}

func newScopeSpawnCmd(af *apiFlags) *cobra.Command {
	var (
		file      string
		cfgFile   string
		netns     string
		interval  time.Duration
		protocol  uint32
		adopt     bool
		addresses []string
	)
	cmd := &cobra.Command{
		Use:   "spawn (NAME [flags] | -f FILE | --config FILE [NAME...])",
		Short: "Start a scope on a running agent",
		Long: `Start a scope on a running agent, described by flags, by a message file or
by the agent's configuration file.

With flags, NAME is the scope's name, --netns the namespace it converges
(host, pid:N or path:P), and each --address LINK=PREFIX an address it keeps
on an existing link.

With -f FILE (YAML or JSON), the file is the SpawnScope message of the
message API in protobuf's JSON form (field names as in messages/linx.proto),
which reaches every part of the desired state:

  name: web
  namespace: {path: /var/run/netns/web}
  interval: 30s
  desired:
    links:
      - {name: br0, kind: bridge, up: true}
    addresses:
      - {link: br0, address: 10.0.42.1/24}
    routes:
      - {dst: default, via: 10.0.42.254}

With --config FILE, the scopes come from a configuration file as
'linx-node run' reads it (see the README): each NAME names one of its
scopes, and without NAME every scope of the file is spawned, in the file's
order. The file's state_dir, api and metrics are not used. A scope the
agent refuses (one already running, say) does not stop the others: each
is reported, and the exit code is 1.

A scope whose protocol (or a desired route's override) already marks
routes in the namespace that it did not create is refused, naming them,
unless --adopt-protocol (adopt_protocol in a file) says to take them.

A name that is already running is refused; a stopped or failed one is
replaced. The command returns once the agent accepted the scope; follow it
with 'linx-node status NAME'.`,
		Example: `  linx-node scope spawn web --netns path:/var/run/netns/web --address eth0=10.0.0.2/24
  linx-node scope spawn --config /etc/linx/linx.yaml web
  linx-node scope spawn -f web.yaml --api 10.0.0.7:9477 --tls-cert me.pem --tls-key me-key.pem --tls-ca ca.pem`,
		RunE: func(cmd *cobra.Command, args []string) error {
			var specs []*messages.SpawnScope
			switch {
			case file != "" && cfgFile != "":
				return usagef("-f FILE and --config FILE are exclusive")
			case file != "" || cfgFile != "":
				if cmd.Flags().Changed("netns") || cmd.Flags().Changed("address") {
					return usagef("-f and --config take no --netns or --address: the file says it all")
				}
				if file != "" && len(args) > 0 {
					return usagef("-f FILE takes no NAME: the file names the scope")
				}
				var err error
				if file != "" {
					var spec *messages.SpawnScope
					spec, err = spawnFromFile(file)
					specs = append(specs, spec)
				} else {
					specs, err = spawnFromConfig(cfgFile, args)
				}
				if err != nil {
					return err
				}
			default:
				if len(args) != 1 {
					return usagef("spawn takes one NAME (or -f FILE, or --config FILE), got %q", args)
				}
				spec, err := spawnFromFlags(args[0], netns, addresses)
				if err != nil {
					return err
				}
				specs = append(specs, spec)
			}
			for _, spec := range specs {
				if cmd.Flags().Changed("interval") {
					spec.Interval = durationpb.New(interval)
				}
				if cmd.Flags().Changed("protocol") {
					spec.Protocol = protocol
				}
				if cmd.Flags().Changed("adopt-protocol") {
					spec.AdoptProtocol = adopt
				}
			}
			return withClient(cmd, af, func(ctx context.Context, c *client.Client) error {
				var errs []error
				for _, spec := range specs {
					if err := c.Spawn(ctx, spec); err != nil {
						errs = append(errs, fmt.Errorf("spawning scope %s: %w", spec.GetName(), err))
						continue
					}
					if _, err := fmt.Fprintf(cmd.OutOrStdout(), "scope %s spawned\n", spec.GetName()); err != nil {
						return err
					}
				}
				return errors.Join(errs...)
			})
		},
	}
	f := cmd.Flags()
	f.StringVarP(&file, "file", "f", "", "SpawnScope message as YAML or JSON")
	f.StringVar(&cfgFile, "config", "", "configuration file whose scopes (all, or those named) to spawn")
	f.StringVar(&netns, "netns", "host", "namespace: host, pid:N or path:P")
	f.DurationVar(&interval, "interval", 0, "resync period (default: the agent's, 30s)")
	f.Uint32Var(&protocol, "protocol", 0, "route protocol that marks the scope's routes (default 76)")
	f.BoolVar(&adopt, "adopt-protocol", false, "take routes the scope's protocols already mark, which it did not create, as its own (else the spawn is refused)")
	f.StringArrayVar(&addresses, "address", nil, "LINK=PREFIX address to keep (repeatable)")
	return cmd
}

func newScopeUpdateCmd(af *apiFlags) *cobra.Command {
	var cfgFile string
	cmd := &cobra.Command{
		Use:   "update --config FILE [NAME...]",
		Short: "Replace the desired state of scopes of a running agent",
		Long: `Replace the desired state of running scopes with the one a configuration
file (as 'linx-node run' reads it) gives them, and make them converge at
once (UpdateDesired). Each NAME names one of the file's scopes; without
NAME every scope of the file is updated, in the file's order. Only the
desired state is sent: a changed namespace, interval or protocol needs
'linx-node scope stop' and 'linx-node scope spawn'.

The agent refuses a scope it does not run (or that stopped or failed); a
refusal does not stop the other updates: each is reported, and the exit
code is 1.`,
		Example: `  linx-node scope update --config /etc/linx/linx.yaml web`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if cfgFile == "" {
				return usagef("missing --config FILE")
			}
			specs, err := spawnFromConfig(cfgFile, args)
			if err != nil {
				return err
			}
			return withClient(cmd, af, func(ctx context.Context, c *client.Client) error {
				var errs []error
				for _, spec := range specs {
					if err := c.Update(ctx, spec.GetName(), spec.GetDesired()); err != nil {
						errs = append(errs, fmt.Errorf("updating scope %s: %w", spec.GetName(), err))
						continue
					}
					if _, err := fmt.Fprintf(cmd.OutOrStdout(), "scope %s updated\n", spec.GetName()); err != nil {
						return err
					}
				}
				return errors.Join(errs...)
			})
		},
	}
	cmd.Flags().StringVar(&cfgFile, "config", "", "configuration file that holds the scopes' new desired state")
	return cmd
}

func newScopeStopCmd(af *apiFlags) *cobra.Command {
	var forget bool
	cmd := &cobra.Command{
		Use:   "stop NAME",
		Short: "Stop a scope of a running agent",
		Long: `Stop a scope of a running agent. Nothing is deleted from the kernel: the
scope stops converging. Its status stays listed as stopped unless --forget.
A scope spawned through the API is recorded in the agent's state directory
and resumed when the agent restarts; stopped, it is listed as stopped after
a restart too, and --forget removes its record.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("stop takes one NAME, got %q", args)
			}
			return withClient(cmd, af, func(ctx context.Context, c *client.Client) error {
				var err error
				if forget {
					err = c.Forget(ctx, args[0])
				} else {
					err = c.Stop(ctx, args[0])
				}
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "scope %s stopped\n", args[0])
				return err
			})
		},
	}
	cmd.Flags().BoolVar(&forget, "forget", false, "also remove the scope's status from the agent's list, and its record (it is not resumed at the next start)")
	return cmd
}

func newScopeListCmd(af *apiFlags) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the scopes of a running agent",
		Long:  `List the scopes of a running agent with their status, as 'linx-node status' does.`,
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, err := cliout.ParseFormat(output)
			if err != nil {
				return usageError{err}
			}
			return withClient(cmd, af, func(ctx context.Context, c *client.Client) error {
				list, err := c.List(ctx)
				if err != nil {
					return err
				}
				return writeStatus(cmd.OutOrStdout(), format, list, time.Now())
			})
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table or json")
	return cmd
}

// withClient dials the agent, runs fn, and closes the client. It returns
// dial's errors, and fn's error as a runtime error.
func withClient(cmd *cobra.Command, af *apiFlags, fn func(context.Context, *client.Client) error) error {
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	c, err := af.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	return failed(fn(ctx, c))
}

// spawnFromFile reads a SpawnScope from YAML or JSON. A file that cannot
// be read is a runtime error; one that does not parse is a usage error.
func spawnFromFile(file string) (*messages.SpawnScope, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, failed(err)
	}
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, usagef("%s: %v", file, err)
	}
	spec := &messages.SpawnScope{}
	if err := protojson.Unmarshal(js, spec); err != nil {
		return nil, usagef("%s: not a SpawnScope: %v", file, err)
	}
	if spec.GetName() == "" {
		return nil, usagef("%s: the scope has no name", file)
	}
	return spec, nil
}

// spawnFromConfig loads a configuration file and returns the SpawnScope
// messages of the scopes named (every scope, in the file's order, when
// names is empty). A file that does not load, a name it lacks or a name
// given twice is a usage error.
func spawnFromConfig(file string, names []string) ([]*messages.SpawnScope, error) {
	cfg, err := loadConfig(file)
	if err != nil {
		return nil, err
	}
	scopes := cfg.Scopes
	if len(names) > 0 {
		byName := make(map[string]config.Scope, len(cfg.Scopes))
		for _, s := range cfg.Scopes {
			byName[s.Name] = s
		}
		scopes = nil
		seen := map[string]bool{}
		for _, n := range names {
			s, ok := byName[n]
			switch {
			case !ok:
				return nil, usagef("%s has no scope %q", file, n)
			case seen[n]:
				return nil, usagef("scope %q named twice", n)
			}
			seen[n] = true
			scopes = append(scopes, s)
		}
	}
	if len(scopes) == 0 {
		return nil, usagef("%s has no scopes", file)
	}
	specs := make([]*messages.SpawnScope, 0, len(scopes))
	for _, s := range scopes {
		spec, err := convert.SpawnFromConfig(s)
		if err != nil {
			return nil, usagef("%s: %v", file, err)
		}
		specs = append(specs, spec)
	}
	return specs, nil
}

// spawnFromFlags builds a SpawnScope from the flags form.
func spawnFromFlags(name, netns string, addresses []string) (*messages.SpawnScope, error) {
	ns, err := namespaceFlag(netns)
	if err != nil {
		return nil, err
	}
	d := &messages.Desired{}
	for _, a := range addresses {
		link, prefix, ok := strings.Cut(a, "=")
		if !ok || link == "" || prefix == "" {
			return nil, usagef("--address %q: want LINK=PREFIX, e.g. eth0=10.0.0.2/24", a)
		}
		d.Addresses = append(d.Addresses, &messages.Address{Link: link, Address: prefix})
	}
	return &messages.SpawnScope{Name: name, Namespace: ns, Desired: d}, nil
}

// namespaceFlag parses host, pid:N or path:P into the message form.
func namespaceFlag(s string) (*messages.Namespace, error) {
	switch {
	case s == "host":
		return &messages.Namespace{Kind: &messages.Namespace_Host{Host: true}}, nil
	case strings.HasPrefix(s, "pid:"):
		pid, err := strconv.ParseUint(strings.TrimPrefix(s, "pid:"), 10, 32)
		if err != nil || pid == 0 {
			return nil, usagef("--netns %q: want pid:N with N a process id", s)
		}
		return &messages.Namespace{Kind: &messages.Namespace_Pid{Pid: uint32(pid)}}, nil
	case strings.HasPrefix(s, "path:") && len(s) > len("path:"):
		return &messages.Namespace{Kind: &messages.Namespace_Path{Path: strings.TrimPrefix(s, "path:")}}, nil
	}
	return nil, usagef("--netns %q: want host, pid:N or path:P", s)
}
