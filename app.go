package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"resetgate/apphtml"
	"resetgate/i18n"
	"resetgate/internal/admission"
	"resetgate/internal/asynclog"
	"resetgate/internal/clientip"
	"resetgate/proxy"
	"resetgate/reset"
	"resetgate/reset/bolt"
	"resetgate/reset/ldap"
	"resetgate/reset/outbox"
	"resetgate/reset/passhash"
	"resetgate/reset/smtp"
	"resetgate/reset/sqldb"
	"resetgate/reset/strength"
	"resetgate/tracking"
	"resetgate/web"
)

// mailer is a reset.Mailer that can also check its transport without sending.
type mailer interface {
	reset.Mailer
	Check(ctx context.Context) error
}

// app is resetgate wired from a Config: the adapters, the service and the HTTP handlers. Only
// this file knows the concrete types.
type app struct {
	cfg       *Config
	langs     *i18n.Catalog // [ui] languages, default_language, messages_dir
	hashPool  *hashPool     // the hashes and strength checks, on low-priority threads
	pagesGate *pagesGate    // how many of resetgate's own pages are served at once
	log       *slog.Logger
	store     reset.Store
	users     userStore
	mailer    mailer
	svc       *reset.Service
	proxy     *proxy.Proxy
	tracker   *tracking.Tracker // nil: session tracking is off
	web       *web.Handler
	wrap      *apphtml.Wrapper // [ui] wrap mode; nil when off
	metrics   *metrics
	abuse     AbuseConfig // the [abuse] settings of the guard in use (changed on SIGHUP)
	health    *health
	ips       *clientip.Resolver
	handler   http.Handler // the public listener's handler: access log and metrics around web

	inflight    sync.WaitGroup   // requests being handled, for shutdown
	accessQueue *asynclog.Logger // the access log's writer; nil when it is synchronous
	accessLog   atomic.Value     // string: all | reset | off (changed on SIGHUP)
	level       *slog.LevelVar   // the log level (changed on SIGHUP); nil for commands
	getenv      func(string) string
}

// stateFile is the bbolt file in data_dir.
const stateFile = "resetgate.db"

func openStore(ctx context.Context, cfg *Config, getenv func(string) string, log *slog.Logger) (reset.Store, error) {
	switch cfg.Store.Backend {
	case "redis":
		return openRedisStore(ctx, cfg, getenv, log)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data_dir %s: %w", cfg.DataDir, err)
	}
	s, err := bolt.Open(filepath.Join(cfg.DataDir, stateFile), bolt.Options{})
	if err != nil {
		return nil, err // not a typed nil inside the interface
	}
	return s, nil
}

// userStore is the legacy app's accounts as every command uses them: reset.Users, plus what
// check and doctor ask of the store (reset/sqldb, reset/ldap).
type userStore interface {
	reset.Users
	Check(ctx context.Context) error
	Describe() string
	Sample(ctx context.Context, n int) ([]string, error)
	Close() error
}

func openUsers(ctx context.Context, cfg *Config, getenv func(string) string) (userStore, error) {
	u := cfg.Users
	if u.Driver == "ldap" {
		password, err := secret(getenv, "", u.LDAP.BindPasswordEnv, u.LDAP.BindPasswordFile)
		if err != nil {
			return nil, fmt.Errorf("users.ldap.bind_password: %w", err)
		}
		d, err := ldap.Open(ctx, u.LDAP.options(password, u.CaseSensitive))
		if err != nil {
			return nil, err // not a typed nil inside the interface
		}
		return d, nil
	}
	dsn, err := secret(getenv, u.DSN, u.DSNEnv, u.DSNFile)
	if err != nil {
		return nil, fmt.Errorf("users.dsn: %w", err)
	}
	db, err := sqldb.Open(ctx, sqldb.Options{
		Driver: u.Driver, DSN: dsn, Table: u.Table, IDColumn: u.IDColumn, EmailColumn: u.EmailColumn,
		PasswordColumn: u.PasswordColumn, NameColumn: u.NameColumn, CaseSensitive: u.CaseSensitive,
		FindUser: u.FindUser, SetPassword: u.SetPassword, AfterReset: u.AfterReset,
		UsernameColumn: u.UsernameColumn, Eligible: u.Eligible, LanguageColumn: u.LanguageColumn,
	})
	if err != nil {
		return nil, err
	}
	return db, nil
}

