package tracking

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"time"

	"resetgate/reset"
)

// job is one binding for the worker: key gets the accounts of the cookies it replaced (from)
// and, for a sign-in, the account the form named.
type job struct {
	key         string
	from        []string
	login       bool
	renew       bool // only push the expiry of key's own bindings (it was seen again)
	form        formPrefix
	contentType string
	at          time.Time
}

// enqueue hands j to the worker without ever waiting: the app's answer is never delayed. A
// full queue drops the binding, counted, rather than slow the app down.
func (t *Tracker) enqueue(j job) {
	select {
	case t.jobs <- j:
	default:
		t.observe(EventDropped)
		t.log.Warn("session binding dropped: the tracker's queue is full", "event", "tracking")
	}
}

// storeTimeout bounds each background store call.
const storeTimeout = 10 * time.Second

// batchMax is how many bindings the worker resolves before writing them together.
const batchMax = 256

// Run reads the revoked feed (once at once, then every PollInterval) and writes bindings,
// until ctx is done; then it writes what is queued, for at most a few seconds, and returns.
func (t *Tracker) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { t.poll(ctx) })
	wg.Go(func() { t.renewEvery(ctx) })
	t.work(ctx)
	wg.Wait()
}

// Poll reads the revoked feed once; Run calls it. Tests and start-up use it to be in step.
func (t *Tracker) Poll(ctx context.Context) error {
	t.mu.RLock()
	after := t.cursor
	t.mu.RUnlock()
	rctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	rs, next, err := t.o.Store.RevokedSince(rctx, after)
	if err != nil {
		return err
	}
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cursor != after {
		return nil // another Poll got there first
	}
	for _, r := range rs {
		if now.Before(r.Until) {
			t.revoked[r.Key] = r.Until
		}
	}
	t.cursor = next
	t.ready.Store(true)
	return nil
}

func (t *Tracker) poll(ctx context.Context) {
	tick := time.NewTicker(t.o.PollInterval)
	defer tick.Stop()
	var lastWarn, lastPrune time.Time
	for {
		if err := t.Poll(ctx); err != nil && ctx.Err() == nil {
			t.observe(EventPollFailed)
			if time.Since(lastWarn) > time.Minute {
				lastWarn = time.Now()
				t.log.Warn("the revoked-session feed could not be read; revocations made elsewhere wait", "event", "tracking", "err", err)
			}
		}
		if now := t.now(); now.Sub(lastPrune) > time.Minute {
			lastPrune = now
			t.prune(now)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// maxSeen bounds the keys remembered between renewals; beyond, keys wait for the next round.
const maxSeen = 100000

// markSeen notes that a request carried key, once per renewal round: a lock-free read when
// the key is already noted.
func (t *Tracker) markSeen(key string) {
	m := t.seen.Load()
	if _, ok := m.Load(key); ok {
		return
	}
	m.LoadOrStore(key, struct{}{})
}

// renewInterval is how often bindings seen in use are renewed: often enough that a binding
// never lapses while its cookie is in use, rarely enough to cost nothing to speak of.
func (t *Tracker) renewInterval() time.Duration {
	return min(max(t.o.MaxAge/48, time.Minute), time.Hour)
}

// renewEvery renews, each interval, the bindings of the keys requests carried since the
// last time: "forget a binding after session_max_age without being seen".
func (t *Tracker) renewEvery(ctx context.Context) {
	tick := time.NewTicker(t.renewInterval())
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			t.Renew()
		}
	}
}

// Renew queues a renewal of every key seen since the last call; Run calls it periodically.
func (t *Tracker) Renew() {
	old := t.seen.Swap(new(sync.Map))
	now := t.now()
	n := 0
	old.Range(func(k, _ any) bool {
		n++
		t.enqueue(job{key: k.(string), from: []string{k.(string)}, renew: true, at: now})
		return n < maxSeen
	})
}

// prune forgets revoked values whose refusal ended; the store sweeps its own.
func (t *Tracker) prune(now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, until := range t.revoked {
		if !now.Before(until) {
			delete(t.revoked, k)
		}
	}
}

// work writes bindings in order: a rotation's binding is resolved only after its
// predecessor's (the recent cache has it then), while the store writes of one batch run
// together, so that bbolt's group commit and Redis' pipelining carry the load.
func (t *Tracker) work(ctx context.Context) {
	for {
		var batch []job
		select {
		case j := <-t.jobs:
			batch = append(batch, j)
		case <-ctx.Done():
			t.drain()
			return
		}
	more:
		for len(batch) < batchMax {
			select {
			case j := <-t.jobs:
				batch = append(batch, j)
			default:
				break more
			}
		}
		t.process(context.WithoutCancel(ctx), batch)
	}
}

// drain writes what is still queued at shutdown, for at most a few seconds.
func (t *Tracker) drain() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		select {
		case j := <-t.jobs:
			t.process(ctx, []job{j})
		default:
			return
		}
	}
}

type binding struct {
	key, user string
	expires   time.Time
	renew     bool
}

