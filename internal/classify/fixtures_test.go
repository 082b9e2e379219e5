package classify

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/sharedfixtures"
)

// fixtureCase is the expected classification of one shared fixture.
type fixtureCase struct {
	skip    string // why the file is not a response (skipped)
	status  int    // HTTP status from SOURCES.md (200 when blank, except documented failures)
	surface catalog.Surface
	isErr   bool
	family  catalog.Family // primary family
	codes   []string       // the set of codes
}

func ok(status int) fixtureCase {
	return fixtureCase{status: status, family: catalog.None, codes: []string{itoa(status)}}
}

// fixtureCases covers every file under shared/fixtures/sfmc. A new
// fixture without a case fails TestFixtures.
var fixtureCases = map[string]fixtureCase{
	"SOURCES.md":            {skip: "index of the fixtures, not a response"},
	"wsdl/etframework.wsdl": {skip: "SOAP API WSDL, not a response"},

	"audit/auditevents-doc.json":    ok(200),
	"audit/securityevents-doc.json": ok(200),

	"auth/token-success.json":            ok(200),
	"auth/token-401-invalid-client.json": {status: 401, surface: catalog.OAuth, isErr: true, family: catalog.Auth, codes: []string{"invalid_client"}},
	"auth/rest-401-not-authorized.json":  {status: 401, isErr: true, family: catalog.Auth, codes: []string{"0"}},

	"automation/legacy-bulk-definitions.json":           ok(200),
	"automation/legacy-definition-paused.json":          ok(200),
	"automation/legacy-notifications.json":              ok(200),
	"automation/rest-automation-paused.json":            ok(200),
	"automation/rest-automation-ready-unscheduled.json": ok(200),
	"automation/rest-automation-scheduled-lastrun.json": ok(200),
	"automation/soap-automation-perform-ok.xml":         ok(200),
	"automation/soap-automation-retrieve-doc.xml":       {status: 200, family: catalog.None, codes: []string{"OverallStatus:MoreDataAvailable"}},
	"automation/soap-query-perform-task.xml":            ok(200),
	"automation/soap-schedule-response.xml":             ok(200),

	"dataextension/async-insert-accepted.json":         ok(202),
	"dataextension/async-insert-object-not-found.json": {status: 200, isErr: true, family: catalog.Client, codes: []string{"CustomObjectNotFound"}},
	"dataextension/async-status-complete.json":         ok(200),
	"dataextension/async-status-not-found.json":        {status: 200, isErr: true, family: catalog.Client, codes: []string{"AsyncRequestStatusNotFound"}},
	"dataextension/hub-dataevents-upsert.json":         ok(200),
	"dataextension/rest-rowset-count.json":             ok(200),
	"dataextension/soap-de-retrieve.xml":               ok(200),
	"dataextension/soap-defield-retrieve.xml":          ok(200),

	// Blank HTTP in SOURCES.md, but the row documents a 400 failure.
	"ens/callback-create-failure.json":      {status: 400, isErr: true, family: catalog.Client, codes: []string{"400"}},
	"ens/callback-create-response.json":     ok(201),
	"ens/subscription-create-response.json": ok(201),
	"ens/subscriptions-by-callback.json":    ok(200),
	"ens/event-email-sent.json":             {status: 200, surface: catalog.Transactional, family: catalog.None, codes: []string{"TransactionalSendEvents.EmailSent"}},
	"ens/event-email-bounced.json":          {status: 200, surface: catalog.Transactional, family: catalog.Recipient, codes: []string{"TransactionalSendEvents.EmailBounced"}},

	"errors/rest-404-not-found.json":             {status: 404, isErr: true, family: catalog.Client, codes: []string{"404"}},
	"errors/rest-429-rate-limit-50100.json":      {status: 429, isErr: true, family: catalog.RateLimit, codes: []string{"50100"}},
	"errors/soap-fault-token-expired.xml":        {status: 500, surface: catalog.SOAP, isErr: true, family: catalog.Auth, codes: []string{"q0:Security"}},
	"errors/soap-create-error-12014.xml":         {status: 200, surface: catalog.SOAP, isErr: true, family: catalog.Client, codes: []string{"12014"}},
	"errors/soap-retrieve-empty-ok.xml":          ok(200),
	"errors/soap-retrieve-moredataavailable.xml": {status: 200, family: catalog.None, codes: []string{"OverallStatus:MoreDataAvailable"}},
	// Blank HTTP in SOURCES.md; SOAP faults are HTTP 500.
	"errors/soap-fault-server-unplanned-outage.xml": {status: 500, isErr: true, family: catalog.Server, codes: []string{"2"}},

	"import/rest-filetransferlocations.json":    ok(200),
	"import/rest-filetransfers-list.json":       ok(200),
	"import/rest-import-by-id.json":             ok(200),
	"import/rest-imports-list.json":             ok(200),
	"import/soap-importdefinition-retrieve.xml": ok(200),

	"journey/eventdefinition-deaudience.json":     ok(200),
	"journey/interaction-audit-all.json":          ok(200),
	"journey/interaction-multistep.json":          ok(200),
	"journey/interaction-paused.json":             ok(200),
	"journey/interactions-list-published.json":    ok(200),
	"journey/interactions-list-with-stopped.json": ok(200),
	"journey/interactions-list.json":              ok(200),
	"journey/publishasync-response.json":          ok(200),
	"journey/publishstatus-inprocess.json":        ok(200),
	"journey/publishstatus-success.json":          ok(200),
	"journey/publishstatus-success-warnings.json": {status: 200, surface: catalog.Journey, family: catalog.None, codes: []string{"121546", "121547"}},

	"triggeredsend/deliveryrecords-queued.json":              ok(200),
	"triggeredsend/deliveryrecords-sent.json":                ok(200),
	"triggeredsend/messagedefinitionsends-async-queued.json": ok(202),
	"triggeredsend/soap-tsd-retrieve.xml":                    ok(200),
	"triggeredsend/soap-tss-retrieve.xml":                    ok(200),
	"triggeredsend/transactional-definition.json":            ok(200),
	"triggeredsend/transactional-definitions-list.json":      ok(200),
	"triggeredsend/transactional-queue-metrics.json":         ok(200),
	"triggeredsend/transactional-message-sent.json":          {status: 200, surface: catalog.Transactional, family: catalog.None, codes: []string{"TransactionalSendEvents.EmailSent"}},
	"triggeredsend/transactional-message-queued.json":        {status: 200, surface: catalog.Transactional, family: catalog.None, codes: []string{"TransactionalSendEvents.EmailQueued"}},
	"triggeredsend/transactional-messages-notsent-list.json": {status: 200, surface: catalog.Transactional, family: catalog.Recipient, codes: []string{"24"}},
	"triggeredsend/transactional-send-accepted.json":         ok(202),
	"triggeredsend/transactional-send-mixed-errors.json":     {status: 202, surface: catalog.Transactional, isErr: true, family: catalog.Client, codes: []string{"109001", "109106"}},
}

