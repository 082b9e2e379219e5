package config

import (
	"errors"
	"strings"
	"testing"
)

func TestProxyBlock(t *testing.T) {
	one := func(extra string) []byte {
		return []byte("tenants:\n  - name: a\n    subdomain: abc\n    client_id: c\n    client_secret: s\n" + extra)
	}
	two := "tenants:\n  - name: a\n    subdomain: abc\n    client_id: c\n    client_secret: s\n  - name: b\n    subdomain: abd\n    client_id: d\n    client_secret: s\n"
	for _, c := range []struct {
		name string
		yaml string
		// want is a substring of the one expected problem ("" = valid).
		want, path string
	}{
		{name: "defaults", yaml: string(one(""))},
		{name: "one tenant fills listener tenant", yaml: string(one("proxy:\n  enabled: true\n  listeners:\n    - listen: 127.0.0.1:8443\n"))},
		{name: "enabled without listeners", yaml: string(one("proxy:\n  enabled: true\n")),
			path: "proxy.listeners", want: "at least one listener"},
		{name: "bad address", yaml: string(one("proxy:\n  listeners:\n    - listen: localhost\n")),
			path: "proxy.listeners[0].listen", want: "invalid address"},
		{name: "duplicate address", yaml: string(one("proxy:\n  listeners:\n    - listen: :9000\n    - listen: :9000\n")),
			path: "proxy.listeners[1].listen", want: "duplicate address"},
		{name: "server address", yaml: string(one("server:\n  listen: 127.0.0.1:9000\nproxy:\n  listeners:\n    - listen: 127.0.0.1:9000\n")),
			path: "proxy.listeners[0].listen", want: "also server.listen"},
		{name: "tenant required with two", yaml: two + "proxy:\n  listeners:\n    - listen: :9000\n",
			path: "proxy.listeners[0].tenant", want: "tenant is required"},
		{name: "unknown tenant", yaml: two + "proxy:\n  listeners:\n    - listen: :9000\n      tenant: bb\n",
			path: "proxy.listeners[0].tenant", want: `no tenant named "bb"`},
		{name: "queue too small", yaml: string(one("proxy:\n  queue_size: 10\n")),
			path: "proxy.queue_size", want: "between 100"},
		{name: "capture too big", yaml: string(one("proxy:\n  body_capture: 2MiB\n")),
			path: "proxy.body_capture", want: "between 1KiB"},
		{name: "bad header", yaml: string(one("proxy:\n  integration_header: \"X Integration\"\n")),
			path: "proxy.integration_header", want: "invalid header name"},
		{name: "empty integration name", yaml: string(one("proxy:\n  integrations:\n    abc123: \"\"\n")),
			path: "proxy.integrations.abc123", want: "1 to 128"},
		{name: "unknown key", yaml: string(one("proxy:\n  listners: []\n")),
			path: "proxy.listners", want: `did you mean "listeners"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Parse("p.yaml", []byte(c.yaml), func(string) (string, bool) { return "", false })
			if c.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				d := DefaultProxy()
				if cfg.Proxy.QueueSize != d.QueueSize || cfg.Proxy.BodyCapture != d.BodyCapture || cfg.Proxy.IntegrationHeader != d.IntegrationHeader {
					t.Fatalf("defaults not kept: %+v", cfg.Proxy)
				}
				for _, l := range cfg.Proxy.Listeners {
					if l.Tenant != "a" {
						t.Fatalf("listener tenant %q, want the only tenant", l.Tenant)
					}
				}
				return
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("want *Error, got %v", err)
			}
			for _, p := range ce.Problems {
				if p.Path == c.path && strings.Contains(p.Message, c.want) {
					if p.Line == 0 && c.name == "unknown key" {
						t.Fatalf("unknown key without a line: %+v", p)
					}
					return
				}
			}
			t.Fatalf("want problem at %s containing %q, got %v", c.path, c.want, err)
		})
	}
}
