package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"resetgate/reset/bolt"
)

// cmdCheck validates the config and then checks, live, everything serve will need. It prints
// one line per check and exits 1 when any fails (2 when the config itself is invalid).
func cmdCheck(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlags(env, "check")
	path := configFlag(fs)
	offline := fs.Bool("offline", false, "validate the config file only; connect to nothing")
	if err := parseFlags(env, fs, args); err != nil {
		return err
	}
	cfg, err := loadConfigOrReport(env, *path)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "ok    config       %s is valid\n", *path)
	for _, w := range wideTrustedProxies(cfg.Limits.TrustedProxies) {
		fmt.Fprintf(env.stdout, "warn  %-12s %s\n", "config", w)
	}
	fmt.Fprintf(env.stdout, "%-5s %-12s %s\n", "info", "sessions", trackingSummary(&cfg.App))
	info, warnings := languageReport(cfg)
	if info != "" {
		fmt.Fprintf(env.stdout, "%-5s %-12s %s\n", "info", "languages", info)
	}
	for _, w := range warnings {
		fmt.Fprintf(env.stdout, "warn  %-12s %s\n", "languages", w)
	}
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
	name, desc := "database", ": connected; columns, queries and write privileges checked without writing"
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

	for _, h := range cfg.Hooks.receivers() {
		start = time.Now()
		report("hooks", start, dialURL(ctx, "webhook receiver", h.url), fmt.Sprintf("%s receiver %s accepts connections; nothing sent", h.event, h.where()))
	}
	if w, err := cfg.newWrapper(nil); err == nil && w != nil {
		// A page that cannot be worn only means the plain pages: a warning, not a failure.
		start = time.Now()
		if err := w.Refresh(ctx); err != nil {
			fmt.Fprintf(env.stdout, "warn  %-12s %s: %v (the reset pages will use their plain layout)\n", "ui.wrap_path", cfg.UI.WrapPath, err)
		} else {
			report("ui.wrap_path", start, nil, cfg.UI.WrapPath+" fetched as an anonymous visitor; "+cfg.UI.WrapSelector+" found")
		}
	}

	start = time.Now()
	report("data_dir", start, checkWritable(cfg.DataDir), cfg.DataDir+" is writable")

	start = time.Now()
	desc, warnings, err = checkStore(ctx, cfg, env.getenv)
	report("store", start, err, desc)
	for _, w := range warnings {
		fmt.Fprintf(env.stdout, "warn  %-12s %s\n", "store", w)
	}

	if a := cfg.Abuse; a.Captcha != "" {
		start = time.Now()
		report("captcha", start, checkCaptcha(ctx, cfg, env.getenv), a.Captcha+" siteverify answered and accepts the secret")
	}

	if failed > 0 {
		fmt.Fprintf(env.stdout, "%d check(s) failed\n", failed)
		return exitCode(1)
	}
	fmt.Fprintln(env.stdout, "all checks passed")
	return nil
}

// Ranges wider than these in trusted_proxies are warned about: a proxy tier fits in a /16
// (IPv4) or a /48 (IPv6) site, while a wider range is a whole network whose every host could
// choose its client IP.
const (
	widestTrusted4 = 16
	widestTrusted6 = 48
)

// wideTrustedProxies returns a warning for each trusted_proxies entry wider than /16 (IPv4)
// or /48 (IPv6). The entries have been validated.
func wideTrustedProxies(cidrs []string) []string {
	var warnings []string
	for _, c := range cidrs {
		p, err := netip.ParsePrefix(strings.TrimSpace(c))
		if err != nil {
			continue // a bare address
		}
		bits, widest := p.Bits(), widestTrusted6
		if a := p.Addr(); a.Is4() || a.Is4In6() && bits >= 96 {
			if a.Is4In6() {
				bits -= 96
			}
			widest = widestTrusted4
		}
		if bits < widest {
			warnings = append(warnings, fmt.Sprintf("limits.trusted_proxies: %s is wider than /%d: every host in it can choose the client IP that rate limits and logs see; list only the proxies in front of resetgate (SECURITY.md RQ-REQ-03)", c, widest))
		}
	}
	return warnings
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
	fs := newFlags(env, "healthcheck")
	u := fs.String("url", "http://127.0.0.1:9090/healthz", "the admin /healthz URL")
	if err := parseFlags(env, fs, args); err != nil {
		return err
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

// trackingSummary says whether session tracking is on and what it watches (issue 11).
func trackingSummary(a *AppConfig) string {
	if !a.tracksSessions() {
		return "tracking off: a reset ends no session of the app (set [app] login_path and session_cookies to turn it on)"
	}
	return fmt.Sprintf("tracking on: sign-ins by POST %s (field %q) bind the cookies %s; a reset revokes them; bindings kept %s",
		a.LoginPath, a.LoginField, strings.Join(a.SessionCookies, ", "), a.SessionMaxAge.Duration)
}
