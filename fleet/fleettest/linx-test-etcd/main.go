// Command linx-test-etcd runs a throwaway embedded etcd (package
// fleettest) for demos: its data in DIR, on free loopback ports. It
// prints the client URL on standard output once etcd serves, and runs
// until SIGINT or SIGTERM. Not for production.
//
//	linx-test-etcd DIR
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/linx-net/linx/fleet/fleettest"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: linx-test-etcd DIR")
		os.Exit(2)
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	s, err := fleettest.Run(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(s.Endpoint)
	<-sigs
	s.Stop()
}
