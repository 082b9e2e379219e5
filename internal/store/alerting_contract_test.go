package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func testSilences(t *testing.T, h harness) {
	ctx := t.Context()
	s := openT(t, h.fresh(t))

	bad := []struct {
		name string
		sil  Silence
		want string
	}{
		{"no matchers", Silence{StartsAt: t0, EndsAt: t0.Add(time.Hour)}, "at least one matcher"},
		{"unknown label", Silence{Matchers: []SilenceMatcher{{"colour", "=", "red"}}, StartsAt: t0, EndsAt: t0.Add(time.Hour)}, `label "colour"`},
		{"bad op", Silence{Matchers: []SilenceMatcher{{"family", "==", "auth"}}, StartsAt: t0, EndsAt: t0.Add(time.Hour)}, `operator "=="`},
		{"bad regexp", Silence{Matchers: []SilenceMatcher{{"rule", "=~", "("}}, StartsAt: t0, EndsAt: t0.Add(time.Hour)}, "regular expression"},
		{"ends before start", Silence{Matchers: []SilenceMatcher{{"family", "=", "auth"}}, StartsAt: t0, EndsAt: t0}, "before it starts"},
		{"no end", Silence{Matchers: []SilenceMatcher{{"family", "=", "auth"}}, StartsAt: t0}, "start and an end"},
	}
	for _, tc := range bad {
		if _, err := s.CreateSilence(ctx, tc.sil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: CreateSilence err = %v, want it to mention %q", tc.name, err, tc.want)
		}
	}

	a, err := s.CreateSilence(ctx, Silence{
		Matchers: []SilenceMatcher{{"tenant", "=", "acme"}, {"family", "=~", "server|timeout"}},
		StartsAt: t0, EndsAt: t0.Add(2 * time.Hour), CreatedBy: "alice", Comment: "SFMC release", CreatedAt: t0.Add(-time.Minute),
	})
	if err != nil {
		t.Fatal(err)
	}
	if a.ID == 0 || a.CreatedBy != "alice" || a.Comment != "SFMC release" || !a.StartsAt.Equal(t0) ||
		!a.EndsAt.Equal(t0.Add(2*time.Hour)) || len(a.Matchers) != 2 || a.Matchers[1] != (SilenceMatcher{"family", "=~", "server|timeout"}) {
		t.Fatalf("created %+v", a)
	}
	b, err := s.CreateSilence(ctx, Silence{Matchers: []SilenceMatcher{{"owner", "!=", "infrastructure"}},
		StartsAt: t0.Add(3 * time.Hour), EndsAt: t0.Add(4 * time.Hour), CreatedBy: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	if !b.CreatedAt.Equal(b.StartsAt) {
		t.Errorf("zero CreatedAt should default to StartsAt, got %v", b.CreatedAt)
	}

	ids := func(ss []Silence) []int64 {
		var out []int64
		for _, x := range ss {
			out = append(out, x.ID)
		}
		return out
	}
	for _, tc := range []struct {
		at   time.Time
		want []int64
	}{
		{time.Time{}, []int64{b.ID, a.ID}},
		{t0.Add(-time.Second), nil},
		{t0, []int64{a.ID}},
		{t0.Add(2 * time.Hour), nil}, // end is exclusive
		{t0.Add(3*time.Hour + time.Minute), []int64{b.ID}},
	} {
		got, err := s.ListSilences(ctx, SilenceFilter{ActiveAt: tc.at})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(ids(got)) != fmt.Sprint(tc.want) {
			t.Errorf("active at %v: %v, want %v", tc.at, ids(got), tc.want)
		}
	}
	if got, _ := s.ListSilences(ctx, SilenceFilter{Limit: 1}); len(got) != 1 {
		t.Errorf("limit 1 gave %d", len(got))
	}

	// Expire: EndsAt becomes now; expiring again keeps the first end; a
	// future silence ends at its start.
	now := t0.Add(30 * time.Minute)
	e, err := s.ExpireSilence(ctx, a.ID, now)
	if err != nil || !e.EndsAt.Equal(now) || !e.UpdatedAt.Equal(now) {
		t.Fatalf("expire = %+v, %v", e, err)
	}
	if e2, err := s.ExpireSilence(ctx, a.ID, now.Add(time.Hour)); err != nil || !e2.EndsAt.Equal(now) {
		t.Fatalf("second expire = %+v, %v", e2, err)
	}
	if got, _ := s.ListSilences(ctx, SilenceFilter{ActiveAt: now}); len(got) != 0 {
		t.Errorf("expired silence still active: %+v", got)
	}
	if e, err := s.ExpireSilence(ctx, b.ID, now); err != nil || !e.EndsAt.Equal(b.StartsAt) || e.ActiveAt(b.StartsAt) {
		t.Fatalf("expire future = %+v, %v", e, err)
	}
	if _, err := s.ExpireSilence(ctx, 999999, now); !errors.Is(err, ErrNotFound) {
		t.Fatalf("expire missing: %v, want ErrNotFound", err)
	}
}

func msg(key, receiver string) OutboxMessage {
	return OutboxMessage{Key: key, Receiver: receiver, GroupKey: "g", Kind: "group", Payload: json.RawMessage(`{"k":"` + key + `"}`)}
}

func testOutbox(t *testing.T, h harness) {
	ctx := t.Context()
	s := openT(t, h.fresh(t))

	if _, err := s.EnqueueNotifications(ctx, t0, OutboxMessage{Key: "x", Receiver: "r", Payload: json.RawMessage(`{`)}); err == nil {
		t.Fatal("invalid JSON payload accepted")
	}
	n, err := s.EnqueueNotifications(ctx, t0, msg("a", "slack"), msg("b", "slack"), msg("a", "slack"))
	if err != nil || n != 2 {
		t.Fatalf("enqueue = %d, %v; want 2 (duplicate key skipped)", n, err)
	}
	later := msg("c", "pd")
	later.NextAttemptAt = t0.Add(time.Minute)
	if n, err := s.EnqueueNotifications(ctx, t0, later, msg("b", "slack")); err != nil || n != 1 {
		t.Fatalf("enqueue = %d, %v; want 1", n, err)
	}

	got, err := s.ClaimNotifications(ctx, "w1", t0, time.Minute, 10)
	if err != nil || len(got) != 2 || got[0].Key != "a" || got[1].Key != "b" || got[0].Attempts != 1 ||
		got[0].LeaseOwner != "w1" || !got[0].LeaseUntil.Equal(t0.Add(time.Minute)) || string(got[0].Payload) != `{"k":"a"}` {
		t.Fatalf("claim = %+v, %v", got, err)
	}
	if again, _ := s.ClaimNotifications(ctx, "w2", t0.Add(30*time.Second), time.Minute, 10); len(again) != 0 {
		t.Fatalf("claimed under a live lease: %+v", again)
	}
	a, b := got[0], got[1]
	if err := s.MarkNotificationSent(ctx, a.ID, "w2", t0); !errors.Is(err, ErrConflict) {
		t.Fatalf("mark sent by non-owner: %v", err)
	}
	if err := s.MarkNotificationSent(ctx, a.ID, "w1", t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkNotificationSent(ctx, a.ID, "w1", t0.Add(time.Second)); !errors.Is(err, ErrConflict) {
		t.Fatalf("second mark sent: %v", err)
	}
	if err := s.RetryNotification(ctx, b.ID, "w1", t0.Add(5*time.Minute), "HTTP 503", t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkNotificationSent(ctx, 424242, "w1", t0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("mark missing: %v", err)
	}

	// At 2m: c is due, b is waiting for its retry.
	got, err = s.ClaimNotifications(ctx, "w2", t0.Add(2*time.Minute), time.Minute, 10)
	if err != nil || len(got) != 1 || got[0].Key != "c" {
		t.Fatalf("claim at 2m = %+v, %v", got, err)
	}
	if err := s.FailNotification(ctx, got[0].ID, "w2", "HTTP 400 invalid routing key", t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	// A lease that expires lets another worker take the message (crash).
	got, err = s.ClaimNotifications(ctx, "w3", t0.Add(5*time.Minute), time.Minute, 10)
	if err != nil || len(got) != 1 || got[0].Key != "b" || got[0].Attempts != 2 || got[0].LastError != "HTTP 503" {
		t.Fatalf("claim retry = %+v, %v", got, err)
	}
	got, err = s.ClaimNotifications(ctx, "w4", t0.Add(7*time.Minute), time.Minute, 10)
	if err != nil || len(got) != 1 || got[0].Key != "b" || got[0].Attempts != 3 {
		t.Fatalf("reclaim after lease expiry = %+v, %v", got, err)
	}
	if err := s.MarkNotificationSent(ctx, got[0].ID, "w3", t0.Add(7*time.Minute)); !errors.Is(err, ErrConflict) {
		t.Fatalf("old owner marked sent after losing the lease: %v", err)
	}
	if err := s.MarkNotificationSent(ctx, got[0].ID, "w4", t0.Add(7*time.Minute)); err != nil {
		t.Fatal(err)
	}

	m, err := s.GetNotification(ctx, "a")
	if err != nil || m.Status != OutboxSent || !m.SentAt.Equal(t0.Add(time.Second)) || m.Receiver != "slack" || m.GroupKey != "g" || m.Kind != "group" {
		t.Fatalf("get a = %+v, %v", m, err)
	}
	if _, err := s.GetNotification(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get missing: %v", err)
	}
	for _, tc := range []struct {
		f    OutboxFilter
		want string
	}{
		{OutboxFilter{}, "[c b a]"},
		{OutboxFilter{Status: OutboxFailed}, "[c]"},
		{OutboxFilter{Status: OutboxSent}, "[b a]"},
		{OutboxFilter{Receiver: "pd"}, "[c]"},
		{OutboxFilter{Status: OutboxPending}, "[]"},
	} {
		l, err := s.ListNotifications(ctx, tc.f)
		if err != nil {
			t.Fatal(err)
		}
		keys := []string{}
		for _, m := range l {
			keys = append(keys, m.Key)
		}
		// created_at ties (a and b) order by id descending.
		if fmt.Sprint(keys) != tc.want {
			t.Errorf("list %+v = %v, want %v", tc.f, keys, tc.want)
		}
	}
	if n, err := s.EnqueueNotifications(ctx, t0.Add(time.Hour), msg("d", "slack")); err != nil || n != 1 {
		t.Fatal(n, err)
	}
	pruned, err := s.PruneNotifications(ctx, t0.Add(time.Hour))
	if err != nil || pruned != 3 {
		t.Fatalf("prune = %d, %v; want 3 (pending d kept)", pruned, err)
	}
	// A pruned key may be enqueued again: the idempotency window is the
	// retention window.
	if l, _ := s.ListNotifications(ctx, OutboxFilter{}); len(l) != 1 || l[0].Key != "d" {
		t.Fatalf("after prune: %+v", l)
	}
	t.Run("Channels", func(t *testing.T) { testOutboxChannels(t, h) })
	t.Run("UpgradeKeepsRows", func(t *testing.T) { testOutboxUpgrade(t, h) })
	t.Run("ConcurrentKinds", func(t *testing.T) { testOutboxConcurrentKinds(t, h) })
}

// Two replicas enqueueing the same messages at once, one as a
// whole-receiver row and one as channel rows (mixed configurations during
// a rollout), never leave both kinds for one key: the whole-receiver row
// would send to every channel again.
func testOutboxConcurrentKinds(t *testing.T, h harness) {
	ctx := t.Context()
	cfg := h.fresh(t)
	a, b := openT(t, cfg), openT(t, cfg)
	const n = 150
	errs := make(chan error, 2)
	go func() {
		for i := range n {
			if _, err := a.EnqueueNotifications(ctx, t0, chanMsg(fmt.Sprint("k", i), "ops", "")); err != nil {
				errs <- err
				return
			}
		}
		errs <- nil
	}()
	go func() {
		for i := range n {
			if _, err := b.EnqueueNotifications(ctx, t0, chanMsg(fmt.Sprint("k", i), "ops", "slack"), chanMsg(fmt.Sprint("k", i), "ops", "email")); err != nil {
				errs <- err
				return
			}
		}
		errs <- nil
	}()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		rows, err := a.ListNotifications(ctx, OutboxFilter{Key: fmt.Sprint("k", i), Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		whole, chans := 0, 0
		for _, r := range rows {
			if r.Channel == "" {
				whole++
			} else {
				chans++
			}
		}
		if whole+chans == 0 || (whole > 0 && chans > 0) || whole > 1 || chans > 2 {
			t.Fatalf("key k%d: %d whole-receiver rows and %d channel rows; want one kind only", i, whole, chans)
		}
	}
}

func chanMsg(key, receiver, channel string) OutboxMessage {
	m := msg(key, receiver)
	m.Channel = channel
	return m
}

// One row per (message, receiver, channel): the channels of one message
// are enqueued, claimed and marked independently; (key, channel) is the
// idempotency key, and a whole-receiver row (channel ”, from before the
// upgrade) and channel rows of one key never coexist.
func testOutboxChannels(t *testing.T, h harness) {
	ctx := t.Context()
	s := openT(t, h.fresh(t))
	for _, tc := range []struct {
		name string
		msgs []OutboxMessage
		want int
	}{
		{"two channels of one message", []OutboxMessage{chanMsg("m1", "ops", "slack"), chanMsg("m1", "ops", "email")}, 2},
		{"re-enqueue is idempotent", []OutboxMessage{chanMsg("m1", "ops", "email"), chanMsg("m1", "ops", "slack")}, 0},
		{"a new channel of a known message", []OutboxMessage{chanMsg("m1", "ops", "pagerduty")}, 1},
		{"whole receiver after its channels", []OutboxMessage{chanMsg("m1", "ops", "")}, 0},
		{"whole-receiver row (pre-upgrade)", []OutboxMessage{chanMsg("m2", "ops", "")}, 1},
		{"channels after a whole-receiver row", []OutboxMessage{chanMsg("m2", "ops", "slack"), chanMsg("m2", "ops", "email")}, 0},
		{"whole receiver again", []OutboxMessage{chanMsg("m2", "ops", "")}, 0},
		{"duplicates in one batch", []OutboxMessage{chanMsg("m3", "ops", "slack"), chanMsg("m3", "ops", "slack")}, 1},
	} {
		if n, err := s.EnqueueNotifications(ctx, t0, tc.msgs...); err != nil || n != tc.want {
			t.Errorf("%s: inserted %d, %v; want %d", tc.name, n, err, tc.want)
		}
	}
	channels := func(f OutboxFilter) string {
		t.Helper()
		l, err := s.ListNotifications(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, m := range l {
			out = append(out, m.Key+"/"+m.Channel)
		}
		return fmt.Sprint(out)
	}
	for _, tc := range []struct {
		f    OutboxFilter
		want string
	}{
		{OutboxFilter{Key: "m1"}, "[m1/pagerduty m1/email m1/slack]"},
		{OutboxFilter{Key: "m2"}, "[m2/]"},
		{OutboxFilter{Channel: "slack"}, "[m3/slack m1/slack]"},
		{OutboxFilter{Key: "m1", Channel: "email"}, "[m1/email]"},
	} {
		if got := channels(tc.f); got != tc.want {
			t.Errorf("list %+v = %s, want %s", tc.f, got, tc.want)
		}
	}
	if m, err := s.GetNotification(ctx, "m1"); err != nil || m.Channel != "slack" {
		t.Fatalf("get m1 = %+v, %v; want the first enqueued row (slack)", m, err)
	}

	claimed, err := s.ClaimNotifications(ctx, "w1", t0, time.Minute, 10)
	if err != nil || len(claimed) != 5 {
		t.Fatalf("claim = %+v, %v; want 5 rows", claimed, err)
	}
	byCh := map[string]OutboxMessage{}
	for _, m := range claimed {
		byCh[m.Key+"/"+m.Channel] = m
	}
	slack, email := byCh["m1/slack"], byCh["m1/email"]
	if slack.ID == 0 || email.ID == 0 || slack.ID == email.ID || slack.Receiver != "ops" || string(slack.Payload) != `{"k":"m1"}` {
		t.Fatalf("claimed %+v", byCh)
	}
	if err := s.MarkNotificationSent(ctx, slack.ID, "w1", t0); err != nil {
		t.Fatal(err)
	}
	if err := s.RetryNotification(ctx, email.ID, "w1", t0.Add(time.Minute), "SMTP 451", t0); err != nil {
		t.Fatal(err)
	}
	if err := s.FailNotification(ctx, byCh["m1/pagerduty"].ID, "w1", "HTTP 400", t0); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"m2/", "m3/slack"} {
		if err := s.MarkNotificationSent(ctx, byCh[k].ID, "w1", t0); err != nil {
			t.Fatal(k, err)
		}
	}
	for _, tc := range []struct {
		ch     string
		status OutboxStatus
	}{{"slack", OutboxSent}, {"email", OutboxPending}, {"pagerduty", OutboxFailed}} {
		l, err := s.ListNotifications(ctx, OutboxFilter{Key: "m1", Channel: tc.ch})
		if err != nil || len(l) != 1 || l[0].Status != tc.status {
			t.Errorf("m1/%s = %+v, %v; want %s", tc.ch, l, err, tc.status)
		}
	}
	// Only the retried channel comes back.
	again, err := s.ClaimNotifications(ctx, "w2", t0.Add(2*time.Minute), time.Minute, 10)
	if err != nil || len(again) != 1 || again[0].Key != "m1" || again[0].Channel != "email" || again[0].Attempts != 2 {
		t.Fatalf("reclaim = %+v, %v; want m1/email only", again, err)
	}

	// CommitNotification enqueues the channel rows with the state.
	st := NotifyState{Receiver: "ops", GroupKey: "g", State: json.RawMessage(`{}`)}
	if _, err := s.CommitNotification(ctx, st, t0, chanMsg("g1", "ops", "slack"), chanMsg("g1", "ops", "email")); err != nil {
		t.Fatal(err)
	}
	if got := channels(OutboxFilter{Key: "g1"}); got != "[g1/email g1/slack]" {
		t.Fatalf("committed rows = %s", got)
	}
}

// Rows written before migration 00005 survive it as whole-receiver rows
// (channel ”), and the same key is not enqueued again per channel.
func testOutboxUpgrade(t *testing.T, h harness) {
	ctx := t.Context()
	cfg := h.fresh(t)
	p, db := migrationProvider(t, h, cfg)
	if _, err := p.UpTo(ctx, 4); err != nil {
		t.Fatal(err)
	}
	q := (&sqlStore{pg: h.driver == DriverPostgres}).q
	if _, err := db.ExecContext(ctx, q(`INSERT INTO notification_outbox
		(idem_key, receiver, group_key, kind, payload, status, next_attempt_at, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?)`), "old", "ops", "g", "group", `{"k":"old"}`, us(t0), us(t0), us(t0)); err != nil {
		t.Fatal(err)
	}
	if h.driver == DriverSQLite {
		_ = db.Close() // one process owns the file
	}

	s := openT(t, cfg)
	m, err := s.GetNotification(ctx, "old")
	if err != nil || m.Channel != "" || m.Status != OutboxPending || m.Receiver != "ops" || string(m.Payload) != `{"k":"old"}` {
		t.Fatalf("migrated row = %+v, %v", m, err)
	}
	if n, err := s.EnqueueNotifications(ctx, t0, chanMsg("old", "ops", "slack"), chanMsg("new", "ops", "slack")); err != nil || n != 1 {
		t.Fatalf("enqueue after upgrade = %d, %v; want only the new key", n, err)
	}
	got, err := s.ClaimNotifications(ctx, "w", t0, time.Minute, 10)
	if err != nil || len(got) != 2 || got[0].Key != "old" || got[0].Channel != "" || got[1].Key != "new" || got[1].Channel != "slack" {
		t.Fatalf("claim after upgrade = %+v, %v", got, err)
	}
}

func testOutboxConcurrentClaim(t *testing.T, h harness) {
	ctx := t.Context()
	s := openT(t, h.fresh(t))
	const total = 60
	var msgs []OutboxMessage
	for i := range total {
		msgs = append(msgs, msg(fmt.Sprintf("m%02d", i), "r"))
	}
	if _, err := s.EnqueueNotifications(ctx, t0, msgs...); err != nil {
		t.Fatal(err)
	}
	var (
		mu   sync.Mutex
		seen = map[string]int{}
		wg   sync.WaitGroup
	)
	for w := range 4 {
		wg.Go(func() {
			owner := fmt.Sprintf("w%d", w)
			for {
				got, err := s.ClaimNotifications(ctx, owner, t0, time.Minute, 7)
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				for _, m := range got {
					mu.Lock()
					seen[m.Key]++
					mu.Unlock()
					if err := s.MarkNotificationSent(ctx, m.ID, owner, t0); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	if len(seen) != total {
		t.Fatalf("claimed %d distinct messages, want %d", len(seen), total)
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("%s claimed %d times", k, n)
		}
	}
}

func testNotifyStates(t *testing.T, h harness) {
	ctx := t.Context()
	s := openT(t, h.fresh(t))
	st := NotifyState{Receiver: "slack", GroupKey: "route0|owner=marketing_ops", State: json.RawMessage(`{"firing":[1]}`)}
	v1, err := s.CommitNotification(ctx, st, t0, msg("k1", "slack"))
	if err != nil || v1.Version != 1 {
		t.Fatalf("commit v1 = %+v, %v", v1, err)
	}
	// A replica that read nothing (version 0) loses, and its message is not
	// enqueued.
	if _, err := s.CommitNotification(ctx, st, t0, msg("k1-dup", "slack")); !errors.Is(err, ErrConflict) {
		t.Fatalf("stale commit: %v, want ErrConflict", err)
	}
	if _, err := s.GetNotification(ctx, "k1-dup"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("losing commit enqueued its message: %v", err)
	}
	v1.State = json.RawMessage(`{"firing":[1,2]}`)
	v2, err := s.CommitNotification(ctx, v1, t0.Add(time.Minute), msg("k2", "slack"))
	if err != nil || v2.Version != 2 {
		t.Fatalf("commit v2 = %+v, %v", v2, err)
	}
	if _, err := s.CommitNotification(ctx, v1, t0.Add(time.Minute), msg("k2b", "slack")); !errors.Is(err, ErrConflict) {
		t.Fatalf("commit at old version: %v", err)
	}
	if _, err := s.CommitNotification(ctx, NotifyState{Receiver: "x", GroupKey: "g", State: json.RawMessage(`nope`)}, t0); err == nil {
		t.Fatal("invalid state accepted")
	}
	if _, err := s.CommitNotification(ctx, NotifyState{Receiver: "pd", GroupKey: "g", State: json.RawMessage(`{}`)}, t0); err != nil {
		t.Fatal(err)
	}
	all, err := s.NotifyStates(ctx, "")
	if err != nil || len(all) != 2 || all[0].Receiver != "pd" || all[1].Version != 2 || !all[1].UpdatedAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("states = %+v, %v", all, err)
	}
	var decoded struct{ Firing []int64 }
	if err := json.Unmarshal(all[1].State, &decoded); err != nil || len(decoded.Firing) != 2 {
		t.Fatalf("state round trip: %s, %v", all[1].State, err)
	}
	if one, _ := s.NotifyStates(ctx, "slack"); len(one) != 1 {
		t.Fatalf("filter by receiver: %+v", one)
	}
	if err := s.DeleteNotifyState(ctx, "slack", v2.GroupKey, 1); !errors.Is(err, ErrConflict) {
		t.Fatalf("delete stale: %v", err)
	}
	if err := s.DeleteNotifyState(ctx, "slack", v2.GroupKey, 2); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteNotifyState(ctx, "slack", v2.GroupKey, 2); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete missing: %v", err)
	}

	// Concurrent committers at the same version: exactly one wins.
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		wins int
	)
	base := NotifyState{Receiver: "race", GroupKey: "g", State: json.RawMessage(`{}`)}
	for i := range 6 {
		wg.Go(func() {
			_, err := s.CommitNotification(ctx, base, t0, msg(fmt.Sprintf("race-%d", i), "race"))
			switch {
			case err == nil:
				mu.Lock()
				wins++
				mu.Unlock()
			case !errors.Is(err, ErrConflict):
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if l, _ := s.ListNotifications(ctx, OutboxFilter{Receiver: "race"}); wins != 1 || len(l) != 1 {
		t.Fatalf("%d winners, %d messages; want exactly one", wins, len(l))
	}
}
