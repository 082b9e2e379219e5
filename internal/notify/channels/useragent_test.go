package channels

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/buildinfo"
	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/notify"
)

// Every HTTP channel sends the one User-Agent "sfmcwatch/<version>".
func TestOneUserAgentOnEveryHTTPChannel(t *testing.T) {
	old := buildinfo.Version
	buildinfo.Version = "v1.2.3"
	defer func() { buildinfo.Version = old }()
	var (
		mu     sync.Mutex
		agents = map[string]string{}
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		agents[r.URL.Path] = r.Header.Get("User-Agent")
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	d := config.Duration(5 * time.Second)
	r := config.Receiver{Name: "all",
		Slack:        &config.Slack{WebhookURL: config.Secret(srv.URL + "/slack/T0/B0/x"), Timeout: d},
		Teams:        &config.Teams{WebhookURL: config.Secret(srv.URL + "/teams"), Timeout: d},
		PagerDuty:    &config.PagerDuty{RoutingKey: "R0UTINGKEY0123456789abcdefABCDEF", URL: srv.URL + "/pagerduty", Timeout: d},
		Webhook:      &config.Webhook{URL: config.Secret(srv.URL + "/webhook"), Timeout: d},
		Alertmanager: &config.Alertmanager{URL: srv.URL + "/am", Timeout: d},
	}
	n, err := Build(r, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Notify(t.Context(), notify.SampleMessage("all", "", time.Now())); err != nil {
		t.Fatal(err)
	}
	if len(agents) != 5 {
		t.Fatalf("requests %v", agents)
	}
	for path, ua := range agents {
		if ua != "sfmcwatch/v1.2.3" {
			t.Errorf("%s: User-Agent %q", path, ua)
		}
	}
}
