package mailmsg

import (
	"bytes"
	"errors"
	"io"
	"maps"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"slices"
	"strings"
	"testing"
	"time"

	"resetgate/reset"
)

var now = time.Date(2026, 3, 14, 15, 9, 26, 0, time.FixedZone("CET", 3600))

func mustFrom(t testing.TB, s string) *mail.Address {
	t.Helper()
	a, err := ParseFrom(s)
	if err != nil {
		t.Fatalf("ParseFrom(%q) = %v", s, err)
	}
	return a
}

func sample() reset.Message {
	return reset.Message{
		To:      "Alice@Example.org",
		Subject: "Réinitialiser votre mot de passe — Example App, un sujet assez long pour être replié sur deux lignes",
		Text:    "Bonjour,\n\nhttps://app.example.com/pwreset/" + strings.Repeat("x", 43) + "\n",
		HTML:    "<p>Bonjour,</p>\n<p><a href=\"https://app.example.com/pwreset/x\">Choisir</a></p>",
	}
}

// parsed is a written message read back with the standard library only.
type parsed struct {
	header mail.Header
	parts  []part // one for a text/plain message
}

type part struct {
	contentType string
	body        string
}

func mustWriteAndParse(t testing.TB, from *mail.Address, m reset.Message) parsed {
	t.Helper()
	msg, err := Build(from, m, now)
	if err != nil {
		t.Fatalf("Build(%+v) = %v", m, err)
	}
	var buf bytes.Buffer
	if _, err := msg.WriteTo(&buf); err != nil {
		t.Fatalf("WriteTo() = %v", err)
	}
	raw := buf.Bytes()
	pm, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("mail.ReadMessage(%q) = %v", raw, err)
	}
	p := parsed{header: pm.Header}
	mt, params, err := mime.ParseMediaType(pm.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("Content-Type %q: %v", pm.Header.Get("Content-Type"), err)
	}
	if mt != "multipart/alternative" {
		p.parts = []part{{mt, mustDecode(t, pm.Header.Get("Content-Transfer-Encoding"), pm.Body)}}
		return p
	}
	mr := multipart.NewReader(pm.Body, params["boundary"])
	for {
		mp, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("multipart: %v", err)
		}
		ct, ps, err := mime.ParseMediaType(mp.Header.Get("Content-Type"))
		if err != nil || ps["charset"] != "UTF-8" {
			t.Fatalf("part Content-Type %q: %v, want a UTF-8 charset", mp.Header.Get("Content-Type"), err)
		}
		p.parts = append(p.parts, part{ct, mustDecode(t, mp.Header.Get("Content-Transfer-Encoding"), mp)})
	}
	return p
}

func mustDecode(t testing.TB, cte string, r io.Reader) string {
	t.Helper()
	if cte != "quoted-printable" {
		t.Fatalf("Content-Transfer-Encoding = %q, want quoted-printable", cte)
	}
	b, err := io.ReadAll(quotedprintable.NewReader(r))
	if err != nil {
		t.Fatalf("quoted-printable: %v", err)
	}
	return strings.ReplaceAll(string(b), "\r\n", "\n")
}

// decodeHeader undoes RFC 2047 encoding and line folding. Folding may turn a run of white
// space into one space, so white space is compared normalised.
func decodeHeader(t testing.TB, v string) string {
	t.Helper()
	d, err := new(mime.WordDecoder).DecodeHeader(v)
	if err != nil {
		t.Fatalf("DecodeHeader(%q) = %v", v, err)
	}
	return d
}

func normSpace(s string) string { return strings.Join(strings.Fields(s), " ") }

var wantHeaders = []string{"Auto-Submitted", "Content-Type", "Date", "From", "Message-Id", "Mime-Version", "Subject", "To"}

