package reset_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"resetgate/reset"
	"resetgate/reset/resettest"
)

// switchHashers answers like hashers, with an error that a test can set later.
type switchHashers struct{ err atomic.Value }

func (h *switchHashers) For(string, string) (reset.Hasher, error) {
	if err, _ := h.err.Load().(error); err != nil {
		return nil, err
	}
	return plainHasher{}, nil
}

// mailerFunc is a reset.Mailer made of one function.
type mailerFunc func(ctx context.Context, m reset.Message) error

func (f mailerFunc) Send(ctx context.Context, m reset.Message) error { return f(ctx, m) }

func mustJobs(t *testing.T, f *fixture) []reset.Job {
	t.Helper()
	jobs, err := f.store.Jobs(context.Background())
	if err != nil {
		t.Fatalf("Jobs = %v", err)
	}
	return jobs
}

func mustTokens(t *testing.T, f *fixture) []reset.Token {
	t.Helper()
	tokens, err := f.store.Tokens(context.Background())
	if err != nil {
		t.Fatalf("Tokens = %v", err)
	}
	return tokens
}

func TestMaxAttemptsIsBounded(t *testing.T) {
	for _, n := range []int{-1, reset.MaxMaxAttempts + 1, 64} {
		f := newFixture(t, nil)
		_, err := reset.New(reset.Options{Languages: resettest.Languages(), Users: f.users, Store: f.store, Mailer: f.mailer, Hashers: hashers{h: plainHasher{}},
			PublicURL: "https://app.example.com", MaxAttempts: n})
		if err == nil {
			t.Errorf("New(MaxAttempts: %d) = nil error, want one", n)
		}
	}
}

func TestBackoffNeverOverflows(t *testing.T) {
	// 15s<<(attempts-1) overflowed past 30 attempts into a negative backoff, and rand.N
	// panicked on it (issue 20).
	for attempts := range 200 {
		if d := reset.Backoff(attempts); d < 15*time.Second || d > time.Hour+time.Hour/4 {
			t.Fatalf("Backoff(%d) = %v, want within 15s…1h15m", attempts, d)
		}
	}
}

func TestWorkerPanicParksTheJob(t *testing.T) {
	f := newFixture(t, func(o *reset.Options) {
		o.Mailer = mailerFunc(func(context.Context, reset.Message) error { panic("template blew up") })
	})
	if err := f.svc.RequestReset(context.Background(), "alice@example.com", "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	if !f.svc.ProcessOne(context.Background()) {
		t.Fatal("ProcessOne found no job")
	}
	jobs := mustJobs(t, f)
	if len(jobs) != 1 || !jobs[0].Dead || jobs[0].DeadAt.IsZero() {
		t.Fatalf("jobs after a panic = %+v, want one dead job", jobs)
	}
	if f.count(reset.EventJobPanicked) != 1 {
		t.Errorf("panic events = %d, want 1", f.count(reset.EventJobPanicked))
	}
	// A restart must not meet the same panic again: the job is parked.
	f.clock.Advance(48 * time.Hour)
	if f.svc.ProcessOne(context.Background()) {
		t.Error("the panicked job was leased again")
	}
}

