package attack

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"resetgate/internal/cookiepeek"
)

// RQ-RST-02: a page on another site cannot submit resetgate's forms with the victim's cookies:
// cross-site, same-site (a sibling subdomain) and foreign-Origin posts get 403, change nothing
// and send nothing. Incident: CSRF on reset forms (WSTG-ATHN-09; e.g. a forged POST that sets
// the password of a victim who just opened their link).
func TestCrossSiteFormsRefused(t *testing.T) {
	t.Parallel()
	w := newWorld(t, setup{})
	tok := w.requestLink("alice@example.com", aliceEmail)
	victim := w.browser()
	victim.openLink(tok)
	hash0 := w.hash(aliceID)
	form := "password=" + url.QueryEscape(goodPassword) + "&password2=" + url.QueryEscape(goodPassword)
	forged := [][]string{
		{"Sec-Fetch-Site", "cross-site"},
		{"Sec-Fetch-Site", "same-site"},
		{"Origin", "https://evil.example"},
		{"Origin", "https://app.example.evil.example"},
		{"Origin", "null"},
		{"Origin", "http://app.example"}, // the public origin's http twin (a MITM'd page)
	}
	for _, hdr := range forged {
		h := append([]string{"Content-Type", "application/x-www-form-urlencoded"}, hdr...)
		if r := victim.do(http.MethodPost, "/pwreset/new", strings.NewReader(form), h...); r.StatusCode != http.StatusForbidden {
			t.Errorf("POST /pwreset/new with %v = %d, want 403", hdr, r.StatusCode)
		}
		if r := victim.do(http.MethodPost, "/pwreset", strings.NewReader("email=bob%40example.com"), h...); r.StatusCode != http.StatusForbidden {
			t.Errorf("POST /pwreset with %v = %d, want 403", hdr, r.StatusCode)
		}
	}
	if w.hash(aliceID) != hash0 {
		t.Fatalf("a cross-site post changed the password")
	}
	w.drain()
	for _, m := range w.mails() {
		if recipients(m)[0] == bobEmail {
			t.Errorf("a cross-site post sent a reset mail to %s", bobEmail)
		}
	}
	victim.setPassword(goodPassword).expect(t, http.StatusSeeOther, "/pwreset/done") // the link survived
}

// RQ-HDR-03: the reset pages answer only GET, HEAD and POST; anything else is 405 with Allow,
// and never reaches the app. Incidents: TRACE-based cross-site tracing, and method-override
// tricks that let PUT/DELETE reach routes guarded only for POST.
func TestOnlyGetHeadPost(t *testing.T) {
	t.Parallel()
	w := newWorld(t, setup{})
	tok := w.requestLink("alice@example.com", aliceEmail)
	c := w.browser()
	paths := []string{"/pwreset", "/pwreset/new", "/pwreset/sent", "/pwreset/done", "/pwreset/invalid", "/pwreset/" + tok, "/pwreset/static/style.css"}
	for _, p := range paths {
		for _, m := range []string{"PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "PROPFIND", "FOO"} {
			r := c.do(m, p, strings.NewReader("email=alice%40example.com"), "Content-Type", "application/x-www-form-urlencoded")
			if r.StatusCode != http.StatusMethodNotAllowed {
				t.Errorf("%s %s = %d, want 405", m, redact(p, tok), r.StatusCode)
				continue
			}
			for _, a := range strings.Split(r.Header.Get("Allow"), ",") {
				if a = strings.TrimSpace(a); a != "GET" && a != "HEAD" && a != "POST" {
					t.Errorf("%s %s: Allow = %q", m, redact(p, tok), r.Header.Get("Allow"))
				}
			}
		}
	}
	for _, p := range []string{"/pwreset/sent", "/pwreset/done", "/pwreset/invalid", "/pwreset/" + tok} {
		if r := c.post(p, "email=alice%40example.com"); r.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("POST %s = %d, want 405", redact(p, tok), r.StatusCode)
		}
	}
	if n := len(w.up.requests()); n != 0 {
		t.Errorf("the app received %d request(s):\n%s", n, w.up.dump())
	}
	w.browser().openLink(tok) // nothing above consumed the link
}

func redact(s, tok string) string { return strings.ReplaceAll(s, tok, "{token}") }

var (
	attrRe = regexp.MustCompile(`(?i)\b(src|href|action|formaction|srcset|poster|data)\s*=\s*["']?([^"'\s>]*)`)
	tagRe  = regexp.MustCompile(`(?is)<(input|textarea|select)\b[^>]*>`)
)

