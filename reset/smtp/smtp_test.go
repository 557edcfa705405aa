package smtp_test

import (
	"context"
	"errors"
	"net"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"resetgate/internal/testenv"
	"resetgate/reset"
	"resetgate/reset/smtp"
)

const from = "Example App <no-reply@example.com>"

func message(to string) reset.Message {
	return reset.Message{
		To:      to,
		Subject: "Reset your Example App password",
		Text:    "Hello,\n\nopen https://app.example.com/pwreset/abc to choose a new password.\n",
		HTML:    `<p>Hello,</p><p><a href="https://app.example.com/pwreset/abc">Choose a new password</a>.</p>`,
		Link:    "https://app.example.com/pwreset/abc",
	}
}

func mustMailer(t *testing.T, o smtp.Options) *smtp.Mailer {
	t.Helper()
	if o.From == "" {
		o.From = from
	}
	m, err := smtp.New(o)
	if err != nil {
		t.Fatalf("smtp.New(%+v) = %v", o, err)
	}
	return m
}

// mailpitOptions returns Options pointing at mp in the given TLS mode, trusting its certificate.
func mailpitOptions(mp *testenv.MailpitServer, tlsMode string) smtp.Options {
	host, port := mp.SMTPAddr()
	return smtp.Options{Host: host, Port: port, TLS: tlsMode, RootCAs: mp.CertPool()}
}

