package collect

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/redact"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// Defaults of the security (audit trail) collector.
const (
	// SecurityFirstLook is how far back the first read (no cursor yet, or
	// a one-shot audit) looks: changes made in the last day are reported
	// on the first cycle.
	SecurityFirstLook = 24 * time.Hour
	// securityKeep is how long changes stay in a subject's state: longer
	// than any default hold of the security rules.
	securityKeep = 7 * 24 * time.Hour
	// securityMaxChanges bounds the changes kept per subject (newest kept).
	securityMaxChanges = 200
	// securityOverlap re-reads this much before the cursor: SFMC filters
	// by date and its audit trail is not real time (an entry can appear
	// after newer ones were read); entries already kept are recognised by
	// id, so each counts once.
	securityOverlap      = 5 * time.Minute
	defaultSecurityPages = 2
)

// SecurityCollector reads the SFMC Audit Trail (GET
// /data/v1/audit/auditEvents and /data/v1/audit/securityEvents, scope
// tracking_events_read) after the cursors "audit.events.<tenant>" and
// "audit.security.<tenant>" (SFMC's createdDate and id of the newest entry
// read), at most Pages pages of each feed a poll, oldest first, so each
// entry is read once and a backlog drains over later polls. The first read
// (and a one-shot audit, which has no cursors: one page each) covers the
// last SecurityFirstLook. Entries that matter for security become
// SecurityChanges on one snapshot per subject (resource.Security):
// installed packages and API integration components created or licensed
// (new_integration) or modified (scope_change); roles, user permissions,
// users and security settings changed (role_change); failed logins
// (login_failed) and logins refused by the IP allowlist (ip_blocked) per
// user. Only ids and bounded labels are kept: user names become a hash,
// employee names, IP addresses, user agents and session ids are dropped;
// package and role names pass internal/redact.
type SecurityCollector struct {
	Pages int // pages per feed per poll (0: 2)
}

// Type implements Collector.
func (SecurityCollector) Type() resource.Type { return resource.Security }

// AuditEventsCursor names a tenant's audit-events feed cursor.
func AuditEventsCursor(tenant string) string { return "audit.events." + tenant }

// SecurityEventsCursor names a tenant's security-events feed cursor.
func SecurityEventsCursor(tenant string) string { return "audit.security." + tenant }

// securityCursor is a feed position: the newest createdDate read and the
// id of the entry at it.
type securityCursor struct {
	at time.Time
	id int64
}

func (c securityCursor) String() string {
	if c.at.IsZero() {
		return ""
	}
	return c.at.UTC().Format(time.RFC3339Nano) + "|" + strconv.FormatInt(c.id, 10)
}

func parseSecurityCursor(s string) securityCursor {
	at, id, _ := strings.Cut(s, "|")
	t, err := time.Parse(time.RFC3339Nano, at)
	if err != nil {
		return securityCursor{}
	}
	n, _ := strconv.ParseInt(id, 10, 64)
	return securityCursor{at: t, id: n}
}

func (c securityCursor) advance(at time.Time, id int64) securityCursor {
	if at.After(c.at) || (at.Equal(c.at) && id > c.id) {
		return securityCursor{at: at, id: id}
	}
	return c
}

