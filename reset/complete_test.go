package reset_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"resetgate/reset"
	"resetgate/reset/resettest"
)

// parkingHasher parks the first Hash call until released, so that a test can hold one
// completion between its claim and its write, deterministically.
type parkingHasher struct {
	plainHasher
	once    sync.Once
	parked  chan struct{}
	release chan struct{}
}

func newParkingHasher() *parkingHasher {
	return &parkingHasher{parked: make(chan struct{}), release: make(chan struct{})}
}

func (h *parkingHasher) Hash(pw string) (string, error) {
	h.once.Do(func() { close(h.parked); <-h.release })
	return h.plainHasher.Hash(pw)
}

// waitFor polls cond until it holds, failing the test if it never does. The bound only
// turns a missing event into a failure instead of a hang; no timing is asserted.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestDoubleSubmitWaitsForTheFirst(t *testing.T) {
	// The second click used to see "link invalid" although the first changed the password;
	// and with the claim removed both would write. Here the first is parked after its claim.
	h := newParkingHasher()
	f := newFixture(t, func(o *reset.Options) { o.Hashers = hashers{h: h}; o.HashSlots = 2 })
	raw := f.link(t)
	const pw = "a brand new secret"
	errs := make(chan error, 2)
	go func() { _, err := f.svc.CompleteReset(context.Background(), raw, pw, pw, "192.0.2.1"); errs <- err }()
	<-h.parked
	go func() { _, err := f.svc.CompleteReset(context.Background(), raw, pw, pw, "192.0.2.1"); errs <- err }()
	// The second submission is waiting on the claim; nothing it does may write.
	waitFor(t, "the second submission to wait for the first", func() bool { return f.count(reset.EventCompletionWaits) > 0 })
	close(h.release)
	for range 2 {
		if err := <-errs; err != nil {
			t.Errorf("CompleteReset = %v, want nil for both submissions", err)
		}
	}
	if n := f.users.Calls(resettest.SetPassword); n != 1 {
		t.Errorf("SetPassword calls = %d, want exactly 1", n)
	}
	if got := f.users.Hash("1"); got != "test$"+pw {
		t.Errorf("stored hash = %q, want the new password's", got)
	}
}

func TestFirstSubmitFailsSecondWrites(t *testing.T) {
	h := newParkingHasher()
	f := newFixture(t, func(o *reset.Options) { o.Hashers = hashers{h: h}; o.HashSlots = 2 })
	raw := f.link(t)
	f.users.FailNext(resettest.SetPassword, errors.New("connection reset by peer"))
	const pw = "a brand new secret"
	first := make(chan error, 1)
	go func() { _, err := f.svc.CompleteReset(context.Background(), raw, pw, pw, "192.0.2.1"); first <- err }()
	<-h.parked
	second := make(chan error, 1)
	go func() { _, err := f.svc.CompleteReset(context.Background(), raw, pw, pw, "192.0.2.1"); second <- err }()
	waitFor(t, "the second submission to wait for the first", func() bool { return f.count(reset.EventCompletionWaits) > 0 })
	close(h.release)
	if err := <-first; !errors.Is(err, reset.ErrUnavailable) {
		t.Errorf("first CompleteReset = %v, want ErrUnavailable", err)
	}
	if err := <-second; err != nil {
		t.Errorf("second CompleteReset = %v, want nil: it takes over once the first released the link", err)
	}
	if got := f.users.Hash("1"); got != "test$"+pw {
		t.Errorf("stored hash = %q, want the new password's", got)
	}
}

// hangUpUsers cancels the request right after a successful write, as a client that hangs up
// the moment the password is committed (an attacker with a leaked link would).
type hangUpUsers struct {
	*resettest.Users
	cancel context.CancelFunc
	commit bool // write, then report an error (a lost COMMIT reply)
}

func (u *hangUpUsers) SetPassword(ctx context.Context, old reset.User, newHash string) error {
	err := u.Users.SetPassword(ctx, old, newHash)
	u.cancel()
	if err == nil && u.commit {
		return errors.New("driver: bad connection")
	}
	return err
}

func TestNoticeSurvivesHangUpAfterCommit(t *testing.T) {
	for _, commitLost := range []bool{false, true} {
		t.Run(fmt.Sprintf("commit reply lost %v", commitLost), func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			hu := &hangUpUsers{Users: resettest.NewUsers(alice), cancel: cancel, commit: commitLost}
			f := newFixture(t, func(o *reset.Options) { o.Users = hu })
			raw := f.link(t)
			const pw = "a brand new secret"
			if _, err := f.svc.CompleteReset(ctx, raw, pw, pw, "192.0.2.1"); err != nil {
				t.Fatalf("CompleteReset = %v, want nil (the password was written)", err)
			}
			f.drain()
			sent := f.mailer.Sent()
			if len(sent) != 2 || !strings.Contains(strings.ToLower(sent[1].Subject), "changed") {
				t.Fatalf("mails = %d, want the link and the password-changed notice", len(sent))
			}
		})
	}
}

func TestNoticeDroppedWhenNothingWasWritten(t *testing.T) {
	f := newFixture(t, nil)
	raw := f.link(t)
	f.users.FailNext(resettest.SetPassword, errors.New("connection refused"))
	const pw = "a brand new secret"
	if _, err := f.svc.CompleteReset(context.Background(), raw, pw, pw, "192.0.2.1"); !errors.Is(err, reset.ErrUnavailable) {
		t.Fatalf("CompleteReset = %v, want ErrUnavailable", err)
	}
	f.clock.Advance(10 * time.Minute)
	f.drain()
	if sent := f.mailer.Sent(); len(sent) != 1 {
		t.Errorf("mails = %d, want only the link: no notice for a password that did not change", len(sent))
	}
	if jobs := mustJobs(t, f); len(jobs) != 0 {
		t.Errorf("jobs = %+v, want none left", jobs)
	}
}

func TestValidLinkWorksDuringGuessingFlood(t *testing.T) {
	// 21 addresses × 30 garbage tokens used to keep every real link at 429 (issue 16).
	f := newFixture(t, func(o *reset.Options) {
		o.TokenPerIP = reset.Rate{N: 30, Per: time.Hour}
		o.TokenGlobal = reset.Rate{N: 600, Per: time.Minute}
	})
	raw := f.link(t)
	guess := strings.Repeat("A", 43)
	for ip := range 40 {
		for range 31 {
			f.svc.CheckToken(context.Background(), guess, fmt.Sprintf("203.0.113.%d", ip))
		}
	}
	if _, err := f.svc.CheckToken(context.Background(), raw, "198.51.100.9"); err != nil {
		t.Errorf("the victim's link during a flood = %v, want nil", err)
	}
	var limited *reset.RateLimitError
	if _, err := f.svc.CheckToken(context.Background(), guess, "198.51.100.10"); !errors.As(err, &limited) {
		t.Errorf("a new guesser once the global failure budget is spent = %v, want *RateLimitError", err)
	}
	if _, err := f.svc.CheckToken(context.Background(), raw, "203.0.113.1"); !errors.As(err, &limited) {
		t.Errorf("a guesser over its own limit = %v, want *RateLimitError even with a valid link", err)
	}
}

func TestValidChecksAreNotCharged(t *testing.T) {
	f := newFixture(t, func(o *reset.Options) { o.TokenPerIP = reset.Rate{N: 3, Per: time.Hour} })
	raw := f.link(t)
	for i := range 10 {
		if _, err := f.svc.CheckToken(context.Background(), raw, "198.51.100.9"); err != nil {
			t.Fatalf("check %d of a valid link = %v, want nil", i, err)
		}
	}
}
