package scan

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/event"
)

var t0 = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

// ev builds a call of integration "crm" to /v1/things at t0+offset.
func ev(offset time.Duration, status int) event.Event {
	return event.Event{TS: t0.Add(offset), Integration: "crm", URL: "https://x.rest.marketingcloudapis.com/v1/things", Endpoint: "/v1/things", Status: status}
}

// scanEvents runs the pipeline over pre-decoded events, one input per
// slice, cut into batches of batchSize events.
func scanEvents(t *testing.T, opts Options, batchSize int, files ...[]event.Event) *Report {
	t.Helper()
	names := make([]string, len(files))
	for i := range files {
		names[i] = fmt.Sprintf("f%d.jsonl", i)
	}
	opts = opts.withDefaults()
	r, err := pipeline(context.Background(), names, opts, func(ctx context.Context, emit func(job) error) error {
		for i, evs := range files {
			for len(evs) > 0 {
				n := min(batchSize, len(evs))
				if err := emit(job{file: i, events: evs[:n]}); err != nil {
					return err
				}
				evs = evs[n:]
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func findPattern(r *Report, fam catalog.Family, status int) *Pattern {
	for i := range r.Patterns {
		if r.Patterns[i].Family == fam && r.Patterns[i].HTTPStatus == status {
			return &r.Patterns[i]
		}
	}
	return nil
}

func TestPersistence(t *testing.T) {
	s, m := time.Second, time.Minute
	cases := []struct {
		name   string
		files  [][]event.Event
		status int
		want   string
		run    int64 // expected longest run
	}{
		{"exactly window", [][]event.Event{{ev(0, 401), ev(15*m, 401)}}, 401, Persistent, 2},
		{"one second below window", [][]event.Event{{ev(0, 401), ev(15*m-s, 401)}}, 401, Intermittent, 2},
		{"success in between breaks window", [][]event.Event{{ev(0, 401), ev(7*m, 200), ev(15*m, 401)}}, 401, Intermittent, 1},
		{"other code in between does not break", [][]event.Event{{ev(0, 401), ev(7*m, 500), ev(8*m, 400), ev(15*m, 401)}}, 401, Persistent, 2},
		{"N-1 consecutive", [][]event.Event{{ev(0, 429), ev(s, 429), ev(2*s, 429), ev(3*s, 429), ev(4*s, 200)}}, 429, Intermittent, 4},
		{"N consecutive", [][]event.Event{{ev(0, 429), ev(s, 429), ev(2*s, 429), ev(3*s, 429), ev(4*s, 429), ev(5*s, 200)}}, 429, Persistent, 5},
		{"N with success in middle", [][]event.Event{{ev(0, 429), ev(s, 429), ev(2*s, 429), ev(3*s, 200), ev(4*s, 429), ev(5*s, 429)}}, 429, Intermittent, 3},
		{"single event", [][]event.Event{{ev(0, 200), ev(s, 500), ev(2*s, 200)}}, 500, Intermittent, 1},
		{"same-second events", [][]event.Event{{ev(0, 503), ev(0, 503), ev(0, 503), ev(0, 503), ev(0, 503)}}, 503, Persistent, 5},
		{"same-second below N", [][]event.Event{{ev(0, 503), ev(0, 503), ev(0, 503), ev(0, 503)}}, 503, Intermittent, 4},
		{"run carries across files", [][]event.Event{{ev(0, 401), ev(s, 401), ev(2*s, 401)}, {ev(3*s, 401), ev(4*s, 401)}}, 401, Persistent, 5},
		{"success in second file breaks", [][]event.Event{{ev(0, 401), ev(s, 401), ev(2*s, 401)}, {ev(3*s, 200), ev(4*s, 401), ev(5*s, 401)}}, 401, Intermittent, 3},
		{"out of order across files spans by min/max", [][]event.Event{{ev(20*m, 504)}, {ev(0, 504)}}, 504, Persistent, 2},
		{"out of order below window", [][]event.Event{{ev(10*m, 504)}, {ev(0, 504)}}, 504, Intermittent, 2},
		{"success of another endpoint does not break", [][]event.Event{{ev(0, 401), func() event.Event {
			e := ev(7*m, 200)
			e.Endpoint = "/v1/other"
			return e
		}(), ev(15*m, 401)}}, 401, Persistent, 2},
		{"success of another integration does not break", [][]event.Event{{ev(0, 401), func() event.Event {
			e := ev(7*m, 200)
			e.Integration = "loader"
			return e
		}(), ev(15*m, 401)}}, 401, Persistent, 2},
		{"persistent run earlier, blips later", [][]event.Event{{ev(0, 500), ev(s, 500), ev(2*s, 500), ev(3*s, 500), ev(4*s, 500), ev(5*s, 200), ev(6*s, 500), ev(7*s, 200)}}, 500, Persistent, 5},
	}
	for _, c := range cases {
		for _, bs := range []int{1, 2, 3, 1000} {
			t.Run(fmt.Sprintf("%s/batch%d", c.name, bs), func(t *testing.T) {
				r := scanEvents(t, Options{Workers: 3}, bs, c.files...)
				p := findPattern(r, catalog.Default().ForStatus(c.status).Family, c.status)
				if p == nil {
					t.Fatalf("no pattern for %d in %+v", c.status, r.Patterns)
				}
				if p.Persistence != c.want {
					t.Errorf("persistence = %s, want %s (longest run %d, span %s)", p.Persistence, c.want, p.LongestRun, p.LongestSpan)
				}
				if p.LongestRun != c.run {
					t.Errorf("longest run = %d, want %d", p.LongestRun, c.run)
				}
			})
		}
	}
}

func TestPersistenceThresholdFlags(t *testing.T) {
	evs := []event.Event{ev(0, 401), ev(time.Minute, 401), ev(2*time.Minute, 200)}
	if p := findPattern(scanEvents(t, Options{Consecutive: 2}, 1, evs), catalog.Auth, 401); p.Persistence != Persistent {
		t.Errorf("consecutive 2: got %s", p.Persistence)
	}
	if p := findPattern(scanEvents(t, Options{Window: time.Minute}, 1, evs), catalog.Auth, 401); p.Persistence != Persistent {
		t.Errorf("window 1m: got %s", p.Persistence)
	}
	if p := findPattern(scanEvents(t, Options{}, 1, evs), catalog.Auth, 401); p.Persistence != Intermittent {
		t.Errorf("defaults: got %s", p.Persistence)
	}
}

func TestSummaryAndRatio(t *testing.T) {
	evs := []event.Event{ev(0, 200), ev(time.Minute, 200), ev(2*time.Minute, 500), ev(3*time.Minute, 200)}
	for _, bs := range []int{1, 3} {
		r := scanEvents(t, Options{}, bs, evs)
		s := r.Summary
		if s.Events != 4 || s.Errors != 1 || s.Lines != 4 || !s.From.Equal(t0) || !s.To.Equal(t0.Add(3*time.Minute)) {
			t.Errorf("summary = %+v", s)
		}
		p := findPattern(r, catalog.Server, 500)
		if p == nil || p.Calls != 4 || p.ErrorRatio != 0.25 || p.Count != 1 {
			t.Fatalf("pattern = %+v", p)
		}
		if r.Families[catalog.Server].Count != 1 || r.Families[catalog.Server].Codes["http:500"] != 1 {
			t.Errorf("families = %+v", r.Families[catalog.Server])
		}
		if r.Timeline.Len() == 0 || len(r.Timeline.Series) != 1 || r.Timeline.Series[0].Family != catalog.Server {
			t.Errorf("timeline = %+v", r.Timeline)
		}
		var sum int64
		for _, c := range r.Timeline.Series[0].Counts {
			sum += c
		}
		if sum != 1 {
			t.Errorf("timeline sum = %d", sum)
		}
	}
}

func TestTimelineCoarsens(t *testing.T) {
	var evs []event.Event
	for i := range 10000 {
		evs = append(evs, ev(time.Duration(i)*time.Hour, 500))
	}
	r := scanEvents(t, Options{}, 997, evs)
	if n := r.Timeline.Len(); n == 0 || n > chartPoints {
		t.Fatalf("timeline has %d buckets", n)
	}
	var sum int64
	for _, c := range r.Timeline.Series[0].Counts {
		sum += c
	}
	if sum != 10000 {
		t.Errorf("timeline sum = %d, want 10000", sum)
	}
}
