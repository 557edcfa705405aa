package reset

import (
	"context"
	"crypto/cipher"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"runtime"
	"strings"
	"sync/atomic"
	"time"
)

// Defaults for the zero values of [Options].
const (
	DefaultTokenTTL      = time.Hour
	MaxTokenTTL          = 24 * time.Hour // SECURITY.md RQ-TOK-04: hard cap
	DefaultMinPassword   = 8
	DefaultMaxPassword   = 128
	DefaultMaxAttempts   = 8
	MaxMaxAttempts       = 30 // backoffs past this many attempts are all the 1 h cap anyway
	DefaultWorkers       = 2
	DefaultClaimLease    = 2 * time.Minute
	DefaultJobTimeout    = 45 * time.Second
	DefaultDrain         = 10 * time.Second
	DefaultPollInterval  = time.Second
	DefaultDeadRetention = 7 * 24 * time.Hour
	defaultMaxBackoff    = time.Hour
	defaultFirstBackoff  = 15 * time.Second
	// storeTimeout bounds each bookkeeping write (ack, retry, release) on its own context,
	// never the send's or the request's: a send that ran out of time must still be recorded
	// (issue 20: an expired context made attempts uncounted and jobs immortal).
	storeTimeout = 10 * time.Second
	// leaseMargin is added to the job timeout to make a job's lease, so that a lease cannot
	// lapse while its worker is still within its own deadline plus its bookkeeping.
	leaseMargin = storeTimeout + 20*time.Second
)

