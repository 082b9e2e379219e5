package detect

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// Send health: send.volume_drop, send.bounce_spike and send.complaint_spike
// judge send jobs (SOAP Send, one snapshot per send definition with its
// recent jobs) and triggered send definitions (TriggeredSendSummary
// counters). They run after each sends poll and read the triggered sends'
// latest snapshots from the store.

// sendRecent: only jobs sent this recently are judged (older ones are
// history, not news).
const sendRecent = 7 * 24 * time.Hour

// sendSettle: a job's bounce and unsubscribe rates are judged once this
// long has passed since it was sent (bounces arrive over minutes to hours).
const sendSettle = time.Hour

// sendNearHour: jobs within this of the judged job's hour of week (or day)
// count as the same hour.
const sendNearHour = time.Hour

// sendLatestComplete returns the last complete job sent within sendRecent
// of now and, when settle > 0, finished at least settle ago (ok false when
// none).
func sendLatestComplete(st resource.SendState, now time.Time, settle time.Duration) (int, bool) {
	for i := len(st.Jobs) - 1; i >= 0; i-- {
		j := st.Jobs[i]
		if !j.Complete() || now.Sub(msgFirst(j.SentDate, j.SendDate)) < settle {
			continue
		}
		return i, now.Sub(j.SendDate) <= sendRecent
	}
	return 0, false
}

// offsetIn returns how far t is into its week (period 7 days) or day
// (period 24 h) in loc.
func offsetIn(t time.Time, loc *time.Location, period time.Duration) time.Duration {
	lt := t.In(loc)
	d := time.Duration(lt.Hour())*time.Hour + time.Duration(lt.Minute())*time.Minute + time.Duration(lt.Second())*time.Second
	if period > 24*time.Hour {
		d += time.Duration(lt.Weekday()) * 24 * time.Hour
	}
	return d
}

// nearInPeriod reports whether a and b are within sendNearHour of each
// other on the circle of one period.
func nearInPeriod(a, b time.Time, loc *time.Location, period time.Duration) bool {
	d := offsetIn(a, loc, period) - offsetIn(b, loc, period)
	if d < 0 {
		d = -d
	}
	return min(d, period-d) <= sendNearHour
}

// sendBaselineJobs returns the complete jobs before jobs[i] within weeks
// weeks at the same hour of week (±1 h); with fewer than minSamples, those
// at the same hour of day on any day, and which kind it is.
func sendBaselineJobs(jobs []resource.SendJob, i int, loc *time.Location, weeks, minSamples int) ([]resource.SendJob, string) {
	cur := jobs[i]
	from := cur.SendDate.Add(-time.Duration(max(weeks, 1)) * 7 * 24 * time.Hour)
	var week, day []resource.SendJob
	for _, j := range jobs[:i] {
		if !j.Complete() || j.SendDate.Before(from) || !j.SendDate.Before(cur.SendDate) {
			continue
		}
		if nearInPeriod(j.SendDate, cur.SendDate, loc, 7*24*time.Hour) {
			week = append(week, j)
		}
		if nearInPeriod(j.SendDate, cur.SendDate, loc, 24*time.Hour) {
			day = append(day, j)
		}
	}
	if len(week) >= max(minSamples, 1) {
		return week, "hour-of-week"
	}
	if len(day) >= max(minSamples, 1) {
		return day, "hour-of-day"
	}
	return nil, ""
}

func medianF(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// sendTSDs returns the latest triggered send snapshots of the tenant (none
// without a store).
func sendTSDs(ctx context.Context, in *Input) ([]store.Snapshot, error) {
	if in.Snapshots == nil {
		return nil, nil
	}
	return in.Snapshots.LatestSnapshots(ctx, in.Tenant.Name, string(resource.TriggeredSend))
}

// judgeActiveTSDs appends judge's findings for every active, not ignored
// triggered send definition of the tenant to out.
func judgeActiveTSDs(ctx context.Context, in *Input, out []Finding,
	judge func(context.Context, *Input, store.Snapshot) (Finding, bool, error)) ([]Finding, error) {
	tsds, err := sendTSDs(ctx, in)
	if err != nil {
		return nil, err
	}
	for _, s := range tsds {
		if s.Status != resource.StatusActive || in.Tenant.Object(string(resource.TriggeredSend), s.ResourceKey).Ignore {
			continue
		}
		f, ok, err := judge(ctx, in, s)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, f)
		}
	}
	return out, nil
}

