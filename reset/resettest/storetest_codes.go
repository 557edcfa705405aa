package resettest

import (
	"errors"
	"testing"
	"time"

	"resetgate/reset"
)

// Conformance cases of [reset.TokenStore.TokenByCode]: a token's code finds it, and dies
// with it.

func withCode(tok reset.Token, code string) reset.Token {
	tok.CodeID = code + "-" + tok.ID[:8]
	return tok
}

func mustTokenByCode(t *testing.T, s reset.Store, codeID string, want reset.Token) {
	t.Helper()
	got, err := s.TokenByCode(t.Context(), codeID)
	if err != nil {
		t.Fatalf("TokenByCode(%q) = %v, want token %q", codeID, err, want.ID)
	}
	if !sameToken(got, want) || got.CodeID != want.CodeID {
		t.Errorf("TokenByCode(%q) = %+v, want %+v", codeID, got, want)
	}
}

func wantCodeGone(t *testing.T, s reset.Store, codeID string) {
	t.Helper()
	if tok, err := s.TokenByCode(t.Context(), codeID); !errors.Is(err, reset.ErrTokenNotFound) {
		t.Errorf("TokenByCode(%q) = %+v, %v, want %v", codeID, tok, err, reset.ErrTokenNotFound)
	}
}

func testTokenByCode(t *testing.T, f Factory) {
	s := f.open(t)
	tok := withCode(newToken("u1", start(), time.Hour), "a")
	other := withCode(newToken("u2", start(), time.Hour), "b")
	mustSaveToken(t, s, tok)
	mustSaveToken(t, s, other)
	mustTokenByCode(t, s, tok.CodeID, tok)
	mustTokenByCode(t, s, other.CodeID, other)
	if got := mustToken(t, s, tok.ID); got.CodeID != tok.CodeID {
		t.Errorf("Token(%q).CodeID = %q, want %q", tok.ID, got.CodeID, tok.CodeID)
	}
	wantCodeGone(t, s, "no-such-code")
	wantCodeGone(t, s, "")
	// A claim keeps the code: it is the same pending reset.
	claimed := mustClaim(t, s, tok.ID, start(), start().Add(time.Minute))
	mustTokenByCode(t, s, tok.CodeID, claimed)
}

func testCodeDiesWithToken(t *testing.T, f Factory) {
	cases := []struct {
		name string
		kill func(t *testing.T, s reset.Store, tok reset.Token)
	}{
		{"newer token of the user", func(t *testing.T, s reset.Store, tok reset.Token) {
			mustSaveToken(t, s, newToken(tok.UserID, tok.IssuedAt.Add(time.Second), time.Hour))
		}},
		{"re-save without the code", func(t *testing.T, s reset.Store, tok reset.Token) {
			tok.CodeID = ""
			tok.Fingerprint = "used:x"
			mustSaveToken(t, s, tok)
		}},
		{"re-save with another code", func(t *testing.T, s reset.Store, tok reset.Token) {
			tok.CodeID = "other-" + tok.ID[:8]
			mustSaveToken(t, s, tok)
			mustTokenByCode(t, s, tok.CodeID, tok)
		}},
		{"user's tokens deleted", func(t *testing.T, s reset.Store, tok reset.Token) {
			if _, err := s.DeleteUserTokens(t.Context(), tok.UserID); err != nil {
				t.Fatalf("DeleteUserTokens = %v", err)
			}
		}},
		{"expired and swept", func(t *testing.T, s reset.Store, tok reset.Token) {
			if _, err := s.DeleteExpired(t.Context(), tok.ExpiresAt.Add(time.Second)); err != nil {
				t.Fatalf("DeleteExpired = %v", err)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := f.open(t)
			tok := withCode(newToken("u1", start().Add(-2*time.Hour), 3*time.Hour), "a")
			keep := withCode(newToken("u2", start(), 3*time.Hour), "b")
			mustSaveToken(t, s, tok)
			mustSaveToken(t, s, keep)
			c.kill(t, s, tok)
			wantCodeGone(t, s, tok.CodeID)
			mustTokenByCode(t, s, keep.CodeID, keep)
		})
	}
}
