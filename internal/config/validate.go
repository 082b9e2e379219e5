package config

import (
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/callplan"
)

// MinInterval is the shortest poll interval accepted.
const MinInterval = Duration(30 * time.Second)

func (d *decoder) warnf(path, format string, args ...any) {
	d.problem(&d.warnings, nil, path, format, args...)
}

// isSet reports whether the file set the key at path.
func (d *decoder) isSet(path string) bool {
	_, ok := d.pos[path]
	return ok
}

// validate checks cross-field rules, fills derived defaults and collects
// warnings. Field-level syntax was checked while decoding.
func (d *decoder) validate(c *Config) {
	d.validateStorage(&c.Storage)
	d.validateServer(&c.Server)
	d.oneOf("logging.level", c.Logging.Level, "debug", "info", "warn", "error")
	d.oneOf("logging.format", c.Logging.Format, "text", "json")
	d.validateMonitors(&c.Monitors, "monitors", false)
	d.validateTenants(c)
	d.validateRules(&c.Rules)
	d.validateDamping(c)
	d.validateIngest(c)
	d.validateTrust(c)
	d.validateAlerting(c)
	d.validateProxy(c)
	d.validateDigest(c)
}

func (d *decoder) oneOf(path, value string, allowed ...string) bool {
	if slices.Contains(allowed, value) {
		return true
	}
	msg := fmt.Sprintf("unknown value %q (want %s)", value, orList(allowed))
	if s := suggest(value, allowed); s != "" && value != "" {
		msg = fmt.Sprintf("unknown value %q (did you mean %q?)", value, s)
	}
	d.errorf(nil, path, "%s", msg)
	return false
}

func orList(xs []string) string {
	if len(xs) == 1 {
		return xs[0]
	}
	return strings.Join(xs[:len(xs)-1], ", ") + " or " + xs[len(xs)-1]
}

func (d *decoder) validateStorage(s *Storage) {
	d.oneOf("storage.driver", s.Driver, "sqlite", "postgres")
	switch s.Driver {
	case "sqlite":
		if s.DSN != "" {
			d.errorf(nil, "storage.dsn", "dsn applies to the postgres driver only (sqlite uses path)")
		}
		if s.Path == "" {
			d.errorf(nil, "storage.path", "path is required for the sqlite driver")
		}
		s.Path = d.resolve(s.Path)
	case "postgres":
		if s.DSN == "" {
			d.errorf(nil, "storage.driver", "the postgres driver needs dsn or dsn_file")
		}
		if d.isSet("storage.path") {
			d.errorf(nil, "storage.path", "path applies to the sqlite driver only (postgres uses dsn)")
		}
		s.Path = ""
	}
	for _, r := range []struct {
		key string
		v   Duration
	}{{"events", s.Retention.Events}, {"snapshots", s.Retention.Snapshots}, {"incidents", s.Retention.Incidents}} {
		if r.v < Duration(time.Hour) {
			d.errorf(nil, "storage.retention."+r.key, "must be at least 1h, got %s", r.v)
		}
	}
	if fr := s.Retention.FullResolution; fr != 0 && (fr < Duration(time.Hour) || fr > s.Retention.Snapshots) {
		d.errorf(nil, "storage.retention.full_resolution", "must be 0 or between 1h and storage.retention.snapshots (%s), got %s", s.Retention.Snapshots, fr)
	}
	if m := s.Retention.MaxSize; m != 0 && m < 64<<20 {
		d.errorf(nil, "storage.retention.max_size", "must be 0 (no bound) or at least 64MiB, got %s", m)
	}
}

