package sim

import (
	"net/http"
	"slices"
	"strings"
	"time"
)

// GET /data/v1/customobjectdata/key/{key}/rowset?$page=1&$pageSize=1
func (s *Sim) handleRowset(w http.ResponseWriter, r *http.Request, t *tenant, now time.Time) {
	de := t.deByKey[strings.ToLower(r.PathValue("key"))]
	if de == nil {
		restError(w, http.StatusNotFound, 404, "Not Found")
		return
	}
	page, size, _, _ := pageBounds(r, 0, 2500, 2500)
	rows := s.deRows(t, de, now)
	tok := hashGUID(hashString(de.ObjectID), uint64(now.Unix()/60))
	top := 0
	writeJSON(w, http.StatusOK, struct {
		Links struct {
			Self string `json:"self"`
		} `json:"links"`
		RequestToken       string `json:"requestToken"`
		TokenExpireDateUtc string `json:"tokenExpireDateUtc"`
		CustomObjectID     string `json:"customObjectId"`
		CustomObjectKey    string `json:"customObjectKey"`
		PageSize           int    `json:"pageSize"`
		Page               int    `json:"page"`
		Count              int64  `json:"count"`
		Top                int    `json:"top"`
	}{struct {
		Self string `json:"self"`
	}{"/v1/customobjectdata/token/" + tok + "/rowset?$page=" + itoa(page)},
		tok, now.UTC().Add(20 * time.Minute).Format("2006-01-02T15:04:05.999"), de.ObjectID, de.Key, size, page, rows, top})
}

type restImport struct {
	AllowErrors                   bool       `json:"allowErrors"`
	CustomerKey                   string     `json:"customerKey"`
	CreatedDate                   string     `json:"createdDate"`
	ModifiedDate                  string     `json:"modifiedDate"`
	DateFormatLocale              string     `json:"dateFormatLocale"`
	DeleteFile                    bool       `json:"deleteFile"`
	Description                   string     `json:"description,omitempty"`
	DestinationObjectID           string     `json:"destinationObjectId"`
	DestinationID                 int        `json:"destinationId"`
	DestinationObjectTypeID       int        `json:"destinationObjectTypeId"`
	DestinationName               string     `json:"destinationName,omitempty"`
	EncodingName                  string     `json:"encodingName,omitempty"`
	FieldMappings                 []fieldMap `json:"fieldMappings"`
	FieldMappingType              string     `json:"fieldMappingType"`
	FileNamingPattern             string     `json:"fileNamingPattern"`
	FileTransferLocationID        string     `json:"fileTransferLocationId"`
	FileTransferLocationName      string     `json:"fileTransferLocationName,omitempty"`
	FileType                      string     `json:"fileType"`
	Filter                        string     `json:"filter"`
	HasColumnHeader               bool       `json:"hasColumnHeader"`
	ImportDefinitionID            string     `json:"importDefinitionId"`
	IsOrderedImport               bool       `json:"isOrderedImport"`
	IsSequential                  bool       `json:"isSequential"`
	MaxFileAgeHours               int        `json:"maxFileAgeHours"`
	MaxImportFrequencyHours       int        `json:"maxImportFrequencyHours"`
	MaxFileAgeScheduleOffsetHours int        `json:"maxFileAgeScheduleOffsetHours"`
	Name                          string     `json:"name"`
	NotificationEmailAddress      string     `json:"notificationEmailAddress,omitempty"`
	SendEmailNotification         bool       `json:"sendEmailNotification"`
	StandardQuotedStrings         bool       `json:"standardQuotedStrings"`
	SubscriberImportTypeID        int        `json:"subscriberImportTypeId"`
	UpdateTypeID                  int        `json:"updateTypeId"`
	FileTransferLocationTypeID    int        `json:"fileTransferLocationTypeId"`
	BlankFileProcessingType       *int       `json:"blankFileProcessingType,omitempty"`
}

