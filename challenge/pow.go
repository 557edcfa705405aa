// Package challenge raises the bar for scripted use of the request form while it is under
// attack: a self-hosted proof of work (an ALTCHA-compatible scheme, see [PoW]) or a hosted
// captcha checked through its provider's siteverify API (see [Captcha]), switched on always
// or only while the request rate is high (see [Guard]). It sits beside package web, which
// shows the widget and asks the [Guard] before handing a request to the domain; it imports
// only the standard library, and package main wires it to the state store.
package challenge

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Why a solution was refused. Every refusal wraps one of them; web shows a friendly page for
// each and never the error's text.
var (
	// ErrMissing: the form carried no solution at all (no JavaScript, or a script).
	ErrMissing = errors.New("challenge: no solution")
	// ErrInvalid: the solution is malformed, forged, wrong or refused by the provider.
	ErrInvalid = errors.New("challenge: invalid solution")
	// ErrExpired: the solution is for a challenge older than its lifetime.
	ErrExpired = errors.New("challenge: expired")
	// ErrReplayed: the solution was used before (on any replica sharing the store).
	ErrReplayed = errors.New("challenge: already used")
	// ErrUnavailable: the solution could not be checked (store or provider failure); the
	// form fails closed.
	ErrUnavailable = errors.New("challenge: cannot verify now")
)

// Limiter records single use of a solved challenge. reset.Limiter (the state store's rate
// limiter) satisfies it: Allow(ctx, "pow:"+challenge, 1, ttl, now) admits the first use and
// refuses every later one within ttl, on every replica sharing the store.
type Limiter interface {
	Allow(ctx context.Context, key string, n int, window time.Duration, now time.Time) (ok bool, retryAfter time.Duration, err error)
}

// Defaults of [PoWOptions].
const (
	// DefaultMaxNumber makes a browser compute on average 100,000 SHA-256 hashes (our script
	// does about 0.3 to 2 million a second, so roughly 0.1 to 0.5 s); native code pays about
	// 30 ms of one core per request.
	DefaultMaxNumber = 200_000
	DefaultTTL       = 10 * time.Minute
)

// PoWOptions configures a [PoW]. Key and Uses are required.
type PoWOptions struct {
	Key       []byte        // HMAC key, ≥ 32 bytes, the same on every replica
	MaxNumber int           // the secret number is drawn from 0…MaxNumber; 0: DefaultMaxNumber
	TTL       time.Duration // how long a challenge may be solved and used; 0: DefaultTTL
	Uses      Limiter       // single use
	Now       func() time.Time
}

// PoW is a stateless proof-of-work scheme compatible with ALTCHA's: the server draws a salt
// that embeds an expiry and a secret number n ≤ MaxNumber, and sends challenge =
// hex(SHA-256(salt + decimal n)) with signature = hex(HMAC-SHA256(key, challenge)); the
// client finds n by trying 0, 1, 2, …; the server checks signature, expiry and hash, then
// spends the challenge once through the [Limiter]. Nothing is stored until a correct solution
// arrives. Its methods are safe for concurrent use.
type PoW struct {
	o PoWOptions
}

// NewPoW checks o and returns the scheme.
func NewPoW(o PoWOptions) (*PoW, error) {
	if len(o.Key) < 32 {
		return nil, errors.New("challenge: the proof-of-work key must be at least 32 bytes")
	}
	if o.Uses == nil {
		return nil, errors.New("challenge: the proof of work needs a Limiter for single use")
	}
	if o.MaxNumber == 0 {
		o.MaxNumber = DefaultMaxNumber
	}
	if o.MaxNumber < 1 {
		return nil, fmt.Errorf("challenge: max number %d is not positive", o.MaxNumber)
	}
	if o.TTL == 0 {
		o.TTL = DefaultTTL
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &PoW{o: o}, nil
}

// Challenge is what the page hands the solver, in ALTCHA's JSON shape.
type Challenge struct {
	Algorithm string `json:"algorithm"`
	Challenge string `json:"challenge"`
	MaxNumber int    `json:"maxnumber"`
	Salt      string `json:"salt"`
	Signature string `json:"signature"`
}

// Solution is what the solver sends back: ALTCHA's payload, base64 of this JSON, in the form
// field [PoWField].
type Solution struct {
	Algorithm string `json:"algorithm"`
	Challenge string `json:"challenge"`
	Number    int    `json:"number"`
	Salt      string `json:"salt"`
	Signature string `json:"signature"`
}

// PoWField is the form field that carries the encoded [Solution] (ALTCHA's name).
const PoWField = "altcha"

// New draws a fresh challenge that expires after the TTL.
func (p *PoW) New() (Challenge, error) {
	var raw [12]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return Challenge{}, fmt.Errorf("challenge: salt: %w", err)
	}
	n, err := rand.Int(rand.Reader, big.NewInt(int64(p.o.MaxNumber)+1))
	if err != nil {
		return Challenge{}, fmt.Errorf("challenge: number: %w", err)
	}
	salt := hex.EncodeToString(raw[:]) + "?expires=" + strconv.FormatInt(p.o.Now().Add(p.o.TTL).Unix(), 10)
	c := hashHex(salt + strconv.FormatInt(n.Int64(), 10))
	return Challenge{Algorithm: "SHA-256", Challenge: c, MaxNumber: p.o.MaxNumber, Salt: salt, Signature: p.sign(c)}, nil
}