func mustOnlyMessage(t *testing.T, mp *testenv.MailpitServer) testenv.Detail {
	t.Helper()
	ctx := context.Background()
	msgs, err := mp.WaitMessages(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 {
		t.Fatalf("mailbox holds %d messages, want 1", len(msgs))
	}
	d, err := mp.Message(ctx, msgs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func mustBeEmpty(t *testing.T, mp *testenv.MailpitServer) {
	t.Helper()
	msgs, err := mp.Messages(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 0 {
		t.Fatalf("mailbox holds %d messages (first: %q to %v), want none", len(msgs), msgs[0].Subject, msgs[0].To)
	}
}

var messageIDRE = regexp.MustCompile(`^<[A-Za-z0-9]{20,}@example\.com>$`)

// checkDelivered checks every header and both parts of a message sent as message(to).
func checkDelivered(t *testing.T, d testenv.Detail, to string, before, after time.Time) {
	t.Helper()
	want := message(to)
	if d.From != (testenv.MailAddress{Name: "Example App", Address: "no-reply@example.com"}) {
		t.Errorf("From = %+v, want Example App <no-reply@example.com>", d.From)
	}
	if d.ReturnPath != "no-reply@example.com" {
		t.Errorf("envelope sender (Return-Path) = %q, want no-reply@example.com", d.ReturnPath)
	}
	// Mailpit lists every envelope recipient missing from the headers as Bcc, so this is
	// "exactly one recipient, in the envelope and the header" (RQ-REQ-05).
	if len(d.To) != 1 || d.To[0].Address != to || len(d.Cc) != 0 || len(d.Bcc) != 0 {
		t.Errorf("recipients To=%v Cc=%v Bcc=%v, want exactly To=%s", d.To, d.Cc, d.Bcc, to)
	}
	if got := d.Headers["To"]; len(got) != 1 {
		t.Errorf("To headers = %q, want one", got)
	}
	if d.Subject != want.Subject {
		t.Errorf("Subject = %q, want %q", d.Subject, want.Subject)
	}
	ids := d.Headers["Message-Id"]
	if len(ids) != 1 || !messageIDRE.MatchString(ids[0]) {
		t.Errorf("Message-ID headers = %q, want one <random@example.com>", ids)
	}
	dates := d.Headers["Date"]
	if len(dates) != 1 {
		t.Fatalf("Date headers = %q, want one", dates)
	}
	date, err := mail.ParseDate(dates[0])
	if err != nil {
		t.Errorf("mail.ParseDate(%q) = %v", dates[0], err)
	} else if date.Before(before.Truncate(time.Second)) || date.After(after) {
		t.Errorf("Date = %s, want between %s and %s", date, before, after)
	}
	if got := d.Headers["Auto-Submitted"]; len(got) != 1 || got[0] != "auto-generated" {
		t.Errorf("Auto-Submitted = %q, want auto-generated", got)
	}
	if ct := d.Headers["Content-Type"]; len(ct) != 1 || !strings.HasPrefix(ct[0], "multipart/alternative;") {
		t.Errorf("Content-Type = %q, want multipart/alternative", ct)
	}
	if got := strings.ReplaceAll(d.Text, "\r\n", "\n"); got != want.Text {
		t.Errorf("text part = %q, want %q", got, want.Text)
	}
	if got := strings.ReplaceAll(d.HTML, "\r\n", "\n"); got != want.HTML {
		t.Errorf("HTML part = %q, want %q", got, want.HTML)
	}
}

func TestSend(t *testing.T) {
	plain := testenv.Mailpit(t)
	starttls := testenv.Mailpit(t, testenv.MailpitSTARTTLS())
	implicit := testenv.Mailpit(t, testenv.MailpitImplicitTLS())
	authed := testenv.Mailpit(t, testenv.MailpitSTARTTLS(), testenv.MailpitAuth("resetgate", "correct-horse"))
	authedPlain := testenv.Mailpit(t, testenv.MailpitAuth("relay", "local-secret"))

	tests := []struct {
		name     string
		mp       *testenv.MailpitServer
		opts     func(smtp.Options) smtp.Options
		wantUser string
	}{
		{"plain to a loopback relay", plain, func(o smtp.Options) smtp.Options {
			o.TLS = smtp.TLSNone
			return o
		}, ""},
		{"starttls with the CA trusted", starttls, func(o smtp.Options) smtp.Options { return o }, ""},
		{"starttls is the default mode", starttls, func(o smtp.Options) smtp.Options {
			o.TLS = ""
			return o
		}, ""},
		{"implicit tls with the CA trusted", implicit, func(o smtp.Options) smtp.Options {
			o.TLS = smtp.TLSImplicit
			return o
		}, ""},
		{"auth over starttls", authed, func(o smtp.Options) smtp.Options {
			o.Username, o.Password = "resetgate", "correct-horse"
			return o
		}, "resetgate"},
		{"auth to a loopback relay without tls", authedPlain, func(o smtp.Options) smtp.Options {
			o.TLS = smtp.TLSNone
			o.Username, o.Password = "relay", "local-secret"
			return o
		}, "relay"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			if err := tt.mp.Delete(ctx); err != nil {
				t.Fatal(err)
			}
			o := tt.opts(mailpitOptions(tt.mp, smtp.TLSStartTLS))
			o.HeloName = "resetgate.test"
			m := mustMailer(t, o)
			// The stored address is used as stored: not lower-cased, not re-parsed.
			to := "Alice.Liddell@Example.org"
			before := time.Now()
			if err := m.Send(ctx, message(to)); err != nil {
				t.Fatalf("Send(%q) = %v, want nil", to, err)
			}
			after := time.Now()
			d := mustOnlyMessage(t, tt.mp)
			checkDelivered(t, d, to, before, after)
			if d.Username != tt.wantUser {
				t.Errorf("authenticated as %q, want %q", d.Username, tt.wantUser)
			}
			if rcv := d.Headers["Received"]; len(rcv) != 1 || !strings.Contains(rcv[0], "from resetgate.test ") {
				t.Errorf("Received = %q, want the HELO name resetgate.test", rcv)
			}
		})
	}
}

func TestSendRefused(t *testing.T) {
	plain := testenv.Mailpit(t)
	starttls := testenv.Mailpit(t, testenv.MailpitSTARTTLS())
	implicit := testenv.Mailpit(t, testenv.MailpitImplicitTLS())
	authed := testenv.Mailpit(t, testenv.MailpitSTARTTLS(), testenv.MailpitAuth("resetgate", "correct-horse"))

	tests := []struct {
		name    string
		mp      *testenv.MailpitServer
		opts    func(smtp.Options) smtp.Options
		wantErr string
	}{
		{"starttls with an untrusted certificate", starttls, func(o smtp.Options) smtp.Options {
			o.RootCAs = nil // system roots, which do not know the test CA
			return o
		}, "certificate signed by unknown authority"},
		{"implicit tls with an untrusted certificate", implicit, func(o smtp.Options) smtp.Options {
			o.TLS, o.RootCAs = smtp.TLSImplicit, nil
			return o
		}, "certificate signed by unknown authority"},
		{"certificate for another host name", starttls, func(o smtp.Options) smtp.Options {
			o.Host = "localhost" // the same server, but the certificate names only its IP addresses
			return o
		}, "wanted to match localhost"},
		{"server without starttls", plain, func(o smtp.Options) smtp.Options { return o },
			"does not support STARTTLS"},
		{"implicit tls to a plain server", plain, func(o smtp.Options) smtp.Options {
			o.TLS = smtp.TLSImplicit
			return o
		}, "tls:"},
		{"wrong password", authed, func(o smtp.Options) smtp.Options {
			o.Username, o.Password = "resetgate", "wrong-battery"
			return o
		}, "535"},
		{"no credentials where auth is required", authed, func(o smtp.Options) smtp.Options { return o },
			"Authentication required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			if err := tt.mp.Delete(ctx); err != nil {
				t.Fatal(err)
			}
			o := tt.opts(mailpitOptions(tt.mp, smtp.TLSStartTLS))
			m := mustMailer(t, o)
			err := m.Send(ctx, message("alice@example.org"))
			if err == nil {
				t.Fatalf("Send() = nil, want an error containing %q", tt.wantErr)
			}
			prefix := "smtp: send to " + net.JoinHostPort(o.Host, strconv.Itoa(o.Port)) + ": "
			if msg := err.Error(); !strings.HasPrefix(msg, prefix) || !strings.Contains(msg, tt.wantErr) {
				t.Errorf("Send() = %q, want %q…%q", msg, prefix, tt.wantErr)
			}
			if o.Password != "" && strings.Contains(err.Error(), o.Password) {
				t.Errorf("Send() = %q, which contains the password", err)
			}
			if errors.Is(err, smtp.ErrInvalidMessage) {
				t.Errorf("Send() = %v, which claims the message is invalid", err)
			}
			mustBeEmpty(t, tt.mp)
		})
	}
}

func TestCheck(t *testing.T) {
	mp := testenv.Mailpit(t, testenv.MailpitSTARTTLS(), testenv.MailpitAuth("resetgate", "correct-horse"))
	ctx := context.Background()

	good := mailpitOptions(mp, smtp.TLSStartTLS)
	good.Username, good.Password = "resetgate", "correct-horse"
	if err := mustMailer(t, good).Check(ctx); err != nil {
		t.Fatalf("Check() = %v, want nil", err)
	}
	mustBeEmpty(t, mp)

	bad := good
	bad.Password = "wrong-battery"
	err := mustMailer(t, bad).Check(ctx)
	if err == nil || !strings.HasPrefix(err.Error(), "smtp: check "+mustMailer(t, bad).Addr()+": ") ||
		!strings.Contains(err.Error(), "535") || strings.Contains(err.Error(), bad.Password) {
		t.Errorf("Check() with a wrong password = %v, want smtp: check %s: …535…, without the password", err, mustMailer(t, bad).Addr())
	}

	untrusted := good
	untrusted.RootCAs = nil
	if err := mustMailer(t, untrusted).Check(ctx); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("Check() with an untrusted certificate = %v, want a certificate error", err)
	}
	mustBeEmpty(t, mp)
}

