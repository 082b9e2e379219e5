package store

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/event"
)

const (
	crashEnv       = "SFMCWATCH_STORE_CRASH_DB"
	crashBatchSize = 300
)

// TestSQLiteCrashHelper is the child of TestSQLiteCrashRecovery: it writes
// batches forever, printing "ack N" after batch N committed. It does
// nothing in a normal test run.
func TestSQLiteCrashHelper(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("helper process for TestSQLiteCrashRecovery")
	}
	// A short truncate length: the kill also lands during WAL
	// truncations, not only during commits.
	s, err := Open(t.Context(), Config{Path: path, walTruncateFrames: 64}, nil)
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(3)
	}
	recs := make([]EventRecord, crashBatchSize)
	for n := 0; ; n++ {
		for i := range recs {
			recs[i] = EventRecord{
				Event: event.Event{TS: t0.Add(time.Duration(n*crashBatchSize+i) * time.Millisecond),
					Tenant: "crash", Integration: "batch-" + strconv.Itoa(n), Source: "ingest",
					RequestID: fmt.Sprintf("%d-%d", n, i), Body: []byte(`{"errorcode":50100}`)},
				Family: "rate_limit", Code: "50100", IsError: true,
			}
		}
		if _, err := s.InsertEvents(t.Context(), recs); err != nil {
			fmt.Println("insert:", err)
			os.Exit(3)
		}
		fmt.Printf("ack %d\n", n) // os.Stdout is unbuffered
	}
}

// TestSQLiteCrashRecovery kills a writer with SIGKILL while it streams
// batches, reopens the database and checks that every acknowledged batch is
// complete and no batch is partially stored.
func TestSQLiteCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a subprocess")
	}
	t.Parallel()
	path := filepath.Join(t.TempDir(), "crash.db")
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestSQLiteCrashHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lastAck := -1
	sc := bufio.NewScanner(out)
	// Run long enough for several checkpointer rounds (and WAL
	// truncations) before the kill.
	started := time.Now()
	deadline := started.Add(20 * time.Second)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "ack ") {
			t.Logf("helper: %s", line)
			continue
		}
		lastAck, _ = strconv.Atoi(strings.TrimPrefix(line, "ack "))
		if (lastAck >= 8 && time.Since(started) > 600*time.Millisecond) || time.Now().After(deadline) {
			break
		}
	}
	// The helper is busy writing the next batch: kill it mid-stream.
	if err := cmd.Process.Kill(); err != nil { // SIGKILL on Unix
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if lastAck < 0 {
		t.Fatal("helper acknowledged no batch")
	}

	s := openT(t, Config{Path: path})
	agg, err := s.AggregateEvents(t.Context(), AggregateQuery{By: []Dimension{DimIntegration}})
	if err != nil {
		t.Fatal(err)
	}
	present := map[int]int64{}
	for _, b := range agg {
		n, err := strconv.Atoi(strings.TrimPrefix(b.Integration, "batch-"))
		if err != nil {
			t.Fatalf("unexpected integration %q", b.Integration)
		}
		present[n] = b.Events
	}
	for n, c := range present {
		if c != crashBatchSize {
			t.Errorf("batch %d has %d of %d events: partial batch stored", n, c, crashBatchSize)
		}
	}
	for n := 0; n <= lastAck; n++ {
		if present[n] != crashBatchSize {
			t.Errorf("acknowledged batch %d lost (%d events)", n, present[n])
		}
	}
	t.Logf("acknowledged %d batches, found %d complete batches after SIGKILL", lastAck+1, len(present))
	// The reopened database accepts writes (the WAL was recovered).
	if _, err := s.InsertEvents(t.Context(), []EventRecord{ev(t0, "a", "x", "/e", "none", 200, "")}); err != nil {
		t.Fatal(err)
	}
}
