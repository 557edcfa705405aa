package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"resetgate/challenge"
	"resetgate/framing"
	"resetgate/reset"
)

// Server limits. No ReadTimeout or WriteTimeout: proxied uploads, downloads and WebSockets may
// legitimately stream for a long time; slow-loris clients are cut off by the header timeout.
const (
	readHeaderTimeout = 10 * time.Second
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 64 << 10
	sweepInterval     = 5 * time.Minute
)

func configFlag(fs *flag.FlagSet) *string {
	return fs.String("config", "config.toml", "path to the configuration file")
}

// loadConfigOrReport loads the config and, on problems, prints them to stderr.
func loadConfigOrReport(env *cmdEnv, path string) (*Config, error) {
	cfg, err := loadConfig(path, env.getenv)
	var cerr *ConfigError
	if errors.As(err, &cerr) {
		fmt.Fprintln(env.stderr, cerr.Error())
		return nil, exitCode(2)
	}
	return cfg, err
}

func cmdServe(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlags(env, "serve")
	path := configFlag(fs)
	if err := parseFlags(env, fs, args); err != nil {
		return err
	}
	cfg, err := loadConfigOrReport(env, *path)
	if err != nil {
		return err
	}
	log, level := newLogger(cfg.LogFormat, cfg.LogLevel, env.stderr)
	if cfg.public.Scheme != "https" {
		log.Warn("public_url is not https: reset links and cookies travel in clear text; use https outside development (SECURITY.md RQ-LNK-02)", "public_url", cfg.PublicURL)
	}
	return serve(ctx, cfg, env.getenv, log, level)
}

// newLogger logs text on a terminal and JSON otherwise, unless format says which. Its level can
// be changed later through the returned LevelVar (SIGHUP).
func newLogger(format, level string, w io.Writer) (*slog.Logger, *slog.LevelVar) {
	lv := new(slog.LevelVar)
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		lv.Set(slog.LevelInfo)
	}
	opts := &slog.HandlerOptions{Level: lv}
	if format == "auto" {
		format = "json"
		if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			format = "text"
		}
	}
	build := func(w io.Writer) slog.Handler { return slog.NewJSONHandler(w, opts) }
	if format == "text" {
		build = func(w io.Writer) slog.Handler { return slog.NewTextHandler(w, opts) }
	}
	return slog.New(&logOutput{Handler: build(w), w: w, build: build}), lv
}

// logOutput is the root handler of [newLogger]'s loggers. It remembers its writer and how it
// was built, so that the access log can write the very same lines through asynclog
// ([newAccessLog]) while every other line stays synchronous.
type logOutput struct {
	slog.Handler
	w     io.Writer
	build func(io.Writer) slog.Handler
}

func webTemplates(cfg *Config) fs.FS {
	if cfg.Reset.TemplatesDir == "" {
		return nil
	}
	return os.DirFS(cfg.Reset.TemplatesDir)
}

// serve runs resetgate until ctx is done, then shuts down gracefully: it stops accepting,
// lets in-flight requests finish within shutdown_grace, lets the mail workers finish the jobs
// in hand (the rest stay queued) and closes the store.
func serve(ctx context.Context, cfg *Config, getenv func(string) string, log *slog.Logger, level *slog.LevelVar) error {
	a, err := newApp(ctx, cfg, getenv, log)
	if err != nil {
		return err
	}
	a.level, a.getenv = level, getenv
	defer a.Close()
	// Start-up's one-time work (every catalogue parsed, every page and mail rendered once in
	// every language to check it) leaves garbage several times the size of what is kept:
	// hand it back to the system now rather than over minutes (issue 17, idle RSS).
	debug.FreeOSMemory()

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.Listen, err)
	}
	srv := &http.Server{
		Handler:           framing.Guard(a.handler),
		ConnContext:       framing.ConnContext,
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		// OPTIONS * belongs to the app, not to Go's built-in answer.
		DisableGeneralOptionsHandler: true,
		ErrorLog:                     slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	var certs *certReloader
	if cfg.TLSCert != "" {
		if certs, err = newCertReloader(cfg.TLSCert, cfg.TLSKey); err != nil {
			ln.Close()
			return err
		}
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: certs.get}
		ln = tls.NewListener(ln, srv.TLSConfig)
	} else {
		// Only plaintext heads can be inspected; with TLS, framing.Guard closes every
		// HTTP/1.0 connection after its answer instead (SECURITY.md RQ-PRX-07).
		ln = framing.Listener(ln)
	}

	var admin *http.Server
	var adminLn net.Listener
	if cfg.Admin.Listen != "" {
		if adminLn, err = net.Listen("tcp", cfg.Admin.Listen); err != nil {
			ln.Close()
			return fmt.Errorf("admin.listen %s: %w", cfg.Admin.Listen, err)
		}
		admin = &http.Server{Handler: a.adminHandler(), ReadHeaderTimeout: readHeaderTimeout, IdleTimeout: idleTimeout}
	}

	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() { a.svc.Run(workCtx) })
	wg.Go(func() { a.svc.RunSweeper(workCtx, sweepInterval) })
	if a.wrap != nil {
		wg.Go(func() { a.wrap.Run(workCtx) })
	}
	if a.tracker != nil {
		wg.Go(func() { a.tracker.Run(workCtx) })
	}
	hup := watchHUP(workCtx, func() { a.reload(certs) })

	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	if admin != nil {
		go func() { errc <- admin.Serve(adminLn) }()
		log.Info("admin listening", "addr", adminLn.Addr().String())
	}
	log.Info("resetgate listening", "addr", ln.Addr().String(), "public_url", cfg.PublicURL, "upstream", cfg.Upstream,
		"prefix", cfg.Prefix, "store", cfg.Store.Backend, "users", a.users.Describe(), "mail", cfg.Mail.Transport, "version", version)
	// In the background: warns of what will not work, then lets go of start-up's pages.
	defer a.watchDependencies(ctx, startupSettled)()

	var serveErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down; send the signal again to stop at once", "grace", cfg.ShutdownGrace.Duration.String())
	case serveErr = <-errc:
		log.Error("server stopped", "err", serveErr)
	}
	a.drain(srv, admin, stopWork)
	hup()
	wg.Wait()
	log.Info("stopped")
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	return nil
}

