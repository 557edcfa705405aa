package attack

import (
	"fmt"
	"maps"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"resetgate/internal/testenv"
)

// fingerprint is what an outsider sees of an answer to "send me a reset link": status, every
// header but Date, and the body.
func fingerprint(r *response) string {
	h := r.Header.Clone()
	h.Del("Date")
	var b strings.Builder
	b.WriteString(r.Status + "\n")
	for _, k := range slices.Sorted(maps.Keys(h)) {
		b.WriteString(k + ": " + strings.Join(h[k], "|") + "\n")
	}
	b.WriteString("\n" + r.body)
	return b.String()
}

// RQ-REQ-01: the answer to a reset request is the same for an existing account, an unknown
// address, accounts whose stored data is odd (disabled, plain-text or unknown hash, duplicated
// address), an address over its silent per-account limit, and while the SMTP server or the
// app's database is down. Incidents: Django CVE-2024-45231 (the reset form answered
// differently when mail could not be sent, revealing which addresses exist) and the many
// "no account with that e-mail" pages behind account enumeration.
func TestRequestAnswerRevealsNothing(t *testing.T) {
	t.Parallel()
	w := newWorld(t, setup{conf: map[string]any{"limits.per_email": "1/hour"}})
	w.addUser("Disabled", "disabled@example.com", "!")
	w.addUser("Plain", "plain@example.com", "hunter2hunter2")
	w.addUser("Unknown hash", "odd@example.com", "{FOO}bar")
	w.addUser("Dup one", "dup@example.com", werkzeugHash)
	w.addUser("Dup two", "DUP@example.com", werkzeugHash)
	w.addUser("Dave", "dave@example.com", werkzeugHash)
	w.addUser("Erin", "erin@example.com", werkzeugHash)

	ask := func(email string) string {
		t.Helper()
		r := w.browser().post("/pwreset", "email="+url.QueryEscape(email))
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("POST /pwreset email=%q = %d, want 303", email, r.StatusCode)
		}
		return fingerprint(r)
	}
	want := ask("nobody@example.com")
	w.browser().post("/pwreset", "email=bob%40example.com") // uses up bob's one request

	cases := []struct {
		name   string
		email  string
		before func()
		after  func()
	}{
		{name: "existing account", email: "alice@example.com"},
		{name: "existing account, other case", email: "ALICE@EXAMPLE.COM"},
		{name: "disabled account", email: "disabled@example.com"},
		{name: "plain-text hash", email: "plain@example.com"},
		{name: "unrecognised hash", email: "odd@example.com"},
		{name: "two accounts share the address", email: "dup@example.com"},
		{name: "over the per-account limit", email: "bob@example.com"},
		{name: "SMTP server down", email: "dave@example.com",
			before: func() { w.smtp.set(relayDown) }, after: func() { w.smtp.set(relayOpen) }},
		{name: "app database down", email: "erin@example.com",
			before: func() { w.dbLink.set(relayDown) }, after: func() { w.dbLink.set(relayOpen) }},
	}
	for _, c := range cases {
		if c.before != nil {
			c.before()
		}
		got := ask(c.email)
		if c.after != nil {
			c.after()
		}
		if got != want {
			t.Errorf("%s: the answer differs from an unknown address's:\n--- unknown\n%s\n--- %s\n%s", c.name, want, c.email, got)
		}
	}
}

