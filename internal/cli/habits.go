package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
)

// Habits every command shares: durations with days and weeks, path-like
// arguments, configs loaded without the SFMC secrets by commands that never
// call SFMC, and progress on stderr for long work.

// parseDuration accepts Go durations (90s, 1h30m) plus days and weeks
// (7d, 2w, 1w2d, 1d12h). It is the one parser behind every duration flag.
func parseDuration(s string) (time.Duration, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return 0, errors.New("empty duration")
	}
	bad := fmt.Errorf("invalid duration %q (want e.g. 90s, 15m, 36h, 7d, 2w)", s)
	rest := in
	var total time.Duration
	neg := false
	if strings.HasPrefix(rest, "-") {
		neg, rest = true, rest[1:]
	}
	// Leading <n>w and <n>d parts; the remainder is a Go duration.
	for _, u := range []struct {
		suffix byte
		unit   time.Duration
	}{{'w', 7 * 24 * time.Hour}, {'d', 24 * time.Hour}} {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 || i >= len(rest) || rest[i] != u.suffix {
			continue
		}
		n, err := strconv.ParseInt(rest[:i], 10, 64)
		if err != nil || n > int64((1<<63-1)/u.unit) {
			return 0, bad
		}
		total += time.Duration(n) * u.unit
		rest = rest[i+1:]
	}
	if rest != "" {
		d, err := time.ParseDuration(rest)
		if err != nil || d < 0 {
			return 0, bad
		}
		total += d
	}
	if total < 0 {
		return 0, fmt.Errorf("duration %q overflows", s)
	}
	if neg {
		total = -total
	}
	return total, nil
}

// durationValue is a flag.Value parsed by parseDuration.
type durationValue time.Duration

func (d *durationValue) Set(s string) error {
	v, err := parseDuration(s)
	if err != nil {
		return err
	}
	*d = durationValue(v)
	return nil
}

func (d *durationValue) String() string { return formatDuration(time.Duration(*d)) }

// formatDuration prints whole days as "7d" and other durations as Go does.
func formatDuration(d time.Duration) string {
	day := 24 * time.Hour
	if d > 0 && d%day == 0 {
		return fmt.Sprintf("%dd", d/day)
	}
	return d.String()
}

// durationFlag defines a duration flag that accepts d and w units.
func durationFlag(fs *flag.FlagSet, name string, value time.Duration, usage string) *time.Duration {
	p := new(time.Duration)
	*p = value
	fs.Var((*durationValue)(p), name, usage)
	return p
}

// looksLikePath reports whether a command-line argument names a file rather
// than a code: it contains a path separator, starts with ".", or ends in a
// file extension of the inputs sfmcwatch reads.
func looksLikePath(arg string) bool {
	if arg == "" || arg == "-" {
		return false
	}
	if strings.ContainsRune(arg, '/') || strings.ContainsRune(arg, filepath.Separator) || strings.HasPrefix(arg, ".") || strings.HasPrefix(arg, "~") {
		return true
	}
	switch strings.ToLower(filepath.Ext(arg)) {
	case ".xml", ".json", ".jsonl", ".ndjson", ".txt", ".log", ".csv", ".gz", ".html", ".htm", ".yaml", ".yml":
		return true
	}
	return false
}

// loadConfig loads the config for a command that never calls SFMC (user,
// silence, ack, config-dump, digest, offline check-config): when the only
// problems are unset environment variables or unreadable secret files in
// fields such a command never uses — the tenants' SFMC credentials and the
// alerting receivers' secrets — it loads the file again with those left
// empty, so an operator does not need the SFMC secret to list users. The
// returned note says what was skipped ("" when nothing was).
func loadConfigOffline(path string) (*config.Config, string, error) {
	cfg, err := config.Load(path)
	if err == nil {
		return cfg, "", nil
	}
	var ce *config.Error
	if !errors.As(err, &ce) {
		return nil, "", err
	}
	missing := map[string]bool{}
	files := false
	var skipped []string
	for _, p := range ce.Problems {
		if !offlineOptional(p.Path) {
			return nil, "", err
		}
		switch {
		case strings.HasPrefix(p.Message, "environment variable ") && strings.HasSuffix(p.Message, " is not set"):
			name := strings.TrimSuffix(strings.TrimPrefix(p.Message, "environment variable "), " is not set")
			missing[name] = true
		case strings.HasPrefix(p.Message, "cannot read secret file"):
			files = true
		case p.Message == "is required":
			// the consequence of an unset variable in the same field
		default:
			return nil, "", err
		}
		skipped = append(skipped, p.Path)
	}
	l := config.Loader{
		Env: func(name string) (string, bool) {
			if v, ok := os.LookupEnv(name); ok {
				return v, true
			}
			if missing[name] {
				return "https://unset.invalid/" + name, true
			}
			return "", false
		},
	}
	if files {
		abs, _ := filepath.Abs(path)
		l.ReadFile = func(name string) ([]byte, error) {
			b, err := os.ReadFile(name)
			if err != nil && name != path && name != abs {
				return []byte("unreadable-secret-file"), nil
			}
			return b, err
		}
	}
	cfg, err2 := l.Load(path)
	if err2 != nil {
		return nil, "", err
	}
	return cfg, "not needed by this command, so not checked: " + strings.Join(skipped, ", "), nil
}

// offlineOptional reports whether a config key path holds a secret that
// commands which never call SFMC nor send notifications do not need.
func offlineOptional(path string) bool {
	if !strings.HasPrefix(path, "tenants[") && !strings.HasPrefix(path, "alerting.") {
		return false
	}
	last := path[strings.LastIndexByte(path, '.')+1:]
	last = strings.TrimSuffix(last, "_file")
	switch last {
	case "client_secret", "client_id", "auth_url", "rest_url", "soap_url",
		"webhook_url", "url", "routing_key", "password", "token", "secret", "signing_secret", "username", "api_key", "headers":
		return true
	}
	return strings.HasPrefix(path, "alerting.")
}

// progress prints a line on stderr every interval once work has lasted
// longer than after (about 2 s): quick runs print nothing, long ones show
// they are alive. line returns the current state; stop ends it.
type progress struct {
	stop func()
}

func startProgress(w io.Writer, after, every time.Duration, line func(elapsed time.Duration) string) *progress {
	done := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTimer(after)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				fmt.Fprintln(w, line(time.Since(start).Round(time.Second)))
				t.Reset(every)
			}
		}
	}()
	return &progress{stop: func() { once.Do(func() { close(done); wg.Wait() }) }}
}

func (p *progress) Stop() { p.stop() }

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.ReadCloser
	n *atomic.Int64
}

func (c countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n.Add(int64(n))
	return n, err
}

func (c countingReader) Close() error { return c.r.Close() }
