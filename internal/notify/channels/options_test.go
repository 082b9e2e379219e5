package channels

import (
	"bytes"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
)

// channelSamples holds a valid block of every channel key of a receiver,
// by its YAML key.
var channelSamples = map[string]any{
	"slack":        &config.Slack{WebhookURL: "https://hooks.slack.com/services/T0/B0/x", Timeout: config.Duration(time.Second)},
	"teams":        &config.Teams{WebhookURL: "https://example.webhook.office.com/webhookb2/x", Timeout: config.Duration(time.Second)},
	"email":        &config.Email{Host: "127.0.0.1", Port: 2525, TLS: "none", From: "watch@example.com", To: []string{"ops@example.com"}, Timeout: config.Duration(time.Second)},
	"pagerduty":    &config.PagerDuty{RoutingKey: config.Secret(strings.Repeat("k", 32)), URL: "https://events.pagerduty.com/v2/enqueue", Timeout: config.Duration(time.Second)},
	"webhook":      &config.Webhook{URL: "http://127.0.0.1:9/h", Timeout: config.Duration(time.Second)},
	"alertmanager": &config.Alertmanager{URL: "http://127.0.0.1:9", Timeout: config.Duration(time.Second)},
	"console":      &config.Console{Output: "stderr"},
}

// TestEveryReceiverKeyIsAChannel: each channel key of alerting.receivers[]
// (every block-valued field of config.Receiver) builds a channel of that
// name, alone: a channel key added to the config without a sender here
// would be accepted and never notify.
func TestEveryReceiverKeyIsAChannel(t *testing.T) {
	rt := reflect.TypeFor[config.Receiver]()
	n := 0
	for i := range rt.NumField() {
		f := rt.Field(i)
		if f.Type.Kind() != reflect.Pointer || f.Type.Elem().Kind() != reflect.Struct {
			continue
		}
		n++
		key, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		sample, ok := channelSamples[key]
		if !ok {
			t.Errorf("alerting.receivers[].%s: no sample block in channelSamples", key)
			continue
		}
		r := config.Receiver{Name: "r"}
		reflect.ValueOf(&r).Elem().Field(i).Set(reflect.ValueOf(sample))
		chs, err := BuildChannels(r, Options{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}})
		if err != nil {
			t.Errorf("alerting.receivers[].%s: %v", key, err)
			continue
		}
		var names []string
		for _, c := range chs {
			names = append(names, c.Name)
		}
		if !slices.Equal(names, []string{key}) || !slices.Equal(r.Channels(), names) {
			t.Errorf("alerting.receivers[].%s: built channels %v, Receiver.Channels %v", key, names, r.Channels())
		}
	}
	if n != len(channelSamples) {
		t.Errorf("%d channel keys, %d samples", n, len(channelSamples))
	}
}