// SendVolumeDropRule is send.volume_drop: a send sent far fewer messages
// than its own hour-of-week baseline.
//
// Send jobs: the latest complete job sent in the last 7 days against the
// median NumberSent of the group's earlier complete jobs at the same hour
// of week (±1 h, tenant time zone) over baseline_weeks; with fewer than
// min_samples of those, the same hour of day on other days. It fires when
// NumberSent < (1 − drop_ratio) × median and the median ≥ min_baseline.
// The collector's first look reads five weeks of SFMC's send history, so
// a send already short is caught on the first cycle; the finding holds
// until a newer complete job is back in line.
//
// Triggered sends (Active ones): the Sent delta over the last completed
// hour against the same hour in each of the last baseline_weeks weeks (or,
// with fewer than min_samples such hours, the same hour on the last six
// days), per hour; TriggeredSendSummary is lifetime totals only, so this
// part needs sfmcwatch's own history and says nothing on the first look.
type SendVolumeDropRule struct{}

// ID implements Rule.
func (SendVolumeDropRule) ID() string { return "send.volume_drop" }

// Type implements Rule.
func (SendVolumeDropRule) Type() resource.Type { return resource.Send }

// NeedsHistory implements Rule: send jobs carry SFMC's own history.
func (SendVolumeDropRule) NeedsHistory() bool { return false }

// Evaluate implements Rule.
func (r SendVolumeDropRule) Evaluate(ctx context.Context, in *Input) ([]Finding, error) {
	cfg := in.Rules.SendVolumeDrop
	loc := in.Tenant.Location()
	var out []Finding
	for _, s := range in.Current {
		var st resource.SendState
		if err := resource.Decode(s, &st); err != nil {
			return nil, err
		}
		i, ok := sendLatestComplete(st, in.Now, 0)
		if !ok {
			continue
		}
		base, kind := sendBaselineJobs(st.Jobs, i, loc, cfg.BaselineWeeks, cfg.MinSamples)
		if len(base) == 0 {
			continue
		}
		vals := make([]float64, 0, len(base))
		for _, j := range base {
			vals = append(vals, float64(j.Sent))
		}
		med := medianF(vals)
		drop := float64(cfg.DropRatio)
		if o := in.Tenant.Object(string(resource.Send), s.ResourceKey).Send.DropRatio; o > 0 {
			drop = float64(o)
		}
		job := st.Jobs[i]
		if med < cfg.MinBaseline || float64(job.Sent) >= (1-drop)*med {
			continue
		}
		name := msgName(st.Name, s.ResourceKey)
		f := Finding{ResourceType: resource.Send, ResourceKey: s.ResourceKey, ResourceName: st.Name,
			Owner: catalog.MarketingOps, Family: catalog.None,
			Title: fmt.Sprintf("Send '%s' went to %d recipients, %.0f%% of its usual %.0f", name, job.Sent, float64(job.Sent)/med*100, med),
			Detail: fmt.Sprintf("Send job %d (%s) sent %d (targeted %d, excluded %d, errored %d); the median of %d earlier complete jobs at the same %s is %.0f (threshold: below %.0f%% of it).",
				job.ID, job.SendDate.UTC().Format(time.RFC3339), job.Sent, job.Targeted, sendExcluded(job), job.Errored, len(base), kind, med, (1-drop)*100),
			FirstSeen: seenSince(job.SendDate, st.ObservedSince), FailureStartedAt: job.SendDate, Evidence: msgEvidence(s),
			Remediation: []string{
				"Check the send's audience: the sendable data extension or list may have been emptied or only partly loaded before the send (data_extension.row_drop, import.partial).",
				"Look at the job's Excluded and Errored counts in Email Studio > Tracking: a changed exclusion script, suppression list or publication list can drop most recipients.",
				"If the smaller audience was intended, the incident resolves on the next send in line with its baseline.",
			}}
		if job.Targeted > 0 && job.Sent*2 < job.Targeted {
			f.Detail += " Most targeted subscribers were not sent to: look at exclusions and suppressions first."
		}
		if in.Tenant.IsCritical(string(resource.Send), s.ResourceKey) {
			f.Severity = catalog.Critical
		}
		out = append(out, f)
	}
	if in.Audit() {
		return out, nil
	}
	return judgeActiveTSDs(ctx, in, out, func(ctx context.Context, in *Input, s store.Snapshot) (Finding, bool, error) {
		return r.triggered(ctx, in, s, cfg)
	})
}

