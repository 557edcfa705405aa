package reset

import (
	"context"
	"net/netip"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// RequestReset handles a submitted "forgot password" form. It validates the address, applies
// the limits and queues a job; it never looks the account up and never sends mail, so it costs
// the same whether or not the account exists (SECURITY.md RQ-REQ-01, RQ-REQ-02).
//
// It returns ErrMalformedEmail for anything but one plain address, and *RateLimitError when
// the client IP is over its limit. Everything else, including a hit per-address limit, a full
// queue and a queue that cannot be written, returns nil: the caller answers identically.
func (s *Service) RequestReset(ctx context.Context, email, clientIP string) error {
	tun := s.tune()
	addr, username, err := s.lookupIdentifier(email)
	if err != nil {
		s.observe(EventRequestMalformed)
		s.log.InfoContext(ctx, "reset requested", "event", "reset.request", "ip", clientIP, "outcome", "malformed")
		return err
	}
	s.waiting(ctx) // from here on the store's writes: waits for the disk or the network
	now := s.now()
	if !tun.PerIP.Unlimited() {
		ok, retry, err := s.store.Allow(ctx, "req-ip:"+limitKey(clientIP), tun.PerIP.N, tun.PerIP.Per, now)
		if err != nil {
			s.log.ErrorContext(ctx, "rate limit store failed", "event", "reset.request", "ip", clientIP, "err", err)
		} else if !ok {
			s.observe(EventLimitedIP)
			s.log.WarnContext(ctx, "reset requested", "event", "reset.request", "ip", clientIP, "outcome", "limited_ip")
			return &RateLimitError{RetryAfter: retry}
		}
	}
	// A full queue drops the request before it costs a per-address window: under a flood of
	// distinct addresses neither the queue nor the limit windows grow past their bounds
	// (SECURITY.md RQ-REQ-09). The check reads a counter, never the store, so the answer and
	// its timing stay those of every other request.
	if tun.QueueMax > 0 && s.depth.Load() >= int64(tun.QueueMax) {
		s.observe(EventQueueFull)
		s.warnQueueFull(ctx, now, tun.QueueMax)
		s.log.InfoContext(ctx, "reset requested", "event", "reset.request", "ip", clientIP, "outcome", "queue_full")
		return nil
	}
	if !tun.PerEmail.Unlimited() {
		key := "req-email:" + addr
		if username != "" {
			key = "req-user:" + username
		}
		ok, _, err := s.store.Allow(ctx, key, tun.PerEmail.N, tun.PerEmail.Per, now)
		if err != nil {
			s.log.ErrorContext(ctx, "rate limit store failed", "event", "reset.request", "ip", clientIP, "err", err)
		} else if !ok {
			s.observe(EventLimitedEmail)
			s.log.InfoContext(ctx, "reset requested", "event", "reset.request", "ip", clientIP, "outcome", "limited_account")
			return nil
		}
	}
	job := Job{ID: NewJobID(now), Kind: JobReset, Email: addr, Username: username, ClientIP: clientIP, Language: LanguageFrom(ctx), CreatedAt: now, NotBefore: now}
	if err := s.store.Enqueue(ctx, job); err != nil {
		s.observe(EventQueueFailed)
		s.log.ErrorContext(ctx, "reset request could not be queued", "event", "reset.request", "ip", clientIP, "outcome", "queue_failed", "err", err)
		return nil
	}
	s.depth.Add(1)
	s.observe(EventRequested)
	s.log.InfoContext(ctx, "reset requested", "event", "reset.request", "ip", clientIP, "outcome", "queued")
	s.Wake()
	return nil
}

// warnQueueFull logs that the queue is full at most once a minute: a flood must not flood the
// log as well.
func (s *Service) warnQueueFull(ctx context.Context, now time.Time, max int) {
	last := s.fullSince.Load()
	if now.UnixNano()-last < int64(time.Minute) || !s.fullSince.CompareAndSwap(last, now.UnixNano()) {
		return
	}
	s.log.WarnContext(ctx, "mail queue is full: new reset requests are dropped until it drains ([limits] queue_max)",
		"event", "queue", "queue_max", max)
}

// RefreshDepth counts the queue's live jobs in the store, for QueueMax and metrics. The
// worker calls it at every poll; between calls, RequestReset counts its own enqueues.
func (s *Service) RefreshDepth(ctx context.Context) (QueueStats, error) {
	q, err := s.store.Stats(ctx, s.now())
	if err != nil {
		return q, err
	}
	s.depth.Store(int64(q.Live()))
	return q, nil
}

// LookupKey parses a submitted address and returns the form accounts are looked up (and
// per-address limits counted) by: folded with [NormalizeEmail] unless addresses are
// case-sensitive. It returns ErrMalformedEmail for anything but one plain address.
func (s *Service) LookupKey(email string) (string, error) {
	addr, err := ParseEmail(email)
	if err != nil || s.o.CaseSensitiveEmail {
		return addr, err
	}
	return NormalizeEmail(addr), nil
}

// MaxUsernameLen is the longest username a request may name, in bytes.
const MaxUsernameLen = 128

// AcceptsUsernames reports whether requests may name a username instead of an address.
func (s *Service) AcceptsUsernames() bool { return s.o.Usernames }

// lookupIdentifier reads what a request names: an address (see [Service.LookupKey]) or, with
// usernames on, anything else without an @ that is one printable line of at most
// MaxUsernameLen bytes, normalised with [NormalizeUsername] (only trimmed when addresses are
// case-sensitive). Exactly one of addr and username is set; otherwise ErrMalformedEmail.
func (s *Service) lookupIdentifier(v string) (addr, username string, err error) {
	addr, err = s.LookupKey(v)
	if err == nil || !s.o.Usernames {
		return addr, "", err
	}
	name := strings.Trim(v, " \t")
	if name == "" || len(name) > MaxUsernameLen || strings.Contains(name, "@") || !utf8.ValidString(name) {
		return "", "", ErrMalformedEmail
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return "", "", ErrMalformedEmail
		}
	}
	if !s.o.CaseSensitiveEmail {
		name = NormalizeUsername(name)
	}
	return "", name, nil
}

// FindAccount finds the account a request or a sign-in names: by address, or by username when
// usernames are on, under the same rules as a reset request.
func (s *Service) FindAccount(ctx context.Context, identifier string) (User, error) {
	addr, username, err := s.lookupIdentifier(identifier)
	switch {
	case err != nil:
		return User{}, ErrUserNotFound
	case username != "":
		return s.users.(UsernameFinder).FindUsername(ctx, username)
	}
	return s.users.FindUser(ctx, addr)
}

// limitKey is the client a per-IP limit counts: the address itself for IPv4, its /64 for
// IPv6, since one subscriber usually holds a whole /64 and could otherwise spread requests
// over 2^64 addresses.
func limitKey(clientIP string) string {
	ip, err := netip.ParseAddr(clientIP)
	if err != nil || !ip.Is6() || ip.Is4In6() {
		return clientIP
	}
	p, _ := ip.Prefix(64)
	return p.String()
}

// Wake tells an idle worker that a job may be due, so queued mail leaves at once rather than
// at the next poll.
func (s *Service) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}
