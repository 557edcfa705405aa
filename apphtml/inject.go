// Package apphtml reads and rewrites the legacy app's own HTML pages, so that resetgate feels
// like part of the app without a change to it: it adds the "Forgot your password?" link to
// the app's sign-in page ([Injector]), and it lets resetgate's pages wear one of the app's
// pages around them ([Wrapper], wrap mode).
//
// It sits beside the proxy and the pages: main hands [Injector.ModifyResponse] to the proxy's
// ReverseProxy, and a [Wrapper] to package web as its Frame; the proxy knows nothing of
// resets, and web nothing of this package. It imports neither reset nor web.
//
// The rewrite is a splice, not a re-rendering: the page is parsed with a real HTML5 parser
// (golang.org/x/net/html) to find the anchor element, then the snippet is inserted at the byte
// offset where that element ends, and every other byte of the app's page stays as the app sent
// it. Whenever that cannot be done with certainty, the page is left untouched and the reason
// logged (SECURITY.md RQ-HTM-01).
package apphtml

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"maps"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/andybalholm/cascadia"
	"golang.org/x/net/html"
)

// DefaultMaxBytes is the largest page, decoded, that is rewritten; larger ones pass untouched.
const DefaultMaxBytes = 2 << 20

// DefaultSnippet is the markup inserted when Options.HTML is empty: a plain link, which needs
// no script and no style, so the app's Content-Security-Policy keeps working.
const DefaultSnippet = `<p class="resetgate-forgot"><a href="{{.URL}}">{{.Text}}</a></p>`

// Why a page was left untouched; [Injector.Rewrite] returns them.
var (
	ErrNotUTF8   = errors.New("the page is not UTF-8")
	ErrNoAnchor  = errors.New("no anchor element found")
	ErrAmbiguous = errors.New("the anchor element could not be located in the page's bytes with certainty")
	ErrTooLarge  = errors.New("the page is larger than the rewrite cap")
)

// Options configures an [Injector]. URL is required.
type Options struct {
	// Paths are the app's pages that get the link, compared with the request's path exactly.
	Paths []string
	// Selector is a CSS selector of the element the link goes after. Empty means the first
	// <form> that holds a password field.
	Selector string
	// HTML is the inserted markup, an html/template that sees .URL and .Text. Empty means
	// [DefaultSnippet].
	HTML string
	// URL is where the link points, e.g. "/pwreset".
	URL string
	// Text is the link's text in every language. Empty means
	// Texts, by the language Language picks for the request, else Texts[""].
	Text string
	// Texts are the link's text by language tag, "" for any other language; Language picks a
	// response's from its request (the client's Accept-Language and cookies). Without them,
	// and without Text, the link reads "?" : main always gives them.
	Texts    map[string]string
	Language func(*http.Request) string
	// MaxBytes caps the pages rewritten (decoded size); zero means [DefaultMaxBytes].
	MaxBytes int64
	// Logger receives one record per path and reason when a page is left untouched, at most
	// once a minute. Nil discards.
	Logger *slog.Logger
}

// Injector adds the reset link to the app's pages. It is safe for concurrent use.
type Injector struct {
	paths    map[string]bool
	match    cascadia.Matcher  // nil: the default anchor
	snippet  []byte            // for any language
	snippets map[string][]byte // by language tag, when the text depends on it
	language func(*http.Request) string
	maxBytes int64
	log      *slog.Logger

	mu     sync.Mutex
	logged map[string]time.Time // path + reason → last logged
}

// New checks o and returns an Injector.
func New(o Options) (*Injector, error) {
	if o.URL == "" {
		return nil, errors.New("apphtml: URL is required")
	}
	in := &Injector{paths: map[string]bool{}, maxBytes: o.MaxBytes, log: o.Logger, logged: map[string]time.Time{}}
	for _, p := range o.Paths {
		if !strings.HasPrefix(p, "/") {
			return nil, fmt.Errorf("apphtml: path %q must start with /", p)
		}
		in.paths[p] = true
	}
	if o.Selector != "" {
		m, err := cascadia.Compile(o.Selector)
		if err != nil {
			return nil, fmt.Errorf("apphtml: selector %q: %w", o.Selector, err)
		}
		in.match = m
	}
	texts := map[string]string{"": cmp.Or(o.Texts[""], "?")}
	if o.Text != "" {
		texts[""] = o.Text
	} else if o.Language != nil {
		maps.Copy(texts, o.Texts)
		in.language = o.Language
	}
	in.snippets = map[string][]byte{}
	for tag, text := range texts {
		snippet, err := RenderSnippet(o.HTML, o.URL, text)
		if err != nil {
			return nil, err
		}
		in.snippets[tag] = snippet
	}
	in.snippet = in.snippets[""]
	if in.maxBytes == 0 {
		in.maxBytes = DefaultMaxBytes
	}
	if in.log == nil {
		in.log = slog.New(slog.DiscardHandler)
	}
	return in, nil
}

