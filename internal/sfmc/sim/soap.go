package sim

import (
	"bytes"
	"encoding/xml"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	nsSOAP    = "http://schemas.xmlsoap.org/soap/envelope/"
	nsPartner = "http://exacttarget.com/wsdl/partnerAPI"
)

// ---------------------------------------------------------------- request

type soapEnvelope struct {
	Header struct {
		FuelOAuth string `xml:"fueloauth"`
	} `xml:"Header"`
	Body struct {
		Retrieve *struct {
			Req retrieveRequest `xml:"RetrieveRequest"`
		} `xml:"RetrieveRequestMsg"`
	} `xml:"Body"`
}

type retrieveRequest struct {
	ObjectType      string   `xml:"ObjectType"`
	Properties      []string `xml:"Properties"`
	Filter          *xFilter `xml:"Filter"`
	ContinueRequest string   `xml:"ContinueRequest"`
}

type xFilter struct {
	Type               string    `xml:"http://www.w3.org/2001/XMLSchema-instance type,attr"`
	Property           string    `xml:"Property"`
	SimpleOperator     string    `xml:"SimpleOperator"`
	Value              []string  `xml:"Value"`
	DateValue          []string  `xml:"DateValue"`
	LeftOperand        *xFilter  `xml:"LeftOperand"`
	LogicalOperator    string    `xml:"LogicalOperator"`
	RightOperand       *xFilter  `xml:"RightOperand"`
	AdditionalOperands []xFilter `xml:"AdditionalOperands>Operand"`
}

// ---------------------------------------------------------------- objects

// xnode is one element of a SOAP result object.
type xnode struct {
	name  string
	value string
	nil   bool
	kids  []xnode
}

func el(name, value string) xnode          { return xnode{name: name, value: value} }
func elNil(name string) xnode              { return xnode{name: name, nil: true} }
func elKids(name string, k ...xnode) xnode { return xnode{name: name, kids: k} }
func elInt(name string, v int64) xnode     { return el(name, strconv.FormatInt(v, 10)) }
func elBool(name string, v bool) xnode     { return el(name, strconv.FormatBool(v)) }
func elTime(name string, t time.Time) xnode {
	return el(name, t.In(cst).Format("2006-01-02T15:04:05.999"))
}

type soapObj struct {
	typ    string
	fields []xnode
	extra  map[string]string // extra filterable properties
}

// prop looks up a filterable property by its dotted path, compared
// case-insensitively ("email.id"); the first field of a name wins, then
// the extra properties. It walks the fields instead of building a map per
// object: a Retrieve filters thousands of objects on one or two paths.
func (o soapObj) prop(path string) (string, bool) {
	if v, ok := fieldPath(o.fields, path); ok {
		return v, true
	}
	for k, v := range o.extra {
		if strings.EqualFold(k, path) {
			return v, true
		}
	}
	return "", false
}

func fieldPath(ns []xnode, path string) (string, bool) {
	head, rest, nested := strings.Cut(path, ".")
	for _, n := range ns {
		if !strings.EqualFold(n.name, head) {
			continue
		}
		switch {
		case nested && len(n.kids) > 0:
			if v, ok := fieldPath(n.kids, rest); ok {
				return v, true
			}
		case !nested && len(n.kids) == 0:
			return n.value, true
		}
	}
	return "", false
}

// projection is the set of properties a Retrieve asked for.
type projection map[string]bool

func newProjection(props []string) projection {
	if len(props) == 0 {
		return nil
	}
	want := projection{}
	for _, p := range props {
		p = strings.ToLower(strings.TrimSpace(p))
		want[p] = true
		if head, _, ok := strings.Cut(p, "."); ok {
			want[head] = true
		}
	}
	return want
}

