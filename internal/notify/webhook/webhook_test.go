package webhook

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/notify"
	"github.com/sfmcwatch/sfmcwatch/internal/notify/notifytest"
)

const key = "whsec-0123456789abcdef"

func newHook(t *testing.T, url string, now func() time.Time) *Notifier {
	n, err := New(Config{URL: config.Secret(url), SigningKey: key, Timeout: config.Duration(5 * time.Second)}, nil, now)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestConformance(t *testing.T) {
	notifytest.Run(t, notifytest.Case{
		New:        func(t *testing.T, url string) notify.Notifier { return newHook(t, url, nil) },
		SecretPath: "/hooks/sfmc?token=TOKENtoken123456", Secrets: []string{key, "TOKENtoken123456"},
	})
}

func TestSignedPayload(t *testing.T) {
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	var (
		body   []byte
		header http.Header
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ = io.ReadAll(r.Body)
		header = r.Header.Clone()
	}))
	defer srv.Close()
	m := notify.SampleMessage("hook", "https://x.example", at)
	if err := newHook(t, srv.URL+"/in", func() time.Time { return at }).Notify(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	sig := header.Get(SignatureHeader)
	if !strings.HasPrefix(sig, "t=1772445600,v1=") {
		t.Fatalf("signature header %q", sig)
	}
	if err := Verify([]byte(key), sig, body, at.Add(time.Minute), 5*time.Minute); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		key  string
		body []byte
		now  time.Time
		want string
	}{
		{"tampered", key, append([]byte(nil), append(body, ' ')...), at, "mismatch"},
		{"wrong key", "other-key-0123456789", body, at, "mismatch"},
		{"replayed", key, body, at.Add(10 * time.Minute), "tolerance"},
	} {
		if err := Verify([]byte(tc.key), sig, tc.body, tc.now, 5*time.Minute); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	if header.Get(IdempotencyHeader) != m.Key {
		t.Errorf("idempotency key %q", header.Get(IdempotencyHeader))
	}
	var p struct {
		Version string
		Kind    string
		Title   string
		Text    string
		Alerts  []notify.Alert
	}
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	if p.Version != "1" || p.Kind != notify.KindTest || len(p.Alerts) != 1 || p.Alerts[0].Owner != "marketing_ops" ||
		!strings.Contains(p.Text, "Why it matters") || !strings.Contains(p.Text, "What we see: Sample") || p.Title == "" {
		t.Fatalf("payload %+v", p)
	}
}

func FuzzVerify(f *testing.F) {
	f.Add("t=1772445600,v1=00", []byte("{}"))
	f.Add("v1=zz,t=", []byte(""))
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		_ = Verify([]byte(key), header, body, time.Unix(1772445600, 0), time.Minute)
	})
}
