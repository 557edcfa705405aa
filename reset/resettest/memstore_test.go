package resettest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"resetgate/reset"
	"resetgate/reset/resettest"
)

func TestMemStore(t *testing.T) {
	resettest.TestStore(t, resettest.Factory{
		Open: func(t *testing.T) reset.Store { return resettest.NewMemStore() },
	})
}

func TestMemStoreClosed(t *testing.T) {
	s := resettest.NewMemStore()
	if err := s.Close(); err != nil {
		t.Fatalf("Close() = %v, want nil", err)
	}
	if err := s.Ping(t.Context()); err == nil {
		t.Errorf("Ping() after Close = nil, want an error")
	}
	if err := s.Enqueue(t.Context(), reset.Job{ID: "j1", Kind: reset.JobReset}); err == nil {
		t.Errorf("Enqueue() after Close = nil, want an error")
	}
}

func TestMemStoreCancelledContext(t *testing.T) {
	s := resettest.NewMemStore()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Enqueue(ctx, reset.Job{ID: "j1", Kind: reset.JobReset}); !errors.Is(err, context.Canceled) {
		t.Errorf("Enqueue(cancelled ctx) = %v, want %v", err, context.Canceled)
	}
	if js, _ := s.Jobs(t.Context()); len(js) != 0 {
		t.Errorf("Jobs() after a cancelled Enqueue = %+v, want none", js)
	}
}

func TestMemStoreSecretSize(t *testing.T) {
	s := resettest.NewMemStore()
	if _, err := s.Secret(t.Context(), "k", 32); err != nil {
		t.Fatalf("Secret(%q, 32) = %v, want nil", "k", err)
	}
	for _, size := range []int{16, 0, -1} {
		if _, err := s.Secret(t.Context(), "k", size); err == nil {
			t.Errorf("Secret(%q, %d) of a 32-byte secret = nil error, want one", "k", size)
		}
	}
}

func TestMemStoreAllowBadWindow(t *testing.T) {
	s := resettest.NewMemStore()
	if _, _, err := s.Allow(t.Context(), "k", 1, 0, time.Now()); err == nil {
		t.Errorf("Allow(window 0) = nil error, want one")
	}
}
