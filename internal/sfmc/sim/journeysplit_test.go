package sim

import (
	"encoding/csv"
	"strings"
	"testing"
	"time"
)

// splitJourney is a published journey with a decision split.
func splitJourney(t *testing.T, p picks) *journey {
	t.Helper()
	for _, j := range p.t.Journeys {
		if journeyHasSplit(j) && j.BaseStatus == "Published" && j.StopAt.IsZero() && j.RatePerHour >= 5 {
			return j
		}
	}
	t.Fatal("no published split journey in this tenant")
	return nil
}

// historyCounts downloads the journey history of the split's activities
// (columns ActivityId and TransactionTime) and counts rows per activity.
func historyCounts(t *testing.T, h *harness, j *journey, start, end time.Time) map[string]int {
	t.Helper()
	email, wait := SplitPathActivityIDs(j.ID)
	body := `{"start":"` + start.UTC().Format(time.RFC3339) + `","end":"` + end.UTC().Format(time.RFC3339) +
		`","activityIds":["` + SplitActivityID(j.ID) + `","` + email + `","` + wait + `"]}`
	resp, out := h.post("/interaction/v1/interactions/journeyhistory/download?columns=ActivityId,TransactionTime&format=csv",
		"application/json", body, map[string]string{"Authorization": "Bearer " + h.tok, "x-direct-pipe": "true"})
	if resp.StatusCode != 200 {
		t.Fatalf("download: %d %s", resp.StatusCode, out)
	}
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(recs) == 0 || strings.Join(recs[0], ",") != "ActivityId,TransactionTime" {
		t.Fatalf("csv %v %q", err, out[:min(len(out), 200)])
	}
	n := map[string]int{}
	for _, r := range recs[1:] {
		switch r[0] {
		case SplitActivityID(j.ID):
			n["split"]++
		case email:
			n["first"]++
		case wait:
			n["second"]++
		}
	}
	return n
}

func splitFaultCases() []faultCase {
	return []faultCase{
		{FaultJourneySplitSkew, func(t *testing.T, h *harness, p picks) {
			j := splitJourney(t, p)
			// The definition names the split and its paths' next activities.
			d := h.mustJSON("/interaction/v1/interactions/key:" + j.Key + "?extras=activities")
			acts := d["activities"].([]any)
			if a := acts[0].(map[string]any); (a["type"] != "MULTICRITERIADECISION" && a["type"] != "RANDOMSPLIT") || len(a["outcomes"].([]any)) != 2 {
				t.Fatalf("first activity %v", a)
			}
			now := h.sim.Now()
			before := historyCounts(t, h, j, now.Add(-24*time.Hour), now)
			if before["split"] == 0 || before["first"]+before["second"] != before["split"] || before["first"] < before["second"]*9/10 {
				t.Fatalf("healthy split %v (50 or 70 %% first path)", before)
			}
			h.sim.Inject(Fault{Kind: FaultJourneySplitSkew, Target: j.Key})
			h.sim.Clock().Advance(6 * time.Hour)
			after := historyCounts(t, h, j, h.sim.Now().Add(-5*time.Hour), h.sim.Now())
			if after["split"] == 0 || after["first"] != 0 || after["second"] != after["split"] {
				t.Fatalf("skewed split %v: every contact should take the second path", after)
			}
			// Without x-direct-pipe the download is refused, as documented.
			resp, _ := h.post("/interaction/v1/interactions/journeyhistory/download", "application/json", `{}`,
				map[string]string{"Authorization": "Bearer " + h.tok})
			if resp.StatusCode != 400 {
				t.Errorf("without x-direct-pipe: %d", resp.StatusCode)
			}
		}},
	}
}
