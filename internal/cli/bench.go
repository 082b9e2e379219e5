package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	httppprof "net/http/pprof"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/sfmcwatch/sfmcwatch/internal/app"
	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/monitor"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc/sim"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

func benchCommand() command {
	return command{name: "bench", summary: "measure the monitor at scale against simulated business units (bench tenants)", run: runBench}
}

const benchHelp = `
bench tenants runs N simulated business units (the simulator, in this
process, on loopback) under the real engine of serve, with the default
monitor intervals, on SQLite in a temporary directory, for --duration of
real time, and prints what one process costs and keeps up with:

  calls/day per business unit: projected from the calls the simulator
    served after the warm-up (--warmup of simulated time: the first look
    and first data extension cycle), and the config's estimate
    (EstimatedDailyCalls) beside it;
  poll lag p50/p99/max (engine clock) and when the first full cycle ended,
    then the lag of the polls after that first cycle alone;
  CPU (engine and simulator: both run in this process) and peak RSS;
  database size and its growth per business unit per day after warm-up.

--speed runs the simulated clock (and so the engine's schedule) faster
than real time: the engine then has speed × the work per real second, so
lag and CPU are pessimistic; per-tenant rate limits are scaled with it.

Exit status: 0 measured, 1 the run failed, 2 usage error.`

type benchResult struct {
	Tenants                        int
	Speed                          float64
	Real, Simulated, Warmup        time.Duration
	Workers                        int
	pool                           string
	CallsAll, CallsWindow          int64
	ProjectedPerBU, EstimatedPerBU float64
	Polls                          int
	P50, P99, Max                  time.Duration
	FirstCycle                     time.Duration
	// Steady: lag of the polls started after the first full cycle.
	SteadyPolls                     int
	SteadyP50, SteadyP99, SteadyMax time.Duration
	CPU                             time.Duration
	RSSPeak                         int64 // bytes
	DBSize, DBAtWarmup              int64
	Used, UsedAtWarmup              int64
	UsedGrowthPerBUDay              float64
	GrowthPerBUDay                  float64 // bytes
}

func runBench(ctx context.Context, args []string, s IO) int {
	if len(args) == 0 || args[0] != "tenants" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprintln(s.Out, "Usage: sfmcwatch bench tenants [--tenants N] [--duration D] [--speed X] [--size S] [--warmup D] [--workers N] [--dir DIR]")
			fmt.Fprint(s.Out, benchHelp[1:]+"\n")
			return ExitOK
		}
		fmt.Fprintln(s.Err, "bench: usage: sfmcwatch bench tenants [--tenants N] [--duration D] [--speed X] (see bench --help)")
		return ExitUsage
	}
	fs := newFlagSet("bench tenants", "[--tenants N] [--duration D] [--speed X] [--size S] [--warmup D] [--workers N] [--dir DIR]", benchHelp, s)
	tenants := fs.Int("tenants", 1, "simulated business units")
	duration := durationFlag(fs, "duration", 10*time.Minute, "real time to run")
	speed := fs.Float64("speed", 1, "simulated seconds per real second")
	sizeFlag := fs.String("size", "default", "business unit size: small, default, large or key=value list (as sim --size)")
	warmup := durationFlag(fs, "warmup", 15*time.Minute, "simulated time excluded from the calls and growth projections")
	workers := fs.Int("workers", 0, "fixed worker pool (0: sized from the work, as serve)")
	dir := fs.String("dir", "", "directory for the database (default: a temporary one, removed afterwards)")
	fullRes := durationFlag(fs, "full-resolution", 0, "storage.retention.full_resolution (0: the default, 2d); 1h shows the downsampled steady state within a short run")
	verbose := fs.Bool("v", false, "log the engine's warnings")
	memprofile := fs.String("memprofile", "", "write a heap profile (go tool pprof) to this file every 30 s and at the end")
	pprofAddr := fs.String("pprof", "", "serve net/http/pprof on this loopback address (e.g. 127.0.0.1:6060) while the bench runs")
	rest, code, done := parseFlags(fs, args[1:], s)
	if done {
		return code
	}
	if len(rest) > 0 || *tenants < 1 || *duration <= 0 || *speed <= 0 || *workers < 0 || *warmup < 0 || (*fullRes != 0 && *fullRes < time.Hour) {
		fmt.Fprintln(s.Err, "bench tenants: --tenants ≥ 1, --duration > 0, --speed > 0, --workers ≥ 0, --warmup ≥ 0 and --full-resolution 0 or ≥ 1h, no other arguments")
		return ExitUsage
	}
	size, err := parseSimSize(*sizeFlag)
	if err != nil {
		fmt.Fprintf(s.Err, "bench tenants: --size: %v\n", err)
		return ExitUsage
	}
	d := *dir
	if d == "" {
		if d, err = os.MkdirTemp("", "sfmcwatch-bench-"); err != nil {
			fmt.Fprintf(s.Err, "bench tenants: %v\n", err)
			return ExitFindings
		}
		defer os.RemoveAll(d)
	}
	level := slog.LevelError
	if *verbose {
		level = slog.LevelWarn
	}
	logger := slog.New(slog.NewTextHandler(s.Err, &slog.HandlerOptions{Level: level}))
	fmt.Fprintf(s.Out, "bench tenants: %d business units (%s), %s real at %g× (%s simulated), SQLite in %s\n",
		*tenants, *sizeFlag, *duration, *speed, time.Duration(float64(*duration)**speed).Round(time.Second), d)
	if *pprofAddr != "" {
		stop, err := servePprof(*pprofAddr)
		if err != nil {
			fmt.Fprintf(s.Err, "bench tenants: --pprof: %v\n", err)
			return ExitUsage
		}
		defer stop()
	}
	if *memprofile != "" {
		stop := heapProfiles(*memprofile, 30*time.Second, logger)
		defer stop()
	}
	res, err := benchTenants(ctx, benchOptions{Tenants: *tenants, Duration: *duration, Speed: *speed, Size: size,
		Warmup: *warmup, Workers: *workers, Dir: d, Logger: logger, FullResolution: *fullRes})
	if err != nil {
		fmt.Fprintf(s.Err, "bench tenants: %v\n", err)
		return ExitFindings
	}
	printBench(s.Out, res)
	return ExitOK
}

