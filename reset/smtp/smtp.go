// Package smtp delivers resetgate's mail through an SMTP submission server, implementing
// [reset.Mailer] with github.com/wneessen/go-mail.
//
// Transport security is not negotiable downwards (SECURITY.md RQ-HDR-06): "starttls" requires
// the server to offer STARTTLS and "tls" speaks TLS from the first byte, both verifying the
// certificate against the host name; "none" exists only for a relay on the loopback interface.
// Each message travels on its own connection, to exactly one envelope recipient (RQ-REQ-05),
// and every header value is checked for CR/LF before anything is dialled (RQ-HDR-05).
package smtp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/netip"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
	gosmtp "github.com/wneessen/go-mail/smtp"

	"resetgate/reset"
	"resetgate/reset/internal/mailmsg"
)

// TLS modes for [Options.TLS].
const (
	TLSStartTLS = "starttls" // plain connect, then STARTTLS, which the server must offer (default; port 587)
	TLSImplicit = "tls"      // TLS from the first byte (RFC 8314 "submissions"; port 465)
	TLSNone     = "none"     // no encryption; refused unless Host is a loopback name or address (port 25)
)

// DefaultTimeout bounds the connect and each stage of a session (greeting through AUTH, then
// the whole mail transaction) when [Options.Timeout] is zero.
const DefaultTimeout = 10 * time.Second

// ErrInvalidMessage is wrapped by [Mailer.Send] errors about a message that can never be sent
// as it is (a control character in a header, a recipient that is not one plain address, an
// empty body). Retrying such a message is pointless.
var ErrInvalidMessage = mailmsg.ErrInvalid

// authMechs is the order in which SASL mechanisms are tried. PLAIN and LOGIN only ever go over
// TLS (go-mail refuses them on a plain connection except to localhost), which is the norm for
// submission; CRAM-MD5 is for old local relays.
var authMechs = []gomail.SMTPAuthType{
	gomail.SMTPAuthPlain, gomail.SMTPAuthLogin, gomail.SMTPAuthSCRAMSHA256, gomail.SMTPAuthCramMD5,
}

// Options configure a [Mailer]. Zero values take the documented defaults.
type Options struct {
	Host string
	// Port defaults to 587 for "starttls", 465 for "tls" and 25 for "none".
	Port int
	// TLS is "starttls" (the default), "tls" or "none"; see the TLS* constants.
	TLS string
	// Username and Password authenticate with SMTP AUTH; an empty Username means no AUTH.
	Username string
	Password string
	// From is the sender, one address with an optional display name:
	// "Example App <no-reply@example.com>". It is also the envelope sender, and its domain
	// names the Message-IDs.
	From string
	// HeloName is the name given in EHLO; empty means the machine's host name.
	HeloName string
	// Timeout bounds the connect and each stage of a session; zero means [DefaultTimeout].
	Timeout time.Duration
	// RootCAs verifies the server's certificate; nil means the system roots.
	RootCAs *x509.CertPool
}

// Mailer sends messages over SMTP. It is safe for concurrent use: each call opens its own
// connection.
type Mailer struct {
	o    Options
	addr string // host:port, for errors
	from *mail.Address
	tls  *tls.Config // nil for TLSNone
	now  func() time.Time
}

var _ reset.Mailer = (*Mailer)(nil)