// RQ-REQ-02: the request path only queues: it neither looks the account up nor sends mail, so
// its cost cannot depend on the account. With the app's database and the SMTP server frozen
// (connections accepted, not a byte answered) the form must still be answered at once for
// known and unknown addresses; an implementation that looks up or mails in the request would
// hang until its database timeout. Incident: the timing side channel of OWASP FPCS and ASVS5
// 6.3.8, measured for real in the bench suite; here it is proven structurally.
func TestRequestPathDoesNoLookupAndSendsNoMail(t *testing.T) {
	t.Parallel()
	w := newWorld(t, setup{conf: map[string]any{"mail.smtp.timeout": "60s"}})
	w.dbLink.set(relayFrozen)
	w.smtp.set(relayFrozen)
	c := w.browser()
	for _, email := range []string{"alice@example.com", "nobody@example.com"} {
		r, err := c.try(http.MethodPost, "/pwreset", strings.NewReader("email="+url.QueryEscape(email)),
			"Content-Type", "application/x-www-form-urlencoded", "Sec-Fetch-Site", "same-origin")
		if err != nil {
			t.Fatalf("POST /pwreset email=%s with the database and SMTP frozen: %v (the request path waits for them)", email, err)
		}
		r.expect(t, http.StatusSeeOther, "/pwreset/sent")
	}
	w.sync()
	// Both answers came while the database was frozen. A lookup in the request path could
	// only have ended by failing (sqldb's query timeout), and a failed call is logged before
	// the answer; the worker's own lookup of the queued job is still waiting on the frozen
	// database. So no warning or error may come before the two answers' access records.
	answers := 0
	for _, l := range w.logs("") {
		if l.str("msg") == "request" && l.str("method") == http.MethodPost && l.str("path") == "/pwreset" {
			if answers++; answers == 2 {
				break
			}
			continue
		}
		if lvl := l.str("level"); lvl == "WARN" || lvl == "ERROR" {
			t.Errorf("before the answers, resetgate logged %s %q: the request path waited for a frozen dependency", lvl, l.str("msg"))
		}
	}
	if answers != 2 {
		t.Fatalf("found %d access records of the two POSTs, want 2", answers)
	}
	if n := len(w.logs("reset link sent")); n != 0 {
		t.Fatalf("a link was sent while the database was frozen")
	}
	w.dbLink.set(relayOpen)
	w.smtp.set(relayOpen)
	w.drain()
	msgs := w.mails()
	if len(msgs) != 1 || recipients(msgs[0])[0] != aliceEmail {
		t.Fatalf("after the dependencies came back: %d message(s), want 1 to %s", len(msgs), aliceEmail)
	}
}

// RQ-REQ-03 (per account): a flood of requests for one address mails it at most per_email
// times, and the answers stay identical (the limit is silent, so it reveals nothing).
// Incident: reset-mail bombing of a victim's inbox (FPCS "flooding the user's intake").
func TestRequestsPerAccountLimitedSilently(t *testing.T) {
	t.Parallel()
	w := newWorld(t, setup{conf: map[string]any{"limits.per_email": "2/hour"}})
	var first string
	for i := range 5 {
		r := w.browser().post("/pwreset", "email=alice%40example.com").expect(t, http.StatusSeeOther, "/pwreset/sent")
		if i == 0 {
			first = fingerprint(r)
		} else if fingerprint(r) != first {
			t.Errorf("request %d over the per-account limit answers differently:\n%s\nvs\n%s", i+1, fingerprint(r), first)
		}
	}
	w.drain()
	if n := len(w.mails()); n != 2 {
		t.Errorf("5 requests for one address sent %d mails, want 2 (per_email = 2/hour)", n)
	}
}

// RQ-REQ-03 (per client IP): the (n+1)th request from one client gets 429 with Retry-After
// and a page that says why, and forging X-Forwarded-For (no trusted proxy configured) does
// not reset the count. Incident: rate limits bypassed by rotating X-Forwarded-For, as in
// countless bug-bounty reports against login and reset endpoints.
func TestRequestsPerIPLimited(t *testing.T) {
	t.Parallel()
	w := newWorld(t, setup{conf: map[string]any{"limits.per_ip": "3/hour"}})
	c := w.browser()
	for i := range 3 {
		c.post("/pwreset", "email=nobody"+string(rune('a'+i))+"%40example.com", "X-Forwarded-For", "198.51.100."+string(rune('1'+i))).
			expect(t, http.StatusSeeOther, "/pwreset/sent")
	}
	r := c.post("/pwreset", "email=alice%40example.com", "X-Forwarded-For", "203.0.113.77", "X-Real-IP", "203.0.113.78")
	if r.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("4th request with a forged X-Forwarded-For = %d, want 429", r.StatusCode)
	}
	if ra := r.Header.Get("Retry-After"); ra == "" || ra == "0" || strings.ContainsAny(ra, " .-") {
		t.Errorf("Retry-After = %q, want a positive number of seconds", ra)
	}
	if !strings.Contains(strings.ToLower(r.body), "too many") {
		t.Errorf("the 429 page does not say what happened:\n%s", r.body)
	}
	w.drain()
	for _, m := range w.mails() {
		if recipients(m)[0] == aliceEmail {
			t.Errorf("the refused request still mailed %s", aliceEmail)
		}
	}
}

