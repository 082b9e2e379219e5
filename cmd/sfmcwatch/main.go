// Command sfmcwatch watches a Salesforce Marketing Cloud tenant and the
// integrations that call it, and reports the failures SFMC's own screens hide.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/sfmcwatch/sfmcwatch/internal/buildinfo"
	"github.com/sfmcwatch/sfmcwatch/internal/cli"
)

func main() {
	// Notifications carry the same version `sfmcwatch version` prints.
	if buildinfo.Version == "" {
		buildinfo.Version = cli.BuildVersion()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], cli.IO{In: os.Stdin, Out: os.Stdout, Err: os.Stderr})
	stop()
	os.Exit(code)
}
