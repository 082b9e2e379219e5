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

// demoHelp describes the story as internal/demo/story.yaml has it now: its
// simulated length (plus the 45 minutes the demo adds for the last
// incidents to resolve) and the real time it takes at the default speed.
func demoHelp() string {
	sim, real := demoStoryTimes(120)
	return fmt.Sprintf(`
Start a simulated SFMC tenant with a scripted story of failures and run the
whole monitor against it: the engine on SQLite in a temporary directory, on
the simulator's clock, the recording proxy with four simulated integrations,
the alerting pipeline (a console receiver and a signed local webhook), and
the dashboard and JSON API with a generated login.

The tenant is already broken when the story starts (an automation erroring
for days, a paused automation, an inactive triggered send, a stopped
journey): the first cycle finds them and prints a "First look:" line. Then
the story (internal/demo/story.yaml) rotates credentials, throttles the REST
API, fails and hangs automations, stops and stalls journeys, pauses a
triggered send, drops transactional messages, truncates and re-types data
extensions, makes imports reject rows and takes the platform down briefly.
Each incident is printed as it opens and resolves, with its time to
detection; a summary follows.

The demo covers %s of simulated time (the story, then 45 minutes for the
last incidents to resolve); at --speed 120 that is about %s of real time,
and the process exits; --serve keeps the dashboard and API up
afterwards until Ctrl-C. --measure instead measures, per rule, how long a
fault takes to become an incident.

Exit status: 0 the story (or measurement) ran, 1 it failed, 2 usage error.`, sim, real)
}

// demoStoryTimes returns the story's simulated length, as the demo plays it,
// and the real time at speed.
func demoStoryTimes(speed float64) (sim, real string) {
	sc, err := demo.Story()
	if err != nil {
		return "a few hours", "a few minutes"
	}
	var end time.Duration
	for _, e := range sc.Entries {
		at, _ := time.ParseDuration(e.At)
		d, _ := time.ParseDuration(e.For)
		if d == 0 {
			d = 30 * time.Minute
		}
		end = max(end, at+d)
	}
	end += 45 * time.Minute // the demo's time for the last incidents to resolve
	r := time.Duration(float64(end) / speed).Round(10 * time.Second)
	return fmt.Sprintf("%dh%02dm", int(end.Hours()), int(end.Minutes())%60), fmt.Sprintf("%dm%02ds", int(r.Minutes()), int(r.Seconds())%60)
}

func runDemo(ctx context.Context, args []string, s IO) int {
	fs := newFlagSet("demo", "[--addr A] [--speed X] [--serve] [--duration D] [--digest F] [--json] | --measure [--warm-up D] [--json]", demoHelp(), s)
	addr := fs.String("addr", "127.0.0.1:8080", "API listen address (a busy port falls back to a free one)")
	speed := fs.Float64("speed", 120, "simulated seconds per real second")
	serve := fs.Bool("serve", false, "keep serving the API after the story until interrupted")
	duration := durationFlag(fs, "duration", 0, "simulated time to run (default: the story plus time to resolve)")
	seed := fs.Int64("seed", 1, "seed of the simulated tenant")
	verbose := fs.Bool("v", false, "log the engine's warnings")
	digestOut := fs.String("digest", "", "after the story, write its weekly digest to this file (.html, .txt, else Markdown)")
	measure := fs.Bool("measure", false, "instead of the story: measure, per rule, fault injection → incident in simulated time, and the API calls per hour of a default-size tenant")
	warmUp := durationFlag(fs, "warm-up", 12*time.Hour, "with --measure: fault-free simulated history before the faults")
	asJSON := fs.Bool("json", false, "print the result as JSON on stdout (the story's narrative goes to stderr): with --measure the measurement, else the story's figures with causes[] (rule, incidents, notifications)")
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
	out := s.Out
	if *asJSON {
		out = s.Err
	}
	res, err := demo.Run(ctx, demo.Options{Addr: *addr, Speed: *speed, Serve: *serve, Duration: *duration, Seed: *seed, Digest: *digestOut, Out: out, Logger: logger})
	if err != nil {
		fmt.Fprintf(s.Err, "demo: %v\n", err)
		return ExitFindings
	}
	fmt.Fprintf(out, "Demo finished in %s real time.\n", time.Since(start).Round(time.Second))
	if *asJSON {
		enc := json.NewEncoder(s.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return ExitFindings
		}
	}
	return ExitOK
}
