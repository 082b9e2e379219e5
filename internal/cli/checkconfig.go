package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
)

func checkConfigCommand() command {
	return command{name: "check-config", summary: "validate a config file and print its problems", run: runCheckConfig}
}

const checkConfigHelp = `
Load, default and validate the config file without contacting SFMC. Prints
"ok" with a short summary and any warnings when the file is valid; otherwise
prints every problem as file:line:column: key: message.

Exit status: 0 valid, 1 valid with warnings and --strict, 2 invalid or
unreadable.`

func runCheckConfig(_ context.Context, args []string, s IO) int {
	fs := newFlagSet("check-config", "[--config F] [--strict]", checkConfigHelp, s)
	path := fs.String("config", "sfmcwatch.yaml", "config file")
	strict := fs.Bool("strict", false, "exit 1 when there are warnings")
	rest, code, done := parseFlags(fs, args, s)
	if done {
		return code
	}
	if len(rest) > 0 {
		fmt.Fprintln(s.Err, "check-config: unexpected arguments (use --config F)")
		return ExitUsage
	}
	cfg, err := config.Load(*path)
	if err != nil {
		printConfigError(s, "check-config", err)
		return ExitUsage
	}
	monitors, rules := 0, 0
	for i := range cfg.Tenants {
		cfg.Tenants[i].Monitors.Each(func(_ string, m *config.Monitor) {
			if m.Enabled {
				monitors++
			}
		})
	}
	all := cfg.Rules.All()
	for _, r := range all {
		if r.Base.Enabled {
			rules++
		}
	}
	fmt.Fprintf(s.Out, "ok: %s: %d tenant(s), %d monitor(s) enabled, %d of %d rules enabled, %d ingest source(s), storage %s\n",
		*path, len(cfg.Tenants), monitors, rules, len(all), len(cfg.Ingest.Sources), cfg.Storage.Driver)
	for _, t := range cfg.Tenants {
		fmt.Fprintf(s.Out, "  tenant %s: ~%d API calls/day of a %s budget\n", t.Name, t.EstimatedDailyCalls(), budgetText(t.DailyAPIBudget))
	}
	for _, w := range cfg.Warnings {
		fmt.Fprintf(s.Out, "warning: %s\n", w)
	}
	if *strict && len(cfg.Warnings) > 0 {
		return ExitFindings
	}
	return ExitOK
}

func budgetText(b int64) string {
	if b == 0 {
		return "unlimited"
	}
	return fmt.Sprintf("%d", b)
}

// printConfigError prints every problem of a config error, one a line.
func printConfigError(s IO, cmd string, err error) {
	var ce *config.Error
	if errors.As(err, &ce) {
		for _, p := range ce.Problems {
			fmt.Fprintf(s.Err, "error: %s\n", p)
		}
		fmt.Fprintf(s.Err, "%s: %d problem(s); the config is invalid\n", cmd, len(ce.Problems))
		return
	}
	fmt.Fprintf(s.Err, "%s: %v\n", cmd, err)
}