func (d *decoder) validateServer(s *Server) {
	host, port, err := net.SplitHostPort(s.Listen)
	if err != nil {
		d.errorf(nil, "server.listen", "invalid address %q: want host:port, e.g. 127.0.0.1:8080 or :8080", s.Listen)
	} else if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 || strings.ContainsAny(host, "/ ") {
		d.errorf(nil, "server.listen", "invalid address %q: want host:port with a port number", s.Listen)
	}
	if s.ExternalURL != "" {
		if u, err := url.Parse(s.ExternalURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			d.errorf(nil, "server.external_url", "want an absolute http or https URL")
		} else if u.User != nil {
			d.errorf(nil, "server.external_url", "must not contain credentials")
		}
	}
	switch {
	case s.TLSCertFile != "" && s.TLSKeyFile == "":
		d.errorf(nil, "server.tls_cert_file", "set tls_key_file too (or neither)")
	case s.TLSCertFile == "" && s.TLSKeyFile != "":
		d.errorf(nil, "server.tls_key_file", "set tls_cert_file too (or neither)")
	}
	s.TLSCertFile, s.TLSKeyFile = d.resolve(s.TLSCertFile), d.resolve(s.TLSKeyFile)
}

// validateMonitors checks one monitors block; inherited blocks check only the
// keys the file set at path (the rest was checked at the top level).
func (d *decoder) validateMonitors(m *Monitors, path string, inherited bool) {
	m.Each(func(resource string, mon *Monitor) {
		p := path + "." + resource
		if (!inherited || d.isSet(p+".interval")) && mon.Interval < MinInterval {
			d.errorf(nil, p+".interval", "must be at least %s, got %s", MinInterval, mon.Interval)
		}
		if inherited && !d.isSet(p+".critical") {
			return
		}
		seen := map[string]bool{}
		for i, k := range mon.Critical {
			kp := fmt.Sprintf("%s.critical[%d]", p, i)
			switch {
			case strings.TrimSpace(k) == "":
				d.errorf(nil, kp, "empty object key")
			case seen[k]:
				d.errorf(nil, kp, "duplicate object key %q", k)
			}
			seen[k] = true
		}
	})
}

func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || (i > 0 && (r == '-' || r == '_'))
		if !ok {
			return false
		}
	}
	return true
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func (d *decoder) validateTenants(c *Config) {
	if len(c.Tenants) == 0 {
		d.warnf("tenants", "no tenants configured: only ingested logs and events will be watched")
	}
	names := map[string]int{}
	bus := map[string]int{}
	for i := range c.Tenants {
		t := &c.Tenants[i]
		p := fmt.Sprintf("tenants[%d]", i)
		switch {
		case t.Name == "":
			d.errorf(nil, p, "name is required")
		case !validName(t.Name):
			d.errorf(nil, p+".name", "invalid name %q: use letters, digits, - and _ (at most 64, starting with a letter or digit)", t.Name)
		default:
			if j, dup := names[t.Name]; dup {
				d.errorf(nil, p+".name", "duplicate tenant name %q (also tenants[%d])", t.Name, j)
			} else {
				names[t.Name] = i
			}
		}
		d.validateEndpoints(t, p)
		if t.ClientID == "" {
			d.errorf(nil, p, "client_id is required")
		}
		switch {
		case t.ClientSecret != "", d.failed[p+".client_secret"], d.failed[p+".client_secret_file"]:
		case d.isSet(p + ".client_secret"):
			d.errorf(nil, p+".client_secret", "must not be empty")
		default:
			d.errorf(nil, p, "client_secret or client_secret_file is required")
		}
		if t.ClientSecretRotated != "" {
			if _, err := time.Parse(time.DateOnly, t.ClientSecretRotated); err != nil {
				d.errorf(nil, p+".client_secret_rotated", "want a date like 2025-01-31, got %q", t.ClientSecretRotated)
			}
		}
		if t.AccountID != "" && (!isDigits(t.AccountID) || len(t.AccountID) > 18) {
			d.errorf(nil, p+".account_id", "must be the numeric MID of the business unit, got %q", t.AccountID)
		}
		if budget, ok := EditionBudget(t.Edition); !ok {
			d.oneOf(p+".edition", t.Edition, "pro", "corporate", "enterprise")
		} else if !d.isSet(p + ".daily_api_budget") {
			t.DailyAPIBudget = budget
		}
		if t.DailyAPIBudget < 0 {
			d.errorf(nil, p+".daily_api_budget", "must be 0 (unlimited) or more, got %d", t.DailyAPIBudget)
		}
		if t.Timezone == "" {
			d.errorf(nil, p+".timezone", "must not be empty (e.g. UTC, Europe/Berlin)")
		} else if loc, err := time.LoadLocation(t.Timezone); err != nil {
			d.errorf(nil, p+".timezone", "unknown time zone %q (want an IANA name such as Europe/Berlin)", t.Timezone)
		} else {
			t.loc = loc
		}
		d.validateMonitors(&t.Monitors, p+".monitors", true)
		d.validateObjects(t, p)
		if t.ClientID != "" {
			bu := t.Endpoints().Auth + "\x00" + t.ClientID + "\x00" + t.AccountID
			if j, dup := bus[bu]; dup {
				d.warnf(p, "same business unit as tenants[%d] (same auth URL, client_id and account_id)", j)
			} else {
				bus[bu] = i
			}
		}
		d.warnBudget(t, p)
	}
}