// project keeps the requested properties (all when none were asked for).
func (o soapObj) project(want projection) soapObj {
	if want == nil {
		return o
	}
	var buf [32]byte
	out := soapObj{typ: o.typ, extra: o.extra, fields: make([]xnode, 0, len(want)+2)}
	for _, f := range o.fields {
		n := lowerASCII(&buf, f.name)
		switch {
		case n == "partnerkey":
			out.fields = append(out.fields, f)
		case n == "objectid" && !want[n]:
			out.fields = append(out.fields, elNil("ObjectID"))
		case want[n]:
			out.fields = append(out.fields, f)
		}
	}
	return out
}

// lowerASCII lower-cases s into buf when it fits (names do), without
// allocating for the map lookups it feeds.
func lowerASCII(buf *[32]byte, s string) string {
	if len(s) > len(buf) {
		return strings.ToLower(s)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return string(buf[:len(s)])
}

// ---------------------------------------------------------------- filters

func (f *xFilter) complex() bool {
	t := f.Type
	if i := strings.LastIndex(t, ":"); i >= 0 {
		t = t[i+1:]
	}
	return t == "ComplexFilterPart" || (t == "" && f.LeftOperand != nil)
}

type filterError struct{ msg string }

func (e *filterError) Error() string { return e.msg }

func (f *xFilter) match(p func(string) (string, bool)) (bool, error) {
	if f == nil {
		return true, nil
	}
	if f.complex() {
		ops := []*xFilter{f.LeftOperand, f.RightOperand}
		for i := range f.AdditionalOperands {
			ops = append(ops, &f.AdditionalOperands[i])
		}
		and := !strings.EqualFold(strings.TrimSpace(f.LogicalOperator), "OR")
		res := and
		for _, op := range ops {
			if op == nil {
				continue
			}
			ok, err := op.match(p)
			if err != nil {
				return false, err
			}
			if and {
				res = res && ok
			} else {
				res = res || ok
			}
		}
		return res, nil
	}
	prop := strings.ToLower(strings.TrimSpace(f.Property))
	v, has := p(prop)
	op := strings.TrimSpace(f.SimpleOperator)
	vals := slices.Concat(f.Value, f.DateValue)
	if !has {
		if !knownNilProps[prop] {
			return false, &filterError{"Error: The Filter Property '" + f.Property + "' is not a retrievable property."}
		}
	}
	first := ""
	if len(vals) > 0 {
		first = strings.TrimSpace(vals[0])
	}
	switch strings.ToLower(op) {
	case "equals":
		return has && strings.EqualFold(v, first), nil
	case "notequals":
		return !has || !strings.EqualFold(v, first), nil
	case "in":
		for _, x := range vals {
			if has && strings.EqualFold(v, strings.TrimSpace(x)) {
				return true, nil
			}
		}
		return false, nil
	case "isnull":
		return !has || v == "", nil
	case "isnotnull":
		return has && v != "", nil
	case "like", "contains", "existsinstring":
		return has && strings.Contains(strings.ToLower(v), strings.ToLower(strings.Trim(first, "%"))), nil
	case "beginswith":
		return has && strings.HasPrefix(strings.ToLower(v), strings.ToLower(first)), nil
	case "endswith":
		return has && strings.HasSuffix(strings.ToLower(v), strings.ToLower(first)), nil
	case "greaterthan", "lessthan", "greaterthanorequal", "lessthanorequal", "between":
		if !has {
			return false, nil
		}
		c := compareValues(v, first)
		switch strings.ToLower(op) {
		case "greaterthan":
			return c > 0, nil
		case "lessthan":
			return c < 0, nil
		case "greaterthanorequal":
			return c >= 0, nil
		case "lessthanorequal":
			return c <= 0, nil
		default:
			if len(vals) < 2 {
				return false, &filterError{"Error: between requires two values."}
			}
			return c >= 0 && compareValues(v, strings.TrimSpace(vals[1])) <= 0, nil
		}
	}
	return false, &filterError{"Error: The Filter Operator '" + op + "' is not supported."}
}

// knownNilProps are properties that exist but may be empty.
var knownNilProps = map[string]bool{"completedtime": true, "statusmessage": true, "enddate": true, "description": true, "lastruntime": true}

func parseTimeValue(s string) (time.Time, bool) {
	for _, l := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999", "2006-01-02T15:04:05", "2006-01-02", "1/2/2006 3:04:05 PM"} {
		if t, err := time.ParseInLocation(l, s, cst); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func compareValues(a, b string) int {
	if x, err := strconv.ParseFloat(a, 64); err == nil {
		if y, err := strconv.ParseFloat(b, 64); err == nil {
			switch {
			case x < y:
				return -1
			case x > y:
				return 1
			}
			return 0
		}
	}
	if x, ok := parseTimeValue(a); ok {
		if y, ok := parseTimeValue(b); ok {
			return x.Compare(y)
		}
	}
	return strings.Compare(a, b)
}

// ---------------------------------------------------------------- paging

type continuation struct {
	mid     int64
	objects []soapObj
	created time.Time
}

type continuations struct {
	mu      sync.Mutex
	n       uint64
	m       map[string]*continuation
	objects int // objects held by all entries
}

// Limits of the continuation store: clients that stop paging (a deadline,
// a budget) leave their rest behind, and many business units paging large
// retrieves at once must not hold the process's memory. The oldest entry
// goes first; its continue request then answers "not valid or has
// expired", as SFMC's do.
const (
	maxContinuations       = 256
	maxContinuationObjects = 100_000
	continuationTTL        = 15 * time.Minute // real time
)

func (c *continuations) put(seed uint64, cont *continuation) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]*continuation{}
	}
	c.n++
	id := hashGUID(seed, c.n, 0xc0)
	for k, v := range c.m {
		if cont.created.Sub(v.created) > continuationTTL {
			c.drop(k)
		}
	}
	for len(c.m) > 0 && (len(c.m) >= maxContinuations || c.objects+len(cont.objects) > maxContinuationObjects) {
		var oldest string
		for k, v := range c.m {
			if oldest == "" || v.created.Before(c.m[oldest].created) {
				oldest = k
			}
		}
		c.drop(oldest)
	}
	c.m[id] = cont
	c.objects += len(cont.objects)
	return id
}

