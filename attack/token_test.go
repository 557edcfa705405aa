package attack

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"resetgate/internal/testenv"
	"resetgate/reset/bolt"
)

// RQ-TOK-01: every link carries a fresh 43-character base64url token that decodes (strictly)
// to 32 bytes: 256 bits, never repeated. Incidents: predictable reset tokens from time or
// non-cryptographic generators (mt_rand()/Math.random() tokens, timestamps, sequential ids:
// WSTG-ATHN-09, CWE-330).
func TestTokensAreLongAndUnique(t *testing.T) {
	t.Parallel()
	w := newWorld(t, setup{})
	seen := map[string]bool{}
	prefixes := map[string]bool{}
	for range 8 {
		tok := w.requestLink("alice@example.com", aliceEmail)
		b, err := base64.RawURLEncoding.Strict().DecodeString(tok)
		if len(tok) != 43 || err != nil || len(b) != 32 {
			t.Fatalf("token %q: %d chars, decodes to %d bytes (%v); want 43 chars of base64url = 32 bytes", tok, len(tok), len(b), err)
		}
		if seen[tok] || prefixes[tok[:8]] {
			t.Fatalf("token %q repeats an earlier one (or its first 48 bits)", tok)
		}
		seen[tok], prefixes[tok[:8]] = true, true
	}
}

// RQ-TOK-02: the state file holds SHA-256(token), never the token: whoever reads data_dir
// (a backup, a stolen disk) can reset nobody. Incident: plaintext reset tokens read from
// database dumps or through SQL injection, which turn a read-only leak into account takeover.
func TestTokenStoredOnlyHashed(t *testing.T) {
	t.Parallel()
	w := newWorld(t, setup{})
	tok := w.requestLink("alice@example.com", aliceEmail)
	w.stop() // bbolt writes everything on commit; reading after stop sees the final file
	raw, _ := base64.RawURLEncoding.DecodeString(tok)
	sum := sha256.Sum256([]byte(tok))
	hashed := false
	for path, b := range allFiles(t, w.dataDir) {
		if strings.Contains(string(b), tok) || strings.Contains(string(b), string(raw)) {
			t.Errorf("%s holds the raw token", path)
		}
		if strings.Contains(string(b), hex.EncodeToString(sum[:])) || strings.Contains(string(b), string(sum[:])) {
			hashed = true
		}
	}
	if !hashed {
		t.Errorf("no file in data_dir holds SHA-256(token): is the token stored at all?")
	}
}

// RQ-TOK-03: twenty simultaneous submissions of the new-password form with one link give
// exactly one password change: one success page, one after_reset run, one audit record, and
// the stored hash is the winner's. Incidents: race conditions in token redemption
// (CWE-362/367; the "limit overrun" races of PortSwigger's "Smashing the state machine", 2023).
func TestConcurrentCompletionsChangeThePasswordOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t, setup{conf: map[string]any{"users.after_reset": []string{"INSERT INTO resets (user_id) VALUES (:id)"}}})
	raceCompletions(t, w, []string{w.base})
}

// RQ-TOK-03: the same across two replicas sharing a Redis store and the app's database: the
// claim is atomic in the store, not in one process's memory.
func TestConcurrentCompletionsAcrossReplicas(t *testing.T) {
	t.Parallel()
	redisAddr := testenv.Redis(t)
	w := newWorld(t, setup{noStart: true, conf: map[string]any{
		"users.after_reset": []string{"INSERT INTO resets (user_id) VALUES (:id)"},
		"store.backend":     "redis",
		"store.redis_url":   "redis://" + redisAddr + "/0",
		"store.key_prefix":  testenv.Name("rgattack_") + ":",
	}})
	if out, err := w.launch(); err != nil {
		t.Fatalf("resetgate with the Redis store did not start: %v\n%s", err, out)
	}
	raceCompletions(t, w, []string{w.base, w.replica()})
}