func (d *decoder) validateEndpoints(t *Tenant, p string) {
	urls := []struct{ key, val string }{{"auth_url", t.AuthURL}, {"rest_url", t.RestURL}, {"soap_url", t.SoapURL}}
	anyURL := t.AuthURL != "" || t.RestURL != "" || t.SoapURL != ""
	switch {
	case t.Subdomain != "" && anyURL:
		d.errorf(nil, p+".subdomain", "set either subdomain or auth_url, rest_url and soap_url, not both")
	case t.Subdomain != "":
		if strings.Contains(t.Subdomain, ".") {
			d.errorf(nil, p+".subdomain", "want only the tenant-specific part (e.g. mc563885gzs27c5t9-63k636ttgm), not a host name")
		} else if !validName(t.Subdomain) || strings.Contains(t.Subdomain, "_") {
			d.errorf(nil, p+".subdomain", "invalid subdomain %q: use letters, digits and -", t.Subdomain)
		}
	case !anyURL:
		d.errorf(nil, p, "set subdomain, or auth_url, rest_url and soap_url")
	default:
		for _, u := range urls {
			if u.val == "" {
				switch {
				case d.failed[p+"."+u.key]:
				case d.isSet(p + "." + u.key):
					d.errorf(nil, p+"."+u.key, "must not be empty")
				default:
					d.errorf(nil, p, "%s is required when the URLs are given explicitly (or use subdomain)", u.key)
				}
				continue
			}
			if msg := checkTenantURL(u.val); msg != "" {
				d.errorf(nil, p+"."+u.key, "%s", msg)
			}
		}
	}
}

// checkTenantURL returns what is wrong with an SFMC base URL ("" if fine).
// It never echoes the URL, which may carry expanded secrets.
func checkTenantURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "want an absolute https URL"
	}
	if u.User != nil {
		return "must not contain credentials (use client_id and client_secret)"
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "must not have a query or fragment"
	}
	if u.Scheme == "http" {
		switch u.Hostname() {
		case "localhost", "127.0.0.1", "::1":
		default:
			return "must use https (http is allowed only for localhost, 127.0.0.1 and ::1)"
		}
	}
	return ""
}

