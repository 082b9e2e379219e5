package store

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestSQLiteCheckpointKeepsWALBounded writes continuously (with a reader
// polling alongside, as the dashboard does) and checks that the
// checkpointer, not the commits, keeps the WAL short: it rewinds the WAL
// once it passes the truncate length, every event stays readable, and once
// writes stop the WAL is fully copied into the database.
func TestSQLiteCheckpointKeepsWALBounded(t *testing.T) {
	ctx := t.Context()
	const truncateFrames = 256 // 1 MiB
	path := filepath.Join(t.TempDir(), "ckpt.db")
	st, err := Open(ctx, Config{Path: path, walTruncateFrames: truncateFrames}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := st.(*sqlStore)

	readCtx, stopReads := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		for readCtx.Err() == nil {
			var n int
			_ = s.r.QueryRowContext(readCtx, `SELECT count(*) FROM events WHERE ts >= ?`, t0.UnixMicro()).Scan(&n)
			time.Sleep(5 * time.Millisecond)
		}
	})

	const commits, batch = 50, 1000
	var maxWAL int64
	recs := make([]EventRecord, batch)
	for c := range commits {
		for i := range recs {
			n := c*batch + i
			recs[i] = ev(t0.Add(time.Duration(n)*time.Millisecond), fmt.Sprint("t", n%3), "crm", "/hub/v1/dataevents/key:DE/rowset", "auth", 401, fmt.Sprintf("req-%08x", n*2654435761%(1<<32)))
			recs[i].Body = []byte(`{"message":"Not Authorized","errorcode":0}`)
		}
		if _, err := s.InsertEvents(ctx, recs); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Stat(path + "-wal"); err == nil {
			maxWAL = max(maxWAL, fi.Size())
		}
		// Pace the writes a little so the test covers rounds of the
		// checkpointer on every machine speed.
		time.Sleep(2 * time.Millisecond)
	}
	stopReads()
	wg.Wait()

	var total int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM events`).Scan(&total); err != nil || total != commits*batch {
		t.Fatalf("events stored = %d, %v; want %d", total, err, commits*batch)
	}
	if s.ckpt.truncates.Load() == 0 {
		t.Errorf("no TRUNCATE checkpoint ran (passive rounds %d, busy %d, failures %d)", s.ckpt.passive.Load(), s.ckpt.truncBusy.Load(), s.ckpt.failures.Load())
	}
	// Everything written is ~50 MiB of WAL frames when nothing truncates
	// the WAL; the checkpointer keeps it to the truncate length plus what
	// is written during one round.
	if limit := int64(24 << 20); maxWAL > limit {
		t.Errorf("WAL grew to %d bytes; want at most %d", maxWAL, limit)
	}
	t.Logf("max WAL %d KiB; passive rounds %d, truncates %d (busy %d)", maxWAL>>10, s.ckpt.passive.Load(), s.ckpt.truncates.Load(), s.ckpt.truncBusy.Load())

	// The commits never checkpoint, and a TRUNCATE leaves the writer's
	// busy timeout as it found it.
	var auto, busy int
	if err := s.w.QueryRowContext(ctx, `PRAGMA wal_autocheckpoint`).Scan(&auto); err != nil || auto != 0 {
		t.Errorf("writer wal_autocheckpoint = %d, %v; want 0", auto, err)
	}
	if err := s.w.QueryRowContext(ctx, `PRAGMA busy_timeout`).Scan(&busy); err != nil || busy != int(defaultBusyTimeout.Milliseconds()) {
		t.Errorf("writer busy_timeout = %d, %v; want %d", busy, err, defaultBusyTimeout.Milliseconds())
	}

	// Idle: the checkpointer catches up with the WAL's end by itself.
	deadline := time.Now().Add(10 * time.Second)
	for {
		frames, done := walState(t, path)
		if frames == done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("WAL not checkpointed after writes stopped: %d frames, %d copied", frames, done)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// walState reads the WAL's length (mxFrame) and how much of it is copied
// into the database (nBackfill) from the wal-index (the -shm file), which
// observes the checkpointer without checkpointing anything itself. Layout:
// two copies of the 48-byte index header (mxFrame at offset 16), then the
// checkpoint info (nBackfill first), all in native byte order.
func walState(t *testing.T, path string) (frames, done uint32) {
	t.Helper()
	b, err := os.ReadFile(path + "-shm")
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 100 {
		t.Fatalf("wal-index has %d bytes", len(b))
	}
	return binary.NativeEndian.Uint32(b[16:]), binary.NativeEndian.Uint32(b[96:])
}
