package notify

import "strings"

// whyByRule says, per stable rule id, what the failure costs the business.
// Incidents carry what failed and the fix; this is the "why it matters"
// line of every message.
var whyByRule = map[string]string{
	"api.errors":                    "Integrations calling SFMC are failing: data and sends that depend on them silently stop.",
	"automation.error":              "The automation's later steps did not run: downstream data extensions and sends work on stale or missing data.",
	"automation.stalled":            "A run that never finishes blocks the next scheduled runs: nothing downstream refreshes.",
	"automation.missed_run":         "A scheduled run did not happen: the data it feeds is stale and sends may go to the wrong audience.",
	"automation.paused":             "A paused automation stops every import, query and send it schedules until someone resumes it.",
	"automation.partial":            "Part of the run failed while the run looks complete: some data is missing without an error anywhere else.",
	"journey.stopped":               "Contacts stop entering or progressing in the journey: customer messages are not sent.",
	"journey.enrollment_drop":       "Far fewer contacts enter the journey than usual: an upstream audience or entry source is likely broken.",
	"journey.split_skew":            "Contacts go down the wrong path of the journey: they get the wrong messages, or none, while every activity reports success.",
	"triggered_send.inactive":       "Calls to an inactive triggered send are accepted but nothing is sent: transactional e-mails are lost.",
	"triggered_send.errors":         "Triggered sends are failing: customers do not receive transactional e-mails (receipts, password resets).",
	"triggered_send.backlog":        "Messages queue up instead of being sent: customers receive them late or not at all.",
	"triggered_send.silent_failure": "SFMC accepts the requests (2xx) but sends nothing: no error is visible anywhere else.",
	"data_extension.row_drop":       "A data extension lost most of its rows: sends and journeys using it target a fraction of the audience.",
	"data_extension.empty":          "An empty data extension makes every send or journey using it send nothing.",
	"data_extension.schema_drift":   "The schema changed: imports, queries and integrations writing to it start failing or drop fields.",
	"data_extension.stale":          "The data has not been refreshed on schedule: sends use outdated data.",
	"import.failed":                 "The import did not load its file: downstream data is stale.",
	"import.partial":                "The import rejected part of the rows: downstream data is incomplete.",
	"tenant.blind":                  "sfmcwatch cannot read this tenant: failures there are not detected until access is restored.",
	"tenant.blocked":                "SFMC is refusing the tenant's API calls: every integration of the tenant is affected.",
	"tenant.budget":                 "The tenant is near its API-call budget: calls may be refused and integrations stop.",
	"notify.channel_failed":         "Alerts sent to this channel do not arrive: failures in SFMC go unnoticed by that team until it is fixed.",
	"ens.silent":                    "SFMC stopped pushing events: failures are still caught by polling, but minutes later instead of seconds.",
	"query.failed":                  "The query did not refresh its target data extension: the automation's later steps, sends and journeys work on stale data.",
	"query.timeout":                 "SFMC kills queries at 30 minutes: a killed query leaves its target stale, and a slow one will soon be killed.",
	"file.missing":                  "The expected file was not there: nothing was imported and everything fed by it works on old data.",
	"file.unexpected":               "The file was empty, stale or in the wrong shape: its data was not loaded.",
	"automation.no_output":          "The run reported success but did not do its work: sends and journeys read empty or short data.",
}

var whyByFamily = map[string]string{
	"auth":       "Credentials or permissions are rejected: every call of the integration fails until they are fixed.",
	"client":     "Requests are rejected as invalid: retrying never helps, the data or request must be fixed.",
	"rate_limit": "Calls are throttled: work is delayed or dropped and the shared API budget is spent on retries.",
	"server":     "SFMC is failing on its side: calls fail until the platform recovers or support intervenes.",
	"timeout":    "Calls time out: work is delayed or lost and retries add load.",
}

func whyItMatters(rule, family string) string {
	if s, ok := whyByRule[rule]; ok {
		return s
	}
	if s, ok := whyByFamily[family]; ok {
		return s
	}
	if i := strings.IndexByte(rule, '.'); i > 0 {
		return "A monitored " + strings.ReplaceAll(rule[:i], "_", " ") + " is failing."
	}
	return ""
}
