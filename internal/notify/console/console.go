// Package console writes a readable headline per notification, then one
// line per incident change, to an
// io.Writer (the demo and local runs use it).
package console

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/notify"
	"github.com/sfmcwatch/sfmcwatch/internal/notify/fit"
)

// Config is the receiver's console block.
type Config = config.Console

// Notifier writes lines to w.
type Notifier struct {
	mu  sync.Mutex
	w   io.Writer
	now func() time.Time
}

var _ notify.Notifier = (*Notifier)(nil)

// New returns a console notifier writing to w (now nil = time.Now).
func New(w io.Writer, now func() time.Time) *Notifier {
	if now == nil {
		now = time.Now
	}
	return &Notifier{w: w, now: now}
}

// Width is where console lines wrap (continuation lines are indented).
const Width = 96

// MaxAlerts is how many incidents a console notification lists before
// "…and N more".
const MaxAlerts = 10

// Line formats a message: a headline (time, receiver, the short title
// naming the cause), then one line per incident change: #id rule resource
// (state, failing for …) and its link, wrapped at Width.
func Line(m *notify.Message, at time.Time) string {
	var b strings.Builder
	b.WriteString(fit.Wrap(oneLine(fmt.Sprintf("%s notify %s: %s", at.UTC().Format("15:04:05"), m.Receiver, fit.Title(m))), Width))
	b.WriteByte('\n')
	for i, a := range m.Alerts {
		if i == MaxAlerts {
			b.WriteString("  " + fit.More(len(m.Alerts)-i))
			if m.ExternalURL != "" {
				b.WriteString(" " + strings.TrimRight(m.ExternalURL, "/") + "/incidents")
			}
			b.WriteByte('\n')
			break
		}
		state := "failing for " + notify.HumanDuration(a.FailingFor)
		if a.Status == notify.StatusResolved {
			state = "resolved after " + notify.HumanDuration(a.FailingFor)
		} else if a.AcknowledgedBy != "" {
			state += ", ack " + a.AcknowledgedBy
		}
		line := fmt.Sprintf("  #%d %s %s (%s)", a.IncidentID, a.Rule, a.ResourceKey, state)
		if a.Link != "" {
			line += " " + a.Link
		}
		b.WriteString(fit.Wrap(oneLine(line), Width))
		b.WriteByte('\n')
	}
	return b.String()
}

func oneLine(s string) string {
	return strings.NewReplacer("\n", " ", "\r", " ").Replace(s)
}

// Notify writes the line.
func (n *Notifier) Notify(_ context.Context, m *notify.Message) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, err := io.WriteString(n.w, Line(m, n.now())); err != nil {
		return notify.Retryable("console", err)
	}
	return nil
}
