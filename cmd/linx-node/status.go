package main

import (
	"context"
	"fmt"
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
	// NarrowedPasses counts the passes that looked only at what the
	// kernel's events said changed; DriftRepaired, by kind, what interval
	// passes repaired although no event had come (0 when healthy).
	NarrowedPasses uint64            `json:"narrowed_passes"`
	DriftRepaired  map[string]uint64 `json:"drift_repaired,omitempty"`
	LastError      string            `json:"last_error,omitempty"`
	// Objects are the desired objects the last pass did not converge (at
	// most 20; ObjectsOmitted counts the rest), Counts the desired objects
	// per kind and how many of them did not converge.
	Objects        []objectRow `json:"objects,omitempty"`
	ObjectsOmitted uint32      `json:"objects_omitted,omitempty"`
	Counts         []countRow  `json:"object_counts,omitempty"`
}

// objectRow is one unconverged object as `status -o json` prints it.
type objectRow struct {
	Kind    string     `json:"kind"`
	Key     string     `json:"key"`
	State   string     `json:"state"`
	Error   string     `json:"error,omitempty"`
	By      string     `json:"by,omitempty"`
	RetryAt *time.Time `json:"retry_at,omitempty"`
}

// countRow counts one kind's desired objects.
type countRow struct {
	Kind      string `json:"kind"`
	Desired   uint32 `json:"desired"`
	Converged uint32 `json:"converged"`
	Failed    uint32 `json:"failed"`
	Blocked   uint32 `json:"blocked"`
	Conflict  uint32 `json:"conflict"`
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
		NarrowedPasses:  st.GetNarrowedPasses(),
		DriftRepaired:   st.GetDriftRepaired(),
		LastError:       st.GetLastError(),
	}
	if st.GetLastPass() != nil {
		t := st.GetLastPass().AsTime()
		r.LastPass = &t
	}
	if st.GetLastPassDuration() != nil {
		r.LastPassDuration = st.GetLastPassDuration().AsDuration().String()
	}
	for _, o := range st.GetObjects() {
		row := objectRow{Kind: o.GetKind(), Key: o.GetKey(), State: o.GetState(), Error: o.GetError(), By: o.GetBy()}
		if o.GetRetryAt() != nil {
			t := o.GetRetryAt().AsTime()
			row.RetryAt = &t
		}
		r.Objects = append(r.Objects, row)
	}
	r.ObjectsOmitted = st.GetObjectsOmitted()
	for _, c := range st.GetObjectCounts() {
		bad := c.GetFailed() + c.GetBlocked() + c.GetConflict()
		r.Counts = append(r.Counts, countRow{Kind: c.GetKind(), Desired: c.GetDesired(), Converged: c.GetDesired() - min(bad, c.GetDesired()),
			Failed: c.GetFailed(), Blocked: c.GetBlocked(), Conflict: c.GetConflict()})
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
	return []string{"SCOPE", "PHASE", "LAST PASS", "TOOK", "PASSES", "NARROWED", "OPS", "CONFLICTS", "RESTARTS", "RESYNCS", "OVERRUNS", "DRIFT", "ERROR"}
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
	var drift uint64
	for _, n := range l.DriftRepaired {
		drift += n
	}
	return []string{l.Name, l.Phase, last, l.LastPassDuration, strconv.FormatUint(l.Passes, 10), strconv.FormatUint(l.NarrowedPasses, 10),
		u32(l.OpsApplied), u32(l.Conflicts), u32(l.Restarts), u32(l.Resyncs), u32(l.MonitorOverruns), strconv.FormatUint(drift, 10), msg}
}

func u32(n uint32) string { return strconv.FormatUint(uint64(n), 10) }

// objectLine is an unconverged object as a table line.
type objectLine struct {
	objectRow
	now time.Time
}

// Header implements cliout.Row.
func (objectLine) Header() []string { return []string{"  STATE", "KIND", "KEY", "BY / ERROR"} }

// Cells implements cliout.Row.
func (l objectLine) Cells() []string {
	why := l.By
	if l.State == "failed" {
		why = l.Error
		if l.RetryAt != nil && l.RetryAt.After(l.now) {
			why += " (retried in " + l.RetryAt.Sub(l.now).Round(time.Second).String() + ")"
		}
	}
	return []string{"  " + l.State, l.Kind, l.Key, why}
}

// writeStatus prints list in format f; now dates the table's "last pass"
// column as an age. A table is followed, for each scope with objects that
// did not converge, by a line counting the converged ones per kind and a
// table of the others. It returns the first write error.
func writeStatus(w io.Writer, f cliout.Format, list []*messages.ScopeStatus, now time.Time) error {
	lines := make([]statusLine, 0, len(list))
	for _, st := range list {
		lines = append(lines, statusLine{toRow(st), now})
	}
	if err := cliout.Write(w, f, lines); err != nil || f != cliout.FormatTable {
		return err
	}
	for _, l := range lines {
		if len(l.Objects) == 0 {
			continue
		}
		var desired, converged uint32
		var kinds []string
		for _, c := range l.Counts {
			desired += c.Desired
			converged += c.Converged
			kinds = append(kinds, fmt.Sprintf("%s %d/%d", c.Kind, c.Converged, c.Desired))
		}
		if _, err := fmt.Fprintf(w, "\n%s: %d of %d desired objects converged (%s)\n", l.Name, converged, desired, strings.Join(kinds, ", ")); err != nil {
			return err
		}
		objs := make([]objectLine, len(l.Objects))
		for i, o := range l.Objects {
			objs[i] = objectLine{o, now}
		}
		if err := cliout.Write(w, f, objs); err != nil {
			return err
		}
		if l.ObjectsOmitted > 0 {
			if _, err := fmt.Fprintf(w, "  … and %d more\n", l.ObjectsOmitted); err != nil {
				return err
			}
		}
	}
	return nil
}
