package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"resetgate/reset"
)

// operator does what the send-link, tokens and queue commands ask: directly on the state store
// when no server is running ([direct]), or through the running server's admin API ([remote]),
// whose handlers serve each call with a [direct] over the server's own store. Both return the
// same values and the same errors, so the commands print alike whichever was used.
type operator interface {
	// SendLink mails a reset link to the account with the address email. An operator can start a
	// reset but never learn the link or choose the password (ASVS 5.0 6.4.6).
	SendLink(ctx context.Context, email string) (sentLink, error)
	// Tokens lists the pending links, all of them or (email != "") one account's.
	Tokens(ctx context.Context, email string) (tokenList, error)
	// RevokeTokens voids every pending link of the account with the address email.
	RevokeTokens(ctx context.Context, email string) (revoked, error)
	// PurgeTokens deletes the expired links and returns how many there were.
	PurgeTokens(ctx context.Context) (int, error)
	// Jobs lists the mail queue, oldest first.
	Jobs(ctx context.Context) ([]jobView, error)
	// RetryJobs makes the job id, or every job no worker holds when id is "all", due now,
	// given-up ones included, and returns how many.
	RetryJobs(ctx context.Context, id string) (int, error)
	// DropJob deletes the job id.
	DropJob(ctx context.Context, id string) error
	// Audit returns the audit trail's events since the given time, oldest first.
	Audit(ctx context.Context, since time.Time) ([]reset.AuditEvent, error)
}

// Errors an operator returns; the admin API carries them as codes (see [apiError]).
var (
	errNoAccount  = errors.New("no account has that address")
	errNoJob      = errors.New("no job")
	errJobBusy    = errors.New("the job is being sent; retry it once its lease ends")
	errBadAddress = errors.New("not an e-mail address")
	errBadTime    = errors.New("not a time: use RFC 3339, such as 2026-12-01T09:00:00Z")
)

// sentLink is what SendLink reports: whom the link went to and how long it works.
type sentLink struct {
	UserID   string `json:"user_id"`
	Email    string `json:"email"`
	ValidFor string `json:"valid_for"`
}

// tokenView is one pending link as operators see it: its id is the token's SHA-256, never
// the link itself.
type tokenView struct {
	ID        string    `json:"id"`
	UserID    string    `json:"user_id"`
	Email     string    `json:"email"`
	IssuedAt  time.Time `json:"issued_at"`
	ExpiresAt time.Time `json:"expires_at"`
	State     string    `json:"state"` // pending, in use, expired
}

// tokenList is Tokens' answer: the links, and how many just-used links' records were left
// out (they answer a repeated submit for 30 s and open nothing).
type tokenList struct {
	Tokens       []tokenView `json:"tokens"`
	RecentlyUsed int         `json:"recently_used"`
}

// revoked is RevokeTokens' answer.
type revoked struct {
	UserID string `json:"user_id"`
	Email  string `json:"email"`
	Count  int    `json:"revoked"`
}

// jobView is one queued job as operators see it: no link, no password, no mail body.
type jobView struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	CreatedAt time.Time `json:"created_at"`
	Attempts  int       `json:"attempts"`
	NotBefore time.Time `json:"not_before"`
	State     string    `json:"state"` // waiting, sending, given up
	LastError string    `json:"last_error,omitempty"`
}

// direct is the [operator] that works on the store itself: the commands' when no server is
// running, and the admin API's inside the server.
type direct struct {
	store reset.Store
	// users opens the app's accounts on first need (listing the queue needs none).
	users func(context.Context) (reset.Users, error)
	// issue mails a fresh link to the account with the (normalised) address.
	issue  func(ctx context.Context, email string) (reset.User, error)
	lookup func(string) (string, error) // the address as the lookup takes it
	valid  func() string                // how long a link works, in words
	now    func() time.Time
}

func (d *direct) SendLink(ctx context.Context, email string) (sentLink, error) {
	if d.issue == nil {
		return sentLink{}, errors.New("this operator cannot send mail")
	}
	if _, err := d.lookup(email); err != nil {
		return sentLink{}, errBadAddress
	}
	u, err := d.issue(ctx, email)
	if errors.Is(err, reset.ErrUserNotFound) {
		return sentLink{}, errNoAccount
	}
	if err != nil {
		return sentLink{}, err
	}
	return sentLink{UserID: u.ID, Email: u.Email, ValidFor: d.valid()}, nil
}

