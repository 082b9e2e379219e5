package store

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/event"
)

// BenchmarkInsertEvents measures SQLite ingest in batches of 1,000 events
// (the shape the ingest pipeline uses) and reports events/s.
func BenchmarkInsertEvents(b *testing.B) {
	for _, sync := range []string{"normal", "full"} {
		b.Run("sqlite/synchronous="+sync, func(b *testing.B) {
			benchInsertEvents(b, Config{Path: filepath.Join(b.TempDir(), "bench.db"), Synchronous: sync})
		})
	}
	b.Run("postgres", func(b *testing.B) {
		dsn := os.Getenv(postgresEnv)
		if dsn == "" {
			b.Skipf("%s is not set", postgresEnv)
		}
		benchInsertEvents(b, Config{Driver: DriverPostgres, DSN: freshSchema(b, dsn)})
	})
}

func benchInsertEvents(b *testing.B, cfg Config) {
	s, err := Open(b.Context(), cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const batch = 1000
	recs := make([]EventRecord, batch)
	body := []byte(`{"message":"Not Authorized","errorcode":0,"documentation":""}`)
	fams := []string{"none", "none", "none", "auth", "rate_limit", "server"}
	n := 0
	b.ReportAllocs()
	cpu0 := processCPU()
	for b.Loop() {
		for i := range recs {
			n++
			f := fams[n%len(fams)]
			recs[i] = EventRecord{
				Event: event.Event{
					TS: t0.Add(time.Duration(n) * time.Millisecond), Tenant: "tenant-" + strconv.Itoa(n%3),
					Integration: "crm-sync", Source: "ingest", Method: "POST",
					URL:      "https://mc.rest.marketingcloudapis.com/hub/v1/dataevents/key:DE-" + strconv.Itoa(n%50) + "/rowset",
					Endpoint: "/hub/v1/dataevents/key:{key}/rowset", ObjectKey: "DE-" + strconv.Itoa(n%50),
					Status: 200, Duration: 120 * time.Millisecond, RequestID: "req-" + strconv.Itoa(n), Body: body,
				},
				Family: f, Code: fmt.Sprint(n % 7), Surface: "rest", IsError: f != "none", Severity: "warning", Count: 1,
			}
		}
		res, err := s.InsertEvents(b.Context(), recs)
		if err != nil || res.Inserted != batch {
			b.Fatalf("InsertEvents = %+v, %v", res, err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
	// On a shared machine wall-clock throughput swings with other load;
	// events per CPU-second (user+system, this process) is the stable figure.
	if cpu := processCPU() - cpu0; cpu > 0 {
		b.ReportMetric(float64(n)/cpu.Seconds(), "events/cpu-s")
	}
}
