package main

import (
	"context"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/linx-net/linx/client"
	"github.com/linx-net/linx/internal/cliout"
	"github.com/linx-net/linx/messages"
)

// apiFlags are the flags of the commands that talk to a running agent
// through the message API: its local socket by default, TCP with mutual
// TLS with --api.
type apiFlags struct {
	socket        string
	addr          string
	cert, key, ca string
	reply         string
	timeout       time.Duration
}

func (f *apiFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.socket, "socket", client.DefaultSocket, "the agent's local socket (its api.socket)")
	fs.StringVar(&f.addr, "api", "", "a remote agent's message API address, host:port (its api.listen; needs --tls-cert, --tls-key and --tls-ca)")
	fs.StringVar(&f.cert, "tls-cert", "", "client certificate (PEM) for an agent with mutual TLS")
	fs.StringVar(&f.key, "tls-key", "", "client certificate's key (PEM)")
	fs.StringVar(&f.ca, "tls-ca", "", "CA certificate (PEM) that signed the agent's certificate")
	fs.StringVar(&f.reply, "reply", client.DefaultListen, "this side's reply endpoint, host:port, reachable by the agent")
	fs.DurationVar(&f.timeout, "timeout", client.DefaultTimeout, "bound on each request to the agent")
}

// dial connects to the agent. Inconsistent TLS flags are a usage error;
// an agent that cannot be reached or refuses is a runtime error.
func (f *apiFlags) dial(ctx context.Context) (*client.Client, error) {
	n := 0
	for _, s := range []string{f.cert, f.key, f.ca} {
		if s != "" {
			n++
		}
	}
	if n != 0 && n != 3 {
		return nil, usagef("--tls-cert, --tls-key and --tls-ca go together")
	}
	if f.timeout <= 0 {
		return nil, usagef("--timeout must be positive, got %s", f.timeout)
	}
	if f.addr == "" {
		if n != 0 {
			return nil, usagef("--tls-cert, --tls-key and --tls-ca go with --api: the local socket is checked by credentials")
		}
		c, err := client.DialSocket(ctx, f.socket, client.WithTimeout(f.timeout))
		if err != nil {
			return nil, failed(err)
		}
		return c, nil
	}
	if n != 3 {
		return nil, usagef("--api %s: the message API over TCP always uses mutual TLS: give --tls-cert, --tls-key and --tls-ca (or use the local socket, --socket)", f.addr)
	}
	opts := []client.Option{client.WithListen(f.reply), client.WithTimeout(f.timeout), client.WithTLS(f.cert, f.key, f.ca)}
	c, err := client.Dial(ctx, f.addr, opts...)
	if err != nil {
		return nil, failed(err)
	}
	return c, nil
}

func newStatusCmd() *cobra.Command {
	var (
		af     apiFlags
		output string
	)
	cmd := &cobra.Command{
		Use:   "status [SCOPE...]",
		Short: "Print the status of a running agent's scopes",
		Long: `Print the status of every scope of a running agent (or of the named ones),
asked through its message API: phase, when the last pass ran and how long it
took, the operations it applied, restarts, resyncs, monitor overruns and the
last error (or the reason a scope is stopped, failed or waiting). A scope
whose path: namespace is not there (not created yet, or deleted) is in
phase waiting, with the path it waits for as its reason; it starts as soon
as the namespace appears.

By default the agent is asked through its local socket (api.socket,
/run/linx/linx.sock), which admits root and the members of api.group. For a
remote agent, --api names its api.listen; TCP always uses mutual TLS: give a
client certificate it trusts with --tls-cert and --tls-key, and the CA of its
own certificate with --tls-ca.

Exit codes: 0 success, 1 the agent cannot be reached, refuses, or has no
such scope, 2 usage error.`,
		Example: `  linx-node status
  linx-node status web -o json
  linx-node status --api 10.0.0.7:9477 --tls-cert me.pem --tls-key me-key.pem --tls-ca ca.pem`,
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := cliout.ParseFormat(output)
			if err != nil {
				return usageError{err}
			}
			return withClient(cmd, &af, func(ctx context.Context, c *client.Client) error {
				var list []*messages.ScopeStatus
				if len(args) == 0 {
					var err error
					if list, err = c.List(ctx); err != nil {
						return err
					}
				}
				for _, name := range args {
					st, err := c.Status(ctx, name)
					if err != nil {
						return err
					}
					list = append(list, st)
				}
				return writeStatus(cmd.OutOrStdout(), format, list, time.Now())
			})
		},
	}
	af.register(cmd.Flags())
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table or json")
	return cmd
}

