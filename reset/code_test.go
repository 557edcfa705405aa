package reset_test

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"resetgate/reset"
	"resetgate/reset/resettest"
)

var mailedCode = regexp.MustCompile(`code on the page, with your e-mail address: ([0-9A-Z]{4}-[0-9A-Z]{4})`)

// coded asks for a link for alice and returns the raw token and the grouped code from the mail.
func (f *fixture) coded(t *testing.T) (raw, code string) {
	t.Helper()
	sent := f.request(t, "alice@example.com")
	if len(sent) != 1 {
		t.Fatalf("mails sent = %d, want 1", len(sent))
	}
	m := mailedCode.FindStringSubmatch(sent[0].Text)
	if m == nil {
		t.Fatalf("reset mail has no code:\n%s", sent[0].Text)
	}
	if !strings.Contains(sent[0].HTML, m[1]) || !strings.Contains(sent[0].Text, "https://app.example.com/pwreset/code") {
		t.Errorf("HTML mail lacks the code %s or the text mail the code page", m[1])
	}
	raw = strings.TrimPrefix(sent[0].Link, "https://app.example.com/pwreset/")
	return raw, m[1]
}

func TestNormalizeCode(t *testing.T) {
	cases := []struct {
		in, want string
		ok       bool
	}{
		{"ABCD-EFGH", "ABCDEFGH", true},
		{"abcd efgh", "ABCDEFGH", true},
		{" ab-cd\tef gh ", "ABCDEFGH", true},
		{"O0Il1L", "001111", true},
		{"ABCU", "", false}, // U is not in Crockford's alphabet
		{"ABÇD", "", false},
		{"", "", false},
		{"--", "", false},
		{"\u2068ABCD-EFGH\u2069", "ABCDEFGH", true}, // copied out of an Arabic or Hebrew sentence
		{"\u200fABCD-EFGH\u200e\ufeff", "ABCDEFGH", true},
	}
	for _, c := range cases {
		got, ok := reset.NormalizeCode(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("NormalizeCode(%q) = %q, %v, want %q, %v", c.in, got, ok, c.want, c.ok)
		}
	}
	if got := reset.GroupCode("ABCDEFGHJK"); got != "ABCD-EFGH-JK" {
		t.Errorf("GroupCode = %q, want ABCD-EFGH-JK", got)
	}
}

func TestCodeOpensTheReset(t *testing.T) {
	f := newFixture(t, nil)
	link, code := f.coded(t)
	ctx := context.Background()
	for _, tok := range mustTokens(t, f) {
		if tok.CodeID == "" || strings.Contains(tok.CodeID, strings.ReplaceAll(code, "-", "")) {
			t.Errorf("stored CodeID = %q, want an HMAC, never the code", tok.CodeID)
		}
	}
	// Typed leniently, on another device, with the address in another case.
	typed := strings.ToLower(strings.ReplaceAll(code, "-", " "))
	raw, err := f.svc.EnterCode(ctx, "ALICE@example.com", typed, "203.0.113.9")
	if err != nil {
		t.Fatalf("EnterCode(%q) = %v, want a token", typed, err)
	}
	if _, err := f.svc.CheckToken(ctx, link, "192.0.2.1"); !errors.Is(err, reset.ErrTokenInvalid) {
		t.Errorf("mailed link after the code was used: %v, want ErrTokenInvalid", err)
	}
	if _, err := f.svc.EnterCode(ctx, "alice@example.com", code, "203.0.113.9"); !errors.Is(err, reset.ErrCodeInvalid) {
		t.Errorf("code used twice: %v, want ErrCodeInvalid", err)
	}
	p, err := f.svc.CheckToken(ctx, raw, "203.0.113.9")
	if err != nil || p.User.ID != "1" {
		t.Fatalf("CheckToken(exchanged) = %+v, %v, want alice's reset", p, err)
	}
	if _, err := f.svc.CompleteReset(ctx, raw, "a brand new secret", "a brand new secret", "203.0.113.9"); err != nil {
		t.Fatalf("CompleteReset = %v", err)
	}
	if got := f.users.Hash("1"); got != "test$a brand new secret" {
		t.Errorf("stored hash = %q", got)
	}
	events, _ := f.store.AuditSince(ctx, time.Time{})
	var ok bool
	for _, e := range events {
		ok = ok || e.Event == reset.AuditCodeTried && e.Outcome == "ok" && e.UserID == "1"
	}
	if !ok {
		t.Errorf("audit trail %+v has no code.tried ok", events)
	}
}

