package sim

import (
	"encoding/json"
	"net/http"
	"strings"
)

// The simulator stands in for Salesforce's public Trust status API
// (api.status.salesforce.com, no credentials): GET
// /v1/instances/{key}/status answers {"key", "location", "environment",
// "releaseVersion", "status", "isActive", "Incidents", "Maintenances"},
// "OK" with empty lists unless a trust_incident fault covers the instance.

func (s *Sim) trustRoutes(mux *http.ServeMux, counted func(string, http.HandlerFunc) http.HandlerFunc) {
	mux.HandleFunc("GET /v1/instances/{key}/status", counted("GET /v1/instances/{key}/status", func(w http.ResponseWriter, r *http.Request) {
		key := strings.ToUpper(r.PathValue("key"))
		now := s.clock.Now()
		out := map[string]any{"key": key, "location": "NA", "environment": "production", "releaseVersion": "Winter '27",
			"releaseNumber": "258", "status": "OK", "isActive": true, "Incidents": []any{}, "Maintenances": []any{}}
		var incidents, maints []any
		for _, w := range s.faults.faultsOf(FaultTrustIncident, 0) {
			if !w.contains(now) || !matchObject(w.f.Target, []string{key}) {
				continue
			}
			entry := map[string]any{"id": len(incidents) + len(maints) + 1, "isCore": true, "affectsAll": false,
				"createdAt": w.start.UTC().Format("2006-01-02T15:04:05.000Z")}
			if w.f.param("kind", "incident") == "maintenance" {
				maints = append(maints, entry)
			} else {
				incidents = append(incidents, entry)
			}
		}
		switch {
		case len(incidents) > 0:
			out["status"], out["Incidents"] = "MAJOR_INCIDENT_CORE", incidents
		case len(maints) > 0:
			out["status"] = "MAINTENANCE_CORE"
		}
		if len(maints) > 0 {
			out["Maintenances"] = maints
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	}))
}
