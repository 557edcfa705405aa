package reset_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"resetgate/reset"
	"resetgate/reset/resettest"
)

// plainHasher is a test hasher: "test$" + password. Real schemes live in reset/passhash.
type plainHasher struct{ max int }

func (h plainHasher) Hash(pw string) (string, error) { return "test$" + pw, nil }
func (h plainHasher) MaxPasswordBytes() int          { return h.max }
func (h plainHasher) Scheme() string                 { return "test" }

type hashers struct {
	h   reset.Hasher
	err error
}

func (hs hashers) For(string, string) (reset.Hasher, error) { return hs.h, hs.err }

// refuse is a PasswordChecker that refuses one word.
type refuse string

func (r refuse) Check(pw string, _ reset.User) []reset.Problem {
	if strings.Contains(pw, string(r)) {
		return []reset.Problem{{Key: "password.common"}}
	}
	return nil
}

// inEnglish writes problems as the English page shows them.
func inEnglish(problems []reset.Problem) string {
	en := resettest.Languages().Language("en")
	var b []string
	for _, p := range problems {
		b = append(b, en.Text(p.Key, p.Args...))
	}
	return strings.Join(b, " ")
}

var alice = reset.User{ID: "1", Email: "Alice@Example.com", Name: "Alice", PasswordHash: "test$old-password"}

type fixture struct {
	svc    *reset.Service
	users  *resettest.Users
	store  *resettest.MemStore
	mailer *resettest.Mailer
	clock  *resettest.Clock
	events sync.Map // reset.Event → *atomic.Int64
}

func (f *fixture) count(e reset.Event) int64 {
	v, ok := f.events.Load(e)
	if !ok {
		return 0
	}
	return v.(*atomic.Int64).Load()
}

func newFixture(t *testing.T, mod func(*reset.Options)) *fixture {
	t.Helper()
	f := &fixture{
		users: resettest.NewUsers(alice, reset.User{ID: "2", Email: "bob@example.com", PasswordHash: "test$bob"}),
		store: resettest.NewMemStore(), mailer: resettest.NewMailer(),
		clock: resettest.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)),
	}
	o := reset.Options{
		Languages: resettest.Languages(),
		Users:     f.users, Store: f.store, Mailer: f.mailer, Hashers: hashers{h: plainHasher{}},
		Checker: refuse("password"), PublicURL: "https://app.example.com", Now: f.clock.Now,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), PollInterval: 10 * time.Millisecond,
		Observe: func(e reset.Event) {
			v, _ := f.events.LoadOrStore(e, new(atomic.Int64))
			v.(*atomic.Int64).Add(1)
		},
	}
	if mod != nil {
		mod(&o)
	}
	svc, err := reset.New(o)
	if err != nil {
		t.Fatalf("reset.New: %v", err)
	}
	f.svc = svc
	return f
}

// request asks for a link and runs the queue until it is empty, returning the mails sent.
func (f *fixture) request(t *testing.T, email string) []reset.Message {
	t.Helper()
	before := len(f.mailer.Sent())
	if err := f.svc.RequestReset(context.Background(), email, "192.0.2.1"); err != nil {
		t.Fatalf("RequestReset(%q) = %v", email, err)
	}
	f.drain()
	return f.mailer.Sent()[before:]
}

func (f *fixture) drain() {
	for f.svc.ProcessOne(context.Background()) {
	}
}

// link asks for a link for alice and returns the raw token from the mail.
func (f *fixture) link(t *testing.T) string {
	t.Helper()
	sent := f.request(t, "alice@example.com")
	if len(sent) != 1 {
		t.Fatalf("mails sent = %d, want 1", len(sent))
	}
	raw, ok := strings.CutPrefix(sent[0].Link, "https://app.example.com/pwreset/")
	if !ok || !reset.ValidTokenShape(raw) {
		t.Fatalf("link %q is not {public_url}/pwreset/{token}", sent[0].Link)
	}
	return raw
}

