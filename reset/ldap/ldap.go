// Package ldap is the legacy app's accounts in an LDAP directory (OpenLDAP, 389 Directory
// Server, Active Directory and others): it implements [reset.Users] and [reset.PlainPasswordSetter] over
// github.com/go-ldap/ldap/v3.
//
// Accounts are found by mail under a base DN with a configured filter, bound as a service
// account. A new password is written with the Password Modify extended operation (RFC 3062)
// when the server offers it, so that the directory hashes it under its own scheme and password
// policy (ppolicy); otherwise userPassword is replaced, in the scheme the entry already has, by
// one modify that deletes the old value and adds the new one: the compare-and-swap, as the
// delete fails when the old value is gone. Refusals of the directory's password policy come
// back as a [reset.PolicyError] with a sentence for the user.
//
// Active Directory offers neither: it takes a new password as unicodePwd, the password in
// double quotes in UTF-16LE, replaced in one modify over an encrypted connection
// (activedirectory.go).
//
// Every call opens its own connection (TLS verified, bound as the service account) and closes
// it: a reset service makes a few calls a minute, and nothing then depends on how long a
// server or a load balancer keeps idle connections.
package ldap

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"resetgate/reset"
)

// Options says which directory to use and how its accounts look. URL, BindDN, BindPassword,
// BaseDN are required; every other field has a documented default.
type Options struct {
	// URL is ldap://host[:389], ldaps://host[:636] or ldapi://(socket path, URL-encoded).
	URL string
	// TLS is "starttls" (ldap://, upgraded before binding; the default), "ldaps" (for
	// ldaps:// URLs) or "none". Certificates are always verified, against CAFile if set.
	TLS string
	// CAFile is a PEM file of the certificates that may sign the server's; default the system's.
	CAFile string
	// AllowPlaintext permits TLS "none" to a host that is not loopback. Without it, Open
	// refuses: the service account's password and every new password would cross the network
	// in clear.
	AllowPlaintext bool

	// BindDN and BindPassword are the service account's.
	BindDN, BindPassword string
	// BaseDN is where accounts are searched (whole subtree).
	BaseDN string
	// Filter finds an account by address; {email} stands for the address, escaped as RFC 4515
	// asks, so that no input can change the filter. Default "(mail={email})".
	Filter string
	// IDAttribute names the attribute that identifies an account in tokens, e.g. "uid" or
	// "entryUUID"; default "" uses the entry's DN.
	IDAttribute string
	// MailAttribute holds the address mail goes to; default "mail". With several values, an
	// account is found by any of them and mail goes to the first.
	MailAttribute string
	// NameAttribute holds a display name; default "cn". "-" means none.
	NameAttribute string
	// LanguageAttribute holds the account's own language, read into [reset.User.Language]
	// so that its mails are written in it, e.g. "preferredLanguage" (inetOrgPerson, RFC
	// 2798). Its value may be in Accept-Language syntax ("da, en-gb;q=0.8"): only the first
	// tag is kept. Empty (the default) means none.
	LanguageAttribute string
	// ChangedAttribute stands in for userPassword in the link's fingerprint when the service
	// account cannot read userPassword: a value that changes whenever the password does.
	// Default "entryCSN" (OpenLDAP; changes with every modification of the entry, so a link may
	// die for an unrelated edit, never survive a password change). When an entry lacks it,
	// modifyTimestamp is used.
	ChangedAttribute string
	// PasswordWrite is "auto" (the default: unicodePwd if the root DSE says the server is
	// Active Directory, else the extended operation if the root DSE lists it, else
	// userPassword), "extended", "attribute" or "unicodepwd" (Active Directory; needs TLS).
	PasswordWrite string
	// CaseSensitive makes addresses match exactly (after trimming) instead of by
	// [reset.NormalizeEmail].
	CaseSensitive bool
	// Timeout bounds connecting, and each request; default 10s.
	Timeout time.Duration
}

// Defaults for the zero fields of [Options].
const (
	DefaultFilter           = "(mail={email})"
	DefaultMailAttribute    = "mail"
	DefaultNameAttribute    = "cn"
	DefaultChangedAttribute = "entryCSN"
	DefaultTimeout          = 10 * time.Second
)

// passwordModifyOID is the Password Modify extended operation (RFC 3062).
const passwordModifyOID = "1.3.6.1.4.1.4203.1.11.1"

// maxCandidates caps the entries FindUser reads for one address; a filter matching more is
// broken, and choosing from a truncated list could miss a duplicate.
const maxCandidates = 20

// Users is an LDAP directory's accounts. It implements [reset.Users] and
// [reset.PlainPasswordSetter] and is safe for concurrent use.
type Users struct {
	o        Options
	u        *url.URL
	tls      *tls.Config
	base     *goldap.DN
	extended bool // writes use the Password Modify extended operation
	ad       bool // writes replace Active Directory's unicodePwd
	// changedSet: Options.ChangedAttribute was configured, not defaulted.
	changedSet bool
	assertion  bool // the server takes the assertion control (RFC 4528) on a modify
}

