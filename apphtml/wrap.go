package apphtml

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/andybalholm/cascadia"
	"golang.org/x/net/html"
)

// Defaults of [WrapOptions].
const (
	DefaultWrapSelector = "main"
	DefaultWrapTimeout  = 5 * time.Second
	DefaultWrapRefresh  = 5 * time.Minute
	// DefaultWrapRetry is how soon a failed fetch is tried again.
	DefaultWrapRetry = 30 * time.Second
)

// WrapOptions configures a [Wrapper]. URL is required.
type WrapOptions struct {
	// URL is the app's page to wear, fetched directly from the app: its scheme and host
	// are the upstream's, its path [ui] wrap_path.
	URL *url.URL
	// Host is the Host header of the fetch (the public host), and Header holds extra request
	// headers such as X-Forwarded-Proto, so that the app builds its links as for a visitor.
	Host   string
	Header http.Header
	// Selector is the CSS selector of the element whose content the reset page replaces;
	// empty means [DefaultWrapSelector]. The first match counts.
	Selector string
	// Client fetches the page; nil means a client with no cookie jar that follows no
	// redirects. Timeout bounds each fetch (default [DefaultWrapTimeout]).
	Client  *http.Client
	Timeout time.Duration
	// Refresh is how often the page is fetched again (default [DefaultWrapRefresh]); Retry
	// how soon after a failure (default [DefaultWrapRetry]).
	Refresh, Retry time.Duration
	// MaxBytes caps the page (default [DefaultMaxBytes]); a larger one is not used.
	MaxBytes int64
	// Logger gets one record when fetching starts failing (or fails for another reason) and
	// one when a copy is in use again (the first one too): never one per request. Nil
	// discards.
	Logger *slog.Logger
}

// Why a fetched page cannot be worn; [Wrapper.Refresh] returns them, wrapped.
var (
	ErrNotHTML    = errors.New("the answer is not an HTML page")
	ErrNoSelected = errors.New("the selector matches no element of the page")
	ErrBadStatus  = errors.New("the app did not answer 200 to an anonymous visitor")
)

// Wrapper keeps a sanitized copy of one of the app's pages and puts resetgate's pages inside
// it (wrap mode): the app's stylesheets, header, navigation and footer stay, the selected
// element's content becomes the reset page's. What the copy keeps and drops is listed at
// [Sanitize]. Until a fetch succeeds, and after one fails, there is no frame, and
// resetgate's plain pages are shown. It is safe for concurrent use.
type Wrapper struct {
	o      WrapOptions
	match  cascadia.Matcher
	frame  atomic.Pointer[frame]
	kick   chan struct{}
	mu     sync.Mutex // serialises Refresh and guards failed
	failed string     // the last failure logged, "" while working
}

// frame is a sanitized page cut around the three places resetgate fills in.
type frame struct {
	beforeTitle, beforeHead, beforeContent, after []byte
	styles                                        []string // CSP sources of its inline <style> elements
}

// CheckSelector reports whether s is a CSS selector the wrapper and the injector can use.
func CheckSelector(s string) error {
	if _, err := cascadia.Compile(s); err != nil {
		return fmt.Errorf("selector %q: %w", s, err)
	}
	return nil
}

