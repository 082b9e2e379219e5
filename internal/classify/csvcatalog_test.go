package classify

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/sharedfixtures"
)

// csvClassifier returns a classifier over a catalog built from the shared
// reference list (sfmc-error-codes.csv), so the tests assert what SFMC
// documents whatever state the embedded catalog data is in. Rows that
// share a code get the literal part of their message as Match text, as the
// real catalog does for reused codes.
func csvClassifier(tb testing.TB) *Classifier {
	tb.Helper()
	f, err := os.Open(sharedfixtures.ErrorCodesCSV(tb))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		tb.Fatal(err)
	}
	placeholder := regexp.MustCompile(`\{[^}]*\}|\[[^\]]*\]|\.\.\.`)
	seen := map[string]bool{}
	matches := map[string][]string{}
	var entries []catalog.Entry
	for _, r := range rows[1:] {
		s, code, msg, fam, owner, transient := r[0], r[1], r[2], r[3], r[4], r[5]
		if !catalog.Surface(s).Valid() {
			continue
		}
		e := catalog.Entry{Surface: catalog.Surface(s), Code: code, Title: msg, Family: catalog.Family(fam),
			Owner: catalog.Owner(owner), Transient: transient == "yes", Severity: severityFor(catalog.Family(fam)),
			Remediation: []string{"see the reference list"}}
		k := s + "\x00" + strings.ToLower(code)
		if seen[k] {
			best := ""
			for _, part := range placeholder.Split(msg, -1) {
				if p := strings.Trim(part, " .:'\""); len(p) > len(best) {
					best = p
				}
			}
			if len(best) < 8 || shadowed(matches[k], best) {
				continue
			}
			matches[k] = append(matches[k], best)
			e.Match = []string{best}
		}
		seen[k] = true
		entries = append(entries, e)
	}
	data, err := json.Marshal(entries)
	if err != nil {
		tb.Fatal(err)
	}
	cat, err := catalog.Load(fstest.MapFS{"data/csv.json": {Data: data}}, "data")
	if err != nil {
		tb.Fatal(err)
	}
	return New(cat)
}

func severityFor(f catalog.Family) catalog.Severity {
	switch f {
	case catalog.Auth, catalog.Server:
		return catalog.Critical
	case catalog.Client, catalog.RateLimit, catalog.Timeout:
		return catalog.Error
	case catalog.Recipient:
		return catalog.Warning
	}
	return catalog.Info
}

func shadowed(earlier []string, m string) bool {
	lm := strings.ToLower(m)
	for _, e := range earlier {
		if strings.Contains(lm, strings.ToLower(e)) || strings.Contains(strings.ToLower(e), lm) {
			return true
		}
	}
	return false
}
