package classify

import (
	"bytes"
	"encoding/xml"
	"io"
	"strings"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
)

// maxXMLDepth bounds the element stack kept while streaming.
const maxXMLDepth = 128

// maxXMLText bounds the text kept for one element.
const maxXMLText = 4096

// soapState is what the streaming SOAP reader has seen so far.
type soapState struct {
	fault                  bool
	faultCode, faultString string
	detailCode, detailMsg  string
	overall, overallMsg    string
	// current Results element
	resCode, resStatus, resMsg string
	resultCodes                int    // results that carried an ErrorCode
	resultErrs                 int    // results with StatusCode Error and no ErrorCode
	resultErrMsg               string // first such StatusMessage
	importErrors               int
	// retrieve is set for a RetrieveResponseMsg: its Results are records,
	// whose states are not the call's.
	retrieve bool
}

// parseSOAP streams a SOAP (or other XML) body with encoding/xml and
// records faults (detail/apifault Code, q0:Security, soap:Client),
// OverallStatus and per-result StatusCode/ErrorCode/StatusMessage. A body
// that ends early keeps what was read and is flagged truncated.
func parseSOAP(col *collector, b []byte) {
	d := xml.NewDecoder(bytes.NewReader(b))
	d.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
	var (
		st    soapState
		stack = make([]string, 0, 16)
		depth int
		text  []byte
	)
	parent := func() string {
		if len(stack) >= 2 {
			return stack[len(stack)-2]
		}
		return ""
	}
	for {
		tok, err := d.RawToken()
		if err != nil {
			if err != io.EOF || depth != 0 {
				col.truncated = true
			}
			break
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if len(stack) < maxXMLDepth {
				stack = append(stack, t.Name.Local)
			}
			text = text[:0]
			switch t.Name.Local {
			case "Fault":
				st.fault = true
			case "Results":
				if st.recordsOnly(parent(), t.Attr) {
					// The rest are records whose fields say nothing
					// about the call: stop reading.
					st.finish(col)
					return
				}
				st.resCode, st.resStatus, st.resMsg = "", "", ""
			case "RetrieveResponseMsg":
				st.retrieve = true
			}
		case xml.CharData:
			if len(text) < maxXMLText {
				text = append(text, t[:min(len(t), maxXMLText-len(text))]...)
			}
		case xml.EndElement:
			if depth > 0 {
				depth--
			}
			if len(stack) > 0 && len(stack) > depth {
				st.end(col, t.Name.Local, parent(), strings.TrimSpace(string(text)))
				stack = stack[:len(stack)-1]
			}
			text = text[:0]
		}
	}
	st.finish(col)
}

// recordsOnly reports the first Results of a successful Retrieve (its
// OverallStatus, which SFMC writes before the Results as the WSDL orders
// them, is OK or MoreDataAvailable) whose xsi:type is a record type the
// classifier reads nothing from: every type but ImportResultsSummary, whose
// ImportStatus is an import run's state. A week of send jobs is megabytes
// of such records; reading them only to find no status costs as much as
// decoding them.
func (st *soapState) recordsOnly(parent string, attrs []xml.Attr) bool {
	if !st.retrieve || parent != "RetrieveResponseMsg" || st.fault || st.importErrors > 0 {
		return false
	}
	if !strings.EqualFold(st.overall, "OK") && !strings.EqualFold(st.overall, "MoreDataAvailable") {
		return false
	}
	for _, a := range attrs {
		if a.Name.Local != "type" {
			continue
		}
		typ := a.Value
		if i := strings.LastIndexByte(typ, ':'); i >= 0 {
			typ = typ[i+1:]
		}
		return typ != "" && !strings.EqualFold(typ, "ImportResultsSummary")
	}
	return false
}

