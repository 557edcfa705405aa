package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"resetgate/reset/bolt"
)

// cmdCheck validates the config and then checks, live, everything serve will need. It prints
// one line per check and exits 1 when any fails (2 when the config itself is invalid).
func cmdCheck(ctx context.Context, env *cmdEnv, args []string) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	path := configFlag(fs)
	offline := fs.Bool("offline", false, "validate the config file only; connect to nothing")
	if err := fs.Parse(args); err != nil {
		return exitCode(2)
	}
	cfg, err := loadConfigOrReport(env, *path)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "ok    config       %s is valid\n", *path)
	if *offline {
		return nil
	}
	failed := 0
	report := func(name string, start time.Time, err error, okMsg string) {
		d := time.Since(start).Round(time.Millisecond)
		if err != nil {
			failed++
			fmt.Fprintf(env.stdout, "FAIL  %-12s %v\n", name, err)
			return
		}
		fmt.Fprintf(env.stdout, "ok    %-12s %s (%s)\n", name, okMsg, d)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()

	start := time.Now()
	users, err := openUsers(ctx, cfg, env.getenv)
	if err == nil {
		err = users.Check(ctx)
		defer users.Close()
	}
	name, desc := "database", ": connected, queries prepared"
	if cfg.Users.Driver == "ldap" {
		name, desc = "directory", ": bound as the service account; base_dn and filter answered"
	}
	if users != nil {
		desc = users.Describe() + desc
	}
	report(name, start, err, desc)

	start = time.Now()
	quiet, _ := newLogger("text", "error", env.stderr)
	mailer, err := openMailer(cfg, env.getenv, quiet)
	if err == nil {
		err = mailer.Check(ctx)
	}
	msg := "outbox directory writable"
	if cfg.Mail.Transport == "smtp" {
		msg = fmt.Sprintf("%s:%d answered (%s, authenticated: %t); no mail sent", cfg.Mail.SMTP.Host, cfg.Mail.SMTP.Port, cfg.Mail.SMTP.TLS, cfg.Mail.SMTP.Username != "")
	}
	report("mail", start, err, msg)

	start = time.Now()
	report("upstream", start, dialUpstream(ctx, cfg), cfg.Upstream+" accepts connections")

	start = time.Now()
	report("data_dir", start, checkWritable(cfg.DataDir), cfg.DataDir+" is writable")

	start = time.Now()
	desc, warnings, err := checkStore(ctx, cfg, env.getenv)
	report("store", start, err, desc)
	for _, w := range warnings {
		fmt.Fprintf(env.stdout, "warn  %-12s %s\n", "store", w)
	}

	if failed > 0 {
		fmt.Fprintf(env.stdout, "%d check(s) failed\n", failed)
		return exitCode(1)
	}
	fmt.Fprintln(env.stdout, "all checks passed")
	return nil
}

// checkWritable creates data_dir if needed and writes and removes a file in it.
func checkWritable(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".check-*")
	if err != nil {
		return err
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// checkStore opens and pings the state store and describes it. A bolt file held by a running
// resetgate is not a problem: it means the server is up.
func checkStore(ctx context.Context, cfg *Config, getenv func(string) string) (desc string, warnings []string, err error) {
	file := filepath.Join(cfg.DataDir, stateFile)
	s, err := openStore(ctx, cfg, getenv, slog.New(slog.DiscardHandler))
	if err != nil {
		if cfg.Store.Backend == "bolt" && errors.Is(err, bolt.ErrInUse) {
			return "bolt file " + file + " is held by a running resetgate", nil, nil
		}
		return "", nil, err
	}
	defer s.Close()
	if err := s.Ping(ctx); err != nil {
		return "", nil, err
	}
	if cfg.Store.Backend == "redis" {
		version, warnings := redisReport(ctx, s)
		return "redis " + version + " answered", warnings, nil
	}
	return "bolt file " + file + " opens", nil, nil
}

// cmdHealthcheck asks a running resetgate's admin listener whether it is alive, for container
// health checks in images that have no shell or curl.
func cmdHealthcheck(ctx context.Context, env *cmdEnv, args []string) error {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	u := fs.String("url", "http://127.0.0.1:9090/healthz", "the admin /healthz URL")
	if err := fs.Parse(args); err != nil {
		return exitCode(2)
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *u, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s", *u, resp.Status)
	}
	fmt.Fprintln(env.stdout, "ok")
	return nil
}