// handlerWait bounds how long shutdown waits, after closing the connections, for handlers
// still running (a completion finishing its detached write).
const handlerWait = 5 * time.Second

// drain stops in order, within the documented budget (shutdown_grace plus handlerWait, well
// inside a 30 s TimeoutStopSec or terminationGracePeriodSeconds): readiness turns false at once;
// the listeners stop and in-flight requests get shutdown_grace; meanwhile the mail worker stops
// taking jobs and finishes the ones in hand (acknowledged, or rescheduled if cut off). The
// state store and the app's database are closed by the caller only after all of that, so no
// handler or job ever meets a closed store (issue 20).
func (a *app) drain(srv, admin *http.Server, stopWork func()) {
	a.health.draining.Store(true)
	stopWork()
	grace := a.cfg.ShutdownGrace.Duration
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		a.log.Warn("in-flight requests did not finish within shutdown_grace; closing their connections", "err", err)
		srv.Close()
	}
	// Close does not wait for handlers; the instrumenting middleware counts them.
	if !waitTimeout(&a.inflight, handlerWait) {
		a.log.Warn("some requests were still running at shutdown", "waited", handlerWait.String())
	}
	// Every request that finished has queued its access line: write them all now. Lines of
	// requests still running are written synchronously from here on.
	a.closeAccessLog()
	if admin != nil {
		actx, acancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer acancel()
		if err := admin.Shutdown(actx); err != nil {
			admin.Close()
		}
	}
}

// waitTimeout waits for wg for at most d and reports whether it finished.
func waitTimeout(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}

// reload applies SIGHUP: the config file's non-structural settings (log level, access log,
// limits, token lifetime, password lengths), page and mail templates, renewed TLS
// certificates, and a fresh copy of the app's [ui] wrap_path page. Structural settings (addresses, database, store, mail transport) need a
// restart; reload says which of them changed. On any error the running settings stay.
func (a *app) reload(certs *certReloader) {
	if a.cfg.path != "" && a.cfg.path != demoConfigPath {
		a.reloadConfig()
	}
	if err := a.web.Reload(); err != nil {
		a.log.Error("reload: page templates kept as they were", "err", err)
	} else {
		a.log.Info("reload: page templates reloaded")
	}
	if a.wrap != nil {
		a.wrap.Kick() // fetch the app's wrap_path page again now
	}
	if certs != nil {
		if err := certs.load(); err != nil {
			a.log.Error("reload: TLS certificate kept as it was", "err", err)
		} else {
			a.log.Info("reload: TLS certificate reloaded")
		}
	}
}