// end handles the end of element name (whose parent is parent) with text v.
func (st *soapState) end(col *collector, name, parent, v string) {
	switch name {
	case "faultcode":
		st.faultCode = v
	case "faultstring":
		st.faultString = v
	case "Code":
		if st.fault && st.detailCode == "" {
			st.detailCode = v
		}
	case "Message":
		if st.fault && st.detailMsg == "" {
			st.detailMsg = v
		}
	case "OverallStatus":
		if st.overall == "" {
			st.overall = v
		}
	case "OverallStatusMessage":
		st.overallMsg = v
	case "StatusCode":
		if parent == "Results" {
			st.resStatus = v
		}
	case "StatusMessage":
		if parent == "Results" {
			st.resMsg = v
		}
	case "ErrorCode":
		if parent == "Results" {
			st.resCode = v
		}
	case "ImportStatus":
		if strings.EqualFold(v, "Error") {
			st.importErrors++
		}
	case "Results":
		st.endResult(col)
	}
}

func (st *soapState) endResult(col *collector) {
	failed := strings.EqualFold(st.resStatus, "Error")
	if st.resCode != "" && st.resCode != "0" {
		h := hintAuto
		if failed {
			h = hintError
		}
		col.add(finding{code: st.resCode, msg: st.resMsg, on: soapChain(col.surface), hint: h})
		st.resultCodes++
	} else if failed {
		st.resultErrs++
		if st.resultErrMsg == "" {
			st.resultErrMsg = st.resMsg
		}
	}
	st.resCode, st.resStatus, st.resMsg = "", "", ""
}

func (st *soapState) finish(col *collector) {
	if st.fault {
		msg := st.detailMsg
		if msg == "" {
			msg = st.faultString
		}
		code := st.detailCode
		if code == "" {
			code = faultCode(st.faultCode)
		}
		col.add(finding{code: code, msg: msg, on: soapChain(col.surface), hint: hintError})
	}
	if st.importErrors > 0 {
		f := finding{code: "ImportStatus:Error", on: chain{catalog.Import}, hint: hintError, count: st.importErrors}
		if st.retrieve && col.status >= 200 && col.status < 300 {
			// A Retrieve of ImportResultsSummary read import runs that
			// failed: the import's state, not the Retrieve's.
			col.addState("ImportStatus", "Error", f)
		} else {
			col.add(f)
		}
	}
	v := st.overall
	switch {
	case v == "" || strings.EqualFold(v, "OK"):
		if st.resultErrs > 0 {
			col.add(finding{code: "OverallStatus:Error", msg: st.resultErrMsg, on: chain{catalog.SOAP}, hint: hintError, count: st.resultErrs})
		}
	case strings.EqualFold(v, "MoreDataAvailable"):
		col.add(finding{code: "OverallStatus:MoreDataAvailable", on: chain{catalog.SOAP}, hint: hintInfo})
	case hasPrefixFold(v, "Error"):
		if st.resultCodes > 0 && st.resultErrs == 0 {
			return // the per-result codes are the real ones
		}
		msg := strings.TrimSpace(strings.TrimLeft(v[len("Error"):], ": "))
		if msg == "" {
			msg = st.overallMsg
		}
		if msg == "" {
			msg = st.resultErrMsg
		}
		col.add(finding{code: "OverallStatus:Error", msg: msg, on: chain{catalog.SOAP}, hint: hintError, count: max(1, st.resultErrs)})
	case strings.EqualFold(strings.ReplaceAll(v, " ", ""), "HasErrors"):
		col.add(finding{code: "OverallStatus:Has Errors", msg: st.overallMsg, on: chain{catalog.SOAP}, hint: hintInfo})
		if st.resultErrs > 0 {
			col.add(finding{code: "OverallStatus:Error", msg: st.resultErrMsg, on: chain{catalog.SOAP}, hint: hintError, count: st.resultErrs})
		}
	default:
		col.add(finding{code: "OverallStatus:" + v, msg: st.overallMsg, on: chain{catalog.SOAP}})
	}
}

// faultCode normalises a SOAP faultcode to the catalog spelling: the
// namespace prefix varies, the local part does not.
func faultCode(fc string) string {
	local := fc
	if i := strings.LastIndexByte(fc, ':'); i >= 0 {
		local = fc[i+1:]
	}
	switch strings.ToLower(local) {
	case "security":
		return "q0:Security"
	case "client":
		return "soap:Client"
	case "server":
		return "soap:Server"
	case "":
		return "soap:Fault"
	}
	return fc
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
