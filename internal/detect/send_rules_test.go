package detect

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
)

// Send health tests. The counters are SFMC's: a send job is a SOAP Send
// object (etframework.wsdl complexType Send: NumberSent, NumberTargeted,
// HardBounces, SoftBounces, OtherBounces, Unsubscribes, SendDate, Status;
// the developer guide's "Retrieve the Scheduled Send Time and Status of a
// Send" reads the same properties), a triggered send's counters are its
// TriggeredSendSummary (Sent, Bounces, OptOuts: "Indicates number of
// bounces resulting from a triggered send", TriggeredSendSummary object
// reference).

// sendJobs builds complete jobs at the given times with the given sent
// counts, bounce and unsubscribe counts as fractions.
func sendJobs(at []time.Time, sent []int64, bounce, unsub float64) []resource.SendJob {
	var out []resource.SendJob
	for i := range at {
		out = append(out, resource.SendJob{ID: int64(1000 + i), SendDate: at[i], SentDate: at[i].Add(10 * time.Minute), Status: "Complete",
			Targeted: sent[i] + sent[i]/100, Sent: sent[i], Bounces: int64(float64(sent[i]) * bounce), Unsubscribes: int64(float64(sent[i]) * unsub)})
	}
	return out
}

// weekly returns n times one week apart ending at last.
func weekly(last time.Time, n int) []time.Time {
	var out []time.Time
	for i := n - 1; i >= 0; i-- {
		out = append(out, last.Add(-time.Duration(i)*7*24*time.Hour))
	}
	return out
}

