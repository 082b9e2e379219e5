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
//     once the WAL holds walRestartFrames a RESTART checkpoint runs on the
//     writer connection itself, between two transactions: it copies the
//     few frames the passive one left and rewinds the WAL. The WAL file
//     therefore stays bounded at about walRestartFrames pages plus one
//     transaction.
const (
	checkpointEvery  = 100 * time.Millisecond
	checkpointIdle   = 2 * time.Second // also catches writes that did not kick
	walRestartFrames = 8192            // 32 MiB at SQLite's 4 KiB pages
	restartBusy      = 200 * time.Millisecond
)

type checkpointer struct {
	ckpt *sql.DB       // dedicated connection for PASSIVE checkpoints
	w    *sql.DB       // the writer, for RESTART
	busy time.Duration // the writer's busy timeout, restored after RESTART
	// restartFrames is the WAL length (frames) that triggers a RESTART.
	restartFrames int
	log           *slog.Logger

	kick   chan struct{}
	cancel context.CancelFunc
	done   chan struct{}

	passive, restarts, failures atomic.Int64
	frames                      atomic.Int64 // WAL length at the last checkpoint
}

// WALStats are the SQLite checkpointer's counters.
type WALStats struct {
	// Passive and Restarts count the checkpoints run; Failures those that
	// failed (they are retried).
	Passive, Restarts, Failures int64
	// Frames is the WAL's length in pages at the last checkpoint.
	Frames int64
}

// WALStats returns the checkpointer's counters; ok is false on
// PostgreSQL.
func (s *sqlStore) WALStats() (st WALStats, ok bool) {
	c := s.ckpt
	if c == nil {
		return WALStats{}, false
	}
	return WALStats{Passive: c.passive.Load(), Restarts: c.restarts.Load(), Failures: c.failures.Load(), Frames: c.frames.Load()}, true
}

func startCheckpointer(ckpt, w *sql.DB, busy time.Duration, restartFrames int, log *slog.Logger) *checkpointer {
	ctx, cancel := context.WithCancel(context.Background())
	c := &checkpointer{ckpt: ckpt, w: w, busy: busy, restartFrames: restartFrames, log: log, kick: make(chan struct{}, 1), cancel: cancel, done: make(chan struct{})}
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
			c.log.Warn("sqlite checkpoint failed; retrying after the next write", "error", err)
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

// once runs one PASSIVE checkpoint, and a RESTART when the WAL is long.
func (c *checkpointer) once(ctx context.Context) error {
	frames, err := checkpoint(ctx, c.ckpt, "PASSIVE")
	if err != nil {
		return err
	}
	c.passive.Add(1)
	c.frames.Store(int64(frames))
	if frames < c.restartFrames {
		return nil
	}
	// On the writer connection, between two transactions. Readers still
	// on old WAL frames make RESTART wait on the busy handler, so it gets
	// a short one: a reader in the way postpones the rewind to the next
	// round instead of stalling writes for the full busy timeout.
	conn, err := c.w.Conn(ctx)
	if err != nil {
		return fmt.Errorf("writer connection: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA busy_timeout = %d", restartBusy.Milliseconds())); err != nil {
		return fmt.Errorf("busy_timeout: %w", err)
	}
	busy, _, err := checkpointConn(ctx, conn, "RESTART")
	if _, rerr := conn.ExecContext(context.WithoutCancel(ctx), fmt.Sprintf("PRAGMA busy_timeout = %d", c.busy.Milliseconds())); rerr != nil && err == nil {
		err = fmt.Errorf("restore busy_timeout: %w", rerr)
	}
	if err != nil {
		return err
	}
	if !busy {
		c.restarts.Add(1)
	}
	return nil
}

// checkpoint runs PRAGMA wal_checkpoint(mode) and returns the WAL's length
// in frames when it ran. A checkpoint that could not finish because of
// readers or a writer (busy) is not an error: the next one continues.
func checkpoint(ctx context.Context, db *sql.DB, mode string) (int, error) {
	var busy, frames, done int
	if err := db.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &frames, &done); err != nil {
		return 0, fmt.Errorf("wal_checkpoint(%s): %w", mode, err)
	}
	return frames, nil
}

// checkpointConn is checkpoint on a held connection; busy reports that
// readers or a writer kept it from finishing.
func checkpointConn(ctx context.Context, conn *sql.Conn, mode string) (busy bool, frames int, err error) {
	var b, done int
	if err := conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&b, &frames, &done); err != nil {
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
