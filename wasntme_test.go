package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"resetgate/internal/testenv"
	"resetgate/reset/webhook"
)

// hookReceiver is the app's webhook endpoint in these tests: it verifies each signature as
// docs/hooks.md says and keeps the payloads.
type hookReceiver struct {
	t      *testing.T
	secret []byte
	mu     sync.Mutex
	got    []webhook.Payload
	srv    *httptest.Server
}

func newHookReceiver(t *testing.T, secret string) *hookReceiver {
	h := &hookReceiver{t: t, secret: []byte(secret)}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := webhook.Verify(h.secret, body, r.Header.Get(webhook.SignatureHeader), time.Now(), webhook.DefaultTolerance); err != nil {
			t.Errorf("webhook %s: %v", r.URL.Path, err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var p webhook.Payload
		if err := json.Unmarshal(body, &p); err != nil {
			t.Errorf("webhook %s: %v", r.URL.Path, err)
		}
		h.mu.Lock()
		h.got = append(h.got, p)
		h.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// wait returns the payloads once there are n.
func (h *hookReceiver) wait(n int) []webhook.Payload {
	h.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		h.mu.Lock()
		got := append([]webhook.Payload(nil), h.got...)
		h.mu.Unlock()
		if len(got) >= n {
			return got
		}
		time.Sleep(20 * time.Millisecond)
	}
	h.t.Fatalf("fewer than %d webhooks arrived within 30s", n)
	return nil
}

// mailText waits for the n-th message of the mailbox (1 = the first) and returns its text.
func mailText(t *testing.T, mp *testenv.MailpitServer, n int) (subject, text string) {
	t.Helper()
	msgs, err := mp.WaitMessages(context.Background(), n)
	if err != nil {
		t.Fatal(err)
	}
	d, err := mp.Message(context.Background(), msgs[len(msgs)-n].ID)
	if err != nil {
		t.Fatal(err)
	}
	return d.Subject, d.Text
}

var (
	mailLinkRE    = regexp.MustCompile(`https://app\.example(/pwreset/[A-Za-z0-9_-]{43})\b`)
	mailWasntMeRE = regexp.MustCompile(`https://app\.example(/pwreset/wasnt-me/[A-Za-z0-9_-]+)`)
	hiddenLinkRE  = regexp.MustCompile(`name="link" value="([A-Za-z0-9_-]+)"`)
)

func findIn(t *testing.T, re *regexp.Regexp, what, text string) string {
	t.Helper()
	m := re.FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no %s in:\n%s", what, text)
	}
	return m[1]
}

// TestWasntMeEndToEnd walks issue 11's "this wasn't me" story through run(), real SMTP
// (Mailpit) and a webhook receiver: a reset, the notice's link, the confirmation, the fresh
// link, the old pending link void, the audit event and both webhooks.
func TestWasntMeEndToEnd(t *testing.T) {
	const secret = "an-hmac-secret-of-enough-bytes"
	mp := testenv.Mailpit(t)
	host, port := mp.SMTPAddr()
	hooks := newHookReceiver(t, secret)
	users := sqliteUsers(t, "old-password-1")
	app := echoApp(t)
	dir := t.TempDir()
	rg := runConfig(t, dir, fmt.Sprintf(`listen = "127.0.0.1:0"
public_url = "https://app.example"
upstream = %q
data_dir = %q
log_format = "json"
[users]
driver = "sqlite"
dsn_env = "TEST_LEGACY_DSN"
[mail]
transport = "smtp"
from = "Example <no-reply@example.com>"
[mail.smtp]
host = %q
port = %d
tls = "none"
[admin]
listen = "127.0.0.1:0"
[hooks]
password_changed = %q
wasnt_me = %q
secret_env = "TEST_HOOK_SECRET"
`, app.URL, filepath.Join(dir, "data"), host, port, hooks.srv.URL+"/internal/pw-changed", hooks.srv.URL+"/internal/wasnt-me"),
		map[string]string{"TEST_LEGACY_DSN": users.dsn, "TEST_HOOK_SECRET": secret})
	b := newBrowser(t, rg.base)

	// The reset: the notice carries the link.
	b.expect("POST", "/pwreset", "email=alice%40example.com", 303, "/pwreset/sent")
	_, text := mailText(t, mp, 1)
	b.expect("GET", findIn(t, mailLinkRE, "reset link", text), "", 303, "/pwreset/new")
	b.expect("POST", "/pwreset/new", "password=cobalt+lantern+orchard+42&password2=cobalt+lantern+orchard+42", 303, "/pwreset/done")
	subject, text := mailText(t, mp, 2)
	if !strings.Contains(subject, "changed") {
		t.Fatalf("second mail %q, want the changed notice", subject)
	}
	wasntMe := findIn(t, mailWasntMeRE, "this-wasn't-me link", text)
	if !strings.Contains(text, "7 days") {
		t.Errorf("the notice does not say how long the link works:\n%s", text)
	}

	// Someone asks for another link, which waits in the mailbox.
	b.expect("POST", "/pwreset", "email=alice%40example.com", 303, "/pwreset/sent")
	_, text = mailText(t, mp, 3)
	pending := findIn(t, mailLinkRE, "reset link", text)

	// The owner opens the link in another browser: a page, and nothing done yet.
	owner := newBrowser(t, rg.base)
	page := owner.expect("GET", wasntMe, "", 200, "")
	owner.expect("GET", wasntMe, "", 200, "")
	link := findIn(t, hiddenLinkRE, "confirm form", page)
	if n, _ := mp.Messages(context.Background()); len(n) != 3 {
		t.Fatalf("opening the link sent mail: %d messages, want 3", len(n))
	}
	done := owner.expect("POST", "/pwreset/wasnt-me", "link="+url.QueryEscape(link), 200, "")
	if !strings.Contains(done, "A fresh link to choose a new password is on its way") {
		t.Errorf("the confirmation page:\n%s", done)
	}

	// A fresh link arrives at the stored address; the pending one is void.
	subject, text = mailText(t, mp, 4)
	fresh := findIn(t, mailLinkRE, "fresh reset link", text)
	if fresh == pending || strings.Contains(subject, "changed") {
		t.Fatalf("fourth mail %q is not a fresh reset link", subject)
	}
	msgs, _ := mp.Messages(context.Background())
	if to := msgs[0].To; len(to) != 1 || to[0].Address != "Alice@Example.com" {
		t.Errorf("the fresh link went to %v, want the stored address", to)
	}
	b.expect("GET", pending, "", 303, "/pwreset/invalid")
	newBrowser(t, rg.base).expect("GET", fresh, "", 303, "/pwreset/new")

	// The audit event, and single use.
	audit := rg.log.waitLog(t, "this-wasn't-me confirmed: sessions ended, pending links voided, a fresh reset link queued", 1)
	if audit["event"] != "reset.wasnt_me" || audit["user_id"] != "1" || audit["outcome"] != "confirmed" || audit["ip"] != "127.0.0.1" {
		t.Errorf("audit event = %v", audit)
	}
	again := owner.expect("POST", "/pwreset/wasnt-me", "link="+url.QueryEscape(link), 200, "")
	if !strings.Contains(again, "This is already done") {
		t.Errorf("a second confirmation:\n%s", again)
	}
	if strings.Contains(rg.log.String(), link) {
		t.Errorf("the this-wasn't-me link reached the log")
	}

	// Both webhooks, signed, with the account's id.
	got := hooks.wait(2)
	events := map[string]webhook.Payload{}
	for _, p := range got {
		events[string(p.Event)] = p
	}
	for _, e := range []string{"password_changed", "wasnt_me"} {
		if p, ok := events[e]; !ok || p.AccountID != "1" || p.EventID == "" || p.Time.IsZero() || p.ClientIP != "127.0.0.1" {
			t.Errorf("webhook %s = %+v (ok %v), want one for account 1 from 127.0.0.1", e, p, ok)
		}
	}
}
