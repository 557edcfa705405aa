package tracking

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"resetgate/reset"
	"resetgate/reset/resettest"
)

// app is a small legacy app: a signed-in session is the cookie "session" whose value names
// the account; it rewrites the cookie (a new value, same account) on /rotate, and a failed
// sign-in sets a fresh cookie holding only a flash message, as Flask does.
func app(t *testing.T) *httptest.Server {
	var n atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		email := r.FormValue("email")
		if r.FormValue("password") == "pw-"+email {
			http.SetCookie(w, &http.Cookie{Name: "session", Value: fmt.Sprintf("user=%s.%d", email, n.Add(1)), Path: "/", HttpOnly: true})
		} else {
			http.SetCookie(w, &http.Cookie{Name: "session", Value: fmt.Sprintf("flash.%d", n.Add(1)), Path: "/"})
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	// /login-kept signs the browser in under the session id it already has, as a PHP app
	// without session_regenerate_id does: no Set-Cookie at all.
	mux.HandleFunc("POST /login-kept", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /rotate", func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie("session"); err == nil {
			http.SetCookie(w, &http.Cookie{Name: "session", Value: c.Value + "r", Path: "/"})
		}
	})
	mux.HandleFunc("GET /whoami", func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie("session")
		if err != nil {
			io.WriteString(w, "anonymous;"+r.Header.Get("Cookie"))
			return
		}
		io.WriteString(w, c.Value+";"+r.Header.Get("Cookie"))
	})
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		sum := sha256.Sum256(b)
		io.WriteString(w, hex.EncodeToString(sum[:]))
	})
	mux.HandleFunc("GET /stream", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "first\n")
		http.NewResponseController(w).Flush()
		<-r.Context().Done()
	})
	s := httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

type fixture struct {
	tr    *Tracker
	store *resettest.MemStore
	front *httptest.Server
	t     *testing.T
}

func newFixture(t *testing.T, o Options) *fixture {
	t.Helper()
	backend := app(t)
	u, _ := url.Parse(backend.URL)
	store := resettest.NewMemStore()
	users := resettest.NewUsers(
		reset.User{ID: "1", Email: "alice@example.com", PasswordHash: "x"},
		reset.User{ID: "2", Email: "bob@example.com", PasswordHash: "x"},
	)
	o.LoginPath, o.Cookies, o.Secret, o.Users, o.Store = "/login", []string{"session"}, bytes.Repeat([]byte("k"), 32), users, store
	tr, err := New(o)
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	rp := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(u) }, FlushInterval: -1}
	front := httptest.NewServer(tr.Wrap(rp))
	t.Cleanup(front.Close)
	return &fixture{tr: tr, store: store, front: front, t: t}
}

// settle runs the worker's queued bindings and reads the revoked feed, as Run would.
func (f *fixture) settle() {
	f.t.Helper()
	for {
		select {
		case j := <-f.tr.jobs:
			f.tr.process(f.t.Context(), []job{j})
			continue
		default:
		}
		break
	}
	if err := f.tr.Poll(f.t.Context()); err != nil {
		f.t.Fatalf("Poll() = %v", err)
	}
}

