// Package web serves resetgate's pages under the reset prefix and sends every other request to
// the legacy app. It sits between package main, which wires it, and the domain in package
// reset; it gets the app as a plain http.Handler and never knows how requests reach it.
package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gorilla/mux"
	"github.com/gorilla/sessions"

	"resetgate/challenge"
	"resetgate/i18n"
	"resetgate/minrate"
	"resetgate/reset"
)

//go:embed templates static
var embedded embed.FS

// MaxBodyBytes caps every request body under the prefix, before any parsing or hashing
// (SECURITY.md RQ-PWD-10).
const MaxBodyBytes = 64 << 10

// PageLimits are the minimum progress a client must make under the prefix, stricter than
// any app needs: forms are a few hundred bytes (at most MaxBodyBytes), so a body has 10 s to
// start, earns a second per 500 bytes, may go silent for 10 s at most and must be complete
// within 20 s (mod_reqtimeout's body=20,MinRate=500; SECURITY.md RQ-PRX-06).
var PageLimits = minrate.Limits{Initial: 10 * time.Second, MinRate: 500, Idle: 10 * time.Second, Max: 20 * time.Second}

// Options configures a [Handler]. Service, PublicURL, Upstream and SessionKeys are required.
type Options struct {
	Service   *reset.Service
	Prefix    string   // canonical, e.g. "/pwreset" (the default)
	PublicURL *url.URL // https here turns on Secure, __Host- cookies and HSTS
	Site      string   // the site's name on the pages; default the public host
	Upstream  http.Handler
	// ClientIP resolves the client's address (trusted proxies); nil: the socket peer.
	ClientIP func(*http.Request) netip.Addr
	// SessionKeys are the secrets of the encrypted session cookie: a 32- or 64-byte
	// authentication key then a 32-byte encryption key. Share them between replicas.
	SessionKeys [2][]byte
	// AfterResetURL is where a successful reset goes: a relative path such as "/login" or an
	// absolute URL on the public origin; empty: resetgate's own done page.
	AfterResetURL string
	// SignInURL is the app's sign-in page (config: [app] login_path, else after_reset_url): the
	// request form links back to it and the done page's button goes there. It follows the
	// rules of AfterResetURL. Empty: no sign-in page is known, and both point to the app's
	// home page, "/".
	SignInURL string
	// Brand is the name in the pages' header; default Site. LogoURL, a same-origin path of
	// the app (see [CheckLocalPath]) such as "/static/logo.png", shows the app's logo before
	// it (decorative: the name beside it says what it is).
	Brand   string
	LogoURL string
	// AccentColor ("#rrggbb") colours buttons, links and the brand name; it must pass
	// [CheckAccent]. Empty: resetgate's own blue.
	AccentColor string
	// Stylesheets are the app's own CSS files, same-origin paths linked after resetgate's
	// stylesheet so that they win.
	Stylesheets []string
	// Frame, when set, renders every page inside the app's own page (wrap mode); whenever it
	// has no frame, the plain layout is used.
	Frame Frame
	// Templates, when set, overrides the embedded page templates file by file, and may hold
	// a page for one language (request.de.html).
	Templates fs.FS
	// Languages are the offered languages (config: [ui] languages, default_language,
	// messages_dir); nil: every shipped one, English by default.
	Languages *i18n.Catalog
	Logger    *slog.Logger
	// Now is the clock the session cookie's lifetime is computed with; it must be the
	// Service's. Nil means time.Now.
	Now func() time.Time
	// Challenge, when set and active, asks the request form for a proof of work or a captcha
	// before the request reaches the Service (issue 16, finding 9). Nil: never. It can be
	// replaced while serving with [Handler.SetChallenge].
	Challenge *challenge.Guard
	// Gate, when set, bounds how many of the pages' requests are served at once (see [Gate]);
	// the stylesheets and scripts pass by. Nil: no bound.
	Gate Gate
	// Completions, when set, bounds how many new-password submissions (POST {prefix}/new)
	// are served at once; the others wait at the door, with their body read, for as long as
	// their client does. Their pace is the hash slots' anyway, and waiting there they hold
	// their connection and body, not a handler's state and stack. Nil: no bound.
	Completions Gate
}

// Handler dispatches by path, before any router: the reset area to resetgate's pages,
// everything else to the upstream unchanged.
type Handler struct {
	o        Options
	log      *slog.Logger
	pages    atomic.Pointer[pageSet]
	langs    *i18n.Catalog
	guard    atomic.Pointer[challenge.Guard]
	app      http.Handler // the pages, behind the CSRF guard and the security headers
	refused  http.Handler
	cookies  *sessions.CookieStore
	cookie   string
	assets   map[string]string // file name → URL with a content hash, for long-lived caching
	theme    []byte            // theme.css, generated from AccentColor; nil without one
	wrapHead []byte            // what a Frame's <head> gets
	secure   bool
}