// Collect implements Collector. The audit trail is an optional check:
// its calls are Optional for the daily budget, so they stop first (at the
// budget's optional share) when the budget runs low.
func (c SecurityCollector) Collect(ctx context.Context, in *Input) (*Output, error) {
	ctx = sfmc.WithPriority(ctx, sfmc.Optional)
	pages := c.Pages
	if pages <= 0 {
		pages = defaultSecurityPages
	}
	if in.Cursors == nil {
		pages = 1
	}
	subjects := map[string]*resource.SecurityState{}
	for k, p := range in.Previous {
		var st resource.SecurityState
		if resource.Decode(p, &st) == nil {
			subjects[k] = &st
		}
	}
	out := &Output{}
	add := func(key, kind, name string, ch resource.SecurityChange) {
		st := subjects[key]
		if st == nil {
			st = &resource.SecurityState{Kind: kind, Name: name, ObservedSince: in.Now}
			subjects[key] = st
		}
		if name != "" {
			st.Name = name
		}
		for _, x := range st.Changes {
			if x.ID == ch.ID && x.At.Equal(ch.At) && x.Kind == ch.Kind {
				return // read before (overlap)
			}
		}
		st.Changes = append(st.Changes, ch)
	}

	// Audit events: who changed which object.
	old, cur, err := c.cursor(ctx, in, AuditEventsCursor(in.Tenant.Name))
	if err != nil {
		return nil, err
	}
	evs, err := in.Client.AuditEvents(ctx, c.from(in, cur), in.Now, pages)
	if err != nil && len(evs) == 0 {
		return nil, err
	}
	next := cur
	for _, e := range evs {
		if e.Time.IsZero() || e.Time.Before(cur.at.Add(-securityOverlap)) {
			continue
		}
		next = next.advance(e.Time, e.ID)
		kind, subject := ClassifyAuditEvent(e.ObjectType, e.Operation)
		if kind == "" {
			continue
		}
		key, name := auditSubject(subject, e)
		add(key, subject, name, resource.SecurityChange{ID: e.ID, At: e.Time.UTC(), Kind: kind,
			ObjectType: label(e.ObjectType), Operation: label(e.Operation), Actor: SecurityActor(e.EmployeeID, e.Employee)})
	}
	c.advance(in, out, AuditEventsCursor(in.Tenant.Name), old, cur, next)

	// Security events: logins.
	old, cur, err = c.cursor(ctx, in, SecurityEventsCursor(in.Tenant.Name))
	if err != nil {
		return nil, err
	}
	sevs, err := in.Client.SecurityEvents(ctx, c.from(in, cur), in.Now, pages)
	if err != nil && len(sevs) == 0 {
		return nil, err
	}
	next = cur
	for _, e := range sevs {
		if e.Time.IsZero() || e.Time.Before(cur.at.Add(-securityOverlap)) {
			continue
		}
		next = next.advance(e.Time, e.ID)
		kind := ClassifySecurityEvent(e.EventType, e.LoginStatus)
		if kind == "" {
			continue
		}
		actor := SecurityActor(0, e.Employee)
		if actor == "" {
			actor = "unknown"
		}
		add("logins:"+actor, resource.SecurityLogins, "logins of user "+actor, resource.SecurityChange{ID: e.ID, At: e.Time.UTC(),
			Kind: kind, ObjectType: label(e.EventType), Operation: label(e.LoginStatus), Actor: actor})
	}
	c.advance(in, out, SecurityEventsCursor(in.Tenant.Name), old, cur, next)

	keys := make([]string, 0, len(subjects))
	for k := range subjects {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		st := subjects[k]
		st.Changes = pruneSecurityChanges(st.Changes, in.Now)
		if len(st.Changes) == 0 {
			continue // nothing recent: its last snapshot ages out of every rule
		}
		snap := in.Snapshot(resource.Security, k)
		snap.Status = resource.StatusOK
		snap.Payload = resource.Encode(st)
		out.Snapshots = append(out.Snapshots, snap)
	}
	return out, nil
}

// cursor reads a feed cursor (zero without cursors or before the first read).
func (c SecurityCollector) cursor(ctx context.Context, in *Input, name string) (string, securityCursor, error) {
	if in.Cursors == nil {
		return "", securityCursor{}, nil
	}
	v, err := in.Cursors.GetCursor(ctx, name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return "", securityCursor{}, nil
	case err != nil:
		return "", securityCursor{}, err
	}
	return v, parseSecurityCursor(v), nil
}

// from is the start of a read: the first look's window, or the cursor
// less an overlap (never before the first look's window).
func (c SecurityCollector) from(in *Input, cur securityCursor) time.Time {
	first := in.Now.Add(-SecurityFirstLook)
	if cur.at.IsZero() {
		return first
	}
	return cur.at.Add(-securityOverlap)
}

func (c SecurityCollector) advance(in *Input, out *Output, name, old string, cur, next securityCursor) {
	if in.Cursors == nil || next == cur || next.at.IsZero() {
		return
	}
	out.Cursors = append(out.Cursors, CursorAdvance{Name: name, Old: old, Next: next.String()})
}

func pruneSecurityChanges(cs []resource.SecurityChange, now time.Time) []resource.SecurityChange {
	cs = slices.DeleteFunc(cs, func(c resource.SecurityChange) bool { return c.At.Before(now.Add(-securityKeep)) })
	slices.SortStableFunc(cs, func(a, b resource.SecurityChange) int { return a.At.Compare(b.At) })
	if len(cs) > securityMaxChanges {
		cs = cs[len(cs)-securityMaxChanges:]
	}
	return cs
}

