// Package fit keeps notifications within what real receivers accept: it
// clips text to a receiver's limits without breaking UTF-8, shortens a
// message title so it still names the cause, wraps plain-text detail lines,
// finds how many alerts of a group fit a size budget (the rest become
// "…and N more") and names the HTTP channels' User-Agent.
package fit

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/sfmcwatch/sfmcwatch/internal/buildinfo"
	"github.com/sfmcwatch/sfmcwatch/internal/notify"
)

// MaxTitle is the longest title, in characters, a notification shows: the
// cause must be readable in a phone's lock screen, a mail list or a Slack
// preview.
const MaxTitle = 119

// Ellipsis ends clipped text.
const Ellipsis = "…"

// UserAgent is the one User-Agent every HTTP channel sends:
// "sfmcwatch/<version>" (see buildinfo.Version).
func UserAgent() string { return buildinfo.UserAgent() }

// Clip returns s cut to at most n characters (runes), ending in "…" when
// it was cut.
func Clip(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimRight(string(r[:n-1]), " ") + Ellipsis
}

// ClipBytes returns s cut to at most n bytes of valid UTF-8, ending in "…"
// when it was cut.
func ClipBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	if n < len(Ellipsis) {
		return ""
	}
	cut := n - len(Ellipsis)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + Ellipsis
}

// More is the line that stands for the alerts left out.
func More(n int) string { return fmt.Sprintf("…and %d more", n) }

// Largest returns the largest k in [0, n] for which fits(k) holds, fits
// being monotonic (true up to some k, false after); fits(0) is assumed.
// It calls fits O(log n) times.
func Largest(n int, fits func(k int) bool) int {
	lo, hi := 0, n // fits(lo) holds; answer in [lo, hi]
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if fits(mid) {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo
}

// Title is the message title within MaxTitle characters. When the full
// title is too long, the lead alert's title (the cause) is shortened and
// the status prefix ("[FIRING:3] "), the scope and the "(+N more)" suffix
// are kept; only when they alone are too long is the whole title clipped.
func Title(m *notify.Message) string { return TitleN(m, MaxTitle) }

// TitleN is Title with a limit of n characters.
func TitleN(m *notify.Message, n int) string {
	full := strings.Join(strings.Fields(m.Title()), " ")
	if utf8.RuneCountInString(full) <= n {
		return full
	}
	lead := leadTitle(m)
	i := strings.Index(full, lead)
	if lead == "" || i < 0 {
		return Clip(full, n)
	}
	before, after := full[:i], full[i+len(lead):]
	runes := utf8.RuneCountInString
	if budget := n - runes(before) - runes(after); budget >= minLead {
		return before + Clip(lead, budget) + after
	}
	// The scope (tenant · family · owner) is long: shorten it so the cause
	// keeps minLead characters, or drop it.
	prefix, scope := "", strings.TrimSuffix(before, ": ")
	if j := strings.Index(before, "] "); j >= 0 {
		prefix, scope = before[:j+2], strings.TrimSuffix(before[j+2:], ": ")
	}
	scopeBudget := n - runes(prefix) - len(": ") - minLead - runes(after)
	head := prefix
	if scope != "" && scopeBudget >= 10 {
		head += Clip(scope, scopeBudget) + ": "
	}
	budget := n - runes(head) - runes(after)
	if budget < 10 {
		return Clip(full, n)
	}
	return head + Clip(lead, budget) + after
}

// minLead is how many characters of the cause a shortened title keeps.
const minLead = 60

func leadTitle(m *notify.Message) string {
	lead := m.Firing()
	if len(lead) == 0 {
		lead = m.Resolved()
	}
	if len(lead) == 0 {
		return ""
	}
	return strings.Join(strings.Fields(lead[0].Title), " ")
}

// Wrap wraps every line of text longer than width characters at spaces.
// Continuation lines are indented like the line's text (after its leading
// spaces and a list marker such as "• ", "1. " or "Evidence: " is not
// repeated). A word longer than width (a URL) is kept whole.
func Wrap(text string, width int) string {
	lines := strings.Split(text, "\n")
	var b strings.Builder
	for i, line := range lines {
		if i > 0 {
			b.WriteByte('\n')
		}
		wrapLine(&b, line, width)
	}
	return b.String()
}

func wrapLine(b *strings.Builder, line string, width int) {
	if utf8.RuneCountInString(line) <= width {
		b.WriteString(line)
		return
	}
	indent := hangingIndent(line)
	words := strings.Fields(line)
	lead := line[:len(line)-len(strings.TrimLeft(line, " "))]
	col := 0
	b.WriteString(lead)
	col = utf8.RuneCountInString(lead)
	first := true
	for _, w := range words {
		wl := utf8.RuneCountInString(w)
		switch {
		case first:
			first = false
		case col+1+wl > width:
			b.WriteByte('\n')
			b.WriteString(indent)
			col = len(indent)
		default:
			b.WriteByte(' ')
			col++
		}
		b.WriteString(w)
		col += wl
	}
}

// hangingIndent is the indentation of a wrapped line's continuation: its
// leading spaces plus room for a bullet or numbered marker.
func hangingIndent(line string) string {
	trimmed := strings.TrimLeft(line, " ")
	n := len(line) - len(trimmed)
	marker, _, _ := strings.Cut(trimmed, " ")
	switch {
	case marker == "•" || marker == "-" || marker == "*":
		n += 2
	case len(marker) > 1 && len(marker) <= 4 && strings.HasSuffix(marker, ".") && strings.Trim(marker[:len(marker)-1], "0123456789") == "":
		n += len(marker) + 1
	default:
		n += 2
	}
	return strings.Repeat(" ", n)
}
