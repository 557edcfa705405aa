package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"resetgate/reset"
	"resetgate/reset/bolt"
	"resetgate/reset/passhash"
)

// flags parses a command's flags: -config and whatever add registers.
func flags(env *cmdEnv, name string, args []string, add func(*flag.FlagSet)) (*flag.FlagSet, *string, error) {
	fs := newFlags(env, name)
	path := configFlag(fs)
	if add != nil {
		add(fs)
	}
	if err := parseFlags(env, fs, args); err != nil {
		return nil, nil, err
	}
	return fs, path, nil
}

// openStoreForCommand opens the state store for an operator command, explaining the one
// common failure: the bolt file is held by the running server.
func openStoreForCommand(ctx context.Context, cfg *Config, getenv func(string) string) (reset.Store, error) {
	s, err := openStore(ctx, cfg, getenv, slog.New(slog.DiscardHandler))
	if errors.Is(err, bolt.ErrInUse) {
		return nil, fmt.Errorf("%w\n  the bolt state file allows one process at a time: stop the server first (e.g. systemctl stop resetgate), run the command, then start it again — or use store.backend = \"redis\"", err)
	}
	return s, err
}

// cmdHash reads a password from stdin (without echo on a terminal) and prints its hash.
func cmdHash(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlags(env, "hash")
	scheme := fs.String("scheme", "", "hash scheme: "+strings.Join(passhash.Names(), ", "))
	if err := parseFlags(env, fs, args); err != nil {
		return err
	}
	if *scheme == "" {
		fmt.Fprintln(env.stderr, "resetgate hash: -scheme is required ("+strings.Join(passhash.Names(), ", ")+")")
		return exitCode(2)
	}
	h, err := passhash.New(*scheme)
	if err != nil {
		return err
	}
	password, err := readPassword(env, "Password: ", true)
	if err != nil {
		return err
	}
	if password == "" {
		return errors.New("empty password refused")
	}
	if max := h.MaxPasswordBytes(); max > 0 && len(password) > max {
		return fmt.Errorf("the password has %d bytes; %s uses only the first %d, so it is refused rather than silently cut", len(password), *scheme, max)
	}
	encoded, err := h.Hash(password)
	if err != nil {
		return err
	}
	fmt.Fprintln(env.stdout, encoded)
	return nil
}

