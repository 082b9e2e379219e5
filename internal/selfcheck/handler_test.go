package selfcheck

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
)

func post(t *testing.T, h http.Handler, form url.Values) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/selfcheck", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestHandler(t *testing.T) {
	h := Handler(nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/selfcheck", nil))
	body := rec.Body.String()
	if rec.Code != 200 || strings.Count(body, "<fieldset>") != 5 || strings.Contains(body, "<script") || strings.Contains(body, "http://") {
		t.Fatalf("GET: %d\n%s", rec.Code, body)
	}
	form := url.Values{"failed_automations": {"manual"}, "api_errors_logged": {"no"}, "freshness_slas": {"none"},
		"notification_recipients": {"one_person"}, "credential_rotation": {"on_break"}}
	rec = post(t, h, form)
	body = rec.Body.String()
	if rec.Code != 200 || !strings.Contains(body, `Maturity <b>15/100</b>: reactive`) || !strings.Contains(body, `class="risk high"`) || !strings.Contains(body, "client_secret: ${SFMC_CLIENT_SECRET}") {
		t.Fatalf("POST: %d\n%s", rec.Code, body)
	}
	if !strings.Contains(body, `value="manual" required checked`) {
		t.Error("answers are not kept in the form")
	}
	form.Set("download", "1")
	rec = post(t, h, form)
	if rec.Header().Get("Content-Disposition") != `attachment; filename="sfmcwatch.yaml"` {
		t.Fatalf("download headers %v", rec.Header())
	}
	if _, err := config.Parse("sfmcwatch.yaml", rec.Body.Bytes(), env); err != nil {
		t.Errorf("downloaded config invalid: %v", err)
	}
	// Incomplete and hostile input: 422 with the problem, escaped.
	rec = post(t, h, url.Values{"failed_automations": {"<script>x</script>"}})
	if rec.Code != http.StatusUnprocessableEntity || strings.Contains(rec.Body.String(), "<script>x") || !strings.Contains(rec.Body.String(), "not answered") {
		t.Errorf("bad input: %d\n%s", rec.Code, rec.Body.String())
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodDelete, "/selfcheck", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("DELETE: %d", rec.Code)
	}
}