var (
	_ reset.Users               = (*Users)(nil)
	_ reset.PlainPasswordSetter = (*Users)(nil)
)

// Open validates o, connects, binds as the service account and reads the root DSE to choose
// how passwords are written. Errors name the option at fault, or say which server could not be
// reached and why; they never contain the bind password.
func Open(ctx context.Context, o Options) (*Users, error) {
	changedSet := o.ChangedAttribute != ""
	u, ps := o.validate()
	if len(ps) > 0 {
		return nil, ps[0]
	}
	users := &Users{o: o, u: u, changedSet: changedSet}
	users.base, _ = goldap.ParseDN(o.BaseDN) // validated
	if o.TLS != "none" {
		users.tls = &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12}
		if o.CAFile != "" {
			pem, err := os.ReadFile(o.CAFile)
			if err != nil {
				return nil, fmt.Errorf("ldap: ca_file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("ldap: ca_file %s holds no PEM certificate", o.CAFile)
			}
			users.tls.RootCAs = pool
		}
	}
	if err := users.choosePath(ctx); err != nil {
		return nil, err
	}
	return users, nil
}

// Problem is one thing wrong with [Options]: the option, named as in resetgate's config
// ([users.ldap] keys), and what is wrong with it.
type Problem struct {
	Option, Msg string
}

func (p Problem) Error() string { return "ldap: " + p.Option + ": " + p.Msg }

// Problems fills o's defaults and returns everything wrong with it, without connecting.
func (o Options) Problems() []Problem {
	_, ps := o.validate()
	return ps
}