// RQ-REQ-04: asking for a link changes nothing about the account: not the hash, not the
// address, not its sessions (no lockout, no logout). Incident: reset flows that disabled the
// current password on request, letting anyone lock anyone out (FPCS).
func TestRequestChangesNoAccountState(t *testing.T) {
	t.Parallel()
	w := newWorld(t, setup{})
	w.mustExec(`INSERT INTO sessions (user_id) VALUES (1)`)
	email0, hash0 := w.user(aliceID)
	for range 3 {
		w.browser().post("/pwreset", "email=alice%40example.com").expect(t, http.StatusSeeOther, "/pwreset/sent")
	}
	w.drain()
	if email, hash := w.user(aliceID); email != email0 || hash != hash0 {
		t.Errorf("account row changed by reset requests: %q %q → %q %q", email0, hash0, email, hash)
	}
	if n := w.count(`SELECT count(*) FROM sessions WHERE user_id = 1`); n != 1 {
		t.Errorf("the account's sessions changed: %d, want 1", n)
	}
	if !pythonVerifies(t, "werkzeug", w.hash(aliceID), oldPassword) {
		t.Errorf("the old password no longer verifies after mere requests")
	}
}

// attackForms are request bodies that try to get a second recipient, a header or a different
// account into the mail. Every one must be refused with 400 and queue nothing.
var attackForms = []struct {
	name, query, contentType, body string
}{
	{name: "repeated field (HTTP parameter pollution)", body: "email=alice%40example.com&email=attacker%40evil.example"},
	{name: "PHP/Rails array (GitLab CVE-2023-7028)", body: "email[]=alice%40example.com&email[]=attacker%40evil.example"},
	{name: "nested array (GitLab CVE-2023-7028)", body: "user[email][]=alice%40example.com&user[email][]=attacker%40evil.example"},
	{name: "indexed array", body: "email[0]=alice%40example.com&email[1]=attacker%40evil.example"},
	{name: "field in query and body", query: "?email=attacker%40evil.example", body: "email=alice%40example.com"},
	{name: "field only in the query", query: "?email=alice%40example.com", body: ""},
	{name: "JSON array", contentType: "application/json", body: `{"email":["alice@example.com","attacker@evil.example"]}`},
	{name: "JSON object", contentType: "application/json", body: `{"email":{"address":"alice@example.com"}}`},
	{name: "JSON string", contentType: "application/json", body: `{"email":"alice@example.com"}`},
	{name: "comma list", body: "email=alice%40example.com%2Cattacker%40evil.example"},
	{name: "semicolon list", body: "email=alice%40example.com%3Battacker%40evil.example"},
	{name: "space list", body: "email=alice%40example.com+attacker%40evil.example"},
	{name: "CRLF header injection", body: "email=alice%40example.com%0D%0ABcc%3A+attacker%40evil.example"},
	{name: "LF header injection", body: "email=alice%40example.com%0ACc%3Aattacker%40evil.example"},
	{name: "NUL truncation", body: "email=alice%40example.com%00attacker%40evil.example"},
	{name: "tab", body: "email=alice%40example.com%09"},
	{name: "encoded word", body: "email=%3D%3Futf-8%3Fq%3Falice%3D40example.com%3F%3D%40evil.example"},
	{name: "quoted local part", body: "email=%22alice%40example.com%22%40evil.example"},
	{name: "two at signs", body: "email=alice%40example.com%40evil.example"},
	{name: "display name", body: "email=Alice+%3Cattacker%40evil.example%3E"},
	{name: "angle brackets", body: "email=%3Calice%40example.com%3E"},
	{name: "comment", body: "email=attacker%40evil.example%28alice%40example.com%29"},
	{name: "zero-width space", body: "email=alice%E2%80%8B%40example.com"},
	{name: "bidi override", body: "email=alice%E2%80%AE%40example.com"},
	{name: "invalid UTF-8", body: "email=alice%FF%40example.com"},
	{name: "empty", body: "email="},
	{name: "no field", body: "mail=alice%40example.com"},
	{name: "over 254 bytes", body: "email=" + strings.Repeat("a", 250) + "%40example.com"},
}

