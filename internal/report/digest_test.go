package report

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/digest"
	"github.com/sfmcwatch/sfmcwatch/internal/digest/digesttest"
)

func sampleDigest(t *testing.T, specs []digesttest.Spec) *digest.Digest {
	t.Helper()
	st := digesttest.Open(t)
	digesttest.Seed(t, st, specs, true)
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no tzdata")
	}
	d, err := digest.Build(context.Background(), st, digest.Options{Now: func() time.Time { return digesttest.End }, Location: berlin})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDigestGolden(t *testing.T) {
	for _, c := range []struct {
		name  string
		specs []digesttest.Spec
	}{
		{"digest", digesttest.Week},
		{"digest-quiet", nil},
	} {
		d := sampleDigest(t, c.specs)
		for _, f := range []struct {
			ext   string
			write func(*bytes.Buffer) error
		}{
			{"txt", func(b *bytes.Buffer) error { return WriteDigestText(b, d) }},
			{"md", func(b *bytes.Buffer) error { return WriteDigestMarkdown(b, d) }},
			{"html", func(b *bytes.Buffer) error { return WriteDigestHTML(b, d) }},
		} {
			var b bytes.Buffer
			if err := f.write(&b); err != nil {
				t.Fatal(err)
			}
			golden(t, c.name+"."+f.ext, b.Bytes())
		}
	}
}

func TestDigestQuietIsOneLine(t *testing.T) {
	d := sampleDigest(t, nil)
	var b bytes.Buffer
	if err := WriteDigestMarkdown(&b, d); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(b.String(), "\n")
	if lines[2] != "No incidents between Mon 11-02 09:00 and Mon 11-09 09:00." {
		t.Errorf("quiet headline %q", lines[2])
	}
	if strings.Contains(b.String(), "## Time to detection") || strings.Contains(b.String(), "## All incidents") {
		t.Error("a quiet week should not show empty incident sections")
	}
}

func TestDigestEmail(t *testing.T) {
	e, err := NewDigestEmail(sampleDigest(t, digesttest.Week))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(e.Subject, "sfmcwatch weekly digest: 7 incidents; fix first: ") {
		t.Errorf("subject %q", e.Subject)
	}
	if !strings.Contains(e.Text, "FIX THESE FIRST") || !strings.Contains(e.HTML, `id="fix-first"`) {
		t.Error("parts lack the fix-first list")
	}
	for _, bad := range []string{"<script", "<link", "src=\"http", "@import"} {
		if strings.Contains(e.HTML, bad) {
			t.Errorf("HTML part not self-contained: %q", bad)
		}
	}
	for _, want := range []string{"since failure    median 1h20m, p90 3h (n=4 of 7 dated by SFMC)", "Since the failure began"} {
		if !strings.Contains(e.Text+e.HTML, want) {
			t.Errorf("digest lacks %q", want)
		}
	}
	// Every incident is named with its detection time in both parts.
	for _, s := range digesttest.Week[2:] {
		title := s.Title
		if !strings.Contains(e.Text, title) {
			t.Errorf("text part lacks %q", title)
		}
		if !strings.Contains(e.Text, "detected after "+human(s.TTD)) {
			t.Errorf("text part lacks TTD %s of %q", human(s.TTD), title)
		}
		// And, where SFMC dates the failure, the time since it began.
		if since := human(s.TTD+s.Failure) + " after the failure began"; s.Failure > 0 && !strings.Contains(e.Text, since) {
			t.Errorf("text part lacks %q for %q", since, title)
		}
	}
}

func TestHuman(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0s", time.Second: "1s", 59 * time.Second: "59s", 5 * time.Minute: "5m", 5*time.Minute + 20*time.Second: "5m20s",
		73 * time.Minute: "1h13m", 3 * time.Hour: "3h", 50 * time.Hour: "2d2h", time.Hour + 4*time.Minute + 50*time.Second: "1h04m50s", 26*time.Hour + 30*time.Minute + 5*time.Second: "26h30m",
	} {
		if got := human(d); got != want {
			t.Errorf("human(%s) = %q, want %q", d, got, want)
		}
	}
}