// New checks o, parses the templates (failing fast on any error) and returns the handler.
func New(o Options) (*Handler, error) {
	if o.Service == nil || o.PublicURL == nil || o.Upstream == nil {
		return nil, errors.New("web: Service, PublicURL and Upstream are required")
	}
	if len(o.SessionKeys[0]) < 32 || len(o.SessionKeys[1]) != 32 {
		return nil, errors.New("web: session keys must be ≥ 32 bytes (authentication) and 32 bytes (encryption)")
	}
	if o.Prefix == "" {
		o.Prefix = "/pwreset"
	}
	if o.Site == "" {
		o.Site = o.PublicURL.Hostname()
	}
	if o.Brand == "" {
		o.Brand = o.Site
	}
	if err := CheckAccent(o.AccentColor); err != nil {
		return nil, fmt.Errorf("web: accent colour: %w", err)
	}
	for _, p := range append([]string{o.LogoURL}, o.Stylesheets...) {
		if err := CheckLocalPath(p, o.Prefix); p != "" && err != nil {
			return nil, fmt.Errorf("web: %w", err)
		}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.ClientIP == nil {
		o.ClientIP = peerIP
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if err := CheckAfterResetURL(o.AfterResetURL, o.PublicURL); err != nil {
		return nil, err
	}
	if err := CheckAfterResetURL(o.SignInURL, o.PublicURL); err != nil {
		return nil, fmt.Errorf("web: sign-in URL: %w", err)
	}
	if o.Languages == nil {
		var err error
		if o.Languages, err = i18n.Load(i18n.Options{}); err != nil {
			return nil, fmt.Errorf("web: %w", err)
		}
	}
	h := &Handler{o: o, log: o.Logger, secure: o.PublicURL.Scheme == "https", langs: o.Languages}
	h.cookie = CookieName(o.PublicURL)
	h.cookies = sessions.NewCookieStore(o.SessionKeys[0], o.SessionKeys[1])
	// The codec accepts a cookie for as long as any link can live; each cookie's own Max-Age
	// is set when it is saved (see Handler.save), from what it holds.
	h.cookies.MaxAge(int(reset.MaxTokenTTL / time.Second))
	h.cookies.Options = &sessions.Options{Path: "/", HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteLaxMode}

	static, _ := fs.Sub(embedded, "static")
	h.assets = map[string]string{}
	err := fs.WalkDir(static, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(static, p)
		sum := sha256.Sum256(b)
		h.assets[p] = o.Prefix + "/static/" + p + "?v=" + hex.EncodeToString(sum[:6])
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("web: static files: %w", err)
	}
	if o.AccentColor != "" {
		h.theme = themeCSS(o.AccentColor)
		sum := sha256.Sum256(h.theme)
		h.assets["theme.css"] = o.Prefix + "/static/theme.css?v=" + hex.EncodeToString(sum[:6])
	}
	h.wrapHead = h.buildWrapHead()
	if err := h.Reload(); err != nil {
		return nil, err
	}
	h.guard.Store(o.Challenge)

	r := mux.NewRouter()
	r.SkipClean(true) // Classify already refused every unclean spelling
	p := o.Prefix
	r.Handle(p, h.handleRequestForm()).Methods(http.MethodGet, http.MethodHead)
	r.Handle(p, h.handleRequest()).Methods(http.MethodPost)
	r.Handle(p+"/", http.RedirectHandler(p, http.StatusSeeOther)).Methods(http.MethodGet, http.MethodHead)
	r.Handle(p+"/sent", h.handlePage("sent", "sent.title")).Methods(http.MethodGet, http.MethodHead)
	r.Handle(p+"/code", h.handleCodeForm()).Methods(http.MethodGet, http.MethodHead)
	r.Handle(p+"/code", h.handleCode()).Methods(http.MethodPost)
	r.Handle(p+"/invalid", h.handlePage("invalid", "invalid.title")).Methods(http.MethodGet, http.MethodHead)
	r.Handle(p+"/done", h.handleDone()).Methods(http.MethodGet, http.MethodHead)
	r.Handle(p+"/new", h.handleNewForm()).Methods(http.MethodGet, http.MethodHead)
	r.Handle(p+"/new", h.handleNew()).Methods(http.MethodPost)
	r.Handle(p+"/wasnt-me/{link}", h.handleWasntMeForm()).Methods(http.MethodGet, http.MethodHead)
	r.Handle(p+"/wasnt-me", h.handleWasntMe()).Methods(http.MethodPost)
	r.PathPrefix(p+"/static/").Handler(h.handleStatic(static)).Methods(http.MethodGet, http.MethodHead)
	r.Handle(p+"/{token}", h.handleLink()).Methods(http.MethodGet, http.MethodHead)
	r.NotFoundHandler = h.handleError(http.StatusNotFound)
	r.MethodNotAllowedHandler = h.handleMethodNotAllowed()

	// Cross-origin form posts are refused (Go ≥ 1.25: Sec-Fetch-Site, then Origin against
	// Host; SECURITY.md RQ-RST-02). The public origin is trusted explicitly too, for when a
	// proxy in front rewrites Host.
	cop := http.NewCrossOriginProtection()
	if err := cop.AddTrustedOrigin(o.PublicURL.Scheme + "://" + o.PublicURL.Host); err != nil {
		return nil, fmt.Errorf("web: public URL origin: %w", err)
	}
	cop.SetDenyHandler(h.handleError(http.StatusForbidden))
	h.app = PageLimits.Handler(h.headers(limitBody(cop.Handler(h.withLanguage(h.admit(r))))))
	h.refused = PageLimits.Handler(h.headers(h.withLanguage(h.handleError(http.StatusNotFound))))
	return h, nil
}

// CookieName is the session cookie's name for a public URL: with https, the __Host- prefix pins
// it to this exact origin, path / and Secure (SECURITY.md RQ-HDR-01); browsers refuse that
// prefix over plain http, hence the split.
func CookieName(public *url.URL) string {
	if public.Scheme == "https" {
		return "__Host-resetgate"
	}
	return "resetgate"
}

// Reload parses the page templates again (embedded, then Options.Templates over them). On
// error the pages in use stay as they were.
func (h *Handler) Reload() error {
	ps, err := parsePages(h.o.Templates, h.assets, h.langs)
	if err != nil {
		return err
	}
	h.pages.Store(&ps)
	return nil
}

// SetChallenge replaces the request form's challenge guard (nil: none), for a config reload.
func (h *Handler) SetChallenge(g *challenge.Guard) { h.guard.Store(g) }

// Challenge returns the guard in use, nil when none.
func (h *Handler) Challenge() *challenge.Guard { return h.guard.Load() }

// ServeHTTP sends the reset area to the pages and everything else upstream.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.ServeRoute(w, r, h.Route(r))
}

// Route classifies r as [Classify] does under the handler's prefix.
func (h *Handler) Route(r *http.Request) Route {
	return Classify(h.o.Prefix, r.URL.Path, r.URL.RawPath)
}

// ServeRoute is ServeHTTP for a request already classified as route (by [Handler.Route]), so
// that middleware that needs the route too classifies each request once.
func (h *Handler) ServeRoute(w http.ResponseWriter, r *http.Request, route Route) {
	if route != Upstream && r.ProtoMajor == 1 && len(r.TransferEncoding) > 0 {
		// net/http frames a request carrying both Content-Length and Transfer-Encoding by the
		// latter but keeps the connection, parsing what follows as another request; RFC 9112
		// §6.1 says close it, or a front end framing by Content-Length disagrees (CL.TE
		// smuggling). Forms never need chunked bodies. The proxy does the same for its part.
		w.Header().Set("Connection", "close")
	}
	switch route {
	case Reset:
		h.app.ServeHTTP(w, r)
	case Refused:
		h.refused.ServeHTTP(w, r)
	default:
		h.o.Upstream.ServeHTTP(w, r)
	}
}

func peerIP(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

func (h *Handler) clientIP(r *http.Request) string {
	ip := h.o.ClientIP(r)
	if !ip.IsValid() {
		return "unknown"
	}
	return ip.String()
}

// CheckAfterResetURL reports whether s may be the after-reset URL: only a local path or an
// absolute URL on the public origin (SECURITY.md RQ-RST-06: no open redirect).
func CheckAfterResetURL(s string, public *url.URL) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("web: after-reset URL %q: %w", s, err)
	}
	if u.IsAbs() {
		if u.Scheme != public.Scheme || u.Host != public.Host {
			return fmt.Errorf("web: after-reset URL %q must be a path such as /login or a URL on %s://%s", s, public.Scheme, public.Host)
		}
		return nil
	}
	if !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") || strings.Contains(s, `\`) || u.Host != "" {
		return fmt.Errorf("web: after-reset URL %q must be a path starting with a single / (such as /login)", s)
	}
	return nil
}

