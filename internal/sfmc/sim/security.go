package sim

import (
	"time"
)

// Audit-trail entries the security faults add. The shapes follow SFMC's
// samples (getAuditEvents, getSecurityEvents and the Postman collection's
// recorded answer: objectType MemberEmployee 2101, SecuritySettings 2102,
// Member 2103, operation Update 2; eventType Login Attempted 1, loginStatus
// Failed 1 / Successful 4). SFMC documents that installed packages are
// audited (create, modify, delete, license) but not their objectType name
// or id, nor the login status of a login refused by the IP allowlist: the
// names below (InstalledPackage, "Invalid IP") are this simulator's
// assumptions, which the collector matches by word, not exactly.

var (
	otInstalledPackage = idName{2110, "InstalledPackage"} // assumed, see above
	otSecuritySettings = idName{2102, "SecuritySettings"}
	statusFailed       = idName{1, "Failed"}
	statusIPBlocked    = idName{6, "Invalid IP"} // assumed, see above
)

// SecurityObjectID is the object id the simulator gives an installed
// package named name in audit entries.
func SecurityObjectID(name string) string { return hashGUID(hashString("package:"+name), 9) }

// faultsOf lists every fault of kind k in tenant mid (0: in any tenant),
// whatever its target.
func (r *registry) faultsOf(k Kind, mid int64) []window {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []window
	for _, e := range r.entries {
		if e.f.Kind == k && (mid == 0 || e.f.MID == 0 || e.f.MID == mid) {
			f := e.f
			out = append(out, window{start: f.Start, end: e.end, f: &f})
		}
	}
	return out
}

// securityAuditEvents are the audit entries of the change faults: one at
// each fault's start.
func (s *Sim) securityAuditEvents(t *tenant, now time.Time) []auditEvent {
	var out []auditEvent
	actor := systemUser
	if len(t.Users) > 0 {
		actor = t.Users[0]
	}
	add := func(w window, ot, op idName, id, name string) {
		if w.start.After(now) {
			return
		}
		uid := actor.ID
		e := auditEvent{ID: int64(mix(hashString(w.f.ID+ot.Name+op.Name), uint64(w.start.Unix())) % 1e12), CreatedDate: fmtREST(w.start),
			MemberID: t.MID, EnterpriseID: t.MID, Employee: auditEmployee{&uid, actor.Name, actor.UserName},
			ObjectType: ot, Operation: op, TransactionID: hashGUID(hashString(w.f.ID), uint64(w.start.Unix())), at: w.start}
		e.Object.ID, e.Object.Name = id, name
		out = append(out, e)
	}
	pkg := func(f *Fault) string {
		if f.Target == "" || f.Target == "*" {
			return "Unreviewed Integration"
		}
		return f.Target
	}
	for _, w := range s.faults.faultsOf(FaultSecurityNewIntegration, t.MID) {
		add(w, otInstalledPackage, opCreate, SecurityObjectID(pkg(w.f)), pkg(w.f))
	}
	for _, w := range s.faults.faultsOf(FaultSecurityScopeChange, t.MID) {
		add(w, otInstalledPackage, opUpdate, SecurityObjectID(pkg(w.f)), pkg(w.f))
	}
	for _, w := range s.faults.faultsOf(FaultSecurityRoleChange, t.MID) {
		ot := otSecuritySettings
		if w.f.Target != "" && w.f.Target != "*" && w.f.Target != ot.Name {
			ot = idName{2190, w.f.Target}
		}
		// The recorded SecuritySettings entry has an empty object.
		add(w, ot, opUpdate, "", "")
	}
	return out
}

// securityLoginEvents are the login entries of the login faults: per_hour
// attempts of the target user name while the fault lasts.
func (s *Sim) securityLoginEvents(t *tenant, now time.Time) []securityEvent {
	var out []securityEvent
	for _, c := range []struct {
		kind   Kind
		status idName
		rate   float64
	}{{FaultSecurityLoginFailures, statusFailed, 12}, {FaultSecurityIPBlocked, statusIPBlocked, 6}} {
		for _, w := range s.faults.faultsOf(c.kind, t.MID) {
			user := w.f.Target
			if user == "" || user == "*" {
				user = "unknown.user"
			}
			perHour := w.f.paramFloat("per_hour", c.rate)
			if perHour <= 0 {
				continue
			}
			step := time.Duration(float64(time.Hour) / perHour)
			for i, at := 0, w.start; !at.After(now) && (w.end.IsZero() || at.Before(w.end)) && i < 10000; i, at = i+1, at.Add(step) {
				h := mix(hashString(w.f.ID), uint64(i))
				out = append(out, securityEvent{ID: int64(h % 1e12), CreatedDate: fmtREST(at), MemberID: t.MID, EnterpriseID: t.MID,
					Employee: auditEmployee{UserName: user}, IPAddress: "198.51.100." + itoa(int(h%250)+1), SessionID: hashGUID(h, 2),
					UserAgent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
					EventType: idName{1, "Login Attempted"}, LoginStatus: c.status, EventSource: idName{11, "Hub CAS"}, at: at})
			}
		}
	}
	return out
}
