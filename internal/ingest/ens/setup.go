package ens

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/redact"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// DefaultEventTypes are the event types Setup subscribes to: Automation
// Studio instance events and transactional send outcomes.
func DefaultEventTypes() []string {
	return []string{
		"SendEvents.AutomationInstanceStarted", "SendEvents.AutomationInstanceCompleted",
		"SendEvents.AutomationInstanceErrored", "SendEvents.AutomationInstanceStopped",
		"SendEvents.AutomationInstanceSkipped",
		"TransactionalSendEvents.EmailSent", "TransactionalSendEvents.EmailNotSent",
		"TransactionalSendEvents.EmailBounced",
	}
}

// SetupOptions configure Setup. This is sfmcwatch's only write to SFMC:
// the installed package needs the event_notification_callback_create and
// event_notification_subscription_create scopes (plus verify).
type SetupOptions struct {
	// AuthURL is the tenant's auth base (…/v2/token is appended); RestURL,
	// when set, overrides the token's rest_instance_url.
	AuthURL, RestURL string
	ClientID         string
	ClientSecret     string
	AccountID        string
	// CallbackName names the callback (default "sfmcwatch").
	CallbackName string
	// URL is the public HTTPS URL of /hooks/ens on the running serve.
	URL string
	// MaxBatchSize of notifications per POST (default 1000).
	MaxBatchSize int
	// EventTypes to subscribe to (default DefaultEventTypes).
	EventTypes []string
	// Filters of the subscription (e.g. "definitionKey=welcome"), optional.
	Filters []string
	// Cursors is the store the running serve uses: Setup opens the
	// verification window there and reads the verification key back.
	Cursors Cursors
	// VerifyWait bounds the wait for the verification to arrive (default 60 s).
	VerifyWait time.Duration
	HTTPClient *http.Client
	Clock      func() time.Time
	// Sleep waits between polls of the verification cursor (default: a timer).
	Sleep  func(ctx context.Context, d time.Duration) error
	Logger *slog.Logger
}

// SetupResult is what Setup created. SignatureKey is returned by SFMC only
// once, at creation: keep it (signature_key_file) even when Setup fails
// later.
type SetupResult struct {
	CallbackID      string
	SignatureKey    string
	Verified        bool
	SubscriptionIDs []string
}

// Setup creates the callback, waits for its verification to reach the
// running receiver, confirms it and subscribes to the event types.
func Setup(ctx context.Context, o SetupOptions) (SetupResult, error) {
	var res SetupResult
	if o.URL == "" || !strings.HasPrefix(o.URL, "https://") && !strings.HasPrefix(o.URL, "http://") {
		return res, fmt.Errorf("ens setup: callback URL %q: want the public https URL of /hooks/ens", o.URL)
	}
	if o.Cursors == nil || o.AuthURL == "" || o.ClientID == "" || o.ClientSecret == "" {
		return res, errors.New("ens setup: store, auth URL and credentials are required")
	}
	if o.CallbackName == "" {
		o.CallbackName = "sfmcwatch"
	}
	if o.MaxBatchSize <= 0 {
		o.MaxBatchSize = 1000
	}
	if len(o.EventTypes) == 0 {
		o.EventTypes = DefaultEventTypes()
	}
	if o.VerifyWait <= 0 {
		o.VerifyWait = time.Minute
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 60 * time.Second}
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = func(ctx context.Context, d time.Duration) error {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-t.C:
				return nil
			case <-ctx.Done():
				return context.Cause(ctx)
			}
		}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	c := &setupClient{o: o}

	// Open the window before SFMC posts the verification.
	deadline := o.Clock().Add(o.VerifyWait + 30*time.Second)
	if err := o.Cursors.SetCursor(ctx, CursorSetupUntil, deadline.UTC().Format(time.RFC3339), o.Clock()); err != nil {
		return res, fmt.Errorf("ens setup: open the verification window: %w", err)
	}
	defer func() {
		if err := o.Cursors.SetCursor(context.WithoutCancel(ctx), CursorSetupUntil, "", o.Clock()); err != nil {
			o.Logger.Warn("ens setup: could not close the verification window", "error", err)
		}
	}()
	if err := c.token(ctx); err != nil {
		return res, err
	}

	var created []struct {
		CallbackID   string `json:"callbackId"`
		SignatureKey string `json:"signatureKey"`
	}
	if err := c.post(ctx, "/platform/v1/ens-callbacks", []map[string]any{{
		"callbackName": o.CallbackName, "url": o.URL, "maxBatchSize": o.MaxBatchSize,
	}}, &created); err != nil {
		return res, fmt.Errorf("ens setup: create callback: %w", err)
	}
	if len(created) != 1 || created[0].CallbackID == "" || created[0].SignatureKey == "" {
		return res, errors.New("ens setup: create callback: response has no callbackId and signatureKey")
	}
	res.CallbackID, res.SignatureKey = created[0].CallbackID, created[0].SignatureKey
	o.Logger.Info("ENS callback created", "callback_id", res.CallbackID)

	key, err := c.waitVerification(ctx, res.CallbackID)
	if err != nil {
		return res, err
	}
	if err := c.post(ctx, "/platform/v1/ens-verify", map[string]string{"callbackId": res.CallbackID, "verificationKey": key}, nil); err != nil {
		return res, fmt.Errorf("ens setup: verify callback %s: %w", res.CallbackID, err)
	}
	res.Verified = true
	_ = o.Cursors.SetCursor(ctx, CursorVerification+res.CallbackID, "used", o.Clock())

	sub := map[string]any{"callbackId": res.CallbackID, "subscriptionName": o.CallbackName, "eventCategoryTypes": o.EventTypes}
	if len(o.Filters) > 0 {
		sub["filters"] = o.Filters
	}
	var subs []struct {
		SubscriptionID string `json:"subscriptionId"`
		Status         string `json:"status"`
	}
	if err := c.post(ctx, "/platform/v1/ens-subscriptions", []map[string]any{sub}, &subs); err != nil {
		return res, fmt.Errorf("ens setup: subscribe callback %s: %w", res.CallbackID, err)
	}
	for _, s := range subs {
		if s.SubscriptionID != "" {
			res.SubscriptionIDs = append(res.SubscriptionIDs, s.SubscriptionID)
		}
	}
	if len(res.SubscriptionIDs) == 0 {
		return res, errors.New("ens setup: subscribe: response has no subscriptionId")
	}
	return res, nil
}

