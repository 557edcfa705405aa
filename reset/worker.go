package reset

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"strings"
	"sync"
	"time"
)

const (
	// noticeSettle is how long a notice waits for its password write to show before the
	// worker concludes that the write never happened and drops it.
	noticeSettle = writeTimeout + 30*time.Second
	// noticeRecheck is how soon a notice whose write has not shown yet is looked at again.
	noticeRecheck = 2 * time.Second
)

// deferral reschedules a job without counting an attempt: it is not the job's fault (a mail
// budget is spent, a notice's password write has not shown yet).
type deferral struct {
	after time.Duration
	why   string
}

func (d *deferral) Error() string { return "deferred: " + d.why }

// jobPanic is a panic recovered while a job ran.
type jobPanic struct {
	value any
	stack []byte
}

func (p *jobPanic) Error() string { return fmt.Sprintf("panic: %v", p.value) }

// Run works the mail queue with Options.Workers workers until ctx is done, keeping the
// queue's depth counted for QueueMax. Once ctx is done no new job starts; jobs in hand get
// Options.Drain more to finish, after which their sends are cancelled and the jobs
// rescheduled (the attempt counted). So Run returns within Drain plus one store write, and a
// job is never left leased by a process that is going away.
func (s *Service) Run(ctx context.Context) {
	hard, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	go func() {
		select {
		case <-ctx.Done():
		case <-hard.Done():
			return
		}
		t := time.NewTimer(s.o.Drain)
		defer t.Stop()
		select {
		case <-t.C:
			cancel()
		case <-hard.Done():
		}
	}()
	var wg sync.WaitGroup
	for range s.o.Workers {
		wg.Go(func() { s.work(ctx, hard) })
	}
	wg.Go(func() { s.countQueue(ctx) })
	wg.Wait()
}

func (s *Service) work(ctx, hard context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		for ctx.Err() == nil && s.ProcessOne(hard) {
		}
		timer.Reset(s.o.PollInterval)
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-timer.C:
		}
	}
}

func (s *Service) countQueue(ctx context.Context) {
	t := time.NewTicker(s.o.PollInterval)
	defer t.Stop()
	for {
		if _, err := s.RefreshDepth(ctx); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "mail queue could not be counted", "event", "queue", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// ProcessOne leases one due job and handles it within Options.JobTimeout (and ctx), then
// records the outcome on a context of its own. It reports whether it found a job.
func (s *Service) ProcessOne(ctx context.Context) bool {
	now := s.now()
	// The lease outlives the job's own deadline by a real margin, so that it cannot lapse
	// while its worker is still sending or recording (issue 20).
	j, err := s.store.NextJob(ctx, now, now.Add(s.o.JobTimeout+leaseMargin))
	if errors.Is(err, ErrNoJob) {
		return false
	}
	if err != nil {
		if ctx.Err() == nil {
			s.log.ErrorContext(ctx, "mail queue failed", "event", "queue", "err", err)
		}
		return false
	}
	jctx, cancel := context.WithTimeout(ctx, s.o.JobTimeout)
	err = s.safeHandle(jctx, j)
	cancel()
	s.finish(ctx, j, err)
	return true
}

// safeHandle runs the job, turning a panic into an error: a worker must never take the proxy
// down with it, nor crash again at every restart on the same stored job (issue 20).
func (s *Service) safeHandle(ctx context.Context, j Job) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &jobPanic{value: r, stack: debug.Stack()}
		}
	}()
	return s.handle(ctx, j)
}

