package ingest

import (
	"bytes"
	"math"
	"strconv"
	"time"
)

// parseStatus reads a status from a JSON number or a numeric string. A
// string may carry a reason phrase after the number ("500 Internal Server
// Error"). Integral floats ("500.0", 5e2) are accepted.
func parseStatus(v jval) (int, bool) {
	var b []byte
	switch v.kind {
	case kNumber:
		b = v.raw
	case kString:
		b = bytes.TrimSpace(text(v))
		if i := bytes.IndexByte(b, ' '); i > 0 {
			b = b[:i]
		}
	default:
		return 0, false
	}
	if n, ok := atoi(b); ok {
		return n, true
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1e6 {
		return 0, false
	}
	return int(f), true
}

// atoi parses a short unsigned or negative decimal integer.
func atoi(b []byte) (int, bool) {
	neg := false
	if len(b) > 0 && b[0] == '-' {
		neg, b = true, b[1:]
	}
	if len(b) == 0 || len(b) > 9 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

// parseTSValue reads a timestamp: RFC 3339 (with or without fraction),
// "2006-01-02 15:04:05[.fff]" (UTC unless an offset follows), epoch seconds,
// milliseconds, microseconds or nanoseconds (told apart by magnitude) as a
// number or numeric string, and a few common text layouts. An empty string
// means no timestamp.
func parseTSValue(v jval) (time.Time, bool) {
	switch v.kind {
	case kNumber:
		return parseEpoch(v.raw)
	case kString:
		return parseTS(bytes.TrimSpace(text(v)))
	}
	return time.Time{}, false
}

func parseTS(b []byte) (time.Time, bool) {
	if len(b) == 0 {
		return time.Time{}, true
	}
	if b[0] >= '0' && b[0] <= '9' {
		if t, ok := parseISO(b); ok {
			return t, true
		}
		if t, ok := parseEpoch(b); ok {
			return t, true
		}
	}
	s := string(b)
	for _, layout := range [...]string{time.RFC1123Z, time.RFC1123, "02/Jan/2006:15:04:05 -0700", time.RFC850, time.ANSIC, time.UnixDate, "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// parseISO parses YYYY-MM-DD[T ]hh:mm:ss[.frac][ ][Z|±hh[:]mm|UTC].
func parseISO(b []byte) (time.Time, bool) {
	if len(b) < 19 || b[4] != '-' || b[7] != '-' || b[13] != ':' || b[16] != ':' {
		return time.Time{}, false
	}
	if c := b[10]; c != 'T' && c != 't' && c != ' ' {
		return time.Time{}, false
	}
	num := func(i, n int) int {
		v := 0
		for _, c := range b[i : i+n] {
			if c < '0' || c > '9' {
				return -1
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	year, month, day := num(0, 4), num(5, 2), num(8, 2)
	hour, minute, sec := num(11, 2), num(14, 2), num(17, 2)
	if year < 0 || month < 1 || month > 12 || day < 1 || day > 31 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || sec < 0 || sec > 59 {
		return time.Time{}, false
	}
	i, nsec := 19, 0
	if i < len(b) && (b[i] == '.' || b[i] == ',') {
		i++
		s := i
		scale := 100000000
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			nsec += int(b[i]-'0') * scale
			scale /= 10
			i++
		}
		if i == s {
			return time.Time{}, false
		}
	}
	if i < len(b) && b[i] == ' ' {
		i++
	}
	offset := 0
	switch rest := b[i:]; {
	case len(rest) == 0, string(rest) == "Z", string(rest) == "z", string(rest) == "UTC":
	case rest[0] == '+' || rest[0] == '-':
		var hh, mm int
		switch {
		case len(rest) == 6 && rest[3] == ':':
			hh, mm = num(i+1, 2), num(i+4, 2)
		case len(rest) == 5:
			hh, mm = num(i+1, 2), num(i+3, 2)
		case len(rest) == 3:
			hh, mm = num(i+1, 2), 0
		default:
			return time.Time{}, false
		}
		if hh < 0 || hh > 23 || mm < 0 || mm > 59 {
			return time.Time{}, false
		}
		offset = hh*3600 + mm*60
		if rest[0] == '-' {
			offset = -offset
		}
	default:
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	if t.Day() != day { // 31 April and the like
		return time.Time{}, false
	}
	return t.Add(-time.Duration(offset) * time.Second), true
}

// parseEpoch reads epoch time; the unit follows from the magnitude:
// < 1e11 seconds, < 1e14 milliseconds, < 1e17 microseconds, else
// nanoseconds. Zero means no timestamp.
func parseEpoch(b []byte) (time.Time, bool) {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
		return time.Time{}, false
	}
	if f == 0 {
		return time.Time{}, true
	}
	// Prefer exact integer arithmetic when the text is an integer.
	if n, err := strconv.ParseInt(string(b), 10, 64); err == nil {
		switch {
		case n < 1e11:
			return time.Unix(n, 0).UTC(), true
		case n < 1e14:
			return time.UnixMilli(n).UTC(), true
		case n < 1e17:
			return time.UnixMicro(n).UTC(), true
		default:
			return time.Unix(0, n).UTC(), true
		}
	}
	var ns float64
	switch {
	case f < 1e11:
		ns = f * 1e9
	case f < 1e14:
		ns = f * 1e6
	case f < 1e17:
		ns = f * 1e3
	default:
		ns = f
	}
	if ns > math.MaxInt64 {
		return time.Time{}, false
	}
	sec := math.Floor(ns / 1e9)
	return time.Unix(int64(sec), int64(ns-sec*1e9)).UTC(), true
}

// parseDuration reads a latency: milliseconds (nanoseconds for ECS
// event.duration) as a number or numeric string, or a Go duration string
// ("250ms", "1.5s"). Anything else gives zero.
func parseDuration(v jval) time.Duration {
	var b []byte
	switch v.kind {
	case kNumber:
		b = v.raw
	case kString:
		b = bytes.TrimSpace(text(v))
	default:
		return 0
	}
	if n, ok := atoi(b); ok {
		if v.ns {
			return time.Duration(n)
		}
		return time.Duration(n) * time.Millisecond
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err == nil {
		if !v.ns {
			f *= 1e6
		}
		if f < 0 || f > math.MaxInt64/2 || math.IsNaN(f) {
			return 0
		}
		return time.Duration(f)
	}
	if d, err := time.ParseDuration(string(b)); err == nil && d >= 0 {
		return d
	}
	return 0
}