// process resolves a batch in order and writes it. A key bound earlier in the same batch is
// found in batch; one from an earlier batch is in the store, whose writes finished before.
func (t *Tracker) process(ctx context.Context, batch []job) {
	var writes []binding
	var ended []string
	local := map[string][]string{}
	for _, j := range batch {
		users, revoked := t.resolve(ctx, j, local)
		if revoked {
			ended = append(ended, j.key)
			continue
		}
		for _, u := range users {
			writes = append(writes, binding{key: j.key, user: u, expires: j.at.Add(t.o.MaxAge), renew: j.renew})
		}
		if len(users) > 0 {
			local[j.key] = users
		}
	}
	var wg sync.WaitGroup
	for _, b := range writes {
		wg.Go(func() {
			wctx, cancel := context.WithTimeout(ctx, storeTimeout)
			defer cancel()
			if err := t.o.Store.BindSession(wctx, b.key, b.user, b.expires); err != nil {
				t.observe(EventFailed)
				t.log.Error("session binding could not be stored", "event", "tracking", "err", err)
				return
			}
			if !b.renew {
				t.observe(EventBound)
			}
		})
	}
	for _, k := range ended {
		wg.Go(func() { t.revokeKey(ctx, k) })
	}
	wg.Wait()
}

// revokeKey revokes one key through the store's account-wide operation: the key is bound to
// an account of its own, which is then revoked. The revocation reaches every replica
// through the feed like any other.
func (t *Tracker) revokeKey(ctx context.Context, key string) {
	wctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	own := "\x00replaced-revoked:" + key
	now := t.now()
	err := t.o.Store.BindSession(wctx, key, own, now.Add(t.o.MaxAge))
	if err == nil {
		_, err = t.o.Store.RevokeSessions(wctx, own, now, now.Add(t.o.MaxAge))
	}
	if err != nil {
		t.observe(EventFailed)
		t.log.Error("a cookie that replaced a revoked one could not be revoked", "event", "tracking", "err", err)
	}
}

// resolve returns the accounts j's key is to be bound to: those of the cookies it replaced,
// and the account a sign-in named. revoked is true when a replaced cookie was revoked: the
// app rotated a cookie that a reset had just ended elsewhere, before this replica heard of
// it, and its successor must be refused too.
func (t *Tracker) resolve(ctx context.Context, j job, local map[string][]string) (users []string, revoked bool) {
	add := func(u string) {
		for _, have := range users {
			if have == u {
				return
			}
		}
		users = append(users, u)
	}
	for _, old := range j.from {
		if us, ok := local[old]; ok {
			for _, u := range us {
				add(u)
			}
			continue
		}
		rctx, cancel := context.WithTimeout(ctx, storeTimeout)
		us, err := t.o.Store.SessionUsers(rctx, old, j.at)
		cancel()
		switch {
		case errors.Is(err, reset.ErrSessionNotFound) && j.renew:
			// A cookie the app set before anyone signed in, or one whose binding ended.
		case errors.Is(err, reset.ErrSessionNotFound):
			// Unbound, or revoked since: the feed tells which.
			if perr := t.Poll(ctx); perr == nil && t.isRevoked(old, t.now()) {
				return nil, true
			}
		case err != nil:
			t.observe(EventFailed)
			t.log.Error("the binding of a replaced session cookie could not be read", "event", "tracking", "err", err)
		}
		for _, u := range us {
			add(u)
		}
	}
	if j.login {
		if u, ok := t.account(ctx, j); ok {
			add(u)
		}
	}
	return users, false
}

// account looks up the account a sign-in form named, the way a reset looks up an address.
// An address without an account is bound to a pseudonym that no account has, so that the
// store writes and the metrics are the same whether the account exists (SECURITY.md).
func (t *Tracker) account(ctx context.Context, j job) (string, bool) {
	v := strings.TrimSpace(formField(j.form, j.contentType, t.o.LoginField))
	if v == "" {
		t.log.Debug("sign-in response set a session cookie, but the form's field was not read", "event", "tracking", "field", t.o.LoginField)
		return "", false
	}
	if !t.o.CaseSensitive {
		v = reset.NormalizeEmail(v) // also the username rule (reset.NormalizeUsername)
	}
	rctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	find := t.o.Users.FindUser
	if t.o.FindAccount != nil {
		find = t.o.FindAccount
	}
	u, err := find(rctx, v)
	switch {
	case err == nil:
		return u.ID, true
	case errors.Is(err, reset.ErrUserNotFound) || errors.Is(err, reset.ErrAmbiguousUser):
		return t.pseudonym(v), true
	}
	t.observe(EventFailed)
	t.log.Error("the account of a sign-in could not be looked up; its session is not tracked", "event", "tracking", "err", err)
	return "", false
}

// pseudonym stands for an address without an account. It starts with a NUL byte, which no
// account id in a SQL table or a directory has.
func (t *Tracker) pseudonym(addr string) string {
	h := hmac.New(sha256.New, t.o.Secret)
	h.Write([]byte("unknown account\x00"))
	h.Write([]byte(addr))
	return "\x00" + hex.EncodeToString(h.Sum(nil)[:16])
}
