package sfmc

import (
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/sharedfixtures"
)

type fixtureCase struct {
	status int
	header map[string]string
	// token serves the file from the token endpoint instead of the API.
	token bool
	call  func(ctx context.Context, c *Client) (any, error)
	check func(t *testing.T, v any, err error, f *fake)
}

func wantOK(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

func wantKind(t *testing.T, err error, k Kind, code string) *APIError {
	t.Helper()
	ae, ok := err.(*APIError)
	if !ok {
		t.Fatalf("want *APIError kind %s, got %T %v", k, err, err)
	}
	if ae.Kind != k || (code != "" && ae.Code != code) {
		t.Fatalf("want kind %s code %q, got kind %s code %q (%v)", k, code, ae.Kind, ae.Code, err)
	}
	return ae
}

func getAny(path string) func(ctx context.Context, c *Client) (any, error) {
	return func(ctx context.Context, c *Client) (any, error) {
		var v any
		_, err := c.getJSON(ctx, path, "", path, nil, &v)
		return v, err
	}
}

func soapMethod(action string) func(ctx context.Context, c *Client) (any, error) {
	return func(ctx context.Context, c *Client) (any, error) {
		resp, err := c.soapCall(ctx, action, "Automation", scopeAutomations, func(tok string) []byte {
			b, _ := buildEnvelope(tok, struct {
				XMLName struct{} `xml:"PerformRequestMsg"`
			}{})
			return b
		})
		if err != nil {
			return nil, err
		}
		env, derr := decodeSOAP[soapResult](resp.body)
		if derr != nil {
			return nil, derr
		}
		return env.Body.Msg.Results, nil
	}
}

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func fixtureCases() map[string]fixtureCase {
	return map[string]fixtureCase{
		"auth/token-success.json": {token: true,
			call: func(ctx context.Context, c *Client) (any, error) { return c.token(ctx) },
			check: func(t *testing.T, v any, err error, f *fake) {
				wantOK(t, err)
				tok := v.(Token)
				if tok.RestURL != "https://mct0l7nxfq2r988t1kxfy8sc4xxx.rest.marketingcloudapis.com" || !tok.HasScope("automations_read") {
					t.Fatalf("token urls/scopes: %+v", tok)
				}
				if d := time.Until(tok.Expiry); d < 1000*time.Second || d > 1079*time.Second {
					t.Fatalf("expiry in %s", d)
				}
			}},
		"auth/token-401-invalid-client.json": {token: true, status: 401,
			call: func(ctx context.Context, c *Client) (any, error) { return c.Journeys(ctx, JourneyListOptions{}) },
			check: func(t *testing.T, v any, err error, f *fake) {
				wantKind(t, err, KindAuth, "invalid_client")
				if !IsAuth(err) || f.tokens.Load() != 1 || f.calls.Load() != 0 {
					t.Fatalf("tokens=%d calls=%d", f.tokens.Load(), f.calls.Load())
				}
			}},
		"auth/rest-401-not-authorized.json": {status: 401,
			call: func(ctx context.Context, c *Client) (any, error) { return c.Automation(ctx, "x") },
			check: func(t *testing.T, v any, err error, f *fake) {
				wantKind(t, err, KindAuth, "0")
				if f.tokens.Load() != 2 || f.calls.Load() != 2 {
					t.Fatalf("want one refresh: tokens=%d calls=%d", f.tokens.Load(), f.calls.Load())
				}
			}},
		"errors/rest-404-not-found.json": {status: 404,
			call: func(ctx context.Context, c *Client) (any, error) { return c.Automation(ctx, "missing") },
			check: func(t *testing.T, v any, err error, f *fake) {
				ae := wantKind(t, err, KindNotFound, "404")
				if !IsNotFound(err) || ae.Attempts != 1 || ae.Endpoint != "/automation/v1/automations/{id}" {
					t.Fatalf("%+v", ae)
				}
			}},
		"errors/rest-429-rate-limit-50100.json": {status: 429, header: map[string]string{"Retry-After": "5"},
			call: func(ctx context.Context, c *Client) (any, error) { return c.Automations(ctx) },
			check: func(t *testing.T, v any, err error, f *fake) {
				ae := wantKind(t, err, KindRateLimited, "50100")
				if !IsRateLimited(err) || ae.RetryAfter != 5*time.Second || !IsTransient(err) {
					t.Fatalf("%+v", ae)
				}
			}},
		"errors/soap-create-error-12014.xml": {call: soapMethod("Create"),
			check: func(t *testing.T, v any, err error, f *fake) { wantKind(t, err, KindBody, "12014") }},
		"errors/soap-fault-server-unplanned-outage.xml": {status: 500,
			call: func(ctx context.Context, c *Client) (any, error) { return c.DataExtensions(ctx, nil) },
			check: func(t *testing.T, v any, err error, f *fake) {
				ae := wantKind(t, err, KindServer, "2")
				if ae.Attempts != 3 || f.calls.Load() != 3 {
					t.Fatalf("want bounded retries (3 attempts), got %d", ae.Attempts)
				}
			}},
		"errors/soap-fault-token-expired.xml": {status: 500,
			call: func(ctx context.Context, c *Client) (any, error) { return c.DataExtensions(ctx, nil) },
			check: func(t *testing.T, v any, err error, f *fake) {
				wantKind(t, err, KindAuth, "Security")
				if f.tokens.Load() != 2 || f.calls.Load() != 2 {
					t.Fatalf("want one refresh: tokens=%d calls=%d", f.tokens.Load(), f.calls.Load())
				}
			}},
		"errors/soap-retrieve-empty-ok.xml": {
			call: func(ctx context.Context, c *Client) (any, error) { return c.DataExtensions(ctx, nil) },
			check: func(t *testing.T, v any, err error, f *fake) {
				wantOK(t, err)
				if n := len(v.([]DataExtension)); n != 0 {
					t.Fatalf("want empty, got %d", n)
				}
			}},
		"errors/soap-retrieve-moredataavailable.xml": {
			call: func(ctx context.Context, c *Client) (any, error) { return c.DataExtensions(ctx, nil) },
			check: func(t *testing.T, v any, err error, f *fake) {
				wantOK(t, err)
				des := v.([]DataExtension)
				if len(des) != 1 || des[0].Key != "DC91A414-6240-48BC-BB89-7F3910D41580" || f.calls.Load() != 2 {
					t.Fatalf("des=%+v calls=%d", des, f.calls.Load())
				}
			}},
		"automation/legacy-bulk-definitions.json": {
			call: func(ctx context.Context, c *Client) (any, error) { return c.Automations(ctx) },
			check: func(t *testing.T, v any, err error, f *fake) {
				wantOK(t, err)
				as := v.([]Automation)
				if len(as) != 4 || as[0].LastRunStatus != "Complete" || as[0].Status != AutomationScheduled ||
					!as[0].LastRunTime.Equal(ts("2024-11-07T22:15:19.057Z")) || len(as[0].Processes) != 2 || f.calls.Load() != 1 {
					t.Fatalf("%+v", as[0])
				}
			}},
		"automation/legacy-definition-paused.json": {
			call: func(ctx context.Context, c *Client) (any, error) { return c.LegacyAutomation(ctx, "RkpOcE9q") },
			check: func(t *testing.T, v any, err error, f *fake) {
				wantOK(t, err)
				a := v.(Automation)
				if a.LastPausedBy != "Jörn Berkefeld" || !a.LastPausedDate.Equal(ts("2025-03-14T15:21:57.62Z")) || a.ScheduleStatus != "scheduled" {
					t.Fatalf("%+v", a)
				}
			}},
		"automation/legacy-notifications.json": {
			call: func(ctx context.Context, c *Client) (any, error) { return c.AutomationNotifications(ctx, "id") },
			check: func(t *testing.T, v any, err error, f *fake) {
				wantOK(t, err)
				ns := v.([]AutomationNotification)
				if len(ns) != 2 || ns[1].Type != "Error" || ns[1].Address != "error@test.accenture.com" {
					t.Fatalf("%+v", ns)
				}
			}},
		"automation/rest-automation-paused.json": {
			call: func(ctx context.Context, c *Client) (any, error) { return c.Automation(ctx, "08afb0e2") },
			check: func(t *testing.T, v any, err error, f *fake) {
				wantOK(t, err)
				a := v.(Automation)
				if a.Status != AutomationPaused || a.ScheduleStatus != "paused" || len(a.Steps) == 0 || len(a.Steps[0].Activities) < 4 ||
					len(a.Steps[0].Activities[3].TargetDataExtensions) != 1 {
					t.Fatalf("%+v", a)
				}
			}},
		"automation/rest-automation-ready-unscheduled.json": {
			call: func(ctx context.Context, c *Client) (any, error) { return c.Automation(ctx, "x") },
			check: func(t *testing.T, v any, err error, f *fake) {
				wantOK(t, err)
				if a := v.(Automation); a.Status != AutomationReady || a.Type != "unspecified" || a.ScheduleStatus != "none" {
					t.Fatalf("%+v", a)
				}
			}},
		"automation/rest-automation-scheduled-lastrun.json": {
			call: func(ctx context.Context, c *Client) (any, error) { return c.Automation(ctx, "x") },
			check: func(t *testing.T, v any, err error, f *fake) {
				wantOK(t, err)
				a := v.(Automation)
				// 2024-11-08T03:15:20.27 server time (UTC-6).
				if a.Status != AutomationScheduled || a.LastRunInstanceID != "b2bc1d03-04ba-4a01-9e33-0c246f07dd36" ||
					!a.LastRunTime.Equal(ts("2024-11-08T09:15:20.27Z")) {
					t.Fatalf("%+v", a)
				}
			}},
		"automation/soap-automation-perform-ok.xml": {call: soapMethod("Perform"),
			check: func(t *testing.T, v any, err error, f *fake) {
				wantOK(t, err)
				if rs := v.([]soapResult); len(rs) != 1 || rs[0].Result == nil || rs[0].Result.StatusCode != "OK" {
					t.Fatalf("%+v", rs)
				}
			}},
		"automation/soap-automation-retrieve-doc.xml": {
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.RetrieveAutomations(ctx, In("CustomerKey", "aa697ba2-3531-4c26-8669-20594a949145"))
			},
			check: func(t *testing.T, v any, err error, f *fake) {
				wantOK(t, err)
				as := v.([]Automation)
				if len(as) != 1 || as[0].Status != AutomationReady || !as[0].IsActive || as[0].Name != "Example Automation" {
					t.Fatalf("%+v", as)
				}
			}},
		"automation/soap-query-perform-task.xml": {call: soapMethod("Perform"),
			check: func(t *testing.T, v any, err error, f *fake) {
				wantOK(t, err)
				if rs := v.([]soapResult); rs[0].Result.Task == nil || rs[0].Result.Task.ID != "127061082" {
					t.Fatalf("%+v", rs)
				}
			}},
		"automation/soap-schedule-response.xml": {call: soapMethod("Schedule"),
			check: func(t *testing.T, v any, err error, f *fake) {
				wantOK(t, err)
				if rs := v.([]soapResult); rs[0].Result.StatusMessage != "Program scheduled." {
					t.Fatalf("%+v", rs)
				}
			}},
		"journey/eventdefinition-deaudience.json": {
			call: func(ctx context.Context, c *Client) (any, error) { return c.EventDefinition(ctx, "k") },
			check: func(t *testing.T, v any, err error, f *fake) {
				wantOK(t, err)
				if e := v.(EventDefinition); e.DataExtensionID != "ed305df3-6502-ef11-a5c8-5cba2c702db8" || e.AutomationID != "" {
					t.Fatalf("%+v", e)
				}
			}},
		"journey/interaction-audit-all.json": {
			call: func(ctx context.Context, c *Client) (any, error) { return c.JourneyAudit(ctx, "id", "") },
			check: func(t *testing.T, v any, err error, f *fake) {
				wantOK(t, err)
				es := v.([]JourneyAuditEntry)
				if len(es) != 6 || es[0].Action != "Stop" || es[0].User != "Jörn Berkefeld" || es[1].PublishStatus != "PublishCompleted" {
					t.Fatalf("%+v", es)
				}
			}},
		"journey/interaction-multistep.json": {
			call: func(ctx context.Context, c *Client) (any, error) { return c.Journey(ctx, "k") },
			check: func(t *testing.T, v any, err error, f *fake) {
				wantOK(t, err)
				j := v.(Journey)
				if j.Status != JourneyDraft || j.Stats == nil || len(j.EventDefinitionKeys) != 1 {
					t.Fatalf("%+v", j)
				}
			}},
		"journey/interaction-paused.json": {
			call: func(ctx context.Context, c *Client) (any, error) { return c.Journey(ctx, "k") },
			check: func(t *testing.T, v any, err error, f *fake) {
				wantOK(t, err)
				if j := v.(Journey); j.Status != JourneyPaused || j.DefinitionType != "Transactional" {
					t.Fatalf("%+v", j)
				}
			}},
		"journey/interactions-list-published.json": {
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Journeys(ctx, JourneyListOptions{Status: "Published"})
			},
			check: func(t *testing.T, v any, err error, f *fake) {
				wantOK(t, err)
				if js := v.([]Journey); len(js) != 1 || js[0].Status != JourneyPublished || js[0].Stats != nil {
					t.Fatalf("%+v", js)
				}
			}},
		"journey/interactions-list-with-stopped.json": {
			call: func(ctx context.Context, c *Client) (any, error) { return c.Journeys(ctx, JourneyListOptions{}) },
			check: func(t *testing.T, v any, err error, f *fake) {
				wantOK(t, err)
				js := v.([]Journey)
				if len(js) != 5 || js[3].Status != JourneyStopped {
					t.Fatalf("%d journeys: %+v", len(js), js)
				}
			}},
		"journey/interactions-list.json": {
			call: func(ctx context.Context, c *Client) (any, error) { return c.Journeys(ctx, JourneyListOptions{}) },
			check: func(t *testing.T, v any, err error, f *fake) {
				wantOK(t, err)
				if js := v.([]Journey); len(js) != 6 || js[0].Stats == nil || f.calls.Load() != 1 {
					t.Fatalf("%+v", js)
				}
			}},
		"journey/publishasync-response.json": {call: getAny("/interaction/v1/interactions/publishAsync/{id}"),
			check: func(t *testing.T, v any, err error, f *fake) { wantOK(t, err) }},
		"journey/publishstatus-inprocess.json": {
			call: func(ctx context.Context, c *Client) (any, error) { return c.JourneyPublishStatus(ctx, "s") },
			check: func(t *testing.T, v any, err error, f *fake) {
				wantOK(t, err)
				if p := v.(PublishStatus); p.Status != "PublishInProcess" {
					t.Fatalf("%+v", p)
				}
			}},
		"journey/publishstatus-success-warnings.json": {
			call: func(ctx context.Context, c *Client) (any, error) { return c.JourneyPublishStatus(ctx, "s") },
			check: func(t *testing.T, v any, err error, f *fake) {
				wantOK(t, err)
				if p := v.(PublishStatus); len(p.Warnings) != 3 || p.Warnings[0].Code != "121547" || p.Warnings[0].ActivityKey != "WAITBYDURATION-5" {
					t.Fatalf("%+v", p)
				}
			}},
		"journey/publishstatus-success.json": {
			call: func(ctx context.Context, c *Client) (any, error) { return c.JourneyPublishStatus(ctx, "s") },
			check: func(t *testing.T, v any, err error, f *fake) {
				wantOK(t, err)
				if p := v.(PublishStatus); p.Status != "PublishCompleted" || len(p.Errors) != 0 {
					t.Fatalf("%+v", p)
				}
			}},
		"triggeredsend/soap-tsd-retrieve.xml": {
			call: func(ctx context.Context, c *Client) (any, error) { return c.TriggeredSends(ctx, nil) },
			check: func(t *testing.T, v any, err error, f *fake) {
				wantOK(t, err)
				ts := v.([]TriggeredSend)
				if len(ts) != 2 || ts[0].Status != TSNew || ts[0].Type != "Continuous" || ts[0].Key != "testExisting_triggeredSend" {
					t.Fatalf("%+v", ts)
				}
			}},
		"triggeredsend/soap-tss-retrieve.xml": {
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.TriggeredSendSummaries(ctx, "testExisting_triggeredSend")
			},
			check: func(t *testing.T, v any, err error, f *fake) {
				wantOK(t, err)
				if s := v.([]TriggeredSendSummary); len(s) != 1 || s[0].Sent != 10 || s[0].NotSentDueToError != 0 {
					t.Fatalf("%+v", s)
				}
			}},
		"triggeredsend/messagedefinitionsends-async-queued.json": {status: 202,
			call:  getAny("/messaging/v1/messageDefinitionSends/key:{key}/send"),
			check: func(t *testing.T, v any, err error, f *fake) { wantOK(t, err) }},
		"triggeredsend/deliveryrecords-sent.json": {
			call: func(ctx context.Context, c *Client) (any, error) { return c.DeliveryRecord(ctx, "k", "r") },
			check: func(t *testing.T, v any, err error, f *fake) {
				wantOK(t, err)
				if d := v.(DeliveryRecord); d.Status != "Sent" || d.DeliveryTime.IsZero() {
					t.Fatalf("%+v", d)
				}
			}},
		"triggeredsend/deliveryrecords-queued.json": {
			call: func(ctx context.Context, c *Client) (any, error) { return c.DeliveryRecord(ctx, "k", "r") },
			check: func(t *testing.T, v any, err error, f *fake) {
				wantOK(t, err)
				if d := v.(DeliveryRecord); d.Status != "Queued" {
					t.Fatalf("%+v", d)
				}
			}},
		"triggeredsend/transactional-definition.json": {
			call: func(ctx context.Context, c *Client) (any, error) { return c.TransactionalDefinition(ctx, "k") },
			check: func(t *testing.T, v any, err error, f *fake) {
				wantOK(t, err)
				if d := v.(TransactionalDefinition); d.Status != "Active" || d.JourneyKey != "testExisting_temail" {
					t.Fatalf("%+v", d)
				}
			}},
		"triggeredsend/transactional-definitions-list.json": {
			call: func(ctx context.Context, c *Client) (any, error) { return c.TransactionalDefinitions(ctx) },
			check: func(t *testing.T, v any, err error, f *fake) {
				wantOK(t, err)
				if ds := v.([]TransactionalDefinition); len(ds) != 3 || f.calls.Load() != 1 {
					t.Fatalf("%+v", ds)
				}
			}},
		"triggeredsend/transactional-message-queued.json": {
			call: func(ctx context.Context, c *Client) (any, error) { return c.TransactionalMessage(ctx, "m") },
			check: func(t *testing.T, v any, err error, f *fake) {
				wantOK(t, err)
				if m := v.(MessageStatus); m.EventType != "TransactionalSendEvents.EmailQueued" {
					t.Fatalf("%+v", m)
				}
			}},
		"triggeredsend/transactional-message-sent.json": {
			call: func(ctx context.Context, c *Client) (any, error) { return c.TransactionalMessage(ctx, "m") },
			check: func(t *testing.T, v any, err error, f *fake) {
				wantOK(t, err)
				if m := v.(MessageStatus); m.EventType != "TransactionalSendEvents.EmailSent" || m.MessageKey != "bcX0qaEp0USGciEnUJTW0w" {
					t.Fatalf("%+v", m)
				}
			}},
		"triggeredsend/transactional-messages-notsent-list.json": {
			call: func(ctx context.Context, c *Client) (any, error) { return c.TransactionalNotSent(ctx, 35000, 50, 3) },
			check: func(t *testing.T, v any, err error, f *fake) {
				wantOK(t, err)
				p := v.(NotSentPage)
				if len(p.Events) != 1 || p.LastEventID != 35774 || p.Events[0].StatusCode != 24 || p.Events[0].DefinitionKey != "technical_deep_dive_1" {
					t.Fatalf("%+v", p)
				}
			}},
		"triggeredsend/transactional-queue-metrics.json": {
			call: func(ctx context.Context, c *Client) (any, error) { return c.TransactionalQueue(ctx, "k") },
			check: func(t *testing.T, v any, err error, f *fake) {
				wantOK(t, err)
				if q := v.(QueueMetrics); q.Count != 22 || q.Age != 45*time.Second {
					t.Fatalf("%+v", q)
				}
			}},
		"triggeredsend/transactional-send-accepted.json": {status: 202, call: getAny("/messaging/v1/email/messages"),
			check: func(t *testing.T, v any, err error, f *fake) { wantOK(t, err) }},
		"triggeredsend/transactional-send-mixed-errors.json": {status: 202, call: getAny("/messaging/v1/email/messages"),
			check: func(t *testing.T, v any, err error, f *fake) { wantKind(t, err, KindBody, "109001") }},
		"dataextension/async-insert-accepted.json": {status: 202, call: getAny("/data/v1/async/dataextensions/key:{key}/rows"),
			check: func(t *testing.T, v any, err error, f *fake) { wantOK(t, err) }},
		"dataextension/async-insert-object-not-found.json": {call: getAny("/data/v1/async/dataextensions/key:{key}/rows"),
			check: func(t *testing.T, v any, err error, f *fake) { wantKind(t, err, KindBody, "CustomObjectNotFound") }},
		"dataextension/async-status-complete.json": {
			call: func(ctx context.Context, c *Client) (any, error) { return c.AsyncStatus(ctx, "r") },
			check: func(t *testing.T, v any, err error, f *fake) {
				wantOK(t, err)
				if s := v.(AsyncStatus); s.RequestStatus != "Complete" || s.HasErrors || s.CompletionTime.IsZero() {
					t.Fatalf("%+v", s)
				}
			}},
		"dataextension/async-status-not-found.json": {
			call: func(ctx context.Context, c *Client) (any, error) { return c.AsyncStatus(ctx, "r") },
			check: func(t *testing.T, v any, err error, f *fake) {
				wantKind(t, err, KindBody, "AsyncRequestStatusNotFound")
			}},
		"dataextension/hub-dataevents-upsert.json": {call: getAny("/hub/v1/dataevents/key:{key}/rowset"),
			check: func(t *testing.T, v any, err error, f *fake) { wantOK(t, err) }},
		"dataextension/rest-rowset-count.json": {
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.RowCount(ctx, "testExisting_dataExtension")
			},
			check: func(t *testing.T, v any, err error, f *fake) {
				wantOK(t, err)
				if v.(int64) != 0 {
					t.Fatal(v)
				}
			}},
		"dataextension/soap-de-retrieve.xml": {
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.DataExtensions(ctx, Equals("CustomerKey", "testExisting_dataExtension"))
			},
			check: func(t *testing.T, v any, err error, f *fake) {
				wantOK(t, err)
				des := v.([]DataExtension)
				if len(des) != 1 || !des[0].IsSendable || des[0].ModifiedDate.IsZero() || des[0].RetainUntil.IsZero() || des[0].CategoryID != "2" {
					t.Fatalf("%+v", des)
				}
				// Retention as recorded: 6 × unit 5 (Months), all records,
				// DeleteAtEndOfRetentionPeriod true.
				if d := des[0]; d.RetentionPeriodLength != 6 || d.RetentionPeriodUnit != 5 || d.RowBasedRetention || !d.DeleteAtEndOfRetention || d.ResetRetentionOnImport {
					t.Fatalf("retention %+v", d)
				}
			}},
		"dataextension/soap-defield-retrieve.xml": {
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.DataExtensionFields(ctx, "testExisting_dataExtension")
			},
			check: func(t *testing.T, v any, err error, f *fake) {
				wantOK(t, err)
				fs := v.(map[string][]Field)["testExisting_dataExtension"]
				if len(fs) != 6 || fs[0].Ordinal != 0 || fs[5].Ordinal != 5 || SchemaHash(fs) == "" {
					t.Fatalf("%+v", fs)
				}
			}},
		"import/rest-filetransferlocations.json": {
			call: func(ctx context.Context, c *Client) (any, error) { return c.FileLocations(ctx) },
			check: func(t *testing.T, v any, err error, f *fake) {
				wantOK(t, err)
				if ls := v.([]FileLocation); len(ls) != 4 || ls[0].Type != "GcpBlobStorage" {
					t.Fatalf("%+v", ls)
				}
			}},
		"import/rest-filetransfers-list.json": {
			call: func(ctx context.Context, c *Client) (any, error) { return c.FileTransfers(ctx) },
			check: func(t *testing.T, v any, err error, f *fake) {
				wantOK(t, err)
				if fs := v.([]FileTransfer); len(fs) != 1 {
					t.Fatalf("%+v", fs)
				}
			}},
		"import/rest-import-by-id.json": {
			call: func(ctx context.Context, c *Client) (any, error) { return c.ImportDefinition(ctx, "9d16") },
			check: func(t *testing.T, v any, err error, f *fake) {
				wantOK(t, err)
				if d := v.(ImportDefinition); d.Key != "testExisting_importFile" || d.DestinationName != "testExisting_dataExtension" || !d.AllowErrors {
					t.Fatalf("%+v", d)
				}
			}},
		"import/rest-imports-list.json": {
			call: func(ctx context.Context, c *Client) (any, error) { return c.ImportDefinitions(ctx) },
			check: func(t *testing.T, v any, err error, f *fake) {
				wantOK(t, err)
				if ds := v.([]ImportDefinition); len(ds) != 3 {
					t.Fatalf("%+v", ds)
				}
			}},
		"import/soap-importdefinition-retrieve.xml": {
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.RetrieveImportDefinitions(ctx, Equals("CustomerKey", "testExisting_importFile"))
			},
			check: func(t *testing.T, v any, err error, f *fake) {
				wantOK(t, err)
				if ds := v.([]ImportDefinition); len(ds) != 1 || ds[0].ID != "9d16f42c-2260-ed11-b849-48df37d1de8b" {
					t.Fatalf("%+v", ds)
				}
			}},
		"audit/auditevents-doc.json": {
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.AuditEvents(ctx, time.Time{}, time.Time{}, 1)
			},
			check: func(t *testing.T, v any, err error, f *fake) {
				wantOK(t, err)
				if es := v.([]AuditEvent); len(es) != 1 || es[0].ObjectType != "DataExtractActivity" || es[0].Operation != "Start" {
					t.Fatalf("%+v", es)
				}
			}},
		"audit/securityevents-doc.json": {
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.SecurityEvents(ctx, time.Time{}, time.Time{}, 1)
			},
			check: func(t *testing.T, v any, err error, f *fake) {
				wantOK(t, err)
				if es := v.([]SecurityEvent); len(es) != 1 || es[0].EventType != "Login Attempted" || es[0].LoginStatus != "Successful" {
					t.Fatalf("%+v", es)
				}
			}},
		"ens/callback-create-failure.json": {status: 400, call: getAny("/platform/v1/ens-callbacks"),
			check: func(t *testing.T, v any, err error, f *fake) { wantKind(t, err, KindClient, "") }},
		"ens/callback-create-response.json": {status: 201, call: getAny("/platform/v1/ens-callbacks"),
			check: func(t *testing.T, v any, err error, f *fake) { wantOK(t, err) }},
		"ens/event-email-bounced.json": {call: getAny("/ens"),
			check: func(t *testing.T, v any, err error, f *fake) { wantOK(t, err) }},
		"ens/event-email-sent.json": {call: getAny("/ens"),
			check: func(t *testing.T, v any, err error, f *fake) { wantOK(t, err) }},
		"ens/subscription-create-response.json": {status: 201, call: getAny("/platform/v1/ens-subscriptions"),
			check: func(t *testing.T, v any, err error, f *fake) { wantOK(t, err) }},
		"ens/subscriptions-by-callback.json": {
			call: func(ctx context.Context, c *Client) (any, error) { return c.ENSSubscriptions(ctx, "cb") },
			check: func(t *testing.T, v any, err error, f *fake) {
				wantOK(t, err)
				if ss := v.([]ENSSubscription); len(ss) != 2 || ss[0].Status != "active" {
					t.Fatalf("%+v", ss)
				}
			}},
	}
}