// RenderSnippet renders the inserted markup: src (or [DefaultSnippet]) with .URL and .Text.
func RenderSnippet(src, url, text string) ([]byte, error) {
	if src == "" {
		src = DefaultSnippet
	}
	t, err := template.New("inject").Option("missingkey=error").Parse(src)
	if err != nil {
		return nil, fmt.Errorf("apphtml: snippet: %w", err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, struct{ URL, Text string }{url, text}); err != nil {
		return nil, fmt.Errorf("apphtml: snippet: %w", err)
	}
	if bytes.Contains(bytes.ToLower(b.Bytes()), []byte("<script")) {
		// The injected markup must never carry script into the app's pages (RQ-HTM-01).
		return nil, errors.New("apphtml: snippet: no <script> allowed")
	}
	return b.Bytes(), nil
}

// Matches reports whether responses for path are candidates for a rewrite.
func (in *Injector) Matches(path string) bool { return in.paths[path] }

// Rewrite returns page with the snippet inserted after the anchor element, or an error saying
// why the page must stay as it is. The link's text is Options.Text or Texts[""];
// ModifyResponse picks a language's.
func (in *Injector) Rewrite(page []byte) ([]byte, error) { return in.rewrite(page, in.snippet) }

func (in *Injector) rewrite(page, snippet []byte) ([]byte, error) {
	if int64(len(page)) > in.maxBytes {
		return nil, ErrTooLarge
	}
	if !utf8.Valid(page) {
		// The parser reads UTF-8 only; a page in another charset would be misread.
		return nil, ErrNotUTF8
	}
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrAmbiguous, err)
	}
	target := in.anchor(doc)
	if target == nil {
		return nil, ErrNoAnchor
	}
	at, err := endOffset(page, doc, target)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(page)+len(snippet))
	out = append(out, page[:at]...)
	out = append(out, snippet...)
	return append(out, page[at:]...), nil
}

// anchor finds the element the snippet goes after, outside <noscript>: browsers with script
// (nearly all) treat that content as text, so a link there would be invisible.
func (in *Injector) anchor(doc *html.Node) *html.Node {
	if in.match != nil {
		for _, n := range cascadia.QueryAll(doc, in.match) {
			if !insideNoscript(n) {
				return n
			}
		}
		return nil
	}
	var form *html.Node
	walk(doc, func(n *html.Node) bool {
		if form == nil && isElement(n, "form") && hasPasswordField(n) {
			form = n
		}
		return form == nil
	})
	return form
}

func hasPasswordField(form *html.Node) bool {
	found := false
	walk(form, func(n *html.Node) bool {
		if isElement(n, "input") && strings.EqualFold(attr(n, "type"), "password") {
			found = true
		}
		return !found
	})
	return found
}

func insideNoscript(n *html.Node) bool {
	for p := n.Parent; p != nil; p = p.Parent {
		if isElement(p, "noscript") {
			return true
		}
	}
	return false
}

// walk visits n and its descendants in document order while visit returns true, skipping
// what <noscript> holds.
func walk(n *html.Node, visit func(*html.Node) bool) bool {
	if !visit(n) {
		return false
	}
	if isElement(n, "noscript") {
		return true
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if !walk(c, visit) {
			return false
		}
	}
	return true
}

func isElement(n *html.Node, name string) bool {
	return n.Type == html.ElementNode && n.Namespace == "" && n.Data == name
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Namespace == "" && a.Key == key {
			return a.Val
		}
	}
	return ""
}

// endOffset finds where target ends in page's bytes. target is the k-th element with its tag
// name in document order; the k-th start tag with that name in the token stream is the same
// element as long as the parser created exactly one element per start tag of that name (no
// implied or cloned elements of it), which is checked by counting both. The end is the
// matching end tag (or the start tag itself for a void element); an element that is never
// closed explicitly is refused rather than guessed.
func endOffset(page []byte, doc, target *html.Node) (int, error) {
	name, k, total := target.Data, -1, 0
	walk(doc, func(n *html.Node) bool {
		if isElement(n, name) {
			if n == target {
				k = total
			}
			total++
		}
		return true
	})
	z := html.NewTokenizer(bytes.NewReader(page))
	offset, seen, depth, at, noscript := 0, 0, 0, -1, 0
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			break
		}
		offset += len(z.Raw())
		tn, _ := z.TagName()
		if string(tn) == "noscript" {
			switch tt {
			case html.StartTagToken:
				noscript++
			case html.EndTagToken:
				noscript = max(noscript-1, 0)
			}
		}
		if string(tn) != name || noscript > 0 {
			continue
		}
		switch tt {
		case html.StartTagToken, html.SelfClosingTagToken:
			if seen == k {
				if tt == html.SelfClosingTagToken || isVoid(name) {
					at = offset
				} else {
					depth = 1
				}
			} else if depth > 0 && !isVoid(name) {
				depth++
			}
			seen++
		case html.EndTagToken:
			if depth > 0 {
				if depth--; depth == 0 {
					at = offset
				}
			}
		}
	}
	if seen != total || at < 0 {
		return 0, ErrAmbiguous
	}
	return at, nil
}

func isVoid(name string) bool {
	switch name {
	case "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr":
		return true
	}
	return false
}

// untouched logs why a page was left as it was, once a minute per path and reason.
func (in *Injector) untouched(path string, why error) {
	key := path + "\x00" + why.Error()
	now := time.Now()
	in.mu.Lock()
	last, ok := in.logged[key]
	if ok && now.Sub(last) < time.Minute {
		in.mu.Unlock()
		return
	}
	in.logged[key] = now
	in.mu.Unlock()
	in.log.Warn("reset link not added to the app's page; it is served as the app sent it", "event", "inject", "path", path, "reason", why.Error())
}
