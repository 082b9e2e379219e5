// Package inputs assembles the pushed and tailed inputs of `sfmcwatch
// serve` from the ingest config: the HTTP ingest API (POST
// /api/v1/events), the ENS receiver (POST /hooks/ens, /hooks/ens/{source})
// sharing one group-commit writer, and one tailer per file source.
//
// Tokens and ENS signature keys are read from the current config on every
// request, so a reload rotates them; file sources are fixed at start.
package inputs

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/ingest/ens"
	"github.com/sfmcwatch/sfmcwatch/internal/ingest/httpin"
	"github.com/sfmcwatch/sfmcwatch/internal/ingest/sink"
	"github.com/sfmcwatch/sfmcwatch/internal/ingest/tail"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// Options configure Inputs.
type Options struct {
	Store store.Store // required
	// Config returns the current config (e.g. config.Holder.Current).
	Config func() *config.Config
	Logger *slog.Logger
	Clock  func() time.Time
	// Writer tunes the group commit (zero: defaults).
	Writer sink.WriterOptions
	// OnStored, when set, is called with the tenants of newly committed
	// events (serve wakes detection with it).
	OnStored func(tenants []string)
	// OnENS, when set, receives the automation-instance and EmailNotSent
	// events of each committed ENS batch (serve merges them into the
	// rules' state at once).
	OnENS func([]ens.Notice)
}

// Inputs is the running set of inputs.
type Inputs struct {
	writer  *sink.Writer
	http    *httpin.Handler
	ens     *ens.Receiver
	tailers []*tail.Tailer
	lines   *prometheus.CounterVec
}

// New builds the inputs from the current config.
func New(o Options) (*Inputs, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	cfg := o.Config()
	rec := sink.NewRecorder(nil)
	wo := o.Writer
	if wo.Logger == nil {
		wo.Logger = o.Logger.With("component", "ingest")
	}
	if wo.OnCommit == nil {
		wo.OnCommit = o.OnStored
	}
	in := &Inputs{writer: sink.NewWriter(o.Store, wo), lines: tail.NewLinesCounter()}
	maxBody := func() int64 { return int64(o.Config().Ingest.MaxBodySize) }
	in.http = httpin.New(httpin.Options{Writer: in.writer, Recorder: rec, MaxBody: maxBody(), Clock: o.Clock,
		Logger:  o.Logger.With("component", "ingest"),
		Sources: func() []httpin.Source { return httpin.SourcesFromConfig(o.Config().Ingest) }})
	in.ens = ens.New(ens.Options{Writer: in.writer, Cursors: o.Store, Classifier: rec.Classifier(), MaxBody: maxBody(),
		Clock: o.Clock, Logger: o.Logger.With("component", "ens"), OnNotices: o.OnENS,
		Sources: func() []ens.Source { return ens.SourcesFromConfig(o.Config().Ingest) }})
	for _, s := range cfg.Ingest.Sources {
		if s.Type == "file" && s.Format == "csv" {
			return nil, fmt.Errorf("ingest source %s: file sources read JSON lines only (format auto or jsonl)", s.Name)
		}
	}
	for _, src := range tail.SourcesFromConfig(cfg.Ingest) {
		t, err := tail.New(src, tail.Options{Store: o.Store, Recorder: rec, Clock: o.Clock, Lines: in.lines, OnCommit: o.OnStored,
			Logger: o.Logger.With("component", "tail")})
		if err != nil {
			return nil, err
		}
		in.tailers = append(in.tailers, t)
	}
	return in, nil
}

// Routes returns the HTTP handlers keyed by ServeMux pattern (for
// web.Options.Extra). They authenticate themselves (bearer token, ENS
// signature).
func (in *Inputs) Routes() map[string]http.Handler {
	return map[string]http.Handler{
		"POST " + httpin.Path:    in.http,
		"POST " + ens.Path:       in.ens,
		"POST " + ens.SourcePath: in.ens,
	}
}

// Collectors returns the metrics: queue depth and commits, ingest
// requests and lines, ENS requests and events, tailed lines.
func (in *Inputs) Collectors() []prometheus.Collector {
	return []prometheus.Collector{in.writer.Collector(), in.http.Collector(), in.ens.Collector(), in.lines}
}

// Run runs the writer and the tailers until ctx ends; it returns once
// every queued event is committed. Keep it running until the HTTP server
// has shut down, or late requests get 503.
func (in *Inputs) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, t := range in.tailers {
		wg.Go(func() { t.Run(ctx) })
	}
	err := in.writer.Run(ctx)
	wg.Wait()
	return err
}