func (d *decoder) validateObjects(t *Tenant, p string) {
	for key, o := range t.Objects {
		op := mapKeyPath(p+".objects", key)
		typ, objKey, ok := strings.Cut(key, ":")
		if !ok || objKey == "" {
			d.errorf(nil, op, "object keys are <type>:<external key>, e.g. data_extension:Orders_Daily")
			continue
		}
		mon := t.Monitors.Get(pluralOf(typ))
		if mon == nil {
			msg := fmt.Sprintf("unknown object type %q (want %s)", typ, orList(ObjectTypes()))
			if s := suggest(typ, ObjectTypes()); s != "" {
				msg = fmt.Sprintf("unknown object type %q (did you mean %q?)", typ, s)
			}
			d.errorf(nil, op, "%s", msg)
			continue
		}
		if !mon.Enabled {
			d.warnf(op, "the %s monitor is disabled, so this override has no effect", pluralOf(typ))
		}
		if o.Freshness.WarnAfter > 0 && o.Freshness.ErrorAfter > 0 && o.Freshness.WarnAfter >= o.Freshness.ErrorAfter {
			d.errorf(nil, op+".freshness.warn_after", "warn_after (%s) must be less than error_after (%s)", o.Freshness.WarnAfter, o.Freshness.ErrorAfter)
		}
		if o.RowDrop.Warn > 0 && o.RowDrop.Error > 0 && o.RowDrop.Warn >= o.RowDrop.Error {
			d.errorf(nil, op+".row_drop.warn", "warn (%s) must be less than error (%s)", o.RowDrop.Warn, o.RowDrop.Error)
		}
		if typ != "data_extension" {
			for _, k := range []string{"row_drop", "min_rows"} {
				if d.isSet(op + "." + k) {
					d.errorf(nil, op+"."+k, "applies to data_extension objects only")
				}
			}
		}
		if typ != "automation" && typ != "import" && d.isSet(op+".min_output_rows") {
			d.errorf(nil, op+".min_output_rows", "applies to automation and import objects only")
		}
		if typ != "import" && d.isSet(op+".min_file_lines") {
			d.errorf(nil, op+".min_file_lines", "applies to import objects only")
		}
		if typ != "journey" && d.isSet(op+".split_drop_ratio") {
			d.errorf(nil, op+".split_drop_ratio", "applies to journey objects only")
		}
		if o.SplitDropRatio < 0 || o.SplitDropRatio >= 1 && o.SplitDropRatio != 0 {
			d.errorf(nil, op+".split_drop_ratio", "must be more than 0%% and less than 100%%")
		}
		if typ != "automation" && d.isSet(op+".query_warn_after") {
			d.errorf(nil, op+".query_warn_after", "applies to automation objects only")
		}
		if o.MinOutputRows < 0 || o.MinFileLines < 0 {
			d.errorf(nil, op, "min_output_rows and min_file_lines must not be negative")
		}
		if typ != "automation" && d.isSet(op+".max_runtime") {
			d.errorf(nil, op+".max_runtime", "applies to automation objects only")
		}
		if o.MinRows < 0 {
			d.errorf(nil, op+".min_rows", "must not be negative")
		}
		if d.isSet(op+".expected_interval") && o.ExpectedInterval < Duration(time.Minute) {
			d.errorf(nil, op+".expected_interval", "must be at least 1m, got %s", o.ExpectedInterval)
		}
	}
}

// EstimatedDailyCalls is the tenant's planned steady API calls a day for
// the reference business unit (callplan.Reference: 200 automations, 50
// journeys, 500 data extensions, 100 triggered sends, 20 transactional
// definitions, 60 imports), from the same plan the collectors follow
// (CallPlan). One-off calls while the tenant is learned come on top.
func (t *Tenant) EstimatedDailyCalls() int64 {
	return t.CallPlan(callplan.Reference()).PerDay()
}

func (d *decoder) warnBudget(t *Tenant, p string) {
	est := t.EstimatedDailyCalls()
	switch {
	case t.DailyAPIBudget == 0:
		d.warnf(p+".daily_api_budget", "0 means sfmcwatch's own API calls are not limited (monitors need about %d a day)", est)
	case est > t.DailyAPIBudget:
		d.warnf(p+".daily_api_budget", "monitors need about %d API calls a day (a business unit of the reference size; check-config lists them by monitor), more than the budget of %d: raise intervals, disable monitors or raise the budget", est, t.DailyAPIBudget)
	}
}

