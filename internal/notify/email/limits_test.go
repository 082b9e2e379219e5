package email

import (
	"fmt"
	"mime"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/notify/fit/fittest"
)

// The largest realistic group is mailed with a subject under 250
// characters that names the cause, text lines wrapped at 78 characters,
// each part under Gmail's clipping size, the rest as "…and N more".
func TestLargestGroupWithinLimits(t *testing.T) {
	srv, pool := startSMTP(t, false, nil)
	n := newEmail(t, srv.port(), "starttls", pool)
	for i, size := range []int{1, 7, 70, 300} {
		m := fittest.Group(t, size)
		m.Key += fmt.Sprint(size)
		if err := n.Notify(t.Context(), m); err != nil {
			t.Fatal(err)
		}
		msg, text, html := parts(t, srv.messages[i])
		subject, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
		if utf8.RuneCountInString(subject) > MaxSubject || !strings.Contains(subject, string([]rune(m.Alerts[0].Title)[:40])) {
			t.Errorf("%d alerts: subject %q", size, subject)
		}
		if len(text) > MaxBody || len(html) > MaxBody {
			t.Errorf("%d alerts: text %d bytes, html %d bytes, over %d", size, len(text), len(html), MaxBody)
		}
		for _, line := range strings.Split(strings.ReplaceAll(text, "\r", ""), "\n") {
			if utf8.RuneCountInString(line) > TextWidth && strings.Contains(strings.TrimSpace(line), " ") {
				t.Errorf("%d alerts: unwrapped line %q", size, line)
				break
			}
		}
		shown := strings.Count(text, "\n• ")
		if shown == 0 {
			t.Fatalf("%d alerts: none shown", size)
		}
		more := fmt.Sprintf("…and %d more", size-shown)
		if shown < size && (!strings.Contains(text, more+": https://sfmcwatch.example.com/incidents") || !strings.Contains(html, more)) {
			t.Errorf("%d alerts: %d shown, no %q", size, shown, more)
		}
		if shown == size && strings.Contains(text, "…and ") {
			t.Errorf("%d alerts all shown, yet …and N more", size)
		}
		t.Logf("%d alerts: %d shown, text %d bytes, html %d bytes, subject %d characters", size, shown, len(text), len(html), utf8.RuneCountInString(subject))
	}
}

// The subject prefix and a very long title stay under MaxSubject on one line.
func TestSubjectLength(t *testing.T) {
	m := fittest.Group(t, 3)
	m.Alerts[0].Title = strings.Repeat("Data extension Newsletter_Subscribers_Master_EU\nrejected rows ", 40)
	s := Subject(m, strings.Repeat("[sfmcwatch prod]", 20))
	if utf8.RuneCountInString(s) > MaxSubject || strings.ContainsAny(s, "\r\n") {
		t.Errorf("subject %d characters: %q", utf8.RuneCountInString(s), s)
	}
	if s := Subject(m, "[sfmcwatch]"); !strings.HasPrefix(s, "[sfmcwatch] [FIRING:3] ") || !strings.Contains(s, "Data extension Newsletter") || utf8.RuneCountInString(s) > 132 {
		t.Errorf("subject %q", s)
	}
}

// Message-IDs are on the configured sender's domain.
func TestMessageIDDomain(t *testing.T) {
	for from, want := range map[string]string{
		"sfmcwatch@example.com":                   "example.com",
		"sfmcwatch <alerts@mail.acme-corp.co.uk>": "mail.acme-corp.co.uk",
	} {
		n, err := New(Config{Host: "smtp.example.com", From: from, To: []string{recipient}, Timeout: config.Duration(time.Second)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		msg, err := n.Build(sample())
		if err != nil {
			t.Fatal(err)
		}
		if id := msg.GetGenHeader("Message-ID"); len(id) != 1 || !strings.HasSuffix(id[0], "@"+want+">") {
			t.Errorf("from %q: Message-ID %v", from, id)
		}
	}
}