func sendExcluded(j resource.SendJob) int64 {
	if j.Targeted > j.Sent+j.Errored {
		return j.Targeted - j.Sent - j.Errored
	}
	return 0
}

// tsSentPerHour returns a triggered send's Sent per hour over [from, to)
// from its snapshots (ok false when the store has no snapshot within 30
// minutes before from, the span covered is under 45 minutes, or the
// counter went backwards).
func tsSentPerHour(ctx context.Context, in *Input, ref store.ResourceRef, from, to time.Time) (float64, bool, error) {
	hist, err := in.Snapshots.SnapshotHistory(ctx, ref, from.Add(-30*time.Minute), to.Add(time.Microsecond), 200)
	if err != nil || len(hist) < 2 {
		return 0, false, err
	}
	a, _ := msgAtOrBefore(hist, from)
	b, _ := msgAtOrBefore(hist, to)
	span := b.ObservedAt.Sub(a.ObservedAt)
	s0, ok1 := a.Counters[resource.CounterSent]
	s1, ok2 := b.Counters[resource.CounterSent]
	if !ok1 || !ok2 || s1 < s0 || a.ObservedAt.After(from) || span < 45*time.Minute {
		return 0, false, nil
	}
	return float64(s1-s0) / span.Hours(), true, nil
}

func (SendVolumeDropRule) triggered(ctx context.Context, in *Input, s store.Snapshot, cfg config.SendVolumeDropRule) (Finding, bool, error) {
	loc := in.Tenant.Location()
	end := in.Now.In(loc).Truncate(time.Hour)
	if end.After(s.ObservedAt) {
		end = s.ObservedAt.In(loc).Truncate(time.Hour)
	}
	start := end.Add(-time.Hour)
	cur, ok, err := tsSentPerHour(ctx, in, s.ResourceRef, start, end)
	if err != nil || !ok {
		return Finding{}, false, err
	}
	collect := func(step time.Duration, n int) ([]float64, error) {
		var vals []float64
		for k := 1; k <= n; k++ {
			v, ok, err := tsSentPerHour(ctx, in, s.ResourceRef, start.Add(-time.Duration(k)*step), end.Add(-time.Duration(k)*step))
			if err != nil {
				return nil, err
			}
			if ok {
				vals = append(vals, v)
			}
		}
		return vals, nil
	}
	vals, err := collect(7*24*time.Hour, max(cfg.BaselineWeeks, 1))
	if err != nil {
		return Finding{}, false, err
	}
	kind := "hour of week"
	if len(vals) < max(cfg.MinSamples, 1) {
		if vals, err = collect(24*time.Hour, 6); err != nil {
			return Finding{}, false, err
		}
		kind = "hour of day"
	}
	if len(vals) < max(cfg.MinSamples, 1) {
		return Finding{}, false, nil
	}
	med := medianF(vals)
	drop := float64(cfg.DropRatio)
	if o := in.Tenant.Object(string(resource.TriggeredSend), s.ResourceKey).Send.DropRatio; o > 0 {
		drop = float64(o)
	}
	if med < cfg.MinBaseline || cur >= (1-drop)*med {
		return Finding{}, false, nil
	}
	var st resource.TriggeredSendState
	if err := resource.Decode(s, &st); err != nil {
		return Finding{}, false, err
	}
	name := msgName(st.Name, s.ResourceKey)
	f := Finding{ResourceType: resource.TriggeredSend, ResourceKey: s.ResourceKey, ResourceName: st.Name,
		Owner: catalog.MarketingOps, Family: catalog.None, FirstSeen: end,
		Title: fmt.Sprintf("Triggered send '%s' sent %.0f in the hour to %s, %.0f%% of its usual %.0f", name, cur, end.Format("15:04"), cur/med*100, med),
		Detail: fmt.Sprintf("TriggeredSendSummary Sent grew by %.0f an hour between %s and %s; the median of %d earlier hours at the same %s is %.0f (threshold: below %.0f%% of it). The definition is Active: callers may have stopped calling it, or their calls fail before reaching SFMC.",
			cur, start.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339), len(vals), kind, med, (1-drop)*100),
		Evidence: msgEvidence(s),
		Remediation: []string{
			"Check the integrations that trigger this send (api.errors.integration, the proxy's records): failing or stopped callers send nothing and SFMC reports no error.",
			"Check the journey or automation that feeds it, if any, and its entry source.",
		}}
	if in.Tenant.IsCritical(string(resource.TriggeredSend), s.ResourceKey) {
		f.Severity = catalog.Critical
	}
	return f, true, nil
}

