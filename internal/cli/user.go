package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/store"
	"github.com/sfmcwatch/sfmcwatch/internal/web"
)

func userCommand() command {
	return command{name: "user", summary: "manage dashboard users and API tokens (add, list, delete, passwd, token)", run: runUser}
}

const userHelp = `
Manage the dashboard's local users in the store named by the config file.

  sfmcwatch user add [--role admin|viewer] [--password-stdin] NAME
  sfmcwatch user passwd [--password-stdin] NAME
  sfmcwatch user list
  sfmcwatch user delete NAME
  sfmcwatch user token [--name N] [--ttl 90d] NAME   print a new API token

Passwords (at least 10 characters) are read from standard input, one line,
never from the command line; they are stored as argon2id hashes. API tokens
are shown once and stored as SHA-256 hashes; send them as
"Authorization: Bearer <token>". While no user exists, serve listens on
loopback only.

Exit status: 0 done, 1 store error, 2 usage error (unknown user, name
taken, weak password).`

func runUser(ctx context.Context, args []string, s IO) int {
	fs := newFlagSet("user", "add|passwd|list|delete|token [flags] [NAME]", userHelp, s)
	path := fs.String("config", "sfmcwatch.yaml", "config file (for the store)")
	role := fs.String("role", store.RoleViewer, "role of a new user: admin or viewer")
	_ = fs.Bool("password-stdin", true, "read the password from standard input (the only way)")
	tokenName := fs.String("name", "api", "name of a new API token")
	ttl := fs.String("ttl", "", "lifetime of a new API token (e.g. 90d; default: no expiry)")
	rest, code, done := parseFlags(fs, args, s)
	if done {
		return code
	}
	if len(rest) == 0 {
		fmt.Fprintln(s.Err, "user: give a sub-command: add, passwd, list, delete or token (see 'sfmcwatch user --help')")
		return ExitUsage
	}
	sub, rest := rest[0], rest[1:]
	wantName := sub != "list"
	if wantName && len(rest) != 1 || !wantName && len(rest) != 0 {
		fmt.Fprintf(s.Err, "user %s: wrong number of arguments (see 'sfmcwatch user --help')\n", sub)
		return ExitUsage
	}
	switch sub {
	case "add", "passwd", "list", "delete", "token":
	default:
		fmt.Fprintf(s.Err, "user: unknown sub-command %q (want add, passwd, list, delete or token)\n", sub)
		return ExitUsage
	}
	if sub == "add" && !store.ValidRole(*role) {
		fmt.Fprintf(s.Err, "user add: role %q: want admin or viewer\n", *role)
		return ExitUsage
	}
	var tokenTTL time.Duration
	if *ttl != "" {
		d, err := parseDuration(*ttl)
		if err != nil || d <= 0 {
			fmt.Fprintf(s.Err, "user token: --ttl %q: want a duration like 90d, 2w or 720h\n", *ttl)
			return ExitUsage
		}
		tokenTTL = d
	}
	cfg, _, err := loadConfigOffline(*path)
	if err != nil {
		printConfigError(s, "user", err)
		return ExitUsage
	}
	st, err := store.Open(ctx, store.Config{Driver: cfg.Storage.Driver, Path: cfg.Storage.Path, DSN: cfg.Storage.DSN.Reveal()}, nil)
	if err != nil {
		fmt.Fprintf(s.Err, "user: cannot open the store: %v\n", err)
		return ExitUsage
	}
	defer st.Close()
	now := time.Now()
	fail := func(err error) int {
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) {
			fmt.Fprintf(s.Err, "user %s: %v\n", sub, err)
			return ExitUsage
		}
		fmt.Fprintf(s.Err, "user %s: %v\n", sub, err)
		return ExitFindings
	}
	switch sub {
	case "list":
		users, err := st.ListUsers(ctx)
		if err != nil {
			return fail(err)
		}
		if len(users) == 0 {
			fmt.Fprintln(s.Out, "No users: serve listens on loopback only. Add one with 'sfmcwatch user add --role admin NAME'.")
			return ExitOK
		}
		tw := tabwriter.NewWriter(s.Out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tROLE\tCREATED\tLAST LOGIN")
		for _, u := range users {
			last := "never"
			if !u.LastLoginAt.IsZero() {
				last = u.LastLoginAt.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.Name, u.Role, u.CreatedAt.UTC().Format(time.RFC3339), last)
		}
		_ = tw.Flush()
		return ExitOK
	case "delete":
		if err := st.DeleteUser(ctx, rest[0]); err != nil {
			return fail(err)
		}
		fmt.Fprintf(s.Out, "Deleted user %s with their sessions and API tokens.\n", rest[0])
		return ExitOK
	case "token":
		tok, t, err := web.CreateAPIToken(ctx, st, rest[0], *tokenName, tokenTTL, now)
		if err != nil {
			return fail(err)
		}
		exp := "never expires"
		if !t.ExpiresAt.IsZero() {
			exp = "expires " + t.ExpiresAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(s.Err, "API token %q for %s (%s); it is shown only now:\n", t.Name, rest[0], exp)
		fmt.Fprintln(s.Out, tok)
		return ExitOK
	}
	name := rest[0]
	if sub == "add" && !validUserName(name) {
		fmt.Fprintf(s.Err, "user add: name %q: use 1-64 letters, digits, '.', '-', '_' or '@'\n", name)
		return ExitUsage
	}
	pw, err := readPassword(s.In)
	if err != nil {
		fmt.Fprintf(s.Err, "user %s: %v\n", sub, err)
		return ExitUsage
	}
	hash, err := web.HashPassword(pw)
	if err != nil {
		fmt.Fprintf(s.Err, "user %s: %v\n", sub, err)
		return ExitUsage
	}
	if sub == "passwd" {
		if err := st.SetPassword(ctx, name, hash, now); err != nil {
			return fail(err)
		}
		fmt.Fprintf(s.Out, "Password of %s changed; their sessions were ended.\n", name)
		return ExitOK
	}
	if _, err := st.CreateUser(ctx, store.User{Name: name, Role: *role, PasswordHash: hash}, now); err != nil {
		return fail(err)
	}
	fmt.Fprintf(s.Out, "Added %s (%s).\n", name, *role)
	return ExitOK
}

func validUserName(n string) bool {
	if n == "" || len(n) > 64 {
		return false
	}
	for _, c := range n {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune(".-_@", c)) {
			return false
		}
	}
	return true
}

// readPassword reads one line from in (a terminal prompt is the shell's
// job: pipe it, e.g. from a password manager).
func readPassword(in io.Reader) (string, error) {
	if f, ok := in.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			fmt.Fprint(os.Stderr, "Password (input is shown; prefer piping it): ")
		}
	}
	line, err := bufio.NewReader(io.LimitReader(in, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("no password on standard input (pipe it in: echo \"$PW\" | sfmcwatch user add NAME)")
	}
	return line, nil
}
