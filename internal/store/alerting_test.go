package store

import (
	"strings"
	"testing"
)

func TestParseMatcher(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want SilenceMatcher
		err  string
	}{
		{"family=auth", SilenceMatcher{"family", "=", "auth"}, ""},
		{` tenant != "acme corp" `, SilenceMatcher{"tenant", "!=", "acme corp"}, ""},
		{`rule=~"tenant\.(blind|blocked)"`, SilenceMatcher{"rule", "=~", `tenant\.(blind|blocked)`}, ""},
		{`resource_key!~"a\"b"`, SilenceMatcher{"resource_key", "!~", `a"b`}, ""},
		{"severity=", SilenceMatcher{"severity", "=", ""}, ""},
		{"family", SilenceMatcher{}, "want label=value"},
		{"=auth", SilenceMatcher{}, "want label=value"},
		{"colour=red", SilenceMatcher{}, `label "colour"`},
		{`rule=~"("`, SilenceMatcher{}, "regular expression"},
		{`tenant="acme`, SilenceMatcher{}, "unterminated"},
	} {
		got, err := ParseMatcher(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: err = %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

// FuzzParseMatcher: matchers come from the CLI, the API and config files.
// Parsing never panics, and what parses round-trips through String.
func FuzzParseMatcher(f *testing.F) {
	for _, s := range []string{"family=auth", `rule=~"tenant\.(blind|blocked)"`, `tenant!="a\"b"`, "x!~", `owner="`, "==", "severity=~[", "resource_key=\x00\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMatcher(s)
		if err != nil {
			return
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("%q parsed to an invalid matcher %+v: %v", s, m, err)
		}
		back, err := ParseMatcher(m.String())
		if err != nil || back != m {
			t.Fatalf("%q: round trip %q = %+v, %v; want %+v", s, m.String(), back, err, m)
		}
	})
}
