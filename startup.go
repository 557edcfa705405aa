package main

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"resetgate/internal/pageout"
)

// startupSettled is what serve does once start-up is over; tests replace it.
var startupSettled = releaseStartupPages

// releaseStartupPages hands back the pages of the executable that start-up read (package
// pageout, issue 17): after newApp's checks, the listeners' start and the first round of
// dependency checks, which run code (the SQL driver's, the mail client's) that serving reaches
// only when a password is reset. Pages serving needs fault back in from the page cache.
func releaseStartupPages(log *slog.Logger) {
	if n, err := pageout.Executable(); err != nil {
		log.Debug("executable pages kept resident", "err", err)
	} else {
		log.Debug("executable pages released after start-up", "mapped_bytes", n)
	}
}

// dependency is something serve needs that can be unreachable while it runs, with what stops
// working for users while it is.
type dependency struct {
	name   string
	effect string
	check  func(context.Context) error
}

// dependencies are the live checks of `resetgate check`, on the adapters serve has opened.
func (a *app) dependencies() []dependency {
	return []dependency{
		{"database", "password resets fail: accounts cannot be looked up or their passwords written", a.users.Check},
		{"store", "reset requests and links fail", a.store.Ping},
		{"upstream", "every request outside the reset pages gets an error page", func(ctx context.Context) error { return dialUpstream(ctx, a.cfg) }},
		{"mail", "reset mails wait in the queue and are not delivered", a.mailer.Check},
	}
}

// recheck is how a failing dependency is checked again: after first, then twice as long each
// time up to max, until it answers or giveUp has passed (then the admin /status still reports it). Tests
// shorten it.
var recheck = backoff{first: time.Second, max: time.Minute, giveUp: time.Hour}

type backoff struct{ first, max, giveUp time.Duration }

// startupCheckTimeout bounds one check, like the check command's.
const startupCheckTimeout = 30 * time.Second

// watchDependencies checks every dependency in the background, so that serve says at start-up
// what will not work instead of staying silent until a user's mail fails (issue 19): one
// warning per failing dependency, naming it, what it breaks and why; then one line when it
// answers again. It never delays the listeners. Once every dependency has been checked once,
// it calls settled, if not nil. The returned stop ends the watch and waits for it.
func (a *app) watchDependencies(ctx context.Context, settled func(*slog.Logger)) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	timing := recheck
	deps := a.dependencies()
	var wg, first sync.WaitGroup
	var failing atomic.Int32
	first.Add(len(deps))
	for _, d := range deps {
		wg.Go(func() { watchDependency(ctx, a.log, d, timing, first.Done, &failing) })
	}
	wg.Go(func() {
		first.Wait()
		if ctx.Err() == nil && failing.Load() == 0 {
			a.log.Info("start-up checks passed: database, store, upstream and mail answer")
		}
		if settled != nil && ctx.Err() == nil {
			settled(a.log)
		}
	})
	return func() {
		cancel()
		wg.Wait()
	}
}

func watchDependency(ctx context.Context, log *slog.Logger, d dependency, timing backoff, checked func(), failing *atomic.Int32) {
	err := checkOnce(ctx, d)
	if err != nil && ctx.Err() == nil {
		failing.Add(1)
	}
	checked()
	if err == nil || ctx.Err() != nil {
		return
	}
	since := time.Now()
	log.Warn("dependency unavailable", "dependency", d.name, "effect", d.effect, "err", err.Error())
	wait := timing.first
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for attempt := 1; ; attempt++ {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		err := checkOnce(ctx, d)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			log.Info("dependency recovered", "dependency", d.name, "after", time.Since(since).Round(time.Second).String())
			return
		}
		if time.Since(since) >= timing.giveUp {
			log.Warn("dependency still unavailable; no longer re-checked (the admin /status reports it)", "dependency", d.name, "since", since.UTC().Format(time.RFC3339), "err", err.Error())
			return
		}
		log.Debug("dependency still unavailable", "dependency", d.name, "attempt", attempt, "err", err.Error())
		wait = min(2*wait, timing.max)
		timer.Reset(wait)
	}
}

func checkOnce(ctx context.Context, d dependency) error {
	ctx, cancel := context.WithTimeout(ctx, startupCheckTimeout)
	defer cancel()
	return d.check(ctx)
}
