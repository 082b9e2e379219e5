package detect

import (
	"context"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
)

func msgTSCounters(sent, errs, queued int64) map[string]int64 {
	return map[string]int64{resource.CounterSent: sent, resource.CounterNotSentDueToError: errs, resource.CounterQueued: queued}
}

func TestTriggeredSendInactiveRule(t *testing.T) {
	now := msgT0.Add(time.Hour)
	cases := []struct {
		name     string
		status   string
		st       resource.TriggeredSendState
		queued   int64
		critical bool
		audit    bool
		want     bool
	}{
		{name: "active", status: resource.StatusActive, st: resource.TriggeredSendState{StatusPolls: 9}},
		{name: "inactive first poll", status: resource.StatusInactive, st: resource.TriggeredSendState{StatusPolls: 1, ActiveBefore: true}},
		{name: "inactive confirmed", status: resource.StatusInactive, st: resource.TriggeredSendState{StatusPolls: 2, ActiveBefore: true}, want: true},
		{name: "canceled confirmed", status: resource.StatusCanceled, st: resource.TriggeredSendState{StatusPolls: 3, ActiveBefore: true}, want: true},
		{name: "inactive never active", status: resource.StatusInactive, st: resource.TriggeredSendState{StatusPolls: 5}},
		{name: "inactive critical", status: resource.StatusInactive, st: resource.TriggeredSendState{StatusPolls: 2}, critical: true, want: true},
		{name: "audit inactive queued", status: resource.StatusInactive, queued: 3, audit: true, want: true},
		{name: "audit inactive empty queue", status: resource.StatusInactive, audit: true},
		{name: "audit critical new", status: resource.StatusNew, audit: true, critical: true, want: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs := &msgFakeSnaps{}
			fs.add(msgSnap(resource.TriggeredSend, "ts", now, c.status, c.st, msgTSCounters(10, 0, c.queued)))
			var crit []string
			if c.critical {
				crit = []string{"triggered_send:ts"}
			}
			in := msgInput(resource.TriggeredSend, now, fs, crit...)
			if c.audit {
				in.Snapshots = nil
			}
			got, err := TriggeredSendInactiveRule{}.Evaluate(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			if (len(got) == 1) != c.want {
				t.Fatalf("%+v, want %v", got, c.want)
			}
			if c.want && c.critical && got[0].Severity != catalog.Critical {
				t.Fatalf("severity %q", got[0].Severity)
			}
		})
	}
}

func TestTriggeredSendErrorsRule(t *testing.T) {
	now := msgT0.Add(2 * time.Hour)
	cases := []struct {
		name       string
		sent, errs int64
		want       bool
	}{
		{name: "2.0% of 1000", sent: 980, errs: 20, want: true},
		{name: "1.9% of 1000", sent: 981, errs: 19},
		{name: "high ratio, 19 attempts", sent: 10, errs: 9},
		{name: "high ratio, 20 attempts", sent: 11, errs: 9, want: true},
		{name: "2 errors", sent: 20, errs: 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs := &msgFakeSnaps{}
			fs.add(msgSnap(resource.TriggeredSend, "ts", now.Add(-time.Hour), resource.StatusActive, resource.TriggeredSendState{}, msgTSCounters(1000, 5, 0)))
			fs.add(msgSnap(resource.TriggeredSend, "ts", now, resource.StatusActive, resource.TriggeredSendState{ErrorAt: now},
				msgTSCounters(1000+c.sent, 5+c.errs, 0)))
			got, err := TriggeredSendErrorsRule{}.Evaluate(context.Background(), msgInput(resource.TriggeredSend, now, fs))
			if err != nil {
				t.Fatal(err)
			}
			if (len(got) == 1) != c.want {
				t.Fatalf("%+v, want %v", got, c.want)
			}
		})
	}
}

func TestTriggeredSendBacklogRule(t *testing.T) {
	now := msgT0.Add(2 * time.Hour)
	cases := []struct {
		name   string
		refAge time.Duration
		q0, q1 int64
		dSent  int64
		want   bool
	}{
		{name: "queue grows, sent flat for 15m", refAge: 15 * time.Minute, q0: 0, q1: 30, want: true},
		{name: "only 14m of history", refAge: 14 * time.Minute, q0: 0, q1: 30},
		{name: "sent moved by 1", refAge: 15 * time.Minute, q0: 0, q1: 30, dSent: 1, want: true},
		{name: "sent moved by 2", refAge: 15 * time.Minute, q0: 0, q1: 30, dSent: 2},
		{name: "queue not draining", refAge: 20 * time.Minute, q0: 30, q1: 30, want: true},
		{name: "queue draining", refAge: 20 * time.Minute, q0: 30, q1: 29},
		{name: "queue empty", refAge: 20 * time.Minute, q0: 0, q1: 0},
		{name: "big queue, sent +1%", refAge: 15 * time.Minute, q0: 0, q1: 1000, dSent: 11, want: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs := &msgFakeSnaps{}
			fs.add(msgSnap(resource.TriggeredSend, "ts", now.Add(-c.refAge), resource.StatusActive, resource.TriggeredSendState{}, msgTSCounters(500, 0, c.q0)))
			fs.add(msgSnap(resource.TriggeredSend, "ts", now, resource.StatusActive, resource.TriggeredSendState{}, msgTSCounters(500+c.dSent, 0, c.q1)))
			got, err := TriggeredSendBacklogRule{}.Evaluate(context.Background(), msgInput(resource.TriggeredSend, now, fs))
			if err != nil {
				t.Fatal(err)
			}
			if (len(got) == 1) != c.want {
				t.Fatalf("%+v, want %v", got, c.want)
			}
		})
	}
}
