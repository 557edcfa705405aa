package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"resetgate/reset"
)

// The operator commands: send-link, tokens and queue. Each goes through the admin API of the
// server running with the same config when there is one, else straight to the state store
// (see [openOperator]); a line on stderr says which.

// openStoreForCommand opens the state store for an operator command, explaining the one
// common failure: the bolt file is held by the running server.
func openStoreForCommand(ctx context.Context, cfg *Config, getenv func(string) string) (reset.Store, error) {
	s, err := openStore(ctx, cfg, getenv, slog.New(slog.DiscardHandler))
	return s, inUseHint(err)
}

// newAppForCommand wires the whole app for a one-shot operator command, logging warnings only.
func newAppForCommand(ctx context.Context, cfg *Config, env *cmdEnv) (*app, error) {
	log, _ := newLogger("text", "warn", env.stderr)
	a, err := newApp(ctx, cfg, env.getenv, log)
	return a, inUseHint(err)
}

// cmdSendLink starts a reset for an account right away (invitations, support desks): it mails
// the account a link. With -print it prints the link instead, which needs the store itself
// (an operator who holds a link can choose the password, so the admin API never hands one
// out: ASVS 5.0 6.4.6).
func cmdSendLink(ctx context.Context, env *cmdEnv, args []string) error {
	var print *bool
	fs, path, err := flags(env, "send-link", args, func(fs *flag.FlagSet) {
		print = fs.Bool("print", false, "print the link instead of mailing it (needs the store itself: the server stopped, or Redis)")
	})
	if err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.SetOutput(env.stderr)
		fs.Usage()
		return exitCode(2)
	}
	cfg, err := loadConfigOrReport(env, *path)
	if err != nil {
		return err
	}
	addr := fs.Arg(0)
	if !*print {
		srv, err := findServer(ctx, cfg, env.getenv)
		if err != nil {
			return err
		}
		if srv != nil {
			fmt.Fprintf(env.stderr, "(through the admin API of the server running at %s)\n", srv.base)
			return reportSent(env, srv, ctx, addr)
		}
	}
	cfg.Admin.Listen = ""
	a, err := newAppForCommand(ctx, cfg, env)
	if err != nil {
		if *print {
			err = fmt.Errorf("%w\n  (-print needs the store itself; without -print the link is mailed through the running server's admin API)", err)
		}
		return err
	}
	defer a.Close()
	if !*print {
		fmt.Fprintf(env.stderr, "(directly on the state store: %s)\n", describeStore(cfg))
		return reportSent(env, a.operator(), ctx, addr)
	}
	link, u, err := a.svc.IssueLink(ctx, addr, false)
	switch {
	case errors.Is(err, reset.ErrUserNotFound):
		return fmt.Errorf("no account has the address %s", addr)
	case err != nil:
		return err
	}
	fmt.Fprintln(env.stdout, link)
	fmt.Fprintf(env.stderr, "link for user %s (%s), valid for %s; anyone holding it can set this account's password\n", u.ID, u.Email, a.svc.TokenValidity())
	return nil
}

func reportSent(env *cmdEnv, op operator, ctx context.Context, addr string) error {
	sent, err := op.SendLink(ctx, addr)
	if errors.Is(err, errNoAccount) {
		return fmt.Errorf("no account has the address %s", addr)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "mailed a reset link to %s (user %s), valid for %s\n", sent.Email, sent.UserID, sent.ValidFor)
	return nil
}

// storeCommand parses a store command's flags and arguments (valid reports whether the
// subcommand and argument count fit, else the usage is printed), loads the config and opens
// its operator; the caller calls done.
func storeCommand(ctx context.Context, env *cmdEnv, name string, args []string, valid func(sub string, nargs int) bool) (fs *flag.FlagSet, op operator, done func(), err error) {
	fs, path, err := flags(env, name, args, nil)
	if err != nil {
		return nil, nil, nil, err
	}
	if !valid(fs.Arg(0), fs.NArg()) {
		fs.Usage()
		return nil, nil, nil, exitCode(2)
	}
	cfg, err := loadConfigOrReport(env, *path)
	if err != nil {
		return nil, nil, nil, err
	}
	op, done, err = openOperator(ctx, env, cfg)
	return fs, op, done, err
}

