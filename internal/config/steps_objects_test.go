package config

import (
	"strings"
	"testing"
	"time"
)

// The step and output-assertion overrides apply to the object types they
// describe; elsewhere they are refused with the key named.
func TestStepObjectOverrides(t *testing.T) {
	base := "tenants:\n  - name: t\n    subdomain: mc1234567890abcdefghijklmn\n    client_id: c\n    client_secret: s\n    account_id: \"1\"\n    objects:\n"
	env := func(string) (string, bool) { return "", false }
	ok := base + `      "automation:A": {min_output_rows: 1000, query_warn_after: 20m}
      "import:I": {min_output_rows: 10, min_file_lines: 500}
`
	cfg, err := Parse("t.yaml", []byte(ok), env)
	if err != nil {
		t.Fatal(err)
	}
	ten := cfg.Tenants[0]
	if a := ten.Object("automation", "A"); a.MinOutputRows != 1000 || a.QueryWarnAfter.Std() != 20*time.Minute {
		t.Errorf("automation override %+v", a)
	}
	if i := ten.Object("import", "I"); i.MinFileLines != 500 || i.MinOutputRows != 10 {
		t.Errorf("import override %+v", i)
	}
	for _, c := range []struct{ obj, key string }{
		{`"data_extension:D": {min_output_rows: 5}`, "min_output_rows"},
		{`"automation:A": {min_file_lines: 5}`, "min_file_lines"},
		{`"import:I": {query_warn_after: 10m}`, "query_warn_after"},
		{`"automation:A": {min_output_rows: -1}`, "must not be negative"},
	} {
		_, err := Parse("t.yaml", []byte(base+"      "+c.obj+"\n"), env)
		if err == nil || !strings.Contains(err.Error(), c.key) {
			t.Errorf("%s: err = %v, want a refusal naming %s", c.obj, err, c.key)
		}
	}
	r := DefaultRules()
	if r.QueryTimeout.Limit.Std() != 30*time.Minute || r.QueryFailed.Consecutive != 2 || r.AutomationNoOutput.LearnRuns != 5 {
		t.Errorf("defaults %+v %+v %+v", r.QueryTimeout, r.QueryFailed, r.AutomationNoOutput)
	}
}
