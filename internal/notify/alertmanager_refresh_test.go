package notify_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/notify"
	"github.com/sfmcwatch/sfmcwatch/internal/notify/alertmanager"
)

// amRecorder keeps, per incident, the endsAt of the last alert an
// Alertmanager would have received, as notify/alertmanager builds it.
type amRecorder struct {
	mu     sync.Mutex
	endsAt map[string]time.Time
	posts  int
	others int
}

func (a *amRecorder) build(r config.Receiver) ([]notify.Channel, error) {
	var out []notify.Channel
	for _, name := range r.Channels() {
		if name != "alertmanager" {
			out = append(out, notify.Channel{Name: name, Notifier: notify.NotifierFunc(func(context.Context, *notify.Message) error {
				a.mu.Lock()
				a.others++
				a.mu.Unlock()
				return nil
			})})
			continue
		}
		out = append(out, notify.Channel{Name: name, Notifier: notify.NotifierFunc(func(_ context.Context, m *notify.Message) error {
			alerts, err := alertmanager.Alerts(m, time.Now())
			if err != nil {
				return err
			}
			a.mu.Lock()
			defer a.mu.Unlock()
			a.posts++
			for _, pa := range alerts {
				a.endsAt[pa.Labels["incident_id"]] = pa.EndsAt
			}
			return nil
		})})
	}
	return out, nil
}

// An incident open for 5 hours stays firing in Alertmanager: at every
// minute its last posted endsAt is in the future, although reminders come
// every 3 h and stop on acknowledge (acknowledged after 40 minutes here).
// The other channel of the receiver is not sent the refreshes.
func TestTimelineAlertmanagerStaysFiring(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := openStore(t, filepath.Join(t.TempDir(), "am.db"))
		cfg, err := config.Parse("t.yaml", []byte(`
alerting:
  receivers:
    - name: am
      alertmanager: {url: "http://127.0.0.1:9093"}
      console: {}
`), nil)
		if err != nil {
			t.Fatal(err)
		}
		rec := &amRecorder{endsAt: map[string]time.Time{}}
		d, err := notify.New(notify.Options{Store: st, Config: config.NewHolder(cfg, config.Loader{}), Build: rec.build, Instance: "t"})
		if err != nil {
			t.Fatal(err)
		}
		in := openIncident(t, st, "token", time.Now())
		id := "1"
		for minute := 0; minute <= 5*60; minute++ {
			d.Step(t.Context())
			if minute == 40 {
				if _, err := st.AcknowledgeIncident(t.Context(), in.ID, "dana", time.Now()); err != nil {
					t.Fatal(err)
				}
			}
			rec.mu.Lock()
			end, ok := rec.endsAt[id]
			rec.mu.Unlock()
			if minute >= 1 && (!ok || !end.After(time.Now())) {
				t.Fatalf("minute %d: Alertmanager would show the open incident resolved (endsAt %v, now %v)", minute, end, time.Now())
			}
			time.Sleep(time.Minute)
		}
		rec.mu.Lock()
		defer rec.mu.Unlock()
		// First notice, ack update, then refreshes every 30 minutes.
		if rec.posts < 10 || rec.posts > 14 {
			t.Fatalf("%d posts to Alertmanager in 5h, want about one per 30 minutes", rec.posts)
		}
		if rec.others != 2 { // first notice and the acknowledgement
			t.Fatalf("the console channel got %d messages, want 2 (refreshes go to Alertmanager only)", rec.others)
		}
	})
}
