package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/ingest"
	"github.com/sfmcwatch/sfmcwatch/internal/report"
	"github.com/sfmcwatch/sfmcwatch/internal/scan"
)

func scanCommand() command {
	return command{name: "scan", summary: "scan integration logs for SFMC failures (no credentials needed)", run: runScan}
}

const scanDescription = `
Scan integration logs (JSON lines or CSV, optionally gzip; "-" reads stdin)
for failed SFMC calls: every response is classified, 2xx bodies included,
and failures are grouped into patterns per (integration, endpoint, family,
code), each marked persistent or intermittent.

Files are read in the order given; each is assumed chronological. A pattern
is persistent when some run of its failures — no success of the same
integration and endpoint in between; other codes do not break a run — lasts
at least --window (latest minus earliest failure) or has at least
--consecutive failures; otherwise it is intermittent.

--fail-on is a comma list; the scan exits 1 when any pattern matches any item:
  auth, client, rate_limit, server, timeout, recipient
                     a pattern of that family (any severity, any persistence)
  critical, error, warning, info
                     an error-family pattern of at least that severity
  persistent         any persistent error-family pattern
  any                any error-family pattern
  none               never (exit 0 whatever was found)
Default "error". Exit codes: 0 no matching pattern, 1 a pattern matched
--fail-on, 2 usage error or unreadable input. Bad lines never fail a scan.`

// mapFlag collects repeated --map field=path values.
type mapFlag map[string]string

func (m mapFlag) String() string {
	var parts []string
	for k, v := range m {
		parts = append(parts, k+"="+v)
	}
	return strings.Join(parts, ",")
}

func (m mapFlag) Set(s string) error {
	field, path, err := ingest.ParseMapFlag(s)
	if err != nil {
		return err
	}
	m[field] = path
	return nil
}

// failOn is a parsed --fail-on list.
type failOn struct {
	families   map[catalog.Family]bool
	minRank    int // 0: no severity item
	persistent bool
	any        bool
}

func parseFailOn(s string) (failOn, error) {
	f := failOn{families: map[catalog.Family]bool{}}
	for item := range strings.SplitSeq(s, ",") {
		item = strings.ToLower(strings.TrimSpace(item))
		switch {
		case item == "" || item == "none" || item == "never":
		case item == "any":
			f.any = true
		case item == "persistent":
			f.persistent = true
		case catalog.Family(item).Valid() && item != string(catalog.None):
			f.families[catalog.Family(item)] = true
		case catalog.Severity(item).Rank() > 0:
			r := catalog.Severity(item).Rank()
			if f.minRank == 0 || r < f.minRank {
				f.minRank = r
			}
		default:
			return f, fmt.Errorf("--fail-on: unknown item %q (want families auth,client,rate_limit,server,timeout,recipient; severities critical,error,warning,info; persistent, any or none)", item)
		}
	}
	return f, nil
}

// matches reports whether p is a finding at or above the threshold.
func (f failOn) matches(p scan.Pattern) bool {
	if f.families[p.Family] {
		return true
	}
	if !p.IsError() {
		return false
	}
	return f.any || (f.persistent && p.Persistence == scan.Persistent) || (f.minRank > 0 && p.Severity.Rank() >= f.minRank)
}

const scanFormatHint = `hint: scan reads JSON lines, a JSON array of objects, or CSV with a header row (gzip or not),
      one HTTP call per record with at least a status field (status, status_code, http.response.status_code, …);
      map other field names with --map status=path.to.code; to decode a single response body use 'sfmcwatch explain FILE'`

