// Command pullcheck tells why a Kubernetes pod cannot pull its image, with evidence and fixes.
//
// main is wiring only: it parses the command line, builds the collectors and the engine, and
// turns errors into exit codes (see cli.go).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	// The alert schedules take an IANA time zone; the runtime image has no zoneinfo.
	_ "time/tzdata"
)

func main() {
	os.Exit(run())
}

func run() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return newCLI(os.Stdin, os.Stdout, os.Stderr, os.LookupEnv).Run(ctx, os.Args[1:])
}
