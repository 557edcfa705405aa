package attack

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// signedCookieApp is a legacy app that keeps its session in a cookie, as Flask does: every
// POST /login sets a fresh "session" cookie, whatever the password (a failed sign-in sets one
// too, holding a flash message), and every request reports which session it saw.
type signedCookieApp struct {
	*httptest.Server
	mu   sync.Mutex
	seen []string // the session cookie of each GET /whoami, "" for none
}

func newSignedCookieApp(t *testing.T) *signedCookieApp {
	a := &signedCookieApp{}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/login":
			http.SetCookie(w, &http.Cookie{Name: "session", Value: rand.Text(), Path: "/", HttpOnly: true})
			http.Redirect(w, r, "/whoami", http.StatusSeeOther)
		case r.URL.Path == "/whoami":
			v := ""
			if c, err := r.Cookie("session"); err == nil {
				v = c.Value
			}
			a.mu.Lock()
			a.seen = append(a.seen, v)
			a.mu.Unlock()
			fmt.Fprintf(w, "session=%q\n", v)
		}
	}))
	t.Cleanup(a.Close)
	return a
}

// last is the session cookie the app saw on its latest GET /whoami.
func (a *signedCookieApp) last() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.seen[len(a.seen)-1]
}

// TestResetEndsSignedCookieSessions: a session kept in a signed cookie outlived every reset
// (Flask, Rails and Express apps behind any reset tool), so a thief who held the victim's
// session kept it after the victim reset the password. With session tracking, every cookie
// bound to the account at sign-in is refused after the reset: the app sees a signed-out
// visitor and the browser is told to drop it. A cookie set in answer to a sign-in that named
// the victim's address (the attacker's failed try) revokes nothing but itself, and another
// account's session stays. RQ-RST-08.
func TestResetEndsSignedCookieSessions(t *testing.T) {
	app := newSignedCookieApp(t)
	w := newWorld(t, setup{conf: map[string]any{"upstream": app.URL,
		"app.login_path": "/login", "app.session_cookies": []string{"session"}}})
	bound := func() int {
		m := regexp.MustCompile(`resetgate_session_events_total\{event="session_bound"\} (\d+)`).FindStringSubmatch(w.metrics())
		if m == nil {
			t.Fatal("no session_bound counter in /metrics")
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}
	signIn := func(c *client, email string) string {
		t.Helper()
		before := bound()
		c.post("/login", "email="+email+"&password=whatever")
		c.get("/whoami")
		for deadline := time.Now().Add(10 * time.Second); bound() == before; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("the sign-in of %s was not bound within 10 s", email)
			}
		}
		return app.last()
	}
	victim, thief, bystander := w.browser(), w.browser(), w.browser()
	victimSession := signIn(victim, "alice%40example.com")
	thiefSession := signIn(thief, "ALICE%40example.com") // a failed try naming the victim
	bobSession := signIn(bystander, "bob%40example.com")

	for _, c := range []struct {
		who     *client
		session string
	}{{victim, victimSession}, {thief, thiefSession}, {bystander, bobSession}} {
		if c.who.get("/whoami"); app.last() != c.session {
			t.Fatalf("before any reset the app saw session %q, want %q", app.last(), c.session)
		}
	}

	tok := w.requestLink("alice@example.com", aliceEmail)
	b := w.browser()
	b.openLink(tok)
	b.setPassword(goodPassword).expect(t, http.StatusSeeOther, "/pwreset/done")

	for _, c := range []struct {
		name string
		who  *client
	}{{"the victim's session", victim}, {"the session of the sign-in that named the victim", thief}} {
		r := c.who.get("/whoami")
		if got := app.last(); got != "" {
			t.Errorf("after the reset, %s still reached the app as %q", c.name, got)
		}
		if sc := strings.Join(r.Header.Values("Set-Cookie"), "\n"); !strings.Contains(sc, "session=") || !strings.Contains(sc, "Max-Age=0") {
			t.Errorf("after the reset, the answer to %s does not tell the browser to drop it: Set-Cookie %q", c.name, sc)
		}
	}
	if bystander.get("/whoami"); app.last() != bobSession {
		t.Errorf("Alice's reset ended Bob's session: the app saw %q, want %q", app.last(), bobSession)
	}
}