// closedPort returns a loopback port on which nothing listens.
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

func TestUnreachable(t *testing.T) {
	port := closedPort(t)
	m := mustMailer(t, smtp.Options{Host: "127.0.0.1", Port: port})
	want := "127.0.0.1:" + strconv.Itoa(port)
	for name, err := range map[string]error{
		"Send":  m.Send(context.Background(), message("alice@example.org")),
		"Check": m.Check(context.Background()),
	} {
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "connection refused") {
			t.Errorf("%s() to a closed port = %v, want an error naming %s and the refusal", name, err, want)
		}
	}
}

// silentServer accepts connections and never says a word, like a firewall that swallows
// packets or a hung MTA. Each accepted connection is announced on the returned channel.
func silentServer(t *testing.T) (host string, port int, accepted <-chan struct{}) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	acc := make(chan struct{}, 100)
	go func() {
		defer close(done)
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
			acc <- struct{}{}
		}
	}()
	t.Cleanup(func() { l.Close(); <-done })
	return "127.0.0.1", l.Addr().(*net.TCPAddr).Port, acc
}

func TestSilentServerTimesOut(t *testing.T) {
	host, port, _ := silentServer(t)
	m := mustMailer(t, smtp.Options{Host: host, Port: port, Timeout: 100 * time.Millisecond})
	err := m.Send(context.Background(), message("alice@example.org"))
	if err == nil || !strings.Contains(err.Error(), "timeout") {
		t.Errorf("Send() to a silent server = %v, want a timeout", err)
	}
}

