package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuf) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

func TestSimCommand(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, errb := &lockedBuf{}, &lockedBuf{}
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"sim", "--addr", "127.0.0.1:0", "--size", "small", "--seed", "5"}, IO{Out: out, Err: errb})
	}()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), "Try:") {
		if time.Now().After(deadline) {
			t.Fatalf("no banner: %s %s", out.String(), errb.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	banner := out.String()
	for _, want := range []string{"auth URL", "REST base URL", "SOAP URL", "client_id", "client_secret", "MIDs", "/_sim/faults", "curl"} {
		if !strings.Contains(banner, want) {
			t.Errorf("banner lacks %q:\n%s", want, banner)
		}
	}
	auth := regexp.MustCompile(`auth URL\s+(\S+)`).FindStringSubmatch(banner)[1]
	id := regexp.MustCompile(`client_id\s+(\S+)`).FindStringSubmatch(banner)[1]
	secret := regexp.MustCompile(`client_secret\s+(\S+)`).FindStringSubmatch(banner)[1]
	body, _ := json.Marshal(map[string]string{"grant_type": "client_credentials", "client_id": id, "client_secret": secret})
	resp, err := http.Post(auth, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("token with printed credentials: %d", resp.StatusCode)
	}
	cancel()
	select {
	case code := <-done:
		if code != ExitOK {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("sim did not stop")
	}
}

func TestSimCommandUsage(t *testing.T) {
	for _, args := range [][]string{{"sim", "--size", "bogus"}, {"sim", "--mids", "x"}, {"sim", "--scenario", "/nonexistent.yaml"}, {"sim", "extra"}} {
		var out, errb bytes.Buffer
		if code := Run(context.Background(), args, IO{Out: &out, Err: &errb}); code != ExitUsage {
			t.Errorf("%v: exit %d", args, code)
		}
	}
	z, err := parseSimSize("automations=3,journeys=2")
	if err != nil || z.Automations != 3 || z.Journeys != 2 || z.DataExtensions != 500 {
		t.Errorf("%+v %v", z, err)
	}
}
