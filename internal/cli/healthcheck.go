package cli

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"time"
)

func healthcheckCommand() command {
	return command{name: "healthcheck", summary: "probe a running serve's /healthz (for container HEALTHCHECK)", run: runHealthcheck}
}

const healthcheckHelp = `
GET the /healthz endpoint of a running sfmcwatch serve and exit 0 when it
answers 2xx. Meant for a container HEALTHCHECK (distroless images have no
curl): the Dockerfile runs "sfmcwatch healthcheck". --insecure skips
certificate verification for a server.listen with TLS on localhost.

Exit status: 0 healthy, 1 unhealthy or unreachable, 2 usage error.`

func runHealthcheck(ctx context.Context, args []string, s IO) int {
	fs := newFlagSet("healthcheck", "[--url URL] [--timeout D] [--insecure]", healthcheckHelp, s)
	url := fs.String("url", "http://127.0.0.1:8080/healthz", "health endpoint to probe")
	timeout := durationFlag(fs, "timeout", 5*time.Second, "give up after this long")
	insecure := fs.Bool("insecure", false, "do not verify the server's TLS certificate")
	rest, code, done := parseFlags(fs, args, s)
	if done {
		return code
	}
	if len(rest) > 0 {
		fmt.Fprintln(s.Err, "healthcheck: unexpected arguments (use --url URL)")
		return ExitUsage
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if *insecure {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // opt-in, localhost probes
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
	if err != nil {
		fmt.Fprintf(s.Err, "healthcheck: %v\n", err)
		return ExitUsage
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		fmt.Fprintf(s.Err, "healthcheck: %v\n", err)
		return ExitFindings
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		fmt.Fprintf(s.Err, "healthcheck: %s answered %s\n", *url, resp.Status)
		return ExitFindings
	}
	fmt.Fprintf(s.Out, "healthy: %s answered %s\n", *url, resp.Status)
	return ExitOK
}
