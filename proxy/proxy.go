// Package proxy is resetgate's pass-through: every request outside the reset prefix goes to the
// legacy app through [httputil.ReverseProxy] (with Rewrite, never the deprecated Director),
// streaming bodies in both directions, carrying WebSocket upgrades, and answering with a
// self-contained error page when the app is down.
//
// What the app receives, and why:
//   - The request target exactly as the client sent it: path bytes, escapes ("/a%2Fb"), empty
//     segments ("//x") and the raw query (";", "+", undecodable escapes) are not cleaned or
//     re-encoded, so resetgate and the app never disagree about which resource was asked for
//     (SECURITY.md RQ-PRX-04). resetgate does not interpret the query of proxied requests, so
//     forwarding it verbatim cannot create a parameter-parsing mismatch.
//   - Host, X-Forwarded-Host and X-Forwarded-Proto describe [Options.PublicURL], never the
//     client's Host header or an absolute-form request target, so an app that builds absolute
//     URLs from them builds the public ones (SECURITY.md RQ-LNK-*).
//   - X-Forwarded-For is exactly one address: the client as resolved by [Options.ClientIP].
//     The app should trust exactly one proxy hop (for werkzeug: ProxyFix(x_for=1, x_proto=1,
//     x_host=1)).
//   - No client-supplied forwarding or identity header in any spelling (see [ProtectedHeader]
//     and [Options.StripHeaders]), no header whose name has an underscore (unless
//     [Options.AllowUnderscoreHeaders]), and no h2c upgrade (SECURITY.md RQ-PRX-01,
//     RQ-PRX-02, RQ-PRX-05).
package proxy

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"resetgate/minrate"
)

// ErrInvalidOptions is wrapped by every error [New] returns.
var ErrInvalidOptions = errors.New("invalid proxy options")

// Options configure a [Proxy]. Upstream and PublicURL are required; every other nil or zero
// field has the documented default.
type Options struct {
	// Upstream is the legacy app: an absolute http or https URL without query, fragment or
	// user info. A path ("http://app:5000/legacy") is prepended to every forwarded path.
	Upstream *url.URL
	// PublicURL is the address browsers use to reach resetgate (the config's public_url).
	// The Host header sent upstream and X-Forwarded-Host are its host (with port, if any);
	// X-Forwarded-Proto is its scheme.
	PublicURL *url.URL
	// ClientIP resolves the client's address for X-Forwarded-For, normally
	// (*clientip.Resolver).IP. Nil means the socket peer. When it returns the zero Addr the
	// request is forwarded without X-Forwarded-For.
	ClientIP func(*http.Request) netip.Addr
	// Logger receives one record per failed upstream exchange. Nil discards.
	Logger *slog.Logger
	// Transport carries requests to the upstream. Nil means [NewTransport]'s tuned
	// *http.Transport, owned by the Proxy and closed by [Proxy.Close], with GET and HEAD
	// requests without a body to a plain-HTTP upstream sent on the calling goroutine over a
	// pool of its own (direct.go): the same bytes on the wire, without the Transport's
	// per-request hand-offs between goroutines.
	Transport http.RoundTripper
	// DropCookies names cookies removed from the Cookie header before it goes upstream:
	// resetgate's own session cookie is set with Path=/, so browsers send it with every
	// request, and the app has no business receiving it.
	DropCookies []string
	// ErrorPage returns the page a client gets when the app cannot be reached (502) or
	// times out (504), for the outbound request r, whose headers are the client's: main
	// gives it in the client's language (see [RenderErrorPage]). It must be cheap and must
	// not fail; nil means a bare page with the status alone.
	ErrorPage func(r *http.Request, status int) []byte
	// FlushInterval is how often buffered response bytes are pushed to the client while a
	// response with a known Content-Length is copied. Zero (the default) flushes only when
	// the server's write buffer fills or the response ends, which is the cheapest; a negative
	// value flushes after every write. Responses without a Content-Length (chunked, streamed)
	// and text/event-stream responses are always flushed after every write, whatever this is,
	// so streaming and server-sent events work with the default.
	FlushInterval time.Duration
	// ModifyResponse, if set, may rewrite the app's responses before they are copied to the
	// client (see httputil.ReverseProxy.ModifyResponse); an error it returns is answered with
	// the proxy's error page. main sets it to add the reset link to the app's sign-in page.
	ModifyResponse func(*http.Response) error
	// StripHeaders names request headers removed before a request goes upstream, on top of
	// the built-in list (see [ProtectedHeader]): compared case-insensitively, '_' equal to
	// '-'. Use it for the identity headers your app or its auth middleware trusts
	// ("X-Auth-User", "Remote-User").
	StripHeaders []string
	// Slow bounds how slowly a client may send its request body or read the response
	// (SECURITY.md RQ-PRX-06). The zero value sets no deadline. A body that misses its
	// deadline ends with an error, which aborts the app's request (its worker is freed),
	// and net/http closes the client's connection.
	Slow minrate.Limits
	// BufferRequests makes the app see a request only once its whole body has arrived, up
	// to BufferMax bytes, as nginx's proxy_request_buffering does: the first 64 KiB in
	// memory, the rest in a temp file in SpoolDir (removed when the request ends). Longer
	// bodies stream as without it. Zero BufferMax means 16 MiB; empty SpoolDir, os.TempDir.
	BufferRequests bool
	BufferMax      int64
	SpoolDir       string
	// AllowUnderscoreHeaders forwards request headers whose names contain '_'. By default
	// they are dropped, as nginx does (SECURITY.md RQ-PRX-05).
	AllowUnderscoreHeaders bool
}

