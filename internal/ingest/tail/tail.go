// Package tail follows JSON-lines log files (a path or a glob, e.g. a
// middleware's log directory) and stores every complete line as a
// classified event, like the HTTP ingest API does for pushed lines.
//
// Guarantees:
//   - Offsets persist in the store (one cursor per source, "tail/<name>"),
//     committed in the same transaction as the events read up to them
//     (store.InsertEventsAdvanceCursor): after a crash or restart reading
//     resumes exactly where the last commit ended, so no line is stored
//     twice or skipped. Two replicas tailing the same file cannot both
//     advance the cursor (compare-and-set).
//   - A partial last line (no newline yet) is not consumed until its
//     newline arrives.
//   - Rename rotation (app.log → app.log.1, new app.log): files are
//     tracked by device and inode; a tracked file that left the path or
//     glob is found again through the descriptor still open or, after a
//     restart, among its directory's files by inode, read to its end, then
//     dropped. The new file is read from its start.
//   - Truncation (copytruncate): a file smaller than its offset, or whose
//     first bytes (up to 1 KiB, fingerprinted) changed, is read again from
//     the start.
//   - Not covered: a rotated file that is deleted or compressed before the
//     tail reached its end (its unread lines are gone; logged).
//   - Bad lines are counted and logged with file, line number and reason;
//     they never stop the tail.
package tail

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/ingest"
	"github.com/sfmcwatch/sfmcwatch/internal/ingest/sink"
	"github.com/sfmcwatch/sfmcwatch/internal/redact"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// EventSource is the Event.Source of tailed lines.
const EventSource = "tail"

// headMax is how many leading bytes fingerprint a file.
const headMax = 1024

// Source is one tailed input.
type Source struct {
	Name   string
	Tenant string
	// Pattern is a file path or a filepath.Match glob.
	Pattern string
}

// SourcesFromConfig returns the file sources of an ingest config.
func SourcesFromConfig(in config.Ingest) []Source {
	var out []Source
	for _, s := range in.Sources {
		if s.Type == "file" {
			out = append(out, Source{Name: s.Name, Tenant: s.Tenant, Pattern: s.Path})
		}
	}
	return out
}

// Store is what a Tailer needs from the store.
type Store interface {
	GetCursor(ctx context.Context, name string) (string, error)
	InsertEventsAdvanceCursor(ctx context.Context, recs []store.EventRecord, c store.CursorMove) (store.InsertResult, error)
}

// Options configure a Tailer; zero values select the defaults.
type Options struct {
	Store    Store          // required
	Recorder *sink.Recorder // default sink.NewRecorder(nil)
	// Interval between polls in Run (default 1 s).
	Interval time.Duration
	// MaxBatchBytes of lines per transaction (default 1 MiB).
	MaxBatchBytes int
	// MaxLineBytes: longer lines are skipped as bad (default 4 MiB).
	MaxLineBytes int
	Clock        func() time.Time
	Logger       *slog.Logger
	// Lines counts lines by source and result; nil creates one (shared by
	// several tailers when given).
	Lines *prometheus.CounterVec
	// OnCommit, when set, is called after a commit that stored events,
	// with their distinct tenants.
	OnCommit func(tenants []string)
}

// NewLinesCounter returns the counter Options.Lines expects.
func NewLinesCounter() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sfmcwatch_tail_lines_total",
		Help: "Tailed log lines by source and result (inserted, duplicate, rejected)."}, []string{"source", "result"})
}

type ident struct{ Dev, Ino uint64 }

// fileState is one tracked file in the cursor.
type fileState struct {
	Path    string `json:"path"`
	Dev     uint64 `json:"dev,omitempty"`
	Ino     uint64 `json:"ino,omitempty"`
	Off     int64  `json:"off"`
	Line    int    `json:"line"`
	Head    string `json:"head,omitempty"`
	HeadLen int    `json:"head_len,omitempty"`
}

func (f *fileState) id() ident { return ident{f.Dev, f.Ino} }

type state struct {
	Files []fileState `json:"files"`
}

// Tailer follows one source. Poll and Run must not be called concurrently.
type Tailer struct {
	src    Source
	opt    Options
	log    *slog.Logger
	parser *ingest.JSONParser
	cursor string

	loaded bool
	raw    string // the cursor value as stored
	st     state
	open   map[ident]*os.File
}