func multipartBody() (string, string) {
	var b strings.Builder
	mw := multipart.NewWriter(&b)
	mw.WriteField("email", "alice@example.com")
	mw.WriteField("email", "attacker@evil.example")
	mw.Close()
	return mw.FormDataContentType(), b.String()
}

// RQ-REQ-05, RQ-REQ-06, RQ-HDR-05: no form trick gets a reset mail to anyone but the stored
// address of the one matching account, and every message has exactly one recipient (To,
// Cc and envelope). Incidents: GitLab CVE-2023-7028 (an array of addresses mailed the
// victim's link to the attacker too), HTTP parameter pollution on reset forms, CRLF/Bcc
// header injection into mailers, and Django CVE-2019-19844 / GitHub's dotless-i (the link
// was sent to the submitted spelling instead of the stored address).
func TestMailGoesOnlyToTheStoredAddress(t *testing.T) {
	t.Parallel()
	w := newWorld(t, setup{})
	c := w.browser()
	ct, body := multipartBody()
	forms := append(slices.Clone(attackForms), struct{ name, query, contentType, body string }{"multipart, repeated field", "", ct, body})
	for _, f := range forms {
		if f.contentType == "" {
			f.contentType = "application/x-www-form-urlencoded"
		}
		r := c.do(http.MethodPost, "/pwreset"+f.query, strings.NewReader(f.body), "Content-Type", f.contentType, "Sec-Fetch-Site", "same-origin")
		if r.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: POST /pwreset%s %q = %d, want 400", f.name, f.query, f.body, r.StatusCode)
		}
	}
	w.sync()
	if n := len(w.logs("reset requested")) - len(filterOutcome(w.logs("reset requested"), "malformed")); n != 0 {
		t.Errorf("%d malformed request(s) reached the queue or the limits", n)
	}

	// One legitimate request in an odd spelling: the mail goes to the stored spelling.
	c.post("/pwreset", "email=+aLiCe%40EXAMPLE.com+").expect(t, http.StatusSeeOther, "/pwreset/sent")
	w.drain()
	msgs := w.mails()
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want exactly 1 (the legitimate request)", len(msgs))
	}
	checkOneRecipient(t, msgs[0], aliceEmail)
}

func filterOutcome(ls []logLine, outcome string) []logLine {
	var out []logLine
	for _, l := range ls {
		if l["outcome"] == outcome {
			out = append(out, l)
		}
	}
	return out
}

// checkOneRecipient requires exactly one recipient, want, in To and the envelope, no Cc, no
// Bcc, and no header naming another address.
func checkOneRecipient(t *testing.T, d testenv.Detail, want string) {
	t.Helper()
	if got := recipients(d); len(got) != 1 || got[0] != want {
		t.Errorf("message %q went to %v, want exactly [%s]", d.Subject, got, want)
	}
	for _, h := range []string{"Cc", "Bcc", "Reply-To"} {
		if v := d.Headers[h]; len(v) > 0 {
			t.Errorf("message %q has %s: %v", d.Subject, h, v)
		}
	}
	if to := d.Headers["To"]; len(to) != 1 || !strings.Contains(to[0], want) || strings.Count(to[0], "@") != 1 {
		t.Errorf("To header %v, want one address %s", to, want)
	}
}

