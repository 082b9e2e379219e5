package classify

// Clean is the classifier's no-marker shortcut on its own: when a call
// answered 200–204 and its body carries none of the markers that make the
// classifier read it (see jsonHasMarkers and soapScan), Classify can only
// return the plain success classification of that status, which Clean
// returns with ok set. It skips the URL work (surface, reads) Classify
// does for every call, so bulk readers (scan) pay only for the byte scan.
// A false ok says nothing: call Classify.
func (c *Classifier) Clean(status int, body []byte) (cl Classification, ok bool) {
	if status < 200 || status >= 200+len(c.ok) {
		return cl, false
	}
	if len(body) > MaxBody {
		body = body[:MaxBody]
	}
	body = trimBody(body)
	switch sniff(body) {
	case kindEmpty:
	case kindJSON:
		if jsonHasMarkers(body) {
			return cl, false
		}
	case kindSOAP:
		if markers, more := soapScan(body); markers || more {
			return cl, false
		}
	default: // HTML and text are read whatever the status
		return cl, false
	}
	return c.ok[status-200], true
}
