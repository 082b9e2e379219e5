package channels

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/notify"
)

func TestBuildFanOut(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Path == "/down" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	var out bytes.Buffer
	r := config.Receiver{Name: "ops",
		Webhook: &config.Webhook{URL: config.Secret(srv.URL + "/up"), Timeout: config.Duration(time.Second)},
		Console: &config.Console{Output: "stdout"}}
	n, err := Build(r, Options{Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	m := notify.SampleMessage("ops", "", time.Now())
	if err := n.Notify(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	if hits.Load() != 1 || !strings.Contains(out.String(), "notify ops: [TEST]") {
		t.Fatalf("hits %d, console %q", hits.Load(), out.String())
	}
	r.Webhook.URL = config.Secret(srv.URL + "/down")
	n, _ = Build(r, Options{Stdout: &out})
	if err := n.Notify(t.Context(), m); err == nil || !notify.IsRetryable(err) {
		t.Fatalf("fan-out with one 503: %v", err)
	}
}

func TestBuildRejectsInvalidChannel(t *testing.T) {
	_, err := Build(config.Receiver{Name: "x", Slack: &config.Slack{WebhookURL: "http://hooks.example.com/T/B/secret", Timeout: config.Duration(time.Second)}}, Options{})
	if err == nil || !strings.Contains(err.Error(), `receiver "x"`) || strings.Contains(err.Error(), "secret") {
		t.Fatalf("err = %v", err)
	}
	if _, err := Build(config.Receiver{Name: "none"}, Options{}); err == nil {
		t.Fatal("receiver without channels built")
	}
}

// BuildChannels names each channel as config.Receiver.Channels does, in
// that order: the names are stored with every outbox row.
func TestBuildChannelsNamesAndOrder(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    config.Receiver
	}{
		{"one", config.Receiver{Name: "a", Console: &config.Console{}}},
		{"two", config.Receiver{Name: "b", Console: &config.Console{},
			Webhook: &config.Webhook{URL: "http://127.0.0.1:9/h", Timeout: config.Duration(time.Second)}}},
		{"three", config.Receiver{Name: "c", Console: &config.Console{},
			Alertmanager: &config.Alertmanager{URL: "http://127.0.0.1:9", Timeout: config.Duration(time.Second)},
			Webhook:      &config.Webhook{URL: "http://127.0.0.1:9/h", Timeout: config.Duration(time.Second)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			chs, err := BuildChannels(tc.r, Options{Stdout: &bytes.Buffer{}})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range chs {
				if c.Notifier == nil {
					t.Fatalf("channel %s has no notifier", c.Name)
				}
				got = append(got, c.Name)
			}
			if want := tc.r.Channels(); !slices.Equal(got, want) {
				t.Fatalf("channels %v, want %v", got, want)
			}
		})
	}
}