func TestCodeKeepsTheLinkUntilUsed(t *testing.T) {
	f := newFixture(t, nil)
	link, code := f.coded(t)
	ctx := context.Background()
	if _, err := f.svc.CheckToken(ctx, link, "192.0.2.1"); err != nil {
		t.Fatalf("link before the code was used: %v", err)
	}
	if _, err := f.svc.CompleteReset(ctx, link, "a brand new secret", "a brand new secret", "192.0.2.1"); err != nil {
		t.Fatalf("CompleteReset = %v", err)
	}
	if _, err := f.svc.EnterCode(ctx, "alice@example.com", code, "192.0.2.1"); !errors.Is(err, reset.ErrCodeInvalid) {
		t.Errorf("code after the link was used: %v, want ErrCodeInvalid", err)
	}
}

func TestCodeRefusals(t *testing.T) {
	cases := []struct {
		name  string
		email string
		code  func(string) string
		prep  func(t *testing.T, f *fixture)
	}{
		{"wrong code", "alice@example.com", func(string) string { return "ZZZZ-ZZZZ" }, nil},
		{"another account's address", "bob@example.com", func(c string) string { return c }, nil},
		{"unknown address", "nobody@example.com", func(c string) string { return c }, nil},
		{"expired", "alice@example.com", func(c string) string { return c }, func(_ *testing.T, f *fixture) { f.clock.Advance(time.Hour) }},
		{"newer link voids it", "alice@example.com", func(c string) string { return c }, func(t *testing.T, f *fixture) { f.request(t, "alice@example.com") }},
		{"garbage", "alice@example.com", func(string) string { return strings.Repeat("ü", 100) }, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, nil)
			_, code := f.coded(t)
			if c.prep != nil {
				c.prep(t, f)
			}
			if raw, err := f.svc.EnterCode(context.Background(), c.email, c.code(code), "192.0.2.1"); !errors.Is(err, reset.ErrCodeInvalid) || raw != "" {
				t.Errorf("EnterCode = %q, %v, want ErrCodeInvalid", raw, err)
			}
		})
	}
	f := newFixture(t, nil)
	if _, err := f.svc.EnterCode(context.Background(), "not an address", "ABCD-EFGH", "192.0.2.1"); !errors.Is(err, reset.ErrMalformedEmail) {
		t.Errorf("EnterCode(malformed address) = %v, want ErrMalformedEmail", err)
	}
}

