package sfmc

import (
	"golang.org/x/time/rate"

	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

const legacyOne = `{"startIndex":0,"itemsPerPage":50,"totalResults":1,"entry":[{"id":"L1","key":"k1","name":"n1","status":"Scheduled","lastRunStatus":"Error"}]}`

// sequence answers the n-th API call with steps[n] (the last step repeats).
func sequence(steps ...http.HandlerFunc) http.HandlerFunc {
	var n atomic.Int64
	return func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1) - 1)
		if i >= len(steps) {
			i = len(steps) - 1
		}
		steps[i](w, r)
	}
}

func status(code int, body string, hdr ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(hdr); i += 2 {
			w.Header().Set(hdr[i], hdr[i+1])
		}
		if strings.HasPrefix(body, "<") {
			writeXML(w, code, body)
			return
		}
		writeJSON(w, code, body)
	}
}

func TestRateLimit50100HonoursRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		name string
		hdr  func() string
		min  time.Duration
	}{
		{"seconds", func() string { return "7" }, 7 * time.Second},
		{"http-date", func() string { return time.Now().Add(9 * time.Second).UTC().Format(http.TimeFormat) }, 8 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				env := newEnv(t, false, nil)
				env.f.setAPI(sequence(
					func(w http.ResponseWriter, r *http.Request) {
						status(429, `{"message":"Rate limit exceeded","errorcode":50100}`, "Retry-After", tc.hdr())(w, r)
					},
					status(200, legacyOne)))
				start := time.Now()
				as, err := env.c.Automations(t.Context())
				if err != nil || len(as) != 1 {
					t.Fatalf("as=%v err=%v", as, err)
				}
				if el := time.Since(start); el < tc.min || el > tc.min+2*time.Second {
					t.Fatalf("waited %s, want about %s", el, tc.min)
				}
				if env.f.calls.Load() != 2 {
					t.Fatalf("calls=%d", env.f.calls.Load())
				}
				if r, n := env.c.Limits(); r >= 1000 || n >= 4 {
					t.Fatalf("limiter not halved: %v %d", r, n)
				}
			})
		})
	}
}

func TestBlocked50200NotRetried(t *testing.T) {
	env := newEnv(t, false, nil)
	env.f.setAPI(status(429, `{"message":"Requests temporarily blocked","errorcode":50200}`))
	_, err := env.c.Automations(t.Context())
	if !IsBlocked(err) || IsTransient(err) || env.f.calls.Load() != 1 {
		t.Fatalf("err=%v calls=%d", err, env.f.calls.Load())
	}
	if !strings.Contains(err.Error(), "blocked") {
		t.Fatalf("error should say blocked: %v", err)
	}
}

func TestREST401RefreshesOnceThenSucceeds(t *testing.T) {
	env := newEnv(t, false, nil)
	env.f.setAPI(sequence(status(401, `{"message":"Not Authorized","errorcode":0}`), status(200, legacyOne)))
	if _, err := env.c.Automations(t.Context()); err != nil {
		t.Fatal(err)
	}
	if env.f.tokens.Load() != 2 || env.f.calls.Load() != 2 {
		t.Fatalf("tokens=%d calls=%d", env.f.tokens.Load(), env.f.calls.Load())
	}
	if a, _ := env.f.lastAuth.Load().(string); a != "Bearer tok-2-abcdefghijkl" {
		t.Fatalf("second call used %q", a)
	}
}

func TestSOAPTokenExpiredRefreshesOnce(t *testing.T) {
	env := newEnv(t, false, nil)
	expired := `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault><faultcode xmlns:q0="urn:x">q0:Security</faultcode><faultstring>Token Expired</faultstring></soap:Fault></soap:Body></soap:Envelope>`
	var tokensSeen []string
	env.f.setAPI(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s := string(b)
		i, j := strings.Index(s, "<fueloauth"), strings.Index(s, "</fueloauth>")
		tokensSeen = append(tokensSeen, s[strings.Index(s[i:], ">")+i+1:j])
		if len(tokensSeen) == 1 {
			writeXML(w, 500, expired)
			return
		}
		writeXML(w, 200, soapOK("DataExtension", `<Results><CustomerKey>de1</CustomerKey></Results>`))
	})
	des, err := env.c.DataExtensions(t.Context(), nil)
	if err != nil || len(des) != 1 {
		t.Fatalf("des=%v err=%v", des, err)
	}
	if env.f.tokens.Load() != 2 || len(tokensSeen) != 2 || tokensSeen[0] == tokensSeen[1] {
		t.Fatalf("tokens=%d seen=%v", env.f.tokens.Load(), tokensSeen)
	}
}

func TestSOAPCode17RetriesWithBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newEnv(t, false, func(_ *Tenant, o *Options) { o.BackoffBase = time.Second; o.BackoffMax = 30 * time.Second })
		env.f.setAPI(sequence(status(500, soapFault17), status(500, soapFault17),
			status(200, soapOK("TriggeredSendSummary", `<Results><CustomerKey>t1</CustomerKey><Sent>5</Sent></Results>`))))
		start := time.Now()
		s, err := env.c.TriggeredSendSummaries(t.Context())
		if err != nil || len(s) != 1 || s[0].Sent != 5 {
			t.Fatalf("s=%v err=%v", s, err)
		}
		// equal jitter: ≥ 0.5 s then ≥ 1 s.
		if el := time.Since(start); el < 1500*time.Millisecond || el > 3*time.Second {
			t.Fatalf("backoff took %s", el)
		}
		if env.f.calls.Load() != 3 {
			t.Fatalf("calls=%d", env.f.calls.Load())
		}
		if r, _ := env.c.Limits(); r > 250 {
			t.Fatalf("limiter should be quartered, is %v", r)
		}
	})
}

