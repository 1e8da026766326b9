// Command linx-node is the Linx node agent and its command line.
//
// `linx-node show` prints the links, addresses, routes, neighbours, policy
// rules or link statistics of a network namespace, as a table, JSON or
// YAML, streamed as the kernel's dump arrives (memory bounded whatever the
// table's size);
// `linx-node monitor` prints their changes as they happen; `plan` and
// `apply` compute or run one reconcile pass per scope of a configuration
// file; `run` is the node agent (see package internal/agent); `status` and
// `scope` talk to a running agent over its message API (its local socket by
// default, TCP with mutual TLS with --api):
//
//	linx-node show links|addresses|routes|neighbours|rules|stats [SELECTOR...]
//	    [-n|--netns host|pid:N|path:P|NAME] [-o table|json|yaml] [-4|-6]
//	linx-node monitor [OBJECT...] [-t] [-n|--netns …] [-o text|json]
//	linx-node plan [--config FILE] [-o text|json] [--exit-code]
//	linx-node apply [--config FILE] [-o text|json]
//	linx-node run [--config FILE] [--log-level debug|info|warn|error]
//	linx-node status [SCOPE...] [-o table|json|yaml] [--socket PATH | --api ADDR TLS flags]
//	linx-node scope spawn NAME --netns … --address LINK=PREFIX | spawn --config FILE [NAME...] | spawn -f FILE
//	linx-node scope update --config FILE [NAME...]
//	linx-node scope stop NAME [--forget]
//	linx-node scope list
//	linx-node version (or --version)
//	linx-node completion bash|zsh|fish
//
// The show objects shorten as ip's do (show r, show a) and take ip's
// selectors (show routes table 100 proto bird dev eth0 root 10.0.0.0/8),
// which the kernel filters where it can. With IFNAME, links, addresses,
// neighbours and stats show that interface only, and routes those leaving
// through it. --netns (-n) names the namespace: "host" (the default) is the
// command's own, "pid:N" that of process N, "path:P" the one bound at P,
// and a bare NAME the one `ip netns` made (/var/run/netns/NAME). --config
// defaults to /etc/linx/linx.yaml. plan prints a diff (+ create, - delete,
// ~ update with old → new) of what apply would do, found by running the
// same pass against a copy in memory of the namespace and of the ledger:
// it writes nothing, in the namespace or in state_dir.
//
// Exit codes: 0 on success (for run and monitor: stopped by SIGINT or
// SIGTERM); 1 when the kernel or the system refuses (the error, for a
// netlink failure in the form
// `netlink ENODEV (19): no such interface "nope0"`, is printed on standard
// error), or when apply leaves a scope failed or in conflict; 2 for a usage
// error (unknown command, flag or value) or an invalid configuration file
// (every problem printed as file:line; nothing is started or applied); 3
// for plan --exit-code with changes to make. A reader that closes the
// output early (| head) ends a command with status 0 and no message.
package main