// validate fills the defaults and checks o.
func (o *Options) validate() (*url.URL, []Problem) {
	if o.Filter == "" {
		o.Filter = DefaultFilter
	}
	if o.MailAttribute == "" {
		o.MailAttribute = DefaultMailAttribute
	}
	switch o.NameAttribute {
	case "":
		o.NameAttribute = DefaultNameAttribute
	case "-":
		o.NameAttribute = ""
	}
	if o.ChangedAttribute == "" {
		o.ChangedAttribute = DefaultChangedAttribute
	}
	if o.PasswordWrite == "" {
		o.PasswordWrite = "auto"
	}
	if o.TLS == "" {
		o.TLS = "starttls"
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	var ps []Problem
	bad := func(option, format string, args ...any) {
		ps = append(ps, Problem{option, fmt.Sprintf(format, args...)})
	}
	u := &url.URL{Scheme: "ldapi"} // a socket path, in go-ldap's own ldapi:// form
	if !strings.HasPrefix(o.URL, "ldapi://") {
		var err error
		if u, err = url.Parse(o.URL); err != nil || u.Host == "" || u.User != nil || strings.Trim(u.Path, "/") != "" || u.RawQuery != "" {
			bad("url", "%q must be ldap://host[:port], ldaps://host[:port] or ldapi://socket, without a user, DN or filter", o.URL)
			u = nil
		}
	}
	switch {
	case u == nil:
	case u.Scheme != "ldap" && u.Scheme != "ldaps" && u.Scheme != "ldapi":
		bad("url", "%q must start with ldap://, ldaps:// or ldapi://", o.URL)
	case !slices.Contains([]string{"starttls", "ldaps", "none"}, o.TLS):
		bad("tls", "%q is not one of starttls, ldaps, none", o.TLS)
	case u.Scheme == "ldaps" && o.TLS != "ldaps":
		bad("tls", "an ldaps:// url speaks TLS from the first byte: set tls = \"ldaps\"")
	case u.Scheme == "ldap" && o.TLS == "ldaps":
		bad("tls", "tls = \"ldaps\" needs an ldaps:// url (port 636), or use starttls with ldap://")
	case u.Scheme == "ldapi" && o.TLS != "none":
		bad("tls", "an ldapi:// socket is local: set tls = \"none\"")
	case o.TLS == "none" && u.Scheme == "ldap" && !isLoopback(u.Hostname()) && !o.AllowPlaintext:
		bad("tls", "\"none\" would send the service account's password and every new password in clear to %s; use starttls or ldaps (or set allow_plaintext = true if the network between is trusted)", u.Host)
	}
	if o.CAFile != "" && o.TLS == "none" {
		bad("ca_file", "is set, but tls = \"none\" checks no certificate")
	}
	switch {
	case !slices.Contains([]string{"auto", "extended", "attribute", "unicodepwd"}, o.PasswordWrite):
		bad("password_write", "%q is not one of auto, extended, attribute, unicodepwd", o.PasswordWrite)
	case o.PasswordWrite == "unicodepwd" && o.TLS == "none":
		bad("password_write", "%s", errADPlain)
	}
	if msg := checkFilter(o.Filter); msg != "" {
		bad("filter", "%s", msg)
	}
	for _, a := range []struct{ key, name string }{
		{"id_attribute", o.IDAttribute}, {"mail_attribute", o.MailAttribute},
		{"name_attribute", o.NameAttribute}, {"changed_attribute", o.ChangedAttribute},
		{"language_attribute", o.LanguageAttribute},
	} {
		if a.name != "" && !validAttr(a.name) {
			bad(a.key, "%q is not an attribute name (letters, digits and hyphens, starting with a letter)", a.name)
		}
	}
	if _, err := goldap.ParseDN(o.BindDN); o.BindDN == "" || err != nil {
		bad("bind_dn", "required: the service account's DN, e.g. \"cn=resetgate,ou=services,dc=example,dc=org\"")
	}
	if o.BindPassword == "" {
		// An empty password makes a simple bind anonymous (RFC 4513 §5.1.2), which would
		// "succeed" and then find nothing.
		bad("bind_password", "required and not empty (an empty password would bind anonymously)")
	}
	if dn, err := goldap.ParseDN(o.BaseDN); o.BaseDN == "" || err != nil || len(dn.RDNs) == 0 {
		bad("base_dn", "%q is not a DN; set where the accounts are, e.g. \"ou=people,dc=example,dc=org\"", o.BaseDN)
	}
	return u, ps
}

// checkFilter says what is wrong with a filter template, or "".
func checkFilter(filter string) string {
	if !strings.Contains(filter, "{email}") {
		return fmt.Sprintf("%q must contain {email}, where the address goes, e.g. \"(mail={email})\"", filter)
	}
	if _, err := goldap.CompileFilter(expand(filter, "someone@example.com")); err != nil {
		return fmt.Sprintf("%q is not a valid LDAP filter (RFC 4515): %v", filter, err)
	}
	return ""
}

// expand puts the address into the filter, escaped so that it can only ever be one assertion
// value: "*", "(", ")", "\" and NUL become \2a, \28, \29, \5c and \00 (RFC 4515 §3).
func expand(filter, email string) string {
	return strings.ReplaceAll(filter, "{email}", goldap.EscapeFilter(email))
}

func validAttr(s string) bool {
	for i, c := range s {
		letter := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		if !letter && (i == 0 || !('0' <= c && c <= '9' || c == '-')) {
			return false
		}
	}
	return s != ""
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// conn is one connection bound as the service account, closed by done.
func (u *Users) conn(ctx context.Context) (*goldap.Conn, func(), error) {
	timeout := u.o.Timeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(dl))
	}
	opts := []goldap.DialOpt{goldap.DialWithDialer(&net.Dialer{Timeout: timeout})}
	if u.o.TLS == "ldaps" {
		opts = append(opts, goldap.DialWithTLSConfig(u.tls))
	}
	c, err := goldap.DialURL(u.o.URL, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("ldap: connect to %s: %w", u.where(), err)
	}
	c.SetTimeout(timeout)
	stop := context.AfterFunc(ctx, func() { c.Close() })
	done := func() {
		stop()
		c.Close()
	}
	if u.o.TLS == "starttls" {
		if err := c.StartTLS(u.tls); err != nil {
			done()
			return nil, nil, fmt.Errorf("ldap: StartTLS with %s: %w", u.where(), err)
		}
	}
	if err := c.Bind(u.o.BindDN, u.o.BindPassword); err != nil {
		done()
		return nil, nil, fmt.Errorf("ldap: bind as %s at %s: %w", u.o.BindDN, u.where(), err)
	}
	return c, done, nil
}

// where names the server without credentials, for errors.
func (u *Users) where() string {
	if u.u.Scheme == "ldapi" {
		return u.o.URL
	}
	return u.u.Scheme + "://" + u.u.Host
}

// Close releases nothing: every call closes its own connection. It exists so that Users fits
// where a closable store is expected.
func (u *Users) Close() error { return nil }

// Ping connects and binds as the service account.
func (u *Users) Ping(ctx context.Context) error {
	_, done, err := u.conn(ctx)
	if err != nil {
		return err
	}
	done()
	return nil
}

// Check binds, reads the base DN and the root DSE again, and runs the filter once with an
// address that matches no one, so that a wrong base, a filter the server rejects or a lost
// extended operation shows before the first reset.
func (u *Users) Check(ctx context.Context) error {
	c, done, err := u.conn(ctx)
	if err != nil {
		return err
	}
	defer done()
	if _, err := c.Search(goldap.NewSearchRequest(u.o.BaseDN, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 1, 0, false,
		"(objectClass=*)", []string{"1.1"}, nil)); err != nil {
		return fmt.Errorf("ldap: read base_dn %s: %w", u.o.BaseDN, err)
	}
	if _, err := u.search(c, expand(u.o.Filter, "resetgate-check@invalid")); err != nil {
		return err
	}
	d, err := rootDSE(c)
	if err != nil {
		return err
	}
	u.assertion = d.assertion
	if u.extended && !d.passwordModify {
		return fmt.Errorf("ldap: %s no longer offers the Password Modify extended operation; restart resetgate to write userPassword instead", u.where())
	}
	return nil
}
