// Package mailmsg builds the one kind of e-mail resetgate sends, for both mail adapters
// (reset/smtp puts it on the wire, reset/outbox writes it to a file), so that the two can never
// disagree on headers or structure.
//
// Every header is built from the configured From, the stored recipient and the rendered
// subject, and each of those is checked before anything is built: a value that could end a
// header line or smuggle a second recipient is refused with [ErrInvalid]
// (SECURITY.md RQ-HDR-05, RQ-REQ-05).
package mailmsg

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	gomail "github.com/wneessen/go-mail"

	"resetgate/reset"
)

// ErrInvalid is wrapped by every error about a message or an address that cannot be sent as
// given. Retrying does not help: the same input fails the same way.
var ErrInvalid = errors.New("invalid message")

// fallbackIDDomain names the Message-ID domain when the From domain is not plain ASCII (an IDN
// would need punycode, and no resolver is wanted here); .invalid is reserved by RFC 2606.
const fallbackIDDomain = "resetgate.invalid"

// ParseFrom parses the configured sender, e.g. "Example App <no-reply@example.com>": exactly one
// address, with an optional display name written in plain UTF-8. Control characters (CR, LF,
// NUL…) anywhere, RFC 2047 encoded words, lists, groups and quoted local parts are refused with
// [ErrInvalid].
func ParseFrom(s string) (*mail.Address, error) {
	if err := CheckHeader("From", s); err != nil {
		return nil, err
	}
	if strings.Contains(s, "=?") {
		// net/mail would decode an encoded word into the name, and the decoded text may hold
		// the very control characters refused above.
		return nil, fmt.Errorf("%w: From %q contains an encoded word; write the name in plain UTF-8", ErrInvalid, s)
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return nil, fmt.Errorf("%w: From %q is not one address: %v", ErrInvalid, s, err)
	}
	if err := CheckHeader("From name", a.Name); err != nil {
		return nil, err
	}
	if _, err := reset.ParseEmail(a.Address); err != nil {
		return nil, fmt.Errorf("%w: From address %q is not a plain address", ErrInvalid, a.Address)
	}
	return a, nil
}

// Recipient checks that to is one plain address as [reset.ParseEmail] defines it and returns
// it with surrounding spaces removed but otherwise as stored (not case-folded), so that mail
// goes to exactly the address the legacy app holds.
func Recipient(to string) (string, error) {
	if err := CheckHeader("To", to); err != nil {
		return "", err
	}
	if _, err := reset.ParseEmail(to); err != nil {
		return "", fmt.Errorf("%w: To %q is not one plain address", ErrInvalid, to)
	}
	return strings.Trim(to, " "), nil
}

// CheckHeader refuses, with [ErrInvalid], a value that is not valid UTF-8 or contains a
// control character other than TAB: CR and LF would end the header line and start another
// (header injection), NUL truncates in C-based MTAs, and the rest have no business in a header.
// field names the value in the error; the value itself is quoted, never echoed raw.
func CheckHeader(field, value string) error {
	if !utf8.ValidString(value) {
		return fmt.Errorf("%w: %s is not valid UTF-8", ErrInvalid, field)
	}
	for _, r := range value {
		if r != '\t' && unicode.IsControl(r) {
			return fmt.Errorf("%w: %s contains control character %U", ErrInvalid, field, r)
		}
	}
	return nil
}

// languageTag is the shape of a BCP 47 tag, all a Content-Language header may hold.
var languageTag = regexp.MustCompile(`^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$`)

// Build returns m as a go-mail message from from to the one recipient m.To: Date (now), a fresh
// Message-ID in the From domain, Auto-Submitted, Content-Language when m.Language is set, and a body that is multipart/alternative
// (text, then HTML) when m.HTML is set and text/plain otherwise. m.Text must not be empty: a
// text part keeps the mail readable everywhere and out of spam folders. Errors wrap
// [ErrInvalid]. from must come from [ParseFrom].
func Build(from *mail.Address, m reset.Message, now time.Time) (*gomail.Msg, error) {
	to, err := Recipient(m.To)
	if err != nil {
		return nil, err
	}
	if err := CheckHeader("Subject", m.Subject); err != nil {
		return nil, err
	}
	if strings.Contains(m.Subject, "=?") {
		// go-mail leaves ASCII text unencoded, so a literal encoded word would be decoded by the
		// reader's mail program into text we never checked.
		return nil, fmt.Errorf("%w: Subject contains an encoded word (=?)", ErrInvalid)
	}
	if strings.TrimSpace(m.Subject) == "" {
		return nil, fmt.Errorf("%w: empty Subject", ErrInvalid)
	}
	if m.Text == "" {
		return nil, fmt.Errorf("%w: empty text part", ErrInvalid)
	}

	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	msg.FromMailAddress(&mail.Address{Name: from.Name, Address: from.Address})
	// One address object, never a parsed list: the To header and the envelope hold exactly this
	// recipient (RQ-REQ-05).
	msg.ToMailAddress(&mail.Address{Address: to})
	msg.Subject(m.Subject)
	msg.SetDateWithValue(now)
	msg.SetMessageIDWithValue(MessageID(from.Address))
	// RFC 3834 §5: machine-generated, so vacation responders and auto-forwarders stay quiet.
	msg.SetGenHeader(gomail.Header("Auto-Submitted"), "auto-generated")
	if m.Language != "" {
		// RFC 3282: the language the mail is written in, for screen readers and for clients
		// that offer to translate.
		if !languageTag.MatchString(m.Language) {
			return nil, fmt.Errorf("%w: Content-Language %q is not a language tag", ErrInvalid, m.Language)
		}
		msg.SetGenHeader(gomail.Header("Content-Language"), m.Language)
	}
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}

// MessageID returns a new globally unique Message-ID body (without angle brackets): 128 random
// bits at the domain of the sender address, as RFC 5322 §3.6.4 suggests.
func MessageID(sender string) string {
	return rand.Text() + "@" + idDomain(sender)
}

func idDomain(sender string) string {
	at := strings.LastIndexByte(sender, '@')
	if at < 0 {
		return fallbackIDDomain
	}
	d := strings.ToLower(sender[at+1:])
	if d == "" {
		return fallbackIDDomain
	}
	for i := 0; i < len(d); i++ {
		c := d[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
			return fallbackIDDomain
		}
	}
	return d
}