func TestWrongCodesVoidTheReset(t *testing.T) {
	f := newFixture(t, nil)
	link, code := f.coded(t)
	ctx := context.Background()
	if reset.CodeAttempts != 5 {
		t.Fatalf("CodeAttempts = %d, want 5 (issue 14)", reset.CodeAttempts)
	}
	for i := range 5 {
		// From different clients: the per-address limit holds whatever the IP.
		ip := "198.51.100." + string(rune('1'+i))
		if _, err := f.svc.EnterCode(ctx, "alice@example.com", "ZZZZ-ZZZ"+string(rune('0'+i)), ip); !errors.Is(err, reset.ErrCodeInvalid) {
			t.Fatalf("wrong code %d = %v, want ErrCodeInvalid", i, err)
		}
	}
	if _, err := f.svc.EnterCode(ctx, "alice@example.com", code, "192.0.2.1"); !errors.Is(err, reset.ErrCodeInvalid) {
		t.Errorf("right code after %d wrong ones = %v, want ErrCodeInvalid", reset.CodeAttempts, err)
	}
	f.drain() // the worker voids the reset
	if _, err := f.svc.CheckToken(ctx, link, "192.0.2.1"); !errors.Is(err, reset.ErrTokenInvalid) {
		t.Errorf("link after %d wrong codes = %v, want ErrTokenInvalid (voided)", reset.CodeAttempts, err)
	}
	events, _ := f.store.AuditSince(ctx, time.Time{})
	var limited bool
	for _, e := range events {
		limited = limited || e.Event == reset.AuditCodeTried && e.Outcome == "limited" && e.UserID == "1"
	}
	if !limited {
		t.Errorf("audit trail %+v has no code.tried limited", events)
	}
	// Bob's codes are his own business.
	if _, err := f.svc.EnterCode(ctx, "bob@example.com", "ZZZZ-ZZZZ", "192.0.2.1"); !errors.Is(err, reset.ErrCodeInvalid) {
		t.Errorf("bob's wrong code = %v, want ErrCodeInvalid", err)
	}
	// Once the window has passed, a fresh mail's code works again.
	f.clock.Advance(time.Hour)
	_, code = f.coded(t)
	if _, err := f.svc.EnterCode(ctx, "alice@example.com", code, "192.0.2.1"); err != nil {
		t.Errorf("fresh code after the window = %v, want a token", err)
	}
}

func TestFourWrongCodesLeaveTheCode(t *testing.T) {
	f := newFixture(t, nil)
	_, code := f.coded(t)
	ctx := context.Background()
	for i := range 4 {
		if _, err := f.svc.EnterCode(ctx, "alice@example.com", "ZZZZ-ZZZ"+string(rune('0'+i)), "198.51.100.1"); !errors.Is(err, reset.ErrCodeInvalid) {
			t.Fatalf("wrong code %d = %v, want ErrCodeInvalid", i, err)
		}
	}
	f.drain()
	if _, err := f.svc.EnterCode(ctx, "alice@example.com", code, "192.0.2.1"); err != nil {
		t.Errorf("right code after 4 wrong ones = %v, want a token", err)
	}
}

func TestWrongCodesCountPerClient(t *testing.T) {
	f := newFixture(t, func(o *reset.Options) { o.TokenPerIP = reset.Rate{N: 3, Per: time.Hour} })
	var limited *reset.RateLimitError
	for i := range 4 {
		addr := string(rune('a'+i)) + "@example.com"
		_, err := f.svc.EnterCode(context.Background(), addr, "ZZZZ-ZZZZ", "198.51.100.7")
		if i < 3 && !errors.Is(err, reset.ErrCodeInvalid) {
			t.Errorf("guess %d = %v, want ErrCodeInvalid", i, err)
		}
		if i == 3 && !errors.As(err, &limited) {
			t.Errorf("guess %d = %v, want *RateLimitError", i, err)
		}
	}
}

// countingStore records the store calls of the code path, to compare known and unknown
// addresses.
type countingStore struct {
	*resettest.MemStore
	calls []string
}

func (c *countingStore) Peek(ctx context.Context, key string, n int, now time.Time) (bool, time.Duration, error) {
	c.calls = append(c.calls, "Peek")
	return c.MemStore.Peek(ctx, key, n, now)
}

func (c *countingStore) Allow(ctx context.Context, key string, n int, w time.Duration, now time.Time) (bool, time.Duration, error) {
	c.calls = append(c.calls, "Allow")
	return c.MemStore.Allow(ctx, key, n, w, now)
}

func (c *countingStore) TokenByCode(ctx context.Context, id string) (reset.Token, error) {
	c.calls = append(c.calls, "TokenByCode")
	return c.MemStore.TokenByCode(ctx, id)
}

func (c *countingStore) Secret(ctx context.Context, name string, size int) ([]byte, error) {
	c.calls = append(c.calls, "Secret")
	return c.MemStore.Secret(ctx, name, size)
}

