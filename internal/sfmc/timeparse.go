package sfmc

import (
	"strings"
	"time"
)

// sfmcServerZone is the zone of SFMC timestamps that carry no offset:
// Marketing Cloud servers run on US Central Standard Time without daylight
// saving (UTC-6).
func sfmcServerZone() *time.Location { return serverZone }

var serverZone = time.FixedZone("SFMC-CST", -6*3600)

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
	if t, ok := parseServerTime(s); ok {
		return t
	}
	return parseLayouts(s)
}

// parseLayouts tries every layout in turn.
func parseLayouts(s string) time.Time {
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

// parseServerTime reads the commonest shape, SOAP's zone-less
// "2006-01-02T15:04:05" with an optional fraction, without trying the
// layouts before it (a week of send jobs holds tens of thousands). It gives
// up on anything else, or on an out-of-range field, for parseLayouts.
func parseServerTime(s string) (time.Time, bool) {
	if len(s) < 19 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	num := func(a, b int) int {
		n := 0
		for i := a; i < b; i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return -1
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	year, month, day := num(0, 4), num(5, 7), num(8, 10)
	hour, minute, sec := num(11, 13), num(14, 16), num(17, 19)
	nsec := 0
	if rest := s[19:]; rest != "" {
		if rest[0] != '.' || len(rest) < 2 || len(rest) > 10 {
			return time.Time{}, false
		}
		f := num(20, len(s))
		if f < 0 {
			return time.Time{}, false
		}
		nsec = f
		for range 10 - len(rest) {
			nsec *= 10
		}
	}
	if year < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || sec < 0 || sec > 59 {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, serverZone)
	if t.Day() != day { // the 31st of a 30-day month
		return time.Time{}, false
	}
	return t.UTC(), true
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