func TestRequestReset(t *testing.T) {
	f := newFixture(t, nil)
	sent := f.request(t, "  ALICE@example.COM ")
	if len(sent) != 1 {
		t.Fatalf("mails = %d, want 1", len(sent))
	}
	m := sent[0]
	if m.To != alice.Email {
		t.Errorf("To = %q, want the stored address %q", m.To, alice.Email)
	}
	if !strings.Contains(m.Text, m.Link) || !strings.Contains(m.HTML, m.Link) {
		t.Errorf("the link is not in both the text and the HTML part")
	}
	if !strings.Contains(m.Subject, "app.example.com") {
		t.Errorf("Subject = %q, want the site name in it", m.Subject)
	}
	tokens := mustTokens(t, f)
	if len(tokens) != 1 || tokens[0].UserID != "1" || tokens[0].ExpiresAt.Sub(tokens[0].IssuedAt) != time.Hour {
		t.Fatalf("tokens = %+v, want one for user 1 valid 1h", tokens)
	}
	if raw := strings.TrimPrefix(m.Link, "https://app.example.com/pwreset/"); tokens[0].ID != reset.TokenID(raw) || strings.Contains(tokens[0].ID, raw) {
		t.Errorf("the store must hold only the token's hash")
	}
}

func TestRequestResetUnknownAccountLooksIdentical(t *testing.T) {
	f := newFixture(t, nil)
	for _, email := range []string{"nobody@example.com", "alice@example.com"} {
		err := f.svc.RequestReset(context.Background(), email, "192.0.2.1")
		if err != nil {
			t.Errorf("RequestReset(%q) = %v, want nil for known and unknown alike", email, err)
		}
	}
	if calls := f.users.Calls("FindUser"); calls != 0 {
		t.Errorf("the request path looked up %d accounts, want 0 (lookups belong to the worker)", calls)
	}
	f.drain()
	if n := len(f.mailer.Sent()); n != 1 {
		t.Errorf("mails = %d, want 1 (only the existing account)", n)
	}
}

func TestRequestResetMalformed(t *testing.T) {
	f := newFixture(t, nil)
	for _, email := range []string{"", "alice", "alice@example.com, eve@evil.com", "alice@example.com\r\nBcc: eve@evil.com",
		"\"alice\"@example.com", "=?utf-8?q?alice?=@example.com", "alice@example.com\x00", "<alice@example.com>"} {
		if err := f.svc.RequestReset(context.Background(), email, "192.0.2.1"); !errors.Is(err, reset.ErrMalformedEmail) {
			t.Errorf("RequestReset(%q) = %v, want ErrMalformedEmail", email, err)
		}
	}
	if jobs := mustJobs(t, f); len(jobs) != 0 {
		t.Errorf("malformed requests queued %d jobs", len(jobs))
	}
}

func TestUnicodeLookalikesReachNoOne(t *testing.T) {
	f := newFixture(t, nil)
	f.users.Put(reset.User{ID: "3", Email: "mike@example.com", PasswordHash: "test$x"})
	// Dotless ı (GitHub 2016), capital İ, Kelvin sign, full-width m: none is mike.
	for _, email := range []string{"mıke@example.com", "MİKE@example.com", "mi\u212Ae@example.com", "\uff4dike@example.com"} {
		if sent := f.request(t, email); len(sent) != 0 {
			t.Errorf("RequestReset(%q) sent %d mails (to %q), want none", email, len(sent), sent[0].To)
		}
	}
}

func TestPerIPLimit(t *testing.T) {
	f := newFixture(t, func(o *reset.Options) { o.PerIP = reset.Rate{N: 2, Per: time.Hour} })
	ctx := context.Background()
	for i := range 2 {
		if err := f.svc.RequestReset(ctx, "x@example.com", "192.0.2.9"); err != nil {
			t.Fatalf("request %d = %v", i, err)
		}
	}
	var limited *reset.RateLimitError
	if err := f.svc.RequestReset(ctx, "x@example.com", "192.0.2.9"); !errors.As(err, &limited) || limited.RetryAfter <= 0 {
		t.Fatalf("third request = %v, want *RateLimitError with RetryAfter", err)
	}
	if err := f.svc.RequestReset(ctx, "x@example.com", "192.0.2.10"); err != nil {
		t.Errorf("another IP = %v, want nil", err)
	}
}

func TestPerEmailLimitIsSilent(t *testing.T) {
	f := newFixture(t, func(o *reset.Options) { o.PerEmail = reset.Rate{N: 1, Per: time.Hour} })
	f.request(t, "alice@example.com")
	if sent := f.request(t, "ALICE@example.com"); len(sent) != 0 {
		t.Errorf("second request within the hour sent %d mails, want 0", len(sent))
	}
	if f.count(reset.EventLimitedEmail) != 1 {
		t.Errorf("limited events = %d, want 1", f.count(reset.EventLimitedEmail))
	}
}

