package challenge_test

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"resetgate/challenge"
)

func TestAutoModeFollowsTheRate(t *testing.T) {
	clk := &clock{time.Unix(1_800_000_000, 0)}
	var events []challenge.Event
	g, err := challenge.New(challenge.Options{Mode: challenge.Auto, Threshold: 5, Per: time.Minute, Calm: 10 * time.Minute,
		PoW: mustPoW(t, &uses{}, clk), Now: clk.now, Observe: func(e challenge.Event) { events = append(events, e) }})
	if err != nil {
		t.Fatal(err)
	}
	// A steady trickle at the threshold never turns it on.
	for range 80 {
		g.Count()
		clk.t = clk.t.Add(15 * time.Second)
		if g.Active() {
			t.Fatalf("active at 4 requests a minute, threshold 5/minute")
		}
	}
	for range 6 {
		g.Count()
	}
	if !g.Active() {
		t.Fatal("not active after 6 requests within a minute, threshold 5")
	}
	if len(events) != 1 || events[0] != challenge.EventSwitchedOn {
		t.Errorf("events = %v, want [%s]", events, challenge.EventSwitchedOn)
	}
	clk.t = clk.t.Add(9 * time.Minute)
	if !g.Active() {
		t.Error("off again 9 minutes after the flood, calm period 10 minutes")
	}
	clk.t = clk.t.Add(time.Minute)
	if g.Active() {
		t.Error("still on after the calm period")
	}
}

func TestGuardVerify(t *testing.T) {
	clk := &clock{time.Unix(1_800_000_000, 0)}
	var passed, failed int
	p := mustPoW(t, &uses{}, clk)
	g, err := challenge.New(challenge.Options{Mode: challenge.Always, PoW: p, Now: clk.now, Observe: func(e challenge.Event) {
		switch e {
		case challenge.EventPassed:
			passed++
		case challenge.EventFailed:
			failed++
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !g.Active() {
		t.Fatal("always mode is not active")
	}
	w, err := g.Widget()
	if err != nil || w.PoW == "" || w.Captcha != nil {
		t.Fatalf("Widget() = %+v, %v, want a proof-of-work challenge", w, err)
	}
	_, s := mustSolve(t, p)
	ctx := context.Background()
	if err := g.Verify(ctx, url.Values{"altcha": {s, s}}, ""); !errors.Is(err, challenge.ErrInvalid) {
		t.Errorf("Verify(answer twice) = %v, want ErrInvalid", err)
	}
	if err := g.Verify(ctx, url.Values{}, ""); !errors.Is(err, challenge.ErrMissing) {
		t.Errorf("Verify(no answer) = %v, want ErrMissing", err)
	}
	if err := g.Verify(ctx, url.Values{"altcha": {s}}, ""); err != nil {
		t.Errorf("Verify(solved) = %v, want nil", err)
	}
	if passed != 1 || failed != 2 {
		t.Errorf("passed, failed = %d, %d, want 1, 2", passed, failed)
	}
	var off *challenge.Guard
	if off.Active() || off.Mode() != challenge.Off {
		t.Error("a nil guard is not off")
	}
}

func TestNewGuardRefusesBadOptions(t *testing.T) {
	clk := &clock{time.Unix(1_800_000_000, 0)}
	p := mustPoW(t, &uses{}, clk)
	for _, o := range []challenge.Options{
		{Mode: "sometimes", PoW: p},
		{Mode: challenge.Always},
		{Mode: challenge.Auto, PoW: p},
	} {
		if _, err := challenge.New(o); err == nil {
			t.Errorf("New(%+v) = nil error", o)
		}
	}
}