// RQ-REQ-05, RQ-REQ-07: Unicode look-alikes of an address match nothing (resetgate folds ASCII
// case only), even in PostgreSQL whose LOWER() maps more than ASCII, and the real address in
// another ASCII case gets the mail at its stored spelling. Incidents: GitHub 2016 (dotless ı
// in "mıke@" matched "mike@" after case mapping and the link went to the attacker's
// spelling), Django CVE-2019-19844 (Unicode case collision), Spotify's non-idempotent
// canonicalisation (ᴮᴵᴳᴮᴵᴿᴰ → BIGBIRD → bigbird).
func TestUnicodeLookAlikesMatchNothing(t *testing.T) {
	t.Parallel()
	w := newWorld(t, setup{})
	w.addUser("Mike", "mike@example.com", werkzeugHash)
	w.addUser("Kim", "kim@example.com", werkzeugHash)
	w.addUser("Fiona", "fiona@example.com", werkzeugHash)
	w.addUser("Bigbird", "bigbird@example.com", werkzeugHash)
	for _, email := range []string{
		"mıke@example.com",     // dotless i (GitHub)
		"MİKE@EXAMPLE.COM",     // dotted capital I (Turkish)
		"\u212Aim@example.com", // KELVIN SIGN, lower-cases to k
		"ｍｉｋｅ@example.com",     // full-width
		"ﬁona@example.com",     // fi ligature, NFKC → fi
		"mike@exаmple.com",     // Cyrillic а
		"ᴮᴵᴳᴮᴵᴿᴰ@example.com",  // modifier letters (Spotify)
		"mike@example.com\u00a0",
		"mi\u0307ke@example.com", // combining dot above
	} {
		r := w.browser().post("/pwreset", "email="+url.QueryEscape(email))
		if r.StatusCode != http.StatusSeeOther && r.StatusCode != http.StatusBadRequest {
			t.Errorf("POST /pwreset email=%q = %d, want 303 or 400", email, r.StatusCode)
		}
	}
	w.browser().post("/pwreset", "email=MIKE%40example.com").expect(t, http.StatusSeeOther, "/pwreset/sent")
	w.drain()
	msgs := w.mails()
	if len(msgs) != 1 {
		for _, m := range msgs {
			t.Logf("mail to %v", recipients(m))
		}
		t.Fatalf("%d messages, want 1 (to mike@example.com, for the ASCII-case variant)", len(msgs))
	}
	checkOneRecipient(t, msgs[0], "mike@example.com")
}

// RQ-REQ-07: the lookup binds the address as a parameter (an address with a quote is found,
// an injection matches nothing), it is one idempotent rule, and addresses shared by several
// accounts under it choose none. Incidents: SQL injection in reset forms (FPCS "SQL
// Injection Prevention"), and reset flows that picked "the first" of two colliding accounts.
func TestLookupIsParameterisedAndUnambiguous(t *testing.T) {
	t.Parallel()
	w := newWorld(t, setup{})
	w.addUser("O'Brien", "o'brien@example.com", werkzeugHash)
	w.addUser("Dup one", "dup@example.com", werkzeugHash)
	w.addUser("Dup two", "DUP@example.com", werkzeugHash)
	for _, email := range []string{
		"x'or'1'='1@example.com",
		"x'or'1'='1'--@example.com",
		"'||(select'alice@example.com')||'@x.example",
		"%@example.com", // LIKE wildcard
		"_lice@example.com",
		"dup@example.com",
		"o'brien@example.com",
	} {
		w.browser().post("/pwreset", "email="+url.QueryEscape(email))
	}
	w.drain()
	msgs := w.mails()
	if len(msgs) != 1 {
		for _, m := range msgs {
			t.Logf("mail to %v", recipients(m))
		}
		t.Fatalf("%d messages, want exactly 1 (to o'brien@example.com)", len(msgs))
	}
	checkOneRecipient(t, msgs[0], "o'brien@example.com")
	if n := len(filterOutcome(w.logs("reset request handled"), "ambiguous_account")); n != 1 {
		t.Errorf("%d ambiguous-account records, want 1 for dup@example.com", n)
	}
}