func (c *countingStore) AppendAudit(ctx context.Context, e reset.AuditEvent, keep int) error {
	c.calls = append(c.calls, "AppendAudit")
	return c.MemStore.AppendAudit(ctx, e, keep)
}

func TestUnknownAddressCostsTheSame(t *testing.T) {
	cs := &countingStore{MemStore: resettest.NewMemStore()}
	f := newFixture(t, func(o *reset.Options) { o.Store = cs; o.TokenPerIP = reset.Rate{N: 100, Per: time.Hour} })
	f.coded(t)
	ctx := context.Background()
	lookups := f.users.Calls(resettest.FindUser) + f.users.Calls(resettest.UserByID)
	cs.calls = nil
	_, errKnown := f.svc.EnterCode(ctx, "alice@example.com", "ZZZZ-ZZZZ", "192.0.2.1")
	known := strings.Join(cs.calls, ",")
	cs.calls = nil
	_, errUnknown := f.svc.EnterCode(ctx, "nobody@example.com", "ZZZZ-ZZZZ", "192.0.2.1")
	unknown := strings.Join(cs.calls, ",")
	if !errors.Is(errKnown, reset.ErrCodeInvalid) || !errors.Is(errUnknown, reset.ErrCodeInvalid) {
		t.Errorf("answers = %v / %v, want ErrCodeInvalid for both", errKnown, errUnknown)
	}
	if known != unknown {
		t.Errorf("store calls for a known address %q, for an unknown one %q: want the same", known, unknown)
	}
	if n := f.users.Calls(resettest.FindUser) + f.users.Calls(resettest.UserByID) - lookups; n != 0 {
		t.Errorf("wrong codes looked accounts up %d times, want 0", n)
	}
}

func TestCodesOff(t *testing.T) {
	f := newFixture(t, func(o *reset.Options) { o.NoCode = true })
	sent := f.request(t, "alice@example.com")
	if len(sent) != 1 || strings.Contains(sent[0].Text, "code") || strings.Contains(sent[0].HTML, "/pwreset/code") {
		t.Errorf("with codes off the mail mentions a code:\n%s", sent[0].Text)
	}
	if _, err := f.svc.EnterCode(context.Background(), "alice@example.com", "ABCD-EFGH", "192.0.2.1"); !errors.Is(err, reset.ErrCodeInvalid) {
		t.Errorf("EnterCode with codes off = %v, want ErrCodeInvalid", err)
	}
	for _, n := range []int{5, 13} {
		o := reset.Options{Languages: resettest.Languages(), Users: f.users, Store: f.store, Mailer: f.mailer, Hashers: hashers{}, PublicURL: "https://x.example", CodeLength: n}
		if _, err := reset.New(o); err == nil || !strings.Contains(err.Error(), "code length") {
			t.Errorf("New(CodeLength %d) = %v, want a code length error", n, err)
		}
	}
}

// FuzzNormalizeCode: whatever is typed, a code that reads is only Crockford characters, reads
// the same again, and survives being grouped.
func FuzzNormalizeCode(f *testing.F) {
	for _, s := range []string{"ABCD-EFGH", "abcd efgh", "O0Il1L", "ABCU", "ü", "", "--  --", "\u00a0abc"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := reset.NormalizeCode(s)
		if !ok {
			if got != "" {
				t.Fatalf("NormalizeCode(%q) = %q, false: want an empty result with false", s, got)
			}
			return
		}
		for _, r := range got {
			if !strings.ContainsRune("0123456789ABCDEFGHJKMNPQRSTVWXYZ", r) {
				t.Fatalf("NormalizeCode(%q) = %q holds %q, outside Crockford's alphabet", s, got, r)
			}
		}
		if again, ok := reset.NormalizeCode(reset.GroupCode(got)); !ok || again != got {
			t.Fatalf("NormalizeCode(GroupCode(%q)) = %q, %v, want it unchanged", got, again, ok)
		}
	})
}