// RQ-HDR-02, RQ-LNK-03, RQ-LNK-05: every response under the prefix — pages, redirects, errors,
// refusals, static files — sends no-referrer, nosniff, a CSP with frame-ancestors 'none',
// HSTS (public_url is https), a charset, and no-store for everything but fingerprinted
// static files; and the pages load nothing from another origin. Incidents: reset tokens
// leaked to third parties through the Referer of analytics scripts and images on the reset
// page (WSTG-ATHN-09 "Is the link exposed to third parties?"), clickjacked reset forms, and
// reset pages kept in shared caches.
func TestSecurityHeadersEverywhere(t *testing.T) {
	t.Parallel()
	w := newWorld(t, setup{})
	tok := w.requestLink("alice@example.com", aliceEmail)
	b := w.browser()
	var rs []*response
	add := func(r *response) { rs = append(rs, r) }
	add(b.get("/pwreset"))
	add(b.post("/pwreset", "email=nobody%40example.com"))
	add(b.post("/pwreset", "email=not-an-address"))
	add(b.get("/pwreset/sent"))
	add(b.get("/pwreset/" + tok))
	add(b.get("/pwreset/new"))
	add(b.post("/pwreset/new", "password=short&password2=short"))
	add(b.post("/pwreset/new", "password="+strings.Repeat("x", 70<<10)))
	add(b.get("/pwreset/invalid"))
	add(b.get("/pwreset/done"))
	add(b.get("/pwreset/" + strings.Repeat("A", 43)))
	add(b.get("/pwreset/nothing/here"))
	add(b.get("/PWRESET/" + tok))
	add(b.do("PUT", "/pwreset", nil))
	add(b.do(http.MethodPost, "/pwreset", strings.NewReader("email=x%40example.com"), "Content-Type", "application/x-www-form-urlencoded", "Sec-Fetch-Site", "cross-site"))
	add(b.get("/pwreset/static/style.css"))
	add(b.do(http.MethodHead, "/pwreset", nil))

	for _, r := range rs {
		what := r.Request.Method + " " + redact(r.Request.URL.Path, tok) + " → " + strconv.Itoa(r.StatusCode)
		h := r.Header
		if h.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("%s: Referrer-Policy = %q", what, h.Get("Referrer-Policy"))
		}
		if h.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: X-Frame-Options = %q", what, h.Get("X-Frame-Options"))
		}
		if h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: X-Content-Type-Options = %q", what, h.Get("X-Content-Type-Options"))
		}
		csp := h.Get("Content-Security-Policy")
		if !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "http") || strings.Contains(csp, "*") {
			t.Errorf("%s: CSP %q, want frame-ancestors 'none' and no other origin", what, csp)
		}
		if hsts := h.Get("Strict-Transport-Security"); !strings.Contains(hsts, "max-age=") || strings.Contains(hsts, "max-age=0") {
			t.Errorf("%s: Strict-Transport-Security = %q", what, hsts)
		}
		static := strings.Contains(r.Request.URL.Path, "/static/")
		if cc := h.Get("Cache-Control"); !static && !strings.Contains(cc, "no-store") {
			t.Errorf("%s: Cache-Control = %q, want no-store", what, cc)
		}
		if r.body != "" && !strings.Contains(strings.ToLower(h.Get("Content-Type")), "charset=utf-8") {
			t.Errorf("%s: Content-Type %q has no charset", what, h.Get("Content-Type"))
		}
		if strings.HasPrefix(h.Get("Content-Type"), "text/html") {
			for _, m := range attrRe.FindAllStringSubmatch(r.body, -1) {
				if v := m[2]; !strings.HasPrefix(v, "#") && (!strings.HasPrefix(v, "/") || strings.HasPrefix(v, "//")) {
					t.Errorf("%s: the page refers to %s=%q, outside its own origin", what, m[1], v)
				}
			}
		}
	}

	w2 := newWorld(t, setup{conf: map[string]any{"public_url": "http://app.example"}})
	if hsts := w2.browser().get("/pwreset").Header.Get("Strict-Transport-Security"); hsts != "" {
		t.Errorf("HSTS %q sent for a plain-http public_url (it would be ignored, and is a misconfiguration sign)", hsts)
	}
}

