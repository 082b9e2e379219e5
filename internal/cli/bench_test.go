package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// bench tenants runs the engine against simulated business units and
// prints every figure the README quotes, measured (not zero) where the
// run makes it possible.
func TestBenchTenants(t *testing.T) {
	var out, errb bytes.Buffer
	code := Run(context.Background(), []string{"bench", "tenants", "--tenants", "2", "--size", "small",
		"--duration", "4s", "--speed", "300", "--warmup", "5m", "--dir", t.TempDir()}, IO{In: strings.NewReader(""), Out: &out, Err: &errb})
	if code != ExitOK {
		t.Fatalf("exit %d: %s%s", code, out.String(), errb.String())
	}
	o := out.String()
	for _, re := range []string{
		`2 business units \(small\)`,
		`calls/day per business unit: projected [1-9]\d* \(after warm-up 5m0s; [1-9]\d* calls served in all\), estimated [1-9]\d*`,
		`poll lag \(engine clock\): p50 \S+, p99 \S+, max \S+ over [1-9]\d* polls`,
		`poll lag after the first full cycle: p50 \S+, p99 \S+, max \S+ over \d+ polls`,
		`CPU: \d+% of one core`,
		`peak RSS [1-9]\d* MB`,
		`database: [0-9.]+ MB at the end .*growth -?[0-9.]+ MB per business unit per day`,
	} {
		if !regexp.MustCompile(re).MatchString(o) {
			t.Errorf("output lacks %s:\n%s", re, o)
		}
	}
	if code := Run(context.Background(), []string{"bench", "nothing"}, IO{In: strings.NewReader(""), Out: &out, Err: &errb}); code != ExitUsage {
		t.Errorf("bench nothing: exit %d, want %d", code, ExitUsage)
	}
}

// TestBenchProfiles: --memprofile leaves a heap profile; --pprof serves the
// runtime's profiles on loopback only.
func TestBenchProfiles(t *testing.T) {
	prof := filepath.Join(t.TempDir(), "heap.prof")
	var out, errb bytes.Buffer
	code := Run(context.Background(), []string{"bench", "tenants", "--tenants", "1", "--size", "small",
		"--duration", "2s", "--speed", "300", "--warmup", "1m", "--dir", t.TempDir(), "--memprofile", prof, "--pprof", "127.0.0.1:0"},
		IO{In: strings.NewReader(""), Out: &out, Err: &errb})
	if code != ExitOK {
		t.Fatalf("exit %d: %s%s", code, out.String(), errb.String())
	}
	if fi, err := os.Stat(prof); err != nil || fi.Size() == 0 {
		t.Errorf("heap profile: %v", err)
	}
	errb.Reset()
	code = Run(context.Background(), []string{"bench", "tenants", "--duration", "1s", "--pprof", "0.0.0.0:0"}, IO{In: strings.NewReader(""), Out: &out, Err: &errb})
	if code != ExitUsage || !strings.Contains(errb.String(), "loopback") {
		t.Errorf("--pprof on all interfaces: exit %d, %q", code, errb.String())
	}
}
