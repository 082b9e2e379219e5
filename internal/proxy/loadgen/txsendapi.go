package loadgen

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/sfmcwatch/sfmcwatch/internal/sfmc/sim"
)

// TransactionalSendAPI answers the transactional single-recipient send,
// POST /messaging/v1/email/messages/{messageKey} with
// {"definitionKey": …, "recipient": {…}}, in front of the simulator (which
// is read-only): authorised like a read of the same tenant, then 202 with
// SFMC's body {"requestId", "errorcode": 0, "responses": [{"messageKey"}]}
// (shared fixture triggeredsend/transactional-send-accepted.json), or 400
// errorcode 109111 for an unknown definitionKey. The simulator records the
// accepted message (sim.AcceptTransactional): under the
// transactional_swallowed fault it shows up in the not-sent feed. Everything
// else goes to next unchanged.
func TransactionalSendAPI(s *sim.Sim, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		const prefix = "/messaging/v1/email/messages/"
		key := strings.Trim(strings.TrimPrefix(r.URL.Path, prefix), "/")
		if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, prefix) || key == "" || strings.Contains(key, "/") {
			next.ServeHTTP(w, r)
			return
		}
		probe := httptest.NewRequest(http.MethodGet, "/messaging/v1/email/definitions?$pageSize=1", nil).WithContext(r.Context())
		probe.Header = r.Header.Clone()
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, probe)
		if rec.Code != http.StatusOK {
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			_, _ = w.Write(rec.Body.Bytes())
			return
		}
		var body struct {
			DefinitionKey string `json:"definitionKey"`
		}
		b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		_ = json.Unmarshal(b, &body)
		w.Header().Set("Content-Type", "application/json")
		h := sha256.Sum256([]byte("tx/" + key))
		id := hex.EncodeToString(h[:16])
		id = id[:8] + "-" + id[8:12] + "-" + id[12:16] + "-" + id[16:20] + "-" + id[20:32]
		if body.DefinitionKey == "" || !s.AcceptTransactional(body.DefinitionKey, key) {
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(map[string]any{"requestId": id, "errorcode": 109111,
				"message": "MCMS_UTM_Validation_InvalidDefinitionKey: definitionKey is invalid"})
			return
		}
		w.WriteHeader(http.StatusAccepted)
		_ = json.NewEncoder(w).Encode(map[string]any{"requestId": id, "errorcode": 0,
			"responses": []map[string]any{{"messageKey": key}}})
	})
}
