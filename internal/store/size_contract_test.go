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
	var snaps []Snapshot
	for i := range 2000 {
		// Random text: PostgreSQL compresses repetitive payloads.
		b := make([]byte, 3000)
		_, _ = rand.Read(b)
		pad := json.RawMessage(fmt.Sprintf(`{"pad":%q}`, base64.StdEncoding.EncodeToString(b)))
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
	if grew := after.Bytes - before.Bytes; grew < 4_000_000 {
		t.Fatalf("database grew %d bytes after 8 MB of snapshots (before %+v, after %+v)", grew, before, after)
	}
}