// Proxy forwards requests to the legacy app. It is safe for concurrent use.
//
// Full duplex: ServeHTTP enables HTTP/1 full duplex on the ResponseWriter, so the app may
// answer while the request body is still arriving without net/http discarding 256 KiB + 1
// bytes of that body (it otherwise does, silently, and the app still answers 200). Middleware
// that wraps the ResponseWriter (metrics, access logs) must implement
// Unwrap() http.ResponseWriter so that [http.ResponseController] reaches the real writer;
// without it full duplex cannot be enabled, WebSocket upgrades cannot hijack the connection,
// and streamed responses cannot be flushed.
type Proxy struct {
	rp        httputil.ReverseProxy
	upstream  *url.URL
	basePath  string // Upstream's escaped path without trailing slash, prepended to raw targets
	host      string // PublicURL.Host: outbound Host and X-Forwarded-Host
	xfHost    []string
	xfProto   []string
	clientIP  func(*http.Request) netip.Addr
	log       *slog.Logger
	transport http.RoundTripper
	drop      []string // cookie names kept from the upstream
	errorPage func(*http.Request, int) []byte
	headers   headerFilter
	slow      minrate.Limits
	bufferMax int64 // 0: requests are not buffered
	spoolDir  string
}

// New validates o and returns a Proxy. Errors wrap [ErrInvalidOptions] and name the field.
func New(o Options) (*Proxy, error) {
	up, err := checkURL("Upstream", o.Upstream)
	if err != nil {
		return nil, err
	}
	if up.RawQuery != "" || up.ForceQuery || up.Fragment != "" {
		return nil, fmt.Errorf("%w: Upstream %q must not have a query or fragment", ErrInvalidOptions, up.Redacted())
	}
	pub, err := checkURL("PublicURL", o.PublicURL)
	if err != nil {
		return nil, err
	}
	// Normalise "http://app/" to "http://app" so that SetURL leaves request targets such as
	// "*" (OPTIONS *) alone, and keep the escaped base path for raw targets.
	base := strings.TrimSuffix(up.EscapedPath(), "/")
	if base == "" {
		up.Path, up.RawPath = "", ""
	}

	headers, err := newHeaderFilter(o)
	if err != nil {
		return nil, err
	}
	p := &Proxy{
		headers:   headers,
		slow:      o.Slow,
		spoolDir:  o.SpoolDir,
		upstream:  up,
		basePath:  base,
		host:      pub.Host,
		xfHost:    []string{pub.Host},
		xfProto:   []string{pub.Scheme},
		clientIP:  o.ClientIP,
		drop:      o.DropCookies,
		errorPage: o.ErrorPage,
		log:       o.Logger,
		transport: o.Transport,
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	if o.BufferRequests {
		p.bufferMax = o.BufferMax
		if p.bufferMax <= 0 {
			p.bufferMax = 16 << 20
		}
	}
	if p.transport == nil {
		p.transport = newDirectTransport(NewTransport())
	}
	p.rp = httputil.ReverseProxy{
		Rewrite:        p.rewrite,
		Transport:      p.transport,
		FlushInterval:  o.FlushInterval,
		ModifyResponse: o.ModifyResponse,
		BufferPool:     NewBufferPool(),
		ErrorHandler:   p.serveError,
		// ReverseProxy logs body-copy read errors here; they carry no URL or query.
		ErrorLog: slog.NewLogLogger(p.log.Handler(), slog.LevelWarn),
	}
	return p, nil
}

// checkURL returns a copy of u after checking that it is an absolute http(s) URL with a host
// and no user info.
func checkURL(field string, u *url.URL) (*url.URL, error) {
	if u == nil {
		return nil, fmt.Errorf("%w: %s is required", ErrInvalidOptions, field)
	}
	c := *u
	if c.Scheme != "http" && c.Scheme != "https" {
		return nil, fmt.Errorf("%w: %s %q must be an http:// or https:// URL", ErrInvalidOptions, field, c.Redacted())
	}
	if c.Host == "" || c.Opaque != "" {
		return nil, fmt.Errorf("%w: %s %q has no host", ErrInvalidOptions, field, c.Redacted())
	}
	if c.User != nil {
		// The Transport would silently ignore it; credentials for the app do not belong here.
		return nil, fmt.Errorf("%w: %s %q must not contain user info", ErrInvalidOptions, field, c.Redacted())
	}
	return &c, nil
}

// ServeHTTP forwards r to the upstream and copies the answer back, streaming both bodies.
//
// CONNECT (including HTTP/2 extended CONNECT) and the HTTP/2 prior-knowledge preface
// ("PRI * HTTP/2.0", which net/http hands to handlers) are answered 405 and never forwarded:
// they would open a tunnel to the app that bypasses every check here.
//
// After a request with a chunked body, the client connection is closed (Connection: close).
// net/http resolves a request carrying both Content-Length and Transfer-Encoding by the
// latter, but keeps the connection open and parses whatever follows the final chunk as the
// next request, although RFC 9112 §6.1 requires closing it. A front end that frames by
// Content-Length would then disagree with resetgate about where requests end (CL.TE
// smuggling). A handler cannot tell whether Content-Length was present, so every chunked
// request is treated this way; browsers never send chunked bodies, so the cost is one new
// connection per streamed upload.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodConnect || r.Method == "PRI" {
		h := w.Header()
		h.Set("Allow", "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS")
		h.Set("Cache-Control", "no-store")
		h.Set("Connection", "close")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if r.ProtoMajor == 1 && len(r.TransferEncoding) > 0 {
		w.Header().Set("Connection", "close")
	}
	// Without full duplex, the first response write makes net/http discard up to 256 KiB + 1
	// of the unread request body, which the app then never receives (issue 2, item 4). The
	// error is ErrNotSupported for HTTP/2 (always full duplex) and for writers that cannot
	// do it; proxying proceeds either way.
	var err error
	if fd, ok := w.(interface{ EnableFullDuplex() error }); ok {
		err = fd.EnableFullDuplex()
	} else {
		err = http.NewResponseController(w).EnableFullDuplex()
	}
	if p.slow.Idle > 0 {
		var x *minrate.Exchange
		w, r, x = p.slow.Wrap(w, r)
		defer func() {
			x.Done()
			if x.TooSlow() {
				p.log.LogAttrs(r.Context(), slog.LevelWarn, "request body too slow: connection cut",
					slog.String("method", r.Method), slog.String("path", r.URL.EscapedPath()))
			}
		}()
	}
	if p.bufferMax > 0 && r.Header.Get("Upgrade") == "" {
		in := r
		var berr error
		if r, berr = buffer(r, p.bufferMax, p.spoolDir); berr != nil {
			// The client went away or was too slow: the app never saw the request.
			p.log.LogAttrs(r.Context(), slog.LevelWarn, "request body could not be buffered",
				slog.String("method", r.Method), slog.String("path", r.URL.EscapedPath()), slog.String("error", berr.Error()))
			w.Header().Set("Connection", "close")
			http.Error(w, "Bad Request: the request body did not arrive", http.StatusBadRequest)
			return
		}
		if r != in {
			defer r.Body.Close()
		}
	}
	p.rp.ServeHTTP(w, r)
	if err == nil && r.ContentLength != 0 {
		// In full-duplex mode, a body the handler left unread (the app was down, or answered
		// without reading it) is drained by net/http after the handler returns, which starts
		// a background read that nothing stops, and the next keep-alive request then panics
		// the connection with "invalid concurrent Body.Read call" (golang/go#68560). Closing
		// it here, while the handler runs, lets the server stop that read in time. Requests
		// with a body are never upgraded (see rewrite), so the connection is not hijacked.
		_ = r.Body.Close()
	}
}

