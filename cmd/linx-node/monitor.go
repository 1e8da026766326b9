package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/linx-net/linx/diff"
	"github.com/linx-net/linx/internal/cliout"
	"github.com/linx-net/linx/rtnl"
	"github.com/linx-net/linx/rtnl/monitor"
)

// monitorObjects are the objects `monitor` can be limited to, in ip
// monitor's words and order (a prefix selects the first that matches).
var monitorObjects = [...]struct {
	name  string
	longs []string
}{
	{"link", []string{"links"}},
	{"address", []string{"addresses"}},
	{"route", []string{"routes"}},
	{"neighbour", []string{"neighbours", "neighbors"}},
	{"rule", []string{"rules"}},
	{"nexthop", []string{"nexthops"}},
}

// parseMonitorObjects returns the set of objects args name ("route",
// "r", "neigh"…), nil for every object. An unknown one is a usage error.
func parseMonitorObjects(args []string) (map[string]bool, error) {
	if len(args) == 0 || len(args) == 1 && args[0] == "all" {
		return nil, nil
	}
	want := map[string]bool{}
	for _, a := range args {
		found := ""
	objects:
		for _, o := range monitorObjects {
			for _, l := range o.longs {
				if a != "" && strings.HasPrefix(l, a) {
					found = o.name
					break objects
				}
			}
		}
		if found == "" {
			return nil, usagef("monitor: unknown object %q: want link, address, route, neighbour, rule, nexthop or all", a)
		}
		want[found] = true
	}
	return want, nil
}

func newMonitorCmd() *cobra.Command {
	var netns, output string
	var stamp bool
	cmd := &cobra.Command{
		Use:   "monitor [OBJECT…]",
		Short: "Print the namespace's network changes as they happen, as ip monitor does",
		Long: `Print every change the kernel announces in a network namespace (links,
addresses, routes, neighbours, policy rules), one per line, until
interrupted (SIGINT or SIGTERM, exit status 0). OBJECTs (link, address,
route, neighbour, rule, nexthop, or prefixes of them as ip monitor takes
them)
limit it to those objects.

A text line reads "new route 10.1.0.0/16 via 10.0.0.2 dev v0 (3) table
main proto static": the op (new or del), the object, and its fields as
ip writes them, each interface by name with its index beside it. -t puts
the time in front ([2026-01-02T15:04:05.000000Z]).

With -o json each line is a JSON object: {"op": "new"|"del"|"resync",
"object": "link"|"address"|"route"|"neighbour"|"rule"|"nexthop", "deleted": bool,
and the object under its name ("route": {...}) as linx-node show -o json
prints it}; -t adds "time" (RFC 3339, UTC). A "resync" line means the
kernel dropped notifications (the socket's buffer overran): changes were
lost and only a fresh listing tells the current state.`,
		Example: `  linx-node monitor
  linx-node monitor route -t
  linx-node monitor --netns blue -o json`,
		Args: cobra.ArbitraryArgs,
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return []string{"link", "address", "route", "neighbour", "rule", "nexthop", "all"}, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "text" && output != "json" {
				return usagef("output format %q: want text or json", output)
			}
			objects, err := parseMonitorObjects(args)
			if err != nil {
				return err
			}
			ns, err := parseNetns(netns)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			p := &eventPrinter{w: cmd.OutOrStdout(), json: output == "json", stamp: stamp, objects: objects}
			return failed(watch(ctx, ns, p))
		},
	}
	addNetnsFlag(cmd.Flags(), &netns, "namespace to watch")
	_ = cmd.RegisterFlagCompletionFunc("netns", completeNetns)
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	_ = cmd.RegisterFlagCompletionFunc("output", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp
	})
	cmd.Flags().BoolVarP(&stamp, "timestamp", "t", false, "print the time of each event")
	return cmd
}

// watch prints the events of namespace ns with p until ctx is done. It
// returns nil then, or the error that stopped it.
func watch(ctx context.Context, ns rtnl.Namespace, p *eventPrinter) error {
	m, err := monitor.Open(ns)
	if err != nil {
		return err
	}
	defer m.Close()
	// Interface names, kept current from link events.
	s, err := rtnl.Open(ns)
	if err != nil {
		return err
	}
	p.names, err = names(s)
	s.Close()
	if err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-m.Events():
			if !ok {
				return nil
			}
			if err := p.print(ev, time.Now()); err != nil {
				return err
			}
		}
	}
}

