package reset

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"
)

// Defaults for the zero values of [Options].
const (
	DefaultTokenTTL       = time.Hour
	MaxTokenTTL           = 24 * time.Hour // SECURITY.md RQ-TOK-04: hard cap
	DefaultMinPassword    = 8
	DefaultMaxPassword    = 128
	DefaultMaxAttempts    = 8
	DefaultWorkers        = 2
	DefaultClaimLease     = 2 * time.Minute
	DefaultJobLease       = time.Minute
	DefaultPollInterval   = time.Second
	defaultMaxBackoff     = time.Hour
	defaultFirstBackoff   = 15 * time.Second
	defaultJobSendTimeout = 45 * time.Second
)

// Options configures a [Service]. Users, Store, Mailer, Hashers and PublicURL are required;
// every other zero value means the default documented on the field.
type Options struct {
	Users   Users
	Store   Store
	Mailer  Mailer
	Hashers Hashers
	Checker PasswordChecker // nil: only length and equality are checked
	Mail    *MailTemplates  // nil: the built-in templates

	// CaseSensitiveEmail keeps the case of submitted addresses for the lookup; by default they
	// are folded with NormalizeEmail (ASCII only), matching Users.FindUser's contract.
	CaseSensitiveEmail bool

	PublicURL string // scheme://host[:port][/path] that every link starts with; never a request's Host
	Prefix    string // default "/pwreset"
	Site      string // the site's name in mail; default the public host

	TokenTTL       time.Duration // default 1h, at most 24h
	MinPassword    int           // characters (code points); default 8
	MaxPassword    int           // characters; default 128
	PerEmail       Rate          // reset requests per address, silent; zero: unlimited
	PerIP          Rate          // reset requests per client IP, answered 429; zero: unlimited
	TokenPerIP     Rate          // link checks and completions per client IP; zero: unlimited
	TokenGlobal    Rate          // link checks and completions in all; zero: unlimited
	MaxAttempts    int           // mail delivery attempts before a job is given up; default 8
	Workers        int           // concurrent mail workers; default 2
	HashSlots      int           // concurrent hashes and strength checks; default NumCPU-1 (at least 1)
	PollInterval   time.Duration // how often idle workers look for due jobs; default 1s
	Now            func() time.Time
	Logger         *slog.Logger // default slog.Default()
	Observe        func(Event)  // called for every [Event]; nil: none
	ObserveHashing func(time.Duration)
}

// Event names something that happened, for metrics. It carries no personal data: the audit
// log has the details.
type Event string

// Events passed to Options.Observe.
const (
	EventRequested        Event = "reset_requested"
	EventRequestMalformed Event = "reset_request_malformed"
	EventLimitedIP        Event = "rate_limited_ip"
	EventLimitedEmail     Event = "rate_limited_email"
	EventLimitedToken     Event = "rate_limited_token"
	EventQueueFailed      Event = "queue_failed"
	EventNoAccount        Event = "no_account"
	EventTokenIssued      Event = "token_issued"
	EventTokenInvalid     Event = "token_invalid"
	EventTokenExpired     Event = "token_expired"
	EventTokenUsed        Event = "token_used"
	EventMailSent         Event = "mail_sent"
	EventMailFailed       Event = "mail_failed"
	EventMailGivenUp      Event = "mail_given_up"
	EventPasswordChanged  Event = "password_changed"
	EventPasswordRefused  Event = "password_refused"
	EventStoreWriteFailed Event = "app_write_failed"
)

// Service runs the reset flow. Its methods are safe for concurrent use.
type Service struct {
	users   Users
	store   Store
	mailer  Mailer
	hashers Hashers
	checker PasswordChecker
	tun     atomic.Pointer[Tunables]
	o       Options
	log     *slog.Logger
	now     func() time.Time
	hashSem chan struct{}
	wake    chan struct{}
}

