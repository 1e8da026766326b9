package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	// A write to a pipe whose reader left fails with EPIPE, which run
	// treats as a normal end, instead of killing the process by SIGPIPE.
	signal.Ignore(syscall.SIGPIPE)
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
