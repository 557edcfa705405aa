package reset_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"resetgate/reset"
)

var wasntMeLinkRE = regexp.MustCompile(`https://app\.example\.com/pwreset/wasnt-me/([A-Za-z0-9_-]+)`)

// changed walks alice through a reset and returns the "password changed" notice and the raw
// value of its "this wasn't me" link.
func (f *fixture) changed(t *testing.T) (reset.Message, string) {
	t.Helper()
	raw := f.link(t)
	if _, err := f.svc.CompleteReset(context.Background(), raw, "a brand new secret", "a brand new secret", "192.0.2.1"); err != nil {
		t.Fatalf("CompleteReset = %v", err)
	}
	before := len(f.mailer.Sent())
	f.drain()
	sent := f.mailer.Sent()[before:]
	if len(sent) != 1 || !strings.Contains(sent[0].Subject, "changed") {
		t.Fatalf("mails after the reset = %+v, want the changed notice", sent)
	}
	m := wasntMeLinkRE.FindStringSubmatch(sent[0].Text)
	if m == nil || !strings.Contains(sent[0].HTML, m[0]) {
		t.Fatalf("the notice carries no this-wasn't-me link in text and HTML:\n%s", sent[0].Text)
	}
	return sent[0], m[1]
}

// logBuffer is a JSON audit log the test can read.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// events returns the log lines whose "event" is event.
func (b *logBuffer) events(event string) []map[string]any {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for line := range strings.SplitSeq(b.buf.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["event"] == event {
			out = append(out, m)
		}
	}
	return out
}

func withLog(b *logBuffer) func(*reset.Options) {
	return func(o *reset.Options) { o.Logger = slog.New(slog.NewJSONHandler(b, nil)) }
}

func TestWasntMe(t *testing.T) {
	var log logBuffer
	f := newFixture(t, withLog(&log))
	ctx := context.Background()
	notice, wm := f.changed(t)
	if !strings.Contains(notice.Text, "7 days") {
		t.Errorf("the notice does not say how long the link works:\n%s", notice.Text)
	}
	pending := f.link(t) // say the intruder asked for another link meanwhile

	// Opening the link (a mail scanner, or the owner) changes nothing.
	for range 3 {
		if err := f.svc.CheckWasntMe(ctx, wm); err != nil {
			t.Fatalf("CheckWasntMe = %v, want nil", err)
		}
	}
	if _, err := f.svc.CheckToken(ctx, pending, "192.0.2.1"); err != nil {
		t.Fatalf("opening the this-wasn't-me link voided the pending link: %v", err)
	}

	before := len(f.mailer.Sent())
	// Confirmed on a page in Hebrew: the fresh link's mail is in Hebrew.
	if err := f.svc.ConfirmWasntMe(reset.WithLanguage(ctx, "he"), wm, "198.51.100.7"); err != nil {
		t.Fatalf("ConfirmWasntMe = %v, want nil", err)
	}
	if _, err := f.svc.CheckToken(ctx, pending, "192.0.2.1"); !errors.Is(err, reset.ErrTokenInvalid) {
		t.Errorf("pending link after the confirmation: CheckToken = %v, want ErrTokenInvalid", err)
	}
	f.drain()
	sent := f.mailer.Sent()[before:]
	if len(sent) != 1 || sent[0].To != alice.Email || sent[0].Link == "" {
		t.Fatalf("mails after the confirmation = %+v, want one fresh reset link to %s", sent, alice.Email)
	}
	if sent[0].Language != "he" {
		t.Errorf("the fresh link's mail is in %q, want he, the confirmation page's language", sent[0].Language)
	}
	fresh := strings.TrimPrefix(sent[0].Link, "https://app.example.com/pwreset/")
	if _, err := f.svc.CheckToken(ctx, fresh, "198.51.100.7"); err != nil {
		t.Errorf("the fresh link does not work: CheckToken = %v", err)
	}
	audit := log.events("reset.wasnt_me")
	if len(audit) != 1 || audit[0]["outcome"] != "confirmed" || audit[0]["user_id"] != "1" || audit[0]["ip"] != "198.51.100.7" {
		t.Errorf("audit events = %v, want one confirmed for user 1 from 198.51.100.7", audit)
	}
	if strings.Contains(log.buf.String(), wm) {
		t.Errorf("the this-wasn't-me link reached the log")
	}
	if n := f.count(reset.EventWasntMe); n != 1 {
		t.Errorf("wasnt_me_confirmed events = %d, want 1", n)
	}

	// Single use: a second confirmation is "already done", and does nothing again.
	if err := f.svc.ConfirmWasntMe(ctx, wm, "198.51.100.7"); !errors.Is(err, reset.ErrWasntMeUsed) {
		t.Errorf("second ConfirmWasntMe = %v, want ErrWasntMeUsed", err)
	}
	if err := f.svc.CheckWasntMe(ctx, wm); !errors.Is(err, reset.ErrWasntMeUsed) {
		t.Errorf("CheckWasntMe after use = %v, want ErrWasntMeUsed", err)
	}
	f.drain()
	if n := len(f.mailer.Sent()) - before; n != 1 {
		t.Errorf("the second confirmation sent mail: %d mails in all, want 1", n)
	}
	if _, err := f.svc.CheckToken(ctx, fresh, "198.51.100.7"); err != nil {
		t.Errorf("the second confirmation voided the fresh link: %v", err)
	}
	// The mark outlives the link: the link is dead for good, not usable again later.
	f.clock.Advance(reset.DefaultWasntMeTTL - time.Minute)
	if err := f.svc.ConfirmWasntMe(ctx, wm, "198.51.100.7"); !errors.Is(err, reset.ErrWasntMeUsed) {
		t.Errorf("ConfirmWasntMe near the end of its life = %v, want ErrWasntMeUsed", err)
	}
}

