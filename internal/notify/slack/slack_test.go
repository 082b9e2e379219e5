package slack

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/notify"
	"github.com/sfmcwatch/sfmcwatch/internal/notify/notifytest"
)

const token = "/services/T0000/B0000/XXXXsecretTOKENxxxx"

func newSlack(t *testing.T, url string) notify.Notifier {
	n, err := New(Config{WebhookURL: config.Secret(url), Timeout: config.Duration(5 * time.Second)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestConformance(t *testing.T) {
	notifytest.Run(t, notifytest.Case{New: newSlack, SecretPath: token})
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Timeout: config.Duration(time.Second)}, "webhook_url: is required"},
		{Config{WebhookURL: "http://hooks.slack.com/x", Timeout: config.Duration(time.Second)}, "loopback hosts only"},
		{Config{WebhookURL: "https://hooks.slack.com/x", Channel: "general", Timeout: config.Duration(time.Second)}, "want #channel"},
		{Config{WebhookURL: "https://hooks.slack.com/x"}, "timeout"},
	} {
		_, err := New(tc.cfg, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err = %v, want %q", tc.cfg, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "hooks.slack.com/x") {
			t.Errorf("error leaks the URL: %v", err)
		}
	}
}

// The payload is what Slack's incoming webhooks accept: text fallback,
// Block Kit header and sections within the limits, with the incident's
// context.
func TestPayloadSchema(t *testing.T) {
	var got map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || r.URL.Path != token {
			t.Errorf("request %s %s %s", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
		}
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &got); err != nil {
			t.Error(err)
		}
		_, _ = io.WriteString(w, "ok")
	}))
	defer srv.Close()
	m := notify.SampleMessage("team", "https://sfmcwatch.example.com", time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	m.Kind = notify.KindAlert
	if err := newSlack(t, srv.URL+token).Notify(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	if got["text"] == "" {
		t.Fatal("no fallback text")
	}
	blocks, _ := got["blocks"].([]any)
	if len(blocks) < 2 || len(blocks) > maxBlocks {
		t.Fatalf("%d blocks", len(blocks))
	}
	header := blocks[0].(map[string]any)
	if header["type"] != "header" || header["text"].(map[string]any)["type"] != "plain_text" {
		t.Fatalf("header block %v", header)
	}
	sec := blocks[1].(map[string]any)
	text := sec["text"].(map[string]any)["text"].(string)
	for _, want := range []string{"Why it matters", "*What we see:* Sample: 36 token requests", "Fix:", "Evidence:", "failing for 3h", "<https://sfmcwatch.example.com/incidents|"} {
		if !strings.Contains(text, want) {
			t.Errorf("section lacks %q:\n%s", want, text)
		}
	}
	if fields := sec["fields"].([]any); len(fields) != 4 || len(fields) > 10 {
		t.Errorf("fields = %v", fields)
	}
}

func TestManyAlertsStayWithinLimits(t *testing.T) {
	m := notify.SampleMessage("team", "", time.Now())
	for range 80 {
		m.Alerts = append(m.Alerts, m.Alerts[0])
	}
	p := Payload(m, "", "")
	if len(p.Blocks) > maxBlocks {
		t.Fatalf("%d blocks", len(p.Blocks))
	}
	last := p.Blocks[len(p.Blocks)-1]
	if last.Type != "context" || !strings.Contains(last.Elements[0].Text, "more") {
		t.Fatalf("last block %+v", last)
	}
}
