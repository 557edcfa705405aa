package tracking

import (
	"net/http"
	"path"
	"strings"
	"time"
)

// carried is a tracked cookie a request brought.
type carried struct {
	name, value, key string
}

// Wrap returns next behind the tracker: func(http.Handler) http.Handler, for main to put
// around the proxy. Requests without a tracked cookie that are not a sign-in pass untouched.
func (t *Tracker) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		login := r.Method == http.MethodPost && t.o.LoginPath != "" && r.URL.Path == t.o.LoginPath
		live, dead := t.cookies(r)
		if !login && live == nil && dead == nil {
			next.ServeHTTP(w, r)
			return
		}
		if dead != nil {
			r = strip(r, dead)
			for range dead {
				t.observe(EventRefused)
			}
		}
		tw := &writer{ResponseWriter: w, t: t, r: r, live: live, dead: dead}
		if login {
			tw.form = t.teeForm(r)
		}
		next.ServeHTTP(tw, r)
		if !tw.wrote {
			// Nothing was written: net/http sends the header after we return, so it can
			// still be read and amended.
			tw.inspect(http.StatusOK)
		}
	})
}

// cookies returns the request's tracked cookies, live and revoked. It parses the Cookie
// header only when a tracked name appears in it.
func (t *Tracker) cookies(r *http.Request) (live, dead []carried) {
	lines := r.Header["Cookie"]
	if len(lines) == 0 {
		return nil, nil
	}
	found := false
	for _, l := range lines {
		for name := range t.tracked {
			if strings.Contains(l, name) {
				found = true
			}
		}
	}
	if !found {
		return nil, nil
	}
	now := t.now()
	for _, c := range r.Cookies() {
		if !t.tracked[c.Name] || c.Value == "" {
			continue
		}
		k := carried{name: c.Name, value: c.Value, key: t.key(c.Name, c.Value)}
		if t.isRevoked(k.key, now) {
			dead = append(dead, k)
		} else {
			live = append(live, k)
			t.markSeen(k.key)
		}
	}
	return live, dead
}

// strip returns r without the revoked cookies, every other cookie byte for byte as sent.
func strip(r *http.Request, dead []carried) *http.Request {
	r2 := new(http.Request)
	*r2 = *r
	r2.Header = r.Header.Clone()
	var kept []string
	for _, l := range r.Header["Cookie"] {
		var parts []string
		for p := range strings.SplitSeq(l, ";") {
			if !isDead(strings.TrimSpace(p), dead) {
				parts = append(parts, strings.TrimSpace(p))
			}
		}
		if len(parts) > 0 {
			kept = append(kept, strings.Join(parts, "; "))
		}
	}
	if len(kept) == 0 {
		r2.Header.Del("Cookie")
	} else {
		r2.Header["Cookie"] = kept
	}
	return r2
}

func isDead(pair string, dead []carried) bool {
	name, value, ok := strings.Cut(pair, "=")
	if !ok {
		return false
	}
	value = strings.Trim(value, `"`)
	for _, d := range dead {
		if d.name == strings.TrimSpace(name) && d.value == value {
			return true
		}
	}
	return false
}

// writer sees the app's response header before it goes out. It forwards everything else,
// and Unwrap lets http.ResponseController reach Flush, Hijack (WebSockets) and deadlines.
type writer struct {
	http.ResponseWriter
	t          *Tracker
	r          *http.Request
	live, dead []carried
	form       *formTee
	wrote      bool
}

func (w *writer) WriteHeader(code int) {
	if !w.wrote && (code >= 200 || code == http.StatusSwitchingProtocols) {
		w.wrote = true
		w.inspect(code)
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *writer) Write(b []byte) (int, error) {
	if !w.wrote {
		w.wrote = true
		w.inspect(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

func (w *writer) Flush() {
	if !w.wrote {
		w.wrote = true
		w.inspect(http.StatusOK)
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// inspect reads the Set-Cookie lines of the response: a tracked cookie set in answer to the
// sign-in is bound to the account the form named (so is a tracked cookie the sign-in request
// carried and the response kept); one that replaces a cookie the request carried inherits
// that cookie's accounts. Revoked cookies the request carried are dropped,
// unless the app sets the same name itself.
func (w *writer) inspect(code int) {
	h := w.Header()
	now := w.t.now()
	set := map[string]bool{}
	for _, line := range h["Set-Cookie"] {
		name, _, ok := strings.Cut(line, "=")
		name = strings.TrimSpace(name)
		if !ok || !w.t.tracked[name] {
			continue
		}
		c, err := http.ParseSetCookie(line)
		if err != nil {
			continue
		}
		set[c.Name] = true
		w.t.learn(c, w.r.URL.Path)
		if c.Value == "" || c.MaxAge < 0 || (!c.Expires.IsZero() && !c.Expires.After(now)) {
			continue // the app deletes it (a sign-out)
		}
		key := w.t.key(c.Name, c.Value)
		var from []string
		for _, l := range w.live {
			if l.key != key {
				from = append(from, l.key)
			}
		}
		if w.form == nil && len(from) == 0 {
			continue // the same value again, or a cookie for a visitor not signed in
		}
		j := job{key: key, from: from, at: now}
		if w.form != nil {
			j.form, j.contentType = w.form.snapshot()
			j.login = true
		}
		w.t.enqueue(j)
	}
	if w.form != nil {
		// An app that keeps the session id across the sign-in (no session_regenerate_id)
		// signs in the cookie the browser already had: bind that one.
		for _, l := range w.live {
			if !set[l.name] {
				j := job{key: l.key, login: true, at: now}
				j.form, j.contentType = w.form.snapshot()
				w.t.enqueue(j)
			}
		}
	}
	for _, d := range w.dead {
		if set[d.name] {
			continue
		}
		a := w.t.attrsOf(d.name)
		drop := &http.Cookie{Name: d.name, Value: "", Path: a.path, Domain: a.domain, Secure: a.secure,
			MaxAge: -1, Expires: time.Unix(0, 0)}
		h.Add("Set-Cookie", drop.String())
		set[d.name] = true
	}
}

// learn remembers where the app sets a cookie, so that a deletion names the same path and
// domain (RFC 6265 §5.3: a cookie is replaced only by one of the same name, domain and path).
func (t *Tracker) learn(c *http.Cookie, reqPath string) {
	a := cookieAttrs{path: c.Path, domain: c.Domain, secure: c.Secure}
	if a.path == "" || a.path[0] != '/' {
		a.path = defaultPath(reqPath)
	}
	if old, ok := t.attrs.Load(c.Name); !ok || old.(cookieAttrs) != a {
		t.attrs.Store(c.Name, a)
	}
}

func (t *Tracker) attrsOf(name string) cookieAttrs {
	if a, ok := t.attrs.Load(name); ok {
		return a.(cookieAttrs)
	}
	return cookieAttrs{path: "/"}
}

// defaultPath is RFC 6265 §5.1.4's default-path of a request path.
func defaultPath(p string) string {
	if p == "" || p[0] != '/' || strings.Count(p, "/") == 1 {
		return "/"
	}
	return path.Dir(p)
}
