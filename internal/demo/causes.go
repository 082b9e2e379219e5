package demo

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// Cause is one top-level incident of the story with the incidents the
// correlation step attached to it (internal/correlate) and what the alert
// receiver got about them.
type Cause struct {
	// ID is the top-level incident's id; Rule its rule id.
	ID   int64  `json:"id"`
	Rule string `json:"rule"`
	// Cause is the recognised cause (correlate.Cause* ids); empty for an
	// incident that explains nothing else.
	Cause string `json:"cause,omitempty"`
	Title string `json:"title"`
	// Incidents counts the incident and its children; Children lists the
	// children's ids.
	Incidents int     `json:"incidents"`
	Children  []int64 `json:"children,omitempty"`
	// Notifications counts the alerts the demo's webhook received about
	// these incidents (firing and resolved, one per incident a message
	// carries).
	Notifications int `json:"notifications"`
	// FirstLook is true for a failure the tenant already had when
	// sfmcwatch first looked (opened in the first poll cycle); false for
	// the story's.
	FirstLook bool `json:"first_look"`
}

// storyCauses groups the incidents opened since from under their causes:
// every incident without caused_by is a row (a recognised cause, a
// promoted child, or an incident that explains nothing else).
func storyCauses(ctx context.Context, st store.Store, from time.Time, notes func(id int64) int) ([]Cause, error) {
	all, err := st.ListIncidents(ctx, store.IncidentFilter{OpenedFrom: from, Limit: 10000})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(all, func(a, b store.Incident) int { return cmp.Compare(a.ID, b.ID) })
	rows := map[int64]*Cause{}
	var out []*Cause
	for _, in := range all {
		if in.CausedBy != 0 {
			continue
		}
		c := &Cause{ID: in.ID, Rule: in.Rule, Cause: in.Cause, Title: in.Title, Incidents: 1, Notifications: notes(in.ID)}
		rows[in.ID] = c
		out = append(out, c)
	}
	for _, in := range all {
		if in.CausedBy == 0 {
			continue
		}
		c := rows[in.CausedBy]
		if c == nil { // the cause opened before from
			c = &Cause{ID: in.CausedBy, Rule: "(earlier incident)", Title: fmt.Sprintf("incident #%d", in.CausedBy)}
			rows[in.CausedBy] = c
			out = append(out, c)
		}
		c.Incidents++
		c.Children = append(c.Children, in.ID)
		c.Notifications += notes(in.ID)
	}
	res := make([]Cause, len(out))
	for i, c := range out {
		res[i] = *c
	}
	return res, nil
}

// printCauses prints causes → incidents → notifications.
func printCauses(w io.Writer, causes []Cause) {
	if len(causes) == 0 {
		return
	}
	recognised, children := 0, 0
	for _, c := range causes {
		if c.Cause != "" {
			recognised++
		}
		children += len(c.Children)
	}
	fmt.Fprintf(w, "Causes: %d top-level (notifying) incidents, %d of them recognised causes explaining %d more incidents (children, shown with \"caused by #N\"):\n",
		len(causes), recognised, children)
	for _, c := range causes {
		name := c.Cause
		if name == "" {
			name = c.Rule
		}
		if c.FirstLook {
			name += " (first look)"
		}
		kids := ""
		if len(c.Children) > 0 {
			kids = fmt.Sprintf(" (children %s)", idList(c.Children))
		}
		fmt.Fprintf(w, "  #%-3d %-37s %2d incident(s) → %2d notification(s)  %s%s\n", c.ID, name, c.Incidents, c.Notifications, c.Title, kids)
	}
}

func idList(ids []int64) string {
	s := ""
	for i, id := range ids {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("#%d", id)
	}
	return s
}
