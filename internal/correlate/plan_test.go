package correlate

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

func apiInc(id int64, integration, endpoint, family, code string) store.Incident {
	return store.Incident{ID: id, Rule: "api.errors", Tenant: "a-very-long-tenant-name-for-a-business-unit", ResourceType: "tenant", ResourceKey: endpoint,
		Family: family, Status: store.IncidentOpen, OpenedAt: time.Unix(id, 0),
		Fingerprint: strings.Join([]string{"api.errors", "t", "tenant", endpoint, integration, family, code}, "|")}
}

// TestCauseTitlesShort: every assembled cause title stays under 120
// characters however many long names it lists.
func TestCauseTitlesShort(t *testing.T) {
	for _, fam := range []string{"server", "rate_limit", "auth", "client"} {
		var open []store.Incident
		for i := range 12 {
			ep := fmt.Sprintf("/data/v1/customobjectdata/key/{key}/rowset/with/a/very/long/path/%d", i)
			if fam == "auth" && i == 0 {
				ep = "/v2/token"
			}
			integ := fmt.Sprintf("integration-with-a-long-name-%d", i%3)
			if fam == "client" {
				integ = "one-integration-with-a-long-name"
			}
			open = append(open, apiInc(int64(i+1), integ, ep, fam, "rest:"+fmt.Sprint(10000+i)))
		}
		plan := Plan(open, Lineage{}, nil)
		causes := 0
		for _, d := range plan {
			if d.Cause == "" {
				continue
			}
			causes++
			if n := len([]rune(d.Title)); n == 0 || n >= 120 {
				t.Errorf("%s: cause %s title (%d) %q", fam, d.Cause, n, d.Title)
			}
		}
		if causes == 0 {
			t.Errorf("%s: no cause recognised", fam)
		}
	}
}

// TestPlanOneLevel: a cause is never a child, and an incident has at most
// one cause.
func TestPlanOneLevel(t *testing.T) {
	blocked := store.Incident{ID: 100, Rule: "tenant.blocked", Tenant: "t", Status: store.IncidentOpen, OpenedAt: time.Unix(200, 0)}
	open := []store.Incident{apiInc(1, "a", "/x", "server", "rest:500"), apiInc(2, "b", "/y", "server", "rest:500"), blocked}
	open[0].Cause = CauseOutage // the outage's cause before the block
	plan := Plan(open, Lineage{}, nil)
	if plan[100].Cause != CauseTenantBlocked || plan[1].CausedBy != 100 || plan[2].CausedBy != 100 || plan[1].Cause != "" {
		t.Fatalf("plan = %+v", plan)
	}
}
