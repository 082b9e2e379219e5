// Package cli implements the sfmcwatch command line: one file per command,
// each parsing its own flags with the standard flag package. Exit codes:
// 0 success, 1 findings at or above the requested threshold, 2 usage error
// or unreadable input.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// IO carries the standard streams so commands are testable.
type IO struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
}

// Exit codes shared by every command.
const (
	ExitOK       = 0
	ExitFindings = 1
	ExitUsage    = 2
)

// command is one sfmcwatch sub-command.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, s IO) int
}

// commands lists every sub-command, in the order `sfmcwatch help` shows them.
func commands() []command {
	return []command{
		explainCommand(),
		scanCommand(),
		checkConfigCommand(), configDumpCommand(),
		simCommand(),
		serveCommand(),
		proxyCommand(),
		auditCommand(),
		digestCommand(),
		silenceCommand(), ackCommand(), testAlertCommand(),
		selfcheckCommand(),
		ensCommand(),
		demoCommand(), benchCommand(),
		userCommand(),
		healthcheckCommand(),
		versionCommand(),
	}
}

// Run executes the command line args (without the program name) and returns
// the process exit code.
func Run(ctx context.Context, args []string, s IO) int {
	if len(args) == 0 {
		usage(s.Err)
		return ExitUsage
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			return Run(ctx, []string{args[1], "--help"}, s)
		}
		usage(s.Out)
		return ExitOK
	case "-version", "--version":
		name = "version"
	}
	for _, c := range commands() {
		if c.name == name {
			return c.run(ctx, args[1:], s)
		}
	}
	fmt.Fprintf(s.Err, "sfmcwatch: unknown command %q\n\n", name)
	usage(s.Err)
	return ExitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "sfmcwatch watches a Salesforce Marketing Cloud tenant and the integrations that call it.")
	fmt.Fprintln(w, "\nUsage: sfmcwatch <command> [flags] [arguments]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-14s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'sfmcwatch <command> --help' for a command's flags.")
}

// newFlagSet returns a flag set whose --help prints the command's usage line,
// description and flags to the given stream.
func newFlagSet(name, synopsis, description string, s IO) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(s.Err)
	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprintf(out, "Usage: sfmcwatch %s %s\n\n%s\n", name, synopsis, strings.TrimSpace(description))
		var hasFlags bool
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags {
			fmt.Fprintln(out, "\nFlags:")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parseFlags parses args; it returns done=true with the exit code to use when
// parsing ended the command (help asked: 0, bad flags: 2). Flags may follow
// positional arguments.
func parseFlags(fs *flag.FlagSet, args []string, s IO) (rest []string, code int, done bool) {
	for {
		// The flag package prints usage itself on errors; silence it and
		// print once, to stdout for --help and to stderr for mistakes.
		fs.SetOutput(io.Discard)
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(s.Out)
			fs.Usage()
			return nil, ExitOK, true
		}
		if err != nil {
			fmt.Fprintf(s.Err, "sfmcwatch %s: %v\n", fs.Name(), err)
			fs.SetOutput(s.Err)
			fs.Usage()
			return nil, ExitUsage, true
		}
		fs.SetOutput(s.Err)
		// Allow interleaved flags: collect positionals, keep parsing the rest.
		args = fs.Args()
		i := 0
		for i < len(args) && (args[i] == "-" || !strings.HasPrefix(args[i], "-")) {
			rest = append(rest, args[i])
			i++
		}
		if i < len(args) && args[i] == "--" {
			rest = append(rest, args[i+1:]...)
			return rest, ExitOK, false
		}
		if i >= len(args) {
			return rest, ExitOK, false
		}
		args = args[i:]
	}
}
