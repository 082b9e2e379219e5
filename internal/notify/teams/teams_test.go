package teams

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

const path = "/workflows/abc123/triggers/manual/paths/invoke?api-version=1&sig=SECRETsigVALUE0123456789"

func newTeams(t *testing.T, url string) notify.Notifier {
	n, err := New(Config{WebhookURL: config.Secret(url), Timeout: config.Duration(5 * time.Second)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestConformance(t *testing.T) {
	notifytest.Run(t, notifytest.Case{New: newTeams, SecretPath: path, Secrets: []string{"SECRETsigVALUE0123456789"}})
}

// The body is the Workflows envelope with an Adaptive Card 1.4 attachment.
func TestPayloadSchema(t *testing.T) {
	var env struct {
		Type        string
		Attachments []struct {
			ContentType string
			ContentURL  any `json:"contentUrl"`
			Content     struct {
				Schema  string `json:"$schema"`
				Type    string
				Version string
				Body    []map[string]any
				Actions []map[string]any
			}
		}
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &env); err != nil {
			t.Error(err)
		}
		if r.URL.Query().Get("sig") != "SECRETsigVALUE0123456789" {
			t.Errorf("query lost: %s", r.URL.RawQuery)
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	m := notify.SampleMessage("team", "https://sfmcwatch.example.com", time.Now())
	m.Kind = notify.KindAlert
	m.Alerts[0].Link = "https://sfmcwatch.example.com/incidents/7"
	if err := newTeams(t, srv.URL+path).Notify(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	if env.Type != "message" || len(env.Attachments) != 1 {
		t.Fatalf("envelope %+v", env)
	}
	a := env.Attachments[0]
	if a.ContentType != "application/vnd.microsoft.card.adaptive" || a.Content.Type != "AdaptiveCard" ||
		a.Content.Version != "1.4" || !strings.Contains(a.Content.Schema, "adaptive-card.json") {
		t.Fatalf("card %+v", a)
	}
	raw, _ := json.Marshal(a.Content.Body)
	for _, want := range []string{"FactSet", "Why it matters", "**What we see:** Sample: 36 token requests", "Fix:", "failing for 3h", "marketing_ops", "auth"} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("card lacks %q", want)
		}
	}
	if len(a.Content.Actions) != 1 || a.Content.Actions[0]["url"] != "https://sfmcwatch.example.com/incidents/7" {
		t.Errorf("actions %v", a.Content.Actions)
	}
}
