package proxy_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/sfmcwatch/sfmcwatch/internal/proxy"
)

const tokenBody = `{"access_token":"eyJhbGciOiJIUzI1NiJ9.c2VjcmV0dG9rZW4","token_type":"Bearer","expires_in":1079,"scope":"automations_read","soap_instance_url":"https://mc563885gzs27c5t9-63k636ttgm.soap.marketingcloudapis.com/","rest_instance_url":"https://mc563885gzs27c5t9-63k636ttgm.rest.marketingcloudapis.com/"}`

// TestRewriteInstanceURLs: with the option, a token response sends the
// integration's SDK back to the proxy (and changes nothing else); without
// it the response is byte-identical.
func TestRewriteInstanceURLs(t *testing.T) {
	for _, rewrite := range []bool{false, true} {
		r := newRig(t, proxy.Options{RewriteInstanceURLs: rewrite}, false)
		r.up.answer = func(req *http.Request) answer {
			if rewrite && req.Header.Get("Accept-Encoding") != "" {
				t.Errorf("rewriting, but the token request asked for %q", req.Header.Get("Accept-Encoding"))
			}
			return answer{status: 200, body: []byte(tokenBody), header: map[string]string{"Content-Type": "application/json"}}
		}
		resp, body := r.do(t, r.proxySrv.URL, "POST", "/v2/token", map[string]string{"Content-Type": "application/json", "Accept-Encoding": "gzip"},
			[]byte(`{"grant_type":"client_credentials","client_id":"abc","client_secret":"s3cr3t"}`))
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if !rewrite {
			if string(body) != tokenBody || r.up.last().Header.Get("Accept-Encoding") != "gzip" {
				t.Fatalf("without the option the token response changed:\n%s", body)
			}
			continue
		}
		var tok map[string]any
		if err := json.Unmarshal(body, &tok); err != nil {
			t.Fatalf("rewritten body is not JSON: %v\n%s", err, body)
		}
		want := r.proxySrv.URL + "/"
		if tok["rest_instance_url"] != want || tok["soap_instance_url"] != want {
			t.Fatalf("instance URLs %v / %v, want %s", tok["rest_instance_url"], tok["soap_instance_url"], want)
		}
		if tok["access_token"] != "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0dG9rZW4" || tok["expires_in"] != float64(1079) {
			t.Fatalf("other fields changed: %s", body)
		}
		if cl := resp.Header.Get("Content-Length"); cl != "" && cl != itoa(len(body)) {
			t.Fatalf("Content-Length %s for a %d-byte body", cl, len(body))
		}
		// The recorded event never carries the token.
		for _, ev := range r.sink.waitEvents(t, 1) {
			if strings.Contains(string(ev.Body), "c2VjcmV0dG9rZW4") {
				t.Fatalf("token stored in an event: %s", ev.Body)
			}
		}
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
