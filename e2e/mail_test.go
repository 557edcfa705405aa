package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"resetgate/internal/testenv"
)

// message is one mail as the user's mail program would see it, parsed from the raw bytes by
// the standard library, whatever mailbox it came from.
type message struct {
	header     mail.Header
	subject    string
	text, html string
	// envelope lists every envelope recipient when the mailbox knows them (Mailpit does; the
	// outbox writes files with no envelope), else it is nil.
	envelope []string
	// seen is how the mailbox itself decoded the message (Mailpit's parser), to cross-check
	// ours; empty for the outbox.
	seenText, seenHTML string
}

// mailbox is where resetgate's mail arrives in a scenario.
type mailbox interface {
	// wait returns the first n messages, oldest first, once at least n have arrived.
	wait(ctx context.Context, n int) ([]*message, error)
}

// mailpitBox reads a real Mailpit server's HTTP API.
type mailpitBox struct{ mp *testenv.MailpitServer }

func (b mailpitBox) wait(ctx context.Context, n int) ([]*message, error) {
	list, err := b.mp.WaitMessages(ctx, n)
	if err != nil {
		return nil, err
	}
	list = slices.Clone(list)
	slices.Reverse(list) // the API lists the newest first
	var msgs []*message
	for _, s := range list[:n] {
		d, err := b.mp.Message(ctx, s.ID)
		if err != nil {
			return nil, err
		}
		m, err := parseMessage(d.Raw)
		if err != nil {
			return nil, fmt.Errorf("mailpit message %s: %w", s.ID, err)
		}
		m.envelope = []string{}
		for _, a := range slices.Concat(s.To, s.Cc, s.Bcc) {
			m.envelope = append(m.envelope, a.Address)
		}
		m.seenText, m.seenHTML = d.Text, d.HTML
		msgs = append(msgs, m)
	}
	return msgs, nil
}

// outboxBox reads the .eml files resetgate's outbox transport writes; their names sort by time.
type outboxBox struct{ dir string }