func TestWasntMeConfirmedConcurrently(t *testing.T) {
	f := newFixture(t, nil)
	_, wm := f.changed(t)
	before := len(f.mailer.Sent())
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() { errs[i] = f.svc.ConfirmWasntMe(context.Background(), wm, "198.51.100.7") })
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, reset.ErrWasntMeUsed):
			t.Errorf("ConfirmWasntMe = %v, want nil or ErrWasntMeUsed", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d of %d concurrent confirmations succeeded, want exactly 1", ok, len(errs))
	}
	f.drain()
	if n := len(f.mailer.Sent()) - before; n != 1 {
		t.Errorf("concurrent confirmations sent %d fresh links, want 1", n)
	}
}

func TestWasntMeExpires(t *testing.T) {
	for _, tc := range []struct {
		name string
		ttl  time.Duration
		says string
	}{
		{"default, a week", 0, "7 days"},
		{"configured", 2 * time.Hour, "2 hours"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, func(o *reset.Options) { o.WasntMeTTL = tc.ttl })
			notice, wm := f.changed(t)
			if !strings.Contains(notice.Text, tc.says) {
				t.Errorf("the notice does not say %q:\n%s", tc.says, notice.Text)
			}
			ttl := tc.ttl
			if ttl == 0 {
				ttl = reset.DefaultWasntMeTTL
			}
			f.clock.Advance(ttl - time.Second)
			if err := f.svc.CheckWasntMe(context.Background(), wm); err != nil {
				t.Fatalf("CheckWasntMe a second before expiry = %v, want nil", err)
			}
			f.clock.Advance(time.Second)
			if err := f.svc.CheckWasntMe(context.Background(), wm); !errors.Is(err, reset.ErrWasntMeInvalid) {
				t.Errorf("CheckWasntMe at expiry = %v, want ErrWasntMeInvalid", err)
			}
			if err := f.svc.ConfirmWasntMe(context.Background(), wm, "198.51.100.7"); !errors.Is(err, reset.ErrWasntMeInvalid) {
				t.Errorf("ConfirmWasntMe at expiry = %v, want ErrWasntMeInvalid", err)
			}
		})
	}
}

func TestWasntMeRefusesForgedLinks(t *testing.T) {
	f := newFixture(t, nil)
	_, wm := f.changed(t)
	flip := []byte(wm)
	flip[len(flip)/2] ^= 'A' ^ 'B'
	if flip[len(flip)/2] == wm[len(wm)/2] {
		t.Fatal("flip changed nothing")
	}
	other := newFixture(t, nil) // another installation: another key
	_, foreign := other.changed(t)
	resetToken, _ := reset.NewToken()
	for _, tc := range []struct{ name, raw string }{
		{"empty", ""},
		{"one bit changed", string(flip)},
		{"truncated", wm[:len(wm)-4]},
		{"not base64url", wm[:10] + "!" + wm[11:]},
		{"padded", wm + "="},
		{"far too long", strings.Repeat("A", 10000)},
		{"a reset token", resetToken},
		{"another installation's link", foreign},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := f.svc.CheckWasntMe(context.Background(), tc.raw); !errors.Is(err, reset.ErrWasntMeInvalid) {
				t.Errorf("CheckWasntMe(%.20q) = %v, want ErrWasntMeInvalid", tc.raw, err)
			}
			if err := f.svc.ConfirmWasntMe(context.Background(), tc.raw, "203.0.113.9"); !errors.Is(err, reset.ErrWasntMeInvalid) {
				t.Errorf("ConfirmWasntMe(%.20q) = %v, want ErrWasntMeInvalid", tc.raw, err)
			}
		})
	}
	// The genuine link still works after all that.
	if err := f.svc.ConfirmWasntMe(context.Background(), wm, "198.51.100.7"); err != nil {
		t.Errorf("ConfirmWasntMe(genuine) = %v, want nil", err)
	}
}

func TestWasntMeAccountGone(t *testing.T) {
	f := newFixture(t, nil)
	_, wm := f.changed(t)
	f.users.Delete("1")
	before := len(f.mailer.Sent())
	// The page answers as for any account: nothing tells that this one is gone.
	if err := f.svc.ConfirmWasntMe(context.Background(), wm, "198.51.100.7"); err != nil {
		t.Fatalf("ConfirmWasntMe = %v, want nil", err)
	}
	f.drain()
	if n := len(f.mailer.Sent()) - before; n != 0 {
		t.Errorf("%d mails for a deleted account, want 0", n)
	}
}

// enqueueFails is a store whose next Enqueue fails once armed.
type enqueueFails struct {
	reset.Store
	armed atomic.Bool
}

func (s *enqueueFails) Enqueue(ctx context.Context, j reset.Job) error {
	if s.armed.CompareAndSwap(true, false) {
		return errors.New("disk full")
	}
	return s.Store.Enqueue(ctx, j)
}

func TestWasntMeStoreFailureKeepsTheLink(t *testing.T) {
	var st *enqueueFails
	f := newFixture(t, func(o *reset.Options) { st = &enqueueFails{Store: o.Store}; o.Store = st })
	_, wm := f.changed(t)
	st.armed.Store(true)
	if err := f.svc.ConfirmWasntMe(context.Background(), wm, "198.51.100.7"); !errors.Is(err, reset.ErrUnavailable) {
		t.Fatalf("ConfirmWasntMe with a failing store = %v, want ErrUnavailable", err)
	}
	if err := f.svc.ConfirmWasntMe(context.Background(), wm, "198.51.100.7"); err != nil {
		t.Fatalf("ConfirmWasntMe retried = %v, want nil: the link must survive a failure", err)
	}
}