// New validates o and returns a Mailer; nothing is dialled (see [Mailer.Check]). It refuses an
// unknown TLS mode, "none" towards a host that is not loopback, a From that is not exactly one
// address, and a control character (CR, LF, NUL…) in any option; such errors never include the
// password.
func New(o Options) (*Mailer, error) {
	var problems []error
	for _, f := range []struct{ name, value string }{
		{"host", o.Host}, {"username", o.Username}, {"helo name", o.HeloName},
	} {
		if err := mailmsg.CheckHeader(f.name, f.value); err != nil {
			problems = append(problems, err)
		} else if strings.ContainsAny(f.value, " \t") {
			problems = append(problems, fmt.Errorf("%s %q contains white space", f.name, f.value))
		}
	}
	if o.Host == "" {
		problems = append(problems, errors.New("host is empty"))
	}
	if mailmsg.CheckHeader("password", o.Password) != nil {
		// Often a password_file read with its trailing newline. The value is never echoed.
		problems = append(problems, errors.New("password contains a control character (a trailing newline?)"))
	}
	if o.Password != "" && o.Username == "" {
		problems = append(problems, errors.New("password is set but username is empty"))
	}
	from, err := mailmsg.ParseFrom(o.From)
	if err != nil {
		problems = append(problems, fmt.Errorf("from: %w", err))
	}
	if o.Timeout < 0 {
		problems = append(problems, fmt.Errorf("timeout %s is negative", o.Timeout))
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.TLS == "" {
		o.TLS = TLSStartTLS
	}
	defPort := 0
	switch o.TLS {
	case TLSStartTLS:
		defPort = 587
	case TLSImplicit:
		defPort = 465
	case TLSNone:
		defPort = 25
		if o.Host != "" && !isLoopback(o.Host) {
			problems = append(problems, fmt.Errorf("tls %q is only allowed for a relay on localhost, not %q; use %q or %q",
				TLSNone, o.Host, TLSStartTLS, TLSImplicit))
		}
	default:
		problems = append(problems, fmt.Errorf("unknown tls mode %q (want %q, %q or %q)", o.TLS, TLSStartTLS, TLSImplicit, TLSNone))
	}
	if o.Port == 0 {
		o.Port = defPort
	}
	if o.Port < 1 || o.Port > 65535 {
		problems = append(problems, fmt.Errorf("port %d is out of range", o.Port))
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("smtp: %w", errors.Join(problems...))
	}

	m := &Mailer{o: o, addr: net.JoinHostPort(o.Host, strconv.Itoa(o.Port)), from: from, now: time.Now}
	if o.TLS != TLSNone {
		m.tls = &tls.Config{ServerName: o.Host, RootCAs: o.RootCAs, MinVersion: tls.VersionTLS12}
	}
	return m, nil
}

// Addr returns the server's host:port.
func (m *Mailer) Addr() string { return m.addr }

// Send delivers msg to msg.To, its one envelope and header recipient, on a new connection. The
// message carries Date, a Message-ID in the From domain and a text part, plus an HTML
// alternative when msg.HTML is set. An invalid message (see [ErrInvalidMessage]) fails before
// anything is dialled. Errors read "smtp: send to host:port: …"; they never contain the password.
// Cancelling ctx aborts the session.
func (m *Mailer) Send(ctx context.Context, msg reset.Message) error {
	gm, err := mailmsg.Build(m.from, msg, m.now())
	if err != nil {
		// A message that cannot be built now never will be.
		return fmt.Errorf("smtp: send to %s: %w: %w", m.addr, reset.ErrMailRejected, err)
	}
	err = m.session(ctx, func(c *gomail.Client, sc *gosmtp.Client) error {
		return c.SendWithSMTPClient(sc, gm)
	})
	if permanent(err) {
		return fmt.Errorf("smtp: send to %s: %w: %w", m.addr, reset.ErrMailRejected, err)
	}
	if err != nil {
		return fmt.Errorf("smtp: send to %s: %w", m.addr, err)
	}
	return nil
}

// permanent reports whether the relay refused this message for good: a 5xx reply to RCPT TO
// (no such recipient) or to DATA (the content was refused). A 5xx to anything else (AUTH,
// MAIL FROM) is the relay's or the config's problem, which an operator can mend, so those
// stay retried (RFC 5321 §4.2.1).
func permanent(err error) bool {
	var se *gomail.SendError
	if !errors.As(err, &se) || se.IsTemp() || se.ErrorCode() < 500 || se.ErrorCode() > 599 {
		return false
	}
	switch se.Reason {
	case gomail.ErrSMTPRcptTo, gomail.ErrSMTPData, gomail.ErrSMTPDataClose:
		return true
	}
	return false
}

// Check connects, completes STARTTLS or the TLS handshake and AUTH exactly as [Mailer.Send]
// would, then says QUIT without sending anything: the live check behind `resetgate check` and
// the readiness probe.
func (m *Mailer) Check(ctx context.Context) error {
	if err := m.session(ctx, nil); err != nil {
		return fmt.Errorf("smtp: check %s: %w", m.addr, err)
	}
	return nil
}

// session dials, runs EHLO, TLS and AUTH, then fn (if any), then QUIT. go-mail closes nothing
// when the greeting, STARTTLS or AUTH fails, so the connection is captured at dial time and
// closed here on every path, and also as soon as ctx is done.
func (m *Mailer) session(ctx context.Context, fn func(*gomail.Client, *gosmtp.Client) error) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	var (
		conn net.Conn
		stop = func() bool { return false }
	)
	dial := func(dctx context.Context, network, addr string) (net.Conn, error) {
		d := &net.Dialer{}
		var c net.Conn
		var err error
		if m.o.TLS == TLSImplicit {
			// A *tls.Conn, so that go-mail's SMTP client knows the session is encrypted.
			c, err = (&tls.Dialer{NetDialer: d, Config: m.tls}).DialContext(dctx, network, addr)
		} else {
			c, err = d.DialContext(dctx, network, addr)
		}
		if err != nil {
			return nil, err
		}
		conn = c
		stop = context.AfterFunc(ctx, func() { c.Close() })
		return c, nil
	}
	defer func() {
		stop()
		if conn != nil {
			conn.Close()
		}
		if err != nil && ctx.Err() != nil {
			err = fmt.Errorf("%w (%v)", context.Cause(ctx), err)
		}
	}()

	opts := []gomail.Option{
		gomail.WithPort(m.o.Port),
		gomail.WithTimeout(m.o.Timeout),
		gomail.WithDialContextFunc(dial),
		// A fresh connection needs neither a NOOP before the transaction nor a RSET after it.
		gomail.WithoutNoop(),
		gomail.WithoutRset(),
	}
	switch m.o.TLS {
	case TLSStartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory), gomail.WithTLSConfig(m.tls))
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL(), gomail.WithTLSConfig(m.tls))
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if m.o.HeloName != "" {
		opts = append(opts, gomail.WithHELO(m.o.HeloName))
	}
	if m.o.Username != "" {
		opts = append(opts, gomail.WithOpportunisticSMTPAuth(authMechs...),
			gomail.WithUsername(m.o.Username), gomail.WithPassword(m.o.Password))
	}
	c, err := gomail.NewClient(m.o.Host, opts...)
	if err != nil {
		return err
	}
	sc, err := c.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return err
	}
	if fn != nil {
		if err := fn(c, sc); err != nil {
			return err
		}
		// The server has accepted the message: a failing QUIT must not make the queue send
		// it a second time.
		_ = sc.Quit()
		return nil
	}
	return sc.Quit()
}

// isLoopback reports whether host is "localhost" or a loopback IP address.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}
