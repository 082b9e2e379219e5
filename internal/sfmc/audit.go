package sfmc

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// AuditEvent is one Audit Trail entry (who did what to which object).
type AuditEvent struct {
	ID            int64
	Time          time.Time
	MemberID      int64
	Employee      string // user name
	EmployeeID    int64  // employee.id (0: not given)
	ObjectType    string
	Operation     string
	ObjectID      string
	ObjectName    string
	TransactionID string
}

// SecurityEvent is one login/security Audit Trail entry.
type SecurityEvent struct {
	ID          int64
	Time        time.Time
	MemberID    int64
	Employee    string
	EventType   string // Login Attempted, …
	LoginStatus string // Successful, …
	Source      string
	IPAddress   string
}

type named struct {
	ID   json.Number `json:"id"`
	Name string      `json:"name"`
}

type auditItem struct {
	ID          int64    `json:"id"`
	CreatedDate jsonTime `json:"createdDate"`
	MemberID    int64    `json:"memberId"`
	Employee    struct {
		ID           json.Number `json:"id"`
		UserName     string      `json:"userName"`
		EmployeeName string      `json:"employeeName"`
	} `json:"employee"`
	ObjectType named `json:"objectType"`
	Operation  named `json:"operation"`
	Object     struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"object"`
	TransactionID string `json:"transactionId"`
	IPAddress     string `json:"ipAddress"`
	EventType     named  `json:"eventType"`
	LoginStatus   named  `json:"loginStatus"`
	EventSource   named  `json:"eventSource"`
}

const scopeAudit = "tracking_events_read"

// auditPages reads an audit feed between from and to (zero: SFMC default
// window of 30 days), up to maxPages (0: MaxPages). The docs show the page
// object wrapped in an array; both shapes are accepted.
func (c *Client) auditPages(ctx context.Context, endpoint string, from, to time.Time, maxPages int, add func(auditItem)) error {
	size := c.pageSize(500)
	if maxPages <= 0 {
		maxPages = c.opt.MaxPages
	}
	for page := 1; page <= maxPages; page++ {
		q := url.Values{"$page": {strconv.Itoa(page)}, "$pagesize": {strconv.Itoa(size)}, "$orderBy": {"createdDate asc"}}
		if !from.IsZero() {
			q.Set("startdate", from.UTC().Format(time.RFC3339))
		}
		if !to.IsZero() {
			q.Set("enddate", to.UTC().Format(time.RFC3339))
		}
		resp, err := c.getFeed(ctx, endpoint, scopeAudit, endpoint, q, nil)
		if err != nil {
			return err
		}
		type pg struct {
			Count    int         `json:"count"`
			PageSize int         `json:"pageSize"`
			Items    []auditItem `json:"items"`
		}
		var p pg
		b := bytes.TrimSpace(resp.body)
		if len(b) > 0 && b[0] == '[' {
			var arr []pg
			err = json.Unmarshal(b, &arr)
			if len(arr) > 0 {
				p = arr[0]
			}
		} else {
			err = json.Unmarshal(b, &p)
		}
		if err != nil {
			return &APIError{Tenant: c.tenant.Name, Method: http.MethodGet, Endpoint: endpoint, Status: resp.status,
				Kind: KindDecode, Message: "unexpected JSON shape", Result: resp.result}
		}
		for _, it := range p.Items {
			add(it)
		}
		per := size
		if p.PageSize > 0 && p.PageSize < per {
			per = p.PageSize
		}
		if len(p.Items) == 0 || len(p.Items) < per || (p.Count > 0 && page*per >= p.Count) {
			return nil
		}
	}
	return nil
}

// AuditEvents reads Audit Trail events in [from, to].
func (c *Client) AuditEvents(ctx context.Context, from, to time.Time, maxPages int) ([]AuditEvent, error) {
	var out []AuditEvent
	err := c.auditPages(ctx, "/data/v1/audit/auditEvents", from, to, maxPages, func(it auditItem) {
		eid, _ := it.Employee.ID.Int64()
		out = append(out, AuditEvent{ID: it.ID, Time: it.CreatedDate.Time, MemberID: it.MemberID, Employee: it.Employee.UserName, EmployeeID: eid,
			ObjectType: it.ObjectType.Name, Operation: it.Operation.Name, ObjectID: it.Object.ID, ObjectName: it.Object.Name,
			TransactionID: it.TransactionID})
	})
	return out, err
}

// SecurityEvents reads login/security events in [from, to].
func (c *Client) SecurityEvents(ctx context.Context, from, to time.Time, maxPages int) ([]SecurityEvent, error) {
	var out []SecurityEvent
	err := c.auditPages(ctx, "/data/v1/audit/securityEvents", from, to, maxPages, func(it auditItem) {
		out = append(out, SecurityEvent{ID: it.ID, Time: it.CreatedDate.Time, MemberID: it.MemberID, Employee: it.Employee.UserName,
			EventType: it.EventType.Name, LoginStatus: it.LoginStatus.Name, Source: it.EventSource.Name, IPAddress: it.IPAddress})
	})
	return out, err
}
