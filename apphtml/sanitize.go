package apphtml

import (
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// dropped are the elements removed from a worn page with everything in them: whatever runs
// code, embeds another document, submits or takes input, or changes how the page is read
// (SECURITY.md RQ-HTM-01). The reset page brings its own form.
var dropped = map[atom.Atom]bool{
	atom.Script: true, atom.Noscript: true, atom.Template: true, atom.Iframe: true, atom.Frame: true,
	atom.Frameset: true, atom.Object: true, atom.Embed: true, atom.Applet: true, atom.Form: true,
	atom.Input: true, atom.Button: true, atom.Select: true, atom.Textarea: true, atom.Base: true,
	atom.Audio: true, atom.Video: true, atom.Canvas: true, atom.Dialog: true,
}

// droppedForeign are SVG and MathML elements dropped likewise: script, what can set an
// attribute such as href to a javascript: URL later (SMIL animation), and foreignObject,
// which can hold HTML of any kind.
var droppedForeign = map[string]bool{"script": true, "foreignobject": true, "animate": true, "set": true,
	"animatemotion": true, "animatetransform": true, "handler": true, "listener": true, "portal": true}

// keptMeta are the named <meta> elements kept; the rest (referrer, refresh, …) could
// override what resetgate's headers say.
var keptMeta = map[string]bool{"viewport": true, "theme-color": true, "color-scheme": true, "description": true}

// urlAttrs are the attributes that hold a URL, resolved against the worn page's address so
// that relative URLs keep pointing where they did on the app's page.
var urlAttrs = map[string]bool{"href": true, "src": true, "poster": true, "background": true, "cite": true, "longdesc": true}

// keptRels are the <link> relations a worn page keeps: its styles and icons.
var keptRels = map[string]bool{"stylesheet": true, "icon": true, "shortcut": true, "apple-touch-icon": true, "mask-icon": true}

// Sanitize makes doc, a parsed page of the app served at page, safe to show as a frame for
// resetgate's pages, and returns the CSP style-src sources of the inline <style> elements it
// keeps. What it carries over: the document's structure and text, links (with http, https
// and mailto URLs only), images, the <link> elements for stylesheets and icons, inline
// <style> elements (allowed by their hashes), <meta> charset, viewport, theme-color,
// color-scheme and description, classes, ids, ARIA and other passive attributes. What it
// drops: script, noscript, template, iframe, frame(set), object, embed,
// applet, form and every form control, base, audio, video, canvas and dialog
// elements with their content, and in SVG script, foreignObject and animation elements; every on* event handler, style attribute (the CSP would refuse
// it anyway), srcset, srcdoc, formaction, ping, autofocus and http-equiv attribute; every
// other <meta> (http-equiv refresh, cookies, the app's own CSP; referrer) and every other <link> (preload,
// manifest, …); every URL with another scheme (javascript:, data:, vbscript:, …). Relative
// URLs are made absolute paths, resolved against page and the page's own <base>.
func Sanitize(doc *html.Node, page *url.URL) (styleSources []string) {
	base := *page
	base.Scheme, base.Host, base.User = "", "", nil
	baseURL := &base
	if b := findElement(doc, "base"); b != nil {
		if u, err := url.Parse(attr(b, "href")); err == nil && attr(b, "href") != "" && u.Host == "" && u.Scheme == "" {
			baseURL = baseURL.ResolveReference(u)
		}
	}
	var styles []string
	var clean func(n *html.Node)
	clean = func(n *html.Node) {
		for c := n.FirstChild; c != nil; {
			next := c.NextSibling
			switch {
			case c.Type == html.CommentNode:
				// Conditional comments load scripts in old browsers; nothing else needs them.
				n.RemoveChild(c)
			case c.Type == html.ElementNode && keepElement(c):
				cleanAttrs(c, baseURL)
				if c.DataAtom == atom.Style && c.Namespace == "" {
					styles = append(styles, styleHash(c))
				} else {
					clean(c)
				}
			case c.Type == html.ElementNode:
				n.RemoveChild(c)
			default:
				clean(c)
			}
			c = next
		}
	}
	clean(doc)
	return styles
}

// keepElement says whether n stays (its attributes are cleaned separately).
func keepElement(n *html.Node) bool {
	if dropped[n.DataAtom] || droppedForeign[strings.ToLower(n.Data)] {
		return false
	}
	switch n.DataAtom {
	case atom.Meta:
		return attr(n, "charset") != "" || keptMeta[strings.ToLower(attr(n, "name"))]
	case atom.Link:
		for _, rel := range strings.Fields(strings.ToLower(attr(n, "rel"))) {
			if !keptRels[rel] {
				return false
			}
		}
		return attr(n, "rel") != ""
	}
	return true
}

func cleanAttrs(n *html.Node, base *url.URL) {
	kept := n.Attr[:0]
	for _, a := range n.Attr {
		k := strings.ToLower(a.Key)
		switch {
		case strings.HasPrefix(k, "on"), k == "style", k == "srcset", k == "srcdoc", k == "formaction", k == "ping",
			k == "autofocus", k == "http-equiv", k == "action":
			continue
		case urlAttrs[k] || (a.Namespace == "xlink" && k == "href"):
			u, ok := resolve(a.Val, base)
			if !ok {
				continue
			}
			a.Val = u
		}
		kept = append(kept, a)
	}
	n.Attr = kept
}

// resolve makes ref an absolute path against base (same origin), or keeps an absolute http,
// https or mailto URL as it is; any other scheme is refused.
func resolve(ref string, base *url.URL) (string, bool) {
	ref = strings.TrimSpace(ref)
	if strings.HasPrefix(ref, "#") {
		return ref, true
	}
	u, err := url.Parse(ref)
	if err != nil {
		return "", false
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https", "mailto":
		return ref, true
	case "":
		if u.Host != "" { // //host/path: protocol-relative, another origin
			return ref, true
		}
		return base.ResolveReference(u).String(), true
	}
	return "", false
}

// styleHash is the CSP source that allows the inline <style> element n, whose text the
// renderer writes unchanged (a raw-text element).
func styleHash(n *html.Node) string {
	var text strings.Builder
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.TextNode {
			text.WriteString(c.Data)
		}
	}
	sum := sha256.Sum256([]byte(text.String()))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}