func TestStalledSendIsCountedAndRetried(t *testing.T) {
	// A send that outlives the job's deadline used to hand RetryJob an expired context: the
	// attempt was never recorded and the job was re-sent forever (issue 20).
	f := newFixture(t, func(o *reset.Options) {
		o.JobTimeout = 20 * time.Millisecond
		o.Mailer = mailerFunc(func(ctx context.Context, _ reset.Message) error {
			<-ctx.Done()
			return fmt.Errorf("smtp: %w", ctx.Err())
		})
	})
	if err := f.svc.RequestReset(context.Background(), "alice@example.com", "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	f.svc.ProcessOne(context.Background())
	jobs := mustJobs(t, f)
	if len(jobs) != 1 || jobs[0].Attempts != 1 || !jobs[0].NotBefore.After(f.clock.Now()) || jobs[0].LeasedBy != "" {
		t.Fatalf("job after a stalled send = %+v, want attempt 1 recorded, lease cleared, backoff set", jobs)
	}
}

func TestLateSuccessIsAcknowledged(t *testing.T) {
	// A send that succeeds after the job's deadline must still be acknowledged, or the mail
	// goes out twice (issue 20).
	var sends atomic.Int32
	f := newFixture(t, func(o *reset.Options) {
		o.JobTimeout = 20 * time.Millisecond
		o.Mailer = mailerFunc(func(ctx context.Context, _ reset.Message) error {
			sends.Add(1)
			<-ctx.Done()
			return nil // the relay accepted it just as the deadline passed
		})
	})
	if err := f.svc.RequestReset(context.Background(), "alice@example.com", "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	f.drain()
	f.clock.Advance(2 * time.Hour)
	f.drain()
	if jobs := mustJobs(t, f); len(jobs) != 0 || sends.Load() != 1 {
		t.Errorf("after a late success: jobs = %+v, sends = %d; want the job acknowledged and one send", jobs, sends.Load())
	}
}

func TestPermanentFailureGivesUpAtOnce(t *testing.T) {
	f := newFixture(t, func(o *reset.Options) {
		o.Mailer = mailerFunc(func(context.Context, reset.Message) error {
			return fmt.Errorf("550 no such user: %w", reset.ErrMailRejected)
		})
	})
	if err := f.svc.RequestReset(context.Background(), "alice@example.com", "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	f.drain()
	if jobs := mustJobs(t, f); len(jobs) != 1 || !jobs[0].Dead || jobs[0].Attempts != 1 {
		t.Errorf("jobs = %+v, want one dead job after one attempt", jobs)
	}
}

func TestLostLeaseIsFenced(t *testing.T) {
	// Worker A stalls past its lease; worker B takes the job and delivers it. A's late
	// outcome must not delete or reschedule what B now owns (issue 20, fencing).
	release := make(chan struct{})
	var calls atomic.Int32
	var f *fixture
	f = newFixture(t, func(o *reset.Options) {
		o.JobTimeout = time.Hour
		o.Mailer = mailerFunc(func(ctx context.Context, m reset.Message) error {
			if calls.Add(1) == 1 {
				f.clock.Advance(3 * time.Hour) // A's lease lapses while it sends
				<-release
				return errors.New("421 try later")
			}
			return nil
		})
	})
	if err := f.svc.RequestReset(context.Background(), "alice@example.com", "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { f.svc.ProcessOne(context.Background()); close(done) }()
	waitFor(t, "worker A to start sending", func() bool { return calls.Load() > 0 })
	if !f.svc.ProcessOne(context.Background()) { // worker B
		t.Fatal("worker B found no job although A's lease lapsed")
	}
	close(release)
	<-done
	if jobs := mustJobs(t, f); len(jobs) != 0 {
		t.Errorf("jobs = %+v, want none: B delivered and A's retry was fenced off", jobs)
	}
	if f.count(reset.EventLeaseLost) != 1 {
		t.Errorf("lease-lost events = %d, want 1", f.count(reset.EventLeaseLost))
	}
}

func TestQueueMaxDropsSilently(t *testing.T) {
	f := newFixture(t, func(o *reset.Options) { o.QueueMax = 5 })
	for i := range 50 {
		if err := f.svc.RequestReset(context.Background(), fmt.Sprintf("flood%d@example.net", i), "192.0.2.1"); err != nil {
			t.Fatalf("RequestReset #%d = %v, want nil: a full queue must not change the answer", i, err)
		}
	}
	if jobs := mustJobs(t, f); len(jobs) != 5 {
		t.Errorf("jobs queued = %d, want the cap of 5", len(jobs))
	}
	if f.count(reset.EventQueueFull) != 45 {
		t.Errorf("queue-full events = %d, want 45", f.count(reset.EventQueueFull))
	}
	f.drain()
	if _, err := f.svc.RefreshDepth(context.Background()); err != nil {
		t.Fatal(err)
	}
	if sent := f.request(t, "alice@example.com"); len(sent) != 1 {
		t.Errorf("after the queue drained, mails = %d, want 1", len(sent))
	}
}

func TestMailBudgetDefersWithoutAttempts(t *testing.T) {
	f := newFixture(t, func(o *reset.Options) { o.MailPerDomain = reset.Rate{N: 1, Per: time.Hour} })
	f.users.Put(reset.User{ID: "3", Email: "carol@example.com", PasswordHash: "test$carol"})
	if sent := f.request(t, "alice@example.com"); len(sent) != 1 {
		t.Fatalf("first mail to the domain: %d sent, want 1", len(sent))
	}
	if sent := f.request(t, "carol@example.com"); len(sent) != 0 {
		t.Fatalf("second mail to the domain within its budget window: %d sent, want 0", len(sent))
	}
	jobs := mustJobs(t, f)
	if len(jobs) != 1 || jobs[0].Attempts != 0 || jobs[0].Dead || !jobs[0].NotBefore.After(f.clock.Now()) {
		t.Fatalf("deferred job = %+v, want it waiting with no attempt counted", jobs)
	}
	f.clock.Advance(time.Hour)
	f.drain()
	if sent := f.mailer.Sent(); len(sent) != 2 || sent[1].To != "carol@example.com" {
		t.Errorf("after the window: %d mails, want carol's to follow", len(sent))
	}
	if f.count(reset.EventMailDeferred) != 1 {
		t.Errorf("deferred events = %d, want 1", f.count(reset.EventMailDeferred))
	}
}

func TestMetricsEventsHideAccounts(t *testing.T) {
	f := newFixture(t, nil)
	f.request(t, "alice@example.com")
	known := map[reset.Event]int64{}
	f.events.Range(func(k, v any) bool { known[k.(reset.Event)] = v.(*atomic.Int64).Load(); return true })
	g := newFixture(t, nil)
	g.request(t, "nobody@example.com")
	for _, e := range []reset.Event{reset.EventRequested, reset.EventResetHandled} {
		if known[e] != 1 || g.count(e) != 1 {
			t.Errorf("event %s: known %d, unknown %d; want 1 for both", e, known[e], g.count(e))
		}
	}
}

func TestRunStopsWithinDrain(t *testing.T) {
	// At shutdown a stalled send is cut after Drain and its job rescheduled, not left leased.
	f := newFixture(t, func(o *reset.Options) {
		o.Now = time.Now
		o.Drain = 20 * time.Millisecond
		o.Mailer = mailerFunc(func(ctx context.Context, _ reset.Message) error {
			<-ctx.Done()
			return ctx.Err()
		})
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.svc.Run(ctx); close(done) }()
	if err := f.svc.RequestReset(context.Background(), "alice@example.com", "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the job to be leased", func() bool { jobs := mustJobs(t, f); return len(jobs) == 1 && jobs[0].LeasedBy != "" })
	cancel()
	<-done
	if jobs := mustJobs(t, f); len(jobs) != 1 || jobs[0].LeasedBy != "" || jobs[0].Attempts != 1 {
		t.Errorf("job after shutdown = %+v, want it rescheduled with the attempt counted", jobs)
	}
}

// The hash and the strength check run through Options.RunHash, each holding a slot, so that
// main can put them on low-priority threads.
func TestHashingRunsThroughRunHash(t *testing.T) {
	var calls atomic.Int64
	f := newFixture(t, func(o *reset.Options) {
		o.RunHash = func(work func()) { calls.Add(1); work() }
	})
	raw := f.link(t)
	if _, err := f.svc.CompleteReset(context.Background(), raw, "a brand new secret", "a brand new secret", "192.0.2.1"); err != nil {
		t.Fatalf("CompleteReset = %v", err)
	}
	if got := f.users.Hash("1"); got != "test$a brand new secret" {
		t.Errorf("stored hash = %q", got)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("RunHash ran %d times, want 2 (the strength check, then the hash)", n)
	}
}

// Options.Waiting hears of each wait for something other than a CPU, with the request's own
// context and before the wait: a reset request before the store's writes, a completion before
// each hash slot (the strength check, then the hash).
func TestWaitingHearsOfEachWait(t *testing.T) {
	type key struct{}
	var calls []string
	var f *fixture
	f = newFixture(t, func(o *reset.Options) {
		o.Waiting = func(ctx context.Context) {
			what, _ := ctx.Value(key{}).(string)
			busy, _ := f.svc.HashSlots()
			calls = append(calls, fmt.Sprintf("%s: %d jobs, %d slots busy", what, len(mustJobs(t, f)), busy))
		}
	})
	ctx := context.WithValue(context.Background(), key{}, "request")
	if err := f.svc.RequestReset(ctx, "alice@example.com", "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	f.drain()
	sent := f.mailer.Sent()
	if len(sent) != 1 {
		t.Fatalf("mails sent = %d, want 1", len(sent))
	}
	raw := sent[0].Link[strings.LastIndexByte(sent[0].Link, '/')+1:]
	ctx = context.WithValue(context.Background(), key{}, "completion")
	if _, err := f.svc.CompleteReset(ctx, raw, "a brand new secret", "a brand new secret", "192.0.2.1"); err != nil {
		t.Fatalf("CompleteReset = %v", err)
	}
	want := []string{"request: 0 jobs, 0 slots busy", "completion: 0 jobs, 0 slots busy", "completion: 0 jobs, 0 slots busy"}
	if fmt.Sprint(calls) != fmt.Sprint(want) {
		t.Errorf("Waiting heard\n%q\nwant\n%q", calls, want)
	}
}
