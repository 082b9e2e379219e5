// Package demo runs the whole product against the simulator: a simulated
// SFMC tenant with a scripted story of failures, the engine on SQLite in a
// temporary directory on the simulator's fast clock, and the HTTP API. It
// prints each incident as it opens and resolves, with its time to
// detection, so a newcomer sees sfmcwatch work in a couple of minutes
// without an SFMC account.
package demo

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/digest"
	"github.com/sfmcwatch/sfmcwatch/internal/incident"
	"github.com/sfmcwatch/sfmcwatch/internal/report"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/selfcheck"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc/sim"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
	"github.com/sfmcwatch/sfmcwatch/internal/web"
)

//go:embed story.yaml
var storyYAML []byte

// Options tune Run.
type Options struct {
	// Addr is the API listen address (default 127.0.0.1:8080; a busy port
	// falls back to a free one).
	Addr string
	// Speed is simulated seconds per real second (default 120: the story's
	// simulated hours play in about two real minutes).
	Speed float64
	// Seed of the simulated tenant (default 1).
	Seed int64
	// Size of the simulated tenant (default: a mid-size business unit).
	Size sim.Size
	// Duration is how long (simulated) to run; 0 = until the story is over
	// and its incidents had time to resolve, then keep serving until ctx
	// ends when Serve is set.
	Duration time.Duration
	// Serve keeps the API up after the story until ctx ends.
	Serve bool
	// Dir holds the SQLite database (default: a new temporary directory,
	// removed at the end).
	Dir string
	// Digest, when set, is where the weekly digest of the story's store is
	// written after the story (.html, .txt, else Markdown).
	Digest string
	// Out receives the narrative; Logger the engine's logs.
	Out    io.Writer
	Logger *slog.Logger
}

// Result summarises a demo run (demo --json prints it).
type Result struct {
	Opened   int `json:"opened"`
	Resolved int `json:"resolved"`
	// ByArea counts opened incidents per resource type.
	ByArea map[string]int `json:"by_area"`
	// Rules lists the rule ids that opened incidents.
	Rules []string `json:"rules"`
	// TTD is the time to detection per rule (first incident of the rule),
	// from the first evidence sfmcwatch saw.
	TTD map[string]time.Duration `json:"ttd_ns"`
	// TTDSinceFailure is the same incident's time to detection from when
	// the failure began by SFMC's timestamps; absent when SFMC dates no
	// start.
	TTDSinceFailure map[string]time.Duration `json:"ttd_since_failure_ns"`
	// Calls is the API calls the engine spent, and SimDuration the
	// simulated time covered.
	Calls       int64         `json:"calls"`
	SimDuration time.Duration `json:"sim_duration_ns"`
	// FirstLook is how many incidents the first poll cycle opened: the
	// failures the tenant already had when sfmcwatch started.
	FirstLook int `json:"first_look"`
	// Alerts summarises what the demo's alert receiver got.
	Alerts string `json:"alerts,omitempty"`
	// DigestIncidents is how many incidents the digest lists (Digest set).
	DigestIncidents int `json:"digest_incidents,omitempty"`
	// Causes are the top-level (notifying) incidents, each with the
	// incidents the correlation step attached to it and the notifications
	// the alert receiver got about them: causes → incidents →
	// notifications.
	Causes []Cause `json:"causes"`
	// StoryTopLevel counts the top-level incidents opened after the first
	// look (the story's own faults).
	StoryTopLevel int `json:"story_top_level"`
}

// Story returns the demo's scripted scenario.
func Story() (*sim.Scenario, error) { return sim.ParseScenario(bytes.NewReader(storyYAML)) }

