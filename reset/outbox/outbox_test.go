package outbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	gomail "github.com/wneessen/go-mail"

	"resetgate/reset"
)

const from = "Example App <no-reply@example.com>"

// mustMailer returns a Mailer writing into a fresh directory (not yet existing, so New must
// create it) with a clock that starts at start and advances one millisecond per message, and
// a buffer receiving its JSON log.
func mustMailer(t *testing.T, start time.Time) (*Mailer, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	dir := filepath.Join(t.TempDir(), "data", "outbox")
	m, err := New(dir, from, slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatalf("New(%q, %q) = %v", dir, from, err)
	}
	clock := start
	m.now = func() time.Time {
		clock = clock.Add(time.Millisecond)
		return clock
	}
	return m, &logs
}

func message(to, link string) reset.Message {
	return reset.Message{
		To:      to,
		Subject: "Reset your Example App password",
		Text:    "Hello,\n\nopen " + link + " to choose a new password.\n",
		HTML:    `<p>Hello,</p><p><a href="` + link + `">Choose a new password</a>.</p>`,
		Link:    link,
	}
}

// entries lists every directory entry, temporary or not.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	return names
}

// logLines decodes the JSON log, one record per line.
func logLines(t *testing.T, logs *bytes.Buffer) []map[string]any {
	t.Helper()
	var recs []map[string]any
	for line := range strings.Lines(logs.String()) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		recs = append(recs, rec)
	}
	return recs
}

type eml struct {
	header mail.Header
	text   string
	html   string
}

// mustParse reads a .eml file with net/mail and mime/multipart only, as a mail client would.
func mustParse(t *testing.T, path string) eml {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	msg, err := mail.ReadMessage(f)
	if err != nil {
		t.Fatalf("mail.ReadMessage(%s) = %v", path, err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("%s: Content-Type %q (%v), want multipart/alternative", path, msg.Header.Get("Content-Type"), err)
	}
	e := eml{header: msg.Header}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: multipart: %v", path, err)
		}
		if cte := p.Header.Get("Content-Transfer-Encoding"); cte != "quoted-printable" {
			t.Fatalf("%s: Content-Transfer-Encoding %q, want quoted-printable", path, cte)
		}
		b, err := io.ReadAll(quotedprintable.NewReader(p))
		if err != nil {
			t.Fatalf("%s: quoted-printable: %v", path, err)
		}
		body := strings.ReplaceAll(string(b), "\r\n", "\n")
		switch ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type")); ct {
		case "text/plain":
			e.text = body
		case "text/html":
			e.html = body
		default:
			t.Fatalf("%s: unexpected part %q", path, ct)
		}
	}
	return e
}

var nameRE = regexp.MustCompile(`^\d{8}T\d{6}\.\d{9}Z-[0-9a-f]{16}\.eml$`)

func TestSend(t *testing.T) {
	start := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	m, logs := mustMailer(t, start)
	ctx := context.Background()

	fi, err := os.Stat(m.Dir())
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("outbox directory mode = %v (%v), want 0700", fi.Mode().Perm(), err)
	}

	sent := []reset.Message{
		message("Alice@Example.org", "https://app.example.com/pwreset/first"),
		message("bob@example.org", "https://app.example.com/pwreset/second"),
		{To: "carol@example.org", Subject: "Your password was changed", Text: "It was changed.", HTML: "<p>It was changed.</p>"},
	}
	for _, msg := range sent {
		if err := m.Send(ctx, msg); err != nil {
			t.Fatalf("Send(%q) = %v, want nil", msg.To, err)
		}
	}

	names := entries(t, m.Dir())
	if len(names) != len(sent) {
		t.Fatalf("outbox holds %q, want %d files", names, len(sent))
	}
	// ReadDir sorts by name; names sort by time, so this is the order of sending.
	for i, name := range names {
		if !nameRE.MatchString(name) {
			t.Errorf("file name %q, want like 20260501T120000.001000000Z-0123456789abcdef.eml", name)
		}
		path := filepath.Join(m.Dir(), name)
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v (%v), want 0600", name, fi.Mode().Perm(), err)
		}
		e := mustParse(t, path)
		want := sent[i]
		if got, err := e.header.AddressList("To"); err != nil || len(got) != 1 || got[0].Address != want.To {
			t.Errorf("%s: To = %v (%v), want exactly %s", name, got, err, want.To)
		}
		if got, err := e.header.AddressList("From"); err != nil || len(got) != 1 ||
			*got[0] != (mail.Address{Name: "Example App", Address: "no-reply@example.com"}) {
			t.Errorf("%s: From = %v (%v), want %s", name, got, err, from)
		}
		if got := e.header.Get("Subject"); got != want.Subject {
			t.Errorf("%s: Subject = %q, want %q", name, got, want.Subject)
		}
		wantDate := start.Add(time.Duration(i+1) * time.Millisecond).Truncate(time.Second)
		if got, err := e.header.Date(); err != nil || !got.Equal(wantDate) {
			t.Errorf("%s: Date = %v (%v), want %v", name, got, err, wantDate)
		}
		if id := e.header.Get("Message-Id"); !strings.HasSuffix(id, "@example.com>") || !strings.HasPrefix(id, "<") {
			t.Errorf("%s: Message-ID = %q, want <random@example.com>", name, id)
		}
		if e.text != want.Text || e.html != want.HTML {
			t.Errorf("%s: parts text=%q html=%q, want %q and %q", name, e.text, e.html, want.Text, want.HTML)
		}
	}
	if first := names[0]; !strings.HasPrefix(first, "20260501T120000.001000000Z-") {
		t.Errorf("first file %q, want it named after its UTC time 2026-05-01 12:00:00.001", first)
	}

	recs := logLines(t, logs)
	if len(recs) != len(sent) {
		t.Fatalf("%d log records, want one per message:\n%s", len(recs), logs)
	}
	for i, rec := range recs {
		if rec["level"] != "INFO" || rec["to"] != sent[i].To || rec["file"] != filepath.Join(m.Dir(), names[i]) {
			t.Errorf("log record %v, want INFO with to=%s and file=%s", rec, sent[i].To, names[i])
		}
		link, hasLink := rec["link"]
		if sent[i].Link == "" && hasLink {
			t.Errorf("log record %v has a link, want none for a message without one", rec)
		}
		if sent[i].Link != "" && link != sent[i].Link {
			t.Errorf("log record link = %v, want %s", link, sent[i].Link)
		}
	}
}