func (a *app) reloadConfig() {
	cfg, err := loadConfig(a.cfg.path, a.getenv)
	if err != nil {
		a.log.Error("reload: config file has problems; running settings kept", "err", err)
		return
	}
	// The catalogues stay those loaded at start-up ([ui] needs a restart).
	var mailDir fs.FS
	if cfg.Mail.TemplatesDir != "" {
		mailDir = os.DirFS(cfg.Mail.TemplatesDir)
	}
	mail, err := reset.LoadMailTemplates(mailDir, languages{a.langs})
	if err != nil {
		a.log.Error("reload: mail templates have problems; running settings kept", "err", err)
		return
	}
	// [abuse] applies at once, so that the challenge can be turned on during an attack; a
	// guard in auto mode starts counting afresh.
	var guard *challenge.Guard
	abuse := cfg.Abuse != a.abuse
	if abuse {
		if guard, err = newGuard(context.Background(), cfg, a.getenv, a.store, a.metrics.observeChallenge); err != nil {
			a.log.Error("reload: [abuse] refused; running settings kept", "err", err)
			return
		}
	}
	if err := a.svc.Retune(reset.Tunables{
		TokenTTL: cfg.Reset.TokenTTL.Duration, MinPassword: cfg.Reset.MinPasswordLength, MaxPassword: cfg.Reset.MaxPasswordLength,
		PerEmail: cfg.rates["limits.per_email"], PerIP: cfg.rates["limits.per_ip"],
		TokenPerIP: cfg.rates["limits.token_per_ip"], TokenGlobal: cfg.rates["limits.token_global"],
		MailGlobal: cfg.rates["limits.mail_global"], MailPerDomain: cfg.rates["limits.mail_per_domain"],
		QueueMax: cfg.Limits.QueueMax, Mail: mail,
	}); err != nil {
		a.log.Error("reload: settings refused; running settings kept", "err", err)
		return
	}
	if abuse {
		a.web.SetChallenge(guard)
		a.abuse = cfg.Abuse
		a.log.Info("reload: request form challenge set", "challenge", cfg.Abuse.Challenge, "captcha", cfg.Abuse.Captcha)
	}
	if a.level != nil {
		a.level.UnmarshalText([]byte(cfg.LogLevel))
	}
	a.accessLog.Store(cfg.AccessLog)
	if changed := structuralChanges(a.cfg, cfg); len(changed) > 0 {
		a.log.Warn("reload: these settings changed but take effect only after a restart", "keys", strings.Join(changed, ", "))
	}
	a.log.Info("reload: config applied", "path", a.cfg.path)
}

// structuralChanges names the settings that differ between old and new and cannot change while
// running: listeners, addresses, the app's database, the store, the mail transport.
func structuralChanges(old, new *Config) []string {
	var keys []string
	for _, c := range []struct {
		key  string
		a, b any
	}{
		{"listen", old.Listen, new.Listen}, {"public_url", old.PublicURL, new.PublicURL},
		{"upstream", old.Upstream, new.Upstream}, {"prefix", old.Prefix, new.Prefix},
		{"data_dir", old.DataDir, new.DataDir}, {"site_name", old.SiteName, new.SiteName},
		{"log_format", old.LogFormat, new.LogFormat}, {"tls_cert", old.TLSCert, new.TLSCert}, {"tls_key", old.TLSKey, new.TLSKey},
		{"users", fmt.Sprint(old.Users), fmt.Sprint(new.Users)}, {"mail", fmt.Sprint(old.Mail.Transport, old.Mail.From, old.Mail.SMTP, old.Mail.MaxAttempts), fmt.Sprint(new.Mail.Transport, new.Mail.From, new.Mail.SMTP, new.Mail.MaxAttempts)},
		{"reset.min_strength", old.Reset.MinStrength, new.Reset.MinStrength}, {"reset.after_reset_url", old.Reset.AfterResetURL, new.Reset.AfterResetURL},
		{"app.login_path", old.App.LoginPath, new.App.LoginPath},
		{"app", fmt.Sprint(old.App), fmt.Sprint(new.App)},
		{"reset.templates_dir", old.Reset.TemplatesDir, new.Reset.TemplatesDir},
		{"limits.trusted_proxies", fmt.Sprint(old.Limits.TrustedProxies), fmt.Sprint(new.Limits.TrustedProxies)},
		{"limits.pages_in_flight", old.Limits.PagesInFlight, new.Limits.PagesInFlight},
		{"store", fmt.Sprint(old.Store), fmt.Sprint(new.Store)}, {"admin.listen", old.Admin.Listen, new.Admin.Listen},
		{"proxy", fmt.Sprint(old.Proxy), fmt.Sprint(new.Proxy)}, {"ui", fmt.Sprint(old.UI.settings()), fmt.Sprint(new.UI.settings())},
		{"reset.wasnt_me_ttl", old.Reset.WasntMeTTL, new.Reset.WasntMeTTL},
		{"reset.code", old.Reset.Code, new.Reset.Code}, {"reset.code_length", old.Reset.CodeLength, new.Reset.CodeLength}, {"hooks", fmt.Sprint(old.Hooks), fmt.Sprint(new.Hooks)},
	} {
		if c.a != c.b {
			keys = append(keys, c.key)
		}
	}
	return keys
}

// certReloader serves the current certificate and swaps it on reload.
type certReloader struct {
	certFile, keyFile string
	mu                sync.RWMutex
	cert              *tls.Certificate
}

func newCertReloader(certFile, keyFile string) (*certReloader, error) {
	c := &certReloader{certFile: certFile, keyFile: keyFile}
	return c, c.load()
}

func (c *certReloader) load() error {
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("tls_cert/tls_key: %w", err)
	}
	c.mu.Lock()
	c.cert = &cert
	c.mu.Unlock()
	return nil
}

func (c *certReloader) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.cert, nil
}