// Run plays the demo until the story ends (or ctx ends) and returns what
// happened.
func Run(ctx context.Context, o Options) (*Result, error) {
	if o.Addr == "" {
		o.Addr = "127.0.0.1:8080"
	}
	if o.Speed <= 0 {
		o.Speed = 120
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Size == (sim.Size{}) {
		o.Size = sim.Size{Automations: 60, Journeys: 20, DataExtensions: 120, TriggeredSends: 30, Transactional: 8, Imports: 20}
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	dir := o.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "sfmcwatch-demo-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(d)
		dir = d
	}

	// The simulated tenant and its story.
	story, err := Story()
	if err != nil {
		return nil, fmt.Errorf("demo: story: %w", err)
	}
	res := &Result{ByArea: map[string]int{}, TTD: map[string]time.Duration{}, TTDSinceFailure: map[string]time.Duration{}}
	var mu sync.Mutex
	var storyStart time.Time
	var r *rig
	stamp := func() string {
		d := r.sim.Now().Sub(storyStart).Round(time.Minute)
		return fmt.Sprintf("T+%02d:%02d", int(d.Hours()), int(d.Minutes())%60)
	}
	// Incidents opened in the first poll cycle, before the story's first
	// fault: what the tenant already had wrong when sfmcwatch started.
	var firstLook []string
	resolvedIDs := map[int64]bool{}
	causeSaid := map[int64]string{}
	onChanges := func(tenant string, t resource.Type, ch incident.Changes) {
		mu.Lock()
		defer mu.Unlock()
		// Causes the correlation step recognised (or renamed) in this pass.
		for _, list := range [][]store.Incident{ch.Opened, ch.Updated} {
			for _, in := range list {
				if in.Cause != "" && causeSaid[in.ID] != in.Cause {
					causeSaid[in.ID] = in.Cause
					fmt.Fprintf(o.Out, "%s  CAUSE    #%-3d %-8s %-30s %s\n", stamp(), in.ID, in.Severity, in.Cause, in.Title)
				}
			}
		}
		for _, in := range ch.Opened {
			if in.OpenedAt.Sub(storyStart) < firstCycle {
				what := fmt.Sprintf("#%d %s %s", in.ID, in.Rule, in.Title)
				if in.FailureKnown() {
					what += fmt.Sprintf(" (failing since %s before sfmcwatch started)", storyStart.Sub(in.FailureStartedAt).Round(time.Minute))
				}
				firstLook = append(firstLook, what)
			}
			res.Opened++
			res.ByArea[in.ResourceType]++
			if _, ok := res.TTD[in.Rule]; !ok {
				res.TTD[in.Rule] = in.TTD
				if in.FailureKnown() {
					res.TTDSinceFailure[in.Rule] = in.TTDSinceFailure
				}
				res.Rules = append(res.Rules, in.Rule)
			}
			since := ""
			if in.FailureKnown() {
				since = fmt.Sprintf(", %s after the failure began", in.TTDSinceFailure.Round(time.Second))
			}
			if in.CausedBy != 0 {
				since += fmt.Sprintf("; caused by #%d", in.CausedBy)
			}
			fmt.Fprintf(o.Out, "%s  OPENED   #%-3d %-8s %-30s %s (owner %s, detected %s after first evidence%s)\n",
				stamp(), in.ID, in.Severity, in.Rule, in.Title, in.Owner, in.TTD.Round(time.Second), since)
		}
		for _, in := range ch.Resolved {
			res.Resolved++
			resolvedIDs[in.ID] = true
			fmt.Fprintf(o.Out, "%s  RESOLVED #%-3d %-8s %-30s %s (open %s)\n",
				stamp(), in.ID, in.Severity, in.Rule, in.Title, in.ResolvedAt.Sub(in.OpenedAt).Round(time.Minute))
		}
	}
	// The simulated clock only moves when the demo steps it (see play), so
	// what the story shows does not depend on how fast this machine is: a
	// slow or busy machine plays the same story, just more slowly.
	r, err = newRig(ctx, rigOptions{Seed: o.Seed, Size: o.Size, Dir: dir, Speed: o.Speed, Start: storyStartFor(time.Now()), Extra: demoObjects, Logger: o.Logger, OnChanges: onChanges, Integrations: true,
		Alerts: &prefixWriter{w: o.Out, prefix: "         ALERT  "}})
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	defer r.close()
	s, st, simURL := r.sim, r.st, r.simURL
	storyStart = s.Now()
	if _, err := s.Apply(story); err != nil {
		return nil, fmt.Errorf("demo: story: %w", err)
	}
	// The tenant is already broken when sfmcwatch first looks at it: these
	// failures began hours or days before the story (sfmcwatch's start).
	for _, f := range brokenAtStart {
		f.Start = storyStart.Add(-f.Duration)
		f.Duration = 0 // until someone fixes it: past the end of the story
		if _, err := s.InjectErr(f); err != nil {
			return nil, fmt.Errorf("demo: pre-existing failure %s on %s: %w", f.Kind, f.Target, err)
		}
	}

	// The API.
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("demo: API listener: %w", err)
		}
	}
	// The dashboard's clock is the simulated one, which runs fast: give the
	// demo login a session that outlasts the story.
	user, password, err := web.EnsureDemoUser(ctx, st, s.Now())
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("demo: dashboard user: %w", err)
	}
	api := web.New(web.Options{Store: st, Config: r.holder, Logger: o.Logger, Clock: s.Now, SessionTTL: 365 * 24 * time.Hour,
		Extra: map[string]http.Handler{"/selfcheck": selfcheck.Handler(o.Logger)}})
	apiSrv := api.HTTPServer(ln.Addr().String())
	go apiSrv.Serve(ln)
	defer apiSrv.Close()
	apiURL := "http://" + ln.Addr().String()

	length := storyLength(story)
	if o.Duration <= 0 {
		o.Duration = length + 45*time.Minute // time for the last incidents to resolve
	}
	fmt.Fprintf(o.Out, `sfmcwatch demo — a simulated SFMC tenant has a bad morning; sfmcwatch watches it.

  dashboard          %[1]s/   (log in as %[7]s / %[8]s)
  incidents (JSON)   %[1]s/api/v1/incidents        one incident: %[1]s/api/v1/incidents/{id}
  health             %[1]s/healthz
  simulated tenant   %[2]s  (admin: %[2]s/_sim/state)
  data               %[3]s (SQLite)

The story covers %[4]s of simulated time at %[5]gx speed (about %[6]s real):
a tenant already failing when sfmcwatch starts (an automation erroring for
days, one paused, an inactive triggered send), credentials rotated, throttling, failing and stuck automations, stalled and
stopped journeys, a paused triggered send, failing order confirmations,
transactional messages not sent, a truncated data extension, imports
rejecting rows, a short platform outage. Polls every 5 simulated minutes.

`, apiURL, simURL, dir, length, o.Speed, (time.Duration(float64(o.Duration) / o.Speed)).Round(time.Second), user, password)

	// After the first poll cycle, say what the first look found.
	firstLookSaid := false
	afterStep := func() bool {
		if !firstLookSaid && s.Now().Sub(storyStart) >= firstCycle-demoStep {
			firstLookSaid = true
			mu.Lock()
			res.FirstLook = len(firstLook)
			fmt.Fprintf(o.Out, "%s  First look: %d pre-existing failures found on the first cycle: %s\n", stamp(), len(firstLook), strings.Join(firstLook, "; "))
			mu.Unlock()
		}
		return false
	}
	if err := r.play(ctx, storyStart.Add(o.Duration), o.Speed, afterStep); err != nil && ctx.Err() == nil {
		return res, fmt.Errorf("demo: engine: %w", err)
	}
	r.drainAlerts(ctx)
	if o.Digest != "" && ctx.Err() == nil {
		n, err := writeDigest(ctx, r, o.Digest)
		if err != nil {
			return res, fmt.Errorf("demo: digest: %w", err)
		}
		res.DigestIncidents = n
		mu.Lock()
		opened := res.Opened
		mu.Unlock()
		fmt.Fprintf(o.Out, "\nWeekly digest of the story written to %s: it lists %d of the %d incidents the story opened.\n", o.Digest, n, opened)
	}
	if o.Serve && ctx.Err() == nil {
		fmt.Fprintf(o.Out, "\nStory over; the API stays up at %s until you press Ctrl-C.\n", apiURL)
		<-ctx.Done()
	}
	res.SimDuration = s.Now().Sub(storyStart)
	res.Calls = r.calls(context.Background())
	notes := func(int64) int { return 0 }
	if r.alerts != nil {
		mu.Lock()
		res.Alerts = r.alerts.summary(resolvedIDs)
		mu.Unlock()
		notes = r.alerts.notifications
	}
	causes, err := storyCauses(context.WithoutCancel(ctx), st, storyStart, notes)
	if err != nil {
		return res, fmt.Errorf("demo: causes: %w", err)
	}
	res.Causes = causes
	for i, c := range causes {
		in, err := st.GetIncident(context.WithoutCancel(ctx), c.ID)
		if err != nil {
			continue
		}
		if in.OpenedAt.Sub(storyStart) >= firstCycle {
			res.StoryTopLevel++
		} else {
			res.Causes[i].FirstLook = true
		}
	}
	sort.Strings(res.Rules)
	printSummary(o.Out, res)
	return res, nil
}

