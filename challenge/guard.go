package challenge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"time"
)

// Modes of a [Guard], as config's [abuse] challenge spells them.
const (
	Off    = "off"    // never ask
	Always = "always" // ask on every request
	Auto   = "auto"   // ask while the request rate is over the threshold, and for a calm period after
)

// Event names what a [Guard] saw, for metrics; it carries nothing about the address asked for.
type Event string

// Events passed to Options.Observe.
const (
	EventPassed      Event = "challenge_passed"
	EventFailed      Event = "challenge_failed"      // missing, wrong, expired or replayed
	EventUnavailable Event = "challenge_unavailable" // the store or the captcha provider failed; the form was refused
	EventSwitchedOn  Event = "challenge_switched_on" // auto mode turned the challenge on
)

// Events lists every [Event], to fix the metric's labels.
var Events = []Event{EventPassed, EventFailed, EventUnavailable, EventSwitchedOn}

// DefaultCalm is how long auto mode stays on after the rate last crossed the threshold.
const DefaultCalm = 10 * time.Minute

// Options configures a [Guard]. With a mode other than Off, exactly one of PoW and Captcha
// is set.
type Options struct {
	Mode string
	// Auto mode: on while more than Threshold requests arrived within Per (estimated over a
	// sliding window), and for Calm after that (0: DefaultCalm).
	Threshold int
	Per       time.Duration
	Calm      time.Duration
	PoW       *PoW
	Captcha   *Captcha
	Observe   func(Event) // nil: none
	Now       func() time.Time
}

// Guard decides when the request form asks for a challenge and checks the answers. The auto
// mode's rate is counted in this process's memory: each replica decides for itself from the
// requests it sees, which a load balancer spreads evenly (SECURITY.md RQ-REQ-10). Its methods
// are safe for concurrent use; a nil *Guard is off.
type Guard struct {
	o Options

	mu          sync.Mutex
	bucket      time.Time // start of the current counting window
	cur, prev   int       // requests in the current and the previous window
	activeUntil time.Time
}

// New checks o and returns the guard.
func New(o Options) (*Guard, error) {
	switch o.Mode {
	case Off, Always, Auto:
	default:
		return nil, fmt.Errorf("challenge: mode %q is not off, always or auto", o.Mode)
	}
	if o.Mode != Off && (o.PoW == nil) == (o.Captcha == nil) {
		return nil, errors.New("challenge: set exactly one of PoW and Captcha")
	}
	if o.Mode == Auto && (o.Threshold < 1 || o.Per <= 0) {
		return nil, errors.New("challenge: auto mode needs a positive threshold and period")
	}
	if o.Calm <= 0 {
		o.Calm = DefaultCalm
	}
	if o.Observe == nil {
		o.Observe = func(Event) {}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Guard{o: o}, nil
}

// Count notes one request for the auto mode's rate; the web handler calls it for every
// submission of the request form, before looking at it.
func (g *Guard) Count() {
	if g == nil || g.o.Mode != Auto {
		return
	}
	now := g.o.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	switch elapsed := now.Sub(g.bucket); {
	case elapsed >= 2*g.o.Per:
		g.bucket, g.cur, g.prev = now, 0, 0
	case elapsed >= g.o.Per:
		g.bucket, g.prev, g.cur = g.bucket.Add(g.o.Per), g.cur, 0
	}
	g.cur++
	// The previous window counts for the part of it still within Per of now.
	weight := 1 - float64(now.Sub(g.bucket))/float64(g.o.Per)
	if float64(g.prev)*weight+float64(g.cur) > float64(g.o.Threshold) {
		if !now.Before(g.activeUntil) {
			g.o.Observe(EventSwitchedOn)
		}
		g.activeUntil = now.Add(g.o.Calm)
	}
}

// Active reports whether the form asks for a challenge now.
func (g *Guard) Active() bool {
	if g == nil {
		return false
	}
	switch g.o.Mode {
	case Always:
		return true
	case Auto:
		g.mu.Lock()
		defer g.mu.Unlock()
		return g.o.Now().Before(g.activeUntil)
	}
	return false
}

// Widget is what the request form shows while the guard is active: a proof-of-work
// challenge for the page's own script, or a hosted captcha.
type Widget struct {
	PoW     string    // the [Challenge] as JSON; empty with a captcha
	Captcha *Provider // nil with the proof of work
	SiteKey string
}

// Widget draws what the form shows now.
func (g *Guard) Widget() (Widget, error) {
	if g.o.Captcha != nil {
		p := g.o.Captcha.Provider()
		return Widget{Captcha: &p, SiteKey: g.o.Captcha.SiteKey()}, nil
	}
	c, err := g.o.PoW.New()
	if err != nil {
		return Widget{}, err
	}
	b, err := json.Marshal(c)
	return Widget{PoW: string(b)}, err
}

// Field is the form field the answer arrives in.
func (g *Guard) Field() string {
	if g.o.Captcha != nil {
		return g.o.Captcha.Provider().Field
	}
	return PoWField
}

// Verify checks the answer in form (sent from remoteIP) and notes the outcome. It wraps
// [ErrMissing], [ErrInvalid], [ErrExpired], [ErrReplayed] or [ErrUnavailable].
func (g *Guard) Verify(ctx context.Context, form url.Values, remoteIP string) error {
	var err error
	v := form[g.Field()]
	switch {
	case len(v) > 1:
		err = fmt.Errorf("%w: the answer was given %d times", ErrInvalid, len(v))
	case len(v) == 0:
		err = ErrMissing
	case g.o.Captcha != nil:
		err = g.o.Captcha.Verify(ctx, v[0], remoteIP)
	default:
		err = g.o.PoW.Verify(ctx, v[0])
	}
	switch {
	case err == nil:
		g.o.Observe(EventPassed)
	case errors.Is(err, ErrUnavailable):
		g.o.Observe(EventUnavailable)
	default:
		g.o.Observe(EventFailed)
	}
	return err
}

// Check reports whether the guard can work: the captcha provider answers and accepts our
// keys. The proof of work needs nothing outside the store.
func (g *Guard) Check(ctx context.Context) error {
	if g == nil || g.o.Mode == Off || g.o.Captcha == nil {
		return nil
	}
	return g.o.Captcha.Check(ctx)
}

// Mode returns the configured mode.
func (g *Guard) Mode() string {
	if g == nil {
		return Off
	}
	return g.o.Mode
}