// headers sets the security headers every response under the prefix carries
// (DESIGN.md HTTP contract; SECURITY.md RQ-LNK-03, RQ-LNK-05, RQ-HDR-02).
func (h *Handler) headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Cache-Control", "no-store")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Content-Security-Policy", csp(nil))
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		hd.Set("X-Robots-Tag", "noindex, nofollow")
		if h.secure {
			hd.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}

// cspBase is the pages' Content-Security-Policy, directive by directive, in order.
var cspBase = [][2]string{{"default-src", "'none'"}, {"style-src", "'self'"}, {"img-src", "'self'"}, {"script-src", "'self'"},
	{"form-action", "'self'"}, {"frame-ancestors", "'none'"}, {"base-uri", "'none'"}}

// csp is the policy with extra sources per directive: a captcha widget's origins, on the one
// page that shows it.
func csp(extra map[string]string) string {
	var b strings.Builder
	seen := map[string]bool{}
	for _, d := range cspBase {
		if b.Len() > 0 {
			b.WriteString("; ")
		}
		b.WriteString(d[0] + " " + d[1])
		if x := extra[d[0]]; x != "" {
			b.WriteString(" " + x)
		}
		seen[d[0]] = true
	}
	var more []string
	for d := range extra {
		if !seen[d] {
			more = append(more, d)
		}
	}
	slices.Sort(more)
	for _, d := range more {
		b.WriteString("; " + d + " " + extra[d])
	}
	return b.String()
}

func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		next.ServeHTTP(w, r)
	})
}