// storyStartFor is the simulated time the story starts at when the demo
// runs at now: 10:00 UTC of the current day, or of the day before when it
// is earlier than that. The simulated tenant's schedules hang off day
// boundaries, so starting at a fixed time of day makes every run play the
// same story and open the same incidents (starting at the current minute,
// or hour, made them depend on when the demo was started). The story ends
// well before midnight UTC, so no daily budget resets in the middle of it.
func storyStartFor(now time.Time) time.Time {
	const at = 10 * time.Hour
	day := now.UTC().Truncate(24 * time.Hour)
	if now.UTC().Sub(day) < at {
		day = day.Add(-24 * time.Hour)
	}
	return day.Add(at)
}

func printSummary(w io.Writer, r *Result) {
	perHour := 0.0
	if h := r.SimDuration.Hours(); h > 0 {
		perHour = float64(r.Calls) / h
	}
	fmt.Fprintf(w, "\nSummary: %d incidents opened, %d resolved over %s simulated; %d SFMC API calls (%.0f per simulated hour).\n",
		r.Opened, r.Resolved, r.SimDuration.Round(time.Minute), r.Calls, perHour)
	var areas []string
	for a, n := range r.ByArea {
		areas = append(areas, a+" "+strconv.Itoa(n))
	}
	sort.Strings(areas)
	fmt.Fprintf(w, "By area: %s\n", strings.Join(areas, ", "))
	if r.Alerts != "" {
		fmt.Fprintln(w, r.Alerts)
	}
	fmt.Fprintln(w, "Time to detection (first incident of each rule, from first evidence to incident opened):")
	for _, rule := range r.Rules {
		// The second column: from when the failure began by SFMC's own
		// timestamps (a run's start, a journey's stop, an import's end).
		since := "(SFMC dates no start)"
		if d, ok := r.TTDSinceFailure[rule]; ok {
			since = d.Round(time.Second).String() + " since the failure began"
		}
		fmt.Fprintf(w, "  %-32s %-9s %s\n", rule, r.TTD[rule].Round(time.Second), since)
	}
	if len(r.Causes) > 0 {
		fmt.Fprintln(w)
		printCauses(w, r.Causes)
		fmt.Fprintf(w, "Notifying incidents: %d of %d opened (%d pre-existing on the first look, %d from the story).\n", len(r.Causes), r.Opened, len(r.Causes)-r.StoryTopLevel, r.StoryTopLevel)
	}
}

