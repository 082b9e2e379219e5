package tail

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

func openStore(t *testing.T) store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), store.Config{Path: filepath.Join(t.TempDir(), "db.sqlite")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func newTailer(t *testing.T, st Store, pattern string) *Tailer {
	t.Helper()
	tl, err := New(Source{Name: "etl", Tenant: "acme", Pattern: pattern}, Options{Store: st, Clock: func() time.Time { return t0 }, MaxLineBytes: 256})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tl.Close)
	return tl
}

// line is a JSON log line without request_id, so the store cannot hide a
// line read twice.
func line(n int) string {
	return fmt.Sprintf(`{"ts":"2026-03-02T09:00:%02dZ","url":"/l/%d","status":401}`+"\n", n%60, n)
}

func lines(from, to int) string {
	var b strings.Builder
	for i := from; i < to; i++ {
		b.WriteString(line(i))
	}
	return b.String()
}

func appendFile(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func poll(t *testing.T, tl *Tailer) Stats {
	t.Helper()
	s, err := tl.Poll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// stored returns the line numbers stored, in order, failing on duplicates.
func stored(t *testing.T, st store.Store) []int {
	t.Helper()
	evs, err := st.QueryEvents(context.Background(), store.EventQuery{Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, e := range evs {
		var n int
		if _, err := fmt.Sscanf(e.URL, "/l/%d", &n); err != nil {
			t.Fatalf("unexpected event %+v", e)
		}
		if slices.Contains(out, n) {
			t.Fatalf("line %d stored twice", n)
		}
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

func want(t *testing.T, st store.Store, from, to int) {
	t.Helper()
	got := stored(t, st)
	var w []int
	for i := from; i < to; i++ {
		w = append(w, i)
	}
	if !slices.Equal(got, w) {
		t.Fatalf("stored lines %v, want %d..%d", got, from, to-1)
	}
}

func TestPartialLineAndRestart(t *testing.T) {
	st := openStore(t)
	p := filepath.Join(t.TempDir(), "app.log")
	appendFile(t, p, lines(0, 3)+line(3)[:20]) // partial 4th line
	tl := newTailer(t, st, p)
	if s := poll(t, tl); s.Inserted != 3 {
		t.Fatalf("first poll %+v", s)
	}
	if s := poll(t, tl); s.Inserted != 0 {
		t.Fatalf("partial line consumed: %+v", s)
	}
	appendFile(t, p, line(3)[20:])
	if s := poll(t, tl); s.Inserted != 1 {
		t.Fatalf("completed line: %+v", s)
	}
	evs, _ := st.QueryEvents(context.Background(), store.EventQuery{Limit: 1})
	if e := evs[0]; e.Source != "tail" || e.Integration != "etl" || e.Tenant != "acme" || e.Family != "auth" || !e.IsError {
		t.Fatalf("event = %+v", e)
	}
	// Restart: a new tailer resumes at the committed offset.
	tl.Close()
	appendFile(t, p, lines(4, 6))
	tl2 := newTailer(t, st, p)
	if s := poll(t, tl2); s.Inserted != 2 {
		t.Fatalf("after restart: %+v", s)
	}
	want(t, st, 0, 6)
}

func TestRenameRotation(t *testing.T) {
	for _, restart := range []bool{false, true} {
		t.Run(fmt.Sprintf("restart=%v", restart), func(t *testing.T) {
			st := openStore(t)
			dir := t.TempDir()
			p := filepath.Join(dir, "app.log")
			appendFile(t, p, lines(0, 3))
			tl := newTailer(t, st, p)
			poll(t, tl)
			// Lines written just before rotation, not read yet.
			appendFile(t, p, lines(3, 5))
			if err := os.Rename(p, p+".1"); err != nil {
				t.Fatal(err)
			}
			appendFile(t, p, lines(5, 7))
			if restart {
				tl.Close()
				tl = newTailer(t, st, p)
			}
			poll(t, tl)
			want(t, st, 0, 7)
			// The rotated file is no longer tracked; new lines keep coming.
			appendFile(t, p+".1", lines(100, 101)) // ignored: it left the pattern
			appendFile(t, p, lines(7, 8))
			poll(t, tl)
			want(t, st, 0, 8)
			if n := len(tl.st.Files); n != 1 {
				t.Fatalf("tracking %d files", n)
			}
		})
	}
}

func TestTruncation(t *testing.T) {
	st := openStore(t)
	p := filepath.Join(t.TempDir(), "app.log")
	appendFile(t, p, lines(0, 4))
	tl := newTailer(t, st, p)
	poll(t, tl)
	// copytruncate, then fewer bytes than the old offset.
	if err := os.Truncate(p, 0); err != nil {
		t.Fatal(err)
	}
	appendFile(t, p, lines(4, 5))
	poll(t, tl)
	want(t, st, 0, 5)
	// Truncated and refilled past the old offset before the next poll:
	// the head fingerprint tells.
	os.Truncate(p, 0)
	appendFile(t, p, lines(5, 9))
	poll(t, tl)
	want(t, st, 0, 9)
}

// flaky fails the first commit that carries events, as a crash between
// reading and committing would.
type flaky struct {
	store.Store
	failed bool
}

func (f *flaky) InsertEventsAdvanceCursor(ctx context.Context, recs []store.EventRecord, c store.CursorMove) (store.InsertResult, error) {
	if len(recs) > 0 && !f.failed {
		f.failed = true
		return store.InsertResult{}, errors.New("database is locked")
	}
	return f.Store.InsertEventsAdvanceCursor(ctx, recs, c)
}

func TestFailedCommitRereads(t *testing.T) {
	st := openStore(t)
	p := filepath.Join(t.TempDir(), "app.log")
	appendFile(t, p, lines(0, 3))
	tl := newTailer(t, &flaky{Store: st}, p)
	if _, err := tl.Poll(context.Background()); err == nil {
		t.Fatal("commit error not reported")
	}
	want(t, st, 0, 0)
	poll(t, tl)
	want(t, st, 0, 3)
}

func TestTwoReplicas(t *testing.T) {
	st := openStore(t)
	p := filepath.Join(t.TempDir(), "app.log")
	appendFile(t, p, lines(0, 3))
	a, b := newTailer(t, st, p), newTailer(t, st, p)
	if err := b.load(context.Background()); err != nil { // b read the cursor before a moved it
		t.Fatal(err)
	}
	poll(t, a)
	if _, err := b.Poll(context.Background()); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale replica = %v, want ErrConflict", err)
	}
	appendFile(t, p, lines(3, 5))
	poll(t, b) // reloads a's position, reads the new lines
	if _, err := a.Poll(context.Background()); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a after b moved on = %v, want ErrConflict", err)
	}
	if s := poll(t, a); s.Inserted != 0 {
		t.Fatalf("a re-read lines: %+v", s)
	}
	want(t, st, 0, 5)
}

func TestBadLinesAndGlob(t *testing.T) {
	st := openStore(t)
	dir := t.TempDir()
	appendFile(t, filepath.Join(dir, "a.log"), line(0)+"not json\n"+strings.Repeat("x", 300)+"\n\n"+line(1))
	appendFile(t, filepath.Join(dir, "b.log"), line(2))
	appendFile(t, filepath.Join(dir, "c.txt"), line(50))
	tl := newTailer(t, st, filepath.Join(dir, "*.log"))
	s := poll(t, tl)
	if s.Inserted != 3 || s.Rejected != 2 {
		t.Fatalf("stats %+v", s)
	}
	want(t, st, 0, 3)
	// Line numbers continue across polls (the blank line counts).
	if i := tl.find(tl.st.Files[0].id(), tl.st.Files[0].Path); tl.st.Files[i].Line != 5 {
		t.Fatalf("state %+v", tl.st.Files)
	}
}

func TestBatchesLargeFile(t *testing.T) {
	st := openStore(t)
	p := filepath.Join(t.TempDir(), "app.log")
	appendFile(t, p, lines(0, 500))
	tl, err := New(Source{Name: "etl", Pattern: p}, Options{Store: st, MaxBatchBytes: 4 << 10, Clock: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	defer tl.Close()
	if s := poll(t, tl); s.Inserted != 500 {
		t.Fatalf("%+v", s)
	}
	want(t, st, 0, 500)
}
