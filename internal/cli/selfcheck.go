package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/sfmcwatch/sfmcwatch/internal/selfcheck"
)

func selfcheckCommand() command {
	return command{name: "selfcheck", summary: "five questions about your SFMC operations: maturity, risks and a starter config", run: runSelfcheck}
}

const selfcheckHelp = `
Answer five questions about how your team runs Salesforce Marketing Cloud
today and get a maturity score (0-100), the risks your answers imply, and a
starter sfmcwatch configuration that check-config accepts once
SFMC_CLIENT_SECRET is exported. Nothing is sent anywhere.

On a terminal the questions are asked one by one; otherwise give every
answer as a flag or in an --answers file (YAML: question_id: answer).

Exit status: 0 done, 2 missing or invalid answers.`

func runSelfcheck(ctx context.Context, args []string, s IO) int {
	fs := newFlagSet("selfcheck", "[--answers FILE | --failed-automations A ...] [--format text|json] [--config-out F]", selfcheckHelp, s)
	answersFile := fs.String("answers", "", "YAML/JSON file of answers (question_id: answer)")
	format := fs.String("format", "text", "output: text or json")
	configOut := fs.String("config-out", "", "also write the starter configuration to this file")
	flagged := map[string]*string{}
	for _, q := range selfcheck.Questions() {
		var vals []string
		for _, o := range q.Options {
			vals = append(vals, o.Value)
		}
		flagged[q.ID] = fs.String(strings.ReplaceAll(q.ID, "_", "-"), "", q.Text+" ("+strings.Join(vals, ", ")+")")
	}
	if _, code, done := parseFlags(fs, args, s); done {
		return code
	}
	if *format != "text" && *format != "json" {
		fmt.Fprintf(s.Err, "selfcheck: unknown --format %q (want text or json)\n", *format)
		return ExitUsage
	}
	a := selfcheck.Answers{}
	if *answersFile != "" {
		data, err := os.ReadFile(*answersFile)
		if err != nil {
			fmt.Fprintf(s.Err, "selfcheck: %v\n", err)
			return ExitUsage
		}
		fa, err := selfcheck.ParseAnswers(data)
		if err != nil {
			fmt.Fprintf(s.Err, "selfcheck: %s: %v\n", *answersFile, err)
			return ExitUsage
		}
		a = fa
	}
	for id, v := range flagged {
		if *v != "" {
			a[id] = *v
		}
	}
	if len(a) < len(selfcheck.Questions()) && isTerminal(s.In) {
		if err := ask(s.In, s.Err, a); err != nil {
			fmt.Fprintf(s.Err, "selfcheck: %v\n", err)
			return ExitUsage
		}
	}
	res, err := selfcheck.Evaluate(a)
	if err != nil {
		fmt.Fprintf(s.Err, "selfcheck: %v\n", err)
		return ExitUsage
	}
	if *configOut != "" {
		if err := os.WriteFile(*configOut, []byte(res.Config), 0o644); err != nil {
			fmt.Fprintf(s.Err, "selfcheck: %v\n", err)
			return ExitUsage
		}
	}
	if *format == "json" {
		enc := json.NewEncoder(s.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return ExitUsage
		}
		return ExitOK
	}
	fmt.Fprintf(s.Out, "Maturity %d/100: %s\n", res.Score, res.Level)
	if len(res.Risks) > 0 {
		fmt.Fprintln(s.Out, "\nRisks your answers imply:")
		for _, r := range res.Risks {
			fmt.Fprintf(s.Out, "  [%s] %s\n         with sfmcwatch: %s\n", r.Level, r.Text, r.Mitigation)
		}
	}
	if *configOut != "" {
		fmt.Fprintf(s.Out, "\nStarter configuration written to %s; export SFMC_CLIENT_SECRET and run: sfmcwatch check-config --config %s\n", *configOut, *configOut)
	} else {
		fmt.Fprintf(s.Out, "\nStarter configuration (save as sfmcwatch.yaml, or use --config-out):\n\n%s", res.Config)
	}
	return ExitOK
}

// isTerminal reports whether r is an interactive terminal.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// ask asks the unanswered questions on a terminal.
func ask(in io.Reader, out io.Writer, a selfcheck.Answers) error {
	sc := bufio.NewScanner(in)
	for i, q := range selfcheck.Questions() {
		if a[q.ID] != "" {
			continue
		}
		fmt.Fprintf(out, "\n%d/5 %s\n", i+1, q.Text)
		for j, o := range q.Options {
			fmt.Fprintf(out, "  %d) %s\n", j+1, o.Label)
		}
		for {
			fmt.Fprintf(out, "answer 1-%d: ", len(q.Options))
			if !sc.Scan() {
				return fmt.Errorf("no answer to %q", q.Text)
			}
			n, err := strconv.Atoi(strings.TrimSpace(sc.Text()))
			if err == nil && n >= 1 && n <= len(q.Options) {
				a[q.ID] = q.Options[n-1].Value
				break
			}
		}
	}
	return nil
}
