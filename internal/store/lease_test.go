package store

import (
	"database/sql"
	"errors"
	"os"
	"testing"
	"time"
)

// Lease renewal (issue 14, faster takeover): a holder that renews keeps
// its work item or message past the first lease; one that stops renewing
// (a dead replica) loses it when the last renewal runs out, and a renewal
// after someone else claimed it is refused.

func leaseHarnesses(t *testing.T) []harness {
	hs := []harness{sqliteHarness()}
	if dsn := os.Getenv(postgresEnv); dsn != "" {
		hs = append(hs, harness{
			driver: DriverPostgres,
			raw: func(t *testing.T, cfg Config) *sql.DB {
				db, err := sql.Open("pgx", cfg.DSN)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = db.Close() })
				return db
			},
			fresh: func(t *testing.T) Config {
				return Config{Driver: DriverPostgres, DSN: freshSchema(t, dsn), MigrationLockWait: 60e9}
			},
		})
	}
	return hs
}

func TestLeaseRenewal(t *testing.T) {
	t.Parallel()
	for _, h := range leaseHarnesses(t) {
		t.Run(string(h.driver), func(t *testing.T) {
			t.Parallel()
			t.Run("Work", func(t *testing.T) { testWorkRenew(t, h) })
			t.Run("Outbox", func(t *testing.T) { testOutboxRenew(t, h) })
		})
	}
}

func testWorkRenew(t *testing.T, h harness) {
	ctx := t.Context()
	s := openT(t, h.fresh(t))
	if err := s.EnsureWork(ctx, t0, WorkSpec{Tenant: "a", Kind: "collect", Key: "automation"}); err != nil {
		t.Fatal(err)
	}
	lease := DefaultLease
	got, err := s.ClaimDue(ctx, "a", t0, lease, 1)
	if err != nil || len(got) != 1 {
		t.Fatalf("claim = %v, %v", got, err)
	}
	id := got[0].ID
	// Renewing every lease/3 for 5 leases keeps the item: b never gets it.
	now := t0
	for now.Before(t0.Add(5 * lease)) {
		now = now.Add(lease / 3)
		if err := s.RenewWork(ctx, id, "a", now.Add(lease), now); err != nil {
			t.Fatalf("renew at +%s: %v", now.Sub(t0), err)
		}
		if c, err := s.ClaimDue(ctx, "b", now, lease, 1); err != nil || len(c) != 0 {
			t.Fatalf("b claimed a renewed item at +%s: %v, %v", now.Sub(t0), c, err)
		}
	}
	// a dies: b takes it over exactly when the last renewal runs out.
	last := now
	if c, _ := s.ClaimDue(ctx, "b", last.Add(lease-time.Microsecond), lease, 1); len(c) != 0 {
		t.Fatalf("b claimed before the lease ran out: %v", c)
	}
	c, err := s.ClaimDue(ctx, "b", last.Add(lease), lease, 1)
	if err != nil || len(c) != 1 || c[0].ID != id || c[0].LeaseOwner != "b" {
		t.Fatalf("takeover claim = %v, %v", c, err)
	}
	if err := s.RenewWork(ctx, id, "a", last.Add(2*lease), last.Add(lease)); !errors.Is(err, ErrConflict) {
		t.Errorf("renew by the old holder = %v, want ErrConflict", err)
	}
	if err := s.RenewWork(ctx, id, "b", last.Add(lease), last.Add(lease)); err == nil {
		t.Error("renew ending at now accepted")
	}
	if err := s.RenewWork(ctx, id+100, "b", last.Add(2*lease), last); !errors.Is(err, ErrNotFound) {
		t.Errorf("renew of a missing item = %v, want ErrNotFound", err)
	}
	// A lease that ran out but nobody claimed is still its holder's.
	if err := s.RenewWork(ctx, id, "b", last.Add(5*lease), last.Add(3*lease)); err != nil {
		t.Errorf("renew of an expired, unclaimed lease = %v", err)
	}
	if err := s.Complete(ctx, id, "b", last.Add(time.Hour), last.Add(3*lease)); err != nil {
		t.Fatal(err)
	}
	if err := s.RenewWork(ctx, id, "b", last.Add(5*lease), last.Add(3*lease)); !errors.Is(err, ErrConflict) {
		t.Errorf("renew after complete = %v, want ErrConflict", err)
	}
}

func testOutboxRenew(t *testing.T, h harness) {
	ctx := t.Context()
	s := openT(t, h.fresh(t))
	if _, err := s.EnqueueNotifications(ctx, t0, msg("m1", "r")); err != nil {
		t.Fatal(err)
	}
	lease := OutboxLease
	got, err := s.ClaimNotifications(ctx, "a", t0, lease, 1)
	if err != nil || len(got) != 1 {
		t.Fatalf("claim = %v, %v", got, err)
	}
	id := got[0].ID
	now := t0
	for now.Before(t0.Add(4 * lease)) {
		now = now.Add(lease / 3)
		if err := s.RenewNotification(ctx, id, "a", now.Add(lease), now); err != nil {
			t.Fatalf("renew at +%s: %v", now.Sub(t0), err)
		}
		if c, err := s.ClaimNotifications(ctx, "b", now, lease, 1); err != nil || len(c) != 0 {
			t.Fatalf("b claimed a renewed message at +%s: %v, %v", now.Sub(t0), c, err)
		}
	}
	last := now
	c, err := s.ClaimNotifications(ctx, "b", last.Add(lease), lease, 1)
	if err != nil || len(c) != 1 || c[0].ID != id || c[0].Attempts != 2 {
		t.Fatalf("takeover claim = %+v, %v", c, err)
	}
	if err := s.RenewNotification(ctx, id, "a", last.Add(2*lease), last.Add(lease)); !errors.Is(err, ErrConflict) {
		t.Errorf("renew by the old holder = %v, want ErrConflict", err)
	}
	if err := s.MarkNotificationSent(ctx, id, "b", last.Add(lease)); err != nil {
		t.Fatal(err)
	}
	if err := s.RenewNotification(ctx, id, "b", last.Add(2*lease), last.Add(lease)); !errors.Is(err, ErrConflict) {
		t.Errorf("renew of a sent message = %v, want ErrConflict", err)
	}
	if err := s.RenewNotification(ctx, id+100, "b", last.Add(2*lease), last); !errors.Is(err, ErrNotFound) {
		t.Errorf("renew of a missing message = %v, want ErrNotFound", err)
	}
}