// readPassword reads one line from stdin; on a terminal it prompts on stderr without echo and,
// with confirm, asks twice.
func readPassword(env *cmdEnv, prompt string, confirm bool) (string, error) {
	if f, ok := env.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(env.stderr, prompt)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(env.stderr)
		if err != nil {
			return "", err
		}
		if confirm {
			fmt.Fprint(env.stderr, "Again: ")
			again, err := term.ReadPassword(int(f.Fd()))
			fmt.Fprintln(env.stderr)
			if err != nil {
				return "", err
			}
			if string(again) != string(b) {
				return "", errors.New("the two passwords differ")
			}
		}
		return string(b), nil
	}
	line, err := bufio.NewReader(env.stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// cmdSendTestMail sends a test message through the configured transport.
func cmdSendTestMail(ctx context.Context, env *cmdEnv, args []string) error {
	var to *string
	_, path, err := flags(env, "send-test-mail", args, func(fs *flag.FlagSet) {
		to = fs.String("to", "", "recipient address")
	})
	if err != nil {
		return err
	}
	if *to == "" {
		fmt.Fprintln(env.stderr, "resetgate send-test-mail: -to ADDRESS is required")
		return exitCode(2)
	}
	if _, err := reset.ParseEmail(*to); err != nil {
		return fmt.Errorf("-to %q: %w", *to, err)
	}
	cfg, err := loadConfigOrReport(env, *path)
	if err != nil {
		return err
	}
	log, _ := newLogger("text", "info", env.stderr)
	m, err := openMailer(cfg, env.getenv, log)
	if err != nil {
		return err
	}
	site := cfg.SiteName
	if site == "" {
		site = cfg.public.Hostname()
	}
	msg := reset.Message{
		To:      strings.TrimSpace(*to),
		Subject: "resetgate test message from " + site,
		Text:    fmt.Sprintf("This is a test message sent by `resetgate send-test-mail` at %s.\nIf you can read it, resetgate's mail settings work.\n", time.Now().UTC().Format(time.RFC1123)),
		HTML:    fmt.Sprintf("<p>This is a test message sent by <code>resetgate send-test-mail</code> at %s.</p><p>If you can read it, resetgate's mail settings work.</p>", time.Now().UTC().Format(time.RFC1123)),
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := m.Send(ctx, msg); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "sent a test message to %s via %s\n", msg.To, cfg.Mail.Transport)
	return nil
}

// cmdSendLink issues a reset link for an account right away (invitations, support desks).
func cmdSendLink(ctx context.Context, env *cmdEnv, args []string) error {
	var print *bool
	fs, path, err := flags(env, "send-link", args, func(fs *flag.FlagSet) {
		print = fs.Bool("print", false, "print the link instead of mailing it")
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
	cfg.Admin.Listen = ""
	a, err := newAppForCommand(ctx, cfg, env)
	if err != nil {
		return err
	}
	defer a.Close()
	link, u, err := a.svc.IssueLink(ctx, fs.Arg(0), !*print)
	if errors.Is(err, reset.ErrUserNotFound) {
		return fmt.Errorf("no account has the address %s", fs.Arg(0))
	}
	if err != nil {
		return err
	}
	if *print {
		fmt.Fprintln(env.stdout, link)
		fmt.Fprintf(env.stderr, "link for user %s (%s), valid for %s; anyone holding it can set this account's password\n", u.ID, u.Email, a.svc.TokenValidity())
		return nil
	}
	fmt.Fprintf(env.stdout, "mailed a reset link to %s (user %s), valid for %s\n", u.Email, u.ID, a.svc.TokenValidity())
	return nil
}

// newAppForCommand wires the whole app for a one-shot operator command, logging warnings only.
func newAppForCommand(ctx context.Context, cfg *Config, env *cmdEnv) (*app, error) {
	log, _ := newLogger("text", "warn", env.stderr)
	a, err := newApp(ctx, cfg, env.getenv, log)
	if errors.Is(err, bolt.ErrInUse) {
		return nil, fmt.Errorf("%w\n  the bolt state file allows one process at a time: stop the server first, or use store.backend = \"redis\"", err)
	}
	return a, err
}

// storeCommand is what the tokens and queue commands work with.
type storeCommand struct {
	fs    *flag.FlagSet
	cfg   *Config
	store reset.Store
}

// openStoreCommand parses a store command's flags and arguments (valid reports whether the
// subcommand and argument count fit, else the usage is printed), loads the config and opens
// the store; the caller closes it.
func openStoreCommand(ctx context.Context, env *cmdEnv, name string, args []string, usage string, valid func(sub string, nargs int) bool) (*storeCommand, error) {
	fs, path, err := flags(env, name, args, nil)
	if err != nil {
		return nil, err
	}
	if !valid(fs.Arg(0), fs.NArg()) {
		fs.Usage()
		return nil, exitCode(2)
	}
	cfg, err := loadConfigOrReport(env, *path)
	if err != nil {
		return nil, err
	}
	store, err := openStoreForCommand(ctx, cfg, env.getenv)
	if err != nil {
		return nil, err
	}
	return &storeCommand{fs: fs, cfg: cfg, store: store}, nil
}

// cmdTokens lists, revokes and purges pending reset links. It shows token ids (hashes) and
// expiry, never a usable token.
func cmdTokens(ctx context.Context, env *cmdEnv, args []string) error {
	sc, err := openStoreCommand(ctx, env, "tokens", args, "list | revoke EMAIL | purge", func(sub string, n int) bool {
		return sub != "" && (sub == "revoke") == (n == 2) && n <= 2
	})
	if err != nil {
		return err
	}
	defer sc.store.Close()
	fs, cfg, store, sub := sc.fs, sc.cfg, sc.store, sc.fs.Arg(0)
	now := time.Now()
	switch sub {
	case "list":
		tokens, err := store.Tokens(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "TOKEN ID (SHA-256)\tUSER\tEMAIL\tISSUED\tEXPIRES\tSTATE")
		live, spent := 0, 0
		for _, t := range tokens {
			if t.Spent() {
				spent++ // a used link's short-lived record (it answers a double submit), not a link
				continue
			}
			live++
			state := "pending"
			switch {
			case t.Expired(now):
				state = "expired"
			case t.ClaimedUntil.After(now):
				state = "in use"
			}
			fmt.Fprintf(tw, "%s…\t%s\t%s\t%s\t%s\t%s\n", t.ID[:16], t.UserID, t.Email, t.IssuedAt.UTC().Format(time.DateTime), t.ExpiresAt.UTC().Format(time.DateTime), state)
		}
		tw.Flush()
		fmt.Fprintf(env.stdout, "%d token(s)\n", live)
		if spent > 0 {
			fmt.Fprintf(env.stdout, "(and %d link(s) used moments ago, kept for 30 s to answer a repeated submit; they open nothing)\n", spent)
		}
	case "revoke":
		users, err := openUsers(ctx, cfg, env.getenv)
		if err != nil {
			return err
		}
		defer users.Close()
		addr, err := lookupAddress(cfg, fs.Arg(1))
		if err != nil {
			return fmt.Errorf("%q: %w", fs.Arg(1), err)
		}
		u, err := users.FindUser(ctx, addr)
		if err != nil {
			return fmt.Errorf("%s: %w", fs.Arg(1), err)
		}
		n, err := store.DeleteUserTokens(ctx, u.ID)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "revoked %d token(s) of user %s (%s)\n", n, u.ID, u.Email)
	case "purge":
		n, err := store.DeleteExpired(ctx, now)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "deleted %d expired token(s)\n", n)
	default:
		return fmt.Errorf("unknown tokens command %q (list, revoke EMAIL, purge)", sub)
	}
	return nil
}

// cmdQueue inspects the mail queue, retries jobs (given-up ones included) and drops them.
func cmdQueue(ctx context.Context, env *cmdEnv, args []string) error {
	sc, err := openStoreCommand(ctx, env, "queue", args, "list | retry ID|all | drop ID", func(sub string, n int) bool {
		return sub != "" && (sub != "list") == (n == 2) && n <= 2
	})
	if err != nil {
		return err
	}
	defer sc.store.Close()
	fs, store, sub := sc.fs, sc.store, sc.fs.Arg(0)
	jobs, err := store.Jobs(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	switch sub {
	case "list":
		sort.SliceStable(jobs, func(i, j int) bool { return jobs[i].ID < jobs[j].ID })
		tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tKIND\tCREATED\tATTEMPTS\tNEXT\tSTATE\tLAST ERROR")
		for _, j := range jobs {
			state := "waiting"
			if j.Dead {
				state = "given up"
			} else if j.LeasedUntil.After(now) {
				state = "sending"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", j.ID, j.Kind, j.CreatedAt.UTC().Format(time.DateTime), j.Attempts,
				j.NotBefore.UTC().Format(time.DateTime), state, clipText(j.LastError, 60))
		}
		tw.Flush()
		fmt.Fprintf(env.stdout, "%d job(s)\n", len(jobs))
	case "retry":
		n := 0
		for _, j := range jobs {
			if fs.Arg(1) != "all" && j.ID != fs.Arg(1) {
				continue
			}
			// Only a job that no worker holds: RetryJob is fenced on the lease, and a job
			// being sent must be left to its worker.
			if !j.Dead && j.LeasedUntil.After(now) {
				if fs.Arg(1) != "all" {
					return fmt.Errorf("job %s is being sent (leased until %s); retry it once its lease ends", j.ID, j.LeasedUntil.UTC().Format(time.DateTime))
				}
				continue
			}
			j.Dead, j.DeadAt, j.Attempts, j.NotBefore = false, time.Time{}, 0, now
			if err := store.RetryJob(ctx, j); err != nil {
				if errors.Is(err, reset.ErrLeaseLost) {
					return fmt.Errorf("job %s was taken by a worker meanwhile; see `resetgate queue list`", j.ID)
				}
				return err
			}
			n++
		}
		if n == 0 && fs.Arg(1) != "all" {
			return fmt.Errorf("no job %s (see `resetgate queue list`)", fs.Arg(1))
		}
		fmt.Fprintf(env.stdout, "%d job(s) due now; a running resetgate sends them within seconds\n", n)
	case "drop":
		if err := store.DropJob(ctx, fs.Arg(1)); err != nil {
			if errors.Is(err, reset.ErrJobNotFound) {
				return fmt.Errorf("no job %s (see `resetgate queue list`)", fs.Arg(1))
			}
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
