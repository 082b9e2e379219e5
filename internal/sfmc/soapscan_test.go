package sfmc

import (
	"reflect"
	"strings"
	"testing"
)

// The fast reader takes the shapes SFMC writes (sendResult is built from
// the WSDL's Send properties and the developer guide's Send retrieve; the
// header is the one in ../shared/fixtures/sfmc/errors/
// soap-retrieve-moredataavailable.xml, recorded by SFMC-SDK) and gives up
// on anything else, leaving it to encoding/xml.
func TestScanRetrieve(t *testing.T) {
	const head = `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:wsse="w" xmlns:wsu="u"><soap:Header><wsa:Action>RetrieveResponse</wsa:Action><wsa:MessageID>urn:uuid:4a9be7d8-0644-4998-86c0-16f47a7ee415</wsa:MessageID><wsse:Security><wsu:Timestamp wsu:Id="Timestamp-c9b4"><wsu:Created>2021-12-29T21:27:30Z</wsu:Created></wsu:Timestamp></wsse:Security></soap:Header><soap:Body><RetrieveResponseMsg xmlns="http://exacttarget.com/wsdl/partnerAPI">`
	const tail = `</RetrieveResponseMsg></soap:Body></soap:Envelope>`
	for _, tc := range []struct {
		name string
		body string
		fast bool
	}{
		{"client fixture page", soapOK("Send", sendResult), true},
		{"with header", head + `<OverallStatus>MoreDataAvailable</OverallStatus><RequestID>r2</RequestID>` + strings.ReplaceAll(sendResult, "<Results>", `<Results xsi:type="Send">`) + tail, true},
		{"entities and CDATA", head + `<OverallStatus>OK</OverallStatus><Results xsi:type="Send"><EmailName>Tom &amp; Jerry &#233;t&#xE9; <![CDATA[<b>&x]]></EmailName><ID> 12 </ID></Results>` + tail, true},
		{"empty and nil", head + `<OverallStatus>OK</OverallStatus><RequestID/><Results xsi:type="Send"><ID xsi:nil="true" /><NumberSent></NumberSent></Results><Results/>` + tail, true},
		{"nested text ignored", head + `<OverallStatus>OK</OverallStatus><Results><EmailName>a<x>b</x>c</EmailName><Email><ID>1</ID><Other><ID>2</ID></Other></Email></Results>` + tail, true},
		{"comment", head + `<!-- c --><OverallStatus>OK</OverallStatus>` + tail, false},
		{"carriage return", head + "<OverallStatus>OK\r\n</OverallStatus>" + tail, false},
		{"fault", `<soap:Envelope xmlns:soap="s"><soap:Body><soap:Fault><faultcode>soap:Server</faultcode></soap:Fault></soap:Body></soap:Envelope>`, false},
		{"mismatched end", head + `<OverallStatus>OK</OverallStatu>` + tail, false},
		{"cut short", head + `<OverallStatus>OK</OverallStatus><Results><ID>1</ID>`, false},
		{"bad number", head + `<OverallStatus>OK</OverallStatus><Results><ID>x1</ID></Results>` + tail, false},
		{"unknown entity", head + `<OverallStatus>OK &nbsp;</OverallStatus>` + tail, false},
		{"utf-16 declared", `<?xml version="1.0" encoding="utf-16"?><Envelope><Body><RetrieveResponseMsg/></Body></Envelope>`, false},
		{"two messages", head + `<OverallStatus>OK</OverallStatus></RetrieveResponseMsg><RetrieveResponseMsg>` + tail, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg, ok := scanRetrieve[soapSend]([]byte(tc.body))
			if ok != tc.fast {
				t.Fatalf("fast path taken = %v, want %v", ok, tc.fast)
			}
			if ok {
				sameAsEncodingXML(t, tc.body, msg)
			}
			checkEveryRecordType(t, tc.body)
		})
	}
}