// New checks o and returns a Service. It starts nothing: call [Service.Run] for the mail
// workers and [Service.Sweep] periodically (or [Service.RunSweeper]).
func New(o Options) (*Service, error) {
	var missing []string
	if o.Users == nil {
		missing = append(missing, "Users")
	}
	if o.Store == nil {
		missing = append(missing, "Store")
	}
	if o.Mailer == nil {
		missing = append(missing, "Mailer")
	}
	if o.Hashers == nil {
		missing = append(missing, "Hashers")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("reset: missing %s", strings.Join(missing, ", "))
	}
	u, err := url.Parse(o.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("reset: public URL %q must be an absolute http(s) URL without query or fragment", o.PublicURL)
	}
	o.PublicURL = strings.TrimRight(o.PublicURL, "/")
	if o.Prefix == "" {
		o.Prefix = "/pwreset"
	}
	if o.Site == "" {
		o.Site = u.Hostname()
	}
	if o.TokenTTL == 0 {
		o.TokenTTL = DefaultTokenTTL
	}
	if o.TokenTTL < time.Minute || o.TokenTTL > MaxTokenTTL {
		return nil, fmt.Errorf("reset: token TTL %s is outside 1m…24h", o.TokenTTL)
	}
	if o.MinPassword == 0 {
		o.MinPassword = DefaultMinPassword
	}
	if o.MaxPassword == 0 {
		o.MaxPassword = DefaultMaxPassword
	}
	if o.MinPassword < 1 || o.MaxPassword < o.MinPassword {
		return nil, fmt.Errorf("reset: password length limits %d…%d make no sense", o.MinPassword, o.MaxPassword)
	}
	if o.MaxAttempts == 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	if o.Workers == 0 {
		o.Workers = DefaultWorkers
	}
	if o.HashSlots == 0 {
		// One CPU stays free for proxied traffic while completions queue (BENCHMARKS.md:
		// proxied p99 during 200 completions fell from 385 to 159 ms on 2 CPUs).
		o.HashSlots = max(1, runtime.NumCPU()-1)
	}
	if o.PollInterval == 0 {
		o.PollInterval = DefaultPollInterval
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Mail == nil {
		if o.Mail, err = LoadMailTemplates(nil); err != nil {
			return nil, err
		}
	}
	s := &Service{
		users: o.Users, store: o.Store, mailer: o.Mailer, hashers: o.Hashers, checker: o.Checker,
		o: o, log: o.Logger, now: o.Now,
		hashSem: make(chan struct{}, o.HashSlots),
		wake:    make(chan struct{}, 1),
	}
	s.tun.Store(&Tunables{TokenTTL: o.TokenTTL, MinPassword: o.MinPassword, MaxPassword: o.MaxPassword,
		PerEmail: o.PerEmail, PerIP: o.PerIP, TokenPerIP: o.TokenPerIP, TokenGlobal: o.TokenGlobal, Mail: o.Mail})
	return s, nil
}

// Tunables are the settings a running Service can change without a restart (SIGHUP).
type Tunables struct {
	TokenTTL                                 time.Duration
	MinPassword, MaxPassword                 int
	PerEmail, PerIP, TokenPerIP, TokenGlobal Rate
	Mail                                     *MailTemplates // nil: keep the current templates
}

func (s *Service) tune() *Tunables { return s.tun.Load() }

// Retune replaces the tunable settings, checked as [New] checks them; on error nothing
// changes. Requests already under way finish with the settings they started with.
func (s *Service) Retune(t Tunables) error {
	if t.TokenTTL < time.Minute || t.TokenTTL > MaxTokenTTL {
		return fmt.Errorf("reset: token TTL %s is outside 1m…24h", t.TokenTTL)
	}
	if t.MinPassword < 1 || t.MaxPassword < t.MinPassword {
		return fmt.Errorf("reset: password length limits %d…%d make no sense", t.MinPassword, t.MaxPassword)
	}
	if t.Mail == nil {
		t.Mail = s.tune().Mail
	}
	s.tun.Store(&t)
	return nil
}

func (s *Service) observe(e Event) {
	if s.o.Observe != nil {
		s.o.Observe(e)
	}
}

// RequestURL is the page where users ask for a link: {public_url}{prefix}.
func (s *Service) RequestURL() string { return s.o.PublicURL + s.o.Prefix }

// Link returns the reset link for a raw token. It is built from the configured public URL
// only, never from anything in a request (SECURITY.md RQ-LNK-01).
func (s *Service) Link(raw string) string { return s.o.PublicURL + s.o.Prefix + "/" + raw }

// TokenValidity says how long links work, for pages and mail ("1 hour").
func (s *Service) TokenValidity() string { return humanDuration(s.tune().TokenTTL) }

// RequestReset handles a submitted "forgot password" form. It validates the address, applies
// the limits and queues a job; it never looks the account up and never sends mail, so it costs
// the same whether or not the account exists (SECURITY.md RQ-REQ-01, RQ-REQ-02).
//
// It returns ErrMalformedEmail for anything but one plain address, and *RateLimitError when
// the client IP is over its limit. Everything else, including a hit per-address limit and a
// queue that cannot be written, returns nil: the caller answers identically.
func (s *Service) RequestReset(ctx context.Context, email, clientIP string) error {
	addr, err := s.LookupKey(email)
	if err != nil {
		s.observe(EventRequestMalformed)
		s.log.InfoContext(ctx, "reset requested", "event", "reset.request", "ip", clientIP, "outcome", "malformed")
		return err
	}
	now := s.now()
	if !s.tune().PerIP.Unlimited() {
		ok, retry, err := s.store.Allow(ctx, "req-ip:"+limitKey(clientIP), s.tune().PerIP.N, s.tune().PerIP.Per, now)
		if err != nil {
			s.log.ErrorContext(ctx, "rate limit store failed", "event", "reset.request", "ip", clientIP, "err", err)
		} else if !ok {
			s.observe(EventLimitedIP)
			s.log.WarnContext(ctx, "reset requested", "event", "reset.request", "ip", clientIP, "outcome", "limited_ip")
			return &RateLimitError{RetryAfter: retry}
		}
	}
	if !s.tune().PerEmail.Unlimited() {
		ok, _, err := s.store.Allow(ctx, "req-email:"+addr, s.tune().PerEmail.N, s.tune().PerEmail.Per, now)
		if err != nil {
			s.log.ErrorContext(ctx, "rate limit store failed", "event", "reset.request", "ip", clientIP, "err", err)
		} else if !ok {
			s.observe(EventLimitedEmail)
			s.log.InfoContext(ctx, "reset requested", "event", "reset.request", "ip", clientIP, "outcome", "limited_account")
			return nil
		}
	}
	job := Job{Kind: JobReset, Email: addr, ClientIP: clientIP, CreatedAt: now, NotBefore: now}
	if err := s.store.Enqueue(ctx, job); err != nil {
		s.observe(EventQueueFailed)
		s.log.ErrorContext(ctx, "reset request could not be queued", "event", "reset.request", "ip", clientIP, "outcome", "queue_failed", "err", err)
		return nil
	}
	s.observe(EventRequested)
	s.log.InfoContext(ctx, "reset requested", "event", "reset.request", "ip", clientIP, "outcome", "queued")
	s.Wake()
	return nil
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

// Pending is a valid link, as [Service.CheckToken] found it.
type Pending struct {
	Token Token
	User  User
}

// CheckToken reports whether raw is a usable link, without consuming it: opening a link (or a
// mail scanner prefetching it) burns nothing (SECURITY.md RQ-LNK-04). It returns
// ErrTokenInvalid for every unusable link, *RateLimitError when the client has tried too many,
// and ErrUnavailable when a dependency failed.
func (s *Service) CheckToken(ctx context.Context, raw, clientIP string) (Pending, error) {
	if err := s.limitTokens(ctx, clientIP); err != nil {
		return Pending{}, err
	}
	if !ValidTokenShape(raw) {
		return Pending{}, s.invalid(ctx, clientIP, "", "malformed")
	}
	t, err := s.store.Token(ctx, TokenID(raw))
	switch {
	case errors.Is(err, ErrTokenNotFound):
		return Pending{}, s.invalid(ctx, clientIP, "", "unknown")
	case err != nil:
		// Fail closed (SECURITY.md RQ-TOK-09).
		s.log.ErrorContext(ctx, "token store failed", "event", "token.check", "ip", clientIP, "err", err)
		return Pending{}, ErrUnavailable
	}
	if t.Expired(s.now()) {
		s.observe(EventTokenExpired)
		return Pending{}, s.invalid(ctx, clientIP, t.UserID, "expired")
	}
	u, err := s.users.UserByID(ctx, t.UserID)
	switch {
	case errors.Is(err, ErrUserNotFound):
		return Pending{}, s.invalid(ctx, clientIP, t.UserID, "account_gone")
	case err != nil:
		s.log.ErrorContext(ctx, "app database failed", "event", "token.check", "ip", clientIP, "user_id", t.UserID, "err", err)
		return Pending{}, ErrUnavailable
	}
	// The account's hash or address changed by another path since the link was sent: the link
	// died with them (SECURITY.md RQ-TOK-06).
	if Fingerprint(u.PasswordHash, u.Email) != t.Fingerprint {
		return Pending{}, s.invalid(ctx, clientIP, t.UserID, "account_changed")
	}
	return Pending{Token: t, User: u}, nil
}

func (s *Service) limitTokens(ctx context.Context, clientIP string) error {
	now := s.now()
	for _, l := range []struct {
		key  string
		rate Rate
	}{{"tok-ip:" + limitKey(clientIP), s.tune().TokenPerIP}, {"tok-all", s.tune().TokenGlobal}} {
		if l.rate.Unlimited() {
			continue
		}
		ok, retry, err := s.store.Allow(ctx, l.key, l.rate.N, l.rate.Per, now)
		if err != nil {
			s.log.ErrorContext(ctx, "rate limit store failed", "event", "token.check", "ip", clientIP, "err", err)
			return ErrUnavailable
		}
		if !ok {
			s.observe(EventLimitedToken)
			s.log.WarnContext(ctx, "link attempts limited", "event", "token.check", "ip", clientIP, "outcome", "limited", "scope", strings.SplitN(l.key, ":", 2)[0])
			return &RateLimitError{RetryAfter: retry}
		}
	}
	return nil
}

func (s *Service) invalid(ctx context.Context, clientIP, userID, why string) error {
	s.observe(EventTokenInvalid)
	s.log.InfoContext(ctx, "reset link refused", "event", "token.check", "ip", clientIP, "user_id", userID, "outcome", why)
	return ErrTokenInvalid
}

// PasswordRules describes how a password for the user of p will be judged, for the form.
type PasswordRules struct {
	Min, Max int // characters
	MaxBytes int // 0: no byte limit (72 for bcrypt)
}

// ByteLimited reports whether the byte limit can bite before the character limit does (bcrypt's
// 72 bytes against 128 characters of up to 4 bytes each), so that users need to hear of it.
func (r PasswordRules) ByteLimited() bool { return r.MaxBytes > 0 && r.MaxBytes < 4*r.Max }

// Rules returns the password rules for a pending reset.
func (s *Service) Rules(p Pending) PasswordRules {
	r := PasswordRules{Min: s.tune().MinPassword, Max: s.tune().MaxPassword}
	if h, err := s.hashers.For(p.User.ID, p.User.PasswordHash); err == nil {
		r.MaxBytes = h.MaxPasswordBytes()
	}
	return r
}

// CheckPassword returns every reason password (typed twice as password and again) is refused
// for u under the given limits, each a sentence for the user; none if acceptable.
func (s *Service) CheckPassword(password, again string, u User, maxBytes int) []string {
	problems, _ := s.checkPassword(context.Background(), password, again, u, maxBytes)
	return problems
}

// checkPassword is CheckPassword, running the strength check under the hashing semaphore: on a
// long password zxcvbn costs as much CPU as a hash (tens of milliseconds).
func (s *Service) checkPassword(ctx context.Context, password, again string, u User, maxBytes int) ([]string, error) {
	var problems []string
	n := utf8.RuneCountInString(password)
	switch {
	case !utf8.ValidString(password):
		problems = append(problems, "The password contains characters that are not valid text.")
	case strings.ContainsFunc(password, unicode.IsControl):
		// A NUL or other control character cannot be typed, and C-string verifiers (PHP's and
		// glibc's crypt()) stop at a NUL, so the app would check a different password.
		problems = append(problems, "The password contains invisible control characters; type it again.")
	case n < s.tune().MinPassword:
		problems = append(problems, fmt.Sprintf("Use at least %d characters (this one has %d).", s.tune().MinPassword, n))
	case n > s.tune().MaxPassword:
		problems = append(problems, fmt.Sprintf("Use at most %d characters (this one has %d).", s.tune().MaxPassword, n))
	case maxBytes > 0 && len(password) > maxBytes:
		// bcrypt reads only 72 bytes; cutting the rest silently would make a different
		// password work (SECURITY.md RQ-PWD-05).
		problems = append(problems, fmt.Sprintf("This site can store passwords of at most %d bytes; this one has %d (letters outside A–Z take 2–4 bytes each). Use a shorter one.", maxBytes, len(password)))
	}
	if password != again {
		problems = append(problems, "The two passwords are not the same.")
	}
	if len(problems) == 0 && s.checker != nil {
		err := s.withSlot(ctx, func() { problems = append(problems, s.checker.Check(password, u)...) })
		if err != nil {
			return nil, err
		}
	}
	return problems, nil
}

// CompleteReset sets a new password through the link raw. It checks the link and the policy,
// claims the token atomically (of concurrent submissions exactly one wins), hashes the
// password in the app's format, writes it with compare-and-swap (plus the after-reset
// statements), deletes all the account's tokens and queues the "password changed" notice.
//
// The returned Pending is set whenever the link was valid (also with a *PolicyError, so the
// form can be shown again). Errors: ErrTokenInvalid, *PolicyError (nothing consumed: the user
// can correct and resubmit), *RateLimitError, ErrUnavailable (nothing written; the token is
// released for a retry).
func (s *Service) CompleteReset(ctx context.Context, raw, password, again, clientIP string) (Pending, error) {
	p, err := s.CheckToken(ctx, raw, clientIP)
	if err != nil {
		return Pending{}, err
	}
	u := p.User
	hasher, herr := s.hashers.For(u.ID, u.PasswordHash)
	plain, isPlain := s.users.(PlainPasswordSetter) // the store may hash it itself (reset/directory.go)
	maxBytes := 0
	switch {
	case herr == nil:
		maxBytes = hasher.MaxPasswordBytes()
	case !isPlain:
		s.log.ErrorContext(ctx, "no hash scheme for this account; set [users] hash explicitly", "event", "reset.complete", "ip", clientIP, "user_id", u.ID, "err", herr)
		return p, ErrUnavailable
	}
	problems, err := s.checkPassword(ctx, password, again, u, maxBytes)
	if err != nil {
		return p, ErrUnavailable
	}
	if len(problems) > 0 {
		s.observe(EventPasswordRefused)
		s.log.InfoContext(ctx, "new password refused", "event", "reset.complete", "ip", clientIP, "user_id", u.ID, "outcome", "policy", "problems", len(problems))
		return p, &PolicyError{Problems: problems}
	}
	now := s.now()
	if _, err := s.store.ClaimToken(ctx, p.Token.ID, now, now.Add(DefaultClaimLease)); err != nil {
		if errors.Is(err, ErrTokenClaimed) || errors.Is(err, ErrTokenNotFound) {
			return p, s.invalid(ctx, clientIP, u.ID, "already_used")
		}
		s.log.ErrorContext(ctx, "token store failed", "event", "reset.complete", "ip", clientIP, "user_id", u.ID, "err", err)
		return p, ErrUnavailable
	}
	if isPlain {
		err = plain.SetPasswordPlain(ctx, u.ID, u.PasswordHash, password, func() (string, error) {
			if herr != nil {
				return "", herr
			}
			return s.hash(ctx, hasher, password)
		})
	} else {
		var newHash string
		if newHash, err = s.hash(ctx, hasher, password); err != nil {
			s.release(ctx, p.Token.ID)
			s.log.ErrorContext(ctx, "hashing failed", "event", "reset.complete", "ip", clientIP, "user_id", u.ID, "err", err)
			return p, ErrUnavailable
		}
		err = s.users.SetPassword(ctx, u.ID, u.PasswordHash, newHash)
	}
	var refused *PolicyError
	if errors.As(err, &refused) {
		// The store's own policy (LDAP ppolicy) said no: the user picks another password.
		s.release(ctx, p.Token.ID)
		s.observe(EventPasswordRefused)
		s.log.InfoContext(ctx, "new password refused by the user store", "event", "reset.complete", "ip", clientIP, "user_id", u.ID, "outcome", "store_policy", "problems", len(refused.Problems))
		return p, refused
	}
	if err != nil {
		if errors.Is(err, ErrPasswordChanged) {
			s.deleteTokens(ctx, u.ID)
			return p, s.invalid(ctx, clientIP, u.ID, "account_changed")
		}
		s.release(ctx, p.Token.ID)
		s.observe(EventStoreWriteFailed)
		s.log.ErrorContext(ctx, "writing the new password failed; nothing changed", "event", "reset.complete", "ip", clientIP, "user_id", u.ID, "outcome", "app_write_failed", "err", err)
		return p, ErrUnavailable
	}
	scheme := "the user store's choice" // a PlainPasswordSetter may have hashed it itself
	if !isPlain {
		scheme = hasher.Scheme()
	}
	s.observe(EventTokenUsed)
	s.observe(EventPasswordChanged)
	s.log.InfoContext(ctx, "password changed", "event", "reset.complete", "ip", clientIP, "user_id", u.ID, "outcome", "changed", "scheme", scheme)
	s.deleteTokens(ctx, u.ID)
	notice := Job{Kind: JobNotice, UserID: u.ID, ClientIP: clientIP, CreatedAt: now, NotBefore: now}
	if err := s.store.Enqueue(ctx, notice); err != nil {
		s.observe(EventQueueFailed)
		s.log.ErrorContext(ctx, "password-changed notice could not be queued", "event", "reset.complete", "user_id", u.ID, "err", err)
	} else {
		s.Wake()
	}
	return p, nil
}

// hash runs the hasher under the semaphore, so that a flood of submissions cannot take more
// CPUs (or, for argon2, more memory) than the machine has.
func (s *Service) hash(ctx context.Context, h Hasher, password string) (encoded string, err error) {
	var start time.Time
	if werr := s.withSlot(ctx, func() {
		start = time.Now()
		encoded, err = h.Hash(password)
	}); werr != nil {
		return "", werr
	}
	if s.o.ObserveHashing != nil {
		s.o.ObserveHashing(time.Since(start))
	}
	return encoded, err
}

// withSlot runs f holding one of the HashSlots, or returns ctx's error if none frees up first.
func (s *Service) withSlot(ctx context.Context, f func()) error {
	select {
	case s.hashSem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.hashSem }()
	f()
	return nil
}

func (s *Service) release(ctx context.Context, id string) {
	if err := s.store.ReleaseToken(context.WithoutCancel(ctx), id); err != nil {
		s.log.ErrorContext(ctx, "token could not be released", "event", "reset.complete", "err", err)
	}
}

func (s *Service) deleteTokens(ctx context.Context, userID string) {
	if _, err := s.store.DeleteUserTokens(context.WithoutCancel(ctx), userID); err != nil {
		// The claim still blocks reuse until it lapses, and the fingerprint no longer
		// matches the new hash, so the link is dead either way.
		s.log.ErrorContext(ctx, "tokens could not be deleted", "event", "reset.complete", "user_id", userID, "err", err)
	}
}

// IssueLink creates a link for the account with address email right away, bypassing the
// queue and the limits: for operators (`resetgate send-link`). With send, it also mails it.
func (s *Service) IssueLink(ctx context.Context, email string, send bool) (string, User, error) {
	addr, err := s.LookupKey(email)
	if err != nil {
		return "", User{}, err
	}
	u, err := s.users.FindUser(ctx, addr)
	if err != nil {
		return "", User{}, err
	}
	link, msg, err := s.issue(ctx, u, "operator")
	if err != nil {
		return "", User{}, err
	}
	if send {
		if err := s.mailer.Send(ctx, msg); err != nil {
			return "", User{}, err
		}
	}
	return link, u, nil
}

// issue creates and stores a token for u and renders the mail that carries it.
func (s *Service) issue(ctx context.Context, u User, clientIP string) (string, Message, error) {
	raw, id := NewToken()
	now := s.now()
	t := Token{ID: id, UserID: u.ID, Email: u.Email, Fingerprint: Fingerprint(u.PasswordHash, u.Email), IssuedAt: now, ExpiresAt: now.Add(s.tune().TokenTTL)}
	if err := s.store.SaveToken(ctx, t); err != nil {
		return "", Message{}, fmt.Errorf("save token: %w", err)
	}
	s.observe(EventTokenIssued)
	link := s.Link(raw)
	msg, err := s.tune().Mail.render("reset", u.Email, s.mailData(u, clientIP, now, link))
	if err != nil {
		return "", Message{}, err
	}
	msg.Link = link
	return link, msg, nil
}

func (s *Service) mailData(u User, clientIP string, at time.Time, link string) MailData {
	return MailData{Site: s.o.Site, Name: u.Name, Email: u.Email, Link: link, ResetURL: s.RequestURL(),
		Valid: humanDuration(s.tune().TokenTTL), IP: clientIP, Time: at.UTC().Format("Mon, 02 Jan 2006 15:04 MST")}
}

func humanDuration(d time.Duration) string {
	switch {
	case d%time.Hour == 0 && d == time.Hour:
		return "1 hour"
	case d%time.Hour == 0:
		return fmt.Sprintf("%d hours", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%d minutes", d/time.Minute)
	}
	return d.String()
}

// Run works the mail queue with Options.Workers workers until ctx is done, then waits for the
// jobs in hand to finish (each bounded by its own timeout) and returns. Jobs not yet started
// stay queued; a job whose worker dies is delivered again when its lease lapses.
func (s *Service) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for range s.o.Workers {
		wg.Go(func() { s.work(ctx) })
	}
	wg.Wait()
}

func (s *Service) work(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		for ctx.Err() == nil && s.ProcessOne(ctx) {
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

// ProcessOne leases one due job and handles it. It reports whether it found one.
func (s *Service) ProcessOne(ctx context.Context) bool {
	now := s.now()
	j, err := s.store.NextJob(ctx, now, now.Add(DefaultJobLease))
	if errors.Is(err, ErrNoJob) {
		return false
	}
	if err != nil {
		if ctx.Err() == nil {
			s.log.ErrorContext(ctx, "mail queue failed", "event", "queue", "err", err)
		}
		return false
	}
	// The job runs to its end even when shutdown begins: an interrupted send could leave a
	// mail half-delivered and the job leased.
	jctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), defaultJobSendTimeout)
	defer cancel()
	if err := s.handle(jctx, j); err != nil {
		s.retry(jctx, j, err)
		return true
	}
	if err := s.store.AckJob(jctx, j.ID); err != nil {
		s.log.ErrorContext(ctx, "mail queue ack failed", "event", "queue", "job", j.ID, "err", err)
	}
	return true
}

func (s *Service) retry(ctx context.Context, j Job, cause error) {
	j.Attempts++
	j.LastError = cause.Error()
	j.LeasedUntil = time.Time{}
	if j.Attempts >= s.o.MaxAttempts {
		j.Dead = true
		s.observe(EventMailGivenUp)
		s.log.ErrorContext(ctx, "mail given up", "event", "mail", "kind", j.Kind, "job", j.ID, "user_id", j.UserID, "attempts", j.Attempts, "err", cause)
	} else {
		backoff := min(defaultFirstBackoff<<(j.Attempts-1), defaultMaxBackoff)
		backoff += rand.N(backoff / 4) // jitter, so that many failed jobs do not retry in lockstep
		j.NotBefore = s.now().Add(backoff)
		s.observe(EventMailFailed)
		s.log.WarnContext(ctx, "mail failed; will retry", "event", "mail", "kind", j.Kind, "job", j.ID, "user_id", j.UserID, "attempt", j.Attempts, "retry_in", backoff.Round(time.Second).String(), "err", cause)
	}
	if err := s.store.RetryJob(ctx, j); err != nil {
		s.log.ErrorContext(ctx, "mail queue update failed", "event", "queue", "job", j.ID, "err", err)
	}
}

func (s *Service) handle(ctx context.Context, j Job) error {
	switch j.Kind {
	case JobReset:
		u, err := s.users.FindUser(ctx, j.Email)
		switch {
		case errors.Is(err, ErrUserNotFound), errors.Is(err, ErrAmbiguousUser):
			outcome := "no_account"
			if errors.Is(err, ErrAmbiguousUser) {
				outcome = "ambiguous_account"
				s.log.WarnContext(ctx, "several accounts match one address under the configured normalisation; no link sent", "event", "mail", "job", j.ID, "ip", j.ClientIP)
			}
			s.observe(EventNoAccount)
			s.log.InfoContext(ctx, "reset request handled", "event", "mail", "kind", j.Kind, "job", j.ID, "ip", j.ClientIP, "outcome", outcome)
			return nil
		case err != nil:
			return fmt.Errorf("look up account: %w", err)
		}
		// A fresh token on every attempt: the raw token exists only in the mail, never in the
		// queue (SECURITY.md RQ-TOK-02), and the newest one voids the earlier ones.
		_, msg, err := s.issue(ctx, u, j.ClientIP)
		if err != nil {
			return err
		}
		if err := s.mailer.Send(ctx, msg); err != nil {
			return err
		}
		s.observe(EventMailSent)
		s.log.InfoContext(ctx, "reset link sent", "event", "mail", "kind", j.Kind, "job", j.ID, "ip", j.ClientIP, "user_id", u.ID, "outcome", "sent")
		return nil
	case JobNotice:
		u, err := s.users.UserByID(ctx, j.UserID)
		if errors.Is(err, ErrUserNotFound) {
			s.log.WarnContext(ctx, "account gone before its notice was sent", "event", "mail", "kind", j.Kind, "job", j.ID, "user_id", j.UserID)
			return nil
		}
		if err != nil {
			return fmt.Errorf("look up account: %w", err)
		}
		msg, err := s.tune().Mail.render("changed", u.Email, s.mailData(u, j.ClientIP, j.CreatedAt, ""))
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
	s.log.ErrorContext(ctx, "unknown job kind dropped", "event", "queue", "job", j.ID, "kind", j.Kind)
	return nil
}

// Sweep deletes expired tokens and stale rate-limit windows.
func (s *Service) Sweep(ctx context.Context) {
	n, err := s.store.DeleteExpired(ctx, s.now())
	if err != nil {
		s.log.ErrorContext(ctx, "sweeping expired tokens failed", "event", "sweep", "err", err)
		return
	}
	if n > 0 {
		s.log.DebugContext(ctx, "expired tokens swept", "event", "sweep", "count", n)
	}
}

// RunSweeper calls Sweep every interval until ctx is done.
func (s *Service) RunSweeper(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.Sweep(ctx)
		}
	}
}