type setupClient struct {
	o      SetupOptions
	access string
	rest   string
}

func (c *setupClient) waitVerification(ctx context.Context, callbackID string) (string, error) {
	end := c.o.Clock().Add(c.o.VerifyWait)
	for {
		v, err := c.o.Cursors.GetCursor(ctx, CursorVerification+callbackID)
		switch {
		case err == nil && v != "" && v != "used":
			return v, nil
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return "", fmt.Errorf("ens setup: read the verification: %w", err)
		}
		if !c.o.Clock().Before(end) {
			return "", fmt.Errorf("ens setup: callback %s created, but its verification did not reach the receiver at %s within %s: "+
				"is `sfmcwatch serve` running with this store and reachable at that URL over HTTPS?", callbackID, c.o.URL, c.o.VerifyWait)
		}
		if err := c.o.Sleep(ctx, time.Second); err != nil {
			return "", err
		}
	}
}

func (c *setupClient) token(ctx context.Context) error {
	body, _ := json.Marshal(map[string]string{"grant_type": "client_credentials", "client_id": c.o.ClientID,
		"client_secret": c.o.ClientSecret, "account_id": c.o.AccountID})
	var tr struct {
		AccessToken     string `json:"access_token"`
		RestInstanceURL string `json:"rest_instance_url"`
	}
	if err := c.do(ctx, strings.TrimRight(c.o.AuthURL, "/")+"/v2/token", body, false, &tr); err != nil {
		return fmt.Errorf("ens setup: token: %w", err)
	}
	if tr.AccessToken == "" {
		return errors.New("ens setup: token: response has no access_token")
	}
	c.access = tr.AccessToken
	c.rest = strings.TrimRight(c.o.RestURL, "/")
	if c.rest == "" {
		c.rest = strings.TrimRight(tr.RestInstanceURL, "/")
	}
	if c.rest != "" && !strings.Contains(c.rest, "://") {
		c.rest = "https://" + c.rest
	}
	if c.rest == "" {
		return errors.New("ens setup: no REST URL (token has no rest_instance_url and the tenant sets no rest_url)")
	}
	return nil
}

func (c *setupClient) post(ctx context.Context, path string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return c.do(ctx, c.rest+path, body, true, out)
}

func (c *setupClient) do(ctx context.Context, url string, body []byte, auth bool, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if auth {
		req.Header.Set("Authorization", "Bearer "+c.access)
	}
	resp, err := c.o.HTTPClient.Do(req)
	if err != nil {
		return errors.New(redact.String(err.Error()))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		msg := strings.TrimSpace(string(redact.Bytes(b)))
		if len(msg) > 400 {
			msg = msg[:400] + "…"
		}
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, msg)
	}
	if out == nil || len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("decode response: %w", err)
	}
	return nil
}
