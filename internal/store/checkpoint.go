package store

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"
)

// SQLite WAL checkpointing off the write path.
//
// By default SQLite checkpoints inside the commit that takes the WAL past
// 1,000 pages, so every few commits one writer pays for copying the WAL
// into the database file (a fifth of the writer's time under sustained
// ingest). The store turns that off on its writer connection and runs the
// checkpoints on a connection of their own instead:
//
//   - after writes (at most every checkpointEvery) a PASSIVE checkpoint
//     copies what it can while the writer keeps writing;
//   - a PASSIVE checkpoint racing a busy writer never catches up with the
//     WAL's end, and SQLite only rewinds the WAL after a complete one, so
//     once the WAL holds walTruncateFrames a TRUNCATE checkpoint runs on
//     the writer connection itself, between two transactions: it copies
//     the frames the passive one left, waits (briefly) for readers still
//     on old frames, and empties the WAL file. The WAL therefore stays
//     bounded at walTruncateFrames pages plus what is written during one
//     round (tens of MiB under sustained ingest), and shrinks back to
//     nothing afterwards.
//
// A TRUNCATE that readers keep from finishing is counted as busy and not
// tried again for truncateBackoff, so a long read does not stall writes
// round after round.
const (
	checkpointEvery   = 100 * time.Millisecond
	checkpointIdle    = 2 * time.Second // also catches writes that did not kick
	walTruncateFrames = 8192            // 32 MiB at SQLite's 4 KiB pages
	truncateBusy      = 200 * time.Millisecond
	truncateBackoff   = time.Second
)

type checkpointer struct {
	ckpt *sql.DB       // dedicated connection for PASSIVE checkpoints
	w    *sql.DB       // the writer, for TRUNCATE
	busy time.Duration // the writer's busy timeout, restored after TRUNCATE
	// truncateFrames is the WAL length (frames) that triggers a TRUNCATE.
	truncateFrames int
	log            *slog.Logger

	kick   chan struct{}
	cancel context.CancelFunc
	done   chan struct{}

	// notBefore delays the next TRUNCATE after a busy one (loop only).
	notBefore time.Time

	passive, truncates, truncBusy, failures atomic.Int64
	frames                                  atomic.Int64 // WAL length at the last checkpoint
}

// WALStats are the SQLite checkpointer's counters.
type WALStats struct {
	// Passive and Truncates count the checkpoints that ran; TruncateBusy
	// the TRUNCATEs readers kept from finishing (retried later); Failures
	// the checkpoints that failed (retried).
	Passive, Truncates, TruncateBusy, Failures int64
	// Frames is the WAL's length in pages after the last checkpoint.
	Frames int64
}

// WALStats returns the checkpointer's counters; ok is false on
// PostgreSQL.
func (s *sqlStore) WALStats() (st WALStats, ok bool) {
	c := s.ckpt
	if c == nil {
		return WALStats{}, false
	}
	return WALStats{Passive: c.passive.Load(), Truncates: c.truncates.Load(), TruncateBusy: c.truncBusy.Load(),
		Failures: c.failures.Load(), Frames: c.frames.Load()}, true
}

func startCheckpointer(ckpt, w *sql.DB, busy time.Duration, truncateFrames int, log *slog.Logger) *checkpointer {
	ctx, cancel := context.WithCancel(context.Background())
	c := &checkpointer{ckpt: ckpt, w: w, busy: busy, truncateFrames: truncateFrames, log: log, kick: make(chan struct{}, 1), cancel: cancel, done: make(chan struct{})}
	go c.run(ctx)
	return c
}

// written tells the checkpointer the WAL grew; it never blocks.
func (c *checkpointer) written() {
	if c == nil {
		return
	}
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

func (c *checkpointer) run(ctx context.Context) {
	defer close(c.done)
	idle := time.NewTimer(checkpointIdle)
	defer idle.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.kick:
		case <-idle.C:
		}
		if err := c.once(ctx); err != nil && ctx.Err() == nil {
			c.failures.Add(1)
			c.log.Warn("sqlite checkpoint failed; retrying", "error", err)
		}
		idle.Reset(checkpointIdle)
		// Let writes accumulate: a checkpoint copies each changed page
		// once however often it changed in between.
		select {
		case <-ctx.Done():
			return
		case <-time.After(checkpointEvery):
		}
	}
}

// once runs one PASSIVE checkpoint, and a TRUNCATE when the WAL is long.
func (c *checkpointer) once(ctx context.Context) error {
	_, frames, err := checkpoint(ctx, c.ckpt, "PASSIVE")
	if err != nil {
		return err
	}
	c.passive.Add(1)
	c.frames.Store(int64(frames))
	if frames < c.truncateFrames || time.Now().Before(c.notBefore) {
		return nil
	}
	// On the writer connection, between two transactions. Readers still
	// on old WAL frames make TRUNCATE wait on the busy handler, so it gets
	// a short one: a reader in the way postpones the truncation instead
	// of stalling writes for the full busy timeout.
	conn, err := c.w.Conn(ctx)
	if err != nil {
		return fmt.Errorf("writer connection: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA busy_timeout = %d", truncateBusy.Milliseconds())); err != nil {
		return fmt.Errorf("busy_timeout: %w", err)
	}
	busy, frames, err := checkpoint(ctx, conn, "TRUNCATE")
	if _, rerr := conn.ExecContext(context.WithoutCancel(ctx), fmt.Sprintf("PRAGMA busy_timeout = %d", c.busy.Milliseconds())); rerr != nil && err == nil {
		err = fmt.Errorf("restore busy_timeout: %w", rerr)
	}
	if err != nil {
		return err
	}
	if busy {
		c.truncBusy.Add(1)
		c.notBefore = time.Now().Add(truncateBackoff)
		return nil
	}
	c.truncates.Add(1)
	c.frames.Store(int64(frames))
	return nil
}

// rowQuerier is what runs the checkpoint pragma: a pool or a held
// connection.
type rowQuerier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// checkpoint runs PRAGMA wal_checkpoint(mode) and returns the WAL's length
// in frames. busy reports that readers or a writer kept it from finishing;
// that is not an error: the next one continues.
func checkpoint(ctx context.Context, q rowQuerier, mode string) (busy bool, frames int, err error) {
	var b, done int
	if err := q.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&b, &frames, &done); err != nil {
		return false, 0, fmt.Errorf("wal_checkpoint(%s): %w", mode, err)
	}
	return b != 0, frames, nil
}

// stop ends the loop; the last connection's close checkpoints the rest.
func (c *checkpointer) stop() error {
	if c == nil {
		return nil
	}
	c.cancel()
	<-c.done
	return c.ckpt.Close()
}
