package notify

import "fmt"

// inhibitStage marks an alert inhibited while an open source alert of a
// rule explains it. Only open sources inhibit, a source inhibited by its
// target does not hide it, and inhibition never hides a resolution: an
// inhibited incident that resolves is still reported (flush), and when the
// source resolves first the target is notified.
type inhibitStage struct {
	rules []inhibitRule
}

func (s inhibitStage) apply(alerts []*alertInfo) {
	for _, a := range alerts {
		for _, rule := range s.rules {
			if rule.targets(a) {
				a.inhibitBy = s.source(rule, a, alerts)
			}
			if a.inhibitBy != nil {
				break
			}
		}
		if a.inhibitBy == nil || a.note != "" {
			continue
		}
		a.note = fmt.Sprintf("suppressed while incident #%d (%s) is open: %s", a.inhibitBy.inc.ID, a.inhibitBy.inc.Rule, a.inhibitBy.inc.Title)
		if !a.open {
			a.note = "resolved while " + a.note
		}
	}
}

// source returns the first open alert that inhibits a under rule.
func (s inhibitStage) source(rule inhibitRule, a *alertInfo, alerts []*alertInfo) *alertInfo {
	for _, src := range alerts {
		if src == a || !src.open || !rule.source.matches(src.labels) || !equalLabels(rule.equal, a.labels, src.labels) {
			continue
		}
		// A source inhibited by this very alert must not hide it
		// (auth incidents of two kinds in one tenant).
		if src.inhibitBy == a {
			continue
		}
		return src
	}
	return nil
}

func equalLabels(keys []string, a, b map[string]string) bool {
	for _, k := range keys {
		if a[k] != b[k] {
			return false
		}
	}
	return true
}