// cmdTokens lists, revokes and purges pending reset links. It shows token ids (hashes) and
// expiry, never a usable token.
func cmdTokens(ctx context.Context, env *cmdEnv, args []string) error {
	fs, op, done, err := storeCommand(ctx, env, "tokens", args, func(sub string, n int) bool {
		switch sub {
		case "list":
			return n <= 2
		case "revoke":
			return n == 2
		}
		return sub != "" && n == 1
	})
	if err != nil {
		return err
	}
	defer done()
	switch sub := fs.Arg(0); sub {
	case "list":
		list, err := op.Tokens(ctx, fs.Arg(1))
		if errors.Is(err, errNoAccount) {
			return fmt.Errorf("no account has the address %s", fs.Arg(1))
		}
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "TOKEN ID (SHA-256)\tUSER\tEMAIL\tISSUED\tEXPIRES\tSTATE")
		for _, t := range list.Tokens {
			fmt.Fprintf(tw, "%s…\t%s\t%s\t%s\t%s\t%s\n", t.ID[:min(16, len(t.ID))], t.UserID, t.Email,
				t.IssuedAt.Format(time.DateTime), t.ExpiresAt.Format(time.DateTime), t.State)
		}
		tw.Flush()
		fmt.Fprintf(env.stdout, "%d token(s)\n", len(list.Tokens))
		if list.RecentlyUsed > 0 {
			fmt.Fprintf(env.stdout, "(and %d link(s) used moments ago, kept for 30 s to answer a repeated submit; they open nothing)\n", list.RecentlyUsed)
		}
	case "revoke":
		r, err := op.RevokeTokens(ctx, fs.Arg(1))
		if errors.Is(err, errNoAccount) || errors.Is(err, errBadAddress) {
			return fmt.Errorf("%s: %w", fs.Arg(1), err)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "revoked %d token(s) of user %s (%s)\n", r.Count, r.UserID, r.Email)
	case "purge":
		n, err := op.PurgeTokens(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "deleted %d expired token(s)\n", n)
	default:
		return fmt.Errorf("unknown tokens command %q (list [EMAIL], revoke EMAIL, purge)", sub)
	}
	return nil
}

// cmdQueue inspects the mail queue, retries jobs (given-up ones included) and drops them.
func cmdQueue(ctx context.Context, env *cmdEnv, args []string) error {
	fs, op, done, err := storeCommand(ctx, env, "queue", args, func(sub string, n int) bool {
		return sub != "" && (sub != "list") == (n == 2) && n <= 2
	})
	if err != nil {
		return err
	}
	defer done()
	switch sub := fs.Arg(0); sub {
	case "list":
		jobs, err := op.Jobs(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tKIND\tCREATED\tATTEMPTS\tNEXT\tSTATE\tLAST ERROR")
		for _, j := range jobs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", j.ID, j.Kind, j.CreatedAt.Format(time.DateTime), j.Attempts,
				j.NotBefore.Format(time.DateTime), j.State, clipText(j.LastError, 60))
		}
		tw.Flush()
		fmt.Fprintf(env.stdout, "%d job(s)\n", len(jobs))
	case "retry":
		n, err := op.RetryJobs(ctx, fs.Arg(1))
		if err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "%d job(s) due now; a running resetgate sends them within seconds\n", n)
	case "drop":
		if err := op.DropJob(ctx, fs.Arg(1)); err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "dropped job %s\n", fs.Arg(1))
	default:
		return fmt.Errorf("unknown queue command %q (list, retry ID|all, drop ID)", sub)
	}
	return nil
}

func clipText(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// cmdAudit prints the audit trail since -since (a duration back from now, or an RFC 3339 time)
// as JSON lines, oldest first.
func cmdAudit(ctx context.Context, env *cmdEnv, args []string) error {
	var sinceFlag *string
	fs, path, err := flags(env, "audit", args, func(fs *flag.FlagSet) {
		sinceFlag = fs.String("since", "24h", "how far back: a duration such as 24h or 30m, or an RFC 3339 time such as 2026-12-01T09:00:00Z")
	})
	if err != nil {
		return err
	}
	since, err := parseSince(*sinceFlag, time.Now())
	if err != nil || fs.NArg() != 0 {
		if err != nil {
			fmt.Fprintf(env.stderr, "resetgate audit: -since %q: %v\n", *sinceFlag, err)
		}
		fs.SetOutput(env.stderr)
		fs.Usage()
		return exitCode(2)
	}
	cfg, err := loadConfigOrReport(env, *path)
	if err != nil {
		return err
	}
	op, done, err := openOperator(ctx, env, cfg)
	if err != nil {
		return err
	}
	defer done()
	events, err := op.Audit(ctx, since)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(env.stdout)
	for _, e := range events {
		if err := enc.Encode(e); err != nil {
			return err
		}
	}
	return nil
}

// parseSince reads -since: a duration back from now, or an RFC 3339 time.
func parseSince(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return time.Time{}, errors.New("a duration back from now must not be negative")
		}
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Time{}, errors.New("not a duration (24h, 30m) or an RFC 3339 time (2026-12-01T09:00:00Z)")
}