// checkHeaderSet fails unless the message has exactly the expected header fields, each once:
// no injected Bcc, no second To, no library User-Agent.
func checkHeaderSet(t testing.TB, h mail.Header, textOnly bool) {
	t.Helper()
	want := wantHeaders
	if textOnly {
		want = append(slices.Clone(want), "Content-Transfer-Encoding")
		slices.Sort(want)
	}
	got := slices.Sorted(maps.Keys(h))
	if !slices.Equal(got, want) {
		t.Fatalf("header fields = %q, want %q", got, want)
	}
	for k, v := range h {
		if len(v) != 1 {
			t.Fatalf("header %s appears %d times, want once", k, len(v))
		}
	}
}

func TestBuild(t *testing.T) {
	from := mustFrom(t, "Exämple App <no-reply@example.com>")
	m := sample()
	p := mustWriteAndParse(t, from, m)
	checkHeaderSet(t, p.header, false)

	if got, err := p.header.AddressList("From"); err != nil || len(got) != 1 || *got[0] != *from {
		t.Errorf("From = %v (%v), want %v", got, err, from)
	}
	if got, err := p.header.AddressList("To"); err != nil || len(got) != 1 || got[0].Address != m.To || got[0].Name != "" {
		t.Errorf("To = %v (%v), want exactly <%s>", got, err, m.To)
	}
	if got := decodeHeader(t, p.header.Get("Subject")); normSpace(got) != normSpace(m.Subject) {
		t.Errorf("Subject = %q, want %q", got, m.Subject)
	}
	if got, err := p.header.Date(); err != nil || !got.Equal(now) {
		t.Errorf("Date = %v (%v), want %v", got, err, now)
	}
	if id := p.header.Get("Message-Id"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@example.com>") || len(id) < 30 {
		t.Errorf("Message-ID = %q, want <random@example.com>", id)
	}
	if got := p.header.Get("Auto-Submitted"); got != "auto-generated" {
		t.Errorf("Auto-Submitted = %q, want auto-generated", got)
	}
	want := []part{{"text/plain", m.Text}, {"text/html", m.HTML}}
	if !slices.Equal(p.parts, want) {
		t.Errorf("parts = %q, want %q", p.parts, want)
	}
}

// A mail says which language it is written in (RFC 3282).
func TestBuildContentLanguage(t *testing.T) {
	m := sample()
	m.Language = "pt-BR"
	p := mustWriteAndParse(t, mustFrom(t, "no-reply@example.com"), m)
	if got := p.header.Get("Content-Language"); got != "pt-BR" {
		t.Errorf("Content-Language = %q, want pt-BR", got)
	}
}

func TestBuildTextOnly(t *testing.T) {
	m := sample()
	m.HTML = ""
	p := mustWriteAndParse(t, mustFrom(t, "no-reply@example.com"), m)
	checkHeaderSet(t, p.header, true)
	want := []part{{"text/plain", m.Text}}
	if !slices.Equal(p.parts, want) {
		t.Errorf("parts = %q, want %q", p.parts, want)
	}
}

func TestBuildRefuses(t *testing.T) {
	from := mustFrom(t, "no-reply@example.com")
	tests := []struct {
		name string
		edit func(*reset.Message)
	}{
		{"CRLF in To", func(m *reset.Message) { m.To = "a@example.org\r\nBcc: eve@evil.example" }},
		{"LF in To", func(m *reset.Message) { m.To = "a@example.org\n" }},
		{"two addresses in To", func(m *reset.Message) { m.To = "a@example.org,eve@evil.example" }},
		{"semicolon list in To", func(m *reset.Message) { m.To = "a@example.org;eve@evil.example" }},
		{"display name in To", func(m *reset.Message) { m.To = "Eve <eve@evil.example>" }},
		{"quoted local part in To", func(m *reset.Message) { m.To = `"eve@evil.example"@example.org` }},
		{"encoded word in To", func(m *reset.Message) { m.To = "=?utf-8?q?eve?=@example.org" }},
		{"empty To", func(m *reset.Message) { m.To = "" }},
		{"CRLF in Subject", func(m *reset.Message) { m.Subject = "Hi\r\nBcc: eve@evil.example" }},
		{"bare CR in Subject", func(m *reset.Message) { m.Subject = "Hi\rthere" }},
		{"NUL in Subject", func(m *reset.Message) { m.Subject = "Hi\x00" }},
		{"NEL in Subject", func(m *reset.Message) { m.Subject = "Hi\u0085there" }},
		{"invalid UTF-8 in Subject", func(m *reset.Message) { m.Subject = "Hi\xff" }},
		{"encoded word in Subject", func(m *reset.Message) { m.Subject = "=?utf-8?q?Hi=0D=0ABcc:_eve@evil.example?=" }},
		{"blank Subject", func(m *reset.Message) { m.Subject = " \t" }},
		{"empty text", func(m *reset.Message) { m.Text = "" }},
		{"header in Language", func(m *reset.Message) { m.Language = "de\r\nBcc: eve@evil.example" }},
		{"not a tag in Language", func(m *reset.Message) { m.Language = "de; q=1" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := sample()
			tt.edit(&m)
			if _, err := Build(from, m, now); !errors.Is(err, ErrInvalid) {
				t.Errorf("Build(To=%q, Subject=%q) = %v, want ErrInvalid", m.To, m.Subject, err)
			}
		})
	}
}