// sendRate describes one rate rule (bounces or unsubscribes).
type sendRate struct {
	id       string
	what     string // "bounce", "unsubscribe"
	counter  string // triggered send counter
	of       func(resource.SendJob) int64
	cfg      func(*config.Rules) config.SendRateRule
	override func(config.SendOverride) config.Ratio
	family   catalog.Family
	remedy   []string
}

func (r sendRate) ratio(in *Input, typ resource.Type, key string) float64 {
	if o := r.override(in.Tenant.Object(string(typ), key).Send); o > 0 {
		return float64(o)
	}
	return float64(r.cfg(in.Rules).Ratio)
}

// over reports whether rate crosses ratio and, with a positive baseline,
// factor × baseline.
func over(rate, ratio, baseline, factor float64) bool {
	if rate < ratio {
		return false
	}
	return factor <= 0 || baseline <= 0 || rate >= factor*baseline
}

func (r sendRate) evaluate(ctx context.Context, in *Input) ([]Finding, error) {
	cfg := r.cfg(in.Rules)
	var out []Finding
	for _, s := range in.Current {
		var st resource.SendState
		if err := resource.Decode(s, &st); err != nil {
			return nil, err
		}
		i, ok := sendLatestComplete(st, in.Now, sendSettle)
		if !ok {
			continue
		}
		job := st.Jobs[i]
		if job.Sent < max(cfg.MinSent, 1) {
			continue
		}
		rate := float64(r.of(job)) / float64(job.Sent)
		var rates []float64
		for _, j := range st.Jobs[:i] {
			if j.Complete() && j.Sent >= max(cfg.MinSent, 1) {
				rates = append(rates, float64(r.of(j))/float64(j.Sent))
			}
		}
		baseline := medianF(rates)
		limit := r.ratio(in, resource.Send, s.ResourceKey)
		if !over(rate, limit, baseline, cfg.BaselineFactor) {
			continue
		}
		name := msgName(st.Name, s.ResourceKey)
		f := Finding{ResourceType: resource.Send, ResourceKey: s.ResourceKey, ResourceName: st.Name,
			Owner: catalog.MarketingOps, Family: r.family,
			Title: fmt.Sprintf("Send '%s': %s rate %.2f%% (%d of %d)", name, r.what, rate*100, r.of(job), job.Sent),
			Detail: fmt.Sprintf("Send job %d (%s): %d %ss of %d sent (%.2f%%, threshold %.2f%%)", job.ID, job.SendDate.UTC().Format(time.RFC3339),
				r.of(job), r.what, job.Sent, rate*100, limit*100),
			FirstSeen: seenSince(job.SendDate, st.ObservedSince), FailureStartedAt: job.SendDate, Evidence: msgEvidence(s), Remediation: r.remedy}
		if len(rates) > 0 {
			f.Detail += fmt.Sprintf("; the median of its %d earlier jobs is %.2f%%.", len(rates), baseline*100)
		} else {
			f.Detail += "; no earlier job to compare with."
		}
		if job.HardBounces > 0 && r.what == "bounce" {
			f.Detail += fmt.Sprintf(" %d are hard bounces.", job.HardBounces)
		}
		if in.Tenant.IsCritical(string(resource.Send), s.ResourceKey) {
			f.Severity = msgEscalate(cfg.Severity)
		}
		out = append(out, f)
	}
	return judgeActiveTSDs(ctx, in, out, func(ctx context.Context, in *Input, s store.Snapshot) (Finding, bool, error) {
		return r.triggered(ctx, in, s, cfg)
	})
}

