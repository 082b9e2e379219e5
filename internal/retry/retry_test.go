package retry

import (
	"testing"
	"time"
)

func TestAfter(t *testing.T) {
	now := time.Date(2026, 11, 2, 6, 0, 0, 0, time.UTC)
	cases := []struct {
		in    string
		limit time.Duration
		want  time.Duration
		ok    bool
	}{
		{"5", 0, 5 * time.Second, true},
		{" 1.5 ", 0, 1500 * time.Millisecond, true},
		{"90000", time.Hour, time.Hour, true},
		{"Mon, 02 Nov 2026 06:00:30 GMT", 0, 30 * time.Second, true},
		{"Mon, 02 Nov 2026 05:59:00 GMT", 0, 0, true},
		{"Mon, 02 Nov 2026 09:00:00 GMT", time.Hour, time.Hour, true},
		{"-1", 0, 0, false},
		{"NaN", 0, 0, false},
		{"soon", 0, 0, false},
		{"", 0, 0, false},
	}
	for _, c := range cases {
		got, ok := After(c.in, now, c.limit)
		if got != c.want || ok != c.ok {
			t.Errorf("After(%q, limit %s) = %s %v, want %s %v", c.in, c.limit, got, ok, c.want, c.ok)
		}
	}
}

func TestExponentialAndJitter(t *testing.T) {
	for n, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second} {
		if got := Exponential(n, time.Second, 5*time.Second); got != want {
			t.Errorf("Exponential(%d) = %s, want %s", n, got, want)
		}
	}
	for range 100 {
		if j := Jitter(4 * time.Second); j < 2*time.Second || j > 4*time.Second {
			t.Fatalf("Jitter(4s) = %s, want within [2s, 4s]", j)
		}
	}
}

func FuzzAfter(f *testing.F) {
	for _, s := range []string{"5", "1.5", "Mon, 02 Nov 2026 06:00:30 GMT", "-3", "1e308", ""} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 2, 6, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := After(s, now, 24*time.Hour)
		if d < 0 || d > 24*time.Hour || (!ok && d != 0) {
			t.Fatalf("After(%q) = %s %v", s, d, ok)
		}
	})
}