// servePprof serves the runtime's profiles (goroutines, heap, CPU,
// blocking) on a loopback address: where a slow bench waits.
func servePprof(addr string) (stop func(), err error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("%s: a loopback address is required", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", httppprof.Index)
	mux.HandleFunc("/debug/pprof/profile", httppprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", httppprof.Symbol)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	runtime.SetBlockProfileRate(int(time.Millisecond))
	runtime.SetMutexProfileFraction(100)
	return func() { _ = srv.Close() }, nil
}

// heapProfiles writes a heap profile to path every interval (so that a
// run the kernel kills for its memory still leaves a recent one) and once
// more when stop is called.
func heapProfiles(path string, every time.Duration, logger *slog.Logger) (stop func()) {
	write := func() {
		f, err := os.Create(path)
		if err == nil {
			err = errors.Join(pprof.WriteHeapProfile(f), f.Close())
		}
		if err != nil {
			logger.Error("bench: heap profile", "path", path, "error", err)
		}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				write()
			}
		}
	}()
	return func() {
		close(done)
		<-finished
		write()
	}
}

type benchOptions struct {
	Tenants  int
	Duration time.Duration
	Speed    float64
	Size     sim.Size
	Warmup   time.Duration
	Workers  int
	Dir      string
	Logger   *slog.Logger
	// FullResolution overrides storage.retention.full_resolution.
	FullResolution time.Duration
}

