package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/sfmc/sim"
)

func simCommand() command {
	return command{name: "sim", summary: "run the SFMC simulator (fake tenant with switchable faults)", run: runSim}
}

const simDescription = `
Run a fake Salesforce Marketing Cloud tenant on one HTTP address: v2/token,
the REST endpoints and SOAP Retrieve answer in SFMC's recorded shapes, for one
or more deterministic business units (MIDs). Counters move as the simulated
clock runs (--speed makes it faster than real time). Faults (throttling,
credential rotation, failing automations, stalled journeys, ...) come from a
YAML scenario (--scenario) or the admin API under /_sim/.

--size takes a preset (small, default, large) or a list such as
automations=50,journeys=10,data_extensions=100,triggered_sends=20,transactional=5,imports=10.
Runs until interrupted.`

func runSim(ctx context.Context, args []string, s IO) int {
	fs := newFlagSet("sim", "[--addr A] [--scenario FILE] [--seed N] [--speed X] [--size S] [--mids LIST]", simDescription, s)
	addr := fs.String("addr", "127.0.0.1:8899", "listen address")
	scenario := fs.String("scenario", "", "YAML fault timeline to apply")
	seed := fs.Int64("seed", 1, "seed for the generated tenants")
	speed := fs.Float64("speed", 1, "simulated seconds per real second")
	sizeFlag := fs.String("size", "default", "tenant size: small, default, large or key=value list")
	midsFlag := fs.String("mids", "", "comma-separated MIDs to serve (default one MID)")
	tenants := fs.Int("tenants", 1, "number of business units when --mids is not given")
	verbose := fs.Bool("v", false, "log every request")
	if rest, code, done := parseFlags(fs, args, s); done {
		return code
	} else if len(rest) > 0 {
		fmt.Fprintf(s.Err, "sim: unexpected argument %q\n", rest[0])
		return ExitUsage
	}
	size, err := parseSimSize(*sizeFlag)
	if err != nil {
		fmt.Fprintf(s.Err, "sim: --size: %v\n", err)
		return ExitUsage
	}
	var mids []int64
	if *midsFlag != "" {
		for _, p := range strings.Split(*midsFlag, ",") {
			m, err := strconv.ParseInt(strings.TrimSpace(p), 10, 64)
			if err != nil || m <= 0 {
				fmt.Fprintf(s.Err, "sim: --mids: invalid MID %q\n", p)
				return ExitUsage
			}
			mids = append(mids, m)
		}
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(s.Err, &slog.HandlerOptions{Level: level}))
	sm, err := sim.New(sim.Options{Seed: *seed, Speed: *speed, Size: size, MIDs: mids, Tenants: *tenants, Logger: logger})
	if err != nil {
		fmt.Fprintf(s.Err, "sim: %v\n", err)
		return ExitUsage
	}
	if *scenario != "" {
		sc, err := sim.LoadScenario(*scenario)
		if err != nil {
			fmt.Fprintf(s.Err, "sim: %v\n", err)
			return ExitUsage
		}
		if _, err := sm.Apply(sc); err != nil {
			fmt.Fprintf(s.Err, "sim: %v\n", err)
			return ExitUsage
		}
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(s.Err, "sim: listen: %v\n", err)
		return ExitUsage
	}
	srv := &http.Server{Handler: sm.Handler(), ReadHeaderTimeout: 10 * time.Second}
	printSimBanner(s, "http://"+ln.Addr().String(), sm, *scenario)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintf(s.Err, "sim: serve: %v\n", err)
			return ExitUsage
		}
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		_ = srv.Close()
	}
	fmt.Fprintln(s.Err, "sim: stopped")
	return ExitOK
}

