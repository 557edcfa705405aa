package attack

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

var codeRe = regexp.MustCompile(`e-mail address: ([0-9A-Z]{4}-[0-9A-Z]{4})`)

// requestCode asks for a link for email and returns the link's token and the typed code of
// the new mail for want.
func (w *world) requestCode(email, want string) (token, code string) {
	w.t.Helper()
	token = w.requestLink(email, want)
	for _, d := range w.mails() {
		if strings.Contains(d.Text, token) {
			if m := codeRe.FindStringSubmatch(d.Text); m != nil {
				return token, m[1]
			}
		}
	}
	w.t.Fatalf("the reset mail with token %s carries no code", token)
	return "", ""
}

func codeForm(email, code string) string {
	return url.Values{"email": {email}, "code": {code}}.Encode()
}

// RQ-COD-01: the typed code is a second secret of the link. A flood of wrong codes for one
// address from many IPs locks only that address (5 tries, then its reset is voided), while
// other addresses' codes keep working; wrong codes read the same for known and unknown
// addresses; a right code works once and kills the link; the state file holds no code.
// Incidents: short reset codes brute-forced without a per-account limit (the 2019 Instagram
// 6-digit recovery code race across 1,000 IPs; OWASP Forgot Password Cheat Sheet, "rate
// limit the code"), and code pages that answer "no such user".
func TestTypedCodeIsASecondSecret(t *testing.T) {
	t.Parallel()
	w := newWorld(t, setup{conf: map[string]any{"limits.trusted_proxies": []string{"127.0.0.1/32"}}})
	aliceLink, aliceCode := w.requestCode("alice@example.com", aliceEmail)
	_, bobCode := w.requestCode("bob@example.com", bobEmail)

	// Known and unknown addresses: the same page for a wrong code.
	known := w.browser().post("/pwreset/code", codeForm("carol@example.net", "ZZZZ-ZZZZ"), "X-Forwarded-For", "198.51.100.200")
	unknown := w.browser().post("/pwreset/code", codeForm("carox@example.net", "ZZZZ-ZZZZ"), "X-Forwarded-For", "198.51.100.201")
	if known.StatusCode != unknown.StatusCode || strings.ReplaceAll(unknown.body, "carox", "carol") != known.body {
		t.Errorf("wrong code answers differ for a known and an unknown address:\n%d %s\n----\n%d %s", known.StatusCode, known.body, unknown.StatusCode, unknown.body)
	}

	// Twenty wrong codes for alice, each from its own IP (under every per-IP limit).
	for i := range 20 {
		r := w.browser().post("/pwreset/code", codeForm("alice@example.com", fmt.Sprintf("ZZZZ-ZZ%02d", i)), "X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i+1))
		if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, "That code does not work for this address") {
			t.Fatalf("wrong code %d = %d, want the form again (400)\n%s", i, r.StatusCode, r.body)
		}
	}
	// Alice's right code is refused now, and her link is voided by the worker.
	if r := w.browser().post("/pwreset/code", codeForm("alice@example.com", aliceCode), "X-Forwarded-For", "192.0.2.10"); r.StatusCode != http.StatusBadRequest {
		t.Errorf("alice's right code after the flood = %d, want 400 (locked)", r.StatusCode)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := w.browser().get("/pwreset/"+aliceLink, "X-Forwarded-For", "192.0.2.11")
		if r.Header.Get("Location") == "/pwreset/invalid" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("alice's link still opens (%d → %q) 30 s after 5 wrong codes: the reset was not voided", r.StatusCode, r.Header.Get("Location"))
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Bob is untouched: his code, typed leniently on another device, works, once.
	b := w.browser()
	typed := strings.ToLower(strings.ReplaceAll(bobCode, "-", " "))
	b.post("/pwreset/code", codeForm("BOB@example.com", typed), "X-Forwarded-For", "192.0.2.20").expect(t, http.StatusSeeOther, "/pwreset/new")
	b.setPassword(goodPassword).expect(t, http.StatusSeeOther, "/pwreset/done")
	if r := w.browser().post("/pwreset/code", codeForm("bob@example.com", bobCode), "X-Forwarded-For", "192.0.2.21"); r.StatusCode != http.StatusBadRequest {
		t.Errorf("bob's code used again = %d, want 400", r.StatusCode)
	}

	// The state file holds no code, in any spelling.
	w.stop()
	for path, data := range allFiles(t, w.dataDir) {
		for _, c := range []string{aliceCode, bobCode} {
			if strings.Contains(string(data), c) || strings.Contains(string(data), strings.ReplaceAll(c, "-", "")) {
				t.Errorf("%s holds the code %s", path, c)
			}
		}
	}
}
