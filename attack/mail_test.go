package attack

import (
	"net/http"
	"strings"
	"testing"

	"resetgate/internal/testenv"
)

// RQ-HDR-05, RQ-REQ-05: mail headers come only from constants and stored data, and stored data
// cannot add a recipient either: when the app's row holds an address with CR/LF, a list, a
// display name or an encoded word (written by the app after the reset, so the "password
// changed" notice reads it), no mail reaches the attacker and every message has exactly one
// recipient. Incidents: e-mail header injection through user-controlled fields (CWE-93; e.g.
// PHPMailer CVE-2016-10033 via the sender address) and GitLab CVE-2023-7028 (a second
// recipient added to a reset mail).
func TestStoredAddressCannotInjectRecipients(t *testing.T) {
	t.Parallel()
	w := newWorld(t, setup{conf: map[string]any{"mail.max_attempts": 1}})
	// The app rewrites the address from the name column whenever the password changes.
	w.mustExec(`CREATE FUNCTION evil_email() RETURNS trigger AS $$ BEGIN NEW.email := NEW.name; RETURN NEW; END $$ LANGUAGE plpgsql`)
	w.mustExec(`CREATE TRIGGER evil BEFORE UPDATE OF password ON users FOR EACH ROW EXECUTE FUNCTION evil_email()`)
	evil := []string{
		"victim1@example.com\r\nBcc: attacker@evil.example",
		"victim2@example.com\nCc: attacker@evil.example",
		"victim3@example.com, attacker@evil.example",
		"victim4@example.com; attacker@evil.example",
		`"victim5@example.com" <attacker@evil.example>`,
		"=?utf-8?q?attacker=40evil.example?= <victim6@example.com>",
		"victim7@example.com\u2028Bcc: attacker@evil.example",
		"victim8@example.com\vBcc: attacker@evil.example",
		"victim9@example.com\rBcc: attacker@evil.example",
	}
	for i, name := range evil {
		email := "victim" + string(rune('1'+i)) + "@example.com"
		w.addUser(name, email, werkzeugHash)
		w.mustReset(email, goodPassword)
	}
	// Each notice ends sent (to a sanitised single address) or given up; none may go elsewhere.
	w.waitLog("notice sent or given up", len(evil), func(l logLine) bool {
		return l["msg"] == "password-changed notice sent" || l["msg"] == "mail given up" && l["kind"] == "notice"
	})
	for _, m := range w.mails() {
		got := recipients(m)
		if len(got) != 1 || !strings.HasPrefix(got[0], "victim") || !strings.HasSuffix(got[0], "@example.com") {
			t.Errorf("message %q went to %v", m.Subject, got)
		}
		if strings.Contains(strings.Join(m.Headers["To"], ""), "attacker") || len(m.Headers["Bcc"]) > 0 || len(m.Headers["Cc"]) > 0 {
			t.Errorf("message %q has headers To=%v Cc=%v Bcc=%v", m.Subject, m.Headers["To"], m.Headers["Cc"], m.Headers["Bcc"])
		}
	}
}

// RQ-HDR-06: mail goes out only over TLS with a verified certificate when TLS is configured:
// a server that offers no STARTTLS, or one whose certificate nobody vouches for, gets no mail
// (no silent downgrade to plain text), and tls = "none" is refused for a non-loopback host.
// Incidents: STARTTLS stripping by on-path attackers (e.g. the 2014 EFF reports of ISPs
// removing STARTTLS), and mailers that skip certificate verification (CWE-295), exposing
// reset links on the wire.
func TestSMTPNeverDowngrades(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		opt  []testenv.MailpitOption
		tls  string
		want string // in the logged error
	}{
		{"STARTTLS required, server has none", nil, "starttls", "STARTTLS"},
		{"STARTTLS with an untrusted certificate", []testenv.MailpitOption{testenv.MailpitSTARTTLS()}, "starttls", "certificate"},
		{"implicit TLS with an untrusted certificate", []testenv.MailpitOption{testenv.MailpitImplicitTLS()}, "tls", "certificate"},
		{"implicit TLS, server speaks plain SMTP", nil, "tls", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, setup{mailpit: c.opt, conf: map[string]any{"mail.smtp.tls": c.tls, "mail.max_attempts": 1}})
			w.browser().post("/pwreset", "email=alice%40example.com").expect(t, http.StatusSeeOther, "/pwreset/sent")
			given := w.waitLog("mail given up", 1, msgIs("mail given up"))
			if err := given[0].str("err"); !strings.Contains(strings.ToLower(err), strings.ToLower(c.want)) {
				t.Errorf("mail given up with %q, want an error about %q", err, c.want)
			}
			if msgs := w.mails(); len(msgs) != 0 {
				t.Errorf("%d message(s) delivered without the configured TLS", len(msgs))
			}
		})
	}
	t.Run("tls none towards a remote host", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, setup{noStart: true, conf: map[string]any{"mail.smtp.host": "smtp.example.com"}})
		if out := w.mustRefuseToStart(); !strings.Contains(out, "tls") {
			t.Errorf("refusal does not say why:\n%s", out)
		}
	})
}