// account finds the account with the address email.
func (d *direct) account(ctx context.Context, email string) (reset.User, error) {
	addr, err := d.lookup(email)
	if err != nil {
		return reset.User{}, errBadAddress
	}
	users, err := d.users(ctx)
	if err != nil {
		return reset.User{}, err
	}
	u, err := users.FindUser(ctx, addr)
	if errors.Is(err, reset.ErrUserNotFound) {
		return reset.User{}, errNoAccount
	}
	return u, err
}

func (d *direct) Tokens(ctx context.Context, email string) (tokenList, error) {
	only := ""
	if email != "" {
		u, err := d.account(ctx, email)
		if err != nil {
			return tokenList{}, err
		}
		only = u.ID
	}
	tokens, err := d.store.Tokens(ctx)
	if err != nil {
		return tokenList{}, err
	}
	now := d.now()
	list := tokenList{Tokens: []tokenView{}}
	for _, t := range tokens {
		if only != "" && t.UserID != only {
			continue
		}
		if t.Spent() {
			list.RecentlyUsed++
			continue
		}
		state := "pending"
		switch {
		case t.Expired(now):
			state = "expired"
		case t.ClaimedUntil.After(now):
			state = "in use"
		}
		list.Tokens = append(list.Tokens, tokenView{ID: t.ID, UserID: t.UserID, Email: t.Email,
			IssuedAt: t.IssuedAt.UTC(), ExpiresAt: t.ExpiresAt.UTC(), State: state})
	}
	sort.SliceStable(list.Tokens, func(i, j int) bool { return list.Tokens[i].IssuedAt.Before(list.Tokens[j].IssuedAt) })
	return list, nil
}

func (d *direct) RevokeTokens(ctx context.Context, email string) (revoked, error) {
	u, err := d.account(ctx, email)
	if err != nil {
		return revoked{}, err
	}
	n, err := d.store.DeleteUserTokens(ctx, u.ID)
	if err != nil {
		return revoked{}, err
	}
	return revoked{UserID: u.ID, Email: u.Email, Count: n}, nil
}

func (d *direct) PurgeTokens(ctx context.Context) (int, error) {
	return d.store.DeleteExpired(ctx, d.now())
}

func (d *direct) Jobs(ctx context.Context) ([]jobView, error) {
	jobs, err := d.store.Jobs(ctx)
	if err != nil {
		return nil, err
	}
	sort.SliceStable(jobs, func(i, j int) bool { return jobs[i].ID < jobs[j].ID })
	now := d.now()
	views := make([]jobView, 0, len(jobs))
	for _, j := range jobs {
		state := "waiting"
		if j.Dead {
			state = "given up"
		} else if j.LeasedUntil.After(now) {
			state = "sending"
		}
		views = append(views, jobView{ID: j.ID, Kind: string(j.Kind), CreatedAt: j.CreatedAt.UTC(), Attempts: j.Attempts,
			NotBefore: j.NotBefore.UTC(), State: state, LastError: j.LastError})
	}
	return views, nil
}

func (d *direct) RetryJobs(ctx context.Context, id string) (int, error) {
	jobs, err := d.store.Jobs(ctx)
	if err != nil {
		return 0, err
	}
	now, n := d.now(), 0
	for _, j := range jobs {
		if id != "all" && j.ID != id {
			continue
		}
		// Only a job that no worker holds: RetryJob is fenced on the lease, and a job being
		// sent must be left to its worker.
		if !j.Dead && j.LeasedUntil.After(now) {
			if id != "all" {
				return 0, fmt.Errorf("job %s: %w (leased until %s)", j.ID, errJobBusy, j.LeasedUntil.UTC().Format(time.DateTime))
			}
			continue
		}
		j.Dead, j.DeadAt, j.Attempts, j.NotBefore = false, time.Time{}, 0, now
		if err := d.store.RetryJob(ctx, j); err != nil {
			if errors.Is(err, reset.ErrLeaseLost) {
				return n, fmt.Errorf("job %s: %w (a worker took it meanwhile)", j.ID, errJobBusy)
			}
			return n, err
		}
		n++
	}
	if n == 0 && id != "all" {
		return 0, fmt.Errorf("%w %s (see `resetgate queue list`)", errNoJob, id)
	}
	return n, nil
}

func (d *direct) Audit(ctx context.Context, since time.Time) ([]reset.AuditEvent, error) {
	events, err := d.store.AuditSince(ctx, since)
	if events == nil {
		events = []reset.AuditEvent{}
	}
	return events, err
}

func (d *direct) DropJob(ctx context.Context, id string) error {
	err := d.store.DropJob(ctx, id)
	if errors.Is(err, reset.ErrJobNotFound) {
		return fmt.Errorf("%w %s (see `resetgate queue list`)", errNoJob, id)
	}
	return err
}
