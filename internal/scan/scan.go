package scan

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/classify"
	"github.com/sfmcwatch/sfmcwatch/internal/event"
	"github.com/sfmcwatch/sfmcwatch/internal/ingest"
)

// Defaults.
const (
	DefaultWindow      = 15 * time.Minute
	DefaultConsecutive = 5
	DefaultBatchBytes  = 2 << 20
	maxBadLines        = 20
)

// Input is one log to scan, opened when its turn comes.
type Input struct {
	// Name is shown in bad-line samples and errors ("-" for stdin).
	Name string
	// Open returns the log's bytes (possibly gzip); it is closed after use.
	Open func() (io.ReadCloser, error)
}

// Source is a log stream cut into batches plus the parser of its records;
// *ingest.Stream satisfies it.
type Source interface {
	ReadBatch(dst []ingest.RawLine, maxBytes int) ([]ingest.RawLine, error)
	Parser() ingest.Parser
}

// Options tune a scan. The zero value uses the defaults.
type Options struct {
	// Window and Consecutive are the persistence thresholds (see the
	// package documentation).
	Window      time.Duration
	Consecutive int
	// Workers is the number of parse+classify goroutines (GOMAXPROCS when 0).
	Workers int
	// BatchBytes is roughly how many bytes of records one batch holds.
	BatchBytes int
	// Map maps canonical fields to source paths (ingest.Options.Map).
	Map map[string]string
	// Classifier classifies responses (classify.New(catalog.Default()) when nil).
	Classifier *classify.Classifier
	// Open turns a reader into a Source (ingest.NewStream when nil).
	Open func(r io.Reader, o ingest.Options) (Source, error)
}

// InputError is a log that could not be opened or read.
type InputError struct {
	Name string
	Err  error
}

func (e *InputError) Error() string { return fmt.Sprintf("%s: %v", e.Name, e.Err) }
func (e *InputError) Unwrap() error { return e.Err }

// job is one batch on its way to a worker.
type job struct {
	seq    int
	file   int
	lines  []ingest.RawLine
	parser ingest.Parser
	events []event.Event // pre-decoded events (tests)
}

// Run scans the inputs in the order given and returns the report. Bad
// records never stop a scan; an input that cannot be opened or read does,
// with an *InputError.
func Run(ctx context.Context, inputs []Input, opts Options) (*Report, error) {
	opts = opts.withDefaults()
	names := make([]string, len(inputs))
	for i, in := range inputs {
		names[i] = in.Name
	}
	return pipeline(ctx, names, opts, func(ctx context.Context, emit func(job) error) error {
		for i, in := range inputs {
			if err := readInput(ctx, i, in, opts, emit); err != nil {
				return err
			}
		}
		return nil
	})
}

func (o Options) withDefaults() Options {
	if o.Window <= 0 {
		o.Window = DefaultWindow
	}
	if o.Consecutive <= 0 {
		o.Consecutive = DefaultConsecutive
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.BatchBytes <= 0 {
		o.BatchBytes = DefaultBatchBytes
	}
	if o.Classifier == nil {
		o.Classifier = classify.New(catalog.Default())
	}
	if o.Open == nil {
		o.Open = openIngest
	}
	return o
}

func readInput(ctx context.Context, i int, in Input, opts Options, emit func(job) error) error {
	rc, err := in.Open()
	if err != nil {
		return &InputError{Name: in.Name, Err: err}
	}
	defer rc.Close()
	src, err := opts.Open(rc, ingest.Options{Map: opts.Map})
	if err != nil {
		return &InputError{Name: in.Name, Err: err}
	}
	parser := src.Parser()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		lines, err := src.ReadBatch(nil, opts.BatchBytes)
		if len(lines) > 0 {
			if e := emit(job{file: i, lines: lines, parser: parser}); e != nil {
				return e
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return &InputError{Name: in.Name, Err: err}
		}
	}
}

// pipeline runs the scan: produce emits batches in log order (one goroutine),
// workers summarise them in parallel, and this goroutine merges summaries
// in sequence order. At most inflight batches exist at any time, which
// bounds memory whatever the input size.
func pipeline(ctx context.Context, names []string, opts Options, produce func(context.Context, func(job) error) error) (*Report, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	t := thresholds{window: opts.Window, consecutive: int64(opts.Consecutive)}
	inflight := 2*opts.Workers + 2
	tokens := make(chan struct{}, inflight)
	jobs := make(chan job, opts.Workers)
	results := make(chan *batchSummary, inflight)

	var prodErr error
	go func() {
		defer close(jobs)
		seq := 0
		prodErr = produce(ctx, func(j job) error {
			select {
			case tokens <- struct{}{}:
			case <-ctx.Done():
				return context.Cause(ctx)
			}
			j.seq = seq
			seq++
			select {
			case jobs <- j:
				return nil
			case <-ctx.Done():
				return context.Cause(ctx)
			}
		})
		if prodErr != nil {
			cancel(prodErr)
		}
	}()
	var wg sync.WaitGroup
	for range opts.Workers {
		wg.Go(func() {
			for j := range jobs {
				results <- summarize(j, opts.Classifier, t)
			}
		})
	}
	go func() { wg.Wait(); close(results) }()

	agg := newAggregator(t, names)
	pending := map[int]*batchSummary{}
	next := 0
	for b := range results {
		pending[b.seq] = b
		for {
			nb, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			agg.merge(nb)
			next++
			<-tokens
		}
	}
	// results is closed only after the producer finished (jobs closed), so
	// prodErr is safe to read here.
	if prodErr != nil {
		return nil, prodErr
	}
	if err := ctx.Err(); err != nil {
		return nil, context.Cause(ctx)
	}
	return agg.report(), nil
}

// summarize parses and classifies one batch and reduces it to a summary.
func summarize(j job, c *classify.Classifier, t thresholds) *batchSummary {
	b := newBatchSummary(j.seq)
	var ev event.Event
	var res classify.Result
	for _, l := range j.lines {
		b.bytes += int64(len(l.Data)) + 1 // Data holds the raw record for CSV too
		var err error
		ev, err = j.parser.Parse(l)
		if err != nil {
			var le *ingest.LineError
			if errors.As(err, &le) {
				b.addBad(j.file, le.Line, le.Reason)
			} else {
				b.addBad(j.file, l.No, err.Error())
			}
			continue
		}
		classifyEvent(b, &ev, &res, c, t)
	}
	for i := range j.events {
		classifyEvent(b, &j.events[i], &res, c, t)
	}
	return b
}

// fastPath is off only in the test that checks it changes no report.
var fastPath = true

func classifyEvent(b *batchSummary, ev *event.Event, res *classify.Result, c *classify.Classifier, t thresholds) {
	// Fast path: most calls of a log are 2xx whose body carries nothing the
	// classifier reads (the byte scan still looks at every body, so SOAP
	// OverallStatus Error, hasErrors or an errorcode in a 200 take the full
	// path); they only break their group's runs.
	if cl, ok := c.Clean(ev.Status, ev.Body); ok && fastPath {
		*res = classify.Result{HTTPStatus: ev.Status, Classifications: append(res.Classifications[:0], cl)}
	} else {
		*res = c.Classify(classify.Input{URL: ev.URL, Method: ev.Method, Status: ev.Status, Body: ev.Body, Now: ev.TS})
	}
	ep, key := ev.Endpoint, ev.ObjectKey
	if ep == "" && ev.URL != "" {
		ep, key = endpointOf(ev.URL)
	}
	b.addEvent(ev, ep, key, res, t)
}