// finish records a job's outcome. The writes get their own short context: a send that used
// up the job's deadline must still be counted, or the job would never die (issue 20).
func (s *Service) finish(ctx context.Context, j Job, cause error) {
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	if cause == nil {
		err := s.store.AckJob(bctx, j)
		if errors.Is(err, ErrJobNotFound) {
			// Already gone: a store that resent the ack after a lost reply (go-redis does)
			// finds its own earlier delete, or an operator dropped the job. Done either way.
			err = nil
		}
		s.record(bctx, j, err)
		return
	}
	now := s.now()
	j.LastError = cause.Error()
	// What failed, for the log: the mail, or the webhook (its error names the receiver).
	what, failed, givenUp := "mail", EventMailFailed, EventMailGivenUp
	if isHook(j) {
		what, failed, givenUp = "webhook", EventHookFailed, EventHookGivenUp
	}
	permanent := errors.Is(cause, ErrMailRejected) || errors.Is(cause, ErrHookRejected)
	var d *deferral
	var p *jobPanic
	switch {
	case errors.As(cause, &d):
		j.NotBefore = now.Add(d.after)
		s.log.InfoContext(ctx, what+" deferred", "event", what, "kind", j.Kind, "job", j.ID, "user_id", j.UserID, "why", d.why, "retry_in", d.after.Round(time.Second).String())
	case errors.As(cause, &p):
		j.Dead, j.DeadAt = true, now
		s.observe(EventJobPanicked)
		s.observe(givenUp)
		s.log.ErrorContext(ctx, what+" job panicked; parked as dead (resetgate queue list)", "event", what, "kind", j.Kind, "job", j.ID, "user_id", j.UserID, "err", cause, "stack", string(p.stack))
	default:
		j.Attempts++
		if j.Attempts >= s.maxAttempts(j) || permanent {
			j.Dead, j.DeadAt = true, now
			s.observe(givenUp)
			s.log.ErrorContext(ctx, what+" given up", "event", what, "kind", j.Kind, "job", j.ID, "user_id", j.UserID, "attempts", j.Attempts, "permanent", permanent, "err", cause)
			if j.Kind == JobReset {
				s.auditRequest(ctx, j, User{ID: j.UserID, Email: j.Email}, "given_up")
			}
		} else {
			backoff := Backoff(j.Attempts)
			j.NotBefore = now.Add(backoff)
			s.observe(failed)
			s.log.WarnContext(ctx, what+" failed; will retry", "event", what, "kind", j.Kind, "job", j.ID, "user_id", j.UserID, "attempt", j.Attempts, "retry_in", backoff.Round(time.Second).String(), "err", cause)
		}
	}
	s.record(bctx, j, s.store.RetryJob(bctx, j))
}

func (s *Service) record(ctx context.Context, j Job, err error) {
	switch {
	case err == nil:
		if d := s.depth.Add(-1); d < 0 {
			s.depth.Store(0)
		}
	case errors.Is(err, ErrLeaseLost), errors.Is(err, ErrJobNotFound):
		// The lease lapsed and another worker took the job (or an operator dropped it):
		// what it records wins, and this worker's outcome is discarded.
		s.observe(EventLeaseLost)
		s.log.WarnContext(ctx, "mail job's lease was lost to another worker; its outcome is left to that one", "event", "queue", "job", j.ID, "err", err)
	default:
		s.log.ErrorContext(ctx, "mail queue update failed; the job is retried when its lease lapses", "event", "queue", "job", j.ID, "err", err)
	}
}

// Backoff is the delay before delivery attempt n+1 after n failed ones: 15 s doubling up to
// an hour, plus up to a quarter of jitter so that many failed jobs do not retry in lockstep.
// The shift is clamped, so no attempt count can overflow it.
func Backoff(attempts int) time.Duration {
	shift := min(max(attempts-1, 0), 8) // 15 s << 8 is past the cap already
	d := min(defaultFirstBackoff<<shift, defaultMaxBackoff)
	return d + rand.N(d/4+1)
}

func (s *Service) handle(ctx context.Context, j Job) error {
	switch j.Kind {
	case JobReset:
		return s.handleReset(ctx, j)
	case JobNotice:
		return s.handleNotice(ctx, j)
	case JobWasntMe:
		return s.handleWasntMe(ctx, j)
	case JobVoidCode:
		return s.handleVoidCode(ctx, j)
	case JobHookPasswordChanged, JobHookWasntMe:
		return s.handleHook(ctx, j)
	}
	s.log.ErrorContext(ctx, "unknown job kind dropped", "event", "queue", "job", j.ID, "kind", j.Kind)
	return nil
}

