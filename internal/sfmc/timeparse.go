package sfmc

import (
	"strings"
	"time"
)

// sfmcServerZone is the zone of SFMC timestamps that carry no offset:
// Marketing Cloud servers run on US Central Standard Time without daylight
// saving (UTC-6).
func sfmcServerZone() *time.Location { return time.FixedZone("SFMC-CST", -6*3600) }

var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02",
	"1/2/2006 3:04:05 PM",
}

// parseTime parses the timestamp shapes SFMC returns. The .NET zero value
// 0001-01-01T00:00:00 and unparseable text yield the zero time.
func parseTime(s string) time.Time {
	s = strings.TrimSpace(s)
	if s == "" || strings.HasPrefix(s, "0001-01-01") {
		return time.Time{}
	}
	for i, l := range timeLayouts {
		var t time.Time
		var err error
		if i < 2 {
			t, err = time.Parse(l, s)
		} else {
			t, err = time.ParseInLocation(l, s, sfmcServerZone())
		}
		if err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// jsonTime is a time decoded from an SFMC JSON string.
type jsonTime struct{ time.Time }

func (t *jsonTime) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "null" {
		return nil
	}
	t.Time = parseTime(s)
	return nil
}
