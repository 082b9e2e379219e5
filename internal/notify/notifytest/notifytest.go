// Package notifytest is the conformance test every HTTP notification
// channel passes: which statuses are retried, that Retry-After is kept, that
// transport failures retry, and that no error text ever contains the
// channel's secrets (webhook token, routing key), even when the receiver
// echoes the request back.
package notifytest

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/notify"
)

// Case describes one channel under test.
type Case struct {
	// New returns the channel configured to deliver to baseURL+path, where
	// path is SecretPath (the token-carrying part of a webhook URL).
	New func(t *testing.T, url string) notify.Notifier
	// SecretPath is appended to the local receiver's URL, e.g.
	// "/services/T0/B0/s3cr3t-token".
	SecretPath string
	// Secrets must never appear in an error (the token, a routing key…).
	Secrets []string
	// Message to send (default: notify.SampleMessage).
	Message *notify.Message
}

// Statuses and whether a failure with that status is retryable; 2xx
// statuses must succeed.
var Statuses = []struct {
	Status int
	Retry  bool
}{
	{200, false}, {202, false}, {204, false},
	{400, false}, {401, false}, {403, false}, {404, false}, {410, false}, {413, false}, {422, false},
	{408, true}, {429, true}, {500, true}, {502, true}, {503, true}, {504, true}, {501, false},
}

// Run runs the conformance test.
func Run(t *testing.T, c Case) {
	t.Helper()
	msg := c.Message
	if msg == nil {
		msg = notify.SampleMessage("conformance", "https://sfmcwatch.example.com", time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	}
	secrets := append([]string{strings.Trim(c.SecretPath, "/")}, c.Secrets...)
	checkSecrets := func(t *testing.T, err error) {
		t.Helper()
		for _, s := range secrets {
			if s != "" && strings.Contains(err.Error(), s) {
				t.Fatalf("error leaks a secret %q: %v", s, err)
			}
		}
		for _, part := range strings.Split(strings.Trim(c.SecretPath, "/"), "/") {
			if len(part) >= 8 && strings.Contains(err.Error(), part) {
				t.Fatalf("error leaks URL path segment %q: %v", part, err)
			}
		}
	}
	for _, tc := range Statuses {
		t.Run(http.StatusText(tc.Status), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				if tc.Status == http.StatusTooManyRequests {
					w.Header().Set("Retry-After", "7")
				}
				w.WriteHeader(tc.Status)
				// A hostile or careless receiver echoes what it got.
				_, _ = io.WriteString(w, "echo "+r.URL.String()+" "+string(body))
			}))
			defer srv.Close()
			n := c.New(t, srv.URL+c.SecretPath)
			err := n.Notify(t.Context(), msg)
			if tc.Status < 300 {
				if err != nil {
					t.Fatalf("status %d: %v", tc.Status, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("status %d: no error", tc.Status)
			}
			if got := notify.IsRetryable(err); got != tc.Retry {
				t.Fatalf("status %d: retryable = %v, want %v (%v)", tc.Status, got, tc.Retry, err)
			}
			var ne *notify.Error
			if !errors.As(err, &ne) || ne.Status != tc.Status {
				t.Fatalf("status %d: error does not carry the status: %v", tc.Status, err)
			}
			if tc.Status == http.StatusTooManyRequests && notify.RetryAfterOf(err) != 7*time.Second {
				t.Fatalf("Retry-After not kept: %v", notify.RetryAfterOf(err))
			}
			checkSecrets(t, err)
		})
	}
	t.Run("ConnectionRefused", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		_ = l.Close()
		err = c.New(t, "http://"+addr+c.SecretPath).Notify(t.Context(), msg)
		if err == nil || !notify.IsRetryable(err) {
			t.Fatalf("connection refused: err = %v, want a retryable error", err)
		}
		checkSecrets(t, err)
	})
	t.Run("Canceled", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done()
		}))
		defer srv.Close()
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		err := c.New(t, srv.URL+c.SecretPath).Notify(ctx, msg)
		if err == nil {
			t.Fatal("canceled context: no error")
		}
		checkSecrets(t, err)
	})
}
