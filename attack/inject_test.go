package attack

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The reset link on the app's sign-in page ([inject]). RQ-HTM-01: the rewrite never adds
// script to the app's pages, keeps the app's Content-Security-Policy, and leaves a page it
// cannot parse safely exactly as the app sent it.
func TestInjectedLinkAddsNoScriptAndKeepsThePage(t *testing.T) {
	const login = `<!doctype html><html><head><title>Sign in</title><script src="/app.js"></script></head>
<body><form method="post" action="/login"><input name="email"><input type="password" name="password">
<button>Sign in</button></form><p>Need help? Ask the desk.</p></body></html>`
	const reshaped = `<html><body><table><tr><td><form method=post><input type=password name=pw></td></tr></table>`
	const csp = "default-src 'self'; script-src 'self'"
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", csp)
		switch r.URL.Path {
		case "/login":
			w.Write([]byte(login))
		case "/odd":
			w.Write([]byte(reshaped))
		}
	}))
	t.Cleanup(app.Close)
	w := newWorld(t, setup{conf: map[string]any{"upstream": app.URL, "inject.paths": []string{"/login", "/odd"}}})
	c := w.browser()

	r := c.get("/login")
	const snippet = `<p class="resetgate-forgot"><a href="/pwreset">Forgot your password?</a></p>`
	if !strings.Contains(r.body, snippet) {
		t.Fatalf("GET /login has no reset link:\n%s", r.body)
	}
	if got := strings.Replace(r.body, snippet, "", 1); got != login {
		t.Errorf("the rewrite changed the app's own bytes:\n got: %s\nwant: %s", got, login)
	}
	if strings.Count(r.body, "<script") != strings.Count(login, "<script") {
		t.Errorf("the rewrite added script to the app's page")
	}
	if got := r.Header.Get("Content-Security-Policy"); got != csp {
		t.Errorf("Content-Security-Policy = %q, want the app's %q", got, csp)
	}
	if r := c.get("/odd"); r.body != reshaped {
		t.Errorf("a page the parser reshapes was changed:\n got: %s\nwant: %s", r.body, reshaped)
	}
	w.waitLog("the untouched page's warning", 1, func(l logLine) bool {
		return l.str("event") == "inject" && l.str("path") == "/odd"
	})
}
