package webhook

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sfmcwatch/sfmcwatch/internal/notify/fit/fittest"
)

// The largest realistic group stays under MaxBytes (1 MiB receivers
// accept); the alerts left out are counted in omitted_alerts and the text.
func TestBodySizeLimit(t *testing.T) {
	for _, n := range []int{1, 70, 2000} {
		m := fittest.Group(t, n)
		if n == 1 {
			m.Alerts[0].Evidence = strings.Repeat(m.Alerts[0].Evidence, 1000)
		}
		body, err := Body(m)
		if err != nil {
			t.Fatal(err)
		}
		if len(body) > MaxBytes {
			t.Fatalf("%d alerts: %d bytes, over %d", n, len(body), MaxBytes)
		}
		var p struct {
			Alerts        []json.RawMessage `json:"alerts"`
			OmittedAlerts int               `json:"omitted_alerts"`
			Title, Text   string
		}
		if err := json.Unmarshal(body, &p); err != nil {
			t.Fatal(err)
		}
		if len(p.Alerts) == 0 || len(p.Alerts)+p.OmittedAlerts != n {
			t.Errorf("%d alerts: %d sent, %d omitted", n, len(p.Alerts), p.OmittedAlerts)
		}
		if p.OmittedAlerts > 0 && !strings.Contains(p.Text, fmt.Sprintf("…and %d more", p.OmittedAlerts)) {
			t.Errorf("%d alerts: text does not count the omitted ones", n)
		}
		if utf8.RuneCountInString(p.Title) >= 120 {
			t.Errorf("title %q", p.Title)
		}
		t.Logf("%d alerts: %d sent, %d bytes", n, len(p.Alerts), len(body))
	}
}