func TestCompleteReset(t *testing.T) {
	f := newFixture(t, nil)
	raw := f.link(t)
	ctx := context.Background()
	if _, err := f.svc.CheckToken(ctx, raw, "192.0.2.1"); err != nil {
		t.Fatalf("CheckToken = %v", err)
	}
	p, err := f.svc.CompleteReset(ctx, raw, "a brand new secret", "a brand new secret", "192.0.2.1")
	if err != nil {
		t.Fatalf("CompleteReset = %v", err)
	}
	if p.User.ID != "1" {
		t.Errorf("user = %q, want 1", p.User.ID)
	}
	if got := f.users.Hash("1"); got != "test$a brand new secret" {
		t.Errorf("stored hash = %q", got)
	}
	if tokens := mustTokens(t, f); len(tokens) > 1 || len(tokens) == 1 && !strings.HasPrefix(tokens[0].Fingerprint, "used:") {
		t.Errorf("tokens after reset = %+v, want none but the spent link's tombstone", tokens)
	}
	if _, err := f.svc.CompleteReset(ctx, raw, "another new secret", "another new secret", "192.0.2.1"); !errors.Is(err, reset.ErrTokenInvalid) {
		t.Errorf("second use = %v, want ErrTokenInvalid", err)
	}
	f.drain()
	sent := f.mailer.Sent()
	if len(sent) != 2 || !strings.Contains(sent[1].Subject, "changed") || sent[1].To != alice.Email {
		t.Fatalf("want a 'changed' notice to %q, got %+v", alice.Email, sent)
	}
	if strings.Contains(sent[1].Text, "a brand new secret") || sent[1].Link != "" {
		t.Errorf("the notice must not carry the password or a link")
	}
}

func TestCompleteResetPolicy(t *testing.T) {
	f := newFixture(t, func(o *reset.Options) { o.Hashers = hashers{h: plainHasher{max: 72}} })
	raw := f.link(t)
	ctx := context.Background()
	tests := []struct {
		name, pw, again, want string
	}{
		{"too short", "short", "short", "at least 8"},
		{"not equal", "a long enough one", "a long enough two", "not the same"},
		{"too long", strings.Repeat("x", 129), strings.Repeat("x", 129), "at most 128"},
		{"over bcrypt's 72 bytes", strings.Repeat("é", 40), strings.Repeat("é", 40), "72 bytes"},
		{"common", "password123", "password123", "most commonly used"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.svc.CompleteReset(ctx, raw, tt.pw, tt.again, "192.0.2.1")
			var pe *reset.PolicyError
			if !errors.As(err, &pe) || !strings.Contains(inEnglish(pe.Problems), tt.want) {
				t.Errorf("CompleteReset(%q) = %v, want a problem containing %q", tt.pw, err, tt.want)
			}
		})
	}
	if f.users.Hash("1") != alice.PasswordHash {
		t.Errorf("a refused password changed the stored hash")
	}
	if _, err := f.svc.CompleteReset(ctx, raw, "sixty-four 🙂 chars are fine", "sixty-four 🙂 chars are fine", "192.0.2.1"); err != nil {
		t.Errorf("after refusals the link still works: got %v", err)
	}
}

func TestConcurrentCompletionsWriteOnce(t *testing.T) {
	f := newFixture(t, nil)
	raw := f.link(t)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			// A double-clicked submit: the others wait for the one that writes, then
			// answer as it did.
			pw := "concurrent secret"
			if _, err := f.svc.CompleteReset(context.Background(), raw, pw, pw, "192.0.2.1"); err != nil {
				t.Errorf("CompleteReset = %v, want nil for every submission", err)
			}
		})
	}
	wg.Wait()
	if f.users.Calls("SetPassword") != 1 {
		t.Errorf("SetPassword calls = %d, want 1", f.users.Calls("SetPassword"))
	}
}

func TestTokenVoidedByChangeElsewhere(t *testing.T) {
	for _, tt := range []struct {
		name   string
		change func(u *resettest.Users)
	}{
		{"password changed in the app", func(u *resettest.Users) { u.SetHash("1", "test$changed-in-app") }},
		{"address changed in the app", func(u *resettest.Users) { u.SetEmail("1", "alice@elsewhere.example") }},
		{"account deleted", func(u *resettest.Users) { u.Delete("1") }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			raw := f.link(t)
			tt.change(f.users)
			if _, err := f.svc.CheckToken(context.Background(), raw, "192.0.2.1"); !errors.Is(err, reset.ErrTokenInvalid) {
				t.Errorf("CheckToken = %v, want ErrTokenInvalid", err)
			}
		})
	}
}