// NewWrapper checks o and returns a Wrapper without a frame: call [Wrapper.Run] (or
// [Wrapper.Refresh]) to fetch the page.
func NewWrapper(o WrapOptions) (*Wrapper, error) {
	if o.URL == nil || !o.URL.IsAbs() {
		return nil, errors.New("apphtml: the wrap page's URL must be absolute")
	}
	if o.Selector == "" {
		o.Selector = DefaultWrapSelector
	}
	m, err := cascadia.Compile(o.Selector)
	if err != nil {
		return nil, fmt.Errorf("apphtml: selector %q: %w", o.Selector, err)
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultWrapTimeout
	}
	if o.Refresh <= 0 {
		o.Refresh = DefaultWrapRefresh
	}
	if o.Retry <= 0 {
		o.Retry = DefaultWrapRetry
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.Client == nil {
		// No jar: the page is fetched as an anonymous visitor. A redirect (usually "sign in
		// first") is a failure, not something to follow.
		o.Client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Wrapper{o: o, match: m, kick: make(chan struct{}, 1)}, nil
}

// Run fetches the page now, then every Refresh (every Retry while it fails) and whenever
// [Wrapper.Kick] is called, until ctx is done.
func (w *Wrapper) Run(ctx context.Context) {
	for {
		wait := w.o.Refresh
		if w.Refresh(ctx) != nil {
			wait = w.o.Retry
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-w.kick:
		case <-t.C:
		}
		t.Stop()
	}
}

// Kick makes Run fetch the page again now (on SIGHUP). It never blocks.
func (w *Wrapper) Kick() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// Refresh fetches and sanitizes the page once. On success the new copy is used from the next
// request on; on failure there is no frame until a fetch succeeds, and the error is logged
// once (and again only when the reason changes).
func (w *Wrapper) Refresh(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	f, err := w.fetch(ctx)
	if err != nil {
		w.frame.Store(nil)
		if msg := err.Error(); msg != w.failed {
			w.failed = msg
			w.o.Logger.Warn("wrap: the app's page cannot be worn; the reset pages use their plain layout", "url", w.o.URL.String(), "err", err)
		}
		return err
	}
	if w.frame.Swap(f) == nil {
		// The first copy, or the first since a failure: once, not on every refresh.
		w.o.Logger.Info("wrap: the reset pages wear the app's page", "url", w.o.URL.String())
	}
	w.failed = ""
	return nil
}

func (w *Wrapper) fetch(ctx context.Context) (*frame, error) {
	ctx, cancel := context.WithTimeout(ctx, w.o.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.o.URL.String(), nil)
	if err != nil {
		return nil, err
	}
	for k, v := range w.o.Header {
		req.Header[k] = v
	}
	if w.o.Host != "" {
		req.Host = w.o.Host
	}
	req.Header.Set("Accept", "text/html")
	resp, err := w.o.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w (it answered %s)", ErrBadStatus, resp.Status)
	}
	mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || mt != "text/html" {
		return nil, fmt.Errorf("%w (Content-Type %q)", ErrNotHTML, resp.Header.Get("Content-Type"))
	}
	if cs := strings.ToLower(params["charset"]); cs != "" && cs != "utf-8" && cs != "utf8" {
		return nil, fmt.Errorf("%w (charset %q)", ErrNotUTF8, cs)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, w.o.MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("fetch: %w", err)
	}
	if int64(len(body)) > w.o.MaxBytes {
		return nil, fmt.Errorf("%w (%d bytes)", ErrTooLarge, w.o.MaxBytes)
	}
	return w.cut(body)
}

// Markers stand where resetgate fills in while the sanitized page is rendered once; they
// cannot occur in a page by accident (the page is checked), and render as themselves.
const (
	markTitle   = "resetgateFrameTitle7f3a"
	markHead    = "resetgateFrameHead7f3a"
	markContent = "resetgateFrameContent7f3a"
)

// cut sanitizes page and cuts it at the title, the end of the head and the selected
// element's content.
func (w *Wrapper) cut(page []byte) (*frame, error) {
	if !utf8.Valid(page) {
		return nil, ErrNotUTF8
	}
	for _, m := range []string{markTitle, markHead, markContent} {
		if bytes.Contains(page, []byte(m)) {
			return nil, errors.New("the page contains resetgate's own frame markers")
		}
	}
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	target := cascadia.Query(doc, w.match)
	if target == nil || target.Type != html.ElementNode || isElement(target, "html") || isElement(target, "head") || insideHead(target) {
		return nil, fmt.Errorf("%w (%s)", ErrNoSelected, w.o.Selector)
	}
	styles := Sanitize(doc, w.o.URL)
	for c := target.FirstChild; c != nil; {
		next := c.NextSibling
		target.RemoveChild(c)
		c = next
	}
	target.AppendChild(&html.Node{Type: html.TextNode, Data: markContent})
	head := findElement(doc, "head")
	if head == nil { // html.Parse always makes one; a selector cannot remove it
		return nil, errors.New("the page has no <head>")
	}
	title := findElement(head, "title")
	if title == nil {
		title = &html.Node{Type: html.ElementNode, Data: "title"}
		head.InsertBefore(title, head.FirstChild)
	}
	for c := title.FirstChild; c != nil; c = title.FirstChild {
		title.RemoveChild(c)
	}
	title.AppendChild(&html.Node{Type: html.TextNode, Data: markTitle})
	head.AppendChild(&html.Node{Type: html.TextNode, Data: markHead})

	var out bytes.Buffer
	if err := html.Render(&out, doc); err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	s := out.Bytes()
	var parts [4][]byte
	for i, m := range []string{markTitle, markHead, markContent} {
		before, rest, ok := bytes.Cut(s, []byte(m))
		if !ok || bytes.Contains(rest, []byte(m)) {
			return nil, errors.New("the page could not be cut at the title, the head and the selected element")
		}
		parts[i], s = before, rest
	}
	parts[3] = s
	return &frame{beforeTitle: parts[0], beforeHead: parts[1], beforeContent: parts[2], after: parts[3], styles: styles}, nil
}

// Frame implements web.Frame: the current copy of the app's page with title, head and content
// filled in, or ok false when there is none.
func (w *Wrapper) Frame(title string, head, content []byte) (page []byte, styleSources []string, ok bool) {
	f := w.frame.Load()
	if f == nil {
		return nil, nil, false
	}
	t := html.EscapeString(title)
	b := make([]byte, 0, len(f.beforeTitle)+len(t)+len(f.beforeHead)+len(head)+len(f.beforeContent)+len(content)+len(f.after))
	b = append(b, f.beforeTitle...)
	b = append(b, t...)
	b = append(b, f.beforeHead...)
	b = append(b, head...)
	b = append(b, f.beforeContent...)
	b = append(b, content...)
	b = append(b, f.after...)
	return b, f.styles, true
}

func findElement(n *html.Node, name string) *html.Node {
	var found *html.Node
	walk(n, func(c *html.Node) bool {
		if isElement(c, name) {
			found = c
			return false
		}
		return true
	})
	return found
}

func insideHead(n *html.Node) bool {
	for p := n.Parent; p != nil; p = p.Parent {
		if isElement(p, "head") {
			return true
		}
	}
	return false
}