func benchTenants(ctx context.Context, o benchOptions) (benchResult, error) {
	res := benchResult{Tenants: o.Tenants, Speed: o.Speed, Warmup: o.Warmup}
	sm, err := sim.New(sim.Options{Seed: 1, Speed: o.Speed, Size: o.Size, Tenants: o.Tenants})
	if err != nil {
		return res, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return res, err
	}
	srv := &http.Server{Handler: sm.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	url := "http://" + ln.Addr().String()
	dbPath := filepath.Join(o.Dir, "bench.db")
	cfg, err := config.Parse(filepath.Join(o.Dir, "bench.yaml"), []byte(benchConfig(url, sm.Credentials(), dbPath, o.FullResolution)), nil)
	if err != nil {
		return res, fmt.Errorf("config: %w", err)
	}
	for i := range cfg.Tenants {
		res.EstimatedPerBU += float64(cfg.Tenants[i].EstimatedDailyCalls())
	}
	res.EstimatedPerBU /= float64(len(cfg.Tenants))
	st, err := store.Open(ctx, store.Config{Driver: "sqlite", Path: dbPath}, o.Logger)
	if err != nil {
		return res, err
	}
	defer st.Close()

	var mu sync.Mutex
	var lags []time.Duration
	var polledAt []time.Time // when each lag was recorded
	first := map[string]time.Time{}
	start := sm.Now()
	// The serve assembly (internal/app) without alerting.
	core, err := app.New(app.Options{Store: st, Config: config.NewHolder(cfg, config.Loader{}), Clock: sm.Now, Logger: o.Logger,
		Engine: func(eo *monitor.Options) {
			eo.Workers = o.Workers
			// One process: leases (on the simulated clock) only need to
			// outlast a job.
			eo.Lease = 3 * time.Hour
			eo.OnPoll = func(tenant, mon string, lag time.Duration) {
				mu.Lock()
				defer mu.Unlock()
				lags = append(lags, lag)
				polledAt = append(polledAt, sm.Now())
				if _, ok := first[tenant+"/"+mon]; !ok {
					first[tenant+"/"+mon] = sm.Now()
				}
			}
			eo.ClientOptions = func(co *sfmc.Options) {
				// The limiter paces in real time: keep 10 calls per
				// simulated second.
				co.RateLimit = rate.Limit(10 * o.Speed)
			}
		}})
	if err != nil {
		return res, err
	}
	defer core.Close()
	cpu0 := benchCPU()
	real0 := time.Now()
	runCtx, cancel := context.WithTimeout(ctx, o.Duration)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- core.Run(runCtx) }()

	// Sample the calls served and the database size at the end of the
	// warm-up.
	var callsWarm int64 = -1
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
loop:
	for {
		select {
		case err := <-done:
			if err != nil {
				return res, err
			}
			break loop
		case <-tick.C:
			if callsWarm < 0 && sm.Now().Sub(start) >= o.Warmup {
				callsWarm = benchCalls(sm)
				res.DBAtWarmup = dbSize(dbPath)
				res.UsedAtWarmup = usedSize(ctx, st)
			}
		}
	}
	end := sm.Now()
	res.Real = time.Since(real0)
	res.CPU = benchCPU() - cpu0
	res.RSSPeak = benchRSSPeak()
	res.Simulated = end.Sub(start)
	res.Workers, res.pool = core.Engine.Workers(), "sized from the work"
	if o.Workers > 0 {
		res.pool = "fixed"
	}
	res.CallsAll = benchCalls(sm)
	res.DBSize = dbSize(dbPath)
	res.Used = usedSize(ctx, st)
	day := float64(24 * time.Hour)
	if callsWarm >= 0 && res.Simulated > o.Warmup {
		win := float64(res.Simulated - o.Warmup)
		res.CallsWindow = res.CallsAll - callsWarm
		res.ProjectedPerBU = float64(res.CallsWindow) / win * day / float64(o.Tenants)
		res.GrowthPerBUDay = float64(res.DBSize-res.DBAtWarmup) / win * day / float64(o.Tenants)
		res.UsedGrowthPerBUDay = float64(res.Used-res.UsedAtWarmup) / win * day / float64(o.Tenants)
	} else {
		res.Warmup = 0
		res.ProjectedPerBU = float64(res.CallsAll) / float64(res.Simulated) * day / float64(o.Tenants)
		res.GrowthPerBUDay = float64(res.DBSize) / float64(res.Simulated) * day / float64(o.Tenants)
		res.UsedGrowthPerBUDay = float64(res.Used) / float64(res.Simulated) * day / float64(o.Tenants)
	}
	mu.Lock()
	defer mu.Unlock()
	var last time.Time
	for _, t := range first {
		if t.After(last) {
			last = t
		}
	}
	if !last.IsZero() {
		res.FirstCycle = last.Sub(start)
	}
	var steady []time.Duration
	for i, at := range polledAt {
		if at.After(last) {
			steady = append(steady, lags[i])
		}
	}
	res.Polls = len(lags)
	res.P50, res.P99, res.Max = lagQuantiles(lags)
	res.SteadyPolls = len(steady)
	res.SteadyP50, res.SteadyP99, res.SteadyMax = lagQuantiles(steady)
	return res, nil
}

// lagQuantiles sorts lags and returns their p50, p99 and maximum.
func lagQuantiles(lags []time.Duration) (p50, p99, maxLag time.Duration) {
	if len(lags) == 0 {
		return 0, 0, 0
	}
	slices.Sort(lags)
	q := func(p float64) time.Duration { return lags[min(len(lags)-1, int(math.Ceil(p*float64(len(lags))))-1)] }
	return q(0.5), q(0.99), lags[len(lags)-1]
}