func TestCompareAndSwapLosesToAppWrite(t *testing.T) {
	// The app changes the password between the check and the write: the CAS in SetPassword
	// refuses, and the link dies.
	f := newFixture(t, nil)
	raw := f.link(t)
	f.users.FailNext("SetPassword", reset.ErrPasswordChanged)
	if _, err := f.svc.CompleteReset(context.Background(), raw, "a brand new secret", "a brand new secret", "192.0.2.1"); !errors.Is(err, reset.ErrTokenInvalid) {
		t.Fatalf("CompleteReset = %v, want ErrTokenInvalid", err)
	}
	if tokens := mustTokens(t, f); len(tokens) != 0 {
		t.Errorf("tokens = %d, want 0", len(tokens))
	}
}

func TestWriteFailureReleasesToken(t *testing.T) {
	f := newFixture(t, nil)
	raw := f.link(t)
	f.users.FailNext("SetPassword", errors.New("connection reset by peer"))
	if _, err := f.svc.CompleteReset(context.Background(), raw, "a brand new secret", "a brand new secret", "192.0.2.1"); !errors.Is(err, reset.ErrUnavailable) {
		t.Fatalf("CompleteReset = %v, want ErrUnavailable", err)
	}
	if f.users.Hash("1") != alice.PasswordHash {
		t.Fatalf("hash changed despite the failed write")
	}
	if _, err := f.svc.CompleteReset(context.Background(), raw, "a brand new secret", "a brand new secret", "192.0.2.1"); err != nil {
		t.Errorf("retry after the failure = %v, want success (the token was released)", err)
	}
}

func TestTokenExpires(t *testing.T) {
	f := newFixture(t, func(o *reset.Options) { o.TokenTTL = 30 * time.Minute })
	raw := f.link(t)
	f.clock.Advance(29 * time.Minute)
	if _, err := f.svc.CheckToken(context.Background(), raw, "192.0.2.1"); err != nil {
		t.Fatalf("at 29m: %v", err)
	}
	f.clock.Advance(time.Minute)
	if _, err := f.svc.CheckToken(context.Background(), raw, "192.0.2.1"); !errors.Is(err, reset.ErrTokenInvalid) {
		t.Errorf("at 30m: %v, want ErrTokenInvalid", err)
	}
}

func TestNewerLinkVoidsOlder(t *testing.T) {
	f := newFixture(t, nil)
	first := f.link(t)
	second := f.link(t)
	if _, err := f.svc.CheckToken(context.Background(), first, "192.0.2.1"); !errors.Is(err, reset.ErrTokenInvalid) {
		t.Errorf("older link = %v, want ErrTokenInvalid", err)
	}
	if _, err := f.svc.CheckToken(context.Background(), second, "192.0.2.1"); err != nil {
		t.Errorf("newer link = %v, want valid", err)
	}
}

func TestMalformedTokensAreRefusedBeforeLookup(t *testing.T) {
	f := newFixture(t, nil)
	for _, raw := range []string{"", "abc", strings.Repeat("A", 42), strings.Repeat("A", 44), strings.Repeat("*", 43), "../../../../etc/passwd"} {
		if _, err := f.svc.CheckToken(context.Background(), raw, "192.0.2.1"); !errors.Is(err, reset.ErrTokenInvalid) {
			t.Errorf("CheckToken(%q) = %v, want ErrTokenInvalid", raw, err)
		}
	}
	if f.users.Calls("UserByID") != 0 {
		t.Errorf("malformed tokens reached the account store")
	}
}

func TestTokenGuessingIsLimited(t *testing.T) {
	f := newFixture(t, func(o *reset.Options) { o.TokenPerIP = reset.Rate{N: 3, Per: time.Hour} })
	guess := strings.Repeat("A", 43)
	var limited *reset.RateLimitError
	for i := range 4 {
		_, err := f.svc.CheckToken(context.Background(), guess, "198.51.100.7")
		if i < 3 && !errors.Is(err, reset.ErrTokenInvalid) {
			t.Errorf("guess %d = %v, want ErrTokenInvalid", i, err)
		}
		if i == 3 && !errors.As(err, &limited) {
			t.Errorf("guess %d = %v, want *RateLimitError", i, err)
		}
	}
}

