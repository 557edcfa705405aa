package apphtml

import (
	"bytes"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// FuzzWrap cuts arbitrary pages: it must never panic, and a frame it makes must hold no
// script, event handler or form of the app, whatever the markup.
func FuzzWrap(f *testing.F) {
	for _, name := range []string{"wrap-app.html", "flask-login.html", "broken.html", "noscript-form.html"} {
		if b, err := os.ReadFile(filepath.Join("testdata", name)); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`<main><svg><script>x</script><a xlink:href="javascript:1"/></svg><math href="javascript:2"></math></main>`))
	f.Add([]byte(`<table><main><form><tr><td><script>x</script></table>`))
	u, _ := url.Parse("http://app.internal/account/login")
	w, err := NewWrapper(WrapOptions{URL: u})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, page []byte) {
		fr, err := w.cut(page)
		if err != nil {
			return
		}
		out := bytes.Join([][]byte{fr.beforeTitle, fr.beforeHead, fr.beforeContent, fr.after}, []byte("|"))
		doc, err := html.Parse(bytes.NewReader(out))
		if err != nil {
			t.Fatal(err)
		}
		var bad []string
		var visit func(n *html.Node)
		visit = func(n *html.Node) {
			if n.Type == html.ElementNode {
				if d := strings.ToLower(n.Data); d == "script" || d == "form" || d == "iframe" || d == "input" || d == "object" || d == "embed" {
					bad = append(bad, "<"+d+">")
				}
				for _, a := range n.Attr {
					k, v := strings.ToLower(a.Key), strings.ToLower(strings.TrimSpace(a.Val))
					url := k == "href" || k == "src" || k == "action" || k == "formaction" || k == "data" || k == "poster" || k == "background"
					if strings.HasPrefix(k, "on") || k == "srcdoc" || (url && !strings.HasPrefix(v, "/") && !strings.HasPrefix(v, "#") &&
						!strings.HasPrefix(v, "http:") && !strings.HasPrefix(v, "https:") && !strings.HasPrefix(v, "mailto:")) {
						bad = append(bad, k+"="+a.Val)
					}
				}
			}
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				visit(c)
			}
		}
		visit(doc)
		if len(bad) > 0 {
			t.Fatalf("the frame of %q keeps %q:\n%s", page, bad, out)
		}
	})
}