func TestParseFrom(t *testing.T) {
	tests := []struct {
		in       string
		wantName string // ignored when wantErr
		wantAddr string
		wantErr  bool
	}{
		{in: "Example App <no-reply@example.com>", wantName: "Example App", wantAddr: "no-reply@example.com"},
		{in: "no-reply@example.com", wantAddr: "no-reply@example.com"},
		{in: `"Example, Inc." <no-reply@example.com>`, wantName: "Example, Inc.", wantAddr: "no-reply@example.com"},
		{in: "Zoë Café <zoe@example.com>", wantName: "Zoë Café", wantAddr: "zoe@example.com"},
		{in: "App <No-Reply@Example.com>", wantName: "App", wantAddr: "No-Reply@Example.com"},
		{in: "", wantErr: true},
		{in: "App <no-reply@example.com>\r\nBcc: eve@evil.example", wantErr: true},
		{in: "App\n <no-reply@example.com>", wantErr: true},
		{in: "App\x00 <no-reply@example.com>", wantErr: true},
		{in: "a@example.com, b@example.com", wantErr: true},
		{in: "undisclosed-recipients:;", wantErr: true},
		{in: "=?utf-8?q?App=0D=0ABcc:_eve@evil.example?= <a@example.com>", wantErr: true},
		{in: `"a b"@example.com`, wantErr: true},
		{in: "App", wantErr: true},
		{in: "App <no-reply>", wantErr: true},
	}
	for _, tt := range tests {
		a, err := ParseFrom(tt.in)
		if tt.wantErr {
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("ParseFrom(%q) = %v, %v, want ErrInvalid", tt.in, a, err)
			}
			continue
		}
		if err != nil || a.Name != tt.wantName || a.Address != tt.wantAddr {
			t.Errorf("ParseFrom(%q) = %+v, %v, want {%s %s}", tt.in, a, err, tt.wantName, tt.wantAddr)
		}
	}
}

