package ens

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeENS is a loopback SFMC speaking the token and ENS set-up routes; like
// the real service it posts the verification to the callback URL while the
// callback is being created.
type fakeENS struct {
	mu        sync.Mutex
	probe     bool // post the verification during creation
	verifyKey string
	verified  bool
	subs      []map[string]any
	srv       *httptest.Server
}

func newFakeENS(t *testing.T, probe bool) *fakeENS {
	f := &fakeENS{probe: probe, verifyKey: "CZwJw4XATH6LK1fPWFeMDkIyVbro6T3ijXK8CrzQe2s="}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v2/token", func(w http.ResponseWriter, r *http.Request) {
		var req map[string]string
		json.NewDecoder(r.Body).Decode(&req)
		if req["client_secret"] != "write-secret" || req["grant_type"] != "client_credentials" {
			w.WriteHeader(401)
			fmt.Fprint(w, `{"error":"invalid_client"}`)
			return
		}
		fmt.Fprintf(w, `{"access_token":"tok-1","token_type":"Bearer","expires_in":1079,"rest_instance_url":"%s/"}`, f.srv.URL)
	})
	auth := func(w http.ResponseWriter, r *http.Request) bool {
		if r.Header.Get("Authorization") != "Bearer tok-1" {
			w.WriteHeader(401)
			fmt.Fprint(w, `{"errorcode":0,"message":"Not Authorized"}`)
			return false
		}
		return true
	}
	mux.HandleFunc("POST /platform/v1/ens-callbacks", func(w http.ResponseWriter, r *http.Request) {
		if !auth(w, r) {
			return
		}
		var req []struct {
			CallbackName string `json:"callbackName"`
			URL          string `json:"url"`
			MaxBatchSize int    `json:"maxBatchSize"`
		}
		if json.NewDecoder(r.Body).Decode(&req) != nil || len(req) != 1 || req[0].MaxBatchSize != 1000 {
			w.WriteHeader(400)
			return
		}
		id := "65b885ab-c2b4-46fe-85d0-d6cb8be8057d"
		if f.probe {
			body, _ := json.Marshal(map[string]string{"callbackId": id, "verificationKey": f.verifyKey})
			resp, err := http.Post(req[0].URL, "application/json", bytes.NewReader(body))
			if err != nil || resp.StatusCode != 200 {
				w.WriteHeader(400)
				fmt.Fprintf(w, `"MCMS_UWH_Runtime_GeneralFailure_probeCallbackLiveness: CallbackId is %s. Could not verify callback url"`, id)
				return
			}
			resp.Body.Close()
		}
		w.WriteHeader(201)
		fmt.Fprintf(w, `[{"callbackName":%q,"callbackId":%q,"url":%q,"signatureKey":%q,"maxBatchSize":1000}]`, req[0].CallbackName, id, req[0].URL, key)
	})
	mux.HandleFunc("POST /platform/v1/ens-verify", func(w http.ResponseWriter, r *http.Request) {
		if !auth(w, r) {
			return
		}
		var req map[string]string
		json.NewDecoder(r.Body).Decode(&req)
		if req["verificationKey"] != f.verifyKey {
			w.WriteHeader(404)
			return
		}
		f.mu.Lock()
		f.verified = true
		f.mu.Unlock()
	})
	mux.HandleFunc("POST /platform/v1/ens-subscriptions", func(w http.ResponseWriter, r *http.Request) {
		if !auth(w, r) {
			return
		}
		var req []map[string]any
		json.NewDecoder(r.Body).Decode(&req)
		f.mu.Lock()
		f.subs = req
		ok := f.verified
		f.mu.Unlock()
		if !ok {
			w.WriteHeader(400)
			return
		}
		w.WriteHeader(201)
		fmt.Fprint(w, `[{"subscriptionId":"d89c87c4-70f8-43d6-be1e-f01dce97fe4c","status":"active"}]`)
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func TestSetupEndToEnd(t *testing.T) {
	e := newEnv(t, nil, 0) // the running receiver with its store
	f := newFakeENS(t, true)
	res, err := Setup(context.Background(), SetupOptions{AuthURL: f.srv.URL, ClientID: "id", ClientSecret: "write-secret",
		URL: e.srv.URL + Path, Cursors: e.st, Filters: []string{"definitionKey=welcome"}, Clock: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	if res.CallbackID == "" || res.SignatureKey != key || !res.Verified || len(res.SubscriptionIDs) != 1 {
		t.Fatalf("result %+v", res)
	}
	types, _ := f.subs[0]["eventCategoryTypes"].([]any)
	if len(types) != len(DefaultEventTypes()) || fmt.Sprint(f.subs[0]["filters"]) != "[definitionKey=welcome]" {
		t.Fatalf("subscription %+v", f.subs)
	}
	// The window is closed again: a late verification is refused.
	v := []byte(`{"callbackId":"x","verificationKey":"y"}`)
	if code, _ := e.post(t, Path, v, ""); code != http.StatusForbidden {
		t.Fatalf("verification after setup: %d", code)
	}
}

func TestSetupFailures(t *testing.T) {
	e := newEnv(t, nil, 0)
	t.Run("bad credentials", func(t *testing.T) {
		f := newFakeENS(t, true)
		_, err := Setup(context.Background(), SetupOptions{AuthURL: f.srv.URL, ClientID: "id", ClientSecret: "wrong",
			URL: e.srv.URL + Path, Cursors: e.st})
		if err == nil || !strings.Contains(err.Error(), "401") || strings.Contains(err.Error(), "wrong") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("receiver unreachable", func(t *testing.T) {
		f := newFakeENS(t, true)
		_, err := Setup(context.Background(), SetupOptions{AuthURL: f.srv.URL, ClientID: "id", ClientSecret: "write-secret",
			URL: "http://127.0.0.1:1/hooks/ens", Cursors: e.st})
		if err == nil || !strings.Contains(err.Error(), "probeCallbackLiveness") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("verification never arrives", func(t *testing.T) {
		f := newFakeENS(t, false)
		now := t0
		res, err := Setup(context.Background(), SetupOptions{AuthURL: f.srv.URL, ClientID: "id", ClientSecret: "write-secret",
			URL: e.srv.URL + Path, Cursors: e.st, VerifyWait: 5 * time.Second, Clock: func() time.Time { return now },
			Sleep: func(context.Context, time.Duration) error { now = now.Add(time.Second); return nil }})
		if err == nil || !strings.Contains(err.Error(), "did not reach") {
			t.Fatalf("err = %v", err)
		}
		if res.SignatureKey != key { // shown once by SFMC: never lost
			t.Fatalf("signature key lost: %+v", res)
		}
	})
}

func TestNotSentClassifiedByStatusCode(t *testing.T) {
	e := newEnv(t, nil, 0)
	b := []byte(`[{"eventCategoryType":"TransactionalSendEvents.EmailNotSent","timestampUTC":1772442000000,"compositeId":"c1","definitionKey":"welcome",
"info":{"to":"jane.doe@example.com","subscriberKey":"jane.doe@example.com","messageKey":"m1","statusCode":"9","statusMessage":"Unsubscribed"}}]`)
	if code, rep := e.post(t, Path, b, Sign([]byte(key), b)); code != 200 || rep.Inserted != 1 {
		t.Fatalf("%d %+v", code, rep)
	}
	ev := e.events(t)[0]
	if ev.Code == "TransactionalSendEvents.EmailNotSent" || ev.Code == "" || ev.Surface != "transactional" || ev.ObjectKey != "welcome" {
		t.Fatalf("event %+v", ev)
	}
	if bytes.Contains(ev.Body, []byte("jane.doe")) || !bytes.Contains(ev.Body, []byte("***@example.com")) {
		t.Fatalf("body not masked: %s", ev.Body)
	}
}
