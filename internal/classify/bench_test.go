package classify

import (
	"testing"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
)

func benchClassify(b *testing.B, in Input) {
	c := New(catalog.Default())
	b.SetBytes(int64(len(in.Body)))
	b.ReportAllocs()
	for b.Loop() {
		c.Classify(in)
	}
}

// BenchmarkClean2xxJSON is the scanner's common case: a ~1 KB 2xx JSON body
// with no error markers (no decode).
func BenchmarkClean2xxJSON(b *testing.B) {
	benchClassify(b, Input{Status: 200, URL: "/interaction/v1/interactions", Body: testdata(b, "clean-1k.json")})
}

// BenchmarkSOAPRetrieveOK is a 2xx SOAP Retrieve with OverallStatus OK.
func BenchmarkSOAPRetrieveOK(b *testing.B) {
	benchClassify(b, Input{Status: 200, URL: "/Service.asmx", Body: testdata(b, "soap-retrieve-ok.xml")})
}

// BenchmarkTransactional202With50Errors is a 202 transactional send with 50
// per-recipient errors (full decode).
func BenchmarkTransactional202With50Errors(b *testing.B) {
	benchClassify(b, Input{Status: 202, URL: "/messaging/v1/email/messages/", Body: transactionalBatch(50)})
}

// BenchmarkSOAPFault500 is a SOAP fault (Code 17) with HTTP 500.
func BenchmarkSOAPFault500(b *testing.B) {
	benchClassify(b, Input{Status: 500, URL: "/Service.asmx", Body: testdata(b, "soap-fault-17.xml")})
}

// BenchmarkJSONHasMarkers is the byte scan of the scan's fast path.
func BenchmarkJSONHasMarkers(b *testing.B) {
	body := testdata(b, "clean-1k.json")
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if jsonHasMarkers(body) {
			b.Fatal("markers in the clean body")
		}
	}
}
