package sfmc

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
)

// SOAP namespaces.
const (
	nsSOAPEnv = "http://schemas.xmlsoap.org/soap/envelope/"
	nsPartner = "http://exacttarget.com/wsdl/partnerAPI"
	nsXSI     = "http://www.w3.org/2001/XMLSchema-instance"
	nsFuel    = "http://exacttarget.com"
)

// Filter is a SOAP Retrieve filter: build one with Equals, In, Compare, And, Or.
type Filter interface{ filterType() string }

// SimpleFilter is a SimpleFilterPart.
type SimpleFilter struct {
	Property string
	Operator string // equals, IN, greaterThan, between, …
	Values   []string
	Dates    []time.Time
}

func (SimpleFilter) filterType() string { return "SimpleFilterPart" }

// ComplexFilter is a ComplexFilterPart joining operands with AND or OR.
type ComplexFilter struct {
	Op       string // AND or OR
	Operands []Filter
}

func (ComplexFilter) filterType() string { return "ComplexFilterPart" }

// Equals filters property = value.
func Equals(property, value string) Filter {
	return SimpleFilter{Property: property, Operator: "equals", Values: []string{value}}
}

// In filters property IN values (a single value becomes equals).
func In(property string, values ...string) Filter {
	if len(values) == 1 {
		return Equals(property, values[0])
	}
	return SimpleFilter{Property: property, Operator: "IN", Values: append([]string(nil), values...)}
}

// Compare filters a property with any SimpleOperator and string values.
func Compare(property, operator string, values ...string) Filter {
	return SimpleFilter{Property: property, Operator: operator, Values: values}
}

// After filters a date property greaterThan t.
func After(property string, t time.Time) Filter {
	return SimpleFilter{Property: property, Operator: "greaterThan", Dates: []time.Time{t}}
}

// And joins filters with AND (nil operands are dropped).
func And(fs ...Filter) Filter { return join("AND", fs) }

// Or joins filters with OR (nil operands are dropped).
func Or(fs ...Filter) Filter { return join("OR", fs) }

func join(op string, fs []Filter) Filter {
	var ops []Filter
	for _, f := range fs {
		if f != nil {
			ops = append(ops, f)
		}
	}
	switch len(ops) {
	case 0:
		return nil
	case 1:
		return ops[0]
	}
	return ComplexFilter{Op: op, Operands: ops}
}

// RetrieveRequest is a SOAP Retrieve.
type RetrieveRequest struct {
	ObjectType string
	Properties []string
	Filter     Filter
	// QueryAllAccounts reads child BUs too (enterprise parent only).
	QueryAllAccounts bool
}

// xmlFilter marshals a Filter with its xsi:type.
type xmlFilter struct {
	name string
	f    Filter
}

