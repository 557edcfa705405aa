package attack

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"resetgate/internal/testenv"
)

// RQ-REQ-08: one structured (JSON) record per HTTP request, per reset request, per mail, per
// link use and per password change, each with its time, the client IP and, once known, the
// account id and the outcome. Incident: account takeovers that could not be reconstructed
// because the reset flow logged nothing (ASVS 7.1, OWASP Logging Cheat Sheet).
func TestAuditRecords(t *testing.T) {
	t.Parallel()
	w := newWorld(t, setup{})
	requests := 0
	c := w.browser()
	get := func(p string) *response { requests++; return c.get(p) }
	post := func(p, f string) *response { requests++; return c.post(p, f) }

	post("/pwreset", "email=nobody%40example.com")
	tok := w.requestLink("alice@example.com", aliceEmail)
	requests++
	get("/pwreset/" + strings.Repeat("Q", 43))
	get("/pwreset/" + tok)
	get("/pwreset/new")
	post("/pwreset/new", "password=password1&password2=password1")
	post("/pwreset/new", "password="+url.QueryEscape(goodPassword)+"&password2="+url.QueryEscape(goodPassword))
	get("/app/elsewhere")
	w.drain()

	for _, line := range strings.Split(strings.TrimSpace(w.logText()), "\n") {
		if !json.Valid([]byte(line)) {
			t.Errorf("log line is not JSON: %s", line)
		}
	}
	if n := len(w.logs("request")); n != requests {
		t.Errorf("%d access records, want one per request (%d)", n, requests)
	}
	for _, l := range w.logs("request") {
		for _, k := range []string{"time", "method", "path", "status", "remote"} {
			if l[k] == nil {
				t.Errorf("access record without %s: %v", k, l)
			}
		}
	}
	want := []struct {
		msg     string
		fields  map[string]string
		atLeast int
	}{
		{"reset requested", map[string]string{"ip": "127.0.0.1", "outcome": "queued"}, 2},
		{"reset request handled", map[string]string{"ip": "127.0.0.1", "outcome": "no_account"}, 1},
		{"reset link sent", map[string]string{"ip": "127.0.0.1", "user_id": aliceID, "outcome": "sent"}, 1},
		{"reset link refused", map[string]string{"ip": "127.0.0.1", "outcome": "unknown"}, 1},
		{"new password refused", map[string]string{"ip": "127.0.0.1", "user_id": aliceID, "outcome": "policy"}, 1},
		{"password changed", map[string]string{"ip": "127.0.0.1", "user_id": aliceID, "outcome": "changed"}, 1},
		{"password-changed notice sent", map[string]string{"user_id": aliceID, "outcome": "sent"}, 1},
	}
	for _, wnt := range want {
		n := 0
	records:
		for _, l := range w.logs(wnt.msg) {
			if l["time"] == nil {
				continue
			}
			for k, v := range wnt.fields {
				if l.str(k) != v {
					continue records
				}
			}
			n++
		}
		if n < wnt.atLeast {
			t.Errorf("%d %q record(s) with time and %v, want at least %d", n, wnt.msg, wnt.fields, wnt.atLeast)
		}
	}
}

// RQ-LNK-07, RQ-REQ-08: the token and the passwords appear nowhere but in the mail: not in
// resetgate's log (at debug level, access log on, SMTP transport: there is no outbox line), not
// in the Prometheus metrics, not in anything the app receives, whatever spelling of the link
// is requested; and neither is the SMTP password, also when it is wrong. Incidents: reset
// tokens in access logs and Referer headers shipped to log platforms and analytics
// (CWE-532, CWE-598), secrets in metrics labels.
func TestSecretsNeverLeak(t *testing.T) {
	t.Parallel()
	const smtpPassword = "smtp-Secret-4711"
	w := newWorld(t, setup{
		noStart: true,
		mailpit: []testenv.MailpitOption{testenv.MailpitAuth("resetgate", smtpPassword)},
		conf: map[string]any{
			"mail.smtp.username": "resetgate", "mail.smtp.password_env": "SMTP_PASSWORD",
			"access_log": "all", "mail.max_attempts": 1,
		},
	})
	w.env["SMTP_PASSWORD"] = smtpPassword
	w.start()
	tok := w.requestLink("alice@example.com", aliceEmail)
	b := w.browser()
	for _, p := range []string{
		"/pwreset/" + tok + "?utm_source=mail", "/PWRESET/" + tok, "//pwreset/" + tok, "/pwreset/" + tok + "/",
		"/pwreset/" + tok + "%2F", "/pwreset/%41" + tok[1:],
		"/app/landing?next=/pwreset/x", "/app/confirm?app_token=Query-Secret-99",
	} {
		rawRequest(t, w.base, "GET "+p+" HTTP/1.1\r\nHost: app.example\r\nReferer: https://app.example/somewhere\r\nConnection: close\r\n\r\n")
	}
	b.openLink(tok)
	refused := "Password1"
	b.setPassword(refused)
	b.setPassword(goodPassword).expect(t, http.StatusSeeOther, "/pwreset/done")
	b.get("/app/after") // the next page the user visits is the app's
	w.drain()
	metrics := w.metrics()

	w.env["SMTP_PASSWORD"] = "Wrong-" + smtpPassword
	w.restart()
	w.browser().post("/pwreset", "email=bob%40example.com")
	w.waitLog("mail given up", 1, msgIs("mail given up"))
	metrics += w.metrics()

	secrets := map[string]string{
		"token": tok[1:], "new password": goodPassword, "new password (form-encoded)": url.QueryEscape(goodPassword),
		"old password": oldPassword, "refused password": refused, "SMTP password": smtpPassword,
	}
	places := map[string]string{"resetgate's log": w.logText(), "the app's requests": w.up.dump(), "/metrics": metrics}
	for place, text := range places {
		for what, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("%s contains the %s", place, what)
			}
		}
	}
	if strings.Contains(places["/metrics"], "example.com") || strings.Contains(places["/metrics"], "127.0.0.1") {
		t.Errorf("/metrics carries personal data (an address or a client IP)")
	}
	// The access log leaves query strings out: apps put their own secrets there.
	if strings.Contains(w.logText(), "Query-Secret-99") {
		t.Errorf("the access log records a proxied request's query string")
	}
	// The metrics live on the admin listener only: on the public one, /metrics is the app's.
	if r := w.browser().get("/metrics"); strings.Contains(r.body, "resetgate_") {
		t.Errorf("the public listener serves resetgate's metrics")
	}
}