// raceCompletions opens one link in 20 browsers and submits 20 different passwords at once,
// spread over the given replicas; exactly one may win.
func raceCompletions(t *testing.T, w *world, bases []string) {
	t.Helper()
	tok := w.requestLink("alice@example.com", aliceEmail)
	const n = 20
	browsers := make([]*client, n)
	for i := range browsers {
		browsers[i] = w.browser()
		browsers[i].base = bases[i%len(bases)]
		browsers[i].openLink(tok)
	}
	results := make([]*response, n)
	errs := make([]error, n)
	var start, done sync.WaitGroup
	start.Add(1)
	for i := range browsers {
		done.Go(func() {
			start.Wait()
			pw := fmt.Sprintf("%s %d", goodPassword, i)
			form := "password=" + url.QueryEscape(pw) + "&password2=" + url.QueryEscape(pw)
			results[i], errs[i] = browsers[i].try(http.MethodPost, "/pwreset/new", strings.NewReader(form),
				"Content-Type", "application/x-www-form-urlencoded", "Sec-Fetch-Site", "same-origin")
		})
	}
	start.Done()
	done.Wait()
	winner := -1
	for i, r := range results {
		if errs[i] != nil {
			t.Fatalf("submission %d: %v", i, errs[i])
		}
		if r.StatusCode == http.StatusSeeOther && r.Header.Get("Location") == "/pwreset/done" {
			if winner >= 0 {
				t.Errorf("submissions %d and %d both succeeded", winner, i)
			}
			winner = i
		}
	}
	if winner < 0 {
		t.Fatalf("no submission succeeded")
	}
	w.sync()
	if got := w.count(`SELECT count(*) FROM resets`); got != 1 {
		t.Errorf("after_reset ran %d times, want once", got)
	}
	if got := len(w.logs("password changed")); got != 1 {
		t.Errorf("%d \"password changed\" records, want 1", got)
	}
	if !pythonVerifies(t, "werkzeug", w.hash(aliceID), fmt.Sprintf("%s %d", goodPassword, winner)) {
		t.Errorf("the stored hash is not the winning submission's password")
	}
	for _, base := range bases {
		c := w.browser()
		c.base = base
		c.get("/pwreset/"+tok).expect(t, http.StatusSeeOther, "/pwreset/invalid")
	}
}

