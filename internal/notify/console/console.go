// Package console writes one readable line per notification to an
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

// Line formats a message as one line: time, receiver, title, then each
// alert as #id rule (state, failing for …) and the first link.
func Line(m *notify.Message, at time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s notify %s: %s", at.UTC().Format("15:04:05"), m.Receiver, m.Title())
	var parts []string
	link := ""
	for _, a := range m.Alerts {
		state := "failing for " + notify.HumanDuration(a.FailingFor)
		if a.Status == notify.StatusResolved {
			state = "resolved after " + notify.HumanDuration(a.FailingFor)
		} else if a.AcknowledgedBy != "" {
			state += ", ack " + a.AcknowledgedBy
		}
		parts = append(parts, fmt.Sprintf("#%d %s %s (%s)", a.IncidentID, a.Rule, a.ResourceKey, state))
		if link == "" {
			link = a.Link
		}
	}
	if len(parts) > 0 {
		b.WriteString(" | " + strings.Join(parts, "; "))
	}
	if link != "" {
		b.WriteString(" | " + link)
	}
	return strings.NewReplacer("\n", " ", "\r", " ").Replace(b.String()) + "\n"
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
