package resettest

import (
	"context"
	"fmt"
	"sync"

	"resetgate/reset"
)

// Mailer is a [reset.Mailer] that records what it delivers instead of sending it. Tests read
// the messages with [Mailer.Sent], wait for them with [Mailer.WaitSent] (the mail worker runs
// in its own goroutine) and make deliveries fail with [Mailer.Fail] and [Mailer.FailNext]. It
// is safe for concurrent use. The zero value is ready to use.
type Mailer struct {
	mu       sync.Mutex
	sent     []reset.Message
	attempts int
	fail     error
	next     []error
	// changed is closed, and replaced, whenever a Send call returns, so that waiters wake
	// without polling.
	changed chan struct{}
}

var _ reset.Mailer = (*Mailer)(nil)

// NewMailer returns an empty Mailer.
func NewMailer() *Mailer { return new(Mailer) }

// Send records m as delivered, or returns the injected failure and records nothing.
func (m *Mailer) Send(ctx context.Context, msg reset.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	defer m.broadcast()
	m.attempts++
	if err := ctx.Err(); err != nil {
		return err
	}
	if m.fail != nil {
		return m.fail
	}
	if len(m.next) > 0 {
		err := m.next[0]
		m.next = m.next[1:]
		return err
	}
	m.sent = append(m.sent, msg)
	return nil
}

// Sent returns a copy of the delivered messages, in order.
func (m *Mailer) Sent() []reset.Message {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]reset.Message(nil), m.sent...)
}

// Attempts returns how many times Send was called, failed attempts included.
func (m *Mailer) Attempts() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.attempts
}

// Fail makes every Send fail with err (the mail server is down) until Fail(nil).
func (m *Mailer) Fail(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fail = err
}

// FailNext makes the next Send fail with err; several calls queue failures in order.
func (m *Mailer) FailNext(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.next = append(m.next, err)
}

// WaitSent blocks until at least n messages have been delivered and returns them all, or
// returns an error naming how many arrived when ctx ends. Give it a context with a deadline.
func (m *Mailer) WaitSent(ctx context.Context, n int) ([]reset.Message, error) {
	for {
		m.mu.Lock()
		if len(m.sent) >= n {
			sent := append([]reset.Message(nil), m.sent...)
			m.mu.Unlock()
			return sent, nil
		}
		ch := m.wait()
		got := len(m.sent)
		m.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for %d messages, %d sent: %w", n, got, context.Cause(ctx))
		}
	}
}

// WaitAttempts blocks until Send has been called at least n times, failed attempts included,
// or returns an error when ctx ends.
func (m *Mailer) WaitAttempts(ctx context.Context, n int) error {
	for {
		m.mu.Lock()
		if m.attempts >= n {
			m.mu.Unlock()
			return nil
		}
		ch := m.wait()
		got := m.attempts
		m.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("waiting for %d send attempts, %d made: %w", n, got, context.Cause(ctx))
		}
	}
}

// wait returns the channel closed by the next change. m.mu is held.
func (m *Mailer) wait() <-chan struct{} {
	if m.changed == nil {
		m.changed = make(chan struct{})
	}
	return m.changed
}

// broadcast wakes every waiter. m.mu is held.
func (m *Mailer) broadcast() {
	if m.changed != nil {
		close(m.changed)
		m.changed = nil
	}
}
