package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"resetgate/reset"
	"resetgate/web"
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
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	path := configFlag(fs)
	if err := fs.Parse(args); err != nil {
		return exitCode(2)
	}
	cfg, err := loadConfigOrReport(env, *path)
	if err != nil {
		return err
	}
	log := newLogger(cfg.LogFormat, cfg.LogLevel, env.stderr)
	if cfg.public.Scheme != "https" {
		log.Warn("public_url is not https: reset links and cookies travel in clear text; use https outside development (SECURITY.md RQ-LNK-02)", "public_url", cfg.PublicURL)
	}
	return serve(ctx, cfg, env.getenv, log)
}

// newLogger logs text on a terminal and JSON otherwise, unless format says which.
func newLogger(format, level string, w io.Writer) *slog.Logger {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		lv = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lv}
	if format == "auto" {
		format = "json"
		if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			format = "text"
		}
	}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
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
func serve(ctx context.Context, cfg *Config, getenv func(string) string, log *slog.Logger) error {
	a, err := newApp(ctx, cfg, getenv, log)
	if err != nil {
		return err
	}
	defer a.Close()

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.Listen, err)
	}
	srv := &http.Server{
		Handler:           a.handler,
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
	hup := watchHUP(workCtx, func() { a.reload(certs) })

	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	if admin != nil {
		go func() { errc <- admin.Serve(adminLn) }()
		log.Info("admin listening", "addr", adminLn.Addr().String())
	}
	log.Info("resetgate listening", "addr", ln.Addr().String(), "public_url", cfg.PublicURL, "upstream", cfg.Upstream,
		"prefix", cfg.Prefix, "store", cfg.Store.Backend, "users", a.users.Describe(), "mail", cfg.Mail.Transport, "version", version)

	var serveErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down", "grace", cfg.ShutdownGrace.Duration.String())
	case serveErr = <-errc:
		log.Error("server stopped", "err", serveErr)
	}
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownGrace.Duration)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("in-flight requests did not finish within shutdown_grace", "err", err)
		srv.Close()
	}
	if admin != nil {
		admin.Shutdown(sctx)
	}
	stopWork()
	hup()
	wg.Wait()
	log.Info("stopped")
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	return nil
}

// reload applies SIGHUP: page and mail templates from disk, renewed TLS certificates.
func (a *app) reload(certs *certReloader) {
	if err := a.web.Reload(); err != nil {
		a.log.Error("reload: page templates kept as they were", "err", err)
	} else {
		a.log.Info("reload: page templates reloaded")
	}
	if certs != nil {
		if err := certs.load(); err != nil {
			a.log.Error("reload: TLS certificate kept as it was", "err", err)
		} else {
			a.log.Info("reload: TLS certificate reloaded")
		}
	}
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

// adminHandler serves /healthz, /readyz and /metrics on the admin listener.
func (a *app) adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintln(w, `{"status":"ok"}`)
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		results := a.ready(r.Context())
		status, code := "ok", http.StatusOK
		for i := range results {
			results[i].Ms = float64(results[i].Latency.Microseconds()) / 1000
			if !results[i].OK {
				status, code = "unavailable", http.StatusServiceUnavailable
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(map[string]any{"status": status, "checks": results})
	})
	mux.Handle("GET /metrics", a.metrics.handler())
	return mux
}

// accessLog logs one line per request: method, path (tokens redacted, no query string: apps
// put secrets there), status, bytes, duration and client. access_log = "reset" logs only the
// reset pages, "off" nothing.
func accessLog(log *slog.Logger, cfg *Config, next http.Handler) http.Handler {
	if cfg.AccessLog == "off" {
		return next
	}
	onlyReset := cfg.AccessLog == "reset"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		route := web.Classify(cfg.Prefix, r.URL.Path, r.URL.RawPath)
		if onlyReset && route == web.Upstream {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		rec := recorderFrom(w)
		next.ServeHTTP(rec, r)
		log.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("method", r.Method),
			slog.String("path", redactPath(cfg.Prefix, route, r.URL.Path)),
			slog.String("route", route.String()),
			slog.Int("status", rec.code()),
			slog.Int64("bytes", rec.bytes),
			slog.Duration("duration", time.Since(start)),
			slog.String("remote", r.RemoteAddr),
		)
	})
}

// redactPath keeps tokens out of the access log (SECURITY.md RQ-LNK-07): under the prefix,
// any segment that is not one of the fixed page names is shown as {token}.
func redactPath(prefix string, route web.Route, p string) string {
	if route == web.Upstream {
		return p
	}
	rest, ok := strings.CutPrefix(p, prefix+"/")
	if !ok {
		if route == web.Refused {
			return "(refused path)"
		}
		return p
	}
	switch first, _, _ := strings.Cut(rest, "/"); first {
	case "", "sent", "new", "done", "invalid", "static":
		return p
	}
	if reset.ValidTokenShape(rest) || route == web.Refused {
		return prefix + "/{token}"
	}
	return prefix + "/{other}"
}
