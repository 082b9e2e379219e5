package collect_test

import (
	"context"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/collect/collecttest"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc/sim"
)

const msgPollEvery = 5 * time.Minute

// tsWarm polls triggered sends (and transactional, for silent_failure)
// for n polls and returns the busiest Active TSD by Sent growth.
func tsWarm(t *testing.T, ctx context.Context, e *collecttest.Env, n int) (string, int64) {
	t.Helper()
	msgPoll(ctx, e, resource.TriggeredSend, "", "")
	before := msgLatest(ctx, e, resource.TriggeredSend)
	for range n {
		e.Advance(msgPollEvery)
		for _, r := range []string{"triggered_send.inactive", "triggered_send.errors", "triggered_send.backlog"} {
			if fs := msgPoll(ctx, e, resource.TriggeredSend, r, ""); len(fs) != 0 {
				t.Fatalf("healthy: %+v", fs)
			}
		}
		if fs := msgPoll(ctx, e, resource.Transactional, "triggered_send.silent_failure", ""); len(fs) != 0 {
			t.Fatalf("healthy: %+v", fs)
		}
	}
	return msgBusiest(t, before, msgLatest(ctx, e, resource.TriggeredSend), resource.CounterSent, resource.StatusActive, 0)
}

func TestTriggeredSendInactiveTimeline(t *testing.T) {
	ctx := context.Background()
	e := msgEnv(t, nil)
	key, _ := tsWarm(t, ctx, e, 2)
	id := e.Inject(sim.Fault{Kind: sim.FaultTriggeredSendInactive, Target: key})
	// Inherent bound: 1 + confirm_polls (1) polls.
	if d := msgUntil(ctx, e, resource.TriggeredSend, "triggered_send.inactive", key, msgPollEvery, time.Hour, true); d != 2*msgPollEvery {
		t.Fatalf("TTD %s, want 2 polls", d)
	}
	e.Sim.Clear(id)
	if d := msgUntil(ctx, e, resource.TriggeredSend, "triggered_send.inactive", key, msgPollEvery, time.Hour, false); d > msgPollEvery {
		t.Fatalf("resolved after %s", d)
	}
}

func TestTriggeredSendErrorsTimeline(t *testing.T) {
	ctx := context.Background()
	e := msgEnv(t, nil)
	key, _ := tsWarm(t, ctx, e, 3)
	id := e.Inject(sim.Fault{Kind: sim.FaultTriggeredSendErrors, Target: key, Params: map[string]string{"per_hour": "600"}})
	if d := msgUntil(ctx, e, resource.TriggeredSend, "triggered_send.errors", key, msgPollEvery, time.Hour, true); d > msgPollEvery {
		t.Fatalf("TTD %s", d)
	}
	// The burn rate of silent_failure fires too (evaluated after the
	// transactional collection).
	if fs := msgPoll(ctx, e, resource.Transactional, "triggered_send.silent_failure", key); len(fs) != 1 || fs[0].Discriminator != "burn" {
		t.Fatalf("silent_failure burn: %+v", fs)
	}
	e.Sim.Clear(id)
	// silent_failure: resolved once the short window is clean (≤ 5 min + poll).
	e.Advance(msgPollEvery)
	e.Collect(ctx, resource.TriggeredSend)
	e.Advance(msgPollEvery)
	e.Collect(ctx, resource.TriggeredSend)
	if fs := msgPoll(ctx, e, resource.Transactional, "triggered_send.silent_failure", key); len(fs) != 0 {
		t.Fatalf("silent_failure still firing: %+v", fs)
	}
	// errors: resolved once the errors left the 1 h window (≤ window + poll).
	if d := msgUntil(ctx, e, resource.TriggeredSend, "triggered_send.errors", key, msgPollEvery, 2*time.Hour, false); d > time.Hour+msgPollEvery {
		t.Fatalf("resolved after %s", d)
	}
}

func TestTriggeredSendBacklogTimeline(t *testing.T) {
	ctx := context.Background()
	e := msgEnv(t, nil)
	key, grew := tsWarm(t, ctx, e, 24) // 2 h: a send baseline for silent_failure's absence check
	if grew < 24 {
		t.Skipf("busiest TSD sent only %d in 2h", grew)
	}
	id := e.Inject(sim.Fault{Kind: sim.FaultTriggeredSendBacklog, Target: key, Params: map[string]string{"per_hour": "120"}})
	start := e.Now()
	var backlogAt, absenceAt time.Duration
	for e.Now().Sub(start) < time.Hour && (backlogAt == 0 || absenceAt == 0) {
		e.Advance(msgPollEvery)
		e.Collect(ctx, resource.Transactional)
		if fs := msgPoll(ctx, e, resource.TriggeredSend, "triggered_send.backlog", key); len(fs) > 0 && backlogAt == 0 {
			backlogAt = e.Now().Sub(start)
		}
		fs := msgPoll(ctx, e, resource.Transactional, "triggered_send.silent_failure", key)
		if len(fs) > 0 && absenceAt == 0 {
			if fs[0].Discriminator != "absence" {
				t.Fatalf("want absence, got %+v", fs[0])
			}
			absenceAt = e.Now().Sub(start)
		}
	}
	// backlog: window (15 min) + 1 poll; absence: absence_after (15 min) + 1 poll.
	if backlogAt == 0 || backlogAt > 20*time.Minute {
		t.Fatalf("backlog TTD %s", backlogAt)
	}
	if absenceAt == 0 || absenceAt > 20*time.Minute {
		t.Fatalf("absence TTD %s", absenceAt)
	}
	e.Sim.Clear(id)
	if d := msgUntil(ctx, e, resource.TriggeredSend, "triggered_send.backlog", key, msgPollEvery, time.Hour, false); d > msgPollEvery {
		t.Fatalf("backlog resolved after %s", d)
	}
	if fs := msgPoll(ctx, e, resource.Transactional, "triggered_send.silent_failure", key); len(fs) != 0 {
		t.Fatalf("absence still firing: %+v", fs)
	}
}
