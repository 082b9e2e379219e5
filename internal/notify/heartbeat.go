package notify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
)

// heartbeat is the dead man's switch: while the dispatcher runs it pings
// alerting.heartbeat.url every interval, so an outside service
// (Healthchecks.io, Cronitor, an Alertmanager Watchdog route) alerts when
// the pings stop — sfmcwatch died, hangs, or lost its network. The config
// is read at every ping, so a reload turns it on, off or elsewhere.
type heartbeat struct {
	holder *config.Holder
	client *http.Client
	log    *slog.Logger

	pings, failures atomic.Uint64
}

func newHeartbeat(h *config.Holder, client *http.Client, log *slog.Logger) *heartbeat {
	return &heartbeat{holder: h, client: client, log: log}
}

// run pings until ctx ends: at once, then every interval (rechecked each
// minute while the heartbeat is off).
func (b *heartbeat) run(ctx context.Context) {
	for {
		wait := time.Minute
		if hb := b.holder.Current().Alerting.Heartbeat; hb.URL.IsSet() {
			b.ping(ctx, hb)
			wait = max(hb.Interval.Std(), time.Second)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// ping sends one request; any 2xx counts as delivered.
func (b *heartbeat) ping(ctx context.Context, hb config.Heartbeat) {
	err := b.send(ctx, hb)
	if ctx.Err() != nil {
		return
	}
	if err != nil {
		b.failures.Add(1)
		b.log.Warn("heartbeat ping failed: the outside dead man's switch may alert", slog.Any("error", err))
		return
	}
	b.pings.Add(1)
}

func (b *heartbeat) send(ctx context.Context, hb config.Heartbeat) error {
	ctx, cancel := context.WithTimeout(ctx, hb.Timeout.Std())
	defer cancel()
	raw := hb.URL.Reveal()
	req, err := http.NewRequestWithContext(ctx, hb.Method, raw, http.NoBody)
	if err != nil {
		return errors.New("invalid heartbeat URL")
	}
	req.Header.Set("User-Agent", "sfmcwatch")
	client := b.client
	if client == nil {
		client = &http.Client{}
	}
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // drop the URL: it often carries the check's token
		}
		return errors.New(Scrub(err.Error(), raw))
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("heartbeat answered HTTP %d", resp.StatusCode)
	}
	return nil
}

// Stats are the dispatcher's counters since it started (for /metrics).
type Stats struct {
	// ChannelFailures counts failed delivery attempts per
	// "receiver/channel" ("receiver" for a whole receiver).
	ChannelFailures map[string]uint64
	// HeartbeatPings and HeartbeatFailures count heartbeat pings answered
	// with 2xx and the others.
	HeartbeatPings, HeartbeatFailures uint64
}

// Stats returns the counters.
func (d *Dispatcher) Stats() Stats {
	return Stats{ChannelFailures: d.watch.counts(), HeartbeatPings: d.beat.pings.Load(), HeartbeatFailures: d.beat.failures.Load()}
}
