package slack

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sfmcwatch/sfmcwatch/internal/notify"
	"github.com/sfmcwatch/sfmcwatch/internal/notify/fit/fittest"
)

// checkLimits fails when msg breaks a Block Kit limit, and returns how many
// alert sections it shows and its "…and N more" line.
func checkLimits(t *testing.T, msg Message) (shown int, more string) {
	t.Helper()
	if len(msg.Blocks) > 50 {
		t.Errorf("%d blocks, over Slack's 50", len(msg.Blocks))
	}
	if n := chars(msg); n > 40000 {
		t.Errorf("%d characters, over Slack's 40,000", n)
	}
	for _, b := range msg.Blocks {
		switch {
		case b.Type == "header" && utf8.RuneCountInString(b.Text.Text) > 150:
			t.Errorf("header of %d characters", utf8.RuneCountInString(b.Text.Text))
		case b.Type == "section":
			if n := utf8.RuneCountInString(b.Text.Text); n > 3000 {
				t.Errorf("section text of %d characters, over 3,000", n)
			}
			if len(b.Fields) > 10 {
				t.Errorf("%d fields", len(b.Fields))
			}
			for _, f := range b.Fields {
				if utf8.RuneCountInString(f.Text) > 2000 {
					t.Errorf("field of %d characters", utf8.RuneCountInString(f.Text))
				}
			}
			if len(b.Fields) > 0 {
				shown++
			}
		case b.Type == "context":
			more = b.Elements[0].Text
		}
	}
	return shown, more
}

// The largest realistic group (real SFMC error text) stays within 50
// blocks, 3,000 characters a section and 40,000 a message.
func TestBlockKitLimits(t *testing.T) {
	for _, n := range []int{1, 7, 20, 70, 200} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			m := fittest.Group(t, n)
			msg := Payload(m, "", "")
			shown, more := checkLimits(t, msg)
			if shown == 0 {
				t.Fatal("no incident shown")
			}
			if shown < n && !strings.HasPrefix(more, fmt.Sprintf("…and %d more", n-shown)) {
				t.Errorf("%d of %d shown, more %q", shown, n, more)
			}
			if utf8.RuneCountInString(msg.Text) >= 120 {
				t.Errorf("title %q", msg.Text)
			}
			t.Logf("%d alerts: %d shown, %d blocks, %d characters", n, shown, len(msg.Blocks), chars(msg))
		})
	}
}

// Many short alerts hit the 50-block limit before the character limit.
func TestBlockLimitShortAlerts(t *testing.T) {
	m := notify.SampleMessage("r", "https://sfmcwatch.example.com", time.Now())
	m.Kind = notify.KindAlert
	a := m.Alerts[0]
	a.WhyItMatters, a.Remediation, a.Evidence = "", nil, ""
	m.Alerts = nil
	for range 120 {
		m.Alerts = append(m.Alerts, a)
	}
	shown, more := checkLimits(t, Payload(m, "", ""))
	if shown != 48 || more != "…and 72 more — <https://sfmcwatch.example.com/incidents|all incidents>" {
		t.Errorf("shown %d, more %q", shown, more)
	}
}

// A long report (weekly digest) is split in sections within the limits.
func TestReportLimits(t *testing.T) {
	m := &notify.Message{Kind: notify.KindReport, Report: &notify.Report{Subject: "Weekly digest", Text: strings.Repeat("prod-eu: 12 incidents, 3 still open; SOAP 12014 on Newsletter_Subscribers_Master_EU. ", 3000)}}
	msg := Payload(m, "", "")
	checkLimits(t, msg)
	last := msg.Blocks[len(msg.Blocks)-1].Text.Text
	if !strings.HasSuffix(last, "…") {
		t.Errorf("cut report does not say so: …%q", last[max(0, len(last)-20):])
	}
}