// norm lower-cases a label and drops everything but letters and digits
// ("Installed Package" and "InstalledPackage" compare equal).
func norm(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// ClassifyAuditEvent maps an audit event's objectType.name and
// operation.name to a security change kind and subject kind ("", "" for
// entries that are not about access: automations, journeys, data
// extensions, extracts …). SFMC documents the audited areas (Setup: users,
// user permissions, roles, security settings; Installed Package: create,
// modify, delete and license packages, create and modify components) but
// not the full objectType list; the names seen in SFMC's samples are
// MemberEmployee, SecuritySettings and Member, so matching is by word.
func ClassifyAuditEvent(objectType, operation string) (kind, subject string) {
	ot, op := norm(objectType), norm(operation)
	switch {
	case strings.Contains(ot, "package") || strings.Contains(ot, "apiintegration") || strings.Contains(ot, "installedcomponent") ||
		strings.Contains(ot, "packagecomponent") || strings.Contains(ot, "connectedapp"):
		switch {
		case strings.Contains(op, "create") || strings.Contains(op, "license") || strings.Contains(op, "install") || op == "add":
			return resource.ChangeNewIntegration, resource.SecurityIntegration
		case strings.Contains(op, "update") || strings.Contains(op, "modif") || strings.Contains(op, "edit") ||
			strings.Contains(op, "scope") || strings.Contains(op, "permission"):
			return resource.ChangeScope, resource.SecurityIntegration
		}
	case strings.Contains(ot, "role") || strings.Contains(ot, "permission") || strings.Contains(ot, "securitysetting") ||
		ot == "memberemployee" || ot == "employee" || ot == "user":
		switch {
		case op == "", strings.Contains(op, "start"), strings.Contains(op, "view"), strings.Contains(op, "read"):
			return "", ""
		}
		return resource.ChangeRole, resource.SecurityAccess
	}
	return "", ""
}

// ClassifySecurityEvent maps a security event's eventType.name and
// loginStatus.name to login_failed, ip_blocked or "" (successful logins,
// logouts, password changes …). SFMC's Audit Trail Access Log documents
// LoginStatus Failed (1) and Successful (4) for "Login Attempted"; the
// name of the status for a login refused by the IP allowlist is not in
// the material we could read, so any status naming an IP address, an
// allowlist or a whitelist counts as ip_blocked.
func ClassifySecurityEvent(eventType, loginStatus string) string {
	st := strings.ToLower(loginStatus)
	words := strings.FieldsFunc(st, func(r rune) bool { return (r < 'a' || r > 'z') && (r < '0' || r > '9') })
	switch {
	case slices.Contains(words, "ip") || strings.Contains(st, "allowlist") || strings.Contains(st, "whitelist") ||
		strings.Contains(st, "ipaddress") || strings.Contains(st, "ip address"):
		return resource.ChangeIPBlocked
	case strings.Contains(st, "fail") || strings.Contains(st, "invalid") || strings.Contains(st, "locked"):
		if et := norm(eventType); et == "" || strings.Contains(et, "login") || strings.Contains(et, "token") || strings.Contains(et, "authoriz") {
			return resource.ChangeLoginFailed
		}
	}
	return ""
}

// auditSubject is the subject key and its bounded label.
func auditSubject(subject string, e sfmc.AuditEvent) (key, name string) {
	id := strings.ToLower(strings.TrimSpace(e.ObjectID))
	if len(id) > 64 || strings.ContainsAny(id, " @") {
		id = "h-" + shortHash(id)
	}
	ot := label(e.ObjectType)
	switch {
	case subject == resource.SecurityIntegration:
		if id == "" {
			id = "h-" + shortHash(e.ObjectName)
		}
		return "integration:" + id, cutLabel(redact.String(strings.TrimSpace(e.ObjectName)), 80)
	case norm(e.ObjectType) == "securitysettings" || strings.Contains(norm(e.ObjectType), "securitysetting"):
		// The settings of the account: one subject per member (MID).
		return "access:securitysettings:" + strconv.FormatInt(e.MemberID, 10), "security settings of " + strconv.FormatInt(e.MemberID, 10)
	case strings.Contains(norm(e.ObjectType), "role") || strings.Contains(norm(e.ObjectType), "permission"):
		// A role's name is not about a person.
		return "access:" + norm(e.ObjectType) + ":" + id, cutLabel(redact.String(strings.TrimSpace(e.ObjectName)), 80)
	}
	// Users: the object name is a person's name; keep the id only.
	return "access:" + norm(e.ObjectType) + ":" + id, ot + " " + id
}

// label keeps a bounded SFMC label: letters, digits, space, _ . - (40 max).
func label(s string) string {
	var b strings.Builder
	for _, r := range strings.TrimSpace(s) {
		if (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') || strings.ContainsRune(" _.-", r) {
			b.WriteRune(r)
		}
		if b.Len() >= 40 {
			break
		}
	}
	return b.String()
}

func cutLabel(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}

// SecurityActor identifies who acted without keeping a user name: SFMC's
// employee id, or "u-" and a hash of the user name ("" when neither).
func SecurityActor(id int64, userName string) string {
	if id > 0 {
		return strconv.FormatInt(id, 10)
	}
	u := strings.ToLower(strings.TrimSpace(userName))
	if u == "" || u == "unavailable" {
		return ""
	}
	return "u-" + shortHash(u)
}

func shortHash(s string) string {
	h := sha256.Sum256([]byte("sfmcwatch-security\x00" + s))
	return hex.EncodeToString(h[:5])
}
