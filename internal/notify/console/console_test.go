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
	want := "10:00:05 notify ops: [FIRING:1] example · auth · marketing_ops: two lines | #12 api.errors example (failing for 3h) | https://x.example/incidents\n"
	if buf.String() != want {
		t.Fatalf("got  %q\nwant %q", buf.String(), want)
	}
	if strings.Count(buf.String(), "\n") != 1 {
		t.Fatal("not one line")
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