// RQ-HDR-01: the session cookie is __Host- prefixed, Secure, HttpOnly, SameSite, Path=/, without
// Domain, short-lived, and named unlike the app's cookies. Incidents: session fixation and
// cookie tossing from sibling subdomains (what __Host- prevents), cookies stolen over http.
func TestSessionCookieAttributes(t *testing.T) {
	t.Parallel()
	w := newWorld(t, setup{})
	tok := w.requestLink("alice@example.com", aliceEmail)
	r := w.browser().get("/pwreset/"+tok).expect(t, http.StatusSeeOther, "/pwreset/new")
	cookies := r.Cookies()
	if len(cookies) != 1 {
		t.Fatalf("opening the link set %d cookies, want 1", len(cookies))
	}
	c := cookies[0]
	raw := r.Header.Get("Set-Cookie")
	if !strings.HasPrefix(c.Name, "__Host-") || !c.Secure || !c.HttpOnly || c.Path != "/" || c.Domain != "" {
		t.Errorf("cookie %s: want __Host- prefix, Secure, HttpOnly, Path=/ and no Domain", raw)
	}
	if c.SameSite != http.SameSiteLaxMode && c.SameSite != http.SameSiteStrictMode {
		t.Errorf("cookie %s: want SameSite=Lax (or Strict)", raw)
	}
	if c.MaxAge <= 0 || c.MaxAge > 24*3600 {
		t.Errorf("cookie %s: Max-Age %d, want a lifetime of at most a day", raw, c.MaxAge)
	}
	for _, app := range []string{"session", "sessionid", "PHPSESSID", "JSESSIONID", "_session_id", "remember_token", "csrftoken"} {
		if strings.EqualFold(strings.TrimPrefix(c.Name, "__Host-"), app) {
			t.Errorf("cookie name %s collides with the common app cookie %s", c.Name, app)
		}
	}
}

