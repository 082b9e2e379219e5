package demo

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/notify"
	"github.com/sfmcwatch/sfmcwatch/internal/notify/webhook"
)

// demoSigningKey signs the demo webhook's requests (a demo value, not a
// secret of anything real).
const demoSigningKey = "demo-webhook-signing-key-0123"

// alertReceiver is the demo's local webhook: it checks each request's
// signature and counts what the team would have received.
type alertReceiver struct {
	now func() time.Time
	srv *http.Server
	url string

	mu            sync.Mutex
	messages      int
	badSignatures int
	firing        map[int64]bool // incidents announced firing
	resolved      map[int64]int  // resolved notices per incident
	perIncident   map[int64]int  // alerts (firing or resolved) per incident
	groups        map[string]bool
}

func startAlertReceiver(now func() time.Time) (*alertReceiver, error) {
	a := &alertReceiver{now: now, firing: map[int64]bool{}, resolved: map[int64]int{}, perIncident: map[int64]int{}, groups: map[string]bool{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("alert receiver: %w", err)
	}
	a.srv = &http.Server{Handler: http.HandlerFunc(a.serve), ReadHeaderTimeout: 10 * time.Second}
	go a.srv.Serve(ln)
	a.url = "http://" + ln.Addr().String() + "/alerts"
	return a, nil
}

func (a *alertReceiver) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "read", http.StatusBadRequest)
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if webhook.Verify([]byte(demoSigningKey), r.Header.Get(webhook.SignatureHeader), body, a.now(), time.Hour) != nil {
		a.badSignatures++
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var m notify.Message
	if err := json.Unmarshal(body, &m); err != nil {
		http.Error(w, "bad JSON", http.StatusBadRequest)
		return
	}
	a.messages++
	a.groups[m.GroupKey] = true
	for _, al := range m.Alerts {
		a.perIncident[al.IncidentID]++
		if al.Status == notify.StatusResolved {
			a.resolved[al.IncidentID]++
		} else {
			a.firing[al.IncidentID] = true
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *alertReceiver) close() { a.srv.Close() }

// notifications is how many alerts the webhook received about one
// incident.
func (a *alertReceiver) notifications(id int64) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.perIncident[id]
}

// summary says what the webhook received; resolved holds the incidents the
// engine resolved. A resolved notice is owed for every announced incident
// that resolved; children the correlation step kept quiet under their
// cause resolve with it and are counted apart.
func (a *alertReceiver) summary(resolved map[int64]bool) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	once, dup, owed := 0, 0, 0
	for id := range resolved {
		if !a.firing[id] {
			continue
		}
		owed++
		if n := a.resolved[id]; n > 0 {
			once++
			if n > 1 {
				dup++
			}
		}
	}
	quiet := len(resolved) - owed
	return fmt.Sprintf("Alerts: %d signed webhook messages in %d groups (grouped by tenant, owner and family), announcing %d incidents; resolved notices for %d of %d resolved incidents, %d duplicated; %d bad signatures; %d resolved incidents were never announced (children under their cause, or not routed).",
		a.messages, len(a.groups), len(a.firing), once, owed, dup, a.badSignatures, quiet)
}

// alertingYAML routes every alert to the console and the local webhook.
func (a *alertReceiver) alertingYAML() string {
	return `alerting:
  poll_interval: 10s
  route:
    receiver: demo
  receivers:
    - name: demo
      console: {output: stdout}
      webhook: {url: "` + a.url + `", signing_key: "` + demoSigningKey + `"}
`
}

// prefixWriter indents each line written to w (the console receiver's
// lines inside the demo's narrative).
type prefixWriter struct {
	mu     sync.Mutex
	w      io.Writer
	prefix string
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		out.WriteString(p.prefix)
		out.Write(sc.Bytes())
		out.WriteByte('\n')
	}
	if _, err := p.w.Write(out.Bytes()); err != nil {
		return 0, err
	}
	return len(b), nil
}
