package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// healthz says degraded (still 200) while a notification channel fails.
func TestHealthzDegradedWhileChannelFails(t *testing.T) {
	srv, st, _, _ := setup(t)
	var body map[string]any
	get(t, srv.URL+"/healthz", 200, &body)
	if body["status"] != "ok" {
		t.Fatalf("healthz = %v", body)
	}
	in, _, err := st.OpenOrUpdateIncident(context.Background(), store.IncidentUpsert{Fingerprint: "notify.channel_failed||receiver|ops/slack",
		Rule: "notify.channel_failed", Severity: "error", Family: "none", ResourceType: "receiver", ResourceKey: "ops/slack",
		Title: "Notifications to ops/slack are not delivered", Owner: "infrastructure", Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	body = nil
	get(t, srv.URL+"/healthz", 200, &body)
	probs, _ := body["problems"].([]any)
	if body["status"] != "degraded" || len(probs) != 1 || !strings.Contains(probs[0].(string), "ops/slack") {
		t.Fatalf("healthz = %v", body)
	}
	if _, err := st.ResolveIncident(context.Background(), in.ID, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	body = nil
	get(t, srv.URL+"/healthz", 200, &body)
	if body["status"] != "ok" {
		t.Fatalf("healthz after recovery = %v", body)
	}
}