func openMailer(cfg *Config, getenv func(string) string, log *slog.Logger) (mailer, error) {
	m := cfg.Mail
	if m.Transport == "outbox" {
		return outbox.New(filepath.Join(cfg.DataDir, "outbox"), m.From, log)
	}
	password, err := secret(getenv, "", m.SMTP.PasswordEnv, m.SMTP.PasswordFile)
	if err != nil {
		return nil, fmt.Errorf("mail.smtp.password: %w", err)
	}
	return smtp.New(smtp.Options{
		Host: m.SMTP.Host, Port: m.SMTP.Port, TLS: m.SMTP.TLS, Username: m.SMTP.Username, Password: password,
		From: m.From, Timeout: m.SMTP.Timeout.Duration,
	})
}

// newApp opens every adapter and wires the service and the handlers. On error, whatever was
// opened is closed again.
func newApp(ctx context.Context, cfg *Config, getenv func(string) string, log *slog.Logger) (_ *app, err error) {
	a := &app{cfg: cfg, log: log}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	if a.store, err = openStore(ctx, cfg, getenv, log); err != nil {
		return nil, err
	}
	if a.users, err = openUsers(ctx, cfg, getenv); err != nil {
		return nil, err
	}
	if a.mailer, err = openMailer(cfg, getenv, log); err != nil {
		return nil, err
	}
	hooks, err := openHooks(cfg, getenv)
	if err != nil {
		return nil, err
	}
	hashers, err := newHashPolicy(cfg, log)
	if err != nil {
		return nil, err
	}
	if a.langs, err = cfg.catalogue(); err != nil {
		return nil, fmt.Errorf("ui: %w", err)
	}
	var mailDir fs.FS
	if cfg.Mail.TemplatesDir != "" {
		mailDir = os.DirFS(cfg.Mail.TemplatesDir)
	}
	mail, err := reset.LoadMailTemplates(mailDir, languages{a.langs})
	if err != nil {
		return nil, fmt.Errorf("mail.templates_dir: %w", err)
	}
	site := cfg.SiteName
	if site == "" {
		site = cfg.public.Hostname()
	}
	a.health = newHealth(a)
	a.metrics = newMetrics(a)
	var sessions reset.SessionStore
	if cfg.App.tracksSessions() {
		sessions = a.store
	}
	a.hashPool = startHashPool(getenv, log)
	a.pagesGate = newPagesGate(cfg.Limits.PagesInFlight, log)
	a.metrics.reg.MustRegister(a.pagesGate.collectors()...)
	a.svc, err = reset.New(reset.Options{
		RunHash: a.hashPool.run(), Sessions: sessions, SessionMaxAge: cfg.App.SessionMaxAge.Duration,
		Users: a.users, Store: a.store, Mailer: a.mailer, Hashers: hashers, Mail: mail,
		Checker:   strength.New(strength.Options{MinScore: cfg.Reset.MinStrength, ContextWords: []string{site, cfg.public.Hostname()}}),
		PublicURL: cfg.PublicURL, Prefix: cfg.Prefix, Site: site, CaseSensitiveEmail: cfg.Users.CaseSensitive,
		Usernames: cfg.Users.UsernameColumn != "",
		NoCode:    !cfg.Reset.Code, CodeLength: cfg.Reset.CodeLength,
		Brand: cfg.brand(), LogoURL: cfg.logoURL(), AccentColor: cfg.UI.AccentColor,
		TokenTTL:    cfg.Reset.TokenTTL.Duration,
		MinPassword: cfg.Reset.MinPasswordLength, MaxPassword: cfg.Reset.MaxPasswordLength,
		PerEmail: cfg.rates["limits.per_email"], PerIP: cfg.rates["limits.per_ip"],
		TokenPerIP: cfg.rates["limits.token_per_ip"], TokenGlobal: cfg.rates["limits.token_global"],
		MailGlobal: cfg.rates["limits.mail_global"], MailPerDomain: cfg.rates["limits.mail_per_domain"],
		QueueMax: cfg.Limits.QueueMax, Drain: cfg.drain(), MaxAttempts: cfg.Mail.MaxAttempts, Logger: log,
		AuditKeep: cfg.Admin.auditKeep(), AuditRetention: cfg.Admin.AuditRetention.Duration,
		WasntMeTTL: cfg.Reset.WasntMeTTL.Duration, Hooks: hooks, HookAttempts: cfg.Hooks.MaxAttempts,
		Observe: a.observe, ObserveHashing: a.metrics.observeHashing, Waiting: admission.Leave,
	})
	if err != nil {
		return nil, err
	}
	ips, err := clientip.New(cfg.Limits.TrustedProxies)
	if err != nil {
		return nil, err
	}
	a.ips = ips
	var modify func(*http.Response) error
	if paths := cfg.injectPaths(); len(paths) > 0 {
		texts := map[string]string{"": a.langs.Default().Text("inject.link")}
		for _, l := range a.langs.Offered() {
			texts[l.Tag()] = l.Text("inject.link")
		}
		in, err := apphtml.New(apphtml.Options{Paths: paths, Selector: cfg.Inject.Selector, HTML: cfg.Inject.HTML,
			URL: cfg.Prefix, Texts: texts, Language: func(r *http.Request) string { return a.langs.Pick(r, cfg.public.Scheme == "https").Tag() }, Logger: log})
		if err != nil {
			return nil, err
		}
		modify = in.ModifyResponse
	}
	spool := filepath.Join(cfg.DataDir, "spool")
	if cfg.Proxy.BufferRequests {
		if err := os.MkdirAll(spool, 0o700); err != nil {
			return nil, fmt.Errorf("proxy.buffer_requests: spool directory: %w", err)
		}
	}
	appDown, err := appDownPages(a.langs, cfg.public.Scheme == "https")
	if err != nil {
		return nil, err
	}
	if a.proxy, err = proxy.New(proxy.Options{ErrorPage: appDown, BufferRequests: cfg.Proxy.BufferRequests, BufferMax: cfg.Proxy.BufferMax.n, SpoolDir: spool,
		Upstream: cfg.up, PublicURL: cfg.public, ClientIP: ips.IP, Logger: log,
		DropCookies: []string{web.CookieName(cfg.public)}, ModifyResponse: modify, StripHeaders: cfg.Proxy.StripHeaders,
		AllowUnderscoreHeaders: cfg.Proxy.AllowUnderscoreHeaders, Slow: cfg.Proxy.limits()}); err != nil {
		return nil, err
	}
	keys, err := sessionKeys(ctx, a.store)
	if err != nil {
		return nil, err
	}
	var upstream http.Handler = a.proxy
	if cfg.App.tracksSessions() {
		if a.tracker, err = newTracker(ctx, cfg, a); err != nil {
			return nil, err
		}
		upstream = a.tracker.Wrap(a.proxy)
	}
	guard, err := newGuard(ctx, cfg, getenv, a.store, a.metrics.observeChallenge)
	if err != nil {
		return nil, err
	}
	var pages = webTemplates(cfg)
	wo := web.Options{
		Service: a.svc, Prefix: cfg.Prefix, PublicURL: cfg.public, Site: site, Upstream: upstream,
		ClientIP: ips.IP, SessionKeys: keys, AfterResetURL: cfg.Reset.AfterResetURL, SignInURL: cfg.signInURL(), Templates: pages, Logger: log,
		Challenge: guard, Languages: a.langs, Gate: a.pagesGate, Completions: a.pagesGate.door,

		Brand: cfg.brand(), LogoURL: cfg.UI.LogoURL, AccentColor: cfg.UI.AccentColor, Stylesheets: cfg.UI.Stylesheets,
	}
	if a.wrap, err = cfg.newWrapper(log); err != nil {
		return nil, fmt.Errorf("ui.wrap_path: %w", err)
	}
	if a.wrap != nil {
		wo.Frame = a.wrap // fetched by serve (a.wrap.Run); until then the plain pages
	}
	if a.web, err = web.New(wo); err != nil {
		return nil, err
	}
	a.abuse = cfg.Abuse
	a.accessLog.Store(cfg.AccessLog)
	var access *slog.Logger
	access, a.accessQueue = newAccessLog(log)
	a.handler = instrument(access, cfg.Prefix, &a.accessLog, a.metrics, a.web, ips.IP, &a.inflight)
	return a, nil
}

