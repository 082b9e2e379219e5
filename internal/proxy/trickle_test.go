package proxy_test

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/proxy"
)

// A request body that stalls must not hold the connection (and an
// upstream request) open forever: the proxy gives up once a read makes no
// progress within BodyIdleTimeout. A body sent at once still goes through.
func TestTricklingBodyTimesOut(t *testing.T) {
	r := newRig(t, proxy.Options{BodyIdleTimeout: 300 * time.Millisecond}, false)
	addr := strings.TrimPrefix(r.proxySrv.URL, "http://")
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Promise 1,000 bytes, send 10, then stall.
	_, err = io.WriteString(conn, "POST /hub/v1/dataevents/key:x/rowset HTTP/1.1\r\nHost: "+addr+"\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n[{\"keys\":")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 512)
	n, _ := conn.Read(buf) // an error answer or the connection closing
	if waited := time.Since(start); waited > 5*time.Second {
		t.Fatalf("stalled body held the connection for %s (read %q)", waited, buf[:n])
	}
	// A normal body is unaffected.
	resp, err := r.client.Post(r.proxySrv.URL+"/hub/v1/dataevents/key:x/rowset", "application/json", strings.NewReader(`[{"keys":{"id":1}}]`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 500 {
		t.Fatalf("normal body: %d", resp.StatusCode)
	}
}

// A complete body followed by a slow upstream answer is not cut: the
// deadline is lifted once the body is read.
func TestSlowUpstreamAfterCompleteBody(t *testing.T) {
	r := newRig(t, proxy.Options{BodyIdleTimeout: 200 * time.Millisecond}, false)
	r.up.answer = func(*http.Request) answer {
		time.Sleep(700 * time.Millisecond)
		return answer{status: 202, body: []byte(`{"ok":true}`)}
	}
	resp, err := r.client.Post(r.proxySrv.URL+"/messaging/v1/messageDefinitionSends/key:x/send", "application/json", strings.NewReader(`{"To":{"Address":"a"}}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 202 {
		t.Fatalf("slow upstream: %d", resp.StatusCode)
	}
}