// Verify checks an encoded solution: its shape, signature, expiry and hash, then spends it.
// A store failure yields [ErrUnavailable]; the solution is then not spent.
func (p *PoW) Verify(ctx context.Context, payload string) error {
	if payload == "" {
		return ErrMissing
	}
	if len(payload) > 2048 {
		return fmt.Errorf("%w: payload too long", ErrInvalid)
	}
	b, err := base64.StdEncoding.DecodeString(payload)
	if err != nil {
		return fmt.Errorf("%w: not base64", ErrInvalid)
	}
	var s Solution
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("%w: not JSON", ErrInvalid)
	}
	if s.Algorithm != "SHA-256" || s.Number < 0 || s.Number > p.o.MaxNumber {
		return fmt.Errorf("%w: algorithm or number out of range", ErrInvalid)
	}
	if !hmac.Equal([]byte(s.Signature), []byte(p.sign(s.Challenge))) {
		return fmt.Errorf("%w: bad signature", ErrInvalid)
	}
	if hashHex(s.Salt+strconv.Itoa(s.Number)) != s.Challenge {
		return fmt.Errorf("%w: wrong number", ErrInvalid)
	}
	// The salt is bound to the signed challenge by the hash, so its expiry cannot be changed.
	exp, err := expiry(s.Salt)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	now := p.o.Now()
	if !now.Before(exp) {
		return ErrExpired
	}
	// The record outlives the challenge, so it is refused for as long as it could be valid.
	ok, _, err := p.o.Uses.Allow(ctx, "pow:"+s.Challenge, 1, exp.Sub(now)+time.Minute, now)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if !ok {
		return ErrReplayed
	}
	return nil
}

func (p *PoW) sign(challenge string) string {
	m := hmac.New(sha256.New, p.o.Key)
	m.Write([]byte(challenge))
	return hex.EncodeToString(m.Sum(nil))
}

func hashHex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// expiry reads the expires parameter of an ALTCHA salt ("…?expires=<unix seconds>").
func expiry(salt string) (time.Time, error) {
	_, query, ok := strings.Cut(salt, "?")
	if !ok {
		return time.Time{}, errors.New("salt carries no expiry")
	}
	v, err := url.ParseQuery(query)
	if err != nil {
		return time.Time{}, errors.New("salt parameters do not parse")
	}
	sec, err := strconv.ParseInt(v.Get("expires"), 10, 64)
	if err != nil {
		return time.Time{}, errors.New("salt carries no expiry")
	}
	return time.Unix(sec, 0), nil
}

// Solve finds the number of c by brute force, as the browser script does, and returns the
// encoded solution. Tests use it, as a scripted client would; it gives up past c.MaxNumber.
func Solve(c Challenge) (string, error) {
	for n := 0; n <= c.MaxNumber; n++ {
		if hashHex(c.Salt+strconv.Itoa(n)) == c.Challenge {
			b, err := json.Marshal(Solution{Algorithm: c.Algorithm, Challenge: c.Challenge, Number: n, Salt: c.Salt, Signature: c.Signature})
			if err != nil {
				return "", err
			}
			return base64.StdEncoding.EncodeToString(b), nil
		}
	}
	return "", errors.New("challenge: no number solves it")
}