// eventPrinter prints monitor events as text or JSON lines.
type eventPrinter struct {
	w       io.Writer
	json    bool
	stamp   bool
	objects map[string]bool // nil: all
	names   cliout.Names
}

// eventKind returns the event's object name and diff kind ("" for a
// resync).
func eventKind(ev monitor.Event) (string, diff.Kind) {
	switch ev.Op {
	case monitor.NewLink, monitor.DelLink:
		return "link", diff.KindLink
	case monitor.NewAddress, monitor.DelAddress:
		return "address", diff.KindAddress
	case monitor.NewRoute, monitor.DelRoute:
		return "route", diff.KindRoute
	case monitor.NewNeighbour, monitor.DelNeighbour:
		return "neighbour", diff.KindNeighbour
	case monitor.NewRule, monitor.DelRule:
		return "rule", diff.KindRule
	case monitor.NewNexthop, monitor.DelNexthop:
		return "nexthop", diff.KindNexthop
	}
	return "", 0
}

// opWord returns "new", "del" or "resync".
func opWord(ev monitor.Event) string {
	switch {
	case ev.Op == monitor.ResyncNeeded:
		return "resync"
	case ev.Op.IsDelete():
		return "del"
	}
	return "new"
}

// print writes ev, seen at t, unless the object filter leaves it out; a
// resync is always written. It returns the write's error.
func (p *eventPrinter) print(ev monitor.Event, t time.Time) error {
	object, kind := eventKind(ev)
	if ev.Link != nil {
		if ev.Op.IsDelete() {
			defer delete(p.names, ev.Link.Index)
		} else {
			p.names[ev.Link.Index] = ev.Link.Name
		}
	}
	if object != "" && p.objects != nil && !p.objects[object] {
		return nil
	}
	if p.json {
		out := eventJSON(ev, p.names)
		if p.stamp {
			out["time"] = t.UTC().Format(time.RFC3339Nano)
		}
		b, err := json.Marshal(out)
		if err != nil {
			return err
		}
		_, err = p.w.Write(append(b, '\n'))
		return err
	}
	var b strings.Builder
	if p.stamp {
		b.WriteString("[" + t.UTC().Format("2006-01-02T15:04:05.000000Z") + "] ")
	}
	b.WriteString(opWord(ev))
	if object != "" {
		b.WriteString(" " + object)
	}
	if ev.Resource() != nil {
		// Interfaces by name, their index beside.
		named := make(cliout.Names, len(p.names))
		for i, n := range p.names {
			named[i] = n + " (" + strconv.Itoa(i) + ")"
		}
		op := diff.Op{Kind: kind, Action: diff.Create}
		switch {
		case ev.Link != nil:
			op.Link = ev.Link
			b.WriteString(" " + strconv.Itoa(ev.Link.Index) + ":")
		case ev.Address != nil:
			op.Address = ev.Address
		case ev.Route != nil:
			op.Route = ev.Route
		case ev.Neighbour != nil:
			op.Neighbour = ev.Neighbour
		case ev.Rule != nil:
			op.Rule = ev.Rule
		case ev.Nexthop != nil:
			op.Nexthop = ev.Nexthop
		}
		b.WriteString(" " + describe(op, named))
	}
	if ev.Err != nil {
		fmt.Fprintf(&b, " (error: %v)", ev.Err)
	}
	b.WriteByte('\n')
	_, err := io.WriteString(p.w, b.String())
	return err
}

// eventJSON returns the JSON form of ev.
func eventJSON(ev monitor.Event, names cliout.Names) map[string]any {
	object, _ := eventKind(ev)
	out := map[string]any{"op": opWord(ev), "deleted": ev.Op.IsDelete()}
	if object != "" {
		out["object"] = object
	}
	switch {
	case ev.Link != nil:
		out["link"] = cliout.LinkOf(ev.Link, names)
	case ev.Address != nil:
		out["address"] = cliout.AddressOf(ev.Address, names)
	case ev.Route != nil:
		out["route"] = cliout.RouteOf(ev.Route, names)
	case ev.Neighbour != nil:
		out["neighbour"] = cliout.NeighbourOf(ev.Neighbour, names)
	case ev.Rule != nil:
		out["rule"] = cliout.RuleOf(ev.Rule)
	case ev.Nexthop != nil:
		out["nexthop"] = cliout.NexthopOf(ev.Nexthop, names)
	}
	if ev.Err != nil {
		out["error"] = ev.Err.Error()
	}
	return out
}
