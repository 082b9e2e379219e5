package loadgen

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/sfmc/sim"
)

// DemoOptions place the demo's integrations.
type DemoOptions struct {
	// BaseURL is the proxy's address (required).
	BaseURL string
	// Credentials are the simulator's installed package (required).
	Credentials sim.Credentials
	// Start is the story's start (simulated time; required).
	Start time.Time
	// DataExtension is a data extension key the CRM sync and the loader
	// read (required: one of sim.ObjectKeys(mid, "data_extension")).
	DataExtension string
	// TriggeredSend is the definition the web app sends through (default
	// TS_Password_Reset, paused by the story from 70m to 140m).
	TriggeredSend string
	// BadRequestsFrom/Until bound the reporting job's broken deploy
	// (default 60m–100m: 400s).
	BadRequestsFrom, BadRequestsUntil time.Duration
	// SendsFrom/Until bound the web app's password-reset sends (default
	// 70m–140m, while the story pauses TS_Password_Reset). The simulator's
	// Sent counters follow its own model and do not count these sends, so
	// sending while the definition is active could read as not sent.
	SendsFrom, SendsUntil time.Duration
	// HTTPClient (default: 30s timeout).
	HTTPClient *http.Client
}

// Demo returns the four integrations of the demo story, all calling
// through the proxy:
//
//   - crm-sync fetches a token for every run (every 30s) and reads a data
//     extension: after the story's secret rotation (5m–25m) every run is a
//     401 invalid_client on v2/token → api.errors (auth);
//   - order-loader caches its token and reads the same data extension every
//     20s: the story's REST throttling (35m–50m) makes them 429 50100 →
//     api.errors (rate_limit);
//   - reporting reads the transactional not-sent feed every minute; its
//     broken deploy (BadRequestsFrom–Until) sends type=sent → 400 10005 →
//     api.errors (client);
//   - web-app sends password resets through the triggered send every 30s
//     (SendsFrom–Until): SFMC answers 202, but the definition is paused
//     (70m–140m in the story) and nothing is sent →
//     triggered_send.silent_failure (cross-reference). The simulator needs
//     SendAPI in front of it.
func Demo(o DemoOptions) ([]*Integration, error) {
	if o.BaseURL == "" || o.Start.IsZero() || o.DataExtension == "" || o.Credentials.ClientID == "" {
		return nil, errors.New("loadgen: BaseURL, Start, DataExtension and Credentials are required")
	}
	if o.TriggeredSend == "" {
		o.TriggeredSend = "TS_Password_Reset"
	}
	if o.BadRequestsFrom == 0 && o.BadRequestsUntil == 0 {
		o.BadRequestsFrom, o.BadRequestsUntil = 60*time.Minute, 100*time.Minute
	}
	if o.SendsFrom == 0 && o.SendsUntil == 0 {
		o.SendsFrom, o.SendsUntil = 70*time.Minute, 140*time.Minute
	}
	acct := ""
	if o.Credentials.AccountID != 0 {
		acct = strconv.FormatInt(o.Credentials.AccountID, 10)
	}
	rowset := "/data/v1/customobjectdata/key/" + url.PathEscape(o.DataExtension) + "/rowset?$pageSize=50"
	notSent := "/messaging/v1/email/messages/?type=notSent&$pageSize=50"
	base := Options{BaseURL: o.BaseURL, ClientID: o.Credentials.ClientID, ClientSecret: o.Credentials.ClientSecret, AccountID: acct,
		Start: o.Start, HTTPClient: o.HTTPClient}
	specs := []Options{
		{Name: "crm-sync", FreshToken: true, Calls: []Call{{Every: 30 * time.Second, Method: http.MethodGet, Path: rowset}}},
		{Name: "order-loader", Calls: []Call{{Every: 20 * time.Second, Method: http.MethodGet, Path: rowset}}},
		{Name: "reporting", Calls: []Call{
			{Every: time.Minute, Method: http.MethodGet, Path: notSent, Until: o.BadRequestsFrom},
			{Every: time.Minute, Method: http.MethodGet, Path: "/messaging/v1/email/messages/?type=sent&$pageSize=50",
				From: o.BadRequestsFrom, Until: o.BadRequestsUntil},
			{Every: time.Minute, Method: http.MethodGet, Path: notSent, From: o.BadRequestsUntil},
		}},
		{Name: "web-app", Calls: []Call{{Every: 30 * time.Second, Method: http.MethodPost, From: o.SendsFrom, Until: o.SendsUntil,
			Path: "/messaging/v1/messageDefinitionSends/key:" + url.PathEscape(o.TriggeredSend) + "/send",
			Body: []byte(`{"To":{"Address":"reset-request@example.com","SubscriberKey":"demo-subscriber"}}`)}}},
	}
	out := make([]*Integration, 0, len(specs))
	for _, sp := range specs {
		o := base
		o.Name, o.FreshToken, o.Calls = sp.Name, sp.FreshToken, sp.Calls
		g, err := New(o)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, nil
}

// StepAll steps every integration to now.
func StepAll(ctx context.Context, gs []*Integration, now time.Time) (Result, error) {
	var all Result
	for _, g := range gs {
		r, err := g.Step(ctx, now)
		all.Calls += r.Calls
		for k, v := range r.ByStatus {
			if all.ByStatus == nil {
				all.ByStatus = map[int]int{}
			}
			all.ByStatus[k] += v
		}
		if err != nil {
			return all, err
		}
	}
	return all, nil
}
