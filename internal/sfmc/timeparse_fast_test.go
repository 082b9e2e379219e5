package sfmc

import "testing"

// parseServerTime gives what the layouts give, or gives up.
func FuzzParseServerTime(f *testing.F) {
	for _, s := range []string{"2026-11-02T01:01:00", "2026-11-02T01:01:00.5", "2026-11-02T01:01:00.123456789", "2026-02-30T01:01:00",
		"2026-11-02T24:00:00", "2026-11-02T01:01:00Z", "2026-11-02T01:01:00.", "2026-11-02T01:01:00.1234567890", "0000-01-01T00:00:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseServerTime(s)
		if !ok {
			return
		}
		if want := parseLayouts(s); !got.Equal(want) || got.Location() != want.Location() {
			t.Fatalf("parseServerTime(%q) = %v, layouts give %v", s, got, want)
		}
	})
}

func TestParseServerTime(t *testing.T) {
	for s, fast := range map[string]bool{"2026-11-02T01:01:00": true, "2026-11-02T01:01:00.250": true, "2026-02-29T01:01:00": false,
		"2026-11-02T01:01:00Z": false, "2026-11-02 01:01:00": false} {
		got, ok := parseServerTime(s)
		if ok != fast {
			t.Errorf("%s: fast path %v, want %v", s, ok, fast)
		}
		if want := parseLayouts(s); ok && !got.Equal(want) {
			t.Errorf("%s: %v, want %v", s, got, want)
		}
	}
	if got := parseTime("2026-11-02T01:01:00.250"); got.String() != "2026-11-02 07:01:00.25 +0000 UTC" {
		t.Errorf("parseTime = %v", got)
	}
}
