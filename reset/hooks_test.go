package reset_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"resetgate/reset"
)

// hookRecorder is a reset.Hooks that records deliveries and fails as told.
type hookRecorder struct {
	mu    sync.Mutex
	want  map[reset.HookEvent]bool
	got   []reset.Hook
	fails []error // returned by the next deliveries, in order
}

func (h *hookRecorder) Wants(e reset.HookEvent) bool { return h.want[e] }

func (h *hookRecorder) Deliver(_ context.Context, hk reset.Hook) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.fails) > 0 {
		err := h.fails[0]
		h.fails = h.fails[1:]
		return err
	}
	h.got = append(h.got, hk)
	return nil
}

func (h *hookRecorder) delivered() []reset.Hook {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]reset.Hook(nil), h.got...)
}

func TestHooks(t *testing.T) {
	hooks := &hookRecorder{want: map[reset.HookEvent]bool{reset.HookPasswordChanged: true, reset.HookWasntMe: true}}
	f := newFixture(t, func(o *reset.Options) { o.Hooks = hooks })
	changedAt := f.clock.Now()
	_, wm := f.changed(t)
	got := hooks.delivered()
	if len(got) != 1 || got[0].Event != reset.HookPasswordChanged || got[0].UserID != "1" || got[0].ClientIP != "192.0.2.1" || !got[0].At.Equal(changedAt) || got[0].ID == "" {
		t.Fatalf("hooks after the reset = %+v, want one password_changed for user 1 from 192.0.2.1 at %v", got, changedAt)
	}
	if err := f.svc.ConfirmWasntMe(context.Background(), wm, "198.51.100.7"); err != nil {
		t.Fatal(err)
	}
	f.drain()
	got = hooks.delivered()
	if len(got) != 2 || got[1].Event != reset.HookWasntMe || got[1].UserID != "1" || got[1].ClientIP != "198.51.100.7" || got[1].ID == got[0].ID {
		t.Fatalf("hooks after the confirmation = %+v, want a wasnt_me for user 1 from 198.51.100.7 with its own id", got)
	}
}

func TestHooksOnlyThoseConfigured(t *testing.T) {
	hooks := &hookRecorder{want: map[reset.HookEvent]bool{reset.HookWasntMe: true}}
	f := newFixture(t, func(o *reset.Options) { o.Hooks = hooks })
	f.changed(t)
	if got := hooks.delivered(); len(got) != 0 {
		t.Errorf("hooks = %+v, want none: password_changed has no receiver", got)
	}
	if jobs, _ := f.store.Jobs(context.Background()); len(jobs) != 0 {
		t.Errorf("jobs left = %+v, want none", jobs)
	}
}

// A webhook is queued with the notice, before the write: a write that fails sends neither.
func TestHookNotSentWhenTheWriteFails(t *testing.T) {
	hooks := &hookRecorder{want: map[reset.HookEvent]bool{reset.HookPasswordChanged: true}}
	f := newFixture(t, func(o *reset.Options) { o.Hooks = hooks })
	raw := f.link(t)
	f.users.FailNext("SetPassword", errors.New("connection reset"))
	if _, err := f.svc.CompleteReset(context.Background(), raw, "a brand new secret", "a brand new secret", "192.0.2.1"); !errors.Is(err, reset.ErrUnavailable) {
		t.Fatalf("CompleteReset = %v, want ErrUnavailable", err)
	}
	f.drain()
	f.clock.Advance(2 * time.Minute)
	f.drain()
	if got := hooks.delivered(); len(got) != 0 {
		t.Errorf("hooks = %+v, want none: the password did not change", got)
	}
}

func TestHookRetriesThenGivesUp(t *testing.T) {
	hooks := &hookRecorder{want: map[reset.HookEvent]bool{reset.HookPasswordChanged: true}}
	for range 3 {
		hooks.fails = append(hooks.fails, errors.New("receiver answered 500"))
	}
	f := newFixture(t, func(o *reset.Options) { o.Hooks = hooks; o.HookAttempts = 3 })
	f.changed(t)
	for range 5 {
		f.clock.Advance(2 * time.Hour) // past any backoff
		f.drain()
	}
	if got := hooks.delivered(); len(got) != 0 {
		t.Fatalf("delivered %+v, want none", got)
	}
	jobs, _ := f.store.Jobs(context.Background())
	if len(jobs) != 1 || !jobs[0].Dead || jobs[0].Attempts != 3 || jobs[0].Kind != reset.JobHookPasswordChanged {
		t.Fatalf("jobs = %+v, want the webhook given up after 3 attempts", jobs)
	}
	if f.count(reset.EventHookFailed) != 2 || f.count(reset.EventHookGivenUp) != 1 {
		t.Errorf("webhook_failed = %d, webhook_given_up = %d, want 2 and 1", f.count(reset.EventHookFailed), f.count(reset.EventHookGivenUp))
	}
}

func TestHookRejectedIsGivenUpAtOnce(t *testing.T) {
	hooks := &hookRecorder{want: map[reset.HookEvent]bool{reset.HookPasswordChanged: true},
		fails: []error{fmt.Errorf("receiver answered 404: %w", reset.ErrHookRejected)}}
	f := newFixture(t, func(o *reset.Options) { o.Hooks = hooks })
	f.changed(t)
	jobs, _ := f.store.Jobs(context.Background())
	if len(jobs) != 1 || !jobs[0].Dead || jobs[0].Attempts != 1 {
		t.Fatalf("jobs = %+v, want the webhook given up after its first attempt", jobs)
	}
}
