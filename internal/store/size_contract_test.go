package store

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"testing"
)

// testDatabaseSize: the size is positive and grows with what is stored.
func testDatabaseSize(t *testing.T, h harness) {
	s := openT(t, h.fresh(t))
	ctx := t.Context()
	ss := s.(*sqlStore)
	before, err := ss.DatabaseSize(ctx)
	if err != nil || before.Bytes <= 0 || before.FreeBytes < 0 || before.FreeBytes > before.Bytes {
		t.Fatalf("empty database: %+v, %v", before, err)
	}
	// 600 snapshots of 4 KB random text (2.4 MB; ~1.8 MB after the store's
	// deflate): enough to show growth on both drivers, small enough that
	// packing them is not most of the package's time under -race.
	const n, minGrowth = 600, 1_200_000
	var snaps []Snapshot
	for i := range n {
		// Random text: PostgreSQL compresses repetitive payloads.
		b := make([]byte, 3000)
		_, _ = rand.Read(b)
		// Base64 needs no JSON escaping.
		pad := json.RawMessage(`{"pad":"` + base64.StdEncoding.EncodeToString(b) + `"}`)
		snaps = append(snaps, Snapshot{ResourceRef: ResourceRef{Tenant: "t", ResourceType: "automation", ResourceKey: fmt.Sprint(i)},
			ObservedAt: t0, Payload: pad})
	}
	if _, err := s.InsertSnapshots(ctx, snaps); err != nil {
		t.Fatal(err)
	}
	if h.driver == "sqlite" {
		// Pages reach the main file at a checkpoint.
		if _, err := ss.w.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
			t.Fatal(err)
		}
	}
	after, err := ss.DatabaseSize(ctx)
	if err != nil {
		t.Fatal(err)
	}
	grew := after.Bytes - before.Bytes
	t.Logf("%s: grew %d bytes after %d snapshots", h.driver, grew, n)
	if grew < minGrowth {
		t.Fatalf("database grew %d bytes after %d snapshots of 4 KB of random text, want at least %d (before %+v, after %+v)", grew, n, minGrowth, before, after)
	}
}