func (s *Service) handleReset(ctx context.Context, j Job) error {
	var u User
	var err error
	if finder, ok := s.users.(UsernameFinder); ok && j.Username != "" {
		u, err = finder.FindUsername(ctx, j.Username)
	} else {
		u, err = s.users.FindUser(ctx, j.Email)
	}
	switch {
	case errors.Is(err, ErrUserNotFound), errors.Is(err, ErrAmbiguousUser):
		outcome := "no_account"
		if errors.Is(err, ErrAmbiguousUser) {
			outcome = "ambiguous_account"
			s.log.WarnContext(ctx, "several accounts match one address under the configured normalisation; no link sent", "event", "mail", "job", j.ID, "ip", j.ClientIP)
		}
		s.observe(EventResetHandled)
		s.log.InfoContext(ctx, "reset request handled", "event", "mail", "kind", j.Kind, "job", j.ID, "ip", j.ClientIP, "outcome", outcome)
		s.auditRequest(ctx, j, User{Email: j.Email}, outcome)
		return nil
	case err != nil:
		return fmt.Errorf("look up account: %w", err)
	}
	// A link to a password that cannot be written would end on an error page, every time:
	// decide here, before mailing (issue 15).
	if _, plain := s.users.(PlainPasswordSetter); !plain {
		if _, err := s.hashers.For(u.ID, u.PasswordHash); err != nil {
			s.observe(EventNotResettable)
			s.observe(EventResetHandled)
			s.log.WarnContext(ctx, "no link sent: this account's password format cannot be written (set [users] hash, see `resetgate doctor`)", "event", "mail", "kind", j.Kind, "job", j.ID, "ip", j.ClientIP, "user_id", u.ID, "outcome", "not_resettable", "err", err)
			s.auditRequest(ctx, j, u, "not_resettable")
			return nil
		}
	}
	if err := s.mailLink(ctx, u, j.ClientIP, j.Language); err != nil {
		return err
	}
	s.observe(EventResetHandled)
	s.log.InfoContext(ctx, "reset link sent", "event", "mail", "kind", j.Kind, "job", j.ID, "ip", j.ClientIP, "user_id", u.ID, "outcome", "sent")
	s.auditRequest(ctx, j, u, "sent")
	return nil
}

// mailLink mails u a fresh reset link, within the mail budgets. A fresh token on every
// attempt: the raw token exists only in the mail, never in the queue (SECURITY.md RQ-TOK-02),
// and the newest one voids the earlier ones.
func (s *Service) mailLink(ctx context.Context, u User, clientIP, lang string) error {
	if err := s.budget(ctx, u.Email); err != nil {
		return err
	}
	_, msg, err := s.issue(ctx, u, clientIP, lang)
	if err != nil {
		return err
	}
	if err := s.mailer.Send(ctx, msg); err != nil {
		return err
	}
	s.observe(EventMailSent)
	return nil
}

// auditRequest records how a reset request ended, once the worker knows: at the time it was
// asked for, from the address that asked. The request path writes nothing to the trail, so
// that its answer and its timing cannot depend on it.
func (s *Service) auditRequest(ctx context.Context, j Job, u User, outcome string) {
	s.audit(ctx, AuditEvent{Time: j.CreatedAt, Event: AuditRequested, Outcome: outcome, UserID: u.ID, Email: u.Email,
		Username: j.Username, IP: j.ClientIP})
}

// errNotChanged: a job queued before a password write finds that the write never happened.
var errNotChanged = errors.New("the password was not changed")