// TestFixtures parses every recorded SFMC response through the client: into
// its typed result or into the right classified error.
func TestFixtures(t *testing.T) {
	dir := sharedfixtures.Fixtures(t)
	cases := fixtureCases()
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if strings.HasPrefix(rel, "wsdl/") || rel == "SOURCES.md" {
			return nil
		}
		files = append(files, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	emptyOK, err := os.ReadFile(filepath.Join(dir, "errors/soap-retrieve-empty-ok.xml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, rel := range files {
		tc, ok := cases[rel]
		if !ok {
			t.Errorf("fixture %s has no test case", rel)
			continue
		}
		t.Run(rel, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join(dir, rel))
			if err != nil {
				t.Fatal(err)
			}
			status := tc.status
			if status == 0 {
				status = 200
			}
			env := newEnv(t, true, func(_ *Tenant, o *Options) { o.MaxRetries = 2; o.MaxRetryAfter = time.Second })
			serve := func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				ct := "application/json"
				if strings.HasSuffix(rel, ".xml") {
					ct = "text/xml; charset=utf-8"
				}
				w.Header().Set("Content-Type", ct)
				w.WriteHeader(status)
				w.Write(body)
			}
			if tc.token {
				env.f.tokenFn = serve
				env.f.setAPI(func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, `{"items":[]}`) })
			} else {
				env.f.setAPI(func(w http.ResponseWriter, r *http.Request) {
					if r.Method == http.MethodPost {
						b, _ := io.ReadAll(r.Body)
						if strings.Contains(string(b), "<ContinueRequest>") {
							writeXML(w, 200, string(emptyOK))
							return
						}
						if r.Header.Get("SOAPAction") == "" {
							t.Errorf("SOAP request without SOAPAction")
						}
					}
					serve(w, r)
				})
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			v, err := tc.call(ctx, env.c)
			tc.check(t, v, err, env.f)
			if err != nil && strings.Contains(err.Error(), testSecret) {
				t.Fatalf("secret leaked: %v", err)
			}
		})
	}
	for name := range cases {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("case for missing fixture %s", name)
		}
	}
	_ = json.Valid
}