func (b outboxBox) wait(ctx context.Context, n int) ([]*message, error) {
	for {
		files, err := filepath.Glob(filepath.Join(b.dir, "*.eml"))
		if err != nil {
			return nil, err
		}
		if len(files) >= n {
			slices.Sort(files)
			var msgs []*message
			for _, f := range files[:n] {
				raw, err := os.ReadFile(f)
				if err != nil {
					return nil, err
				}
				m, err := parseMessage(raw)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", f, err)
				}
				msgs = append(msgs, m)
			}
			return msgs, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("outbox %s: waiting for %d message(s), %d there: %w", b.dir, n, len(files), ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// parseMessage parses an RFC 5322 message with its MIME parts, keeping the first text/plain
// and text/html parts, decoded.
func parseMessage(raw []byte) (*message, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	m := &message{header: msg.Header}
	if m.subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err != nil {
		return nil, fmt.Errorf("subject: %w", err)
	}
	if err := m.walk(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *message) walk(contentType, encoding string, body io.Reader) error {
	if contentType == "" {
		contentType = "text/plain"
	}
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return fmt.Errorf("content type %q: %w", contentType, err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		r := multipart.NewReader(body, params["boundary"])
		for {
			// NextRawPart: the transfer encoding is decoded below, the same for every part.
			p, err := r.NextRawPart()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			if err := m.walk(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p); err != nil {
				return err
			}
		}
	}
	switch strings.ToLower(encoding) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, &newlineStripper{r: body})
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return fmt.Errorf("%s part: %w", mt, err)
	}
	if cs := strings.ToLower(params["charset"]); cs != "" && cs != "utf-8" && cs != "us-ascii" {
		return fmt.Errorf("%s part: charset %q, want utf-8", mt, cs)
	}
	switch {
	case mt == "text/plain" && m.text == "":
		m.text = string(b)
	case mt == "text/html" && m.html == "":
		m.html = string(b)
	}
	return nil
}

// newlineStripper drops CR and LF, which base64 bodies carry every 76 characters.
type newlineStripper struct{ r io.Reader }

func (s *newlineStripper) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	j := 0
	for _, c := range p[:n] {
		if c != '\r' && c != '\n' {
			p[j] = c
			j++
		}
	}
	return j, err
}

var (
	msgIDShape = regexp.MustCompile(`^<[^<>@\s]+@[^<>@\s]+>$`)
	anyURL     = regexp.MustCompile(`https?://[^\s"'<>]+`)
)

// checkCommon returns what is wrong with a message from resetgate to the user at to, by the
// rules every message must follow: one recipient (the account's stored address), a Date near
// the test's time, a well-formed Message-ID, a text and an HTML part that agree, and links only
// to the public origin.
func checkCommon(m *message, to string, public *url.URL, since time.Time) []string {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	if addrs, err := m.header.AddressList("To"); err != nil || len(addrs) != 1 || !strings.EqualFold(addrs[0].Address, to) {
		bad("To = %q (%v), want exactly <%s>", m.header.Get("To"), err, to)
	}
	if m.envelope != nil && (len(m.envelope) != 1 || !strings.EqualFold(m.envelope[0], to)) {
		bad("envelope recipients %q, want exactly [%s] (SECURITY.md RQ-REQ-05)", m.envelope, to)
	}
	if _, err := m.header.AddressList("From"); err != nil {
		bad("From = %q: %v", m.header.Get("From"), err)
	}
	// Date: well-formed and about now; an hour either way only rules out garbage such as a
	// zero time, and no speed is measured.
	if d, err := m.header.Date(); err != nil {
		bad("Date = %q: %v", m.header.Get("Date"), err)
	} else if d.Before(since.Add(-time.Hour)) || d.After(time.Now().Add(time.Hour)) {
		bad("Date = %s, want about %s", d, since)
	}
	if id := m.header.Get("Message-ID"); !msgIDShape.MatchString(id) {
		bad("Message-ID = %q, want <local@domain>", id)
	}
	if strings.TrimSpace(m.text) == "" {
		bad("no text/plain part")
	}
	if strings.TrimSpace(m.html) == "" || !strings.Contains(strings.ToLower(m.html), "<html") {
		bad("no text/html part")
	}
	for _, part := range []string{m.text, m.html} {
		for _, u := range anyURL.FindAllString(part, -1) {
			if pu, err := url.Parse(u); err != nil || pu.Scheme != public.Scheme || pu.Host != public.Host {
				bad("link %q is not on the public origin %s://%s (SECURITY.md RQ-LNK-01)", u, public.Scheme, public.Host)
			}
		}
	}
	if m.envelope != nil {
		// Mailpit decoded the same parts as we did: the message is not only readable to Go.
		if norm(m.seenText) != norm(m.text) {
			bad("Mailpit's text part differs from ours:\n%s\n---\n%s", m.seenText, m.text)
		}
		if strings.TrimSpace(m.seenHTML) == "" {
			bad("Mailpit sees no HTML part")
		}
	}
	return problems
}

func norm(s string) string { return strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n")) }

// resetLink returns the one reset link of a reset mail, checking that the text and the HTML
// part carry the same one and that it is {public_url}{prefix}/{token}.
func resetLink(m *message, public *url.URL, prefix string) (link, token string, err error) {
	re := regexp.MustCompile(`https?://[^\s"'<>]+` + regexp.QuoteMeta(prefix) + `/([A-Za-z0-9_-]+)`)
	var inText [][]string
	for _, l := range re.FindAllStringSubmatch(m.text, -1) {
		if l[1] != "code" { // the typed code's page, {prefix}/code, is no reset link
			inText = append(inText, l)
		}
	}
	if len(inText) != 1 {
		return "", "", fmt.Errorf("text part has %d reset links, want 1:\n%s", len(inText), m.text)
	}
	link, token = inText[0][0], inText[0][1]
	if !strings.Contains(m.html, `href="`+link+`"`) {
		return "", "", fmt.Errorf("HTML part has no link to %s:\n%s", link, m.html)
	}
	if want := strings.TrimSuffix(public.String(), "/") + prefix + "/" + token; link != want {
		return "", "", fmt.Errorf("link %s, want %s (built from public_url)", link, want)
	}
	// 32 random bytes in unpadded base64url (SECURITY.md RQ-TOK-01).
	if b, err := base64.RawURLEncoding.DecodeString(token); err != nil || len(b) != 32 {
		return "", "", fmt.Errorf("token %q is not 32 bytes of base64url", token)
	}
	return link, token, nil
}
