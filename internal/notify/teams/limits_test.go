package teams

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sfmcwatch/sfmcwatch/internal/notify/fit"
	"github.com/sfmcwatch/sfmcwatch/internal/notify/fit/fittest"
)

// Teams rejects messages over 28 KB: the largest realistic group (real
// SFMC error text) stays under it, shows as many incidents as fit and
// counts the others in "…and N more".
func TestCardSizeLimit(t *testing.T) {
	for _, n := range []int{1, 7, 20, 70, 200} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			m := fittest.Group(t, n)
			var (
				body []byte
				ua   string
			)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ = io.ReadAll(r.Body)
				ua = r.Header.Get("User-Agent")
				w.WriteHeader(http.StatusAccepted)
			}))
			defer srv.Close()
			if err := newTeams(t, srv.URL+path).Notify(t.Context(), m); err != nil {
				t.Fatal(err)
			}
			if len(body) > 28*1024 {
				t.Fatalf("%d alerts: card is %d bytes, over Teams' 28 KB", n, len(body))
			}
			if ua != fit.UserAgent() || !strings.HasPrefix(ua, "sfmcwatch/") {
				t.Errorf("User-Agent %q", ua)
			}
			var env Envelope
			if err := json.Unmarshal(body, &env); err != nil {
				t.Fatal(err)
			}
			shown := 0
			more := ""
			for _, e := range env.Attachments[0].Content.Body {
				if e.Type == "Container" {
					shown++
				}
				if strings.HasPrefix(e.Text, "…and ") {
					more = e.Text
				}
			}
			if shown == 0 {
				t.Fatal("no incident shown")
			}
			if shown < n && !strings.HasPrefix(more, fmt.Sprintf("…and %d more", n-shown)) {
				t.Errorf("%d of %d shown, more line %q", shown, n, more)
			}
			if shown == n && more != "" {
				t.Errorf("all shown but %q", more)
			}
			if title := env.Attachments[0].Content.Body[0].Text; utf8.RuneCountInString(title) >= 120 || !strings.Contains(title, string([]rune(m.Alerts[0].Title)[:40])) {
				t.Errorf("title %q: want < 120 characters naming the cause", title)
			}
			t.Logf("%d alerts: %d shown, %d bytes", n, shown, len(body))
		})
	}
}