func TestStoreDownFailsClosed(t *testing.T) {
	f := newFixture(t, nil)
	raw := f.link(t)
	f.store.Close()
	if _, err := f.svc.CompleteReset(context.Background(), raw, "a brand new secret", "a brand new secret", "192.0.2.1"); !errors.Is(err, reset.ErrUnavailable) {
		t.Errorf("CompleteReset with the store down = %v, want ErrUnavailable", err)
	}
	if f.users.Hash("1") != alice.PasswordHash {
		t.Errorf("password written although the token store was down")
	}
	// The request page still answers uniformly.
	if err := f.svc.RequestReset(context.Background(), "alice@example.com", "192.0.2.1"); err != nil {
		t.Errorf("RequestReset with the store down = %v, want nil (uniform answer)", err)
	}
}

func TestMailRetriedThenGivenUp(t *testing.T) {
	f := newFixture(t, func(o *reset.Options) { o.MaxAttempts = 3 })
	f.mailer.Fail(errors.New("421 try later"))
	if err := f.svc.RequestReset(context.Background(), "alice@example.com", "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		f.drain()
		f.clock.Advance(2 * time.Hour)
	}
	jobs := mustJobs(t, f)
	if len(jobs) != 1 || !jobs[0].Dead || jobs[0].Attempts != 3 || !strings.Contains(jobs[0].LastError, "421") {
		t.Fatalf("jobs = %+v, want one dead job after 3 attempts", jobs)
	}
	if f.count(reset.EventMailGivenUp) != 1 {
		t.Errorf("given-up events = %d, want 1", f.count(reset.EventMailGivenUp))
	}
}

func TestMailRetryBacksOff(t *testing.T) {
	f := newFixture(t, nil)
	f.mailer.FailNext(errors.New("connection refused"))
	if err := f.svc.RequestReset(context.Background(), "alice@example.com", "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	f.drain()
	if len(f.mailer.Sent()) != 0 {
		t.Fatalf("sent despite the failure")
	}
	f.drain() // not due yet
	if len(f.mailer.Sent()) != 0 {
		t.Fatalf("retried before the backoff elapsed")
	}
	f.clock.Advance(time.Minute)
	f.drain()
	if len(f.mailer.Sent()) != 1 {
		t.Fatalf("not retried after the backoff")
	}
	raw := strings.TrimPrefix(f.mailer.Sent()[0].Link, "https://app.example.com/pwreset/")
	if _, err := f.svc.CheckToken(context.Background(), raw, "192.0.2.1"); err != nil {
		t.Errorf("the link of the retried mail = %v, want valid", err)
	}
}

func TestRunDeliversAndStops(t *testing.T) {
	f := newFixture(t, func(o *reset.Options) { o.Now = time.Now })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.svc.Run(ctx); close(done) }()
	if err := f.svc.RequestReset(context.Background(), "alice@example.com", "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer wcancel()
	if _, err := f.mailer.WaitSent(wctx, 1); err != nil {
		t.Fatalf("worker did not send: %v", err)
	}
	cancel()
	<-done
}

func TestNoHashSchemeGetsNoLink(t *testing.T) {
	hs := &switchHashers{}
	f := newFixture(t, func(o *reset.Options) { o.Hashers = hs })
	raw := f.link(t) // issued while the format was writable
	hs.err.Store(errors.New("plain text hash: set [users] hash"))
	if sent := f.request(t, "alice@example.com"); len(sent) != 0 {
		t.Errorf("mails sent for an account whose hash cannot be written = %d, want 0 (a dead-end link)", len(sent))
	}
	if f.count(reset.EventNotResettable) != 1 {
		t.Errorf("not-resettable events = %d, want 1", f.count(reset.EventNotResettable))
	}
	if _, err := f.svc.CompleteReset(context.Background(), raw, "a brand new secret", "a brand new secret", "192.0.2.1"); !errors.Is(err, reset.ErrNotResettable) {
		t.Errorf("CompleteReset = %v, want ErrNotResettable", err)
	}
	if f.users.Hash("1") != alice.PasswordHash {
		t.Errorf("password written although no scheme could be chosen")
	}
}
