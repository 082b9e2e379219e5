package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSelfcheckConfigPassesCheckConfig(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "sfmcwatch.yaml")
	answers := filepath.Join(dir, "answers.yaml")
	os.WriteFile(answers, []byte("failed_automations: personal_email\napi_errors_logged: some\nfreshness_slas: informal\n"), 0o644)
	var out, errb bytes.Buffer
	code := Run(context.Background(), []string{"selfcheck", "--answers", answers, "--notification-recipients", "team", "--credential-rotation", "on-break",
		"--config-out", cfgPath}, IO{In: strings.NewReader(""), Out: &out, Err: &errb})
	if code != ExitUsage || !strings.Contains(errb.String(), `credential_rotation: unknown answer "on-break"`) {
		t.Fatalf("bad answer: exit %d: %s", code, errb.String())
	}
	out.Reset()
	errb.Reset()
	code = Run(context.Background(), []string{"selfcheck", "--answers", answers, "--notification-recipients", "team", "--credential-rotation", "on_break",
		"--config-out", cfgPath}, IO{In: strings.NewReader(""), Out: &out, Err: &errb})
	if code != ExitOK || !strings.Contains(out.String(), "Maturity 45/100: basic") {
		t.Fatalf("exit %d: %s %s", code, out.String(), errb.String())
	}
	t.Setenv("SFMC_CLIENT_SECRET", "from-env")
	out.Reset()
	errb.Reset()
	if code := Run(context.Background(), []string{"check-config", "--strict", "--config", cfgPath}, IO{In: strings.NewReader(""), Out: &out, Err: &errb}); code != ExitOK {
		t.Fatalf("check-config --strict rejected the starter config (exit %d): %s %s", code, out.String(), errb.String())
	}
	// Missing answers and no terminal: a usage error naming them.
	errb.Reset()
	if code := Run(context.Background(), []string{"selfcheck", "--failed-automations", "manual"}, IO{In: strings.NewReader(""), Out: &out, Err: &errb}); code != ExitUsage ||
		!strings.Contains(errb.String(), "api_errors_logged: not answered") {
		t.Errorf("exit %d: %s", code, errb.String())
	}
}