// triggered judges a triggered send: the counter's delta over Sent's delta
// in the window against the ratio and the lifetime rate at the window's
// start. With fewer than min_sent sent in the window (the first look, or a
// quiet definition), the lifetime rate is judged against the ratio alone,
// at warning, until the window has enough sends to say.
func (r sendRate) triggered(ctx context.Context, in *Input, s store.Snapshot, cfg config.SendRateRule) (Finding, bool, error) {
	var st resource.TriggeredSendState
	if err := resource.Decode(s, &st); err != nil {
		return Finding{}, false, err
	}
	minSent := max(cfg.MinSent, 1)
	limit := r.ratio(in, resource.TriggeredSend, s.ResourceKey)
	name := msgName(st.Name, s.ResourceKey)
	lifeSent, lifeN := s.Counters[resource.CounterSent], s.Counters[r.counter]
	f := Finding{ResourceType: resource.TriggeredSend, ResourceKey: s.ResourceKey, ResourceName: st.Name,
		Owner: catalog.MarketingOps, Family: r.family, Evidence: msgEvidence(s), Remediation: r.remedy}
	var windowSent int64
	if in.Snapshots != nil {
		w := cfg.Window.Std()
		hist, err := in.Snapshots.SnapshotHistory(ctx, s.ResourceRef, s.ObservedAt.Add(-w), s.ObservedAt.Add(time.Microsecond), tsHistoryLimit)
		if err != nil {
			return Finding{}, false, err
		}
		if len(hist) >= 2 {
			a := hist[0]
			s0, ok1 := a.Counters[resource.CounterSent]
			n0, ok2 := a.Counters[r.counter]
			_, ok3 := s.Counters[r.counter]
			if ok1 && ok2 && ok3 && lifeSent >= s0 && lifeN >= n0 {
				windowSent = lifeSent - s0
				dn := lifeN - n0
				if windowSent >= minSent {
					rate := float64(dn) / float64(windowSent)
					baseline := 0.0
					if s0 > 0 {
						baseline = float64(n0) / float64(s0)
					}
					if !over(rate, limit, baseline, cfg.BaselineFactor) {
						return Finding{}, false, nil
					}
					f.FirstSeen = a.ObservedAt
					f.Title = fmt.Sprintf("Triggered send '%s': %s rate %.2f%% over %s", name, r.what, rate*100, s.ObservedAt.Sub(a.ObservedAt).Round(time.Minute))
					f.Detail = fmt.Sprintf("TriggeredSendSummary: %d %ss against %d sent since %s (%.2f%%, threshold %.2f%%); its lifetime rate before was %.2f%%.",
						dn, r.what, windowSent, a.ObservedAt.UTC().Format(time.RFC3339), rate*100, limit*100, baseline*100)
					f.Evidence = msgEvidence(a, s)
					if in.Tenant.IsCritical(string(resource.TriggeredSend), s.ResourceKey) {
						f.Severity = msgEscalate(cfg.Severity)
					}
					return f, true, nil
				}
			}
		}
	}
	// Too few sends in the window to judge it: the lifetime totals.
	if lifeSent < 10*minSent || float64(lifeN)/float64(lifeSent) < limit {
		return Finding{}, false, nil
	}
	rate := float64(lifeN) / float64(lifeSent)
	f.Severity, f.FirstSeen = catalog.Warning, s.ObservedAt
	f.Title = fmt.Sprintf("Triggered send '%s': %s rate %.2f%% over its lifetime", name, r.what, rate*100)
	f.Detail = fmt.Sprintf("SFMC's lifetime counters show %d %ss against %d sent (threshold %.2f%%); too few sends in the last %s to tell whether it still happens, so this is reported from the totals and resolves once %d sends in the window are below the threshold.",
		lifeN, r.what, lifeSent, limit*100, cfg.Window.Std(), minSent)
	return f, true, nil
}

