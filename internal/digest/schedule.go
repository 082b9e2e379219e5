package digest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// Cursors is the part of the store the scheduler claims runs through.
type Cursors interface {
	GetCursor(ctx context.Context, name string) (string, error)
	CompareAndSetCursor(ctx context.Context, name, old, next string, now time.Time) error
}

// ScheduleStore is what the scheduler needs from the store.
type ScheduleStore interface {
	Store
	Cursors
}

// CursorName is the store cursor holding the last claimed digest time
// (RFC 3339): replicas compare-and-set it, so one of them runs each digest.
const CursorName = "digest.last_run"

// recheck bounds how long the scheduler sleeps before re-reading the config
// (a reload may change the schedule).
const recheck = time.Hour

// Scheduler runs the digest on the config's cron schedule, once across
// replicas sharing a store.
type Scheduler struct {
	Store ScheduleStore
	// Config returns the current config (a reload applies at the next
	// check).
	Config func() *config.Config
	// Deliver receives each digest (write files, send to receivers).
	Deliver func(ctx context.Context, d *Digest) error
	// Now is the clock (default time.Now).
	Now    func() time.Time
	Logger *slog.Logger
}

func (s *Scheduler) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

func (s *Scheduler) log() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

// Next returns the next scheduled digest after t under cfg (zero when the
// digest is disabled).
func Next(cfg *config.Config, t time.Time) time.Time {
	if cfg == nil || !cfg.Digest.Enabled || cfg.Digest.Cron() == nil {
		return time.Time{}
	}
	return cfg.Digest.Cron().Next(t, cfg.Digest.Location())
}

// Claim records that this replica runs the digest due at fireAt. It
// returns false when another replica (or an earlier run) already claimed
// fireAt or a later one.
func (s *Scheduler) Claim(ctx context.Context, fireAt time.Time) (bool, error) {
	old, err := s.Store.GetCursor(ctx, CursorName)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return false, fmt.Errorf("digest: read %s: %w", CursorName, err)
	}
	if old != "" {
		if last, perr := time.Parse(time.RFC3339, old); perr == nil && !last.Before(fireAt) {
			return false, nil
		}
	}
	next := fireAt.UTC().Format(time.RFC3339)
	switch err := s.Store.CompareAndSetCursor(ctx, CursorName, old, next, s.now()); {
	case errors.Is(err, store.ErrConflict):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("digest: claim %s: %w", next, err)
	}
	return true, nil
}

// RunAt claims the digest due at fireAt and, when this replica won the
// claim, builds the digest of the period ending at fireAt and delivers it.
func (s *Scheduler) RunAt(ctx context.Context, fireAt time.Time) (bool, error) {
	ok, err := s.Claim(ctx, fireAt)
	if err != nil || !ok {
		return false, err
	}
	cfg := s.Config()
	d, err := Build(ctx, s.Store, Options{Period: cfg.Digest.Period.Std(), Now: func() time.Time { return fireAt }, Config: cfg, Location: cfg.Digest.Location()})
	if err != nil {
		return true, err
	}
	s.log().Info("weekly digest", "from", d.From, "to", d.To, "incidents", len(d.Incidents), "silent", len(d.Silent),
		"ttd_median", d.TTD.Median, "ttd_since_failure_median", d.TTDSinceFailure.Median, "ttr_median", d.TTR.Median)
	if s.Deliver != nil {
		if err := s.Deliver(ctx, d); err != nil {
			return true, fmt.Errorf("digest: deliver: %w", err)
		}
	}
	return true, nil
}

// Run waits for each scheduled time and runs the digest until ctx ends.
// A digest whose time passed while no replica ran is not caught up.
func (s *Scheduler) Run(ctx context.Context) error {
	after := s.now()
	for {
		cfg := s.Config()
		// Times that passed while disabled or down are not caught up.
		fire := Next(cfg, maxTime(after, s.now()))
		wake := s.now().Add(recheck)
		if !fire.IsZero() && fire.Before(wake) {
			wake = fire
		}
		t := time.NewTimer(max(0, wake.Sub(s.now())))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		if fire.IsZero() || s.now().Before(fire) {
			continue // re-read the config
		}
		if _, err := s.RunAt(ctx, fire); err != nil {
			s.log().Error("weekly digest failed", "at", fire, "error", err)
		}
		after = fire
	}
}
