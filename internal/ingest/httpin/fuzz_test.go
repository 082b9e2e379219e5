package httpin

import (
	"testing"
)

// FuzzDecode: no body crashes the decoder, the counts add up, every
// reported line number is positive and the size limit holds after
// decompression.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(mixed), "", "auto")
	f.Add([]byte(`[{"url":"/a","status":500},{"status":"x"}]`), "", "jsonl")
	f.Add([]byte("ts,url,status\n2026-03-02T09:00:00Z,/d,404\n\"open"), "", "csv")
	f.Add(gz(f, []byte(mixed)), "gzip", "auto")
	f.Add([]byte{0x1f, 0x8b, 0, 0}, "", "auto")
	const limit = 64 << 10
	f.Fuzz(func(t *testing.T, body []byte, enc, format string) {
		evs, rep, herr := Decode(body, enc, format, limit)
		if herr != nil {
			if herr.status < 400 || herr.msg == "" {
				t.Fatalf("bad error %+v", herr)
			}
			return
		}
		if len(evs)+rep.Rejected != rep.Lines {
			t.Fatalf("%d good + %d bad != %d lines", len(evs), rep.Rejected, rep.Lines)
		}
		for _, e := range rep.Errors {
			if e.Line < 1 || e.Reason == "" {
				t.Fatalf("bad line report %+v", e)
			}
		}
		for _, e := range evs {
			if e.Line < 1 || e.Event.Status < 0 {
				t.Fatalf("bad event %+v", e)
			}
		}
	})
}
