package loadgen

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/sfmcwatch/sfmcwatch/internal/sfmc/sim"
)

// SendAPI adds the REST triggered send call integrations make
// (POST /messaging/v1/messageDefinitionSends/key:{key}/send, or /{id}/send)
// in front of the simulator's handler, which — read-only like the
// monitor — has no send endpoints. A send is authorised exactly like a
// simulator REST read (the same token check, scopes and request faults:
// a rotated secret, throttling or an outage answer the send the same way)
// and then answered 202 with SFMC's body. What SFMC does with it afterwards
// is the simulator's triggered send model: a paused definition (fault
// triggered_send_inactive) keeps Sent flat, so accepted sends are silently
// not sent. Everything else goes to next unchanged.
func SendAPI(s *sim.Sim, next http.Handler) http.Handler {
	var seq atomic.Uint64
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		const prefix = "/messaging/v1/messageDefinitionSends/"
		if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, prefix) || !strings.HasSuffix(r.URL.Path, "/send") {
			next.ServeHTTP(w, r)
			return
		}
		ref := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, prefix), "/send")
		// Authorise like a read of the same tenant: same token, same faults.
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
		key := strings.TrimPrefix(ref, "key:")
		if !sendTarget(s, key) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			_ = json.NewEncoder(w).Encode(map[string]any{"message": "MCMS_UTM_Runtime_ObjectNotFound: Definition not found", "errorcode": 30003,
				"documentation": "https://developer.salesforce.com/docs/atlas.en-us.mc-apis.meta/mc-apis/error-handling.htm"})
			return
		}
		h := sha256.Sum256([]byte(key + "/" + strconv.FormatUint(seq.Add(1), 10)))
		id := hex.EncodeToString(h[:16])
		id = id[:8] + "-" + id[8:12] + "-" + id[12:16] + "-" + id[16:20] + "-" + id[20:32]
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		_ = json.NewEncoder(w).Encode(map[string]any{"requestId": id,
			"responses": []map[string]any{{"recipientSendId": id, "hasErrors": false, "messages": []string{"Queued"}}}})
	})
}

// sendTarget reports whether any business unit has a triggered send with
// this key (case-insensitive).
func sendTarget(s *sim.Sim, key string) bool {
	for _, mid := range s.MIDs() {
		for _, k := range s.ObjectKeys(mid, "triggered_send") {
			if strings.EqualFold(k, key) {
				return true
			}
		}
	}
	return false
}