// RQ-REQ-07: with email_case_sensitive = true the rule is exact match: another ASCII case is a
// different address. The rule is the configured one, not whatever the database's collation
// does.
func TestLookupCaseSensitiveWhenConfigured(t *testing.T) {
	t.Parallel()
	w := newWorld(t, setup{sqlite: true, conf: map[string]any{"users.email_case_sensitive": true}})
	w.browser().post("/pwreset", "email=alice%40example.com").expect(t, http.StatusSeeOther, "/pwreset/sent")
	w.browser().post("/pwreset", "email="+url.QueryEscape(aliceEmail)).expect(t, http.StatusSeeOther, "/pwreset/sent")
	w.drain()
	msgs := w.mails()
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want 1 (only the exact spelling matches)", len(msgs))
	}
	checkOneRecipient(t, msgs[0], aliceEmail)
}

// RQ-REQ-03: an IPv6 client is one /64 (what a single subscriber or host is given), not one
// address: rotating the interface identifier must not reset the per-IP limit. Incident:
// rate limits keyed on full IPv6 addresses, bypassed by rotating through the 2^64 addresses
// of the /64 (or larger) prefix every subscriber is given (RFC 6177).
func TestIPv6ClientsLimitedPerPrefix(t *testing.T) {
	t.Parallel()
	w := newWorld(t, setup{conf: map[string]any{"limits.per_ip": "2/hour", "limits.token_per_ip": "2/hour", "limits.trusted_proxies": []string{"127.0.0.1/32"}}})
	c := w.browser()
	for i := range 2 {
		ip := fmt.Sprintf("2001:db8:1:2::%x", i+1)
		c.post("/pwreset", "email=nobody%40example.com", "X-Forwarded-For", ip).expect(t, http.StatusSeeOther, "/pwreset/sent")
		c.get("/pwreset/"+strings.Repeat("C", 43), "X-Forwarded-For", ip).expect(t, http.StatusSeeOther, "/pwreset/invalid")
	}
	if r := c.post("/pwreset", "email=nobody%40example.com", "X-Forwarded-For", "2001:db8:1:2:dead:beef:0:1"); r.StatusCode != http.StatusTooManyRequests {
		t.Errorf("3rd reset request from the same /64 = %d, want 429", r.StatusCode)
	}
	if r := c.get("/pwreset/"+strings.Repeat("C", 43), "X-Forwarded-For", "2001:db8:1:2:dead:beef:0:2"); r.StatusCode != http.StatusTooManyRequests {
		t.Errorf("3rd link attempt from the same /64 = %d, want 429", r.StatusCode)
	}
}

// RQ-REQ-06: a refused value is not reflected as markup: the generic 400 page escapes it.
// Incident: reflected XSS in "forgot password" forms that echo the submitted address.
func TestRefusedValueNotReflectedAsMarkup(t *testing.T) {
	t.Parallel()
	w := newWorld(t, setup{sqlite: true})
	for _, v := range []string{`<script>alert(1)</script>@x.example`, `"><img src=x onerror=alert(1)>`, `x@y.example"autofocus onfocus="alert(1)`} {
		r := w.browser().post("/pwreset", "email="+url.QueryEscape(v))
		if r.StatusCode != http.StatusBadRequest {
			t.Errorf("email=%q = %d, want 400", v, r.StatusCode)
		}
		for _, bad := range []string{"<script>alert", "<img src=x", `" onerror`, `"autofocus onfocus=`} {
			if strings.Contains(r.body, bad) {
				t.Errorf("email=%q is reflected unescaped (%q)", v, bad)
			}
		}
	}
}
