package challenge_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"resetgate/challenge"
)

// uses is an in-process Limiter: n events per key until the window ends.
type uses struct {
	mu   sync.Mutex
	seen map[string]time.Time
	err  error
}

func (u *uses) Allow(_ context.Context, key string, n int, win time.Duration, now time.Time) (bool, time.Duration, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.err != nil {
		return false, 0, u.err
	}
	if u.seen == nil {
		u.seen = map[string]time.Time{}
	}
	if end, ok := u.seen[key]; ok && now.Before(end) {
		return false, end.Sub(now), nil
	}
	u.seen[key] = now.Add(win)
	return true, 0, nil
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func mustPoW(t *testing.T, u challenge.Limiter, c *clock) *challenge.PoW {
	t.Helper()
	p, err := challenge.NewPoW(challenge.PoWOptions{Key: make([]byte, 32), MaxNumber: 2000, TTL: time.Minute, Uses: u, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mustSolve(t *testing.T, p *challenge.PoW) (challenge.Challenge, string) {
	t.Helper()
	c, err := p.New()
	if err != nil {
		t.Fatal(err)
	}
	s, err := challenge.Solve(c)
	if err != nil {
		t.Fatal(err)
	}
	return c, s
}

// reencode changes a field of an encoded solution.
func reencode(t *testing.T, payload string, mod func(*challenge.Solution)) string {
	t.Helper()
	b, _ := base64.StdEncoding.DecodeString(payload)
	var s challenge.Solution
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	mod(&s)
	b, _ = json.Marshal(s)
	return base64.StdEncoding.EncodeToString(b)
}

func TestPoW(t *testing.T) {
	ctx := context.Background()
	clk := &clock{time.Unix(1_800_000_000, 0)}
	u := &uses{}
	p := mustPoW(t, u, clk)

	c, good := mustSolve(t, p)
	if c.Algorithm != "SHA-256" || c.MaxNumber != 2000 || len(c.Challenge) != 64 || len(c.Signature) != 64 {
		t.Fatalf("New() = %+v, want an ALTCHA SHA-256 challenge", c)
	}
	if err := p.Verify(ctx, good); err != nil {
		t.Fatalf("Verify(good) = %v, want nil", err)
	}
	if err := p.Verify(ctx, good); !errors.Is(err, challenge.ErrReplayed) {
		t.Errorf("Verify(good) again = %v, want ErrReplayed", err)
	}

	other := mustPoW(t, u, clk) // another replica with the same key and store
	if err := other.Verify(ctx, good); !errors.Is(err, challenge.ErrReplayed) {
		t.Errorf("Verify(good) on another replica = %v, want ErrReplayed", err)
	}

	_, fresh := mustSolve(t, p)
	for _, tc := range []struct {
		name    string
		payload string
		want    error
	}{
		{"no solution", "", challenge.ErrMissing},
		{"not base64", "%%%", challenge.ErrInvalid},
		{"not JSON", base64.StdEncoding.EncodeToString([]byte("{")), challenge.ErrInvalid},
		{"wrong number", reencode(t, fresh, func(s *challenge.Solution) { s.Number = (s.Number + 1) % 2000 }), challenge.ErrInvalid},
		{"number over the maximum", reencode(t, fresh, func(s *challenge.Solution) { s.Number = 2001 }), challenge.ErrInvalid},
		{"forged signature", reencode(t, fresh, func(s *challenge.Solution) { s.Signature = flip(s.Signature) }), challenge.ErrInvalid},
		{"own challenge, no key", reencode(t, fresh, func(s *challenge.Solution) { s.Salt = "x?expires=9999999999"; s.Number = 1 }), challenge.ErrInvalid},
		{"other algorithm", reencode(t, fresh, func(s *challenge.Solution) { s.Algorithm = "SHA-1" }), challenge.ErrInvalid},
	} {
		if err := p.Verify(ctx, tc.payload); !errors.Is(err, tc.want) {
			t.Errorf("%s: Verify = %v, want %v", tc.name, err, tc.want)
		}
	}
	// None of the refusals spent the fresh solution.
	if err := p.Verify(ctx, fresh); err != nil {
		t.Errorf("Verify(fresh) after refused variants = %v, want nil", err)
	}

	_, late := mustSolve(t, p)
	clk.t = clk.t.Add(time.Minute)
	if err := p.Verify(ctx, late); !errors.Is(err, challenge.ErrExpired) {
		t.Errorf("Verify after the TTL = %v, want ErrExpired", err)
	}

	forged := mustPoW(t, u, clk)
	key := make([]byte, 32)
	key[0] = 1
	stranger, _ := challenge.NewPoW(challenge.PoWOptions{Key: key, MaxNumber: 2000, Uses: u, Now: clk.now})
	_, theirs := mustSolve(t, stranger)
	if err := forged.Verify(ctx, theirs); !errors.Is(err, challenge.ErrInvalid) {
		t.Errorf("Verify(signed with another key) = %v, want ErrInvalid", err)
	}

	down := mustPoW(t, &uses{err: errors.New("store down")}, clk)
	_, s := mustSolve(t, down)
	if err := down.Verify(ctx, s); !errors.Is(err, challenge.ErrUnavailable) {
		t.Errorf("Verify with the store down = %v, want ErrUnavailable", err)
	}
}

func TestNewPoWNeedsKeyAndUses(t *testing.T) {
	if _, err := challenge.NewPoW(challenge.PoWOptions{Key: make([]byte, 16), Uses: &uses{}}); err == nil {
		t.Error("NewPoW(16-byte key) = nil error")
	}
	if _, err := challenge.NewPoW(challenge.PoWOptions{Key: make([]byte, 32)}); err == nil {
		t.Error("NewPoW(no Limiter) = nil error")
	}
}

func FuzzPoWVerify(f *testing.F) {
	f.Add("")
	f.Add("eyJhbGdvcml0aG0iOiJTSEEtMjU2In0=")
	clk := &clock{time.Unix(1_800_000_000, 0)}
	p, _ := challenge.NewPoW(challenge.PoWOptions{Key: make([]byte, 32), MaxNumber: 50, Uses: &uses{}, Now: clk.now})
	f.Fuzz(func(t *testing.T, payload string) {
		if err := p.Verify(context.Background(), payload); err == nil {
			t.Fatalf("Verify(%q) = nil", payload)
		}
	})
}

// flip changes the last hex digit of s.
func flip(s string) string {
	if s[len(s)-1] == '0' {
		return s[:len(s)-1] + "1"
	}
	return s[:len(s)-1] + "0"
}
