// Package webhook delivers resetgate's webhooks ([reset.Hooks]) to the app over HTTP: one JSON
// POST per event, signed with HMAC-SHA256 in the X-Resetgate-Signature header. It is an
// adapter of the domain in package reset and uses only net/http; the domain's worker calls it
// from the durable queue, which retries failed deliveries with backoff. docs/hooks.md
// documents the payload and how receivers verify it.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"resetgate/reset"
)

// Defaults for the zero values of [Options].
const (
	DefaultTimeout = 10 * time.Second
	// MinSecretLen is the shortest accepted signing secret, in bytes.
	MinSecretLen = 16
	// DefaultTolerance is how old a signature [Verify] accepts: receivers should reject
	// older ones as replays.
	DefaultTolerance = 5 * time.Minute
)

// SignatureHeader carries the signature: "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">".
const SignatureHeader = "X-Resetgate-Signature"

// Options configures a [Sender]. Secret and at least one URL are required.
type Options struct {
	// URLs are the receivers, one per event; an event without one is not sent.
	URLs map[reset.HookEvent]string
	// Secret is the HMAC-SHA256 key shared with the receivers, at least MinSecretLen bytes.
	Secret []byte
	// Timeout bounds one delivery attempt, connection to last byte; default 10s.
	Timeout time.Duration
	// Transport sends the requests; nil: a clone of http.DefaultTransport.
	Transport http.RoundTripper
	// Now is the clock signatures are dated with; nil: time.Now.
	Now func() time.Time
}

// Sender is a [reset.Hooks] over HTTP. It is safe for concurrent use.
type Sender struct {
	urls   map[reset.HookEvent]*url.URL
	secret []byte
	client *http.Client
	now    func() time.Time
}

var _ reset.Hooks = (*Sender)(nil)

// New checks o and returns a Sender.
func New(o Options) (*Sender, error) {
	if len(o.Secret) < MinSecretLen {
		return nil, fmt.Errorf("webhook: the secret must be at least %d bytes", MinSecretLen)
	}
	if len(o.URLs) == 0 {
		return nil, errors.New("webhook: no receiver URL")
	}
	s := &Sender{urls: map[reset.HookEvent]*url.URL{}, secret: o.Secret, now: o.Now}
	for e, raw := range o.URLs {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Fragment != "" {
			return nil, fmt.Errorf("webhook: %s: %q must be an absolute http(s) URL without a fragment", e, raw)
		}
		s.urls[e] = u
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Transport == nil {
		o.Transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.client = &http.Client{Transport: o.Transport, Timeout: o.Timeout,
		// A redirect is answered, not followed: the signed body must reach the configured
		// receiver and nobody else, and a 307 to elsewhere would resend it there.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return s, nil
}

// Wants reports whether a receiver is configured for e.
func (s *Sender) Wants(e reset.HookEvent) bool { return s.urls[e] != nil }

// Payload is the JSON body of every webhook. Its field names are public.
type Payload struct {
	Event     reset.HookEvent `json:"event"`      // "password_changed" or "wasnt_me"
	EventID   string          `json:"event_id"`   // the same on every retry of one event: deduplicate on it
	AccountID string          `json:"account_id"` // the account's id in the app's own user store
	Time      time.Time       `json:"time"`       // when it happened, RFC 3339 in UTC
	ClientIP  string          `json:"client_ip"`  // who caused it, as resetgate resolved it
}

// Body returns the JSON body for h, as Deliver sends it.
func Body(h reset.Hook) ([]byte, error) {
	return json.Marshal(Payload{Event: h.Event, EventID: h.ID, AccountID: h.UserID, Time: h.At.UTC().Truncate(time.Second), ClientIP: h.ClientIP})
}

// Sign returns the signature header's value for body sent at t.
func Sign(secret, body []byte, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Errors of [Verify].
var (
	ErrBadSignature = errors.New("webhook: signature does not match")
	ErrStale        = errors.New("webhook: signature too old or from the future")
)

// Verify checks a signature header for body as a receiver would: the HMAC in constant time,
// and its time within tolerance of now (replays are refused).
func Verify(secret, body []byte, header string, now time.Time, tolerance time.Duration) error {
	var ts string
	var sigs [][]byte
	for part := range strings.SplitSeq(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			if b, err := hex.DecodeString(v); err == nil {
				sigs = append(sigs, b)
			}
		}
	}
	t, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrBadSignature
	}
	want := mac(secret, ts, body)
	ok := false
	for _, sig := range sigs {
		ok = hmac.Equal(sig, want) || ok
	}
	if !ok {
		return ErrBadSignature
	}
	if d := now.Sub(time.Unix(t, 0)); d > tolerance || d < -tolerance {
		return ErrStale
	}
	return nil
}

// Deliver makes one attempt to deliver h to its receiver. A 2xx answer is success; a
// redirect, or a 4xx other than 408 and 429, fails for good (wrapping
// [reset.ErrHookRejected]); anything else (5xx, 408, 429, no answer within the timeout) is
// an error that the queue retries. Errors name the receiver without its query string.
func (s *Sender) Deliver(ctx context.Context, h reset.Hook) error {
	u := s.urls[h.Event]
	if u == nil {
		return fmt.Errorf("webhook %s: no receiver configured: %w", h.Event, reset.ErrHookRejected)
	}
	where := (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
	body, err := Body(h)
	if err != nil {
		return fmt.Errorf("webhook %s to %s: %v: %w", h.Event, where, err, reset.ErrHookRejected)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook %s to %s: %v: %w", h.Event, where, err, reset.ErrHookRejected)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "resetgate-webhook/1")
	req.Header.Set("X-Resetgate-Event", string(h.Event))
	req.Header.Set("X-Resetgate-Event-Id", h.ID)
	req.Header.Set(SignatureHeader, Sign(s.secret, body, s.now()))
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("webhook %s to %s: %w", h.Event, where, unwrapURLError(err))
	}
	// Read a little of the answer so the connection can be reused; the rest is not wanted.
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	resp.Body.Close()
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		return nil
	case c >= 300 && c < 400:
		return fmt.Errorf("webhook %s to %s: the receiver answered %s to %q; redirects are not followed, configure the final URL: %w",
			h.Event, where, resp.Status, resp.Header.Get("Location"), reset.ErrHookRejected)
	case c >= 400 && c < 500 && c != http.StatusRequestTimeout && c != http.StatusTooManyRequests:
		return fmt.Errorf("webhook %s to %s: the receiver refused it with %s: %w", h.Event, where, resp.Status, reset.ErrHookRejected)
	default:
		return fmt.Errorf("webhook %s to %s: the receiver answered %s", h.Event, where, resp.Status)
	}
}

// unwrapURLError drops url.Error's repetition of method and URL (the caller names the
// receiver already, without its query).
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