var sendBounce = sendRate{
	id: "send.bounce_spike", what: "bounce", counter: resource.CounterBounces, family: catalog.Client,
	of:       func(j resource.SendJob) int64 { return j.Bounces },
	cfg:      func(r *config.Rules) config.SendRateRule { return r.SendBounceSpike },
	override: func(o config.SendOverride) config.Ratio { return o.BounceRatio },
	remedy: []string{
		"Look at the send's bounce categories in Email Studio > Tracking (hard: bad or unknown addresses; soft/block: a mailbox provider refusing you).",
		"A recent list import or a new data source is the usual cause of hard bounces: check what loaded the audience before the send.",
		"Block bounces across many domains point at sender reputation or authentication (SPF, DKIM, DMARC): involve deliverability.",
	},
}

var sendUnsub = sendRate{
	id: "send.complaint_spike", what: "unsubscribe", counter: resource.CounterOptOuts, family: catalog.Client,
	of:       func(j resource.SendJob) int64 { return j.Unsubscribes },
	cfg:      func(r *config.Rules) config.SendRateRule { return r.SendComplaintSpike },
	override: func(o config.SendOverride) config.Ratio { return o.UnsubscribeRatio },
	remedy: []string{
		"Check who received the send: an audience that was not opted in, an old list or a wrong segment brings unsubscribes and spam complaints.",
		"Check the content and frequency (a duplicate send or a wrong personalisation).",
		"Spam complaints themselves are only in the _Complaint data view (SQL query activity); check it for the same job.",
	},
}

// SendBounceSpikeRule is send.bounce_spike: the bounce rate (HardBounces
// + SoftBounces + OtherBounces of NumberSent for a send job; Bounces of
// Sent for a triggered send over window) at or above ratio and, with a
// baseline, baseline_factor × it (the median rate of the group's earlier
// jobs; a triggered send's lifetime rate before the window). Jobs are
// judged an hour after they were sent, with at least min_sent sent.
// First look: the latest job (jobs carry SFMC's history) and a triggered
// send's lifetime rate.
type SendBounceSpikeRule struct{}

// ID implements Rule.
func (SendBounceSpikeRule) ID() string { return sendBounce.id }

// Type implements Rule.
func (SendBounceSpikeRule) Type() resource.Type { return resource.Send }

// NeedsHistory implements Rule.
func (SendBounceSpikeRule) NeedsHistory() bool { return false }

// Evaluate implements Rule.
func (SendBounceSpikeRule) Evaluate(ctx context.Context, in *Input) ([]Finding, error) {
	return sendBounce.evaluate(ctx, in)
}

// SendComplaintSpikeRule is send.complaint_spike: as send.bounce_spike,
// on unsubscribes (Send Unsubscribes; TriggeredSendSummary OptOuts). SFMC's
// SOAP and REST read APIs expose no spam-complaint counter (the WSDL's
// Send and TriggeredSendSummary have none; complaints are in the
// _Complaint data view, readable only by a SQL query activity, which
// writes): unsubscribes are the audience's reaction that can be read.
type SendComplaintSpikeRule struct{}

// ID implements Rule.
func (SendComplaintSpikeRule) ID() string { return sendUnsub.id }

// Type implements Rule.
func (SendComplaintSpikeRule) Type() resource.Type { return resource.Send }

// NeedsHistory implements Rule.
func (SendComplaintSpikeRule) NeedsHistory() bool { return false }

// Evaluate implements Rule.
func (SendComplaintSpikeRule) Evaluate(ctx context.Context, in *Input) ([]Finding, error) {
	return sendUnsub.evaluate(ctx, in)
}