func (c *continuations) drop(id string) {
	if v, ok := c.m[id]; ok {
		c.objects -= len(v.objects)
		delete(c.m, id)
	}
}

func (c *continuations) take(id string) *continuation {
	c.mu.Lock()
	defer c.mu.Unlock()
	cont := c.m[id]
	c.drop(id)
	return cont
}

// ---------------------------------------------------------------- handler

var soapScopes = map[string]string{
	"Automation": "automations_read", "AutomationInstance": "automations_read", "AutomationActivityInstance": "automations_read",
	"TriggeredSendDefinition": "email_read", "TriggeredSendSummary": "email_read", "Send": "email_read",
	"DataExtension": "data_extensions_read", "DataExtensionField": "data_extensions_read",
	"ImportDefinition": "automations_read", "ImportResultsSummary": "automations_read",
}

func (s *Sim) handleSOAP(w http.ResponseWriter, r *http.Request) {
	base := s.baseURL(r)
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 4<<20))
	if err != nil {
		http.Error(w, "Bad Request", http.StatusBadRequest)
		return
	}
	action := strings.Trim(strings.TrimSpace(r.Header.Get("SOAPAction")), `"`)
	var env soapEnvelope
	if err := xml.Unmarshal(raw, &env); err != nil {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte("Bad Request"))
		return
	}
	if rn, ok := r.Context().Value(ctxKey{}).(*routeName); ok {
		rn.name = "SOAP " + action
		if env.Body.Retrieve != nil {
			rn.name = "SOAP Retrieve " + env.Body.Retrieve.Req.ObjectType
			if env.Body.Retrieve.Req.ContinueRequest != "" {
				rn.name = "SOAP Retrieve (continue)"
			}
		}
	}
	if env.Body.Retrieve == nil || (action != "" && !strings.EqualFold(action, "Retrieve")) {
		soapFault(w, base, "soap:Client", "Server did not recognize the value of HTTP Header SOAPAction: "+action+".", "")
		return
	}
	now := s.clock.Now()
	tok, valid := s.tokens.lookup(strings.TrimSpace(env.Header.FuelOAuth), s.clock.RealNow())
	switch {
	case tok == nil:
		soapSecurityFault(w, base, "Login Failed")
		return
	case !valid:
		soapSecurityFault(w, base, "Token Expired")
		return
	}
	req := env.Body.Retrieve.Req
	rc := reqCtx{surface: "soap", path: r.URL.Path, mid: tok.mid, scope: soapScopes[req.ObjectType]}
	if since, f := s.faults.tokenExpiredSince(now, rc); f != nil && !tok.issuedSim.After(since) {
		s.faults.use(f.ID)
		soapSecurityFault(w, base, "Token Expired")
		return
	}
	if s.applyRequestFaults(w, r, rc) {
		return
	}
	t := s.tenants[tok.mid]
	reqID := hashGUID(uint64(s.opts.Seed), uint64(now.UnixNano()), hashString(string(raw)))
	if req.ContinueRequest != "" {
		cont := s.conts.take(strings.TrimSpace(req.ContinueRequest))
		if cont == nil || cont.mid != tok.mid {
			writeRetrieve(w, base, "Error: The continue request is not valid or has expired.", reqID, nil)
			return
		}
		s.retrievePage(w, base, cont.mid, cont.objects)
		return
	}
	scope, supported := soapScopes[req.ObjectType]
	if !supported {
		writeRetrieve(w, base, "Error: Unable to find a handler for object type: "+req.ObjectType+". Object types are case-sensitive, check spelling.", reqID, nil)
		return
	}
	if f := s.faults.take(now, rc, FaultScopeRemoved); f != nil || !hasScope(tok.scopes, scope) {
		writeRetrieve(w, base, "Error: Insufficient Privileges", reqID, nil)
		return
	}
	var objs []soapObj
	if req.ObjectType == "Send" {
		objs = s.soapSends(t, req.Filter, now) // only the jobs the date filter asks for
	} else {
		objs = s.soapObjects(t, req.ObjectType, now)
	}
	var sel []soapObj
	want := newProjection(req.Properties)
	for _, o := range objs {
		ok, err := req.Filter.match(o.prop)
		if err != nil {
			writeRetrieve(w, base, err.Error(), reqID, nil)
			return
		}
		if ok {
			sel = append(sel, o.project(want))
		}
	}
	s.retrievePage(w, base, tok.mid, sel)
}

