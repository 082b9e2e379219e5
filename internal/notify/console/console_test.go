package console

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/notify"
)

func TestLine(t *testing.T) {
	at := time.Date(2026, 3, 2, 10, 0, 5, 0, time.UTC)
	m := notify.SampleMessage("ops", "https://x.example", at)
	m.Kind = notify.KindAlert
	m.Alerts[0].IncidentID = 12
	m.Alerts[0].Title = "two\nlines"
	var buf bytes.Buffer
	if err := New(&buf, func() time.Time { return at }).Notify(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	want := "10:00:05 notify ops: [FIRING:1] example · auth · marketing_ops: two lines\n" +
		"  #12 api.errors example (failing for 3h) https://x.example/incidents\n"
	if buf.String() != want {
		t.Fatalf("got  %q\nwant %q", buf.String(), want)
	}
}

// A large group: a short headline, one wrapped line per incident, the
// rest as "…and N more".
func TestLargeGroupWraps(t *testing.T) {
	m := notify.SampleMessage("ops", "https://x.example", time.Now())
	m.Kind = notify.KindAlert
	a := m.Alerts[0]
	a.Title = strings.Repeat("Data extension Newsletter_Subscribers_Master_EU rejected rows ", 10)
	a.ResourceKey = strings.Repeat("Newsletter_Subscribers_Master_EU ", 5)
	m.Alerts = nil
	for range 25 {
		m.Alerts = append(m.Alerts, a)
	}
	out := Line(m, time.Now())
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	for _, l := range lines {
		if len([]rune(l)) > Width && strings.Contains(strings.TrimSpace(l), " ") {
			t.Errorf("line of %d characters: %q", len([]rune(l)), l)
		}
	}
	if !strings.HasSuffix(out, "  …and 15 more https://x.example/incidents\n") {
		t.Errorf("no …and 15 more:\n%s", out)
	}
	if strings.Count(out, "#0 api.errors") != 10 {
		t.Errorf("want 10 incident lines:\n%s", out)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteErrorRetryable(t *testing.T) {
	err := New(failWriter{}, nil).Notify(t.Context(), notify.SampleMessage("x", "", time.Now()))
	if err == nil || !notify.IsRetryable(err) {
		t.Fatalf("err = %v", err)
	}
}
