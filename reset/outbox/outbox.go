// Package outbox is resetgate's development mail transport and its default: instead of talking
// to a mail server it writes each message as an RFC 5322 .eml file into a directory and logs
// the reset link, so that the demo and a first try-out need no SMTP server. It implements
// [reset.Mailer] and builds exactly the messages reset/smtp would send.
//
// This is the only component of resetgate that ever logs a reset link: the outbox is for
// development, where the terminal is the mailbox.
package outbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/mail"
	"os"
	"path/filepath"
	"time"

	gomail "github.com/wneessen/go-mail"

	"resetgate/reset"
	"resetgate/reset/internal/mailmsg"
)

// Ext is the extension of every message file; temporary files never carry it.
const Ext = ".eml"

// ErrInvalidMessage is wrapped by [Mailer.Send] errors about a message that can never be
// written as it is (a control character in a header, a recipient that is not one plain
// address, an empty body).
var ErrInvalidMessage = mailmsg.ErrInvalid

// Mailer writes messages into a directory. It is safe for concurrent use.
type Mailer struct {
	dir  string
	from *mail.Address
	log  *slog.Logger
	now  func() time.Time
	// write puts the message into the temporary file; tests replace it to fail half-way.
	write func(w io.Writer, msg *gomail.Msg) error
}

var _ reset.Mailer = (*Mailer)(nil)

// New returns a Mailer that writes into dir, creating it (mode 0700) if needed, with from as
// the sender, e.g. "Example App <no-reply@example.com>". A nil log means [slog.Default].
func New(dir, from string, log *slog.Logger) (*Mailer, error) {
	f, err := mailmsg.ParseFrom(from)
	if err != nil {
		return nil, fmt.Errorf("outbox: from: %w", err)
	}
	if dir == "" {
		return nil, fmt.Errorf("outbox: empty directory")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	if log == nil {
		log = slog.Default()
	}
	return &Mailer{dir: dir, from: f, log: log, now: time.Now, write: writeMsg}, nil
}

// Dir returns the directory the messages are written to.
func (m *Mailer) Dir() string { return m.dir }

// Send writes msg as one .eml file (mode 0600) and logs, at INFO, the recipient, the file and,
// when msg.Link is set, the link. The file appears atomically under a name that sorts by time
// (UTC, nanoseconds) and is unique: "20260102T150405.123456789Z-1f2e3d4c5b6a7980.eml". On any
// error no file is left behind. Errors about the message itself wrap [ErrInvalidMessage].
func (m *Mailer) Send(ctx context.Context, msg reset.Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := m.now()
	gm, err := mailmsg.Build(m.from, msg, now)
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	var suffix [8]byte
	rand.Read(suffix[:])
	name := now.UTC().Format("20060102T150405.000000000Z") + "-" + hex.EncodeToString(suffix[:]) + Ext
	path := filepath.Join(m.dir, name)
	if err := m.writeFile(path, gm); err != nil {
		return fmt.Errorf("outbox: write %s: %w", path, err)
	}

	attrs := []any{"to", msg.To, "subject", msg.Subject, "file", path}
	if msg.Link != "" {
		attrs = append(attrs, "link", msg.Link)
	}
	m.log.InfoContext(ctx, "mail written to outbox", attrs...)
	return nil
}

// writeFile writes into a temporary file in the same directory, syncs it and renames it into
// place, then syncs the directory: readers never see a partial message, and a message whose
// Send returned nil survives a crash (the queue has been told it was delivered).
func (m *Mailer) writeFile(path string, gm *gomail.Msg) (err error) {
	tmp, err := os.CreateTemp(m.dir, ".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := m.write(tmp, gm); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if err := syncDir(m.dir); err != nil {
		// Send will report failure and the queue will retry: take the file back so that the
		// retry does not leave a duplicate.
		os.Remove(path)
		return err
	}
	return nil
}

// Check reports whether a message could be written now: the directory exists and accepts a
// new file. It is the transport's live check for `resetgate check` and the readiness probe.
func (m *Mailer) Check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f, err := os.CreateTemp(m.dir, ".check-*")
	if err != nil {
		return fmt.Errorf("outbox: check %s: %w", m.dir, err)
	}
	f.Close()
	if err := os.Remove(f.Name()); err != nil {
		return fmt.Errorf("outbox: check %s: %w", m.dir, err)
	}
	return nil
}

func writeMsg(w io.Writer, msg *gomail.Msg) error {
	_, err := msg.WriteTo(w)
	return err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