// Close closes the idle connections of the Proxy's transport (the one from [Options] or its
// default). In-flight requests are not interrupted. The Proxy stays usable.
func (p *Proxy) Close() {
	if c, ok := p.transport.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// rewrite builds the outbound request. ReverseProxy has already removed hop-by-hop headers
// (re-adding Connection/Upgrade for protocol upgrades), Forwarded and X-Forwarded-For/-Host/
// -Proto, and dropped unparsable query parameters; rewrite undoes the last on purpose.
//
// SetXForwarded is deliberately not used: it would take X-Forwarded-Host from the client's
// Host header and X-Forwarded-For from the socket peer, ignoring trusted proxies.
func (p *Proxy) rewrite(pr *httputil.ProxyRequest) {
	in, out := pr.In, pr.Out
	pr.SetURL(p.upstream)
	// The app, not resetgate, parses the query: forward it byte for byte.
	out.URL.RawQuery = in.URL.RawQuery
	if raw := p.rawTarget(in); raw != "" {
		// RequestURI() returns Opaque as is, so the path reaches the app exactly as the
		// client wrote it, even where Go would re-escape it ("/a|b", raw UTF-8).
		out.URL.Opaque = raw
	}
	out.Host = p.host

	h := out.Header
	p.headers.strip(h)
	if len(out.Trailer) > 0 {
		p.headers.strip(out.Trailer)
	}
	if up := h["Upgrade"]; len(up) > 0 && (in.ContentLength != 0 || hasToken(up, "h2c")) {
		// An h2c upgrade would turn the upstream connection into an HTTP/2 tunnel whose
		// requests resetgate never sees (RQ-PRX-02). An upgrade request with a body is not
		// a WebSocket handshake (RFC 6455 §4.1: a GET without content), and switching
		// protocols with a body in flight leaves the framing ambiguous. Either way the
		// upgrade is dropped and the request is answered over HTTP/1.1; WebSocket
		// handshakes pass untouched.
		delete(h, "Upgrade")
		delete(h, "Connection")
	}

	if len(p.drop) > 0 {
		dropCookies(h, p.drop)
	}
	if ip := p.forwardedFor(in); ip != "" {
		h["X-Forwarded-For"] = []string{ip}
	}
	// Shared, never-mutated slices: nothing downstream writes into header values, and the
	// capacity of one forces any append to copy.
	h["X-Forwarded-Host"] = p.xfHost[:1:1]
	h["X-Forwarded-Proto"] = p.xfProto[:1:1]
}

// rawTarget returns the outbound path for in's request target, verbatim from the request
// line, or "" when SetURL's result must be used: absolute-form targets (their host is
// ignored anyway) and "//x" without a base path, which a URL cannot carry in Opaque. The
// asterisk form ("OPTIONS *") addresses the server, not a path, and stays "*".
func (p *Proxy) rawTarget(in *http.Request) string {
	raw := in.RequestURI
	if raw == "*" {
		return raw
	}
	if raw == "" || raw[0] != '/' {
		return ""
	}
	if i := strings.IndexByte(raw, '?'); i >= 0 {
		raw = raw[:i]
	}
	if p.basePath == "" {
		if len(raw) > 1 && raw[1] == '/' {
			return ""
		}
		return raw
	}
	return p.basePath + raw
}

// forwardedFor returns the X-Forwarded-For value for in: the resolved client address, or ""
// when there is none. It reuses the RemoteAddr text when the client is the socket peer, which
// avoids formatting an address on the common path.
func (p *Proxy) forwardedFor(in *http.Request) string {
	host, _, err := net.SplitHostPort(in.RemoteAddr)
	if p.clientIP == nil {
		if err != nil {
			return ""
		}
		peer, perr := netip.ParseAddr(host)
		if perr != nil {
			return ""
		}
		if peer.Zone() != "" {
			// A zone means nothing beyond this host.
			return peer.WithZone("").String()
		}
		return host
	}
	ip := p.clientIP(in)
	if !ip.IsValid() {
		return ""
	}
	if err == nil {
		if peer, perr := netip.ParseAddr(host); perr == nil && peer == ip {
			return host
		}
	}
	return ip.String()
}
