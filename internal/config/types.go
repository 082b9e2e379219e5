package config

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"time"
)

// Secret is a string that never prints itself: String, Format (every fmt
// verb), GoString, MarshalText, MarshalYAML, MarshalJSON and LogValue all
// give "***" (or "" when the secret is empty, so a dump shows it unset). Use
// Reveal to get the value, and only where it is sent to its destination.
type Secret string

const masked = "***"

// Reveal returns the secret value.
func (s Secret) Reveal() string { return string(s) }

// IsSet reports whether the secret has a value.
func (s Secret) IsSet() bool { return s != "" }

func (s Secret) mask() string {
	if s == "" {
		return ""
	}
	return masked
}

// String returns "***" for a set secret.
func (s Secret) String() string { return s.mask() }

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return strconv.Quote(s.mask()) }

// Format keeps every fmt verb (%v, %s, %q, %x, %d …) from printing the value.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		fmt.Fprint(f, strconv.Quote(s.mask()))
		return
	}
	fmt.Fprint(f, s.mask())
}

// LogValue masks the secret in log/slog output.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.mask()) }

// MarshalText masks the secret in any text encoding.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.mask()), nil }

// MarshalJSON masks the secret in JSON.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(strconv.Quote(s.mask())), nil }

// MarshalYAML masks the secret in YAML.
func (s Secret) MarshalYAML() (any, error) { return s.mask(), nil }

// Duration is a time.Duration written as a Go duration string ("90s", "5m",
// "1h30m") or in whole days ("1d", "7d", "1d12h").
type Duration time.Duration

// Std returns the duration as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

const day = 24 * time.Hour

// ParseDuration parses a Go duration string, also accepting a leading day
// count ("7d", "1d12h"). Negative durations are rejected.
func ParseDuration(s string) (Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errors.New("empty duration")
	}
	var days int64
	if i := strings.IndexByte(s, 'd'); i > 0 {
		n, err := strconv.ParseInt(s[:i], 10, 64)
		if err != nil || n < 0 || n > math.MaxInt64/int64(day) {
			return 0, fmt.Errorf("invalid duration %q (want e.g. 90s, 5m, 1h30m, 7d)", s)
		}
		days, s = n, s[i+1:]
	}
	var rest time.Duration
	if s != "" {
		var err error
		rest, err = time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q (want e.g. 90s, 5m, 1h30m, 7d)", s)
		}
	}
	if rest < 0 || (days > 0 && strings.HasPrefix(s, "-")) {
		return 0, fmt.Errorf("negative duration %q", s)
	}
	total := time.Duration(days)*day + rest
	if total < 0 {
		return 0, fmt.Errorf("duration %q overflows", s)
	}
	return Duration(total), nil
}

// String formats the duration the way it is written in the config: "5m",
// "90s", "1h30m", "7d", "1d12h".
func (d Duration) String() string {
	t := time.Duration(d)
	if t == 0 {
		return "0s"
	}
	var b strings.Builder
	if t >= day {
		fmt.Fprintf(&b, "%dd", t/day)
		t %= day
		if t == 0 {
			return b.String()
		}
	}
	s := t.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	b.WriteString(s)
	return b.String()
}

// MarshalYAML writes the duration as a string.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// MarshalText writes the duration as a string (JSON uses it too).
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Size is a byte count written as "512", "64KiB", "10MiB", "1GB" (KB/MB/GB
// are powers of 1000, KiB/MiB/GiB powers of 1024).
type Size int64

var sizeUnits = []struct {
	name string
	mult int64
}{
	{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10},
	{"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1},
}

// ParseSize parses a byte size.
func ParseSize(s string) (Size, error) {
	s = strings.TrimSpace(s)
	num, mult := s, int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(strings.ToLower(s), strings.ToLower(u.name)) {
			num, mult = strings.TrimSpace(s[:len(s)-len(u.name)]), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("invalid size %q (want e.g. 512KiB, 10MiB, 1GB)", s)
	}
	return Size(n * mult), nil
}

// String formats the size with the largest binary unit that divides it.
func (z Size) String() string {
	for _, u := range sizeUnits[:3] {
		if z != 0 && int64(z)%u.mult == 0 {
			return fmt.Sprintf("%d%s", int64(z)/u.mult, u.name)
		}
	}
	return strconv.FormatInt(int64(z), 10) + "B"
}

// MarshalYAML writes the size as a string.
func (z Size) MarshalYAML() (any, error) { return z.String(), nil }

// MarshalText writes the size as a string.
func (z Size) MarshalText() ([]byte, error) { return []byte(z.String()), nil }

// Ratio is a fraction in [0, 1], written as 0.05 or "5%".
type Ratio float64

// ParseRatio parses "0.05" or "5%".
func ParseRatio(s string) (Ratio, error) {
	s = strings.TrimSpace(s)
	div := 1.0
	if strings.HasSuffix(s, "%") {
		s, div = strings.TrimSpace(strings.TrimSuffix(s, "%")), 100
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) {
		return 0, fmt.Errorf("invalid ratio %q (want e.g. 0.05 or 5%%)", s)
	}
	f /= div
	if f < 0 || f > 1 {
		return 0, fmt.Errorf("ratio %s out of range (want 0..1 or 0%%..100%%)", strconv.FormatFloat(f, 'g', -1, 64))
	}
	return Ratio(f), nil
}

// String formats the ratio as a percentage ("5%").
func (r Ratio) String() string {
	return strconv.FormatFloat(math.Round(float64(r)*1e6)/1e4, 'f', -1, 64) + "%"
}

// MarshalYAML writes the ratio as a percentage string.
func (r Ratio) MarshalYAML() (any, error) { return r.String(), nil }

// MarshalText writes the ratio as a percentage string.
func (r Ratio) MarshalText() ([]byte, error) { return []byte(r.String()), nil }
