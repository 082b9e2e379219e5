package detect

import (
	"context"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/resource"
)

func msgSilent(t *testing.T, fs *msgFakeSnaps, now time.Time) []Finding {
	t.Helper()
	got, err := SilentFailureRule{}.Evaluate(context.Background(), msgInput(resource.Transactional, now, fs))
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestSilentFailureTransactionalBurn(t *testing.T) {
	now := msgT0.Add(3 * time.Hour)
	for _, c := range []struct {
		name        string
		long, short int64 // system not-sent in the last hour / last 5 min
		want        bool
	}{
		{name: "10 in 1h, 1 in 5m", long: 10, short: 1, want: true},
		{name: "5 in 1h", long: 5, short: 3, want: true},
		{name: "4 in 1h", long: 4, short: 3},
		{name: "10 in 1h, none in 5m", long: 10, short: 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			fs := &msgFakeSnaps{}
			cnt := func(n int64) map[string]int64 {
				return map[string]int64{resource.CounterNotSentSystem: n, resource.CounterNotSent: n + 100}
			}
			st := resource.TransactionalState{PreviousQueueCount: -1}
			fs.add(msgSnap(resource.Transactional, "tx", now.Add(-time.Hour), resource.StatusActive, st, cnt(50)))
			fs.add(msgSnap(resource.Transactional, "tx", now.Add(-5*time.Minute), resource.StatusActive, st, cnt(50+c.long-c.short)))
			st.SystemNotSentAt = now
			fs.add(msgSnap(resource.Transactional, "tx", now, resource.StatusActive, st, cnt(50+c.long)))
			got := msgSilent(t, fs, now)
			if (len(got) == 1) != c.want {
				t.Fatalf("%+v, want %v", got, c.want)
			}
			if c.want && (got[0].Discriminator != "burn" || got[0].ResourceType != resource.Transactional) {
				t.Fatalf("%+v", got[0])
			}
		})
	}
}

func TestSilentFailureTransactionalQueue(t *testing.T) {
	now := msgT0.Add(time.Hour)
	for _, c := range []struct {
		name        string
		count, prev int64
		age         int64
		want        bool
	}{
		{name: "15 min old, growing", count: 30, prev: 20, age: 900, want: true},
		{name: "14:59 old", count: 30, prev: 20, age: 899},
		{name: "draining", count: 10, prev: 20, age: 900},
		{name: "first reading", count: 10, prev: -1, age: 3600, want: true},
		{name: "empty", count: 0, prev: 0, age: 3600},
	} {
		t.Run(c.name, func(t *testing.T) {
			fs := &msgFakeSnaps{}
			fs.add(msgSnap(resource.Transactional, "tx", now, resource.StatusInactive,
				resource.TransactionalState{QueueReadAt: now, PreviousQueueCount: c.prev},
				map[string]int64{resource.CounterQueueCount: c.count, resource.CounterQueueAgeSeconds: c.age}))
			got := msgSilent(t, fs, now)
			if (len(got) == 1) != c.want {
				t.Fatalf("%+v, want %v", got, c.want)
			}
		})
	}
}

func TestSilentFailureTriggeredSendBurn(t *testing.T) {
	now := msgT0.Add(3 * time.Hour)
	// Budget 0.5%, burn 14.4× → 7.2% over 1 h and over 5 min, ≥ 100 attempts.
	for _, c := range []struct {
		name        string
		lSent, lErr int64 // last hour, before the last 5 min
		sSent, sErr int64 // last 5 min
		want        bool
	}{
		{name: "8% long, 10% short", lSent: 83, lErr: 7, sSent: 9, sErr: 1, want: true}, // 8/100 = 16×
		{name: "7% long", lSent: 84, lErr: 6, sSent: 9, sErr: 1},                        // 7/100 = 14×
		{name: "99 attempts", lSent: 82, lErr: 7, sSent: 9, sErr: 1},                    // 8/99
		{name: "short clean", lSent: 70, lErr: 20, sSent: 10, sErr: 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			fs := &msgFakeSnaps{}
			st := resource.TriggeredSendState{StatusSince: msgT0, SentAt: now}
			fs.add(msgSnap(resource.TriggeredSend, "ts", now.Add(-time.Hour), resource.StatusActive, st, msgTSCounters(1000, 0, 0)))
			fs.add(msgSnap(resource.TriggeredSend, "ts", now.Add(-5*time.Minute), resource.StatusActive, st, msgTSCounters(1000+c.lSent, c.lErr, 0)))
			st.ErrorAt = now
			fs.add(msgSnap(resource.TriggeredSend, "ts", now, resource.StatusActive, st, msgTSCounters(1000+c.lSent+c.sSent, c.lErr+c.sErr, 0)))
			got := msgSilent(t, fs, now)
			if (len(got) == 1) != c.want {
				t.Fatalf("%+v, want %v", got, c.want)
			}
			if c.want && (got[0].Discriminator != "burn" || got[0].ResourceType != resource.TriggeredSend) {
				t.Fatalf("%+v", got[0])
			}
		})
	}
}

func TestSilentFailureTriggeredSendAbsence(t *testing.T) {
	for _, c := range []struct {
		name    string
		perHour int64
		silent  time.Duration
		want    bool
	}{
		{name: "60/h silent 15m", perHour: 60, silent: 15 * time.Minute, want: true},
		{name: "60/h silent 14m", perHour: 60, silent: 14 * time.Minute},
		{name: "10/h silent 15m (3/rate = 18m)", perHour: 10, silent: 15 * time.Minute},
		{name: "10/h silent 18m", perHour: 10, silent: 18 * time.Minute, want: true},
		{name: "9/h silent 2h", perHour: 9, silent: 2 * time.Hour},
	} {
		t.Run(c.name, func(t *testing.T) {
			fs := &msgFakeSnaps{}
			lastSent := msgT0.Add(4 * time.Hour)
			now := lastSent.Add(c.silent)
			st := resource.TriggeredSendState{StatusSince: msgT0}
			fs.add(msgSnap(resource.TriggeredSend, "ts", msgT0, resource.StatusActive, st, msgTSCounters(0, 0, 0)))
			st.SentAt = lastSent
			fs.add(msgSnap(resource.TriggeredSend, "ts", now, resource.StatusActive, st, msgTSCounters(4*c.perHour, 0, 0)))
			got := msgSilent(t, fs, now)
			if (len(got) == 1) != c.want {
				t.Fatalf("%+v, want %v", got, c.want)
			}
			if c.want && got[0].Discriminator != "absence" {
				t.Fatalf("%+v", got[0])
			}
		})
	}
}
