package resettest

import (
	"testing"
	"time"

	"resetgate/reset"
)

func testDeleteExpiredLimits(t *testing.T, f Factory) {
	s := f.open(t)
	now := start()
	const win = time.Minute
	mustAllow(t, s, "k", 1, win, now, true)
	retry := mustAllow(t, s, "k", 1, win, now, false)
	mid := now.Add(retry / 2).Truncate(time.Millisecond)
	if _, err := s.DeleteExpired(t.Context(), mid); err != nil {
		t.Fatalf("DeleteExpired(%v) = %v, want nil", mid, err)
	}
	mustAllow(t, s, "k", 1, win, mid, false) // the sweep left the live window alone
	end := now.Add(retry)
	if _, err := s.DeleteExpired(t.Context(), end); err != nil {
		t.Fatalf("DeleteExpired(%v) = %v, want nil", end, err)
	}
	mustAllow(t, s, "k", 1, win, end, true)
	mustAllow(t, s, "k", 1, win, end, false)
}

func testAllowN(t *testing.T, f Factory) {
	s := f.open(t)
	now := start()
	const n, win = 3, time.Hour
	for range n {
		mustAllow(t, s, "ip:192.0.2.1", n, win, now, true)
	}
	mustAllow(t, s, "ip:192.0.2.1", n, win, now, false)
	mustAllow(t, s, "ip:192.0.2.1", n, win, now.Add(time.Second), false)
}

func testAllowRefusedKeepsEnd(t *testing.T, f Factory) {
	s := f.open(t)
	now := start()
	const win = time.Minute
	mustAllow(t, s, "k", 1, win, now, true)
	first := mustAllow(t, s, "k", 1, win, now, false)
	end := now.Add(first)
	later := now.Add(first / 2).Truncate(time.Millisecond)
	second := mustAllow(t, s, "k", 1, win, later, false)
	if got := later.Add(second); !got.Equal(end) {
		t.Errorf("Allow at %v says the window ends at %v, but at %v it said %v", later, got, now, end)
	}
}

func testAllowNewWindow(t *testing.T, f Factory) {
	s := f.open(t)
	now := start()
	const n, win = 2, time.Minute
	for range n {
		mustAllow(t, s, "k", n, win, now, true)
	}
	retry := mustAllow(t, s, "k", n, win, now, false)
	if end := now.Add(retry); end.After(now.Add(win)) {
		t.Fatalf("window begun at %v ends at %v, later than one window (%v)", now, end, win)
	}
	// Whenever the backend aligns its windows, the one it named is over at now+retry.
	next := now.Add(retry)
	for range n {
		mustAllow(t, s, "k", n, win, next, true)
	}
	mustAllow(t, s, "k", n, win, next, false)
}

// The "this wasn't me" link's single-use mark is an Allow of one event in a window that
// outlives the link: the window must not end early because of some alignment.
func testAllowWindowFromFirstEvent(t *testing.T, f Factory) {
	s := f.open(t)
	now := start().Add(17*time.Second + 300*time.Millisecond) // nothing aligns to this
	const win = 7 * 24 * time.Hour
	mustAllow(t, s, "wasnt-me:n1", 1, win, now, true)
	last := now.Add(win - time.Millisecond)
	if retry := mustAllow(t, s, "wasnt-me:n1", 1, win, last, false); retry != time.Millisecond {
		t.Errorf("Allow a millisecond before the window's end says it ends in %v, want 1ms", retry)
	}
	mustAllow(t, s, "wasnt-me:n1", 1, win, now.Add(win), true)
}

func testAllowKeys(t *testing.T, f Factory) {
	s := f.open(t)
	now := start()
	mustAllow(t, s, "email:a@example.com", 1, time.Hour, now, true)
	mustAllow(t, s, "email:a@example.com", 1, time.Hour, now, false)
	mustAllow(t, s, "email:b@example.com", 1, time.Hour, now, true)
	mustAllow(t, s, "ip:a@example.com", 1, time.Hour, now, true)
}

func testAllowConcurrent(t *testing.T, f Factory) {
	s := f.open(t)
	now := start()
	const callers, n = 50, 10
	oks := make([]bool, callers)
	errs := make([]error, callers)
	Concurrently(callers, func(i int) {
		oks[i], _, errs[i] = s.Allow(t.Context(), "k", n, time.Hour, now)
	})
	allowed := 0
	for i := range callers {
		if errs[i] != nil {
			t.Errorf("Allow #%d = %v, want nil", i, errs[i])
		}
		if oks[i] {
			allowed++
		}
	}
	if allowed != n {
		t.Errorf("%d concurrent Allow(n=%d) calls: %d allowed, want %d", callers, n, allowed, n)
	}
}

func testAllowRefusedNotCounted(t *testing.T, f Factory) {
	s := f.open(t)
	now := start()
	const win = time.Hour
	mustAllow(t, s, "k", 1, win, now, true)
	for range 5 {
		mustAllow(t, s, "k", 1, win, now, false)
	}
	// Only the admitted event counts, so a caller with a higher limit for the same key
	// still finds room: one counted, three allowed.
	mustAllow(t, s, "k", 3, win, now, true)
	mustAllow(t, s, "k", 3, win, now, true)
	mustAllow(t, s, "k", 3, win, now, false)
}

func mustPeek(t *testing.T, s reset.Store, key string, n int, now time.Time, want bool) time.Duration {
	t.Helper()
	ok, retry, err := s.Peek(t.Context(), key, n, now)
	if err != nil {
		t.Fatalf("Peek(%q, %d, %v) = %v, want nil", key, n, now, err)
	}
	if ok != want {
		t.Fatalf("Peek(%q, %d, %v) = %t, want %t", key, n, now, ok, want)
	}
	if ok && retry != 0 {
		t.Errorf("Peek(%q, %d, %v) = true with retryAfter %v, want 0", key, n, now, retry)
	}
	return retry
}

func testPeek(t *testing.T, f Factory) {
	s := f.open(t)
	now := start()
	const n, win = 2, time.Minute
	for range 10 {
		mustPeek(t, s, "k", n, now, true) // a key never seen
	}
	mustAllow(t, s, "k", n, win, now, true)
	for range 10 {
		mustPeek(t, s, "k", n, now, true)
	}
	mustAllow(t, s, "k", n, win, now, true)
	retry := mustAllow(t, s, "k", n, win, now, false)
	if got := mustPeek(t, s, "k", n, now, false); got != retry {
		t.Errorf("Peek says retry after %v, Allow said %v, want the same window end", got, retry)
	}
	mustPeek(t, s, "k", n+1, now, true) // a higher limit has room
	mustPeek(t, s, "other", n, now, true)
	// The window ends when Allow said; then Peek and Allow admit again.
	end := now.Add(retry)
	mustPeek(t, s, "k", n, end, true)
	mustAllow(t, s, "k", n, win, end, true)
}
