// Package cronexpr parses standard five-field cron expressions ("minute hour
// day-of-month month day-of-week", e.g. "0 8 * * 1" for Monday 08:00) and
// computes the next time they fire in a given time zone. It schedules the
// weekly digest; it has no goroutines and no clock of its own.
//
// Fields accept *, numbers, ranges (1-5), lists (1,15), steps (*/15, 8-18/2)
// and English names for months (jan…dec) and weekdays (sun…sat; 0 and 7 are
// both Sunday). The descriptors @hourly, @daily (@midnight), @weekly,
// @monthly and @yearly (@annually) are accepted. As in Vixie cron, when both
// day-of-month and day-of-week are restricted a day matching either fires.
// A wall-clock time that does not exist on a daylight-saving change day is
// skipped; an ambiguous one fires once, at its first occurrence.
package cronexpr

import (
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"time"
)

// Schedule is a parsed cron expression.
type Schedule struct {
	src                      string
	minute, hour, dom, month uint64 // bit i set: value i allowed
	dow                      uint64 // 0..6, Sunday = 0
	domStar, dowStar         bool
}

type field struct {
	name     string
	min, max int
	names    map[string]int
}

var (
	monthNames = map[string]int{"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12}
	dowNames   = map[string]int{"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}
)

func fields() [5]field {
	return [5]field{
		{name: "minute", min: 0, max: 59},
		{name: "hour", min: 0, max: 23},
		{name: "day-of-month", min: 1, max: 31},
		{name: "month", min: 1, max: 12, names: monthNames},
		{name: "day-of-week", min: 0, max: 7, names: dowNames},
	}
}

var descriptors = map[string]string{
	"@hourly": "0 * * * *", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
	"@weekly": "0 0 * * 0", "@monthly": "0 0 1 * *", "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *",
}

// Parse parses a cron expression. Errors name the field and the token.
func Parse(expr string) (*Schedule, error) {
	src := strings.TrimSpace(expr)
	if src == "" {
		return nil, errors.New("cron: empty expression (want 5 fields: minute hour day-of-month month day-of-week)")
	}
	spec := src
	if strings.HasPrefix(spec, "@") {
		d, ok := descriptors[strings.ToLower(spec)]
		if !ok {
			return nil, fmt.Errorf("cron: unknown descriptor %q (want @hourly, @daily, @weekly, @monthly or @yearly)", spec)
		}
		spec = d
	}
	parts := strings.Fields(spec)
	if len(parts) != 5 {
		return nil, fmt.Errorf("cron: %q has %d fields, want 5 (minute hour day-of-month month day-of-week)", src, len(parts))
	}
	s := &Schedule{src: src}
	fs := fields()
	var masks [5]uint64
	for i, p := range parts {
		m, err := parseField(p, fs[i])
		if err != nil {
			return nil, err
		}
		masks[i] = m
	}
	s.minute, s.hour, s.dom, s.month, s.dow = masks[0], masks[1], masks[2], masks[3], masks[4]
	if s.dow&(1<<7) != 0 { // 7 is Sunday too
		s.dow = s.dow&^(1<<7) | 1
	}
	s.domStar = parts[2] == "*" || parts[2] == "*/1"
	s.dowStar = parts[4] == "*" || parts[4] == "*/1"
	if !s.canFire() {
		return nil, fmt.Errorf("cron: %q never fires (no month has that day)", src)
	}
	return s, nil
}

// canFire rejects day-of-month sets no allowed month has (e.g. 30 2).
func (s *Schedule) canFire() bool {
	if !s.dowStar && !s.domStar {
		return true
	}
	if s.domStar {
		return true
	}
	days := [13]int{0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}
	for m := 1; m <= 12; m++ {
		if s.month&(1<<m) == 0 {
			continue
		}
		if s.dom&((uint64(1)<<(days[m]+1))-2) != 0 {
			return true
		}
	}
	return false
}

func parseField(tok string, f field) (uint64, error) {
	var mask uint64
	for _, item := range strings.Split(tok, ",") {
		if item == "" {
			return 0, fmt.Errorf("cron: %s field %q: empty list item", f.name, tok)
		}
		rng, stepStr, hasStep := strings.Cut(item, "/")
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepStr)
			if err != nil || n < 1 || n > f.max {
				return 0, fmt.Errorf("cron: %s field %q: step %q must be a number from 1 to %d", f.name, tok, stepStr, f.max)
			}
			step = n
		}
		lo, hi := f.min, f.max
		if f.name == "day-of-week" {
			hi = 6
		}
		if rng != "*" {
			a, b, isRange := strings.Cut(rng, "-")
			var err error
			if lo, err = value(a, f); err != nil {
				return 0, fmt.Errorf("cron: %s field %q: %w", f.name, tok, err)
			}
			hi = lo
			if isRange {
				if hi, err = value(b, f); err != nil {
					return 0, fmt.Errorf("cron: %s field %q: %w", f.name, tok, err)
				}
				if hi < lo {
					return 0, fmt.Errorf("cron: %s field %q: range %d-%d runs backwards", f.name, tok, lo, hi)
				}
			} else if hasStep {
				hi = f.max // "5/15" means 5-max/15
			}
		}
		for v := lo; v <= hi; v += step {
			mask |= 1 << v
		}
	}
	return mask, nil
}

func value(s string, f field) (int, error) {
	if n, ok := f.names[strings.ToLower(s)]; ok {
		return n, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	if n < f.min || n > f.max {
		return 0, fmt.Errorf("%d is out of range %d-%d", n, f.min, f.max)
	}
	return n, nil
}

// String returns the expression as written.
func (s *Schedule) String() string { return s.src }

func (s *Schedule) dayMatches(t time.Time) bool {
	domOK := s.dom&(1<<t.Day()) != 0
	dowOK := s.dow&(1<<int(t.Weekday())) != 0
	switch {
	case s.domStar && s.dowStar:
		return true
	case s.domStar:
		return dowOK
	case s.dowStar:
		return domOK
	}
	return domOK || dowOK
}

// maxYears bounds the search: every valid expression fires within 8 years
// (29 February falling on a given weekday recurs within 28 years, but a
// day-of-month alone recurs within 4).
const maxYears = 30

// Next returns the first firing time strictly after t, in loc (nil: t's
// location). It returns the zero time when none exists within 30 years.
func (s *Schedule) Next(t time.Time, loc *time.Location) time.Time {
	if loc == nil {
		loc = t.Location()
	}
	t = t.In(loc)
	// Start at the next whole minute.
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
	limit := day.AddDate(maxYears, 0, 0)
	for ; day.Before(limit); day = time.Date(day.Year(), day.Month(), day.Day()+1, 0, 0, 0, 0, loc) {
		if s.month&(1<<int(day.Month())) == 0 {
			// Jump to the first day of the next month.
			day = time.Date(day.Year(), day.Month()+1, 0, 0, 0, 0, 0, loc)
			continue
		}
		if !s.dayMatches(day) {
			continue
		}
		for h := range 24 {
			if s.hour&(1<<h) == 0 {
				continue
			}
			for m := bits.TrailingZeros64(s.minute); m < 60; m++ {
				if s.minute&(1<<m) == 0 {
					continue
				}
				c := time.Date(day.Year(), day.Month(), day.Day(), h, m, 0, 0, loc)
				if c.Hour() != h || c.Minute() != m || c.Day() != day.Day() {
					continue // does not exist (DST gap)
				}
				if c.After(t) {
					return c
				}
			}
		}
	}
	return time.Time{}
}