// Every record type Retrieve reads has a plan: none falls back to
// encoding/xml for its shape alone.
func TestRecordPlans(t *testing.T) {
	for _, typ := range []reflect.Type{reflect.TypeFor[soapSend](), reflect.TypeFor[soapField](), reflect.TypeFor[soapDE](),
		reflect.TypeFor[soapAutomation](), reflect.TypeFor[soapAutomationInstance](), reflect.TypeFor[soapActivityInstance](),
		reflect.TypeFor[soapImportResult](), reflect.TypeFor[soapTSD](), reflect.TypeFor[soapTSS]()} {
		if planFor(typ) == nil {
			t.Errorf("%v has no plan", typ)
		}
	}
	type withAttr struct {
		Type string `xml:"type,attr"`
	}
	type withPath struct {
		ID string `xml:"A>ID"`
	}
	type withSlice struct {
		IDs []string `xml:"ID"`
	}
	type deep struct {
		A struct{ B struct{ C string } }
	}
	for _, typ := range []reflect.Type{reflect.TypeFor[withAttr](), reflect.TypeFor[withPath](), reflect.TypeFor[withSlice](), reflect.TypeFor[deep]()} {
		if planFor(typ) != nil {
			t.Errorf("%v has a plan; encoding/xml must read it", typ)
		}
	}
}

// checkEveryRecordType holds the fast reader to encoding/xml for each
// record type Retrieve reads.
func checkEveryRecordType(t *testing.T, body string) {
	t.Helper()
	sameFor[soapSend](t, body)
	sameFor[soapField](t, body)
	sameFor[soapDE](t, body)
	sameFor[soapAutomation](t, body)
	sameFor[soapAutomationInstance](t, body)
	sameFor[soapActivityInstance](t, body)
	sameFor[soapImportResult](t, body)
	sameFor[soapTSD](t, body)
	sameFor[soapTSS](t, body)
}

func sameFor[T any](t *testing.T, body string) {
	t.Helper()
	if msg, ok := scanRetrieve[T]([]byte(body)); ok {
		sameAsEncodingXML(t, body, msg)
	}
}

// sameAsEncodingXML fails unless encoding/xml decodes body to msg.
func sameAsEncodingXML[T any](t *testing.T, body string, msg *soapMsg[T]) {
	t.Helper()
	env, err := decodeSOAP[T]([]byte(body))
	if err != nil || env.Body.Fault != nil || env.Body.Msg == nil {
		t.Fatalf("fast reader accepted %q; encoding/xml: %v, %+v", body, err, env)
	}
	want := env.Body.Msg
	want.XMLName = msg.XMLName // not read: encoding/xml resolves its namespace
	if len(want.Results) == 0 {
		want.Results = nil
	}
	got := *msg
	if len(got.Results) == 0 {
		got.Results = nil
	}
	if !reflect.DeepEqual(&got, want) {
		t.Fatalf("%T body %q:\nfast        %+v\nencoding/xml %+v", got, body, got, *want)
	}
}

func FuzzScanRetrieve(f *testing.F) {
	f.Add(soapOK("Send", sendResult))
	f.Add(`<?xml version='1.0'?><a:Envelope xmlns:a="s"><a:Header><x y='1'/></a:Header><a:Body><RetrieveResponseMsg><OverallStatus>OK</OverallStatus><Results><ID>1</ID><Email><ID>e&lt;1</ID></Email><SendDate>2026-11-02T01:01:00</SendDate></Results></RetrieveResponseMsg></a:Body></a:Envelope>`)
	f.Add(`<Envelope><Body><RetrieveResponseMsg><RequestID><![CDATA[a]]>b</RequestID><Results/><Results><NumberSent>1.5e3</NumberSent></Results></RetrieveResponseMsg></Body></Envelope>trailing`)
	f.Add(`<Envelope><Body><RetrieveResponseMsg><OverallStatus>OK</OverallStatus><Results><Name>f</Name><IsPrimaryKey>true</IsPrimaryKey><MaxLength>50</MaxLength><DataExtension><CustomerKey>k</CustomerKey></DataExtension><Sent>3</Sent><ModifiedDate>2026-11-02T01:01:00.25</ModifiedDate></Results></RetrieveResponseMsg></Body></Envelope>`)
	f.Fuzz(func(t *testing.T, body string) {
		checkEveryRecordType(t, body)
	})
}

func BenchmarkScanRetrieve(b *testing.B) {
	one := sendResult[:strings.Index(sendResult, "</Results>")+len("</Results>")]
	page := []byte(soapOK("Send", strings.Repeat(one, 2500)))
	b.Run("fast", func(b *testing.B) {
		b.SetBytes(int64(len(page)))
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := scanRetrieve[soapSend](page); !ok {
				b.Fatal("not read")
			}
		}
	})
	b.Run("encoding-xml", func(b *testing.B) {
		b.SetBytes(int64(len(page)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeSOAP[soapSend](page); err != nil {
				b.Fatal(err)
			}
		}
	})
}
