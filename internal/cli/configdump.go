package cli

import (
	"context"
	"fmt"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
)

func configDumpCommand() command {
	return command{name: "config-dump", summary: "print the effective config with defaults filled and secrets masked", run: runConfigDump}
}

const configDumpHelp = `
Print the effective configuration: the file with every default filled in,
relative paths resolved and secrets masked as "***". Invalid files print
their problems instead.

Exit status: 0 printed, 2 invalid or unreadable config or bad flags.`

func runConfigDump(_ context.Context, args []string, s IO) int {
	fs := newFlagSet("config-dump", "[--config F] [--format yaml|json]", configDumpHelp, s)
	path := fs.String("config", "sfmcwatch.yaml", "config file")
	format := fs.String("format", "yaml", "output format: yaml or json")
	rest, code, done := parseFlags(fs, args, s)
	if done {
		return code
	}
	if len(rest) > 0 {
		fmt.Fprintln(s.Err, "config-dump: unexpected arguments (use --config F)")
		return ExitUsage
	}
	dump := config.Dump
	switch *format {
	case "yaml":
	case "json":
		dump = config.DumpJSON
	default:
		fmt.Fprintf(s.Err, "config-dump: unknown format %q (want yaml or json)\n", *format)
		return ExitUsage
	}
	cfg, note, err := loadConfigOffline(*path)
	if err != nil {
		printConfigError(s, "config-dump", err)
		return ExitUsage
	}
	if note != "" {
		fmt.Fprintf(s.Err, "config-dump: %s\n", note)
	}
	if err := dump(s.Out, cfg); err != nil {
		fmt.Fprintf(s.Err, "config-dump: %v\n", err)
		return ExitUsage
	}
	return ExitOK
}
