package resettest_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"resetgate/reset"
	"resetgate/reset/resettest"
)

func TestMailerWaitSent(t *testing.T) {
	m := resettest.NewMailer()
	const n = 5
	go func() {
		for i := range n {
			m.Send(context.Background(), reset.Message{To: fmt.Sprintf("u%d@example.com", i)})
		}
	}()
	got, err := m.WaitSent(t.Context(), n)
	if err != nil {
		t.Fatalf("WaitSent(%d) = %v, want nil", n, err)
	}
	if len(got) != n {
		t.Fatalf("WaitSent(%d) = %d messages, want %d", n, len(got), n)
	}
	for i, msg := range got {
		if want := fmt.Sprintf("u%d@example.com", i); msg.To != want {
			t.Errorf("message %d To = %q, want %q", i, msg.To, want)
		}
	}
}

func TestMailerWaitSentGivesUp(t *testing.T) {
	m := resettest.NewMailer()
	m.Send(t.Context(), reset.Message{To: "a@example.com"})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := m.WaitSent(ctx, 2); !errors.Is(err, context.Canceled) {
		t.Errorf("WaitSent(2) with 1 sent and a cancelled context = %v, want %v", err, context.Canceled)
	}
}

func TestMailerFailures(t *testing.T) {
	down := errors.New("421 service not available")
	m := resettest.NewMailer()
	m.FailNext(down)
	if err := m.Send(t.Context(), reset.Message{To: "a@example.com"}); !errors.Is(err, down) {
		t.Errorf("Send = %v, want the injected %v", err, down)
	}
	if err := m.Send(t.Context(), reset.Message{To: "b@example.com"}); err != nil {
		t.Errorf("second Send = %v, want nil", err)
	}
	m.Fail(down)
	if err := m.Send(t.Context(), reset.Message{To: "c@example.com"}); !errors.Is(err, down) {
		t.Errorf("Send while failing = %v, want %v", err, down)
	}
	m.Fail(nil)
	if err := m.WaitAttempts(t.Context(), 3); err != nil {
		t.Errorf("WaitAttempts(3) = %v, want nil", err)
	}
	if got := m.Attempts(); got != 3 {
		t.Errorf("Attempts() = %d, want 3", got)
	}
	if got := m.Sent(); len(got) != 1 || got[0].To != "b@example.com" {
		t.Errorf("Sent() = %+v, want only the message to b@example.com", got)
	}
}
