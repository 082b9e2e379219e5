package sim

import (
	"encoding/csv"
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// FaultJourneySplitSkew: the journey's decision split sends param share
// (default 0) of its contacts down its first path and the rest down the
// other (a decision whose field changed: everyone takes the remainder).
const FaultJourneySplitSkew Kind = "journey_split_skew"

func init() {
	kinds[FaultJourneySplitSkew] = kindInfo{summary: "a journey's decision split sends (almost) every contact down one path"}
}

// Journeys with a decision split: every third multistep journey. Its
// definition (extras=activities) starts with the split: the first path
// leads to the journey's email (EMAILV2-1), the second to a wait of its
// own (WAITBYDURATION-2), as in the recorded multistep fixture.
func journeyHasSplit(j *journey) bool { return j.DefinitionType == "Multistep" && j.idx%3 == 0 }

// journeyRandomSplit: every other split journey splits at random (50/50)
// instead of by criteria (70 % match).
func journeyRandomSplit(j *journey) bool { return j.idx%6 == 3 }

// journeySplitShare is the first path's usual share.
func journeySplitShare(j *journey) float64 {
	if journeyRandomSplit(j) {
		return 0.5
	}
	return 0.7
}

// SplitActivityID is the id of a journey's split activity (journeys
// with a split only), SplitPathActivityIDs the ids of the activities its
// two paths lead to.
func SplitActivityID(journeyID string) string { return hashGUID(hashString(journeyID), 10) }

// SplitPathActivityIDs: the first path's next activity (the email), the second's (a wait).
func SplitPathActivityIDs(journeyID string) (string, string) {
	return hashGUID(hashString(journeyID), 2), hashGUID(hashString(journeyID), 11)
}

// splitActivities are the split and the second path's wait, prepended
// and appended to the journey's detail activities.
func splitActivities(j *journey) (split, wait jActivity) {
	h := hashString(j.ID)
	split = jActivity{ID: SplitActivityID(j.ID), Key: "MULTICRITERIADECISIONV2-1", Type: "MULTICRITERIADECISION",
		MetaData: map[string]any{"isConfigured": true}}
	if journeyRandomSplit(j) {
		split.Key, split.Type = "RANDOMSPLIT-1", "RANDOMSPLIT"
		split.Outcomes = []jOutcome{
			{Key: hashGUID(h, 12), Next: "EMAILV2-1", Arguments: jArgs{"percentage": 50}, MetaData: map[string]any{"label": "Path 1"}},
			{Key: hashGUID(h, 13), Next: "WAITBYDURATION-2", Arguments: jArgs{"percentage": 50}, MetaData: map[string]any{"label": "Path 2"}},
		}
		split.ConfigurationArguments = map[string]any{}
	} else {
		split.Outcomes = []jOutcome{
			{Key: "default_path_1", Next: "EMAILV2-1", MetaData: map[string]any{"label": "Loyalty member", "criteriaDescription": "LoyaltyTier is not null"}},
			{Key: "remainder_path", Next: "WAITBYDURATION-2", MetaData: map[string]any{"label": nil}},
		}
		split.ConfigurationArguments = map[string]any{"criteria": map[string]any{
			"default_path_1": `<FilterDefinition><ConditionSet Operator="AND" ConditionSetName="Individual Filter Grouping"><Condition IsEphemeralAttribute="true" Key="Event.` +
				j.EventDefKey + `.LoyaltyTier" Operator="IsNotNull" UiMetaData="{}"><Value><![CDATA[]]></Value></Condition></ConditionSet></FilterDefinition>`,
		}, "schemaVersionId": "252"}
	}
	_, waitID := SplitPathActivityIDs(j.ID)
	wait = jActivity{ID: waitID, Key: "WAITBYDURATION-2", Name: "1 day", Type: "WAIT",
		Outcomes:               []jOutcome{{Key: hashGUID(h, 14), MetaData: map[string]any{"invalid": false}}},
		ConfigurationArguments: map[string]any{"waitDuration": 1, "waitUnit": "DAYS"},
		MetaData:               map[string]any{"isConfigured": true},
		Schema:                 jSchema("waitEndDateAttributeDataBound")}
	return split, wait
}

// splitShareAt is the first path's share at t (the fault's share while it
// applies).
func (s *Sim) splitShareAt(t *tenant, j *journey, at time.Time) float64 {
	if w := activeIn(s.faults.windows(FaultJourneySplitSkew, t.MID, j.Key, j.Name, j.ID), at); w != nil {
		if v, err := strconv.ParseFloat(w.f.Params["share"], 64); err == nil && v >= 0 && v <= 1 {
			return v
		}
		return 0
	}
	return journeySplitShare(j)
}

// POST /interaction/v1/interactions/journeyhistory/download?columns=…&format=csv
// (header x-direct-pipe: true). Body: start, end, activityIds,
// definitionIds. Rows: one per contact at the split and at the activity its
// path leads to, an hour's entries spread evenly over the hour.
func (s *Sim) handleJourneyHistory(w http.ResponseWriter, r *http.Request, t *tenant, now time.Time) {
	if !strings.EqualFold(r.Header.Get("x-direct-pipe"), "true") {
		restError(w, http.StatusBadRequest, 10001, "The x-direct-pipe header is required.")
		return
	}
	var body struct {
		Start         string   `json:"start"`
		End           string   `json:"end"`
		ActivityIDs   []string `json:"activityIds"`
		DefinitionIDs []string `json:"definitionIds"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		restError(w, http.StatusBadRequest, 10002, "Invalid request body.")
		return
	}
	start, end := parseSimTime(body.Start), parseSimTime(body.End)
	if end.IsZero() || end.After(now) {
		end = now
	}
	if oldest := now.Add(-30 * 24 * time.Hour); start.Before(oldest) {
		start = oldest
	}
	cols := strings.Split(queryStr(r, "columns"), ",")
	if queryStr(r, "columns") == "" {
		cols = []string{"TransactionTime", "ContactKey", "Status", "DefinitionId", "DefinitionName", "ActivityId", "ActivityName", "ActivityType"}
	}
	want := func(list []string, id string) bool {
		if len(list) == 0 {
			return true
		}
		for _, x := range list {
			if strings.EqualFold(x, id) {
				return true
			}
		}
		return false
	}
	sep := ','
	if strings.EqualFold(queryStr(r, "format"), "tsv") {
		sep = '\t'
	}
	w.Header().Set("Content-Type", "text/csv")
	cw := csv.NewWriter(w)
	cw.Comma = sep
	_ = cw.Write(cols)
	row := make([]string, len(cols))
	for _, j := range t.Journeys {
		if !journeyHasSplit(j) || !want(body.DefinitionIDs, j.ID) {
			continue
		}
		emailID, waitID := SplitPathActivityIDs(j.ID)
		acts := []struct{ id, name, typ string }{
			{SplitActivityID(j.ID), "", "MultiCriteriaDecision"}, {emailID, j.EmailName, "EMAILV2"}, {waitID, "1 day", "Wait"}}
		for h := start.Truncate(time.Hour); h.Before(end); h = h.Add(time.Hour) {
			n := s.enrolled(t, j, h.Add(time.Hour)) - s.enrolled(t, j, h)
			if n <= 0 {
				continue
			}
			first := int64(math.Round(float64(n) * s.splitShareAt(t, j, h.Add(30*time.Minute))))
			for a, act := range acts {
				if !want(body.ActivityIDs, act.id) {
					continue
				}
				rows := n
				switch a {
				case 1:
					rows = first
				case 2:
					rows = n - first
				}
				for i := range rows {
					at := h.Add(time.Duration((float64(i) + 0.5) / float64(rows) * float64(time.Hour)))
					if at.Before(start) || !at.Before(end) {
						continue
					}
					for c, col := range cols {
						switch strings.ToLower(strings.TrimSpace(col)) {
						case "activityid":
							row[c] = act.id
						case "transactiontime":
							row[c] = fmtREST(at)
						case "activitytype":
							row[c] = act.typ
						case "activityname":
							row[c] = act.name
						case "definitionid":
							row[c] = j.ID
						case "definitionname":
							row[c] = j.Name
						case "status":
							row[c] = "Complete"
						case "contactkey":
							row[c] = "sim-" + strconv.FormatInt(int64(h.Unix())+i, 36)
						default:
							row[c] = ""
						}
					}
					_ = cw.Write(row)
				}
			}
		}
	}
	cw.Flush()
}

func parseSimTime(s string) time.Time {
	for _, l := range []string{time.RFC3339Nano, "2006-01-02T15:04:05"} {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}