// settled waits for the password write that job j (a notice or its webhook) was queued
// before: it returns the account once it no longer has the old password, a *deferral while
// the write may still show, errNotChanged once it cannot any more, and ErrUserNotFound if the
// account is gone.
func (s *Service) settled(ctx context.Context, j Job) (User, error) {
	u, err := s.users.UserByID(ctx, j.UserID)
	if errors.Is(err, ErrUserNotFound) {
		return User{}, err
	}
	if err != nil {
		return User{}, fmt.Errorf("look up account: %w", err)
	}
	if j.OldFingerprint != "" && Fingerprint(u.PasswordHash, u.Email) == j.OldFingerprint {
		if s.now().Before(j.CreatedAt.Add(noticeSettle)) {
			return User{}, &deferral{after: noticeRecheck, why: "the new password is not written yet"}
		}
		return User{}, errNotChanged
	}
	return u, nil
}

func (s *Service) handleNotice(ctx context.Context, j Job) error {
	u, err := s.settled(ctx, j)
	switch {
	case errors.Is(err, ErrUserNotFound):
		s.log.WarnContext(ctx, "account gone before its notice was sent", "event", "mail", "kind", j.Kind, "job", j.ID, "user_id", j.UserID)
		return nil
	case errors.Is(err, errNotChanged):
		s.log.InfoContext(ctx, "notice dropped: the password was not changed", "event", "mail", "kind", j.Kind, "job", j.ID, "user_id", j.UserID, "outcome", "not_changed")
		return nil
	case err != nil:
		return err
	}
	if err := s.budget(ctx, u.Email); err != nil {
		return err
	}
	// A fresh "this wasn't me" link per attempt, like reset links; all of one notice's links
	// share its single-use mark (the notice's id).
	wasntMe, err := s.wasntMeLink(ctx, j.ID, u.ID)
	if err != nil {
		return err
	}
	tun := s.tune()
	d := s.mailData(tun, u, j.Language, j.ClientIP, j.CreatedAt, "")
	d.WasntMe, d.WasntMeValid = wasntMe, d.L.Duration(s.o.WasntMeTTL)
	msg, err := tun.Mail.render("changed", u.Email, d)
	if err != nil {
		return err
	}
	if err := s.mailer.Send(ctx, msg); err != nil {
		return err
	}
	s.observe(EventMailSent)
	s.log.InfoContext(ctx, "password-changed notice sent", "event", "mail", "kind", j.Kind, "job", j.ID, "user_id", u.ID, "outcome", "sent")
	return nil
}

// budget spends one mail of the global and per-domain budgets, or defers the job until they
// allow it. Mail providers throttle or block a sender per domain; the budgets keep a flood
// of requests from getting the site's mail blocked (SECURITY.md RQ-REQ-09). The request path
// never sees them, so answers and timing stay the same.
func (s *Service) budget(ctx context.Context, to string) error {
	tun := s.tune()
	now := s.now()
	domain := strings.ToLower(to[strings.LastIndexByte(to, '@')+1:])
	limits := []struct {
		key  string
		rate Rate
	}{{"mail-all", tun.MailGlobal}, {"mail-domain:" + domain, tun.MailPerDomain}}
	for _, l := range limits {
		if l.rate.Unlimited() {
			continue
		}
		// Peek both first, so that a spent per-domain budget does not use up global budget.
		ok, retry, err := s.store.Peek(ctx, l.key, l.rate.N, now)
		if err != nil {
			return fmt.Errorf("mail budget: %w", err)
		}
		if !ok {
			s.observe(EventMailDeferred)
			return &deferral{after: retry, why: "mail budget " + l.rate.String() + " spent (" + strings.SplitN(l.key, ":", 2)[0] + ")"}
		}
	}
	for _, l := range limits {
		if l.rate.Unlimited() {
			continue
		}
		if _, _, err := s.store.Allow(ctx, l.key, l.rate.N, l.rate.Per, now); err != nil {
			return fmt.Errorf("mail budget: %w", err)
		}
	}
	return nil
}