func printSimBanner(s IO, base string, sm *sim.Sim, scenario string) {
	c := sm.Credentials()
	st := sm.State()
	mids := make([]string, len(c.MIDs))
	for i, m := range c.MIDs {
		mids[i] = strconv.FormatInt(m, 10)
	}
	w := s.Out
	fmt.Fprintf(w, "sfmcwatch SFMC simulator listening on %s\n\n", base)
	fmt.Fprintf(w, "  auth URL       %s/v2/token\n", base)
	fmt.Fprintf(w, "  REST base URL  %s/\n", base)
	fmt.Fprintf(w, "  SOAP URL       %s/Service.asmx\n", base)
	fmt.Fprintf(w, "  client_id      %s\n", c.ClientID)
	fmt.Fprintf(w, "  client_secret  %s\n", c.ClientSecret)
	fmt.Fprintf(w, "  MIDs           %s (default account_id %d)\n", strings.Join(mids, ", "), c.AccountID)
	if len(st.Tenants) > 0 {
		z := st.Tenants[0].Size
		fmt.Fprintf(w, "  size per MID   %d automations, %d journeys, %d data extensions, %d triggered sends, %d transactional, %d imports\n",
			z.Automations, z.Journeys, z.DataExtensions, z.TriggeredSends, z.Transactional, z.Imports)
	}
	fmt.Fprintf(w, "  clock          starts %s, speed %gx\n", st.Start.Format(time.RFC3339), st.Speed)
	if scenario != "" {
		fmt.Fprintf(w, "  scenario       %s (%d faults)\n", scenario, len(st.Faults))
	}
	fmt.Fprintf(w, "\nAdmin API:\n")
	fmt.Fprintf(w, "  GET    %s/_sim/state            clock, tenants, faults, request counts\n", base)
	fmt.Fprintf(w, "  GET    %s/_sim/faults           faults and known kinds\n", base)
	fmt.Fprintf(w, "  POST   %s/_sim/faults           {\"fault\":\"rest_throttle\",\"for\":\"5m\",\"target\":\"rest\"}\n", base)
	fmt.Fprintf(w, "  DELETE %s/_sim/faults/{id}\n", base)
	fmt.Fprintf(w, "  POST   %s/_sim/clock/advance    {\"by\":\"1h\"}\n", base)
	fmt.Fprintf(w, "\nTry:\n")
	fmt.Fprintf(w, "  TOKEN=$(curl -s %s/v2/token -H 'Content-Type: application/json' \\\n", base)
	fmt.Fprintf(w, "    -d '{\"grant_type\":\"client_credentials\",\"client_id\":\"%s\",\"client_secret\":\"%s\",\"account_id\":\"%d\"}' \\\n", c.ClientID, c.ClientSecret, c.AccountID)
	fmt.Fprintf(w, "    | sed -E 's/.*\"access_token\":\"([^\"]+)\".*/\\1/')\n")
	fmt.Fprintf(w, "  curl -s -H \"Authorization: Bearer $TOKEN\" '%s/automation/v1/automations?$page=1&$pageSize=5'\n", base)
	fmt.Fprintf(w, "  curl -s %s/Service.asmx -H 'Content-Type: text/xml' -H 'SOAPAction: Retrieve' --data \"<s:Envelope xmlns:s='http://schemas.xmlsoap.org/soap/envelope/'><s:Header><fueloauth>$TOKEN</fueloauth></s:Header><s:Body><RetrieveRequestMsg xmlns='http://exacttarget.com/wsdl/partnerAPI'><RetrieveRequest><ObjectType>TriggeredSendSummary</ObjectType><Properties>CustomerKey</Properties><Properties>Sent</Properties></RetrieveRequest></RetrieveRequestMsg></s:Body></s:Envelope>\"\n\n", base)
}

func parseSimSize(v string) (sim.Size, error) {
	switch v {
	case "", "default":
		return sim.DefaultSize(), nil
	case "small":
		return sim.Size{Automations: 20, Journeys: 8, DataExtensions: 40, TriggeredSends: 10, Transactional: 4, Imports: 8}, nil
	case "large":
		return sim.Size{Automations: 1000, Journeys: 250, DataExtensions: 3000, TriggeredSends: 500, Transactional: 60, Imports: 300}, nil
	}
	z := sim.DefaultSize()
	for _, kv := range strings.Split(v, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(kv), "=")
		n, err := strconv.Atoi(strings.TrimSpace(val))
		if !ok || err != nil || n < 0 {
			return z, fmt.Errorf("invalid %q (want small, default, large or key=N,...)", kv)
		}
		switch strings.TrimSpace(k) {
		case "automations":
			z.Automations = n
		case "journeys":
			z.Journeys = n
		case "data_extensions", "des":
			z.DataExtensions = n
		case "triggered_sends":
			z.TriggeredSends = n
		case "transactional":
			z.Transactional = n
		case "imports":
			z.Imports = n
		default:
			return z, fmt.Errorf("unknown key %q (automations, journeys, data_extensions, triggered_sends, transactional, imports)", k)
		}
	}
	return z, nil
}
