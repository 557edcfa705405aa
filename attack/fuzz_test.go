package attack

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/url"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"resetgate/reset"
	"resetgate/reset/resettest"
	"resetgate/web"
)

// asciiLower lower-cases ASCII letters only, resetgate's whole notion of "the same address".
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func asciiUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - ('a' - 'A')
		}
	}
	return string(b)
}

// FuzzParseEmail: whatever ParseEmail accepts is one plain address that can carry no second
// recipient or header (RQ-REQ-06, RQ-HDR-05), returned exactly as typed (only surrounding
// spaces trimmed), and resetgate's notion of "the same address" on top of it, NormalizeEmail,
// is exactly "lower-case ASCII": idempotent, blind to ASCII case, mapping no other character,
// so a dotless ı or a Kelvin sign can only ever match itself (RQ-REQ-07; Django
// CVE-2019-19844, GitHub's dotless i).
func FuzzParseEmail(f *testing.F) {
	for _, s := range []string{
		"alice@example.com", " ALICE@Example.COM ", "mıke@example.com", "\u212Aim@example.com", "ｍike@example.com",
		"a@b", "a,b@c.d", "a@b.c, d@e.f", "a@b.c\r\nBcc: x@y.z", "\"a@b\"@c.d", "=?utf-8?q?a?=@b.c", "a@@b", "@b.c",
		"a.@b.c", "a..b@c.d", "a@-b.c", "a@b..c", "x'or'1'='1@example.com", "alice\u200b@example.com", "a@b.c\x00",
		strings.Repeat("a", 64) + "@" + strings.Repeat("b", 63) + ".com", "o'brien@example.com", "a@b.c\u00a0",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := reset.ParseEmail(s)
		if err != nil {
			if !errors.Is(err, reset.ErrMalformedEmail) {
				t.Fatalf("ParseEmail(%q) = %v, want ErrMalformedEmail", s, err)
			}
			return
		}
		if want := strings.Trim(s, " "); got != want {
			t.Fatalf("ParseEmail(%q) = %q, want %q (only surrounding spaces trimmed)", s, got, want)
		}
		if again, err := reset.ParseEmail(got); err != nil || again != got {
			t.Fatalf("ParseEmail(%q) = %q, %v; not idempotent on %q", got, again, err, s)
		}
		key := reset.NormalizeEmail(got)
		if key != asciiLower(got) || reset.NormalizeEmail(key) != key {
			t.Fatalf("NormalizeEmail(%q) = %q, want %q (ASCII lower-cased, nothing else; idempotent)", got, key, asciiLower(got))
		}
		if up, err := reset.ParseEmail(asciiUpper(s)); err != nil || reset.NormalizeEmail(up) != key {
			t.Fatalf("ParseEmail(%q) = %q, %v; want the same address as %q (ASCII case must not matter)", asciiUpper(s), up, err, got)
		}
		// The adapters' final filter agrees with the parser: the submitted spelling names the
		// stored address it normalises to.
		if !reset.SameEmail(s, key) {
			t.Fatalf("SameEmail(%q, %q) = false", s, key)
		}
		if len(got) == 0 || len(got) > reset.MaxEmailLen || !utf8.ValidString(got) || strings.Count(got, "@") != 1 ||
			strings.HasPrefix(got, "@") || strings.HasSuffix(got, "@") || strings.Contains(got, "=?") {
			t.Fatalf("ParseEmail(%q) accepted %q", s, got)
		}
		for _, r := range got {
			if r < 0x20 || r == 0x7f || unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || strings.ContainsRune(`,;:"<>()[]\`, r) {
				t.Fatalf("ParseEmail(%q) accepted %q containing %U", s, got, r)
			}
		}
		// A mail library reading the address as a header list finds at most one address.
		if list, err := mail.ParseAddressList(got); err == nil && len(list) != 1 {
			t.Fatalf("ParseEmail accepted %q, which net/mail reads as %d addresses", got, len(list))
		}
	})
}

// FuzzValidTokenShape: exactly the canonical unpadded base64url spelling of 32 bytes is a
// token shape (RQ-TOK-08; Devise CVE-2013-0233): whatever passes decodes strictly to 32 bytes
// and encodes back to itself, and every 32 bytes' encoding passes; TokenID is always 64 hex
// digits, never the token itself (RQ-TOK-02).
func FuzzValidTokenShape(f *testing.F) {
	raw, _ := reset.NewToken()
	for _, s := range []string{raw, nonCanonical(raw), raw + "=", raw[:42], "0", "null", "[]", strings.Repeat("A", 43), strings.Repeat("_", 43), strings.Repeat("+", 43), "é" + raw[2:]} {
		f.Add(s, []byte(s))
	}
	f.Fuzz(func(t *testing.T, s string, b []byte) {
		if reset.ValidTokenShape(s) {
			dec, err := base64.RawURLEncoding.Strict().DecodeString(s)
			if len(s) != reset.TokenLen || err != nil || len(dec) != 32 || base64.RawURLEncoding.EncodeToString(dec) != s {
				t.Fatalf("ValidTokenShape(%q) = true for a string that is not the canonical encoding of 32 bytes", s)
			}
		}
		if len(b) >= 32 {
			enc := base64.RawURLEncoding.EncodeToString(b[:32])
			if !reset.ValidTokenShape(enc) {
				t.Fatalf("ValidTokenShape(%q) = false for the encoding of 32 bytes", enc)
			}
		}
		id := reset.TokenID(s)
		if _, err := hex.DecodeString(id); err != nil || len(id) != 64 || id == s {
			t.Fatalf("TokenID(%q) = %q, want 64 hex digits", s, id)
		}
	})
}

type fuzzHasher struct{}

func (fuzzHasher) Hash(pw string) (string, error) { return "fuzz$" + pw, nil }
func (fuzzHasher) MaxPasswordBytes() int          { return 72 }
func (fuzzHasher) Scheme() string                 { return "fuzz" }

type fuzzHashers struct{}

func (fuzzHashers) For(string, string) (reset.Hasher, error) { return fuzzHasher{}, nil }

// formSite is resetgate's web handler on in-memory fakes, for fuzzing what it reads.
type formSite struct {
	h     http.Handler
	store *resettest.MemStore
	svc   *reset.Service
}

func newFormSite(tb testing.TB) *formSite {
	s := &formSite{store: resettest.NewMemStore()}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	users := resettest.NewUsers(reset.User{ID: "1", Email: "Alice@Example.com", Name: "Alice", PasswordHash: "fuzz$old"})
	svc, err := reset.New(reset.Options{Languages: resettest.Languages(), Users: users, Store: s.store, Mailer: resettest.NewMailer(), Hashers: fuzzHashers{},
		PublicURL: "https://app.example", Logger: log})
	if err != nil {
		tb.Fatal(err)
	}
	s.svc = svc
	public, _ := url.Parse("https://app.example")
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "app") })
	h, err := web.New(web.Options{Service: svc, PublicURL: public, Upstream: upstream, Logger: log,
		SessionKeys: [2][]byte{[]byte(strings.Repeat("k", 64)), []byte(strings.Repeat("e", 32))}})
	if err != nil {
		tb.Fatal(err)
	}
	s.h = h
	return s
}

func (s *formSite) jobs(tb testing.TB) []reset.Job {
	j, err := s.store.Jobs(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return j
}

var contentTypes = []string{
	"application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=utf-8", "application/json",
	"multipart/form-data; boundary=x", "text/plain", "", "application/x-www-form-urlencoded, application/json",
}

// FuzzRequestForm drives resetgate's real web handler with arbitrary reset-request forms and
// checks the form decoding against an independent reading of the same bytes: a request is
// queued (303) exactly when it carries one url-encoded email value, no email in the query,
// and ParseEmail accepts it; then exactly one job is queued, for that normalised address.
// Everything else is refused with 400 or 413 and queues nothing; nothing is ever a 5xx
// (RQ-REQ-06; GitLab CVE-2023-7028 arrays; HTTP parameter pollution).
func FuzzRequestForm(f *testing.F) {
	for _, a := range attackForms {
		f.Add(uint8(0), strings.TrimPrefix(a.query, "?"), a.body)
	}
	f.Add(uint8(0), "", "email=alice%40example.com")
	f.Add(uint8(1), "", "email=+ALICE%40example.com+&x=1")
	f.Add(uint8(0), "", "email=alice%40example.com;email=attacker%40evil.example")
	f.Add(uint8(0), "a=%zz", "email=alice%40example.com")
	f.Add(uint8(2), "", `{"email":"alice@example.com"}`)
	f.Add(uint8(3), "", "--x\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\nalice@example.com\r\n--x--\r\n")
	s := newFormSite(f)
	f.Fuzz(func(t *testing.T, ct uint8, query, body string) {
		contentType := contentTypes[int(ct)%len(contentTypes)]
		u := &url.URL{Scheme: "http", Host: "app.example", Path: "/pwreset", RawQuery: query}
		req, err := http.NewRequest(http.MethodPost, u.String(), strings.NewReader(body))
		if err != nil {
			return
		}
		req.URL.RawQuery = query // exactly the fuzzed bytes, as a server would have parsed them
		req.RemoteAddr = "192.0.2.1:4711"
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		before := len(s.jobs(t))
		rec := httptest.NewRecorder()
		s.h.ServeHTTP(rec, req)
		jobs := s.jobs(t)

		want, ok := expectedEmail(contentType, query, body)
		switch {
		case rec.Code >= 500:
			t.Fatalf("POST /pwreset?%q %q (%s) = %d", query, body, contentType, rec.Code)
		case ok:
			if rec.Code != http.StatusSeeOther || len(jobs) != before+1 || jobs[len(jobs)-1].Email != want {
				t.Fatalf("POST /pwreset?%q %q (%s) = %d with %d new job(s), want 303 and one job for %q", query, body, contentType, rec.Code, len(jobs)-before, want)
			}
		default:
			if rec.Code != http.StatusBadRequest && rec.Code != http.StatusRequestEntityTooLarge || len(jobs) != before {
				t.Fatalf("POST /pwreset?%q %q (%s) = %d with %d new job(s), want 400/413 and none", query, body, contentType, rec.Code, len(jobs)-before)
			}
		}
	})
}

// expectedEmail is the independent reading of a reset-request form: the normalised address
// it must queue, or false when it must be refused.
func expectedEmail(contentType, query, body string) (string, bool) {
	if contentType != "application/x-www-form-urlencoded" && contentType != "application/x-www-form-urlencoded; charset=utf-8" {
		return "", false
	}
	if len(body) > web.MaxBodyBytes {
		return "", false
	}
	form, err := url.ParseQuery(body)
	if err != nil {
		return "", false
	}
	q, err := url.ParseQuery(query)
	if err != nil || q.Has("email") || len(form["email"]) != 1 {
		return "", false
	}
	addr, err := reset.ParseEmail(form["email"][0])
	return reset.NormalizeEmail(addr), err == nil
}

// FuzzCheckPassword: whatever the policy accepts is valid UTF-8, within the length limits
// counted in code points, within the hasher's byte limit (bcrypt's 72: RQ-PWD-05) and equal
// to its confirmation (RQ-RST-01, RQ-PWD-01, RQ-PWD-02).
func FuzzCheckPassword(f *testing.F) {
	s := newFormSite(f)
	for _, pw := range []string{goodPassword, "short", strings.Repeat("é", 37), strings.Repeat("a", 129), "abc\xffdefghij", "🍎🍌🍇🍉🍒🍑🍍🥝"} {
		f.Add(pw, pw, uint8(72))
	}
	f.Fuzz(func(t *testing.T, pw, again string, maxBytes uint8) {
		problems := s.svc.CheckPassword(pw, again, reset.User{ID: "1", Email: "alice@example.com"}, int(maxBytes))
		if len(problems) > 0 {
			for _, p := range problems {
				if strings.TrimSpace(p.Key) == "" {
					t.Fatalf("CheckPassword(%q) gives an empty reason", pw)
				}
			}
			return
		}
		n := utf8.RuneCountInString(pw)
		if pw != again || !utf8.ValidString(pw) || n < reset.DefaultMinPassword || n > reset.DefaultMaxPassword || maxBytes > 0 && len(pw) > int(maxBytes) {
			t.Fatalf("CheckPassword accepted %q (again %q, %d code points, %d bytes, byte limit %d)", pw, again, n, len(pw), maxBytes)
		}
	})
}
