package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/linx-net/linx/internal/cliout"
	"github.com/linx-net/linx/rtnl"
	"github.com/linx-net/linx/rtnl/monitor"
)

func newMonitorCmd() *cobra.Command {
	var netns, output string
	cmd := &cobra.Command{
		Use:   "monitor",
		Short: "Print the namespace's network changes as they happen, as ip monitor does",
		Long: `Print every change the kernel announces in a network namespace (links,
addresses, routes, neighbours, policy rules), one per line, until
interrupted (SIGINT or SIGTERM, exit status 0).

With -o json each line is a JSON object: {"op": "...", "deleted": bool,
"link"|"address"|"route"|"neighbour"|"rule": {...}} with the objects as
linx-node show -o json prints them. A "resync" line means the kernel
dropped notifications (the socket's buffer overran): changes were lost and
only a fresh listing tells the current state.`,
		Example: `  linx-node monitor
  linx-node monitor --netns path:/var/run/netns/blue -o json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "text" && output != "json" {
				return usagef("output format %q: want text or json", output)
			}
			ns, err := rtnl.ParseNamespace(netns)
			if err != nil {
				return usageError{err}
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return failed(watch(ctx, cmd.OutOrStdout(), ns, output == "json"))
		},
	}
	cmd.Flags().StringVar(&netns, "netns", "host", "namespace to watch: host, pid:N or path:P")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}

// watch prints the events of namespace ns to w until ctx is done. It
// returns nil then, or the error that stopped it.
func watch(ctx context.Context, w io.Writer, ns rtnl.Namespace, asJSON bool) error {
	m, err := monitor.Open(ns)
	if err != nil {
		return err
	}
	defer m.Close()
	// Interface names for the JSON views, kept current from link events.
	var names cliout.Names
	if asJSON {
		s, err := rtnl.Open(ns)
		if err != nil {
			return err
		}
		links, err := s.Links()
		s.Close()
		if err != nil {
			return err
		}
		names = cliout.NamesOf(links)
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-m.Events():
			if !ok {
				return nil
			}
			if !asJSON {
				if _, err := fmt.Fprintln(w, ev.String()); err != nil {
					return err
				}
				continue
			}
			if err := enc.Encode(eventJSON(ev, names)); err != nil {
				return err
			}
		}
	}
}

// eventJSON returns the JSON form of ev, updating names from link events.
func eventJSON(ev monitor.Event, names cliout.Names) map[string]any {
	out := map[string]any{"op": ev.Op.String(), "deleted": ev.Op.IsDelete()}
	switch {
	case ev.Link != nil:
		if ev.Op.IsDelete() {
			delete(names, ev.Link.Index)
		} else {
			names[ev.Link.Index] = ev.Link.Name
		}
		out["link"] = cliout.Links([]rtnl.Link{*ev.Link}, names)[0]
	case ev.Address != nil:
		out["address"] = cliout.Addresses([]rtnl.Address{*ev.Address}, names)[0]
	case ev.Route != nil:
		out["route"] = cliout.Routes([]rtnl.Route{*ev.Route}, names)[0]
	case ev.Neighbour != nil:
		out["neighbour"] = cliout.Neighbours([]rtnl.Neighbour{*ev.Neighbour}, names)[0]
	case ev.Rule != nil:
		out["rule"] = cliout.Rules([]rtnl.Rule{*ev.Rule})[0]
	}
	if ev.Err != nil {
		out["error"] = ev.Err.Error()
	}
	return out
}
