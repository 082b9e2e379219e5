package sink

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/event"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// fakeInserter records each transaction's groups; it blocks while hold is
// set so submissions pile up.
type fakeInserter struct {
	mu      sync.Mutex
	calls   [][]int // group sizes per call
	hold    chan struct{}
	started chan struct{}
	err     error
}

func (f *fakeInserter) InsertEventGroups(_ context.Context, groups [][]store.EventRecord) ([]store.InsertResult, error) {
	if f.started != nil {
		f.started <- struct{}{}
	}
	if f.hold != nil {
		<-f.hold
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	sizes := make([]int, len(groups))
	res := make([]store.InsertResult, len(groups))
	for i, g := range groups {
		sizes[i] = len(g)
		res[i] = store.InsertResult{Inserted: len(g)}
	}
	f.calls = append(f.calls, sizes)
	return res, f.err
}

func recs(tenant string, n int) []store.EventRecord {
	out := make([]store.EventRecord, n)
	for i := range out {
		out[i] = store.EventRecord{Event: event.Event{Tenant: tenant, TS: time.Unix(1, 0)}}
	}
	return out
}

func TestGroupCommit(t *testing.T) {
	f := &fakeInserter{hold: make(chan struct{}), started: make(chan struct{}, 10)}
	var committed [][]string
	w := NewWriter(f, WriterOptions{MaxCommit: 10, OnCommit: func(t []string) { committed = append(committed, t) }})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()

	first, _ := w.Submit(recs("a", 1))
	<-f.started // the first commit is running; the next submissions queue up
	var ps []*Pending
	for i, tn := range []string{"b", "c", "b", "d"} {
		p, err := w.Submit(recs(tn, 3+i))
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	if d := w.Depth(); d != 1+3+4+5+6 {
		t.Fatalf("depth %d", d)
	}
	close(f.hold)
	for i, p := range append([]*Pending{first}, ps...) {
		want := []int{1, 3, 4, 5, 6}[i]
		if res, err := p.Wait(context.Background()); err != nil || res.Inserted != want {
			t.Fatalf("submission %d: %+v, %v", i, res, err)
		}
	}
	cancel()
	<-done
	// 1, then 3+4 (≤10), then 5 (5+6 > 10), then 6.
	want := [][]int{{1}, {3, 4}, {5}, {6}}
	if !slices.EqualFunc(f.calls, want, slices.Equal) {
		t.Fatalf("transactions %v, want %v", f.calls, want)
	}
	if !slices.EqualFunc(committed, [][]string{{"a"}, {"b", "c"}, {"b"}, {"d"}}, slices.Equal) {
		t.Fatalf("OnCommit tenants %v", committed)
	}
	if w.Depth() != 0 {
		t.Fatalf("depth after drain %d", w.Depth())
	}
	if _, err := w.Submit(recs("a", 1)); !errors.Is(err, ErrClosed) {
		t.Fatalf("submit after stop = %v", err)
	}
}

func TestQueueFullAndErrors(t *testing.T) {
	f := &fakeInserter{err: errors.New("disk I/O error")}
	w := NewWriter(f, WriterOptions{MaxQueued: 5})
	big, err := w.Submit(recs("a", 8)) // over capacity but the queue is empty: taken
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Submit(recs("a", 1)); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("second submit = %v, want ErrQueueFull", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	if _, err := big.Wait(context.Background()); err == nil {
		t.Fatal("commit error not reported to the submitter")
	}
	cancel()
	<-done
	// A caller that stops waiting gets its context's error.
	p := &Pending{done: make(chan struct{})}
	wctx, wcancel := context.WithCancel(context.Background())
	wcancel()
	if _, err := p.Wait(wctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait = %v", err)
	}
}