// TestFixtures classifies every shared fixture (against a catalog built
// from the reference list) and checks it against fixtureCases.
func TestFixtures(t *testing.T) {
	dir := sharedfixtures.Fixtures(t)
	runFixtures(t, dir, csvClassifier(t), false)
}

// TestFixturesEmbeddedCatalog runs the same table against the embedded
// catalog; a case is skipped while that catalog lacks one of its codes.
func TestFixturesEmbeddedCatalog(t *testing.T) {
	dir := sharedfixtures.Fixtures(t)
	runFixtures(t, dir, New(catalog.Default()), true)
}

func runFixtures(t *testing.T, dir string, c *Classifier, skipMissing bool) {
	seen := map[string]bool{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		seen[rel] = true
		tc, found := fixtureCases[rel]
		t.Run(rel, func(t *testing.T) {
			if !found {
				t.Fatalf("no case for fixture %s: add one to fixtureCases (status from SOURCES.md, expected family and codes)", rel)
			}
			if tc.skip != "" {
				t.Skip(tc.skip)
			}
			body, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			r := c.Classify(Input{Status: tc.status, Body: body})
			if skipMissing {
				for _, cl := range r.Classifications {
					if cl.Unknown && slices.Contains(tc.codes, cl.Code) {
						t.Errorf("embedded catalog lacks %s:%s", cl.Surface, cl.Code)
					}
				}
			}
			checkInvariants(t, r)
			if r.IsError != tc.isErr {
				t.Errorf("IsError = %v, want %v (%+v)", r.IsError, tc.isErr, r.Classifications)
			}
			if got := r.Primary().Family; got != tc.family {
				t.Errorf("primary family = %s, want %s (%+v)", got, tc.family, r.Primary())
			}
			if got, want := codeSet(r), sorted(tc.codes); !slices.Equal(got, want) {
				t.Errorf("codes = %q, want %q", got, want)
			}
			if tc.surface != "" && r.Surface != tc.surface {
				t.Errorf("surface = %s, want %s", r.Surface, tc.surface)
			}
			if r.Truncated {
				t.Errorf("complete fixture flagged truncated")
			}
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for rel := range fixtureCases {
		if !seen[rel] {
			t.Errorf("case %s has no fixture file (renamed or removed?)", rel)
		}
	}
}

func codeSet(r Result) []string {
	var out []string
	for _, cl := range r.Classifications {
		out = append(out, cl.Code)
	}
	return sorted(out)
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}

// emailRE finds e-mail addresses (masked ones start with ***@).
var emailRE = regexp.MustCompile(`[*A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}`)

// checkInvariants holds for every result, whatever the input.
func checkInvariants(tb testing.TB, r Result) {
	tb.Helper()
	if len(r.Classifications) == 0 {
		tb.Fatalf("no classifications")
	}
	anyErr := false
	for _, cl := range r.Classifications {
		if cl.Count < 1 {
			tb.Errorf("%s: count %d < 1", cl.Code, cl.Count)
		}
		if !cl.Family.Valid() {
			tb.Errorf("%s: invalid family %q", cl.Code, cl.Family)
		}
		if cl.IsError != cl.Family.IsError() {
			tb.Errorf("%s: IsError %v inconsistent with family %s", cl.Code, cl.IsError, cl.Family)
		}
		if len(cl.Message) > 4*maxMessage+8 {
			tb.Errorf("%s: message not shortened (%d bytes)", cl.Code, len(cl.Message))
		}
		anyErr = anyErr || cl.IsError
	}
	if r.IsError != anyErr {
		tb.Errorf("Result.IsError %v but classifications say %v", r.IsError, anyErr)
	}
	for _, cl := range r.Classifications {
		for _, m := range emailRE.FindAllString(cl.Message, -1) {
			if !strings.HasPrefix(m, "***@") {
				tb.Errorf("e-mail address not masked: %q", cl.Message)
			}
		}
	}
}