func (x xmlFilter) MarshalXML(e *xml.Encoder, _ xml.StartElement) error {
	start := xml.StartElement{Name: xml.Name{Local: x.name},
		Attr: []xml.Attr{{Name: xml.Name{Local: "xsi:type"}, Value: x.f.filterType()}}}
	if err := e.EncodeToken(start); err != nil {
		return err
	}
	switch f := x.f.(type) {
	case SimpleFilter:
		if err := e.EncodeElement(f.Property, xml.StartElement{Name: xml.Name{Local: "Property"}}); err != nil {
			return err
		}
		if err := e.EncodeElement(f.Operator, xml.StartElement{Name: xml.Name{Local: "SimpleOperator"}}); err != nil {
			return err
		}
		for _, v := range f.Values {
			if err := e.EncodeElement(v, xml.StartElement{Name: xml.Name{Local: "Value"}}); err != nil {
				return err
			}
		}
		for _, d := range f.Dates {
			if err := e.EncodeElement(d.UTC().Format(time.RFC3339), xml.StartElement{Name: xml.Name{Local: "DateValue"}}); err != nil {
				return err
			}
		}
	case ComplexFilter:
		if len(f.Operands) < 2 {
			return fmt.Errorf("complex filter needs two operands, has %d", len(f.Operands))
		}
		if err := e.Encode(xmlFilter{"LeftOperand", f.Operands[0]}); err != nil {
			return err
		}
		if err := e.EncodeElement(f.Op, xml.StartElement{Name: xml.Name{Local: "LogicalOperator"}}); err != nil {
			return err
		}
		if err := e.Encode(xmlFilter{"RightOperand", f.Operands[1]}); err != nil {
			return err
		}
		if len(f.Operands) > 2 {
			as := xml.StartElement{Name: xml.Name{Local: "AdditionalOperands"}}
			if err := e.EncodeToken(as); err != nil {
				return err
			}
			for _, o := range f.Operands[2:] {
				if err := e.Encode(xmlFilter{"Operand", o}); err != nil {
					return err
				}
			}
			if err := e.EncodeToken(as.End()); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("unsupported filter %T", x.f)
	}
	return e.EncodeToken(start.End())
}

type xmlRetrieveRequest struct {
	ObjectType       string     `xml:"ObjectType,omitempty"`
	Properties       []string   `xml:"Properties"`
	Filter           *xmlFilter `xml:"Filter,omitempty"`
	ContinueRequest  string     `xml:"ContinueRequest,omitempty"`
	QueryAllAccounts bool       `xml:"QueryAllAccounts,omitempty"`
	Options          *struct {
		BatchSize int `xml:"BatchSize,omitempty"`
	} `xml:"Options,omitempty"`
}

type xmlEnvelope struct {
	XMLName  xml.Name `xml:"s:Envelope"`
	NSs      string   `xml:"xmlns:s,attr"`
	NSxsi    string   `xml:"xmlns:xsi,attr"`
	Header   xmlHeader
	BodyElem struct {
		XMLName xml.Name `xml:"s:Body"`
		Content any
	}
}

type xmlHeader struct {
	XMLName   xml.Name `xml:"s:Header"`
	FuelOAuth struct {
		XMLName xml.Name `xml:"fueloauth"`
		NS      string   `xml:"xmlns,attr"`
		Token   string   `xml:",chardata"`
	}
}

type xmlRetrieveMsg struct {
	XMLName xml.Name           `xml:"RetrieveRequestMsg"`
	NS      string             `xml:"xmlns,attr"`
	Req     xmlRetrieveRequest `xml:"RetrieveRequest"`
}

// buildEnvelope renders a SOAP 1.1 envelope with the token in fueloauth.
func buildEnvelope(token string, content any) ([]byte, error) {
	var env xmlEnvelope
	env.NSs, env.NSxsi = nsSOAPEnv, nsXSI
	env.Header.FuelOAuth.NS = nsFuel
	env.Header.FuelOAuth.Token = token
	env.BodyElem.Content = content
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	if err := xml.NewEncoder(&buf).Encode(env); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func retrieveBody(req RetrieveRequest, cont string, batch int) (func(string) []byte, error) {
	x := xmlRetrieveRequest{ObjectType: req.ObjectType, Properties: req.Properties, QueryAllAccounts: req.QueryAllAccounts}
	if cont != "" {
		// A continuation carries only the request id.
		x = xmlRetrieveRequest{ContinueRequest: cont}
	} else if req.Filter != nil {
		x.Filter = &xmlFilter{name: "Filter", f: req.Filter}
	}
	if batch > 0 {
		x.Options = &struct {
			BatchSize int `xml:"BatchSize,omitempty"`
		}{batch}
	}
	msg := xmlRetrieveMsg{NS: nsPartner, Req: x}
	// Validate once without a token so encoding errors surface here.
	if _, err := buildEnvelope("", msg); err != nil {
		return nil, fmt.Errorf("sfmc: encode %s retrieve: %w", req.ObjectType, err)
	}
	return func(tok string) []byte {
		b, _ := buildEnvelope(tok, msg)
		return b
	}, nil
}

// soapFault is a SOAP 1.1 fault with SFMC's apifault detail.
type soapFault struct {
	Code   string `xml:"faultcode"`
	String string `xml:"faultstring"`
	Detail struct {
		APIFault struct {
			Code    string `xml:"Code"`
			Message string `xml:"Message"`
		} `xml:"apifault"`
	} `xml:"detail"`
}

// soapResult is a per-object result of Create/Update/Perform/Schedule.
type soapResult struct {
	StatusCode    string `xml:"StatusCode"`
	StatusMessage string `xml:"StatusMessage"`
	ErrorCode     string `xml:"ErrorCode"`
	Result        *struct {
		StatusCode    string `xml:"StatusCode"`
		StatusMessage string `xml:"StatusMessage"`
		ErrorCode     string `xml:"ErrorCode"`
		Task          *struct {
			StatusCode string `xml:"StatusCode"`
			ID         string `xml:"ID"`
		} `xml:"Task"`
	} `xml:"Result"`
}

// soapMsg is any *ResponseMsg: Retrieve results of T, or method results.
type soapMsg[T any] struct {
	XMLName              xml.Name
	OverallStatus        string `xml:"OverallStatus"`
	OverallStatusMessage string `xml:"OverallStatusMessage"`
	RequestID            string `xml:"RequestID"`
	Results              []T    `xml:"Results"`
}

type soapEnvelope[T any] struct {
	Body struct {
		Fault *soapFault  `xml:"Fault"`
		Msg   *soapMsg[T] `xml:",any"`
	} `xml:"Body"`
}

func decodeSOAP[T any](body []byte) (*soapEnvelope[T], error) {
	var env soapEnvelope[T]
	if err := xml.Unmarshal(body, &env); err != nil {
		return nil, err
	}
	return &env, nil
}

// decodePage decodes one Retrieve page: with scanRetrieve when the record
// type reads itself and the body is in its subset, else with encoding/xml.
func decodePage[T any](body []byte) (*soapEnvelope[T], error) {
	if msg, ok := scanRetrieve[T](body); ok {
		var env soapEnvelope[T]
		env.Body.Msg = msg
		return &env, nil
	}
	return decodeSOAP[T](body)
}

// judgeSOAP reads faults and OverallStatus; SOAP throttling and expired
// tokens arrive as HTTP 500 faults, not as 429/401.
func (c *Client) judgeSOAP(r *request, resp *response, ra time.Duration) verdict {
	v := verdict{retryAfter: ra}
	if resp.status >= 200 && resp.status < 300 {
		if os, ok := retrieveHead(resp.body); ok && (strings.EqualFold(os, "OK") || strings.EqualFold(os, "MoreDataAvailable")) {
			// A successful Retrieve: its Results are records, read once by
			// the caller's decode (which also fails a body cut short).
			v.ok = true
			return v
		}
	}
	env, err := decodeSOAP[soapResult](resp.body)
	if err != nil || (env.Body.Fault == nil && env.Body.Msg == nil) {
		// Not a SOAP document (e.g. a bare "Bad Request" or an HTML error page).
		v.message = c.scrub(shorten(string(resp.body), 200))
		switch st := resp.status; {
		case st == http.StatusUnauthorized:
			v.kind, v.refresh = KindAuth, true
		case st == http.StatusForbidden:
			v.kind = KindForbidden
		case st == http.StatusTooManyRequests:
			v.kind, v.retry, v.throttled = KindRateLimited, true, true
		case st == http.StatusRequestTimeout || st == http.StatusGatewayTimeout:
			v.kind, v.retry = KindTimeout, true
		case st >= 500:
			v.kind, v.retry = KindServer, true
		case st >= 200 && st < 300:
			v.kind, v.message = KindDecode, "response is not a SOAP envelope"
		default:
			v.kind = KindClient
		}
		return v
	}
	if f := env.Body.Fault; f != nil {
		code := f.Code
		if i := strings.LastIndexByte(code, ':'); i >= 0 {
			code = code[i+1:]
		}
		msg := f.String
		if f.Detail.APIFault.Code != "" {
			code = f.Detail.APIFault.Code
			if f.Detail.APIFault.Message != "" {
				msg = f.Detail.APIFault.Message
			}
		}
		v.code, v.message = code, c.scrub(shorten(msg, 300))
		lm := strings.ToLower(f.String)
		switch {
		case strings.EqualFold(code, "Security") || strings.Contains(lm, "token expired") || strings.Contains(lm, "login failed"):
			v.kind, v.refresh = KindAuth, true
		case code == "17" || strings.Contains(lm, "rate limit"):
			v.kind, v.retry, v.throttled = KindRateLimited, true, true
		case code == "11":
			v.kind = KindForbidden
		case code == "2" || code == "9" || code == "1":
			v.kind, v.retry = KindServer, true
		case code == "8":
			v.kind = KindClient
		case strings.EqualFold(code, "Client"):
			v.kind = KindClient
		default:
			v.kind, v.retry = KindServer, resp.status >= 500
		}
		return v
	}
	m := env.Body.Msg
	os := strings.TrimSpace(m.OverallStatus)
	switch {
	case strings.EqualFold(os, "OK"), strings.EqualFold(os, "MoreDataAvailable"):
	case strings.HasPrefix(strings.ToLower(os), "error") || strings.EqualFold(os, "HasErrors"):
		v.kind, v.code, v.message = KindBody, "OverallStatus", c.scrub(shorten(os, 300))
		for _, res := range m.Results {
			sc, sm, ec := res.StatusCode, res.StatusMessage, res.ErrorCode
			if res.Result != nil {
				sc, sm, ec = res.Result.StatusCode, res.Result.StatusMessage, res.Result.ErrorCode
			}
			if strings.EqualFold(sc, "Error") {
				if ec != "" {
					v.code = ec
				}
				v.message = c.scrub(shorten(sm, 300))
				break
			}
		}
		if strings.Contains(strings.ToLower(os), "rate limit") {
			v.kind, v.retry, v.throttled = KindRateLimited, true, true
		}
		return v
	}
	if resp.status < 200 || resp.status >= 300 {
		v.kind, v.retry = KindServer, resp.status >= 500
		return v
	}
	v.ok = true
	return v
}

// retrieveHead reads a SOAP body only as far as the OverallStatus of a
// RetrieveResponseMsg (Envelope/Body/RetrieveResponseMsg/OverallStatus, the
// message's first element in the WSDL's sequence and in SFMC's responses)
// and returns its text; ok is false for any other shape (a fault, another
// response, a Retrieve whose first element is something else), which the
// caller then decodes in full.
func retrieveHead(body []byte) (overall string, ok bool) {
	want := [...]string{"Envelope", "Body", "RetrieveResponseMsg", "OverallStatus"}
	d := xml.NewDecoder(bytes.NewReader(body))
	var (
		depth   int    // elements open
		matched int    // the open elements 1..matched follow want
		text    []byte // the OverallStatus's text
	)
	for {
		tok, err := d.RawToken()
		if err != nil {
			return "", false
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			switch {
			case matched == len(want):
				return "", false // markup inside OverallStatus
			case depth == matched+1 && t.Name.Local == want[matched]:
				matched++
			case depth == matched+1 && matched == 1 && t.Name.Local == "Header":
				// The header (addressing, security timestamp) comes first.
			case depth == matched+1:
				return "", false // a fault, another message, or Results first
			}
		case xml.CharData:
			if matched == len(want) {
				text = append(text, t...)
			}
		case xml.EndElement:
			if matched == len(want) {
				return strings.TrimSpace(string(text)), true
			}
			if depth == matched {
				return "", false // a matched element closed early
			}
			depth--
		}
	}
}

// soapCall sends one SOAP request (with retries etc.).
func (c *Client) soapCall(ctx context.Context, action, objectType, scope string, body func(string) []byte) (*response, error) {
	return c.do(ctx, &request{method: http.MethodPost, endpoint: "/Service.asmx " + action + " " + objectType,
		surface: catalog.SOAP, base: baseSOAP, body: body, contentType: "text/xml; charset=utf-8",
		soapAction: action, scope: scope})
}

// retrieve runs a Retrieve and follows ContinueRequest while
// OverallStatus is MoreDataAvailable. each is called per page.
func retrieve[T any](ctx context.Context, c *Client, req RetrieveRequest, scope string) ([]T, error) {
	var out []T
	cont := ""
	for page := 0; ; page++ {
		if page >= c.opt.MaxPages {
			return out, &APIError{Tenant: c.tenant.Name, Method: http.MethodPost, Endpoint: "/Service.asmx Retrieve " + req.ObjectType,
				Kind: KindDecode, Message: fmt.Sprintf("more than %d pages; stopping", c.opt.MaxPages)}
		}
		body, err := retrieveBody(req, cont, c.opt.SOAPBatchSize)
		if err != nil {
			return nil, err
		}
		resp, err := c.soapCall(ctx, "Retrieve", req.ObjectType, scope, body)
		if err != nil {
			return out, err
		}
		env, err := decodePage[T](resp.body)
		if err != nil || env.Body.Msg == nil {
			e := &APIError{Tenant: c.tenant.Name, Method: http.MethodPost, Endpoint: "/Service.asmx Retrieve " + req.ObjectType,
				Status: resp.status, Kind: KindDecode, Message: "unexpected SOAP shape", Result: resp.result}
			if err != nil {
				e.Err = errors.New(c.scrub(err.Error()))
			}
			return out, e
		}
		out = append(out, env.Body.Msg.Results...)
		if !strings.EqualFold(strings.TrimSpace(env.Body.Msg.OverallStatus), "MoreDataAvailable") {
			return out, nil
		}
		if env.Body.Msg.RequestID == "" {
			return out, &APIError{Tenant: c.tenant.Name, Method: http.MethodPost, Endpoint: "/Service.asmx Retrieve " + req.ObjectType,
				Status: resp.status, Kind: KindDecode, Message: "MoreDataAvailable without a RequestID"}
		}
		cont = env.Body.Msg.RequestID
	}
}

// retrieveIn runs one Retrieve per chunk of values (IN lists are kept
// short), combining extra with AND.
func retrieveIn[T any](ctx context.Context, c *Client, req RetrieveRequest, scope, property string, values []string, extra Filter) ([]T, error) {
	if len(values) == 0 {
		req.Filter = extra
		return retrieve[T](ctx, c, req, scope)
	}
	var out []T
	for i := 0; i < len(values); i += maxInValues {
		chunk := values[i:min(i+maxInValues, len(values))]
		req.Filter = And(In(property, chunk...), extra)
		part, err := retrieve[T](ctx, c, req, scope)
		out = append(out, part...)
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// maxInValues bounds one IN filter.
const maxInValues = 500

// xmlTime parses SFMC SOAP/REST timestamps.
type xmlTime struct{ time.Time }

func (t *xmlTime) UnmarshalText(b []byte) error {
	t.Time = parseTime(string(b))
	return nil
}

// xmlInt tolerates empty and nil elements.
type xmlInt int64

func (n *xmlInt) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "" {
		*n = 0
		return nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil {
			return err
		}
		v = int64(f)
	}
	*n = xmlInt(v)
	return nil
}

// xmlBool tolerates empty elements.
type xmlBool bool

func (v *xmlBool) UnmarshalText(b []byte) error {
	*v = xmlBool(strings.EqualFold(strings.TrimSpace(string(b)), "true"))
	return nil
}
