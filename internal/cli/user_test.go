package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestUserCommand(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "sfmcwatch.yaml")
	if err := os.WriteFile(cfg, []byte("storage:\n  driver: sqlite\n  path: "+filepath.Join(dir, "u.db")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(stdin string, args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := Run(context.Background(), append([]string{"user", "--config", cfg}, args...), IO{In: strings.NewReader(stdin), Out: &out, Err: &errb})
		return code, out.String(), errb.String()
	}
	if code, out, _ := run("", "list"); code != ExitOK || !strings.Contains(out, "No users") {
		t.Fatalf("list (empty): %d %q", code, out)
	}
	if code, _, errs := run("short\n", "add", "ana"); code != ExitUsage || !strings.Contains(errs, "too short") {
		t.Errorf("weak password: %d %q", code, errs)
	}
	if code, _, errs := run("a long enough password\n", "add", "--role", "root", "ana"); code != ExitUsage || !strings.Contains(errs, "role") {
		t.Errorf("bad role: %d %q", code, errs)
	}
	if code, out, errs := run("a long enough password\n", "add", "--role", "admin", "ana"); code != ExitOK || !strings.Contains(out, "Added ana (admin)") {
		t.Fatalf("add: %d %q %q", code, out, errs)
	}
	if code, _, errs := run("a long enough password\n", "add", "ana"); code != ExitUsage || !strings.Contains(errs, "taken") {
		t.Errorf("duplicate: %d %q", code, errs)
	}
	code, out, errs := run("", "token", "--name", "ci", "--ttl", "90d", "ana")
	if code != ExitOK || !strings.HasPrefix(out, "sfmcw_") || !strings.Contains(errs, "shown only now") {
		t.Errorf("token: %d %q %q", code, out, errs)
	}
	if code, out, _ := run("", "list"); code != ExitOK || !strings.Contains(out, "ana") || !strings.Contains(out, "admin") || strings.Contains(out, "argon2") {
		t.Errorf("list: %d %q", code, out)
	}
	if code, out, _ := run("another long password\n", "passwd", "ana"); code != ExitOK || !strings.Contains(out, "changed") {
		t.Errorf("passwd: %d %q", code, out)
	}
	if code, _, _ := run("", "delete", "ana"); code != ExitOK {
		t.Errorf("delete: %d", code)
	}
	if code, _, errs := run("", "delete", "ana"); code != ExitUsage || !strings.Contains(errs, "not found") {
		t.Errorf("delete twice: %d %q", code, errs)
	}
	if code, _, _ := run("", "frobnicate", "x"); code != ExitUsage {
		t.Errorf("unknown sub-command: %d", code)
	}
}
