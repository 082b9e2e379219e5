package httpin

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// lineReader generates n JSON lines on the fly (the client side must not
// hold the bodies, or it would be measured too).
type lineReader struct {
	key  string
	i, n int
	buf  bytes.Buffer
}

func (r *lineReader) Read(p []byte) (int, error) {
	for r.buf.Len() < len(p) && r.i < r.n {
		fmt.Fprintf(&r.buf, `{"ts":"2026-03-02T09:00:%02d.%06dZ","integration":"crm-sync","method":"POST","url":"https://mc.rest.marketingcloudapis.com/hub/v1/dataevents/key:Orders/rowset","status":429,"duration_ms":12,"request_id":"%s-%d","body":{"message":"Request limit exceeded","errorcode":50100}}`+"\n",
			r.i%60, r.i%1000000, r.key, r.i)
		r.i++
	}
	if r.buf.Len() == 0 {
		return 0, io.EOF
	}
	return r.buf.Read(p)
}

// peakRSS is the process's peak resident set size in bytes (Linux), 0
// where unknown.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// BenchmarkIngestMemory10x10MB posts 10 bodies of ~10 MB at once and
// reports the process's peak RSS (peak-MB): the in-flight byte budget
// (one maximum-size body by default) keeps it bounded however many
// clients post.
// Run alone: go test -run '^$' -bench IngestMemory ./internal/ingest/httpin
func BenchmarkIngestMemory10x10MB(b *testing.B) {
	e := newBenchEnv(b)
	const lines = 38000 // ≈ 10 MB of JSON lines
	for it := range b.N {
		runtime.GC()
		debug.FreeOSMemory()
		var wg sync.WaitGroup
		for c := range 10 {
			wg.Go(func() {
				req, _ := http.NewRequest(http.MethodPost, e.srv.URL+Path, &lineReader{key: fmt.Sprintf("m%d-%d", it, c), n: lines})
				req.Header.Set("Authorization", "Bearer "+token)
				resp, err := e.client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Errorf("request %d: %d", c, resp.StatusCode)
				}
			})
		}
		wg.Wait()
	}
	b.ReportMetric(float64(peakRSS())/(1<<20), "peak-MB")
}

// benchInFlight is the in-flight budget of the benchmark handler (0: the
// default), changed by SFMCWATCH_BENCH_INFLIGHT_MB to compare budgets.
var benchInFlight = func() int64 {
	mb, _ := strconv.ParseInt(os.Getenv("SFMCWATCH_BENCH_INFLIGHT_MB"), 10, 64)
	return mb << 20
}()