// statusRow is one scope's status as `status -o json` prints it.
type statusRow struct {
	Name             string     `json:"name"`
	Phase            string     `json:"phase"`
	Reason           string     `json:"reason,omitempty"`
	LastPass         *time.Time `json:"last_pass,omitempty"`
	LastPassDuration string     `json:"last_pass_duration,omitempty"`
	Passes           uint64     `json:"passes"`
	OpsApplied       uint32     `json:"ops_applied"`
	Conflicts        uint32     `json:"conflicts"`
	Restarts         uint32     `json:"restarts"`
	Resyncs          uint32     `json:"resyncs"`
	MonitorOverruns  uint32     `json:"monitor_overruns"`
	LastError        string     `json:"last_error,omitempty"`
}

// phaseName is a Phase without its PHASE_ prefix, in lower case.
func phaseName(p messages.Phase) string {
	return strings.ToLower(strings.TrimPrefix(p.String(), "PHASE_"))
}

func toRow(st *messages.ScopeStatus) statusRow {
	r := statusRow{
		Name:            st.GetName(),
		Phase:           phaseName(st.GetPhase()),
		Reason:          st.GetReason(),
		Passes:          st.GetPasses(),
		OpsApplied:      st.GetOpsApplied(),
		Conflicts:       st.GetConflicts(),
		Restarts:        st.GetRestarts(),
		Resyncs:         st.GetResyncs(),
		MonitorOverruns: st.GetMonitorOverruns(),
		LastError:       st.GetLastError(),
	}
	if st.GetLastPass() != nil {
		t := st.GetLastPass().AsTime()
		r.LastPass = &t
	}
	if st.GetLastPassDuration() != nil {
		r.LastPassDuration = st.GetLastPassDuration().AsDuration().String()
	}
	return r
}

// statusLine is a statusRow as a table line: now dates the "last pass"
// column as an age. Its JSON form is the statusRow's.
type statusLine struct {
	statusRow
	now time.Time
}

// Header implements cliout.Row.
func (statusLine) Header() []string {
	return []string{"SCOPE", "PHASE", "LAST PASS", "TOOK", "PASSES", "OPS", "CONFLICTS", "RESTARTS", "RESYNCS", "OVERRUNS", "ERROR"}
}

// Cells implements cliout.Row.
func (l statusLine) Cells() []string {
	var last string
	if l.LastPass != nil {
		last = l.now.Sub(*l.LastPass).Truncate(time.Second).String() + " ago"
	}
	msg := l.LastError
	if msg == "" || l.Phase == phaseName(messages.Phase_PHASE_WAITING) {
		msg = l.Reason // what a waiting scope waits for
	}
	return []string{l.Name, l.Phase, last, l.LastPassDuration, strconv.FormatUint(l.Passes, 10),
		u32(l.OpsApplied), u32(l.Conflicts), u32(l.Restarts), u32(l.Resyncs), u32(l.MonitorOverruns), msg}
}

func u32(n uint32) string { return strconv.FormatUint(uint64(n), 10) }

// writeStatus prints list in format f; now dates the table's "last pass"
// column as an age. It returns the first write error.
func writeStatus(w io.Writer, f cliout.Format, list []*messages.ScopeStatus, now time.Time) error {
	lines := make([]statusLine, 0, len(list))
	for _, st := range list {
		lines = append(lines, statusLine{toRow(st), now})
	}
	return cliout.Write(w, f, lines)
}