func TestRecipient(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{in: "Alice@Example.org", want: "Alice@Example.org"},
		{in: " alice@example.org ", want: "alice@example.org"},
		{in: "jörg@example.org", want: "jörg@example.org"},
		{in: "alice@example.org\r\n", wantErr: true},
		{in: "alice@example.org\t", wantErr: true},
		{in: "alice@example.org,eve@evil.example", wantErr: true},
		{in: "<alice@example.org>", wantErr: true},
		{in: "alice", wantErr: true},
	}
	for _, tt := range tests {
		got, err := Recipient(tt.in)
		if tt.wantErr {
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("Recipient(%q) = %q, %v, want ErrInvalid", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Recipient(%q) = %q, %v, want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestMessageID(t *testing.T) {
	tests := []struct{ sender, wantSuffix string }{
		{"no-reply@example.com", "@example.com"},
		{"no-reply@Mail.Example.COM", "@mail.example.com"},
		{"no-reply@exämple.com", "@" + fallbackIDDomain},
		{"no-reply", "@" + fallbackIDDomain},
		{"no-reply@", "@" + fallbackIDDomain},
	}
	for _, tt := range tests {
		if got := MessageID(tt.sender); !strings.HasSuffix(got, tt.wantSuffix) || len(got) < len(tt.wantSuffix)+26 {
			t.Errorf("MessageID(%q) = %q, want 26 random characters then %q", tt.sender, got, tt.wantSuffix)
		}
	}
	seen := map[string]bool{}
	for range 1000 {
		id := MessageID("a@example.com")
		if seen[id] {
			t.Fatalf("MessageID repeated %q", id)
		}
		seen[id] = true
	}
}

// FuzzBuild checks the header-injection guarantee (RQ-HDR-05, RQ-REQ-05) for any recipient and
// subject: either Build refuses them, or the written message has exactly the expected header
// fields, exactly one To address equal to the input, and the subject intact.
func FuzzBuild(f *testing.F) {
	f.Add("alice@example.org", "Reset your password")
	f.Add(" Alice@Example.org ", "Réinitialiser — mot de passe")
	f.Add("alice@example.org\r\nBcc: eve@evil.example", "Hi")
	f.Add("alice@example.org", "Hi\r\nBcc: eve@evil.example")
	f.Add("a@b.c", "=?utf-8?q?x?=")
	f.Add("jörg@example.org", strings.Repeat("word ", 40))
	f.Add("a@example.org", "x\u2028y")
	from := mustFrom(f, "Example App <no-reply@example.com>")
	f.Fuzz(func(t *testing.T, to, subject string) {
		m := reset.Message{To: to, Subject: subject, Text: "text", HTML: "<p>html</p>"}
		if _, err := Build(from, m, now); err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Build(To=%q, Subject=%q) = %v, want nil or ErrInvalid", to, subject, err)
			}
			return
		}
		if strings.ContainsAny(to+subject, "\r\n\x00") {
			t.Fatalf("Build(To=%q, Subject=%q) accepted a CR, LF or NUL", to, subject)
		}
		p := mustWriteAndParse(t, from, m)
		checkHeaderSet(t, p.header, false)
		addrs, err := p.header.AddressList("To")
		if err != nil || len(addrs) != 1 || addrs[0].Address != strings.Trim(to, " ") || addrs[0].Name != "" {
			t.Fatalf("Build(To=%q): To header %q parses as %v (%v), want exactly that address",
				to, p.header.Get("To"), addrs, err)
		}
		if got := decodeHeader(t, p.header.Get("Subject")); normSpace(got) != normSpace(subject) {
			t.Fatalf("Build(Subject=%q): Subject header %q decodes to %q", subject, p.header.Get("Subject"), got)
		}
	})
}

// FuzzParseFrom checks that an accepted sender is written back as exactly that one address
// and name, with no extra header.
func FuzzParseFrom(f *testing.F) {
	f.Add("Example App <no-reply@example.com>")
	f.Add(`"Example, Inc." <no-reply@example.com>`)
	f.Add("App <a@example.com>\r\nBcc: eve@evil.example")
	f.Add("=?utf-8?q?A=0D=0AB?= <a@example.com>")
	f.Add("Zoë <zoe@example.com>")
	f.Fuzz(func(t *testing.T, s string) {
		from, err := ParseFrom(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("ParseFrom(%q) = %v, want nil or ErrInvalid", s, err)
			}
			return
		}
		if strings.ContainsAny(s, "\r\n\x00") {
			t.Fatalf("ParseFrom(%q) accepted a CR, LF or NUL", s)
		}
		p := mustWriteAndParse(t, from, sample())
		checkHeaderSet(t, p.header, false)
		got, err := p.header.AddressList("From")
		if err != nil || len(got) != 1 || got[0].Address != from.Address || normSpace(got[0].Name) != normSpace(from.Name) {
			t.Fatalf("ParseFrom(%q) = %+v, written as %q, read back as %v (%v)", s, from, p.header.Get("From"), got, err)
		}
	})
}
