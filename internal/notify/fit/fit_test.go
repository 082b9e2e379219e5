package fit

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sfmcwatch/sfmcwatch/internal/notify"
)

func TestClip(t *testing.T) {
	if got := Clip("héllo wörld", 7); got != "héllo…" || utf8.RuneCountInString(got) > 7 {
		t.Errorf("Clip = %q", got)
	}
	if got := Clip("short", 10); got != "short" {
		t.Errorf("Clip = %q", got)
	}
	for n := 3; n < 20; n++ {
		got := ClipBytes("zürich—genève", n)
		if len(got) > n || !utf8.ValidString(got) {
			t.Errorf("ClipBytes(%d) = %q (%d bytes)", n, got, len(got))
		}
	}
}

func TestLargest(t *testing.T) {
	for limit := range 12 {
		calls := 0
		got := Largest(10, func(k int) bool { calls++; return k <= limit })
		if want := min(limit, 10); got != want || calls > 5 {
			t.Errorf("limit %d: Largest = %d (%d calls)", limit, got, calls)
		}
	}
}

func TestTitleNamesTheCause(t *testing.T) {
	m := notify.SampleMessage("r", "", time.Now())
	m.Kind = notify.KindAlert
	m.GroupLabels["tenant"] = strings.Repeat("prod-eu-business-unit-", 8)
	m.Alerts[0].Title = "SOAP 12014 Subscriber on the unsubscribe list: " + strings.Repeat("Newsletter_Subscribers_Master_EU ", 10)
	m.Alerts = append(m.Alerts, m.Alerts[0], m.Alerts[0])
	got := Title(m)
	if n := utf8.RuneCountInString(got); n >= 120 {
		t.Errorf("title of %d characters: %q", n, got)
	}
	for _, want := range []string{"[FIRING:3] ", "SOAP 12014 Subscriber on the unsubscribe list", "(+2 more)"} {
		if !strings.Contains(got, want) {
			t.Errorf("title %q lacks %q", got, want)
		}
	}
	m.GroupLabels["tenant"] = "acme"
	m.Alerts = m.Alerts[:1]
	m.Alerts[0].Title = "Token requests rejected (401)"
	if got := Title(m); got != m.Title() {
		t.Errorf("a short title changed: %q", got)
	}
}

func TestWrap(t *testing.T) {
	in := "  Evidence: " + strings.Repeat("word ", 40) + "https://example.com/" + strings.Repeat("x", 100) + "\n    1. " + strings.Repeat("fix ", 30)
	out := Wrap(in, 40)
	for _, l := range strings.Split(out, "\n") {
		if utf8.RuneCountInString(l) > 40 && strings.Contains(strings.TrimSpace(l), " ") {
			t.Errorf("line %q too long", l)
		}
	}
	if !strings.Contains(out, "\n    word") || !strings.Contains(out, "\n       fix") {
		t.Errorf("hanging indent lost:\n%s", out)
	}
	if strings.Join(strings.Fields(out), " ") != strings.Join(strings.Fields(in), " ") {
		t.Error("wrap changed the words")
	}
}

func TestUserAgent(t *testing.T) {
	if ua := UserAgent(); !strings.HasPrefix(ua, "sfmcwatch/") || len(ua) <= len("sfmcwatch/") {
		t.Errorf("UserAgent = %q", ua)
	}
}