func TestCancel(t *testing.T) {
	host, port, accepted := silentServer(t)
	// A long timeout, so that only the cancellation can end the session.
	m := mustMailer(t, smtp.Options{Host: host, Port: port, Timeout: time.Hour})

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := m.Send(ctx, message("alice@example.org")); !errors.Is(err, context.Canceled) {
		t.Errorf("Send(cancelled ctx) = %v, want context.Canceled", err)
	}

	ctx, cancel = context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- m.Send(ctx, message("alice@example.org")) }()
	<-accepted // connected, now waiting for a greeting that never comes
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("Send() cancelled while waiting for the greeting = %v, want context.Canceled", err)
	}
}

// countingListener records the connections made to it. Connections are accepted in order, so
// once a probe connection made after the code under test has been accepted, every earlier
// connection has been seen too: no sleeping, no guessing.
type countingListener struct {
	l        net.Listener
	accepted chan string // each client's address
}

func newCountingListener(t *testing.T) *countingListener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := &countingListener{l: l, accepted: make(chan string, 100)}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			cl.accepted <- c.RemoteAddr().String()
			c.Close()
		}
	}()
	t.Cleanup(func() { l.Close() })
	return cl
}

// connectionsSoFar returns how many connections were made since its last call.
func (cl *countingListener) connectionsSoFar(t *testing.T) int {
	t.Helper()
	c, err := net.Dial("tcp", cl.l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	probe := c.LocalAddr().String()
	c.Close()
	for n := 0; ; n++ {
		select {
		case a := <-cl.accepted:
			if a == probe {
				return n
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("probe connection %s never accepted", probe)
		}
	}
}

func TestHeaderInjectionRefusedBeforeConnecting(t *testing.T) {
	cl := newCountingListener(t)
	addr := cl.l.Addr().(*net.TCPAddr)
	m := mustMailer(t, smtp.Options{Host: "127.0.0.1", Port: addr.Port, TLS: smtp.TLSNone})

	tests := []struct {
		name string
		edit func(*reset.Message)
	}{
		{"CRLF and Bcc in To", func(m *reset.Message) { m.To = "alice@example.org\r\nBcc: eve@evil.example" }},
		{"LF in To", func(m *reset.Message) { m.To = "alice@example.org\nbcc:eve@evil.example" }},
		{"NUL in To", func(m *reset.Message) { m.To = "alice@example.org\x00eve@evil.example" }},
		{"two recipients", func(m *reset.Message) { m.To = "alice@example.org, eve@evil.example" }},
		{"display name in To", func(m *reset.Message) { m.To = "Eve <eve@evil.example>" }},
		{"CRLF in Subject", func(m *reset.Message) { m.Subject = "Reset\r\nBcc: eve@evil.example" }},
		{"bare CR in Subject", func(m *reset.Message) { m.Subject = "Reset\rBcc: eve@evil.example" }},
		{"NUL in Subject", func(m *reset.Message) { m.Subject = "Reset\x00" }},
		{"encoded CRLF in Subject", func(m *reset.Message) { m.Subject = "=?utf-8?q?Reset=0D=0ABcc:_eve@evil.example?=" }},
		{"empty text part", func(m *reset.Message) { m.Text = "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := message("alice@example.org")
			tt.edit(&msg)
			err := m.Send(context.Background(), msg)
			if !errors.Is(err, smtp.ErrInvalidMessage) {
				t.Errorf("Send(To=%q, Subject=%q) = %v, want ErrInvalidMessage", msg.To, msg.Subject, err)
			}
			if n := cl.connectionsSoFar(t); n != 0 {
				t.Errorf("Send(To=%q, Subject=%q) made %d connection(s), want none", msg.To, msg.Subject, n)
			}
		})
	}
}

func TestNew(t *testing.T) {
	valid := smtp.Options{Host: "smtp.example.com", From: from}
	tests := []struct {
		name     string
		edit     func(*smtp.Options)
		wantErr  string // "" means valid
		wantAddr string
	}{
		{"defaults to starttls on 587", func(o *smtp.Options) {}, "", "smtp.example.com:587"},
		{"implicit tls defaults to 465", func(o *smtp.Options) { o.TLS = smtp.TLSImplicit }, "", "smtp.example.com:465"},
		{"none on localhost defaults to 25", func(o *smtp.Options) { o.Host, o.TLS = "localhost", smtp.TLSNone }, "", "localhost:25"},
		{"none on ::1", func(o *smtp.Options) { o.Host, o.TLS, o.Port = "::1", smtp.TLSNone, 2525 }, "", "[::1]:2525"},
		{"explicit port", func(o *smtp.Options) { o.Port = 2587 }, "", "smtp.example.com:2587"},
		{"bare From address", func(o *smtp.Options) { o.From = "no-reply@example.com" }, "", "smtp.example.com:587"},
		{"none to a remote host", func(o *smtp.Options) { o.TLS = smtp.TLSNone }, "only allowed for a relay on localhost", ""},
		{"unknown tls mode", func(o *smtp.Options) { o.TLS = "ssl" }, `unknown tls mode "ssl"`, ""},
		{"empty host", func(o *smtp.Options) { o.Host = "" }, "host is empty", ""},
		{"CRLF in host", func(o *smtp.Options) { o.Host = "smtp.example.com\r\n" }, "host contains control character", ""},
		{"port out of range", func(o *smtp.Options) { o.Port = 70000 }, "port 70000 is out of range", ""},
		{"negative timeout", func(o *smtp.Options) { o.Timeout = -time.Second }, "negative", ""},
		{"CRLF in From", func(o *smtp.Options) { o.From = "App <a@example.com>\r\nBcc: eve@evil.example" }, "From contains control character", ""},
		{"two From addresses", func(o *smtp.Options) { o.From = "a@example.com, b@example.com" }, "not one address", ""},
		{"encoded word in From", func(o *smtp.Options) { o.From = "=?utf-8?q?A=0D=0AB?= <a@example.com>" }, "encoded word", ""},
		{"empty From", func(o *smtp.Options) { o.From = "" }, "not one address", ""},
		{"LF in username", func(o *smtp.Options) { o.Username = "resetgate\n" }, "username contains control character", ""},
		{"space in HELO name", func(o *smtp.Options) { o.HeloName = "a b" }, "white space", ""},
		{"password with a trailing newline", func(o *smtp.Options) { o.Username, o.Password = "u", "hunter22\n" }, "password contains a control character", ""},
		{"password without username", func(o *smtp.Options) { o.Password = "hunter22" }, "username is empty", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := valid
			tt.edit(&o)
			m, err := smtp.New(o)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("New(%+v) = %v, want nil", o, err)
				}
				if m.Addr() != tt.wantAddr {
					t.Errorf("New(%+v).Addr() = %q, want %q", o, m.Addr(), tt.wantAddr)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New(%+v) = %v, want an error containing %q", o, err, tt.wantErr)
			}
			if o.Password != "" && strings.Contains(err.Error(), strings.TrimSpace(o.Password)) {
				t.Errorf("New() = %q, which contains the password", err)
			}
		})
	}
}