var dateTimeRe = regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d`)

// tokensList stops resetgate (bbolt admits one process) and returns the ISSUED and EXPIRES
// columns of `resetgate tokens list` for its one token.
func (w *world) tokensList() (issued, expires time.Time) {
	w.t.Helper()
	w.stop()
	out, err := w.run("tokens", "list")
	if err != nil {
		w.t.Fatalf("resetgate tokens list: %v\n%s", err, out)
	}
	stamps := dateTimeRe.FindAllString(out, -1)
	if len(stamps) != 2 {
		w.t.Fatalf("tokens list shows %d times, want ISSUED and EXPIRES of one token:\n%s", len(stamps), out)
	}
	issued, _ = time.Parse(time.DateTime, stamps[0])
	expires, _ = time.Parse(time.DateTime, stamps[1])
	return issued, expires
}

// RQ-TOK-04: a link expires token_ttl after it was issued (default 1 h), counted in the store;
// a TTL beyond 24 h is refused; and an expired token is dead even for a browser that opened it
// in time. Incidents: reset links valid for days or forever, found in old mailboxes and
// backups (WSTG-ATHN-09: a token should "rarely be more than an hour" valid; CWE-640).
func TestTokensExpire(t *testing.T) {
	t.Parallel()
	w := newWorld(t, setup{})
	tok := w.requestLink("alice@example.com", aliceEmail)
	b := w.browser()
	b.openLink(tok)
	if issued, expires := w.tokensList(); expires.Sub(issued) != time.Hour {
		t.Errorf("default token lifetime %s, want 1h", expires.Sub(issued))
	}

	// Age the stored token past its expiry, as an hour's wait would.
	st, err := bolt.Open(filepath.Join(w.dataDir, "resetgate.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	toks, err := st.Tokens(ctx)
	if err != nil || len(toks) != 1 {
		t.Fatalf("stored tokens: %d (%v), want 1", len(toks), err)
	}
	toks[0].IssuedAt = time.Now().Add(-61 * time.Minute)
	toks[0].ExpiresAt = time.Now().Add(-time.Minute)
	if err := st.SaveToken(ctx, toks[0]); err != nil {
		t.Fatal(err)
	}
	st.Close()
	hash0 := w.hash(aliceID)
	w.start()
	b.get("/pwreset/new").expect(t, http.StatusSeeOther, "/pwreset/invalid")
	b.openLinkExpectInvalid(tok)
	c := w.browser()
	c.openLinkExpectInvalid(tok)
	c.setPassword(goodPassword).expect(t, http.StatusSeeOther, "/pwreset/invalid")
	if w.hash(aliceID) != hash0 {
		t.Errorf("an expired link changed the password")
	}
	w.sync()
	if len(filterOutcome(w.logs("reset link refused"), "expired")) == 0 {
		t.Errorf("no refusal was recorded as expired: the store's expiry was not what stopped the link")
	}

	w.conf["reset.token_ttl"] = "2h"
	w.restart()
	w.requestLink("alice@example.com", aliceEmail)
	if issued, expires := w.tokensList(); expires.Sub(issued) != 2*time.Hour {
		t.Errorf("token_ttl = 2h gives lifetime %s", expires.Sub(issued))
	}
	for _, ttl := range []string{"25h", "720h", "30s", "0s", "-1h"} {
		w.conf["reset.token_ttl"] = ttl
		if out := w.mustRefuseToStart(); !strings.Contains(out, "token_ttl") {
			t.Errorf("token_ttl = %s refused without naming the key:\n%s", ttl, out)
		}
	}
}

func (c *client) openLinkExpectInvalid(token string) {
	c.t.Helper()
	c.get("/pwreset/"+token).expect(c.t, http.StatusSeeOther, "/pwreset/invalid")
}

// RQ-TOK-05, RQ-RST-03: the account comes from the token record, never from the request: uid,
// id, email or token fields in the form or the query change nothing, and a browser holds
// only the link it opened last. Incidents: WSTG-ATHN-09 "reset.php?userid=1&token=123",
// Joplin GHSA-8qm8-mp6h-qf35 (a reset bound to a user id from the request).
func TestTokenBoundToItsAccount(t *testing.T) {
	t.Parallel()
	w := newWorld(t, setup{})
	aliceTok := w.requestLink("alice@example.com", aliceEmail)
	bobTok := w.requestLink("bob@example.com", bobEmail)
	carolTok := w.requestLink("carol@example.net", carolEmail)
	bob0, carol0 := w.hash(bobID), w.hash(carolID)

	a := w.browser()
	a.openLink(aliceTok)
	extra := []string{"uid=2", "user_id=2", "id=2", "email=bob%40example.com", "token=" + bobTok, "username=bob"}
	a.post("/pwreset/new?uid=2&id=2&email=bob%40example.com&token="+bobTok,
		"password="+url.QueryEscape(goodPassword)+"&password2="+url.QueryEscape(goodPassword)+"&"+strings.Join(extra, "&")).
		expect(t, http.StatusSeeOther, "/pwreset/done")
	if w.hash(bobID) != bob0 {
		t.Fatalf("bob's password changed through alice's link")
	}
	if !pythonVerifies(t, "werkzeug", w.hash(aliceID), goodPassword) {
		t.Errorf("alice's password was not changed by her own link")
	}

	c := w.browser()
	c.openLink(carolTok)
	c.openLink(bobTok) // the last link opened is the one the form sets
	c.setPassword(goodPassword+" b").expect(t, http.StatusSeeOther, "/pwreset/done")
	if w.hash(carolID) != carol0 {
		t.Errorf("carol's password changed, though the browser last opened bob's link")
	}
	if w.hash(bobID) == bob0 {
		t.Errorf("bob's password did not change")
	}
	w.browser().openLink(carolTok) // carol's link is untouched
}

// RQ-TOK-06: a link dies when a newer one is issued, and when the account's hash or address
// changes by any path — also inside the app, behind resetgate's back, even after the link was
// opened. Incidents: Django's token design (_make_hash_value hashes the password and email so
// that old links die), parse-server #5104 (reset tokens survived a password change).
func TestTokenVoidedByNewerTokenAndAccountChanges(t *testing.T) {
	t.Parallel()
	w := newWorld(t, setup{})
	daveID := w.addUser("Dave", "dave@example.com", werkzeugHash)

	t.Run("newer token", func(t *testing.T) {
		old := w.requestLink("bob@example.com", bobEmail)
		newer := w.requestLink("bob@example.com", bobEmail)
		w.browser().openLinkExpectInvalid(old)
		w.browser().openLink(newer)
	})
	t.Run("password changed in the app", func(t *testing.T) {
		tok := w.requestLink("carol@example.net", carolEmail)
		w.mustExec(`UPDATE users SET password = $1 WHERE id = $2`, bcryptHash, carolID)
		w.browser().openLinkExpectInvalid(tok)
	})
	t.Run("address changed in the app", func(t *testing.T) {
		tok := w.requestLink("alice@example.com", aliceEmail)
		w.mustExec(`UPDATE users SET email = 'alice@example.org' WHERE id = $1`, aliceID)
		w.browser().openLinkExpectInvalid(tok)
	})
	t.Run("password changed after the link was opened", func(t *testing.T) {
		tok := w.requestLink("dave@example.com", "dave@example.com")
		b := w.browser()
		b.openLink(tok)
		w.mustExec(`UPDATE users SET password = $1 WHERE id = $2`, bcryptHash, daveID)
		b.setPassword(goodPassword).expect(t, http.StatusSeeOther, "/pwreset/invalid")
		if w.hash(daveID) != bcryptHash {
			t.Errorf("the app's own new password was overwritten through a stale link")
		}
	})
}

// RQ-TOK-07: every unusable link — unknown, malformed, used, superseded, voided — gets the
// same answer, so the page is no oracle for which tokens ever existed. Incident: reset pages
// saying "expired" vs "invalid", confirming guessed or leaked tokens.
func TestBadLinksLookAlike(t *testing.T) {
	t.Parallel()
	w := newWorld(t, setup{})
	used := w.requestLink("alice@example.com", aliceEmail)
	b := w.browser()
	b.openLink(used)
	b.setPassword(goodPassword).expect(t, http.StatusSeeOther, "/pwreset/done")
	superseded := w.requestLink("bob@example.com", bobEmail)
	w.requestLink("bob@example.com", bobEmail)
	voided := w.requestLink("carol@example.net", carolEmail)
	w.mustExec(`UPDATE users SET password = $1 WHERE id = $2`, bcryptHash, carolID)

	unknown := strings.Repeat("A", 43)
	want := fingerprint(w.browser().get("/pwreset/" + unknown))
	for name, tok := range map[string]string{"malformed": "x", "malformed, 44 chars": unknown + "A", "used": used, "superseded": superseded, "voided": voided} {
		r := w.browser().get("/pwreset/" + tok)
		if got := fingerprint(r); got != want {
			t.Errorf("%s link answers differently from an unknown one:\n%s\nvs\n%s", name, got, want)
		}
	}
}

// RQ-TOK-07: guessing is throttled per client IP: after token_per_ip attempts even the right
// token gets 429 with Retry-After, so brute force gains nothing. Incident: unthrottled
// numeric/short reset codes brute-forced (e.g. Instagram's 6-digit code, 2019).
func TestTokenGuessingThrottledPerIP(t *testing.T) {
	t.Parallel()
	w := newWorld(t, setup{conf: map[string]any{"limits.token_per_ip": "5/hour"}})
	tok := w.requestLink("alice@example.com", aliceEmail)
	c := w.browser()
	for i := range 5 {
		c.get(fmt.Sprintf("/pwreset/%042dA", i), "X-Forwarded-For", fmt.Sprintf("198.51.100.%d", i)).
			expect(t, http.StatusSeeOther, "/pwreset/invalid")
	}
	r := c.get("/pwreset/"+tok, "X-Forwarded-For", "198.51.100.99")
	if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Fatalf("6th attempt (the right token, forged X-Forwarded-For) = %d Retry-After %q, want 429 with Retry-After", r.StatusCode, r.Header.Get("Retry-After"))
	}
	if strings.Contains(r.Header.Get("Set-Cookie"), "resetgate") {
		t.Errorf("a throttled attempt still put the token in a session")
	}
}

// RQ-TOK-07, RQ-REQ-03: guessing is throttled globally too (a botnet of addresses), and behind
// a trusted proxy each client is the rightmost untrusted X-Forwarded-For hop.
func TestTokenGuessingThrottledGlobally(t *testing.T) {
	t.Parallel()
	w := newWorld(t, setup{conf: map[string]any{"limits.token_global": "4/hour", "limits.trusted_proxies": []string{"127.0.0.1/32"}}})
	c := w.browser()
	for i := range 4 {
		c.get(fmt.Sprintf("/pwreset/%042dA", i), "X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i+1)).
			expect(t, http.StatusSeeOther, "/pwreset/invalid")
	}
	if r := c.get("/pwreset/"+strings.Repeat("B", 43), "X-Forwarded-For", "203.0.113.200"); r.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("5th attempt from a 5th address = %d, want 429 (token_global = 4/hour)", r.StatusCode)
	}
	w.sync()
	ips := map[string]bool{}
	for _, l := range w.logs("reset link refused") {
		ips[l.str("ip")] = true
	}
	for i := range 4 {
		if ip := fmt.Sprintf("203.0.113.%d", i+1); !ips[ip] {
			t.Errorf("no audit record names client %s (the X-Forwarded-For hop of a trusted proxy); have %v", ip, ips)
		}
	}
}

// RQ-TOK-08: only the exact token shape reaches the store: numbers, arrays, null, other
// lengths, other alphabets and the non-canonical base64 spelling of a real token are refused
// before any lookup (the audit log says "malformed", never "unknown"). Incidents: Devise
// CVE-2013-0233 (a JSON/XML token of another type matched any record in MySQL), Joomla
// CVE-2008-3681 (an empty/array token passed the check), ownCloud CVE-2012-5607.
func TestWrongTokenShapesNeverLookedUp(t *testing.T) {
	t.Parallel()
	w := newWorld(t, setup{})
	tok := w.requestLink("alice@example.com", aliceEmail)
	shapes := []string{
		"0", "1", "null", "true", "-1", "a",
		strings.Repeat("A", 42), strings.Repeat("A", 44), strings.Repeat("A", 86),
		strings.Repeat("A", 42) + "=", strings.Repeat("A", 41) + "==",
		strings.Repeat("A", 42) + "+", strings.Repeat("A", 42) + "~", strings.Repeat("A", 42) + ".",
		strings.Repeat("0", 64), // the hex id itself
		nonCanonical(tok),
		tok + "=",
		tok[:42],
		tok + tok,
	}
	c := w.browser()
	for _, s := range shapes {
		r := c.get("/pwreset/" + s)
		if r.StatusCode == http.StatusSeeOther && r.Header.Get("Location") == "/pwreset/new" {
			t.Fatalf("shape %q was accepted as a token", s)
		}
	}
	// Type confusion in the completion form: a JSON token of another type, with no session.
	c.do(http.MethodPost, "/pwreset/new", strings.NewReader(`{"token":0,"password":"x","password2":"x"}`),
		"Content-Type", "application/json", "Sec-Fetch-Site", "same-origin")
	c.do(http.MethodPost, "/pwreset/new", strings.NewReader(`token[]=&password=`+url.QueryEscape(goodPassword)+`&password2=`+url.QueryEscape(goodPassword)),
		"Content-Type", "application/x-www-form-urlencoded", "Sec-Fetch-Site", "same-origin")

	w.sync()
	if unknown := filterOutcome(w.logs("reset link refused"), "unknown"); len(unknown) > 0 {
		t.Errorf("%d wrongly shaped token(s) reached the store lookup (outcome \"unknown\", want \"malformed\")", len(unknown))
	}
	if len(filterOutcome(w.logs("reset link refused"), "malformed")) == 0 {
		t.Errorf("no wrong shape was recorded as malformed")
	}
	if !pythonVerifies(t, "werkzeug", w.hash(aliceID), oldPassword) {
		t.Errorf("the password changed")
	}
	w.browser().openLink(tok) // the real token still works
}

// nonCanonical returns another spelling of the same 32 bytes: the last character's two
// unused low bits set, which lenient base64 decoders accept.
func nonCanonical(tok string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alphabet, tok[42])
	return tok[:42] + string(alphabet[i|1])
}

// RQ-TOK-09: if the token store is unreachable, completing a reset fails closed: an error
// page, and no password written. Uses the Redis backend behind a relay that the test cuts.
func TestTokenStoreDownFailsClosed(t *testing.T) {
	t.Parallel()
	redisAddr := testenv.Redis(t)
	w := newWorld(t, setup{noStart: true})
	rl := newRelay(t, redisAddr)
	w.conf["store.backend"] = "redis"
	w.conf["store.redis_url"] = "redis://" + rl.addr() + "/0"
	w.conf["store.key_prefix"] = testenv.Name("rgattack_") + ":"
	if out, err := w.launch(); err != nil {
		t.Fatalf("resetgate with the Redis store did not start: %v\n%s", err, out)
	}
	tok := w.requestLink("alice@example.com", aliceEmail)
	b := w.browser()
	b.openLink(tok)
	rl.set(relayDown)
	r := b.setPassword(goodPassword)
	if r.StatusCode < 500 {
		t.Errorf("completing with the store down = %d, want a 5xx error page", r.StatusCode)
	}
	if !pythonVerifies(t, "werkzeug", w.hash(aliceID), oldPassword) {
		t.Errorf("a password was written while the token store was unreachable")
	}
}