// RQ-LNK-04: opening the link (GET or HEAD, any number of times, by mail scanners with no
// cookies or by the user from webmail) consumes nothing and changes nothing; only the POST
// does. Incident: one-time links burnt by Outlook Safe Links / corporate scanners prefetching
// them, and state-changing GETs that an <img> tag can trigger (CSRFCS).
func TestOpeningTheLinkChangesNothing(t *testing.T) {
	t.Parallel()
	w := newWorld(t, setup{conf: map[string]any{"users.after_reset": []string{"INSERT INTO resets (user_id) VALUES (:id)"}}})
	tok := w.requestLink("alice@example.com", aliceEmail)
	hash0 := w.hash(aliceID)
	scanner := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for range 3 {
		for _, m := range []string{http.MethodHead, http.MethodGet} {
			req, _ := http.NewRequest(m, w.base+"/pwreset/"+tok, nil)
			resp, err := scanner.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusSeeOther {
				t.Errorf("%s of the link = %d, want 303", m, resp.StatusCode)
			}
		}
	}
	user := w.browser()
	user.get("/pwreset/"+tok, "Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "navigate").expect(t, http.StatusSeeOther, "/pwreset/new")
	for range 2 {
		if r := user.get("/pwreset/new"); r.StatusCode != http.StatusOK {
			t.Fatalf("GET /pwreset/new = %d, want 200", r.StatusCode)
		}
		user.do(http.MethodHead, "/pwreset/new", nil)
	}
	w.sync()
	if w.hash(aliceID) != hash0 || w.count(`SELECT count(*) FROM resets`) != 0 || len(w.logs("password changed")) != 0 {
		t.Fatalf("GET/HEAD changed state")
	}
	user.setPassword(goodPassword).expect(t, http.StatusSeeOther, "/pwreset/done")
}

// RQ-LNK-06: after the link is opened the token leaves the address bar: the redirect goes to
// a token-free URL, the cookie carries it only encrypted, and no page shows it. Incidents:
// tokens leaked through browser history, proxy logs and Referer (CWE-598; Devise PR #4366,
// Clearance PR #707 moved the token out of the URL for this reason).
func TestTokenLeavesTheURL(t *testing.T) {
	t.Parallel()
	w := newWorld(t, setup{})
	tok := w.requestLink("alice@example.com", aliceEmail)
	b := w.browser()
	r := b.get("/pwreset/"+tok).expect(t, http.StatusSeeOther, "/pwreset/new")
	for _, c := range r.Cookies() {
		if cookiepeek.Reveals(c.Value, tok) {
			t.Errorf("the token is readable in cookie %s once decoded", c.Name)
		}
	}
	if strings.Contains(r.body, tok) {
		t.Errorf("the token is readable in the redirect body")
	}
	for _, p := range []string{"/pwreset/new", "/pwreset/invalid", "/pwreset/sent"} {
		if r := b.get(p); strings.Contains(r.body, tok) || strings.Contains(r.Header.Get("Location"), tok) {
			t.Errorf("GET %s shows the token", p)
		}
	}
	b.setPassword(goodPassword).expect(t, http.StatusSeeOther, "/pwreset/done")
	if r := b.get("/pwreset/done"); strings.Contains(r.body, tok) {
		t.Errorf("the done page shows the token")
	}
}

// RQ-RST-06: after_reset_url may only be a local path or a URL on public_url's origin; every
// open-redirect spelling is refused when serve loads the config, and next/return_to
// parameters are ignored. Incidents: open redirects after login/reset used for phishing
// (URFCS), "//evil" and "/\evil" scheme-relative tricks, "https://app@evil" userinfo tricks.
func TestAfterResetRedirectOnlyLocal(t *testing.T) {
	t.Parallel()
	w := newWorld(t, setup{noStart: true})
	for _, bad := range []string{
		"//evil.example", "///evil.example", `/\evil.example`, `\\evil.example`, "https://evil.example/login",
		"http://app.example/login", "https://app.example.evil.example/", "https://app.example@evil.example/",
		"javascript:alert(1)", "data:text/html,x", "https:evil.example", "/\t/evil.example", "evil.example/login",
	} {
		w.conf["reset.after_reset_url"] = bad
		w.mustRefuseToStart()
	}
	w.conf["reset.after_reset_url"] = "/login"
	w.start()
	tok := w.requestLink("alice@example.com", aliceEmail)
	b := w.browser()
	b.openLink(tok)
	b.post("/pwreset/new?next=https%3A%2F%2Fevil.example&return_to=%2F%2Fevil.example",
		"password="+url.QueryEscape(goodPassword)+"&password2="+url.QueryEscape(goodPassword)+"&next=https%3A%2F%2Fevil.example&return_to=%2F%2Fevil.example&redirect_uri=%2F%2Fevil.example").
		expect(t, http.StatusSeeOther, "/login")
}

// RQ-RST-06: `resetgate check` (the config check operators run before deploying) refuses the
// same open-redirect after_reset_url values that serve refuses.
func TestConfigCheckRefusesOpenRedirect(t *testing.T) {
	t.Parallel()
	w := newWorld(t, setup{noStart: true})
	for _, bad := range []string{"//evil.example", "https://evil.example/login", "javascript:alert(1)"} {
		w.conf["reset.after_reset_url"] = bad
		if out, err := w.run("check", "-offline"); err == nil {
			t.Errorf("resetgate check -offline accepts after_reset_url = %q:\n%s", bad, out)
		}
	}
}

// RQ-HDR-04: errors are generic: with the app's database or the app itself down, the pages say
// what to do and nothing about SQL, addresses, drivers or stacks (the log has the detail).
// Incident: verbose database errors on reset pages that disclosed schema and hosts (ASVS 7.4.1).
func TestErrorsAreGeneric(t *testing.T) {
	t.Parallel()
	w := newWorld(t, setup{})
	tok := w.requestLink("alice@example.com", aliceEmail)
	b := w.browser()
	b.openLink(tok)
	w.dbLink.set(relayDown)
	rs := []*response{b.setPassword(goodPassword), b.get("/pwreset/new"), w.browser().get("/pwreset/" + tok)}
	w.dbLink.set(relayOpen)
	if rs[0].StatusCode != http.StatusServiceUnavailable {
		t.Errorf("completing with the database down = %d, want 503", rs[0].StatusCode)
	}
	w.up.srv.Close() // the legacy app goes away
	rs = append(rs, w.browser().get("/app/login"), w.browser().post("/app/login", "user=x"))
	if rs[len(rs)-1].StatusCode != http.StatusBadGateway && rs[len(rs)-1].StatusCode != http.StatusServiceUnavailable {
		t.Errorf("a request for the app while it is down = %d, want 502 or 503", rs[len(rs)-1].StatusCode)
	}
	_, dbPort, _ := strings.Cut(w.dbLink.addr(), ":")
	_, upPort, _ := strings.Cut(strings.TrimPrefix(w.up.srv.URL, "http://"), ":")
	for _, r := range rs {
		low := strings.ToLower(r.body)
		for _, leak := range []string{"dial", "refused", "127.0.0.1", "postgres", "pgx", "sql", "select ", "update ", "goroutine", "panic", ".go:", dbPort, upPort, "eof", "rgtest_"} {
			if strings.Contains(low, leak) {
				t.Errorf("%s %s → %d: the page says %q", r.Request.Method, redact(r.Request.URL.Path, tok), r.StatusCode, leak)
			}
		}
	}
	if !pythonVerifies(t, "werkzeug", w.hash(aliceID), oldPassword) {
		t.Errorf("the password changed although the database was down")
	}
}

// inputs returns the form fields of a page as name → type (and autocomplete, for passwords).
func inputs(page string) map[string]string {
	out := map[string]string{}
	nameRe := regexp.MustCompile(`\bname="([^"]*)"`)
	typeRe := regexp.MustCompile(`\btype="([^"]*)"`)
	acRe := regexp.MustCompile(`\bautocomplete="([^"]*)"`)
	for _, tag := range tagRe.FindAllString(page, -1) {
		n := nameRe.FindStringSubmatch(tag)
		if n == nil {
			continue
		}
		typ := "text"
		if m := typeRe.FindStringSubmatch(tag); m != nil {
			typ = m[1]
		}
		if m := acRe.FindStringSubmatch(tag); m != nil {
			typ += " autocomplete=" + m[1]
		}
		out[n[1]] = typ
	}
	return out
}

// RQ-RST-01, RQ-PWD-07, RQ-PWD-08: the form asks for the new password twice, in password fields
// that password managers may fill (autocomplete=new-password, no paste blocking), with no
// hint or security-question fields anywhere in the flow; the request form asks for one
// e-mail address and nothing else. Incidents: security questions as a reset bypass (Sarah
// Palin's Yahoo account, 2008), sites blocking paste and so password managers (NCSC/NIST
// "SHALL allow password managers").
func TestFormsAskTwiceAndAllowPasswordManagers(t *testing.T) {
	t.Parallel()
	w := newWorld(t, setup{})
	req := inputs(w.browser().get("/pwreset").body)
	if len(req) != 1 || !strings.HasPrefix(req["email"], "email") {
		t.Errorf("request form fields %v, want only email", req)
	}
	tok := w.requestLink("alice@example.com", aliceEmail)
	b := w.browser()
	b.openLink(tok)
	page := b.get("/pwreset/new").body
	got := inputs(page)
	for _, f := range []string{"password", "password2"} {
		if got[f] != "password autocomplete=new-password" {
			t.Errorf("field %s is %q, want type=password autocomplete=new-password", f, got[f])
		}
	}
	for name, typ := range got {
		if name == "password" || name == "password2" || name == "username" && strings.Contains(typ, "autocomplete=username") {
			continue
		}
		t.Errorf("unexpected field %s (%s) in the new-password form", name, typ)
	}
	low := strings.ToLower(page)
	for _, bad := range []string{"onpaste", "oncopy", "autocomplete=\"off\"", "security question", "hint", "mother's"} {
		if strings.Contains(low, bad) {
			t.Errorf("the new-password page contains %q", bad)
		}
	}
	js := strings.ToLower(w.browser().get("/pwreset/static/form.js").body)
	if strings.Contains(js, "paste") || strings.Contains(js, "preventdefault") {
		t.Errorf("form.js interferes with pasting:\n%s", js)
	}
}

// RQ-HDR-01, RQ-TOK-04: the session cookie that carries a link's token never outlives the
// link: its Max-Age is at most the token's remaining lifetime, so a browser left open (a
// shared computer, a kiosk) holds nothing that a later visitor could use once the link is
// dead. Issue 16, finding 7: the cookie lived 7,200 s while a token lives 3,600 s.
func TestSessionCookieNeverOutlivesTheLink(t *testing.T) {
	t.Parallel()
	for _, ttl := range []time.Duration{10 * time.Minute, time.Hour} {
		w := newWorld(t, setup{conf: map[string]any{"reset.token_ttl": ttl.String()}})
		tok := w.requestLink("alice@example.com", aliceEmail)
		c := w.browser()
		r := c.get("/pwreset/"+tok).expect(t, http.StatusSeeOther, "/pwreset/new")
		for _, ck := range r.Cookies() {
			if ck.MaxAge <= 0 || time.Duration(ck.MaxAge)*time.Second > ttl {
				t.Errorf("token_ttl %s: the session cookie lives %d s, longer than the link", ttl, ck.MaxAge)
			}
		}
	}
}
