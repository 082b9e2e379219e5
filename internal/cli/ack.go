package cli

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

func ackCommand() command {
	return command{name: "ack", summary: "acknowledge an incident (stops reminders and escalation)", run: runAck}
}

const ackHelp = `
Acknowledge an incident in the store the config names: its notifications
say who is on it, reminders stop and an unacknowledged-critical escalation
does not happen. A running sfmcwatch serve sees it within
alerting.poll_interval.

Exit status: 0 acknowledged, 2 usage error, unreadable config or store,
unknown incident.`

func runAck(ctx context.Context, args []string, s IO) int {
	fs := newFlagSet("ack", "--config F [--by NAME] ID", ackHelp, s)
	cfgPath := fs.String("config", "", "configuration file (required)")
	by := fs.String("by", currentUser(), "who acknowledges")
	rest, code, done := parseFlags(fs, args, s)
	if done {
		return code
	}
	if len(rest) != 1 {
		fmt.Fprintln(s.Err, "ack: exactly one incident ID is required")
		return ExitUsage
	}
	id, err := strconv.ParseInt(rest[0], 10, 64)
	if err != nil || id <= 0 {
		fmt.Fprintf(s.Err, "ack: %q is not an incident ID\n", rest[0])
		return ExitUsage
	}
	_, st, ok := openConfiguredStore(ctx, "ack", *cfgPath, s)
	if !ok {
		return ExitUsage
	}
	defer st.Close()
	inc, err := st.AcknowledgeIncident(ctx, id, *by, time.Now().UTC())
	if errors.Is(err, store.ErrNotFound) {
		fmt.Fprintf(s.Err, "ack: no incident %d\n", id)
		return ExitUsage
	}
	if err != nil {
		fmt.Fprintf(s.Err, "ack: %v\n", err)
		return ExitUsage
	}
	fmt.Fprintf(s.Out, "incident %d (%s, %s) acknowledged by %s\n", inc.ID, inc.Rule, inc.Status, inc.AcknowledgedBy)
	return ExitOK
}