// observe counts the service's events; a reset that ended sessions also brings this
// process's revoked set up to date at once, before the done page is answered, rather than at
// the tracker's next poll (other replicas learn of it within their poll interval).
func (a *app) observe(e reset.Event) {
	a.metrics.observe(e)
	if e == reset.EventSessionsEnded && a.tracker != nil {
		if err := a.tracker.Poll(context.Background()); err != nil {
			a.log.Warn("the revoked sessions could not be read at once; the next poll brings them", "event", "tracking", "err", err)
		}
	}
}

// newTracker wires session tracking (issue 11): the app's sign-in and cookies from [app],
// the binding secret shared by every replica through the store, the same account lookup as
// a reset.
func newTracker(ctx context.Context, cfg *Config, a *app) (*tracking.Tracker, error) {
	secret, err := a.store.Secret(ctx, "sessions", 32)
	if err != nil {
		return nil, fmt.Errorf("session tracking: %w", err)
	}
	t, err := tracking.New(tracking.Options{
		LoginPath: cfg.App.LoginPath, LoginField: cfg.App.LoginField, Cookies: cfg.App.SessionCookies,
		MaxAge: cfg.App.SessionMaxAge.Duration, CaseSensitive: cfg.Users.CaseSensitive, Secret: secret,
		Users: a.users, FindAccount: a.svc.FindAccount, Store: a.store, Logger: a.log, Observe: a.metrics.observeTracking,
	})
	if err != nil {
		return nil, err
	}
	// Refuse what was revoked before this start from the first request on.
	if err := t.Poll(ctx); err != nil {
		return nil, fmt.Errorf("session tracking: read the revoked sessions: %w", err)
	}
	return t, nil
}

