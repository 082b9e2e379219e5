package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/demo"
)

func demoCommand() command {
	return command{name: "demo", summary: "watch a simulated SFMC tenant fail and recover (no account needed)", run: runDemo}
}

const demoHelp = `
Start a simulated SFMC tenant with a scripted story of failures and run the
whole monitor against it: the engine on SQLite in a temporary directory, on
the simulator's fast clock, and the JSON API. Each incident is printed as it
opens and resolves, with its time to detection; a summary follows.

By default the story (about seven simulated hours) plays in about four real
minutes at --speed 120 and the process exits; --serve keeps the API up
afterwards until Ctrl-C.`

func runDemo(ctx context.Context, args []string, s IO) int {
	fs := newFlagSet("demo", "[--addr A] [--speed X] [--serve] [--duration D] [--digest F] | --measure [--warm-up D] [--json]", demoHelp, s)
	addr := fs.String("addr", "127.0.0.1:8080", "API listen address (a busy port falls back to a free one)")
	speed := fs.Float64("speed", 120, "simulated seconds per real second")
	serve := fs.Bool("serve", false, "keep serving the API after the story until interrupted")
	duration := durationFlag(fs, "duration", 0, "simulated time to run (default: the story plus time to resolve)")
	seed := fs.Int64("seed", 1, "seed of the simulated tenant")
	verbose := fs.Bool("v", false, "log the engine's warnings")
	digestOut := fs.String("digest", "", "after the story, write its weekly digest to this file (.html, .txt, else Markdown)")
	measure := fs.Bool("measure", false, "instead of the story: measure, per rule, fault injection → incident in simulated time, and the API calls per hour of a default-size tenant")
	warmUp := durationFlag(fs, "warm-up", 12*time.Hour, "with --measure: fault-free simulated history before the faults")
	asJSON := fs.Bool("json", false, "with --measure: print the measurement as JSON")
	if _, code, done := parseFlags(fs, args, s); done {
		return code
	}
	level := slog.LevelError
	if *verbose {
		level = slog.LevelWarn
	}
	logger := slog.New(slog.NewTextHandler(s.Err, &slog.HandlerOptions{Level: level}))
	start := time.Now()
	if *measure {
		m, err := demo.Measure(ctx, demo.MeasureOptions{Seed: *seed, WarmUp: *warmUp, Progress: s.Err})
		if err != nil {
			fmt.Fprintf(s.Err, "demo --measure: %v\n", err)
			return ExitFindings
		}
		if *asJSON {
			enc := json.NewEncoder(s.Out)
			enc.SetIndent("", "  ")
			if err := enc.Encode(m); err != nil {
				return ExitFindings
			}
		} else {
			demo.PrintMeasurement(s.Out, m)
			fmt.Fprintf(s.Out, "Measured in %s real time.\n", time.Since(start).Round(time.Second))
		}
		return ExitOK
	}
	res, err := demo.Run(ctx, demo.Options{Addr: *addr, Speed: *speed, Serve: *serve, Duration: *duration, Seed: *seed, Digest: *digestOut, Out: s.Out, Logger: logger})
	if err != nil {
		fmt.Fprintf(s.Err, "demo: %v\n", err)
		return ExitFindings
	}
	fmt.Fprintf(s.Out, "Demo finished in %s real time.\n", time.Since(start).Round(time.Second))
	_ = res
	return ExitOK
}
