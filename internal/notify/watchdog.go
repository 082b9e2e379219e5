package notify

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// RuleChannelFailed is the rule id of the incident the dispatcher opens
// when a channel keeps failing: it is stored like any incident (dashboard,
// API, /metrics incidents_open) and routed to alerting.fallback_receiver.
const RuleChannelFailed = "notify.channel_failed"

// channelFailAfter is how many failed attempts of one notification make
// its channel "failing" while retries go on (a permanent failure counts at
// once): the retry schedule may run for give_up_after (a day by default),
// far too long to learn that alerts stopped.
const channelFailAfter = 3

// watchdog turns failing channels into notify.channel_failed incidents and
// resolves them when the channel delivers again. It counts failures per
// receiver/channel for /metrics.
type watchdog struct {
	st  Store
	log *slog.Logger

	mu       sync.Mutex
	loaded   bool
	open     map[string]int64 // receiver/channel → open incident id
	failures map[string]uint64
}

func newWatchdog(st Store, log *slog.Logger) *watchdog {
	return &watchdog{st: st, log: log, open: map[string]int64{}, failures: map[string]uint64{}}
}

// channelKey is the resource key of a channel's incident: "receiver/channel"
// ("receiver" for a whole receiver).
func channelKey(receiver, channel string) string {
	if channel == "" {
		return receiver
	}
	return receiver + "/" + channel
}

// receiverOfFailure returns the receiver of a channel_failed resource key.
func receiverOfFailure(key string) string {
	r, _, _ := strings.Cut(key, "/")
	return r
}

// failed records a failed attempt; attempt is the notification's attempt
// number, final whether it was given up on. It opens (or updates) the
// channel's incident once the channel counts as failing.
func (w *watchdog) failed(ctx context.Context, om store.OutboxMessage, reason string, final bool, now time.Time) {
	key := channelKey(om.Receiver, om.Channel)
	w.mu.Lock()
	w.failures[key]++
	w.mu.Unlock()
	if !final && om.Attempts < channelFailAfter {
		return
	}
	what := "failed permanently"
	if !final {
		what = fmt.Sprintf("failed %d times in a row (still retrying)", om.Attempts)
	}
	in, _, err := w.st.OpenOrUpdateIncident(ctx, store.IncidentUpsert{
		Fingerprint: RuleChannelFailed + "||receiver|" + key, Rule: RuleChannelFailed, Severity: "error", Family: "none",
		ResourceType: "receiver", ResourceKey: key, Owner: "infrastructure",
		Title: fmt.Sprintf("Notifications to %s are not delivered: %s", key, oneLine(reason, 160)),
		Remediation: []string{
			"Check the channel's endpoint and credentials (webhook URL, routing key, SMTP account): " + what + ".",
			"Run 'sfmcwatch test-alert " + om.Receiver + "' to check the fix; the incident resolves when the next notification is delivered through this channel.",
			"Meanwhile alerts routed to this receiver are on the dashboard and go to alerting.fallback_receiver.",
		},
		FirstSeen: om.CreatedAt, Now: now,
	})
	if err != nil {
		w.log.Error("cannot record the failing channel as an incident", slog.String("channel", key), slog.Any("error", err))
		return
	}
	w.mu.Lock()
	w.open[key] = in.ID
	w.mu.Unlock()
}

// delivered resolves the channel's incident, if one is open.
func (w *watchdog) delivered(ctx context.Context, om store.OutboxMessage, now time.Time) {
	key := channelKey(om.Receiver, om.Channel)
	w.load(ctx)
	w.mu.Lock()
	id, ok := w.open[key]
	delete(w.open, key)
	w.mu.Unlock()
	if !ok {
		return
	}
	if _, err := w.st.ResolveIncident(ctx, id, now); err != nil {
		w.log.Warn("cannot resolve the channel incident", slog.String("channel", key), slog.Any("error", err))
		return
	}
	w.log.Info("notification channel delivers again", slog.String("channel", key), slog.Int64("incident", id))
}

// load reads the open channel incidents once (after a restart).
func (w *watchdog) load(ctx context.Context) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.loaded {
		return
	}
	ins, err := w.st.ListIncidents(ctx, store.IncidentFilter{Status: store.IncidentOpen, Rule: RuleChannelFailed})
	if err != nil {
		return
	}
	w.loaded = true
	for _, in := range ins {
		if _, ok := w.open[in.ResourceKey]; !ok {
			w.open[in.ResourceKey] = in.ID
		}
	}
}

// counts returns the failed attempts per receiver/channel.
func (w *watchdog) counts() map[string]uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[string]uint64, len(w.failures))
	for k, v := range w.failures {
		out[k] = v
	}
	return out
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = strings.ToValidUTF8(s[:n], "") + "…"
	}
	return s
}