// validateRules checks every rule generically: durations positive, counts at
// least 1, factors at least 1, ratios above 0, then the ordered pairs.
func (d *decoder) validateRules(r *Rules) {
	zeroOK := map[string]bool{
		"keep_firing_for": true, "pause_warning": true, "escalate_after": true,
		"confirm_polls": true, "min_calls": true, "min_previous_rows": true, "min_baseline_per_hour": true,
		"resolve_after": true, "clear_evaluations": true, // 0: the incidents block's damping
	}
	v := reflect.ValueOf(r).Elem()
	for i := range v.NumField() {
		id, rv := yamlName(v.Type().Field(i)), v.Field(i)
		for _, f := range d.fieldsOf(rv.Type()) {
			fv := rv.FieldByIndex(f.index)
			want := ""
			switch fv.Interface().(type) {
			case Duration:
				if fv.Int() < 0 || (fv.Int() == 0 && !zeroOK[f.name]) {
					want = "more than 0s"
				}
			case Ratio:
				if fv.Float() <= 0 {
					want = "more than 0%"
				}
			case int, int64:
				if fv.Int() < 0 || (fv.Int() == 0 && !zeroOK[f.name]) {
					want = "at least 1"
				}
			case float64:
				if zeroOK[f.name] && fv.Float() < 0 {
					want = "0 or more"
				} else if !zeroOK[f.name] && fv.Float() < 1 {
					want = "at least 1"
				}
			}
			if want != "" {
				d.errorf(nil, "rules."+id+"."+f.name, "must be %s", want)
			}
		}
	}
	less := func(path, a string, av float64, b string, bv float64, orEqual bool) {
		if av > bv || (!orEqual && av == bv) {
			rel := "less than"
			if orEqual {
				rel = "at most"
			}
			d.errorf(nil, path+"."+a, "%s must be %s %s", a, rel, b)
		}
	}
	less("rules.journey.split_skew", "drop_ratio", float64(r.JourneySplitSkew.DropRatio), "1", 1, false)
	less("rules.journey.split_skew", "min_share", float64(r.JourneySplitSkew.MinShare), "1", 1, false)
	less("rules.automation.error", "consecutive", float64(r.AutomationError.Consecutive), "escalate_consecutive", float64(r.AutomationError.EscalateConsecutive), true)
	less("rules.automation.stalled", "floor", float64(r.AutomationStalled.Floor), "error_after", float64(r.AutomationStalled.ErrorAfter), false)
	less("rules.triggered_send.silent_failure", "short_window", float64(r.TriggeredSendSilentFailure.ShortWindow), "long_window", float64(r.TriggeredSendSilentFailure.LongWindow), false)
	less("rules.data_extension.row_drop", "warn_drop", float64(r.DataExtensionRowDrop.WarnDrop), "error_drop", float64(r.DataExtensionRowDrop.ErrorDrop), false)
	less("rules.data_extension.stale", "warn_factor", r.DataExtensionStale.WarnFactor, "error_factor", r.DataExtensionStale.ErrorFactor, false)
	less("rules.data_extension.stale", "warn_floor", float64(r.DataExtensionStale.WarnFloor), "error_floor", float64(r.DataExtensionStale.ErrorFloor), true)
	less("rules.data_extension.stale", "min_learn_intervals", float64(r.DataExtensionStale.MinLearnIntervals), "learn_intervals", float64(r.DataExtensionStale.LearnIntervals), true)
	less("rules.import.partial", "warn_ratio", float64(r.ImportPartial.WarnRatio), "error_ratio", float64(r.ImportPartial.ErrorRatio), false)
	less("rules.tenant.blind", "secret_warn_age", float64(r.TenantBlind.SecretWarnAge), "secret_error_age", float64(r.TenantBlind.SecretErrorAge), false)
	// Collectors count status polls only up to StatusPollsCap.
	if r.AutomationPaused.ConfirmPolls > MaxConfirmPolls {
		d.errorf(nil, "rules.automation.paused.confirm_polls", "must be at most %d", MaxConfirmPolls)
	}
	if r.TriggeredSendInactive.ConfirmPolls > MaxConfirmPolls {
		d.errorf(nil, "rules.triggered_send.inactive.confirm_polls", "must be at most %d", MaxConfirmPolls)
	}
	if r.QueryTimeout.WarnRatio > 1 {
		d.errorf(nil, "rules.query.timeout.warn_ratio", "must be at most 100%%")
	}
	if r.TriggeredSendSilentFailure.SLO >= 1 {
		d.errorf(nil, "rules.triggered_send.silent_failure.slo", "must be less than 100%%")
	}
}

