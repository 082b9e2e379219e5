// Package channels builds the notify.Notifier of a configured receiver from
// its channel blocks (slack, teams, email, pagerduty, webhook,
// alertmanager, console).
package channels

import (
	"context"
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

// Builder returns a notify.BuildFunc using o.
func Builder(o Options) notify.BuildFunc {
	return func(r config.Receiver) (notify.Notifier, error) { return Build(r, o) }
}

// Build returns the receiver's notifier: one channel, or a fan-out that
// sends to every channel of the receiver. A fan-out that fails on one
// channel fails as a whole (retryable if any failure is), so the outbox
// retries it and the channels that had succeeded may see it twice: use one
// channel per receiver where duplicates matter.
func Build(r config.Receiver, o Options) (notify.Notifier, error) {
	if o.Stdout == nil {
		o.Stdout = os.Stdout
	}
	if o.Stderr == nil {
		o.Stderr = os.Stderr
	}
	var (
		out  []named
		errs []error
	)
	add := func(name string, n notify.Notifier, err error) {
		if err != nil {
			errs = append(errs, err)
			return
		}
		out = append(out, named{name, n})
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
	switch len(out) {
	case 0:
		return nil, fmt.Errorf("receiver %q has no channel", r.Name)
	case 1:
		return out[0].n, nil
	}
	return fanout(out), nil
}

type named struct {
	name string
	n    notify.Notifier
}

type fanout []named

func (f fanout) Notify(ctx context.Context, m *notify.Message) error {
	var (
		errs  []error
		retry bool
	)
	for _, c := range f {
		if err := c.n.Notify(ctx, m); err != nil {
			errs = append(errs, err)
			retry = retry || notify.IsRetryable(err)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return &notify.Error{Channel: "fan-out", Retry: retry, Err: errors.Join(errs...)}
}