func sendEval(t *testing.T, r Rule, in *Input) []Finding {
	t.Helper()
	fs, err := r.Evaluate(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

func TestSendVolumeDropJobs(t *testing.T) {
	now := msgT0.Add(3 * time.Hour) // Monday 09:00 UTC
	last := now.Add(-2 * time.Hour) // the judged job: Monday 07:00
	cases := []struct {
		name   string
		at     []time.Time
		sent   []int64
		status string // of the last job ("" complete)
		drop   config.Ratio
		crit   bool
		want   bool
		kind   string
	}{
		{name: "weekly send at a tenth of its hour-of-week median", at: weekly(last, 5), sent: []int64{10000, 10400, 9800, 10100, 1000}, want: true, kind: "hour-of-week"},
		{name: "weekly send in line", at: weekly(last, 5), sent: []int64{10000, 10400, 9800, 10100, 9000}},
		{name: "35% down is within drop_ratio 0.7", at: weekly(last, 5), sent: []int64{10000, 10400, 9800, 10100, 6500}},
		{name: "override drop_ratio 0.3 fires on 35% down", at: weekly(last, 5), sent: []int64{10000, 10400, 9800, 10100, 6500}, drop: 0.3, want: true},
		{name: "critical send pages", at: weekly(last, 5), sent: []int64{10000, 10400, 9800, 10100, 0}, crit: true, want: true},
		{name: "one earlier job is not a baseline", at: weekly(last, 2), sent: []int64{10000, 100}},
		{name: "small sends are not judged (min_baseline 100)", at: weekly(last, 5), sent: []int64{50, 60, 55, 40, 1}},
		{name: "still sending is not judged", at: weekly(last, 5), sent: []int64{10000, 10400, 9800, 10100, 100}, status: "Sending"},
		{name: "daily send falls back to the same hour of day",
			at:   []time.Time{last.Add(-72 * time.Hour), last.Add(-48 * time.Hour), last.Add(-24 * time.Hour), last},
			sent: []int64{5000, 5100, 4900, 200}, want: true, kind: "hour-of-day"},
		{name: "other hours of day are no baseline",
			at:   []time.Time{last.Add(-75 * time.Hour), last.Add(-45 * time.Hour), last.Add(-29 * time.Hour), last},
			sent: []int64{5000, 5100, 4900, 200}},
		{name: "a job older than a week is history", at: weekly(last.Add(-8*24*time.Hour), 5), sent: []int64{10000, 10400, 9800, 10100, 1000}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := resource.SendState{Name: "Weekly Newsletter", Jobs: sendJobs(c.at, c.sent, 0.01, 0.001), ObservedSince: now}
			if c.status != "" {
				st.Jobs[len(st.Jobs)-1].Status = c.status
			}
			fs := &msgFakeSnaps{}
			fs.add(msgSnap(resource.Send, "ESD_Newsletter", now, resource.StatusComplete, st, nil))
			in := msgInput(resource.Send, now, fs)
			if c.crit {
				yes := true
				in.Tenant.Objects["send:ESD_Newsletter"] = config.Object{Critical: &yes}
			}
			if c.drop > 0 {
				in.Tenant.Objects["send:ESD_Newsletter"] = config.Object{Send: config.SendOverride{DropRatio: c.drop}}
			}
			got := sendEval(t, SendVolumeDropRule{}, in)
			if (len(got) == 1) != c.want {
				t.Fatalf("findings %+v, want %v", got, c.want)
			}
			if !c.want {
				return
			}
			f := got[0]
			if f.ResourceType != resource.Send || f.ResourceKey != "ESD_Newsletter" || !f.FailureStartedAt.Equal(last) {
				t.Errorf("finding %+v", f)
			}
			// Found on the first look: sfmcwatch saw it now, SFMC dates it.
			if !f.FirstSeen.Equal(now) {
				t.Errorf("first seen %v, want %v", f.FirstSeen, now)
			}
			if c.kind != "" && !strings.Contains(f.Detail, c.kind) {
				t.Errorf("detail does not name the %s baseline: %s", c.kind, f.Detail)
			}
			if c.crit && f.Severity != catalog.Critical {
				t.Errorf("severity %s", f.Severity)
			}
		})
	}
}

func TestSendVolumeDropFirstLookAudit(t *testing.T) {
	// The audit (no store) judges send jobs from SFMC's history alone.
	now := msgT0.Add(3 * time.Hour)
	st := resource.SendState{Name: "N", Jobs: sendJobs(weekly(now.Add(-2*time.Hour), 4), []int64{8000, 8100, 7900, 300}, 0.01, 0), ObservedSince: now}
	in := msgInput(resource.Send, now, nil)
	in.Current = append(in.Current, msgSnap(resource.Send, "k", now, resource.StatusComplete, st, nil))
	reg, err := NewRegistry(SendVolumeDropRule{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := reg.Evaluate(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if len(res["send.volume_drop"]) != 1 {
		t.Fatalf("audit findings %+v", res)
	}
}

func TestSendVolumeDropTriggeredSend(t *testing.T) {
	// A triggered send sending ~600/h at this hour of week for three weeks
	// sends 20 in the last hour.
	now := msgT0.Add(3*time.Hour + 5*time.Minute) // Monday 09:05
	hourEnd := msgT0.Add(3 * time.Hour)
	cases := []struct {
		name     string
		lastHour int64
		weeks    int
		want     bool
	}{
		{name: "hour at 3% of its hour-of-week median", lastHour: 20, weeks: 3, want: true},
		{name: "hour in line", lastHour: 550, weeks: 3},
		{name: "one week of history: hour-of-day fallback has none either", lastHour: 20, weeks: 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs := &msgFakeSnaps{}
			st := resource.TriggeredSendState{Name: "TS_Order"}
			add := func(at time.Time, sent int64) {
				fs.add(msgSnap(resource.TriggeredSend, "ts", at, resource.StatusActive, st, map[string]int64{resource.CounterSent: sent}))
			}
			var total int64
			for k := c.weeks; k >= 1; k-- {
				s := hourEnd.Add(-time.Duration(k)*7*24*time.Hour - time.Hour)
				add(s.Add(-5*time.Minute), total)
				total += 600 + int64(k)*10
				add(s.Add(55*time.Minute), total)
				total += 10000 // later traffic
			}
			add(hourEnd.Add(-time.Hour-5*time.Minute), total)
			total += c.lastHour
			add(hourEnd.Add(-5*time.Minute), total)
			add(now, total)
			in := msgInput(resource.Send, now, fs)
			got := sendEval(t, SendVolumeDropRule{}, in)
			if (len(got) == 1) != c.want {
				t.Fatalf("findings %+v, want %v", got, c.want)
			}
			if c.want && (got[0].ResourceType != resource.TriggeredSend || !strings.Contains(got[0].Detail, "hour of week")) {
				t.Errorf("finding %+v", got[0])
			}
		})
	}
}

func TestSendRateSpikesJobs(t *testing.T) {
	now := msgT0.Add(3 * time.Hour)
	last := now.Add(-2 * time.Hour)
	cases := []struct {
		name          string
		rule          Rule
		bounce, unsub float64 // of the judged job
		earlierBounce float64
		n             int // jobs
		sentAgo       time.Duration
		override      config.SendOverride
		want          bool
	}{
		{name: "bounces 20% against 1%", rule: SendBounceSpikeRule{}, bounce: 0.2, earlierBounce: 0.01, n: 4, want: true},
		{name: "bounces 3% is under the 5% threshold", rule: SendBounceSpikeRule{}, bounce: 0.03, earlierBounce: 0.01, n: 4},
		{name: "bounces 6% against a usual 4%: not twice the baseline", rule: SendBounceSpikeRule{}, bounce: 0.06, earlierBounce: 0.04, n: 4},
		{name: "first job ever at 8% bounces: threshold alone", rule: SendBounceSpikeRule{}, bounce: 0.08, n: 1, want: true},
		{name: "too fresh to judge", rule: SendBounceSpikeRule{}, bounce: 0.2, earlierBounce: 0.01, n: 4, sentAgo: 30 * time.Minute},
		{name: "bounce override 10% holds 8%", rule: SendBounceSpikeRule{}, bounce: 0.08, earlierBounce: 0.01, n: 4, override: config.SendOverride{BounceRatio: 0.1}},
		{name: "unsubscribes 3% against 0.1%", rule: SendComplaintSpikeRule{}, unsub: 0.03, earlierBounce: 0.01, n: 4, want: true},
		{name: "unsubscribes 0.2% are normal", rule: SendComplaintSpikeRule{}, unsub: 0.002, earlierBounce: 0.01, n: 4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			at := weekly(last, c.n)
			if c.sentAgo > 0 {
				at = weekly(now.Add(-c.sentAgo), c.n)
			}
			sent := make([]int64, c.n)
			for i := range sent {
				sent[i] = 10000
			}
			jobs := sendJobs(at, sent, c.earlierBounce, 0.001)
			j := &jobs[len(jobs)-1]
			j.Bounces, j.Unsubscribes = int64(c.bounce*10000), int64(c.unsub*10000)
			j.HardBounces = j.Bounces / 2
			fs := &msgFakeSnaps{}
			fs.add(msgSnap(resource.Send, "ESD_Promo", now, resource.StatusComplete, resource.SendState{Name: "Promo", Jobs: jobs, ObservedSince: now.Add(-time.Hour)}, nil))
			in := msgInput(resource.Send, now, fs)
			in.Tenant.Objects["send:ESD_Promo"] = config.Object{Send: c.override}
			got := sendEval(t, c.rule, in)
			if (len(got) == 1) != c.want {
				t.Fatalf("findings %+v, want %v", got, c.want)
			}
			if c.want && got[0].Family != catalog.Client {
				t.Errorf("family %s", got[0].Family)
			}
		})
	}
}

func TestSendRateSpikesTriggeredSend(t *testing.T) {
	now := msgT0.Add(6 * time.Hour)
	cases := []struct {
		name               string
		rule               Rule
		lifeSent, lifeB    int64 // at the window's start (or the only look)
		winSent, winB      int64 // growth over the window; winSent < 0: first look only
		want               bool
		wantWarningLifeime bool
	}{
		{name: "window bounces 25% against 1.5% lifetime", rule: SendBounceSpikeRule{}, lifeSent: 100000, lifeB: 1500, winSent: 1000, winB: 250, want: true},
		{name: "window bounces normal", rule: SendBounceSpikeRule{}, lifeSent: 100000, lifeB: 1500, winSent: 1000, winB: 15},
		{name: "too few sends in the window, lifetime fine", rule: SendBounceSpikeRule{}, lifeSent: 100000, lifeB: 1500, winSent: 50, winB: 40},
		{name: "first look: lifetime bounces 9%", rule: SendBounceSpikeRule{}, lifeSent: 100000, lifeB: 9000, winSent: -1, want: true, wantWarningLifeime: true},
		{name: "first look: lifetime bounces 1.5%", rule: SendBounceSpikeRule{}, lifeSent: 100000, lifeB: 1500, winSent: -1},
		{name: "first look: a small definition is not judged", rule: SendBounceSpikeRule{}, lifeSent: 300, lifeB: 100, winSent: -1},
		{name: "window opt-outs 4%", rule: SendComplaintSpikeRule{}, lifeSent: 100000, lifeB: 200, winSent: 1000, winB: 40, want: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			counter := resource.CounterBounces
			if c.rule.ID() == "send.complaint_spike" {
				counter = resource.CounterOptOuts
			}
			st := resource.TriggeredSendState{Name: "TS_Welcome"}
			fs := &msgFakeSnaps{}
			if c.winSent >= 0 {
				fs.add(msgSnap(resource.TriggeredSend, "ts", now.Add(-5*time.Hour), resource.StatusActive, st,
					map[string]int64{resource.CounterSent: c.lifeSent, counter: c.lifeB}))
				fs.add(msgSnap(resource.TriggeredSend, "ts", now, resource.StatusActive, st,
					map[string]int64{resource.CounterSent: c.lifeSent + c.winSent, counter: c.lifeB + c.winB}))
			} else {
				fs.add(msgSnap(resource.TriggeredSend, "ts", now, resource.StatusActive, st,
					map[string]int64{resource.CounterSent: c.lifeSent, counter: c.lifeB}))
			}
			got := sendEval(t, c.rule, msgInput(resource.Send, now, fs))
			if (len(got) == 1) != c.want {
				t.Fatalf("findings %+v, want %v", got, c.want)
			}
			if c.want && c.wantWarningLifeime && (got[0].Severity != catalog.Warning || !strings.Contains(got[0].Title, "lifetime")) {
				t.Errorf("finding %+v", got[0])
			}
		})
	}
}