// benchCalls counts the API calls the simulator served, token requests
// excluded (SFMC does not count them against the allowance).
func benchCalls(sm *sim.Sim) int64 {
	st := sm.Stats()
	n := st.Total
	for route, c := range st.ByRoute {
		if strings.Contains(route, "/v2/token") {
			n -= c
		}
	}
	return n
}

// usedSize is the database's size less its free list (0 when unknown).
func usedSize(ctx context.Context, st store.Store) int64 {
	ds, ok := st.(interface {
		DatabaseSize(context.Context) (store.DatabaseSize, error)
	})
	if !ok {
		return 0
	}
	d, err := ds.DatabaseSize(ctx)
	if err != nil {
		return 0
	}
	return d.Bytes - d.FreeBytes
}

// dbSize is the SQLite database's size on disk (with its WAL).
func dbSize(path string) int64 {
	var n int64
	for _, p := range []string{path, path + "-wal"} {
		if fi, err := os.Stat(p); err == nil {
			n += fi.Size()
		}
	}
	return n
}

func benchConfig(url string, c sim.Credentials, dbPath string, fullRes time.Duration) string {
	var b strings.Builder
	b.WriteString("storage:\n  driver: sqlite\n  path: " + strconv.Quote(dbPath) + "\n")
	if fullRes > 0 {
		fmt.Fprintf(&b, "  retention:\n    full_resolution: %s\n", fullRes)
	}
	b.WriteString("tenants:\n")
	for i, mid := range c.MIDs {
		fmt.Fprintf(&b, `  - name: bu%03d
    auth_url: %s
    rest_url: %s
    soap_url: %s
    client_id: %s
    client_secret: %s
    account_id: "%d"
    edition: enterprise
`, i+1, url, url, url, c.ClientID, c.ClientSecret, mid)
	}
	return b.String()
}

func printBench(w io.Writer, r benchResult) {
	fmt.Fprintf(w, "ran %s real, %s simulated; %d workers at the end (%s)\n", r.Real.Round(time.Second),
		r.Simulated.Round(time.Second), r.Workers, r.pool)
	proj := "after warm-up " + r.Warmup.String()
	if r.Warmup == 0 {
		proj = "whole run, first look included: run longer than --warmup for the steady state"
	}
	fmt.Fprintf(w, "calls/day per business unit: projected %.0f (%s; %d calls served in all), estimated %.0f (EstimatedDailyCalls)\n",
		r.ProjectedPerBU, proj, r.CallsAll, r.EstimatedPerBU)
	fmt.Fprintf(w, "poll lag (engine clock): p50 %s, p99 %s, max %s over %d polls; first full cycle: last first poll started %s after start\n",
		r.P50.Round(10*time.Millisecond), r.P99.Round(10*time.Millisecond), r.Max.Round(10*time.Millisecond), r.Polls, r.FirstCycle.Round(time.Second))
	fmt.Fprintf(w, "poll lag after the first full cycle: p50 %s, p99 %s, max %s over %d polls\n",
		r.SteadyP50.Round(10*time.Millisecond), r.SteadyP99.Round(10*time.Millisecond), r.SteadyMax.Round(10*time.Millisecond), r.SteadyPolls)
	load := ""
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			load = "; machine load average " + strings.Join(f[:3], " ")
		}
	}
	fmt.Fprintf(w, "CPU: %.0f%% of one core (%s over %s; engine and simulator, %d cores%s); peak RSS %.0f MB\n",
		100*r.CPU.Seconds()/r.Real.Seconds(), r.CPU.Round(time.Second), r.Real.Round(time.Second), runtime.NumCPU(), load, float64(r.RSSPeak)/1e6)
	fmt.Fprintf(w, "database: %.1f MB at the end (%.1f MB at the end of warm-up); growth %.2f MB per business unit per day (%s)\n",
		float64(r.DBSize)/1e6, float64(r.DBAtWarmup)/1e6, r.GrowthPerBUDay/1e6, proj)
	fmt.Fprintf(w, "database used pages (free list and WAL not counted): %.1f MB at the end (%.1f MB at the end of warm-up); growth %.2f MB per business unit per day\n",
		float64(r.Used)/1e6, float64(r.UsedAtWarmup)/1e6, r.UsedGrowthPerBUDay/1e6)
}