func runScan(ctx context.Context, args []string, s IO) int {
	fs := newFlagSet("scan", "[--format text|json|markdown|html] [--out F] [--fail-on LIST] FILE...|-", scanDescription, s)
	format := fs.String("format", "text", "output `format`: text, json, markdown or html")
	out := fs.String("out", "", "write the report to `file` instead of stdout")
	failOnFlag := fs.String("fail-on", "error", "comma `list` of families and/or severities that make the scan exit 1 (see above)")
	window := durationFlag(fs, "window", scan.DefaultWindow, "a run of failures lasting at least this `duration` is persistent")
	consecutive := fs.Int("consecutive", scan.DefaultConsecutive, "a run of at least `N` failures is persistent")
	maps := mapFlag{}
	fs.Var(maps, "map", "map a canonical field to a source `field=path` (repeatable), e.g. status=resp.code")
	workers := fs.Int("workers", runtime.GOMAXPROCS(0), "parse/classify `goroutines`")
	files, code, done := parseFlags(fs, args, s)
	if done {
		return code
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(s.Err, "sfmcwatch scan: "+format+"\n", a...)
		return ExitUsage
	}
	f, err := report.ParseFormat(*format)
	if err != nil {
		return usageErr("%v", err)
	}
	fo, err := parseFailOn(*failOnFlag)
	if err != nil {
		return usageErr("%v", err)
	}
	if *window <= 0 {
		return usageErr("--window must be positive, got %s", *window)
	}
	if *consecutive < 1 {
		return usageErr("--consecutive must be at least 1, got %d", *consecutive)
	}
	if *workers < 1 {
		return usageErr("--workers must be at least 1, got %d", *workers)
	}
	if len(files) == 0 {
		return usageErr("no input: give log files or - for stdin (see --help)")
	}
	inputs, err := scanInputs(files, s.In)
	if err != nil {
		return usageErr("%v", err)
	}
	// Progress on stderr once the scan has taken more than 2 s.
	var read atomic.Int64
	var total int64
	for i := range inputs {
		if inputs[i].Name != "-" {
			if st, err := os.Stat(inputs[i].Name); err == nil {
				total += st.Size()
			}
		}
		open := inputs[i].Open
		inputs[i].Open = func() (io.ReadCloser, error) {
			rc, err := open()
			if err != nil {
				return nil, err
			}
			return countingReader{r: rc, n: &read}, nil
		}
	}
	prog := startProgress(s.Err, 2*time.Second, 2*time.Second, func(el time.Duration) string {
		if total > 0 {
			return fmt.Sprintf("scan: %.0f of %.0f MB read (%d%%), %s", float64(read.Load())/1e6, float64(total)/1e6, read.Load()*100/total, el)
		}
		return fmt.Sprintf("scan: %.0f MB read, %s", float64(read.Load())/1e6, el)
	})
	rep, err := scan.Run(ctx, inputs, scan.Options{Window: *window, Consecutive: *consecutive, Workers: *workers, Map: maps})
	prog.Stop()
	if err != nil {
		if strings.Contains(err.Error(), "has no status column") {
			return usageErr("%v\n%s", err, scanFormatHint)
		}
		return usageErr("%v", err)
	}
	if err := writeReport(*out, f, rep, s.Out); err != nil {
		return usageErr("%v", err)
	}
	if rep.Summary.Lines > 0 && rep.Summary.Events == 0 {
		// Every line was bad: not a format scan reads (an XML body, a text
		// log, JSON without a status). An error, not a clean report.
		return usageErr("no call found in %d line(s): the input is not in a format scan reads\n%s", rep.Summary.Lines, scanFormatHint)
	}
	for _, p := range rep.Patterns {
		if fo.matches(p) {
			return ExitFindings
		}
	}
	return ExitOK
}

// scanInputs checks every file is readable before the scan starts, so a
// typo fails fast, and opens each again when its turn comes.
func scanInputs(files []string, stdin io.Reader) ([]scan.Input, error) {
	var inputs []scan.Input
	stdinUsed := false
	for _, name := range files {
		if name == "-" {
			if stdinUsed {
				return nil, errors.New("stdin (-) given more than once")
			}
			stdinUsed = true
			inputs = append(inputs, scan.Input{Name: "-", Open: func() (io.ReadCloser, error) { return io.NopCloser(stdin), nil }})
			continue
		}
		fh, err := os.Open(name)
		if err != nil {
			return nil, fmt.Errorf("cannot read %s: %w", name, err)
		}
		st, err := fh.Stat()
		fh.Close()
		if err != nil {
			return nil, fmt.Errorf("cannot read %s: %w", name, err)
		}
		if st.IsDir() {
			return nil, fmt.Errorf("cannot read %s: is a directory", name)
		}
		inputs = append(inputs, scan.Input{Name: name, Open: func() (io.ReadCloser, error) { return os.Open(name) }})
	}
	return inputs, nil
}

func writeReport(out string, f report.Format, rep *scan.Report, stdout io.Writer) error {
	if out == "" {
		return report.Write(stdout, f, rep)
	}
	fh, err := os.Create(out)
	if err != nil {
		return fmt.Errorf("cannot write report: %w", err)
	}
	if err := report.Write(fh, f, rep); err != nil {
		fh.Close()
		return fmt.Errorf("write %s: %w", out, err)
	}
	if err := fh.Close(); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	return nil
}
