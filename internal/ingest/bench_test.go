package ingest

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// genLog writes n JSON lines: mostly 2xx with ~1 KB bodies, some SFMC
// errors, a few ECS-style and flat dotted records.
func genLog(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	var b bytes.Buffer
	filler := strings.Repeat("abcdefghij", 80)
	for i := range n {
		ts := fmt.Sprintf("2024-05-%02dT%02d:%02d:%02d.%03dZ", 1+i%28, i%24, i%60, (i*7)%60, i%1000)
		switch k := r.IntN(100); {
		case k < 80:
			fmt.Fprintf(&b, `{"ts":%q,"integration":"crm-sync","method":"POST","url":"https://mc123.rest.marketingcloudapis.com/hub/v1/dataevents/key:Orders_%d/rowset","status":200,"duration_ms":%d,"request_id":"req-%d","tenant":"BU-1","level":"info","body":"[{\"keys\":{\"id\":\"%d\"},\"values\":{\"note\":\"%s\"}}]"}`+"\n", ts, i%50, r.IntN(900), i, i, filler)
		case k < 88:
			fmt.Fprintf(&b, `{"timestamp":%q,"service":"loader","method":"GET","path":"/data/v1/async/8c2d4e6f-1a3b-4c5d-8e7f-%012d/status","status_code":"200","response_body":{"status":{"requestStatus":"Complete","resultStatus":"OK","hasErrors":false},"note":%q}}`+"\n", ts, i, filler)
		case k < 93:
			fmt.Fprintf(&b, `{"@timestamp":%q,"service":{"name":"journey-api"},"http":{"request":{"method":"POST"},"response":{"status_code":429,"body":{"content":"{\"message\":\"Too many requests\",\"errorcode\":50100,\"documentation\":\"\"}"}}},"url":{"full":"https://mc123.rest.marketingcloudapis.com/interaction/v1/events"},"event":{"duration":%d}}`+"\n", ts, r.IntN(1e9))
		case k < 97:
			fmt.Fprintf(&b, `{"ts":%q,"http.request.method":"POST","url.full":"https://mc123.soap.marketingcloudapis.com/Service.asmx","http.response.status_code":500,"body":"<soap:Envelope><soap:Body><soap:Fault><faultcode>soap:Server</faultcode><faultstring>Rate Limited</faultstring><detail><apifault><Code>17</Code></apifault></detail></soap:Fault></soap:Body></soap:Envelope>"}`+"\n", ts)
		default:
			fmt.Fprintf(&b, `{"ts":%q,"integration":"tx","url":"/messaging/v1/email/messages/order-%d","status":202,"body":"{\"requestId\":\"r\",\"errorcode\":109001,\"responses\":[{\"messageKey\":\"order-%d\",\"errorcode\":109110}]}"}`+"\n", ts, i, i)
		}
	}
	return b.Bytes()
}

func BenchmarkParseJSONL(b *testing.B) {
	data := genLog(2000, 1)
	lines := bytes.Split(bytes.TrimSpace(data), []byte("\n"))
	p, err := NewJSONParser(Options{Source: "scan"})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		for i, l := range lines {
			ev, err := p.Parse(RawLine{No: i + 1, Data: l})
			if err != nil || ev.Status == 0 {
				b.Fatal(i, err)
			}
		}
	}
}

func BenchmarkReadBatch(b *testing.B) {
	data := genLog(4000, 2)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		s, err := NewStream(bytes.NewReader(data), Options{})
		if err != nil {
			b.Fatal(err)
		}
		for {
			batch, err := s.ReadBatch(nil, 1<<20)
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			_ = batch
		}
	}
}

// BenchmarkPipeline reads and parses with one worker per CPU, as the scan
// does.
func BenchmarkPipeline(b *testing.B) {
	data := genLog(8000, 3)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		s, err := NewStream(bytes.NewReader(data), Options{Source: "scan"})
		if err != nil {
			b.Fatal(err)
		}
		p := s.Parser()
		ch := make(chan []RawLine, 4)
		var wg sync.WaitGroup
		for range runtime.GOMAXPROCS(0) {
			wg.Go(func() {
				for batch := range ch {
					for _, l := range batch {
						if _, err := p.Parse(l); err != nil {
							panic(err)
						}
					}
				}
			})
		}
		for {
			batch, err := s.ReadBatch(nil, 256<<10)
			if err != nil {
				break
			}
			ch <- batch
		}
		close(ch)
		wg.Wait()
	}
}