func (d *decoder) validateIngest(c *Config) {
	in := &c.Ingest
	if in.MaxBodySize < 1<<10 {
		d.errorf(nil, "ingest.max_body_size", "must be at least 1KiB, got %s", in.MaxBodySize)
	}
	tenants := make([]string, len(c.Tenants))
	for i, t := range c.Tenants {
		tenants[i] = t.Name
	}
	names := map[string]int{}
	for i := range in.Sources {
		s := &in.Sources[i]
		p := fmt.Sprintf("ingest.sources[%d]", i)
		switch {
		case s.Name == "":
			d.errorf(nil, p, "name is required")
		case !validName(s.Name):
			d.errorf(nil, p+".name", "invalid name %q: use letters, digits, - and _", s.Name)
		default:
			if j, dup := names[s.Name]; dup {
				d.errorf(nil, p+".name", "duplicate source name %q (also ingest.sources[%d])", s.Name, j)
			} else {
				names[s.Name] = i
			}
		}
		if s.Tenant != "" && !slices.Contains(tenants, s.Tenant) {
			msg := fmt.Sprintf("no tenant named %q", s.Tenant)
			if sug := suggest(s.Tenant, tenants); sug != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", sug)
			}
			d.errorf(nil, p+".tenant", "%s", msg)
		}
		if s.Type == "" {
			d.errorf(nil, p, "type is required (http, file or ens)")
			continue
		}
		if !d.oneOf(p+".type", s.Type, "http", "file", "ens") {
			continue
		}
		only := func(key, types string, set bool) {
			if set {
				d.errorf(nil, p+"."+key, "applies to %s sources only", types)
			}
		}
		only("token", "http", s.Type != "http" && s.Token != "")
		only("token_sha256", "http", s.Type != "http" && s.TokenSHA256 != "")
		only("path", "file", s.Type != "file" && s.Path != "")
		only("signature_key", "ens", s.Type != "ens" && s.SignatureKey != "")
		only("format", "http and file", s.Type == "ens" && d.isSet(p+".format"))
		switch {
		case s.Type == "file" && s.Format == "csv":
			// The tailer reads JSON lines; serve used to refuse this only
			// at start.
			d.errorf(nil, p+".format", "file sources read JSON lines only: want auto or jsonl, got %q (csv is for http sources)", s.Format)
		case s.Type != "ens":
			d.oneOf(p+".format", s.Format, "auto", "jsonl", "csv")
		}
		switch s.Type {
		case "http":
			switch {
			case s.Token != "" && s.TokenSHA256 != "":
				d.errorf(nil, p+".token_sha256", "set either token (or token_file) or token_sha256, not both")
			case s.Token == "" && s.TokenSHA256 == "":
				d.errorf(nil, p, "http sources need token, token_file or token_sha256")
			case s.TokenSHA256 != "":
				if b, err := hex.DecodeString(s.TokenSHA256); err != nil || len(b) != 32 {
					d.errorf(nil, p+".token_sha256", "want 64 hex digits (sha256sum of the token)")
				}
			}
		case "file":
			if s.Path == "" {
				d.errorf(nil, p, "file sources need path")
			}
			s.Path = d.resolve(s.Path)
		case "ens":
			s.Format = ""
			if s.Tenant == "" {
				d.errorf(nil, p, "ens sources need tenant")
			}
			if s.SignatureKey == "" {
				d.errorf(nil, p, "ens sources need signature_key or signature_key_file")
			}
		}
	}
}