func TestSameInstantNamesDiffer(t *testing.T) {
	m, _ := mustMailer(t, time.Now())
	m.now = func() time.Time { return time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC) }
	for range 20 {
		if err := m.Send(context.Background(), message("alice@example.org", "")); err != nil {
			t.Fatal(err)
		}
	}
	if names := entries(t, m.Dir()); len(names) != 20 {
		t.Errorf("20 messages at the same instant left %d files, want 20", len(names))
	}
}

func TestSendFailureLeavesNothing(t *testing.T) {
	errDiskFull := errors.New("no space left on device")
	tests := []struct {
		name    string
		setup   func(*Mailer) context.Context
		msg     reset.Message
		wantErr error
	}{
		{"write fails half-way", func(m *Mailer) context.Context {
			m.write = func(w io.Writer, msg *gomail.Msg) error {
				var buf bytes.Buffer
				msg.WriteTo(&buf)
				w.Write(buf.Bytes()[:buf.Len()/2])
				return errDiskFull
			}
			return context.Background()
		}, message("alice@example.org", "https://app.example.com/pwreset/x"), errDiskFull},
		{"header injection in To", func(*Mailer) context.Context { return context.Background() },
			message("alice@example.org\r\nBcc: eve@evil.example", "https://app.example.com/pwreset/x"), ErrInvalidMessage},
		{"CR in Subject", func(*Mailer) context.Context { return context.Background() },
			reset.Message{To: "alice@example.org", Subject: "Hi\rBcc: eve@evil.example", Text: "x"}, ErrInvalidMessage},
		{"cancelled", func(*Mailer) context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx
		}, message("alice@example.org", "https://app.example.com/pwreset/x"), context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, logs := mustMailer(t, time.Now())
			ctx := tt.setup(m)
			if err := m.Send(ctx, tt.msg); !errors.Is(err, tt.wantErr) {
				t.Errorf("Send(To=%q) = %v, want %v", tt.msg.To, err, tt.wantErr)
			}
			if names := entries(t, m.Dir()); len(names) != 0 {
				t.Errorf("outbox holds %q after a failed Send, want nothing", names)
			}
			if logs.Len() != 0 {
				t.Errorf("failed Send logged %q, want nothing (and never the link)", logs)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	m, _ := mustMailer(t, time.Now())
	if err := m.Check(context.Background()); err != nil {
		t.Fatalf("Check() = %v, want nil", err)
	}
	if names := entries(t, m.Dir()); len(names) != 0 {
		t.Errorf("Check() left %q behind", names)
	}
	if err := os.RemoveAll(m.Dir()); err != nil {
		t.Fatal(err)
	}
	if err := m.Check(context.Background()); err == nil || !strings.Contains(err.Error(), m.Dir()) {
		t.Errorf("Check() on a removed directory = %v, want an error naming %s", err, m.Dir())
	}
}

func TestNew(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, dir, from string
		wantInvalid     bool
	}{
		{"CRLF in from", dir, "App <a@example.com>\r\nBcc: eve@evil.example", true},
		{"two senders", dir, "a@example.com, b@example.com", true},
		{"empty directory name", "", from, false},
		{"directory is a file", filepath.Join(file, "outbox"), from, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := New(tt.dir, tt.from, nil)
			if err == nil {
				t.Fatalf("New(%q, %q) = %v, nil, want an error", tt.dir, tt.from, m)
			}
			if got := errors.Is(err, ErrInvalidMessage); got != tt.wantInvalid {
				t.Errorf("New(%q, %q) = %v; errors.Is(ErrInvalidMessage) = %v, want %v", tt.dir, tt.from, err, got, tt.wantInvalid)
			}
		})
	}
	// An existing directory is used as it is.
	if _, err := New(dir, from, nil); err != nil {
		t.Errorf("New(%q) on an existing directory = %v, want nil", dir, err)
	}
}