// Options configures a [Service]. Users, Store, Mailer, Hashers and PublicURL are required;
// every other zero value means the default documented on the field.
type Options struct {
	Users   Users
	Store   Store
	Mailer  Mailer
	Hashers Hashers
	Checker PasswordChecker // nil: only length and equality are checked
	Mail    *MailTemplates  // nil: the built-in templates, in Languages
	// Languages are the catalogues mails are written with; required unless Mail is given
	// (which carries its own).
	Languages Languages

	// CaseSensitiveEmail keeps the case of submitted addresses for the lookup; by default they
	// are folded with NormalizeEmail (ASCII only), matching Users.FindUser's contract.
	CaseSensitiveEmail bool
	// Usernames lets a request name the account by its username instead of its address
	// (Users must implement [UsernameFinder]). Mail still goes only to the stored address.
	Usernames bool
	// NoCode leaves the typed code out of reset mails, and [Service.EnterCode] refuses every
	// code. By default mails carry one of CodeLength characters (default 8, 6…12).
	NoCode     bool
	CodeLength int

	PublicURL string // scheme://host[:port][/path] that every link starts with; never a request's Host
	Prefix    string // default "/pwreset"
	Site      string // the site's name in mail; default the public host
	// Brand, LogoURL and AccentColor give the HTML mail the pages' look: the name in its
	// header (default Site), the logo shown before it (an absolute http(s) URL) and the button's colour ("#rrggbb"; default
	// [DefaultAccentColor]). Text mail stays plain.
	Brand       string
	LogoURL     string
	AccentColor string

	TokenTTL      time.Duration // default 1h, at most 24h
	MinPassword   int           // characters (code points); default 8
	MaxPassword   int           // characters; default 128
	PerEmail      Rate          // reset requests per address, silent; zero: unlimited
	PerIP         Rate          // reset requests per client IP, answered 429; zero: unlimited
	TokenPerIP    Rate          // link checks and completions per client IP; zero: unlimited
	TokenGlobal   Rate          // link checks and completions in all; zero: unlimited
	MailGlobal    Rate          // mails sent in all; over it, mail waits in the queue; zero: unlimited
	MailPerDomain Rate          // mails sent per recipient domain, likewise; zero: unlimited
	QueueMax      int           // live jobs at most; beyond, new requests are dropped (silently to the client); zero: unlimited
	MaxAttempts   int           // mail delivery attempts before a job is given up; default 8, at most 30
	WasntMeTTL    time.Duration // how long "this wasn't me" links work; default 7 days, 1h…30 days
	Hooks         Hooks         // webhooks to the app; nil: none
	HookAttempts  int           // webhook delivery attempts before one is given up; default MaxAttempts, at most 30
	Workers       int           // concurrent mail workers; default 2
	HashSlots     int           // concurrent hashes and strength checks; default NumCPU-1 (at least 1)
	// RunHash runs f, a hash or a strength check, holding one of the HashSlots, and returns
	// when it has: main runs it on low-priority threads (internal/lowprio) so that hashing
	// gives way to the proxied traffic. Nil: f runs on the calling goroutine.
	RunHash func(f func())
	// Waiting, if set, is called with a request's context when the request starts to wait
	// for something other than a CPU: one of the HashSlots, or the store's writes of a reset
	// request. main gives back there the request's place among the pages served at once
	// (internal/admission), so that those waits hold nobody else up.
	Waiting        func(ctx context.Context)
	JobTimeout     time.Duration // how long one job (lookup, send) may take; default 45s
	Drain          time.Duration // how long jobs in hand may still run once Run's context is done; default 10s
	DeadRetention  time.Duration // how long given-up jobs are kept for operators; default 7 days
	AuditKeep      int           // audit events kept at most (the newest); default DefaultAuditKeep; negative: no audit trail
	AuditRetention time.Duration // how long audit events are kept; default DefaultAuditRetention
	PollInterval   time.Duration // how often idle workers look for due jobs; default 1s
	Now            func() time.Time
	Logger         *slog.Logger // default slog.Default()
	Observe        func(Event)  // called for every [Event]; nil: none
	ObserveHashing func(time.Duration)

	// Sessions, when set, is where the app's session cookies are bound (issue 11): a
	// completed reset revokes every session bound to the account. nil: no tracking.
	Sessions SessionStore
	// SessionMaxAge is how long a revoked session stays refused; default 720h.
	SessionMaxAge time.Duration
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
	EventQueueFull        Event = "queue_full"
	// EventResetHandled: the worker handled a reset request. Whether an account matched is
	// deliberately not an event of its own: metrics must not tell whether an address has an
	// account (issue 16, SECURITY.md RQ-ADM-01); the audit log has the outcome.
	EventResetHandled  Event = "reset_handled"
	EventNotResettable Event = "account_not_resettable"
	EventTokenInvalid  Event = "token_invalid"
	EventTokenExpired  Event = "token_expired"
	EventTokenUsed     Event = "token_used"
	// EventCompletionWaits: a submission found its link being used by another one (a double
	// click) and waits for it.
	EventCompletionWaits  Event = "completion_waits"
	EventMailSent         Event = "mail_sent"
	EventMailFailed       Event = "mail_failed"
	EventMailGivenUp      Event = "mail_given_up"
	EventMailDeferred     Event = "mail_deferred"
	EventJobPanicked      Event = "job_panicked"
	EventLeaseLost        Event = "lease_lost"
	EventPasswordChanged  Event = "password_changed"
	EventPasswordRefused  Event = "password_refused"
	EventStoreWriteFailed Event = "app_write_failed"
	// EventWasntMe: an account's owner confirmed "this wasn't me".
	EventWasntMe     Event = "wasnt_me_confirmed"
	EventHookSent    Event = "webhook_sent"
	EventHookFailed  Event = "webhook_failed"
	EventHookGivenUp Event = "webhook_given_up"
	// EventSessionsEnded: one tracked session of the app was revoked by a completed reset.
	EventSessionsEnded Event = "sessions_ended"
	// EventSessionsEndFailed: a completed reset could not revoke the account's sessions.
	EventSessionsEndFailed Event = "sessions_end_failed"
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
	// depth is the queue's live jobs as last counted (see [Service.RefreshDepth]), plus the
	// jobs enqueued since, so that RequestReset can enforce QueueMax without a store read.
	depth     atomic.Int64
	fullSince atomic.Int64 // unix nanos of the last "queue full" warning, to log one a minute
	// wasntMeKey caches the "this wasn't me" links' cipher (see wasntMeAEAD).
	wasntMeKey atomic.Pointer[cipher.AEAD]
	// codeSecret caches the key of the typed codes' HMACs (see codeKey).
	codeSecret atomic.Pointer[[]byte]
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
	if _, ok := o.Users.(UsernameFinder); o.Usernames && !ok {
		return nil, errors.New("reset: usernames need a user store that can find accounts by username")
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
	if err := checkLook(&o); err != nil {
		return nil, err
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
	if o.MaxAttempts < 1 || o.MaxAttempts > MaxMaxAttempts {
		return nil, fmt.Errorf("reset: %d mail attempts is outside 1…%d", o.MaxAttempts, MaxMaxAttempts)
	}
	if o.HookAttempts == 0 {
		o.HookAttempts = o.MaxAttempts
	}
	if o.HookAttempts < 1 || o.HookAttempts > MaxMaxAttempts {
		return nil, fmt.Errorf("reset: %d webhook attempts is outside 1…%d", o.HookAttempts, MaxMaxAttempts)
	}
	if o.WasntMeTTL == 0 {
		o.WasntMeTTL = DefaultWasntMeTTL
	}
	if o.WasntMeTTL < time.Hour || o.WasntMeTTL > MaxWasntMeTTL {
		return nil, fmt.Errorf("reset: this-wasn't-me link TTL %s is outside 1h…720h", o.WasntMeTTL)
	}
	if o.CodeLength == 0 {
		o.CodeLength = DefaultCodeLength
	}
	if o.CodeLength < MinCodeLength || o.CodeLength > MaxCodeLength {
		return nil, fmt.Errorf("reset: code length %d is outside %d…%d", o.CodeLength, MinCodeLength, MaxCodeLength)
	}
	if o.JobTimeout == 0 {
		o.JobTimeout = DefaultJobTimeout
	}
	if o.Drain == 0 {
		o.Drain = DefaultDrain
	}
	if o.DeadRetention == 0 {
		o.DeadRetention = DefaultDeadRetention
	}
	if o.AuditKeep == 0 {
		o.AuditKeep = DefaultAuditKeep
	}
	if o.AuditRetention == 0 {
		o.AuditRetention = DefaultAuditRetention
	}
	if o.Workers == 0 {
		o.Workers = DefaultWorkers
	}
	if o.HashSlots == 0 {
		// One CPU stays free for proxied traffic while completions queue (BENCHMARKS.md:
		// proxied p99 during 200 completions fell from 385 to 159 ms on 2 CPUs).
		o.HashSlots = DefaultHashSlots()
	}
	if o.PollInterval == 0 {
		o.PollInterval = DefaultPollInterval
	}
	if o.SessionMaxAge == 0 {
		o.SessionMaxAge = DefaultSessionMaxAge
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Mail == nil {
		if o.Mail, err = LoadMailTemplates(nil, o.Languages); err != nil {
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
		PerEmail: o.PerEmail, PerIP: o.PerIP, TokenPerIP: o.TokenPerIP, TokenGlobal: o.TokenGlobal,
		MailGlobal: o.MailGlobal, MailPerDomain: o.MailPerDomain, QueueMax: o.QueueMax, Mail: o.Mail})
	return s, nil
}

// DefaultHashSlots is Options.HashSlots' default: one CPU stays free for proxied traffic.
func DefaultHashSlots() int { return max(1, runtime.NumCPU()-1) }

// Tunables are the settings a running Service can change without a restart (SIGHUP).
type Tunables struct {
	TokenTTL                                 time.Duration
	MinPassword, MaxPassword                 int
	PerEmail, PerIP, TokenPerIP, TokenGlobal Rate
	MailGlobal, MailPerDomain                Rate
	QueueMax                                 int
	Mail                                     *MailTemplates // nil: keep the current templates
}

// tune returns the current settings. Each call of the flow reads it once and keeps the
// pointer, so that a SIGHUP in the middle cannot mix two generations of settings.
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

// TokenValidity says how long links work, in English for operators ("1 hour").
func (s *Service) TokenValidity() string { return humanDuration(s.tune().TokenTTL) }

// TokenTTL is how long links work.
func (s *Service) TokenTTL() time.Duration { return s.tune().TokenTTL }

// humanDuration writes d in English words for operators: "1 hour", "2 hours",
// "1 minute", "90 minutes".
func humanDuration(d time.Duration) string {
	plural := func(n time.Duration, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return fmt.Sprintf("%d %ss", n, unit)
	}
	const day = 24 * time.Hour
	switch {
	case d > day && d%day == 0:
		return plural(d/day, "day")
	case d >= time.Hour && d%time.Hour == 0:
		return plural(d/time.Hour, "hour")
	case d >= time.Minute && d%time.Minute == 0:
		return plural(d/time.Minute, "minute")
	}
	return d.String()
}