func (s *Sim) retrievePage(w http.ResponseWriter, base string, mid int64, objs []soapObj) {
	size := s.opts.SOAPPageSize
	now := s.clock.Now()
	if len(objs) > size {
		id := s.conts.put(uint64(s.opts.Seed)^uint64(now.UnixNano()), &continuation{mid: mid, objects: slices.Clone(objs[size:]), created: s.clock.RealNow()})
		writeRetrieve(w, base, "MoreDataAvailable", id, objs[:size])
		return
	}
	writeRetrieve(w, base, "OK", hashGUID(uint64(now.UnixNano()), uint64(len(objs)), 0x0c), objs)
}

// ---------------------------------------------------------------- writers

func xmlEsc(s string) string {
	if plainXML(s) {
		return s
	}
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// plainXML reports text that xml.EscapeText would leave as it is: printable
// ASCII without markup characters.
func plainXML(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c >= 0x7f, c == '<', c == '>', c == '&', c == '\'', c == '"':
			return false
		}
	}
	return true
}

func writeNode(b *strings.Builder, n xnode) {
	switch {
	case n.nil:
		b.WriteString("<" + n.name + ` xsi:nil="true" />`)
	case len(n.kids) > 0:
		b.WriteString("<" + n.name + ">")
		for _, k := range n.kids {
			writeNode(b, k)
		}
		b.WriteString("</" + n.name + ">")
	case n.value == "":
		b.WriteString("<" + n.name + " />")
	default:
		b.WriteByte('<')
		b.WriteString(n.name)
		b.WriteByte('>')
		b.WriteString(xmlEsc(n.value))
		b.WriteString("</")
		b.WriteString(n.name)
		b.WriteByte('>')
	}
}