// storyLength is when the story's last fault ends (open-ended faults count
// 30 minutes).
func storyLength(sc *sim.Scenario) time.Duration {
	var end time.Duration
	for _, e := range sc.Entries {
		at, _ := time.ParseDuration(e.At)
		d, _ := time.ParseDuration(e.For)
		if d == 0 {
			d = 30 * time.Minute
		}
		if at+d > end {
			end = at + d
		}
	}
	return end
}

func demoConfig(simURL string, c sim.Credentials, dbPath string) string {
	mid := ""
	if len(c.MIDs) > 0 {
		mid = strconv.FormatInt(c.MIDs[0], 10)
	}
	return `storage:
  driver: sqlite
  path: ` + strconv.Quote(dbPath) + `
monitors:
  automations:     { enabled: true, interval: 5m }
  journeys:        { enabled: true, interval: 5m }
  triggered_sends: { enabled: true, interval: 5m }
  transactional:   { enabled: true, interval: 5m }
  data_extensions: { enabled: true, interval: 5m }
  imports:         { enabled: true, interval: 5m }
  audit:           { enabled: true, interval: 1h }
tenants:
  - name: demo-bu
    auth_url: ` + simURL + `
    rest_url: ` + simURL + `
    soap_url: ` + simURL + `
    client_id: ` + c.ClientID + `
    client_secret: ` + c.ClientSecret + `
    account_id: "` + mid + `"
    edition: enterprise
`
}

// firstCycle is the demo's poll interval: every monitor runs once in it,
// and the story's first fault starts at its end, so what the first cycle
// opens was broken before sfmcwatch started.
const firstCycle = 5 * time.Minute

// brokenAtStart are failures the tenant already has when the story starts
// (Duration here is how long before the start each began): a nightly
// automation erroring for three days, an automation paused since
// yesterday, a triggered send made inactive last night. Detection judges
// state on the first look, so the first cycle reports them.
var brokenAtStart = []sim.Fault{
	{Kind: sim.FaultAutomationError, Target: "Nightly_ERP_Audience_Build", Duration: 72 * time.Hour,
		Params: map[string]string{"message": "Query failed: Invalid object name 'ERP_Customers_Staging'."}},
	{Kind: sim.FaultAutomationPaused, Target: "Daily_Stores_Sync", Duration: 30 * time.Hour},
	{Kind: sim.FaultTriggeredSendInactive, Target: "TS_Welcome_Email", Duration: 20 * time.Hour},
}

// demoObjects marks the hourly export critical: its first errored run is an
// incident (other automations need two errored runs in a row).
const demoObjects = `    objects:
      "automation:Hourly_ERP_Export": { critical: true }
`

// writeDigest writes the weekly digest of the rig's store as of the
// simulated now and returns how many incidents it lists.
func writeDigest(ctx context.Context, r *rig, path string) (int, error) {
	d, err := digest.Build(ctx, r.st, digest.Options{Period: 7 * 24 * time.Hour, Now: r.sim.Now, Config: r.holder.Current()})
	if err != nil {
		return 0, err
	}
	var buf bytes.Buffer
	switch strings.ToLower(filepath.Ext(path)) {
	case ".html", ".htm":
		err = report.WriteDigestHTML(&buf, d)
	case ".txt":
		err = report.WriteDigestText(&buf, d)
	default:
		err = report.WriteDigestMarkdown(&buf, d)
	}
	if err != nil {
		return 0, err
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return 0, err
	}
	return len(d.Incidents), nil
}
