// Package channels builds the notify.Notifier of a configured receiver from
// its channel blocks (slack, teams, email, pagerduty, webhook,
// alertmanager, console).
package channels

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/notify"
	"github.com/sfmcwatch/sfmcwatch/internal/notify/alertmanager"
	"github.com/sfmcwatch/sfmcwatch/internal/notify/console"
	"github.com/sfmcwatch/sfmcwatch/internal/notify/email"
	"github.com/sfmcwatch/sfmcwatch/internal/notify/pagerduty"
	"github.com/sfmcwatch/sfmcwatch/internal/notify/slack"
	"github.com/sfmcwatch/sfmcwatch/internal/notify/teams"
	"github.com/sfmcwatch/sfmcwatch/internal/notify/webhook"
)

// Options are the shared dependencies of the channels (all optional).
type Options struct {
	// HTTPClient replaces each HTTP channel's own client (its timeout then
	// comes from the client).
	HTTPClient *http.Client
	// TLSConfig verifies SMTP servers (nil: system roots).
	TLSConfig *tls.Config
	// Stdout and Stderr are the console channel's outputs (default os.*).
	Stdout, Stderr io.Writer
	// Clock stamps webhook signatures and console lines (default time.Now).
	Clock func() time.Time
}

// Builder returns a notify.BuildFunc using o: the dispatcher delivers
// each channel of a receiver on its own.
func Builder(o Options) notify.BuildFunc {
	return func(r config.Receiver) ([]notify.Channel, error) { return BuildChannels(r, o) }
}

// Build returns the receiver's notifier: its one channel, or a fan-out
// that sends to every channel in turn and fails if any channel fails
// (test-alert tries a whole receiver this way). The dispatcher does not
// use it: its outbox holds one row per channel (BuildChannels), so a
// channel that fails is retried alone and the channels that succeeded
// never get the message twice.
func Build(r config.Receiver, o Options) (notify.Notifier, error) {
	chs, err := BuildChannels(r, o)
	if err != nil {
		return nil, err
	}
	return notify.FanOut(chs...), nil
}

// BuildChannels returns the receiver's channels, named as in
// config.Receiver.Channels and in that order (slack, teams, email,
// pagerduty, webhook, alertmanager, console). An invalid channel makes the
// whole receiver fail; errors name the receiver and never a secret.
func BuildChannels(r config.Receiver, o Options) ([]notify.Channel, error) {
	if o.Stdout == nil {
		o.Stdout = os.Stdout
	}
	if o.Stderr == nil {
		o.Stderr = os.Stderr
	}
	var (
		out  []notify.Channel
		errs []error
	)
	add := func(name string, n notify.Notifier, err error) {
		if err != nil {
			errs = append(errs, err)
			return
		}
		out = append(out, notify.Channel{Name: name, Notifier: n})
	}
	if c := r.Slack; c != nil {
		n, err := slack.New(*c, o.HTTPClient)
		add("slack", n, err)
	}
	if c := r.Teams; c != nil {
		n, err := teams.New(*c, o.HTTPClient)
		add("teams", n, err)
	}
	if c := r.Email; c != nil {
		n, err := email.New(*c, o.TLSConfig)
		add("email", n, err)
	}
	if c := r.PagerDuty; c != nil {
		n, err := pagerduty.New(*c, o.HTTPClient)
		add("pagerduty", n, err)
	}
	if c := r.Webhook; c != nil {
		n, err := webhook.New(*c, o.HTTPClient, o.Clock)
		add("webhook", n, err)
	}
	if c := r.Alertmanager; c != nil {
		n, err := alertmanager.New(*c, o.HTTPClient, o.Clock)
		add("alertmanager", n, err)
	}
	if c := r.Console; c != nil {
		w := o.Stdout
		if c.Output == "stderr" {
			w = o.Stderr
		}
		add("console", console.New(w, o.Clock), nil)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("receiver %q: %w", r.Name, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("receiver %q has no channel", r.Name)
	}
	return out, nil
}