func TestLimiterRestoresSlowly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newAdaptiveLimiter(10, 5, 4, nil)
		l.throttle()
		if r, n := l.current(); r != 5 || n != 2 {
			t.Fatalf("after throttle %v %d", r, n)
		}
		l.success()
		if r, _ := l.current(); r != 5 {
			t.Fatalf("restored too fast: %v", r)
		}
		time.Sleep(31 * time.Second)
		l.success()
		if r, n := l.current(); r != 6 || n != 3 {
			t.Fatalf("one step: %v %d", r, n)
		}
		l.success() // within restoreStep: no change
		if r, _ := l.current(); r != 6 {
			t.Fatalf("%v", r)
		}
		for range 10 {
			time.Sleep(restoreStep)
			l.success()
		}
		if r, n := l.current(); r != 10 || n != 4 {
			t.Fatalf("fully restored: %v %d", r, n)
		}
	})
}

func TestLimiterFloorFollowsConfiguredRate(t *testing.T) {
	for _, base := range []rate.Limit{10, 2400} {
		l := newAdaptiveLimiter(base, 5, 4, nil)
		for range 20 {
			l.throttle()
		}
		if r, n := l.current(); r != base/minRateShare || n != 1 {
			t.Errorf("base %v: after 20 throttles rate %v in-flight %d, want %v and 1", base, r, n, base/minRateShare)
		}
	}
}

func TestForbiddenScopeIsClear(t *testing.T) {
	env := newEnv(t, false, func(_ *Tenant, o *Options) {})
	env.f.setAPI(status(403, `{"message":"Insufficient privileges to complete this action.","errorcode":20002,"documentation":""}`))
	_, err := env.c.AuditEvents(t.Context(), time.Time{}, time.Time{}, 1)
	if !IsForbidden(err) || env.f.calls.Load() != 1 {
		t.Fatalf("err=%v calls=%d", err, env.f.calls.Load())
	}
	msg := err.Error()
	for _, want := range []string{"20002", "tracking_events_read", "Insufficient privileges", "not granted"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
}

func TestServerErrorBoundedRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newEnv(t, false, func(_ *Tenant, o *Options) { o.MaxRetries = 3 })
		env.f.setAPI(status(500, `{"message":"Internal Server Error","errorcode":0}`))
		_, err := env.c.Automation(t.Context(), "a")
		var ae *APIError
		if !errors.As(err, &ae) || ae.Kind != KindServer || ae.Attempts != 4 || env.f.calls.Load() != 4 {
			t.Fatalf("err=%v calls=%d", err, env.f.calls.Load())
		}
	})
}

func TestNonRetryableStatuses(t *testing.T) {
	for _, st := range []int{400, 401, 403, 404} {
		env := newEnv(t, false, nil)
		env.f.setAPI(status(st, `{"message":"no","errorcode":10000}`))
		_, err := env.c.Automation(t.Context(), "a")
		want := int64(1)
		if st == 401 {
			want = 2 // one refresh
		}
		if err == nil || env.f.calls.Load() != want {
			t.Errorf("status %d: err=%v calls=%d", st, err, env.f.calls.Load())
		}
	}
}

func TestTimeouts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newEnv(t, false, func(_ *Tenant, o *Options) { o.CallTimeout = 2 * time.Second; o.MaxRetries = 1 })
		env.f.setAPI(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
		start := time.Now()
		_, err := env.c.Automation(t.Context(), "a")
		var ae *APIError
		if !errors.As(err, &ae) || ae.Kind != KindTimeout || ae.Attempts != 2 {
			t.Fatalf("err=%v", err)
		}
		if el := time.Since(start); el < 4*time.Second || el > 5*time.Second {
			t.Fatalf("took %s", el)
		}
		// A caller deadline shorter than the per-call one wins and is reported.
		ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
		defer cancel()
		_, err = env.c.Automation(ctx, "a")
		if !errors.Is(err, context.DeadlineExceeded) || !IsTransient(err) {
			t.Fatalf("want deadline exceeded, got %v", err)
		}
	})
}

func TestRetryAfterBeyondCallReturnsAtOnce(t *testing.T) {
	env := newEnv(t, false, nil)
	env.f.setAPI(status(429, `{"errorcode":50100,"message":"Rate limit exceeded"}`, "Retry-After", "3600"))
	start := time.Now()
	_, err := env.c.Automations(t.Context())
	var ae *APIError
	if !errors.As(err, &ae) || ae.Kind != KindRateLimited || ae.RetryAfter != time.Hour || time.Since(start) > time.Second {
		t.Fatalf("err=%v", err)
	}
}

func TestRetryAfterParsing(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"": 0, "5": 5 * time.Second, "-1": 0, "junk": 0,
		now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
		now.Add(-time.Minute).Format(http.TimeFormat):     0,
	} {
		h := http.Header{}
		h.Set("Retry-After", in)
		if got := retryAfter(h, now); got != want {
			t.Errorf("%q: got %s want %s", in, got, want)
		}
	}
}