func envelopeStart(b *strings.Builder, action string) {
	now := time.Now().UTC()
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd">`)
	b.WriteString("<soap:Header><wsa:Action>" + action + "</wsa:Action>")
	b.WriteString("<wsa:MessageID>urn:uuid:" + hashGUID(uint64(now.UnixNano()), 1) + "</wsa:MessageID>")
	b.WriteString("<wsa:RelatesTo>urn:uuid:" + hashGUID(uint64(now.UnixNano()), 2) + "</wsa:RelatesTo>")
	b.WriteString("<wsa:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsa:To>")
	b.WriteString(`<wsse:Security><wsu:Timestamp wsu:Id="Timestamp-` + hashGUID(uint64(now.UnixNano()), 3) + `"><wsu:Created>` +
		now.Format("2006-01-02T15:04:05Z") + "</wsu:Created><wsu:Expires>" + now.Add(5*time.Minute).Format("2006-01-02T15:04:05Z") +
		"</wsu:Expires></wsu:Timestamp></wsse:Security></soap:Header><soap:Body>")
}

func writeRetrieve(w http.ResponseWriter, _ string, status, reqID string, objs []soapObj) {
	var b strings.Builder
	envelopeStart(&b, "RetrieveResponse")
	b.WriteString(`<RetrieveResponseMsg xmlns="` + nsPartner + `"><OverallStatus>` + xmlEsc(status) + "</OverallStatus><RequestID>" + reqID + "</RequestID>")
	for _, o := range objs {
		b.WriteString(`<Results xsi:type="` + o.typ + `">`)
		for _, f := range o.fields {
			writeNode(&b, f)
		}
		b.WriteString("</Results>")
	}
	b.WriteString("</RetrieveResponseMsg></soap:Body></soap:Envelope>")
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, b.String())
}

func soapFault(w http.ResponseWriter, base, code, msg, detail string) {
	var b strings.Builder
	envelopeStart(&b, "http://schemas.xmlsoap.org/ws/2004/08/addressing/fault")
	b.WriteString("<soap:Fault><faultcode>" + code + "</faultcode><faultstring>" + xmlEsc(msg) + "</faultstring><faultactor>" +
		xmlEsc(strings.TrimSuffix(base, "/")+"/Service.asmx") + "</faultactor>" + detail + "</soap:Fault></soap:Body></soap:Envelope>")
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	_, _ = io.WriteString(w, b.String())
}

func soapSecurityFault(w http.ResponseWriter, base, msg string) {
	var b strings.Builder
	envelopeStart(&b, "http://schemas.xmlsoap.org/ws/2004/08/addressing/fault")
	b.WriteString(`<soap:Fault><faultcode xmlns:q0="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd">q0:Security</faultcode><faultstring>` +
		xmlEsc(msg) + "</faultstring><faultactor>" + xmlEsc(strings.TrimSuffix(base, "/")+"/Service.asmx") + "</faultactor></soap:Fault></soap:Body></soap:Envelope>")
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	_, _ = io.WriteString(w, b.String())
}

func soapServerFault(w http.ResponseWriter, base, msg string, code int) {
	detail := `<detail><apifault xmlns="urn:fault.partner.exacttarget.com" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><Code>` +
		strconv.Itoa(code) + "</Code><Message>" + xmlEsc(msg) + "</Message></apifault></detail>"
	soapFault(w, base, "soap:Server", msg, detail)
}