// newHashPolicy is the [users] hash settings as a passhash.Policy.
func newHashPolicy(cfg *Config, log *slog.Logger) (*passhash.Policy, error) {
	p, err := passhash.NewPolicy(cfg.Users.Hash, cfg.Users.FallbackHash, log)
	if err != nil {
		return nil, err
	}
	p.UpgradeCost = cfg.Users.UpgradeCost
	return p, nil
}

// lookupAddress parses an address typed by an operator the way the service parses submitted
// ones, for commands that look accounts up directly.
func lookupAddress(cfg *Config, s string) (string, error) {
	addr, err := reset.ParseEmail(s)
	if err != nil || cfg.Users.CaseSensitive {
		return addr, err
	}
	return reset.NormalizeEmail(addr), nil
}

// sessionKeys returns the session cookie's keys from the store, so that every replica sharing
// it, and every restart, reads the same cookies.
func sessionKeys(ctx context.Context, s reset.Store) ([2][]byte, error) {
	auth, err := s.Secret(ctx, "session-auth", 64)
	if err != nil {
		return [2][]byte{}, fmt.Errorf("session keys: %w", err)
	}
	enc, err := s.Secret(ctx, "session-enc", 32)
	if err != nil {
		return [2][]byte{}, fmt.Errorf("session keys: %w", err)
	}
	return [2][]byte{auth, enc}, nil
}

// Close releases everything the app opened.
func (a *app) Close() {
	a.closeAccessLog()
	if a.proxy != nil {
		a.proxy.Close()
	}
	if a.users != nil {
		a.users.Close()
	}
	if a.store != nil {
		if err := a.store.Close(); err != nil {
			a.log.Error("closing the state store failed", "err", err)
		}
	}
	a.hashPool.close() // the server and the workers have stopped: nothing hashes any more
}

// dialUpstream checks that the app accepts TCP connections.
func dialUpstream(ctx context.Context, cfg *Config) error { return dialURL(ctx, "upstream", cfg.up) }

// dialURL checks that the host of u accepts TCP connections, sending nothing; what names it
// in the error.
func dialURL(ctx context.Context, what string, u *url.URL) error {
	host := u.Host
	if u.Port() == "" {
		port := "80"
		if u.Scheme == "https" {
			port = "443"
		}
		host = net.JoinHostPort(u.Hostname(), port)
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) {
			return fmt.Errorf("%s %s: %v", what, host, op.Err)
		}
		return fmt.Errorf("%s %s: %w", what, host, err)
	}
	return c.Close()
}
