// Command linx-node is the Linx node agent and its command line.
//
// Today it reads: `linx-node show` prints the links, addresses, routes,
// neighbours, policy rules or link statistics of a network namespace, as a
// table or as JSON:
//
//	linx-node show links|addresses|routes|neighbours|rules|stats [IFNAME]
//	    [--netns host|pid:N|path:P] [-o table|json]
//	linx-node version
//
// With IFNAME, links, addresses, neighbours and stats show that interface
// only, and routes those leaving through it. --netns names the namespace:
// "host" (the default) is the command's own, "pid:N" that of process N,
// "path:P" the one bound at P (such as /var/run/netns/NAME).
//
// Exit codes: 0 on success; 1 when the kernel or the system refuses (the
// error, for a netlink failure in the form
// `netlink ENODEV (19): no such interface "nope0"`, is printed on standard
// error); 2 for a usage error (unknown command, flag or value).
package main