// do sends a request with the given cookie value (none if "") and returns the response.
func (f *fixture) do(method, path, cookie string, body io.Reader, contentType string) *http.Response {
	f.t.Helper()
	req, _ := http.NewRequest(method, f.front.URL+path, body)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if cookie != "" {
		req.Header.Set("Cookie", "theme=dark; session="+cookie+"; lang=en")
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		f.t.Fatalf("%s %s: %v", method, path, err)
	}
	f.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func (f *fixture) login(email, password string) string {
	f.t.Helper()
	form := url.Values{"email": {email}, "password": {password}}.Encode()
	resp := f.do("POST", "/login", "", strings.NewReader(form), "application/x-www-form-urlencoded")
	return sessionCookie(f.t, resp)
}

func sessionCookie(t *testing.T, resp *http.Response) string {
	t.Helper()
	for _, c := range resp.Cookies() {
		if c.Name == "session" && c.MaxAge >= 0 {
			return c.Value
		}
	}
	t.Fatalf("%s %s set no session cookie; Set-Cookie %q", resp.Request.Method, resp.Request.URL.Path, resp.Header["Set-Cookie"])
	return ""
}

func (f *fixture) whoami(cookie string) (string, *http.Response) {
	f.t.Helper()
	resp := f.do("GET", "/whoami", cookie, nil, "")
	b, _ := io.ReadAll(resp.Body)
	return string(b), resp
}

func (f *fixture) revoke(user string) int {
	f.t.Helper()
	now := time.Now()
	n, err := f.store.RevokeSessions(f.t.Context(), user, now, now.Add(time.Hour))
	if err != nil {
		f.t.Fatalf("RevokeSessions(%q) = %v", user, err)
	}
	f.settle()
	return n
}

func TestSignInBindsAndResetRefuses(t *testing.T) {
	f := newFixture(t, Options{})
	a := f.login("Alice@Example.com ", "pw-Alice@Example.com ")
	f.settle()
	users, err := f.store.SessionUsers(t.Context(), f.tr.key("session", a), time.Now())
	if err != nil || len(users) != 1 || users[0] != "1" {
		t.Fatalf("SessionUsers(alice's cookie) = %q, %v, want [1]", users, err)
	}
	if got, _ := f.whoami(a); !strings.HasPrefix(got, "user=") {
		t.Fatalf("GET /whoami before the reset = %q, want alice's session", got)
	}
	if n := f.revoke("1"); n != 1 {
		t.Fatalf("RevokeSessions(alice) = %d, want 1", n)
	}
	got, resp := f.whoami(a)
	if got != "anonymous;theme=dark; lang=en" {
		t.Errorf("GET /whoami with the revoked cookie reached the app as %q, want no session and the other cookies as sent", got)
	}
	var dropped bool
	for _, c := range resp.Cookies() {
		if c.Name == "session" && c.MaxAge < 0 && c.Path == "/" {
			dropped = true
		}
	}
	if !dropped {
		t.Errorf("Set-Cookie after a revoked cookie = %q, want session dropped with Max-Age=0 on Path=/", resp.Header["Set-Cookie"])
	}
	// Signing in again with the new password works as before.
	again := f.login("alice@example.com", "pw-alice@example.com")
	f.settle()
	if got, _ := f.whoami(again); !strings.HasPrefix(got, "user=") {
		t.Errorf("GET /whoami after signing in again = %q, want a session", got)
	}
}

func TestRotationInherits(t *testing.T) {
	f := newFixture(t, Options{})
	a := f.login("alice@example.com", "pw-alice@example.com")
	// Rotate twice before the worker runs: the chain must still hold.
	r1 := sessionCookie(t, f.do("GET", "/rotate", a, nil, ""))
	r2 := sessionCookie(t, f.do("GET", "/rotate", r1, nil, ""))
	f.settle()
	if n := f.revoke("1"); n != 3 {
		t.Errorf("RevokeSessions(alice) = %d, want 3 (the sign-in's cookie and two rotations)", n)
	}
	for _, c := range []string{a, r1, r2} {
		if got, _ := f.whoami(c); !strings.HasPrefix(got, "anonymous") {
			t.Errorf("GET /whoami with %q after the reset = %q, want anonymous", c, got)
		}
	}
}

func TestFailedSignInForVictimRevokesOnlyItself(t *testing.T) {
	f := newFixture(t, Options{})
	victim := f.login("alice@example.com", "pw-alice@example.com")
	attacker := f.login("bob@example.com", "pw-bob@example.com")
	f.settle()
	// Bob, signed in, submits the sign-in form with Alice's address and a wrong password.
	form := url.Values{"email": {"alice@example.com"}, "password": {"guess"}}.Encode()
	failed := sessionCookie(t, f.do("POST", "/login", attacker, strings.NewReader(form), "application/x-www-form-urlencoded"))
	f.settle()
	// Alice's reset ends her session and the failed attempt's cookie, nothing of Bob's.
	if n := f.revoke("1"); n != 2 {
		t.Errorf("RevokeSessions(alice) = %d, want 2 (her session and the failed attempt's cookie)", n)
	}
	if got, _ := f.whoami(attacker); !strings.HasPrefix(got, "user=bob") {
		t.Errorf("Bob's own session after Alice's reset = %q, want it open", got)
	}
	// And the failed attempt's cookie stays bound to Bob too: his reset would end it.
	if n := f.revoke("2"); n != 1 {
		t.Errorf("RevokeSessions(bob) = %d, want 1 (his session; the failed cookie was already revoked)", n)
	}
	_ = victim
	_ = failed
}

func TestUnknownAddressIsBoundToAPseudonym(t *testing.T) {
	var bound atomic.Int64
	f := newFixture(t, Options{Observe: func(e Event) {
		if e == EventBound {
			bound.Add(1)
		}
	}})
	f.login("alice@example.com", "wrong")
	f.settle()
	f.login("nobody@example.com", "wrong")
	f.settle()
	if got := bound.Load(); got != 2 {
		t.Errorf("bindings counted = %d, want 2: one per sign-in, account or not", got)
	}
}

func TestUntrackedRequestsUntouched(t *testing.T) {
	f := newFixture(t, Options{})
	got, resp := f.whoami("")
	if got != "anonymous;" || len(resp.Header["Set-Cookie"]) != 0 {
		t.Errorf("GET /whoami without cookies = %q, Set-Cookie %q, want untouched", got, resp.Header["Set-Cookie"])
	}
	// An unbound session cookie reaches the app as sent.
	if got, _ := f.whoami("user=mallory.9"); got != "user=mallory.9;theme=dark; session=user=mallory.9; lang=en" {
		t.Errorf("GET /whoami with an unbound cookie = %q, want it as sent", got)
	}
}

func TestRotationOfAJustRevokedCookieIsRevokedToo(t *testing.T) {
	f := newFixture(t, Options{})
	a := f.login("alice@example.com", "pw-alice@example.com")
	f.settle()
	// Another replica's reset: in the store, not yet read from the feed here.
	now := time.Now()
	if _, err := f.store.RevokeSessions(t.Context(), "1", now, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	rotated := sessionCookie(t, f.do("GET", "/rotate", a, nil, ""))
	f.settle()
	if !f.tr.Revoked("session", rotated) {
		t.Errorf("the successor of a cookie revoked elsewhere is not refused")
	}
}

func TestBindingInUseIsRenewed(t *testing.T) {
	var clock atomic.Int64
	start := time.Now()
	clock.Store(start.UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	f := newFixture(t, Options{Now: now, MaxAge: time.Hour})
	a := f.login("alice@example.com", "pw-alice@example.com")
	idle := f.login("bob@example.com", "pw-bob@example.com")
	f.settle()
	clock.Store(start.Add(50 * time.Minute).UnixNano())
	f.whoami(a) // alice's cookie is in use; bob's is not
	f.tr.Renew()
	f.settle()
	later := start.Add(70 * time.Minute)
	if users, err := f.store.SessionUsers(t.Context(), f.tr.key("session", a), later); err != nil || len(users) != 1 {
		t.Errorf("binding of a cookie seen 50 minutes in, at 70 minutes = %q, %v, want it renewed", users, err)
	}
	if _, err := f.store.SessionUsers(t.Context(), f.tr.key("session", idle), later); err == nil {
		t.Errorf("binding of a cookie not seen since, at 70 minutes: found, want it expired after the max age")
	}
}

func TestSignInThatKeepsTheCookieBindsIt(t *testing.T) {
	f := newFixture(t, Options{})
	f.tr.o.LoginPath = "/login-kept"
	const anon = "anonymous-session-7"
	form := url.Values{"email": {"alice@example.com"}, "password": {"x"}}.Encode()
	f.do("POST", "/login-kept", anon, strings.NewReader(form), "application/x-www-form-urlencoded")
	f.settle()
	if n := f.revoke("1"); n != 1 {
		t.Errorf("RevokeSessions(alice) = %d, want 1 (the cookie the sign-in kept)", n)
	}
	if !f.tr.Revoked("session", anon) {
		t.Errorf("the kept cookie is not refused after alice's reset")
	}
}