// New returns a Tailer for src.
func New(src Source, o Options) (*Tailer, error) {
	if o.Store == nil {
		return nil, errors.New("tail: no store")
	}
	if src.Name == "" || src.Pattern == "" {
		return nil, errors.New("tail: source needs a name and a path")
	}
	if _, err := filepath.Match(src.Pattern, ""); err != nil {
		return nil, fmt.Errorf("tail %s: bad path pattern %q: %w", src.Name, src.Pattern, err)
	}
	if o.Recorder == nil {
		o.Recorder = sink.NewRecorder(nil)
	}
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	if o.MaxBatchBytes <= 0 {
		o.MaxBatchBytes = 1 << 20
	}
	if o.MaxLineBytes <= 0 {
		o.MaxLineBytes = ingest.DefaultMaxLineBytes
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Lines == nil {
		o.Lines = NewLinesCounter()
	}
	p, err := ingest.NewJSONParser(ingest.Options{Source: EventSource, MaxLineBytes: o.MaxLineBytes})
	if err != nil {
		return nil, err
	}
	return &Tailer{src: src, opt: o, parser: p, cursor: "tail/" + src.Name, open: map[ident]*os.File{},
		log: o.Logger.With("source", src.Name)}, nil
}

// Stats counts what one Poll did.
type Stats struct {
	Lines, Inserted, Duplicates, Rejected int
}

// Run polls every Interval until ctx ends.
func (t *Tailer) Run(ctx context.Context) error {
	defer t.Close()
	tick := time.NewTicker(t.opt.Interval)
	defer tick.Stop()
	for {
		if _, err := t.Poll(ctx); err != nil && ctx.Err() == nil {
			t.log.Warn("tail poll failed; retrying from the last committed offset", "error", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// Close releases the open files.
func (t *Tailer) Close() {
	for id, f := range t.open {
		f.Close()
		delete(t.open, id)
	}
}

func (t *Tailer) load(ctx context.Context) error {
	raw, err := t.opt.Store.GetCursor(ctx, t.cursor)
	if errors.Is(err, store.ErrNotFound) {
		raw, err = "", nil
	}
	if err != nil {
		return err
	}
	var st state
	if raw != "" {
		if err := json.Unmarshal([]byte(raw), &st); err != nil {
			return fmt.Errorf("cursor %s is not valid tail state: %w", t.cursor, err)
		}
	}
	t.raw, t.st, t.loaded = raw, st, true
	return nil
}

// Poll reads every complete line available now and commits it.
func (t *Tailer) Poll(ctx context.Context) (Stats, error) {
	var stats Stats
	if !t.loaded {
		if err := t.load(ctx); err != nil {
			return stats, err
		}
	}
	matches, err := t.match()
	if err != nil {
		return stats, err
	}
	present := map[ident]bool{}
	for _, m := range matches {
		present[m.id] = true
	}
	// Files that left the pattern (rotated away): finish them first, they
	// hold the older lines.
	for _, fs := range slices.Clone(t.st.Files) {
		if present[fs.id()] && fs.Ino != 0 {
			continue
		}
		if fs.Ino == 0 && slices.ContainsFunc(matches, func(m match) bool { return m.path == fs.Path }) {
			continue
		}
		f := t.locate(fs)
		if f != nil {
			if err := t.drain(ctx, f, fs.id(), &stats); err != nil {
				return stats, err
			}
		} else {
			t.log.Warn("tailed file disappeared; lines written after the last read are lost", "file", fs.Path, "offset", fs.Off)
		}
		if err := t.commit(ctx, nil, func(s *state) {
			s.Files = slices.DeleteFunc(s.Files, func(x fileState) bool { return x.id() == fs.id() && x.Path == fs.Path })
		}, &stats); err != nil {
			return stats, err
		}
		if f != nil {
			f.Close()
			delete(t.open, fs.id())
		}
	}
	for _, m := range matches {
		f, err := t.openFile(m)
		if err != nil {
			t.log.Warn("cannot open tailed file", "file", m.path, "error", err)
			continue
		}
		if err := t.track(ctx, f, m, &stats); err != nil {
			return stats, err
		}
		if err := t.drain(ctx, f, m.id, &stats); err != nil {
			return stats, err
		}
	}
	return stats, nil
}

type match struct {
	path string
	id   ident
}

func (t *Tailer) match() ([]match, error) {
	paths, err := filepath.Glob(t.src.Pattern)
	if err != nil {
		return nil, fmt.Errorf("tail %s: %w", t.src.Name, err)
	}
	slices.Sort(paths)
	var out []match
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		id, _ := identOf(fi)
		out = append(out, match{path: p, id: id})
	}
	return out, nil
}

func (t *Tailer) openFile(m match) (*os.File, error) {
	if f, ok := t.open[m.id]; ok && m.id.Ino != 0 {
		return f, nil
	}
	f, err := os.Open(m.path)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if id, _ := identOf(fi); id != m.id {
		f.Close()
		return nil, fmt.Errorf("file %s was replaced while opening", m.path)
	}
	if m.id.Ino != 0 {
		t.open[m.id] = f
	}
	return f, nil
}

// locate finds a tracked file that left the pattern: its open descriptor,
// or a file with the same inode in its directory.
func (t *Tailer) locate(fs fileState) *os.File {
	if fs.Ino == 0 {
		return nil
	}
	if f, ok := t.open[fs.id()]; ok {
		return f
	}
	dir := filepath.Dir(fs.Path)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		if id, ok := identOf(fi); ok && id == fs.id() {
			f, err := os.Open(filepath.Join(dir, e.Name()))
			if err != nil {
				return nil
			}
			if fi2, err := f.Stat(); err == nil {
				if id2, _ := identOf(fi2); id2 == id {
					t.open[id] = f
					return f
				}
			}
			f.Close()
			return nil
		}
	}
	return nil
}

func (t *Tailer) find(id ident, path string) int {
	return slices.IndexFunc(t.st.Files, func(x fileState) bool {
		if id.Ino != 0 {
			return x.id() == id
		}
		return x.Ino == 0 && x.Path == path
	})
}

// track adds a new file to the state, or resets a known one that was
// truncated or rewritten.
func (t *Tailer) track(ctx context.Context, f *os.File, m match, stats *Stats) error {
	i := t.find(m.id, m.path)
	if i < 0 {
		return t.commit(ctx, nil, func(s *state) {
			s.Files = append(s.Files, fileState{Path: m.path, Dev: m.id.Dev, Ino: m.id.Ino})
		}, stats)
	}
	fs := t.st.Files[i]
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	reset := fi.Size() < fs.Off
	if !reset && fs.HeadLen > 0 {
		h, err := headHash(f, fs.HeadLen)
		reset = err != nil || h != fs.Head
	}
	if !reset && fs.Path == m.path {
		return nil
	}
	if reset {
		t.log.Info("tailed file was truncated or replaced; reading it from the start", "file", m.path, "old_offset", fs.Off)
	}
	return t.commit(ctx, nil, func(s *state) {
		j := slices.Index(s.Files, fs)
		if j < 0 {
			return
		}
		s.Files[j].Path = m.path
		if reset {
			s.Files[j].Off, s.Files[j].Line, s.Files[j].Head, s.Files[j].HeadLen = 0, 0, "", 0
		}
	}, stats)
}

func headHash(f *os.File, n int) (string, error) {
	b := make([]byte, n)
	if _, err := f.ReadAt(b, 0); err != nil {
		return "", err
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:]), nil
}

// drain reads and commits every complete line of a tracked file.
func (t *Tailer) drain(ctx context.Context, f *os.File, id ident, stats *Stats) error {
	for {
		i := t.find(id, "")
		if id.Ino == 0 {
			i = slices.IndexFunc(t.st.Files, func(x fileState) bool { return x.Path == f.Name() })
		}
		if i < 0 {
			return nil
		}
		fs := t.st.Files[i]
		chunk, next, bad, err := t.read(f, fs.Off)
		if err != nil {
			return fmt.Errorf("read %s: %w", fs.Path, err)
		}
		if next == fs.Off {
			return nil
		}
		recs, lines := t.parse(fs, chunk, bad, stats)
		nfs := fs
		nfs.Off, nfs.Line = next, fs.Line+lines
		if nfs.HeadLen < headMax && next > int64(nfs.HeadLen) {
			nfs.HeadLen = int(min(next, headMax))
			if nfs.Head, err = headHash(f, nfs.HeadLen); err != nil {
				return fmt.Errorf("read %s: %w", fs.Path, err)
			}
		}
		if err := t.commit(ctx, recs, func(s *state) {
			if j := slices.Index(s.Files, fs); j >= 0 {
				s.Files[j] = nfs
			}
		}, stats); err != nil {
			return err
		}
	}
}

// read returns the complete lines from off (at most about MaxBatchBytes,
// at least one line) and the offset after them. A line longer than
// MaxLineBytes is skipped: bad is set and chunk is empty. next == off when
// no complete line is there yet.
func (t *Tailer) read(f *os.File, off int64) (chunk []byte, next int64, bad bool, err error) {
	buf := make([]byte, 0, min(t.opt.MaxBatchBytes, 1<<16))
	tmp := make([]byte, 64<<10)
	pos := off
	for {
		n, rerr := f.ReadAt(tmp, pos)
		pos += int64(n)
		buf = append(buf, tmp[:n]...)
		if rerr != nil && rerr != io.EOF {
			return nil, off, false, rerr
		}
		eof := rerr == io.EOF || n == 0
		if i := bytes.LastIndexByte(buf, '\n'); i >= 0 && (len(buf) >= t.opt.MaxBatchBytes || eof) {
			return buf[:i+1], off + int64(i) + 1, false, nil
		}
		if eof {
			return nil, off, false, nil // partial last line: wait for its newline
		}
		if bytes.IndexByte(buf, '\n') < 0 && len(buf) > t.opt.MaxLineBytes {
			// Skip the over-long line up to its newline.
			for {
				n, rerr := f.ReadAt(tmp, pos)
				if i := bytes.IndexByte(tmp[:n], '\n'); i >= 0 {
					return nil, pos + int64(i) + 1, true, nil
				}
				pos += int64(n)
				if rerr == io.EOF || n == 0 {
					return nil, off, false, nil
				}
				if rerr != nil {
					return nil, off, false, rerr
				}
			}
		}
	}
}

// parse decodes the lines of a chunk; it returns the records and how many
// lines the chunk held.
func (t *Tailer) parse(fs fileState, chunk []byte, bad bool, stats *Stats) ([]store.EventRecord, int) {
	if bad {
		t.reject(fs.Path, fs.Line+1, fmt.Sprintf("line longer than %d bytes; skipped", t.opt.MaxLineBytes), stats)
		return nil, 1
	}
	now := t.opt.Clock()
	var recs []store.EventRecord
	lines := 0
	for len(chunk) > 0 {
		i := bytes.IndexByte(chunk, '\n')
		line := chunk[:i]
		chunk = chunk[i+1:]
		lines++
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		stats.Lines++
		no := fs.Line + lines
		ev, err := t.parser.Parse(ingest.RawLine{No: no, Data: line})
		if err != nil {
			reason := err.Error()
			if le, ok := errors.AsType[*ingest.LineError](err); ok {
				reason = le.Reason
			}
			t.reject(fs.Path, no, reason, stats)
			continue
		}
		ev.Source = EventSource
		if ev.Integration == "" {
			ev.Integration = t.src.Name
		}
		if ev.Tenant == "" {
			ev.Tenant = t.src.Tenant
		}
		recs = append(recs, t.opt.Recorder.Record(ev, now))
	}
	return recs, lines
}

func (t *Tailer) reject(path string, line int, reason string, stats *Stats) {
	stats.Rejected++
	t.opt.Lines.WithLabelValues(t.src.Name, "rejected").Inc()
	if stats.Rejected <= 20 {
		t.log.Warn("bad log line skipped", "file", path, "line", line, "reason", redact.String(reason))
	}
}

// commit stores recs and the state change in one transaction.
func (t *Tailer) commit(ctx context.Context, recs []store.EventRecord, change func(*state), stats *Stats) error {
	next := state{Files: slices.Clone(t.st.Files)}
	change(&next)
	b, err := json.Marshal(next)
	if err != nil {
		return err
	}
	res, err := t.opt.Store.InsertEventsAdvanceCursor(ctx, recs, store.CursorMove{Name: t.cursor, Old: t.raw, Next: string(b), Now: t.opt.Clock()})
	if err != nil {
		if errors.Is(err, store.ErrConflict) {
			t.loaded = false // another reader moved on: reload its position
		}
		return err
	}
	t.raw, t.st = string(b), next
	if res.Inserted > 0 && t.opt.OnCommit != nil {
		t.opt.OnCommit(sink.Tenants(recs))
	}
	stats.Inserted += res.Inserted
	stats.Duplicates += res.Duplicates
	t.opt.Lines.WithLabelValues(t.src.Name, "inserted").Add(float64(res.Inserted))
	t.opt.Lines.WithLabelValues(t.src.Name, "duplicate").Add(float64(res.Duplicates))
	return nil
}
