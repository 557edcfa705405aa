package attack

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// RQ-RST-04, RQ-RST-07: after a successful reset every token of the account is gone, the
// stored address (and only it) gets a "your password was changed" mail with the time and the
// client's IP but no password and no link, and the user is not logged in: no cookie but
// resetgate's own, no request to the app, so the app's own login (and its MFA) still stands
// between the new password and the account. Incidents: resets that log the user straight
// in and so skip MFA (ASVS5 6.4.3, WSTG-ATHN-09; in GitLab CVE-2023-7028, accounts with 2FA
// survived precisely because the login still asked for it), and silent password changes
// that left victims unaware of a takeover.
func TestAfterSuccess(t *testing.T) {
	t.Parallel()
	w := newWorld(t, setup{})
	tok := w.requestLink("alice@example.com", aliceEmail)
	b := w.browser()
	b.openLink(tok)
	before := len(w.up.requests())
	r := b.setPassword(goodPassword).expect(t, http.StatusSeeOther, "/pwreset/done")
	for _, c := range r.Cookies() {
		if !strings.Contains(c.Name, "resetgate") {
			t.Errorf("the success answer sets cookie %s: an automatic login?", c.Name)
		}
	}
	b.get("/pwreset/done")
	if n := len(w.up.requests()); n != before {
		t.Errorf("the app received %d request(s) during the reset:\n%s", n-before, w.up.dump())
	}
	w.browser().openLinkExpectInvalid(tok)
	w.drain()

	var notices int
	for _, m := range w.mails() {
		if linkRe.MatchString(m.Text) {
			continue // the link mail
		}
		notices++
		checkOneRecipient(t, m, aliceEmail)
		body := m.Text + "\n" + m.HTML
		today := time.Now().UTC().Format("2 January 2006") // the English date.format
		if !strings.Contains(body, "127.0.0.1") || !strings.Contains(body, today) {
			t.Errorf("the notice does not say when (%s) and from where (127.0.0.1):\n%s", today, m.Text)
		}
		for _, secret := range []string{goodPassword, oldPassword, tok, "/pwreset/" + tok[:10]} {
			if strings.Contains(body, secret) || strings.Contains(string(m.Raw), secret) {
				t.Errorf("the notice contains %q", secret)
			}
		}
	}
	if notices != 1 {
		t.Errorf("%d password-changed notices, want 1", notices)
	}

	w.stop()
	out, err := w.run("tokens", "list")
	if err != nil || !strings.Contains(out, "0 token(s)") {
		t.Errorf("tokens left after the reset (%v):\n%s", err, out)
	}
}

// RQ-RST-05: the configured after_reset statements run in the same transaction as the password
// write: the account's sessions are ended (others' kept), and if a statement fails, the
// password is not changed either, and the link works again once the problem is fixed.
// Incident: password resets that left the attacker's existing sessions alive (FPCS,
// ASVS 3.3.3; CWE-613 insufficient session expiration).
func TestAfterResetStatementsInOneTransaction(t *testing.T) {
	t.Parallel()
	w := newWorld(t, setup{conf: map[string]any{"users.after_reset": []string{
		"DELETE FROM sessions WHERE user_id = :id",
		"INSERT INTO no_such_table (user_id) VALUES (:id)",
	}}})
	w.mustExec(`INSERT INTO sessions (user_id) VALUES (1), (1), (2)`)
	tok := w.requestLink("alice@example.com", aliceEmail)
	b := w.browser()
	b.openLink(tok)
	if r := b.setPassword(goodPassword); r.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("a failing after_reset statement = %d, want 503", r.StatusCode)
	}
	if w.hash(aliceID) != werkzeugHash || w.count(`SELECT count(*) FROM sessions`) != 3 {
		t.Fatalf("a failed after_reset left a partial write: hash changed %v, %d sessions",
			w.hash(aliceID) != werkzeugHash, w.count(`SELECT count(*) FROM sessions`))
	}

	w.conf["users.after_reset"] = []string{"DELETE FROM sessions WHERE user_id = :id"}
	w.restart()
	b.setPassword(goodPassword).expect(t, http.StatusSeeOther, "/pwreset/done")
	if got := w.count(`SELECT count(*) FROM sessions WHERE user_id = 1`); got != 0 {
		t.Errorf("alice has %d sessions left after the reset, want 0", got)
	}
	if got := w.count(`SELECT count(*) FROM sessions WHERE user_id = 2`); got != 1 {
		t.Errorf("bob's session was ended by alice's reset")
	}
}