type fieldMap struct {
	SourceFieldName      string `json:"sourceFieldName"`
	DestinationFieldName string `json:"destinationFieldName"`
}

func restImportDef(im *importDef, detail bool) restImport {
	out := restImport{
		AllowErrors: im.AllowErrors, CustomerKey: im.Key, CreatedDate: fmtREST(im.Created), ModifiedDate: fmtREST(im.Modified),
		DateFormatLocale: "en-US", Description: im.Description, DestinationObjectTypeID: 310,
		FieldMappings: []fieldMap{}, FieldMappingType: im.FieldMappingType, FileNamingPattern: im.FileNamePattern,
		FileTransferLocationID: im.LocationID, FileType: "CSV", HasColumnHeader: true, ImportDefinitionID: im.ID,
		IsOrderedImport: true, IsSequential: true, Name: im.Name, StandardQuotedStrings: true,
		SubscriberImportTypeID: 255, UpdateTypeID: im.UpdateTypeID,
	}
	if im.Target != nil {
		out.DestinationObjectID = im.Target.ObjectID
		if im.FieldMappingType == "ManualMap" {
			for _, f := range im.Target.Fields {
				out.FieldMappings = append(out.FieldMappings, fieldMap{f.Name, f.Name})
			}
		}
		if detail {
			out.DestinationName = im.Target.Name
		}
	} else {
		out.DestinationObjectID = "00000000-0000-0000-0000-000000000000"
	}
	if detail {
		b := 2
		out.EncodingName, out.FileTransferLocationName, out.BlankFileProcessingType = "utf-8", im.LocationName, &b
	}
	return out
}

// GET /automation/v1/imports
func (s *Sim) handleImports(w http.ResponseWriter, r *http.Request, t *tenant, now time.Time) {
	page, size, lo, hi := pageBounds(r, len(t.Imports), 500, 500)
	items := make([]restImport, 0, hi-lo)
	for _, im := range t.Imports[lo:hi] {
		items = append(items, restImportDef(im, false))
	}
	writeJSON(w, http.StatusOK, struct {
		Page     int          `json:"page"`
		PageSize int          `json:"pageSize"`
		Count    int          `json:"count"`
		Items    []restImport `json:"items"`
	}{page, size, len(t.Imports), items})
}

// GET /automation/v1/imports/{id}
func (s *Sim) handleImport(w http.ResponseWriter, r *http.Request, t *tenant, now time.Time) {
	im := t.importByID[strings.ToLower(strings.TrimPrefix(r.PathValue("id"), "key:"))]
	if im == nil {
		restError(w, http.StatusNotFound, 404, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, restImportDef(im, true))
}

type idName struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
}

type auditEmployee struct {
	ID           *int64 `json:"id,omitempty"`
	EmployeeName string `json:"employeeName"`
	UserName     string `json:"userName"`
}

