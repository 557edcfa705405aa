package reset

import (
	"context"
	"errors"
	"time"
)

// HookEvent names something the app may want to hear about, by webhook (issue 11).
type HookEvent string

// The webhook events. Their names are public: they are the [hooks] keys and the "event"
// field of the payload.
const (
	// HookPasswordChanged: a reset set a new password (sent once the write shows in the store).
	HookPasswordChanged HookEvent = "password_changed"
	// HookWasntMe: the account's owner confirmed "this wasn't me".
	HookWasntMe HookEvent = "wasnt_me"
)

// Webhook job kinds: one per event, so that the job's kind says which.
const (
	JobHookPasswordChanged JobKind = "hook_password_changed"
	JobHookWasntMe         JobKind = "hook_wasnt_me"
)

var hookJobKind = map[HookEvent]JobKind{HookPasswordChanged: JobHookPasswordChanged, HookWasntMe: JobHookWasntMe}

func hookEventOf(k JobKind) (HookEvent, bool) {
	for e, kind := range hookJobKind {
		if kind == k {
			return e, true
		}
	}
	return "", false
}

// ErrHookRejected marks a webhook delivery that no retry can mend (the receiver answered
// 4xx other than 408 and 429, or the request cannot be built): the job is given up at once.
// Hook senders wrap it.
var ErrHookRejected = errors.New("webhook rejected permanently")

// Hook is one webhook call. It carries no address, name or secret: the app looks the account
// up by its id.
type Hook struct {
	Event    HookEvent
	ID       string    // the event's id, the same on every retry, so receivers can deduplicate
	UserID   string    // the account, as the app's own store knows it
	ClientIP string    // who caused it ("operator" for resetgate's own commands)
	At       time.Time // when it happened
}

// Hooks sends webhooks to the app (reset/webhook). The worker calls it from the durable
// queue, never the request path; each call is one attempt, retried with the queue's backoff.
type Hooks interface {
	// Wants reports whether a receiver is configured for e; no job is queued otherwise.
	Wants(e HookEvent) bool
	// Deliver makes one attempt to deliver h. An error wrapping [ErrHookRejected] gives the
	// job up; any other is retried.
	Deliver(ctx context.Context, h Hook) error
}

func (s *Service) wantsHook(e HookEvent) bool { return s.o.Hooks != nil && s.o.Hooks.Wants(e) }

// isHook reports whether j is a webhook job.
func isHook(j Job) bool {
	_, ok := hookEventOf(j.Kind)
	return ok
}

// maxAttempts is how many attempts j gets before it is given up.
func (s *Service) maxAttempts(j Job) int {
	if isHook(j) {
		return s.o.HookAttempts
	}
	return s.o.MaxAttempts
}

func (s *Service) handleHook(ctx context.Context, j Job) error {
	e, _ := hookEventOf(j.Kind)
	if !s.wantsHook(e) {
		s.log.WarnContext(ctx, "webhook dropped: no receiver is configured for it any more", "event", "webhook", "kind", j.Kind, "job", j.ID, "user_id", j.UserID)
		return nil
	}
	if e == HookPasswordChanged {
		// Queued before the password write, like the notice: sent once the write shows.
		if _, err := s.settled(ctx, j); err != nil {
			if errors.Is(err, errNotChanged) || errors.Is(err, ErrUserNotFound) {
				s.log.InfoContext(ctx, "webhook dropped: the password was not changed", "event", "webhook", "kind", j.Kind, "job", j.ID, "user_id", j.UserID, "outcome", "not_changed")
				return nil
			}
			return err
		}
	}
	if err := s.o.Hooks.Deliver(ctx, Hook{Event: e, ID: j.ID, UserID: j.UserID, ClientIP: j.ClientIP, At: j.CreatedAt}); err != nil {
		return err
	}
	s.observe(EventHookSent)
	s.log.InfoContext(ctx, "webhook delivered", "event", "webhook", "kind", j.Kind, "job", j.ID, "user_id", j.UserID, "attempt", j.Attempts+1, "outcome", "sent")
	return nil
}
