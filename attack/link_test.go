package attack

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"resetgate/internal/cookiepeek"
)

var urlRe = regexp.MustCompile(`(?i)\b(?:https?:)?//[^\s"'<>)\]]+`)

// RQ-LNK-01, RQ-LNK-02: every link in the reset mail is built from public_url (https), whatever
// the request said about the host: Host, X-Forwarded-Host, Forwarded, X-Host, or an
// absolute-form request target sent over raw TCP. Incident: password-reset poisoning (the
// Host header decided the link's host, so the victim's token went to the attacker's server;
// WSTG-INPV-17, many CVEs in Django/Rails/Symfony apps before they pinned ALLOWED_HOSTS).
func TestLinkHostComesFromConfigOnly(t *testing.T) {
	t.Parallel()
	w := newWorld(t, setup{})
	poison := []struct {
		name string
		hdr  []string
		raw  string // an absolute-form request target, sent over raw TCP
	}{
		{name: "Host", hdr: []string{"Host", "evil.example"}},
		{name: "Host with port", hdr: []string{"Host", "app.example:6666"}},
		{name: "X-Forwarded-Host", hdr: []string{"X-Forwarded-Host", "evil.example", "X-Forwarded-Proto", "http"}},
		{name: "Forwarded", hdr: []string{"Forwarded", "for=203.0.113.1;host=evil.example;proto=http"}},
		{name: "X-Host and friends", hdr: []string{"X-Host", "evil.example", "X-Original-Host", "evil.example", "X-Forwarded-Server", "evil.example"}},
		{name: "absolute-form target", raw: "http://evil.example/pwreset"},
		{name: "absolute-form target, https", raw: "https://evil.example:8443/pwreset"},
	}
	for i, p := range poison {
		before := len(w.mails())
		form := "email=alice%40example.com"
		if p.raw != "" {
			resp := rawRequest(t, w.base, fmt.Sprintf("POST %s HTTP/1.1\r\nHost: evil.example\r\nContent-Type: application/x-www-form-urlencoded\r\n"+
				"Sec-Fetch-Site: same-origin\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", p.raw, len(form), form))
			if !strings.HasPrefix(resp, "HTTP/1.1 303") || strings.Contains(resp, "evil.example") {
				t.Fatalf("%s: answer %q, want a 303 that does not name evil.example", p.name, firstLine(resp))
			}
		} else {
			w.browser().post("/pwreset", form, p.hdr...).expect(t, http.StatusSeeOther, "/pwreset/sent")
		}
		msgs := w.waitMails(before + 1)
		m := msgs[len(msgs)-1]
		checkOneRecipient(t, m, aliceEmail)
		links := urlRe.FindAllString(m.Text+"\n"+m.HTML, -1)
		if len(links) == 0 {
			t.Fatalf("%s: the mail has no link", p.name)
		}
		for _, l := range links {
			u, err := url.Parse(l)
			if err != nil || u.Scheme != "https" || u.Host != "app.example" {
				t.Errorf("%s (#%d): the mail links to %s, want only https://app.example/…", p.name, i, l)
			}
		}
		for k, vs := range m.Headers {
			for _, v := range vs {
				if strings.Contains(v, "evil.example") {
					t.Errorf("%s: mail header %s: %s names the attacker's host", p.name, k, v)
				}
			}
		}
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\r\n")
	return line
}

// RQ-LNK-01: serve refuses to start without public_url, or with one that is not a plain
// http(s) origin, so there is never a request-derived fallback. Incident: frameworks that fell
// back to the request's Host when no canonical URL was configured.
func TestServeRefusesWithoutPublicURL(t *testing.T) {
	t.Parallel()
	w := newWorld(t, setup{noStart: true})
	for _, v := range []any{nil, "", "app.example", "//app.example", "javascript:alert(1)", "https://app.example/?next=x", "https://user:pw@app.example"} {
		w.conf["public_url"] = v
		out := w.mustRefuseToStart()
		if !strings.Contains(out, "public_url") {
			t.Errorf("public_url = %v: refusal does not name the key:\n%s", v, out)
		}
	}
}

// RQ-LNK-02: a public_url that is not https makes serve warn loudly (links and cookies would
// travel in clear text); links follow public_url's scheme, never the request's.
func TestPlainHTTPPublicURLWarns(t *testing.T) {
	t.Parallel()
	w := newWorld(t, setup{conf: map[string]any{"public_url": "http://app.example"}})
	warned := false
	for _, l := range w.logs("") {
		if l["level"] == "WARN" && strings.Contains(l.str("msg"), "https") && strings.Contains(l.str("msg"), "public_url") {
			warned = true
		}
	}
	if !warned {
		t.Errorf("no warning about a plain-http public_url in the log:\n%s", w.logText())
	}

	w2 := newWorld(t, setup{})
	for _, l := range w2.logs("") {
		if l["level"] == "WARN" && strings.Contains(l.str("msg"), "public_url") {
			t.Errorf("an https public_url is warned about: %v", l)
		}
	}
}

// RQ-LNK-06: between opening the link and setting the password, the token rides in the session
// cookie only encrypted. Whoever reads the cookie (a browser profile on a shared computer, a
// proxy or log that records Cookie headers, an extension) must not find the token in it, in
// any encoding a signed-only cookie uses: base64 of the value, its "|"-separated parts, their
// base64 (a gorilla cookie store given no encryption key holds the token exactly so).
// Incident: CWE-315, cleartext storage of sensitive data in a cookie.
func TestSessionCookieDoesNotRevealTheToken(t *testing.T) {
	t.Parallel()
	w := newWorld(t, setup{})
	tok := w.requestLink("alice@example.com", aliceEmail)
	b := w.browser()
	var cookies []string
	for _, r := range []*response{
		b.get("/pwreset/"+tok).expect(t, http.StatusSeeOther, "/pwreset/new"),
		b.get("/pwreset/new"),
		b.setPassword("short"), // refused: the form comes back, the token stays in the session
	} {
		for _, c := range r.Cookies() {
			cookies = append(cookies, c.Value)
		}
	}
	if len(cookies) == 0 {
		t.Fatalf("opening the link set no cookie: where is the token kept?")
	}
	for _, c := range cookies {
		if cookiepeek.Reveals(c, tok) {
			t.Errorf("the token can be read in the session cookie %q once decoded (it is signed but not encrypted)", c)
		}
	}
	b.setPassword(goodPassword).expect(t, http.StatusSeeOther, "/pwreset/done")
}