type auditEvent struct {
	ID           int64         `json:"id"`
	CreatedDate  string        `json:"createdDate"`
	MemberID     int64         `json:"memberId"`
	EnterpriseID int64         `json:"enterpriseId"`
	Employee     auditEmployee `json:"employee"`
	ObjectType   idName        `json:"objectType"`
	Operation    idName        `json:"operation"`
	Object       struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"object"`
	TransactionID string `json:"transactionId"`
	at            time.Time
}

var (
	opCreate = idName{1, "Create"}
	opUpdate = idName{2, "Update"}
	opStart  = idName{8, "Start"}
	opStop   = idName{9, "Stop"}
	opPause  = idName{10, "Pause"}
)

func (s *Sim) auditEvents(t *tenant, now time.Time) []auditEvent {
	var out []auditEvent
	add := func(at time.Time, u user, ot idName, op idName, id, name string) {
		if at.After(now) {
			return
		}
		uid := u.ID
		e := auditEvent{ID: int64(mix(hashString(id+op.Name), uint64(at.Unix())) % 1e12), CreatedDate: fmtREST(at),
			MemberID: t.MID, EnterpriseID: t.MID, Employee: auditEmployee{&uid, u.Name, u.UserName},
			ObjectType: ot, Operation: op, TransactionID: hashGUID(hashString(id), uint64(at.Unix())), at: at}
		e.Object.ID, e.Object.Name = id, name
		out = append(out, e)
	}
	for _, a := range t.Automations {
		add(a.Created, a.CreatedBy, idName{25, "Automation"}, opCreate, a.ID, a.Name)
		add(a.Modified, a.ModifiedBy, idName{25, "Automation"}, opUpdate, a.ID, a.Name)
		v := s.autoState(t, a, now)
		if !v.pausedAt.IsZero() {
			add(v.pausedAt, v.pausedBy, idName{25, "Automation"}, opPause, a.ID, a.Name)
		}
		for _, act := range a.Activities {
			if act.ObjectTypeID == objDataExtract {
				if rs := s.runs(t, a, now, 1); len(rs) > 0 {
					add(rs[0].start, systemUser, idName{73, "DataExtractActivity"}, opStart, act.ObjectID, act.Name)
				}
			}
		}
	}
	for _, j := range t.Journeys {
		add(j.Created, j.User, idName{1200, "Journey"}, opCreate, j.ID, j.Name)
		if !j.StopAt.IsZero() {
			add(j.StopAt, j.User, idName{1200, "Journey"}, opStop, j.ID, j.Name)
		}
		stopped, paused, _ := s.journeyWindows(t, j)
		for _, w := range stopped {
			add(w.start, j.User, idName{1200, "Journey"}, opStop, j.ID, j.Name)
		}
		for _, w := range paused {
			add(w.start, j.User, idName{1200, "Journey"}, opPause, j.ID, j.Name)
		}
	}
	for _, de := range t.DEs {
		_, mod := s.deFields(t, de, now)
		add(de.Created, t.Users[de.idx%len(t.Users)], idName{310, "DataExtension"}, opCreate, de.ObjectID, de.Name)
		if !mod.Equal(de.Created) {
			add(mod, t.Users[(de.idx+3)%len(t.Users)], idName{310, "DataExtension"}, opUpdate, de.ObjectID, de.Name)
		}
	}
	for _, ts := range t.TSDs {
		c := s.tsState(t, ts, now)
		if c.Status == "Inactive" && ts.BaseStatus == "Active" {
			for _, w := range s.faults.windows(FaultTriggeredSendInactive, t.MID, ts.Key, ts.Name, ts.ObjectID) {
				add(w.start, t.Users[ts.idx%len(t.Users)], idName{320, "TriggeredSendDefinition"}, opPause, ts.ObjectID, ts.Name)
			}
		}
	}
	out = append(out, s.securityAuditEvents(t, now)...)
	from := now.Add(-30 * 24 * time.Hour)
	out = slices.DeleteFunc(out, func(e auditEvent) bool { return e.at.Before(from) })
	slices.SortStableFunc(out, func(a, b auditEvent) int { return b.at.Compare(a.at) })
	return out
}

type auditPage[T any] struct {
	Page     int `json:"page"`
	PageSize int `json:"pageSize"`
	Count    int `json:"count"`
	Items    []T `json:"items"`
}

func window30(r *http.Request, now time.Time) (from, to time.Time) {
	from, to = now.Add(-30*24*time.Hour), now
	parse := func(v string) (time.Time, bool) {
		for _, l := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02"} {
			if t, err := time.ParseInLocation(l, v, cst); err == nil {
				return t, true
			}
		}
		return time.Time{}, false
	}
	if v, ok := parse(queryStr(r, "startdate")); ok {
		from = v
	}
	if v, ok := parse(queryStr(r, "enddate")); ok {
		to = v
	}
	return from, to
}

// GET /data/v1/audit/auditEvents?$page&$pagesize&startdate&enddate&$orderBy
func (s *Sim) handleAuditEvents(w http.ResponseWriter, r *http.Request, t *tenant, now time.Time) {
	from, to := window30(r, now)
	evs := slices.DeleteFunc(s.auditEvents(t, now), func(e auditEvent) bool { return e.at.Before(from) || e.at.After(to) })
	// Sorted newest first above; SFMC's default is ascending ("If you
	// don't provide the $orderBy parameter, the results are sorted by
	// createdDate in ascending order", getAuditEvents).
	if !strings.Contains(strings.ToLower(queryStr(r, "$orderBy")), "desc") {
		slices.Reverse(evs)
	}
	page, size, lo, hi := pageBounds(r, len(evs), 50, 1000)
	items := evs[lo:hi]
	if items == nil {
		items = []auditEvent{}
	}
	writeJSON(w, http.StatusOK, auditPage[auditEvent]{page, size, len(evs), items})
}

type securityEvent struct {
	ID           int64         `json:"id"`
	CreatedDate  string        `json:"createdDate"`
	MemberID     int64         `json:"memberId"`
	EnterpriseID int64         `json:"enterpriseId"`
	Employee     auditEmployee `json:"employee"`
	IPAddress    string        `json:"ipAddress"`
	SessionID    string        `json:"sessionId"`
	UserAgent    string        `json:"userAgent"`
	EventType    idName        `json:"eventType"`
	LoginStatus  idName        `json:"loginStatus"`
	EventSource  idName        `json:"eventSource"`
	at           time.Time
}

// GET /data/v1/audit/securityEvents
func (s *Sim) handleSecurityEvents(w http.ResponseWriter, r *http.Request, t *tenant, now time.Time) {
	from, to := window30(r, now)
	var evs []securityEvent
	day0 := now.Add(-30 * 24 * time.Hour).Truncate(24 * time.Hour)
	for d := day0; !d.After(now); d = d.Add(24 * time.Hour) {
		for ui, u := range t.Users {
			h := mix(uint64(d.Unix()), uint64(ui)+uint64(t.MID))
			if h%10 >= 6 {
				continue
			}
			at := d.Add(time.Duration(7*3600+int(h>>8)%(11*3600)) * time.Second)
			if at.After(now) || at.Before(from) || at.After(to) {
				continue
			}
			status := idName{4, "Successful"}
			if h%97 == 0 {
				status = idName{1, "Failed"} // Audit Trail Access Log: Failed (LoginStatusID = 1)
			}
			evs = append(evs, securityEvent{ID: int64(h % 1e12), CreatedDate: fmtREST(at), MemberID: t.MID, EnterpriseID: t.MID,
				Employee:  auditEmployee{EmployeeName: u.Name, UserName: u.UserName},
				IPAddress: "203.0.113." + itoa(int(h%250)+1), SessionID: hashGUID(h, 1),
				UserAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
				EventType: idName{1, "Login Attempted"}, LoginStatus: status, EventSource: idName{11, "Hub CAS"}, at: at})
		}
	}
	for _, e := range s.securityLoginEvents(t, now) {
		if !e.at.Before(from) && !e.at.After(to) {
			evs = append(evs, e)
		}
	}
	slices.SortStableFunc(evs, func(a, b securityEvent) int { return b.at.Compare(a.at) })
	// Ascending unless asked otherwise, as SFMC documents (getSecurityEvents).
	if !strings.Contains(strings.ToLower(queryStr(r, "$orderBy")), "desc") {
		slices.Reverse(evs)
	}
	page, size, lo, hi := pageBounds(r, len(evs), 50, 1000)
	items := evs[lo:hi]
	if items == nil {
		items = []securityEvent{}
	}
	writeJSON(w, http.StatusOK, auditPage[securityEvent]{page, size, len(evs), items})
}

func itoa(i int) string { return strconvItoa(i) }
