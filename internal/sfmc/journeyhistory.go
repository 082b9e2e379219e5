package sfmc

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
)

// JourneyActivity is one activity of a journey definition (GET
// /interaction/v1/interactions/key:{key}?extras=activities): its id, key,
// type and outcomes.
type JourneyActivity struct {
	ID, Key, Name, Type string
	Outcomes            []JourneyOutcome
}

// JourneyOutcome is one outcome (path) of an activity.
type JourneyOutcome struct {
	Key string
	// Next is the key of the activity the path leads to (empty: the path
	// ends the journey).
	Next  string
	Label string
	// Percentage is a random split's declared share (arguments.percentage;
	// 0 when none).
	Percentage int
	// Criteria: the activity's configurationArguments.criteria has an
	// entry for this outcome (a decision's remainder path has none).
	Criteria bool
}

// SplitActivityTypes are the activity types whose outcomes split
// contacts between paths (the activity types of the journey history
// download, upper-cased as the journey definition spells them).
var SplitActivityTypes = map[string]bool{
	"MULTICRITERIADECISION": true, "MULTICRITERIADECISIONV2": true, "MULTICRITERIADECISIONEXTENSION": true,
	"RANDOMSPLIT": true, "ENGAGEMENTDECISION": true, "ENGAGEMENTSPLIT": true, "RESTDECISION": true,
	"EINSTEINENGAGEMENTFREQUENCYSPLIT": true, "ABNTEST": true,
}

// JourneyActivities reads a journey's definition (latest version) by key
// and returns its activities with their outcomes.
func (c *Client) JourneyActivities(ctx context.Context, key string) ([]JourneyActivity, error) {
	var r struct {
		Activities []struct {
			ID       string `json:"id"`
			Key      string `json:"key"`
			Name     string `json:"name"`
			Type     string `json:"type"`
			Outcomes []struct {
				Key       string `json:"key"`
				Next      string `json:"next"`
				Arguments struct {
					Percentage json.Number `json:"percentage"`
				} `json:"arguments"`
				MetaData struct {
					Label *string `json:"label"`
				} `json:"metaData"`
			} `json:"outcomes"`
			ConfigurationArguments struct {
				Criteria map[string]json.RawMessage `json:"criteria"`
			} `json:"configurationArguments"`
		} `json:"activities"`
	}
	if _, err := c.getJSON(ctx, "/interaction/v1/interactions/key:{key}", scopeJourneys,
		"/interaction/v1/interactions/key:"+pathEscape(key), url.Values{"extras": {"activities"}}, &r); err != nil {
		return nil, err
	}
	out := make([]JourneyActivity, 0, len(r.Activities))
	for _, a := range r.Activities {
		ja := JourneyActivity{ID: a.ID, Key: a.Key, Name: a.Name, Type: strings.ToUpper(a.Type)}
		for _, o := range a.Outcomes {
			jo := JourneyOutcome{Key: o.Key, Next: o.Next}
			if o.MetaData.Label != nil {
				jo.Label = *o.MetaData.Label
			}
			if n, err := o.Arguments.Percentage.Float64(); err == nil && n > 0 && n <= 100 {
				jo.Percentage = int(n)
			}
			_, jo.Criteria = a.ConfigurationArguments.Criteria[o.Key]
			ja.Outcomes = append(ja.Outcomes, jo)
		}
		out = append(out, ja)
	}
	return out, nil
}

// journeyHistoryColumns are the only columns the history download asks
// for: which activity, and when. ContactKey (SFMC's default) is never
// requested, so no personal data is transferred.
const journeyHistoryColumns = "ActivityId,TransactionTime"

// JourneyHistoryCounts counts the journey history rows of the given
// activities with a TransactionTime in [start, end), by activity id and by
// bucket (the row time truncated to bucket, UTC), through POST
// /interaction/v1/interactions/journeyhistory/download (format csv,
// columns ActivityId and TransactionTime, header x-direct-pipe: true;
// body start, end, activityIds). Rows are counted while the CSV is read:
// nothing else of a row is kept.
func (c *Client) JourneyHistoryCounts(ctx context.Context, activityIDs []string, start, end time.Time, bucket time.Duration) (map[string]map[time.Time]int64, error) {
	const ep = "/interaction/v1/interactions/journeyhistory/download"
	body, err := json.Marshal(struct {
		Start       string   `json:"start"`
		End         string   `json:"end"`
		ActivityIDs []string `json:"activityIds"`
	}{start.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339), activityIDs})
	if err != nil {
		return nil, err
	}
	q := url.Values{"columns": {journeyHistoryColumns}, "format": {"csv"}}
	resp, err := c.do(ctx, &request{method: http.MethodPost, endpoint: ep, surface: catalog.REST, base: baseREST,
		path: ep + "?" + encodeQuery(q), scope: scopeJourneys, contentType: "application/json",
		header: map[string]string{"x-direct-pipe": "true", "Accept": "text/csv, application/json"},
		body:   func(string) []byte { return body }})
	if err != nil {
		return nil, err
	}
	out, err := countHistoryCSV(resp.body, start, end, bucket)
	if err != nil {
		return nil, &APIError{Tenant: c.tenant.Name, Method: http.MethodPost, Endpoint: ep, Status: resp.status,
			Kind: KindDecode, Message: "unexpected journey history download", Attempts: resp.attempts, Err: errors.New(c.scrub(err.Error()))}
	}
	return out, nil
}

// countHistoryCSV counts rows by ActivityId and TransactionTime bucket.
func countHistoryCSV(b []byte, start, end time.Time, bucket time.Duration) (map[string]map[time.Time]int64, error) {
	out := map[string]map[time.Time]int64{}
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	if len(bytes.TrimSpace(b)) == 0 {
		return out, nil
	}
	r := csv.NewReader(bytes.NewReader(b))
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	head, err := r.Read()
	if err != nil {
		return nil, err
	}
	ai, ti := -1, -1
	for i, h := range head {
		switch strings.ToLower(strings.TrimSpace(h)) {
		case "activityid":
			ai = i
		case "transactiontime":
			ti = i
		}
	}
	if ai < 0 || ti < 0 {
		return nil, errors.New("the CSV header names no ActivityId or TransactionTime column")
	}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if ai >= len(rec) || ti >= len(rec) {
			continue
		}
		at := parseTime(rec[ti])
		if at.IsZero() || at.Before(start) || !at.Before(end) {
			continue
		}
		id := strings.ToLower(strings.TrimSpace(rec[ai]))
		m := out[id]
		if m == nil {
			m = map[time.Time]int64{}
			out[id] = m
		}
		m[at.Truncate(bucket)]++
	}
}
