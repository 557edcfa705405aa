package attack

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// Floods, from an outside review (issue 16): guessing from many addresses must not lock real
// links out, and a flood of distinct addresses must not grow the queue or the state file
// without bound.

// TestGuessingFloodLeavesRealLinksWorking: 21 addresses × 30 garbage tokens a minute used to
// keep every user's link at 429, because every check counted before the lookup. RQ-TOK-10.
func TestGuessingFloodLeavesRealLinksWorking(t *testing.T) {
	w := newWorld(t, setup{conf: map[string]any{
		"limits.token_per_ip":    "30/hour",
		"limits.token_global":    "600/minute",
		"limits.trusted_proxies": []string{"127.0.0.1/32"},
	}})
	token := w.requestLink(aliceEmail, aliceEmail)
	guess := strings.Repeat("A", 43)
	var wg sync.WaitGroup
	for ip := range 25 {
		wg.Go(func() {
			c := w.browser()
			for range 31 {
				c.get("/pwreset/"+guess, "X-Forwarded-For", fmt.Sprintf("203.0.113.%d", ip+1))
			}
		})
	}
	wg.Wait()
	victim := w.browser()
	victim.get("/pwreset/"+token, "X-Forwarded-For", "198.51.100.7").expect(t, http.StatusSeeOther, "/pwreset/new")
	if r := victim.get("/pwreset/new", "X-Forwarded-For", "198.51.100.7"); r.StatusCode != http.StatusOK {
		t.Fatalf("the victim's new-password form during a guessing flood = %d, want 200", r.StatusCode)
	}
	victim.setPassword("a fresh passphrase for alice", "X-Forwarded-For", "198.51.100.7").expect(t, http.StatusSeeOther, "/pwreset/done")
	// The flood itself stays bounded: a guesser over its own limit is refused.
	if r := w.browser().get("/pwreset/"+guess, "X-Forwarded-For", "203.0.113.1"); r.StatusCode != http.StatusTooManyRequests {
		t.Errorf("a guesser over its limit = %d, want 429", r.StatusCode)
	}
}

// TestFloodOfDistinctAddressesIsBounded sends 100,000 requests for distinct addresses while
// mail cannot leave: the queue stays at queue_max and the state file stays small, and every
// answer is the same 303. RQ-REQ-09.
func TestFloodOfDistinctAddressesIsBounded(t *testing.T) {
	const requests, queueMax = 100_000, 500
	w := newWorld(t, setup{sqlite: true, conf: map[string]any{
		"limits.queue_max": queueMax,
		"limits.per_ip":    "10000000/hour",
		"access_log":       "off",
	}})
	w.smtp.set(relayFrozen)
	var next, odd atomic.Int64
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			c := w.browser()
			for {
				i := next.Add(1)
				if i > requests {
					return
				}
				r := c.post("/pwreset", "email="+url.QueryEscape(fmt.Sprintf("flood%d@example.net", i)))
				if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/pwreset/sent" {
					odd.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if n := odd.Load(); n > 0 {
		t.Errorf("%d of %d answers were not 303 → /pwreset/sent: a full queue must not change the answer", n, requests)
	}
	var status struct {
		Queue map[string]int `json:"queue"`
	}
	resp, err := http.Get(w.admin + "/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&status); err != nil {
		t.Fatalf("/status: %v", err)
	}
	// Requests in flight when the bound was reached may each add one job.
	if live := status.Queue["due"] + status.Queue["delayed"] + status.Queue["leased"]; live == 0 || live > queueMax+16 {
		t.Errorf("live jobs after the flood = %d, want at most queue_max (%d) plus the 16 requests in flight", live, queueMax)
	}
	fi, err := os.Stat(filepath.Join(w.dataDir, "resetgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	if limit := int64(16 << 20); fi.Size() > limit {
		t.Errorf("state file after %d requests = %d bytes, want under 16 MiB", requests, fi.Size())
	}
	if m := regexp.MustCompile(`resetgate_events_total\{event="queue_full"\} (\d+)`).FindStringSubmatch(w.metrics()); m == nil || m[1] == "0" {
		t.Errorf("queue_full is not counted in /metrics")
	}
}

// TestMetricsDoNotRevealAccounts: resetgate_events_total once split "no_account" from
// "token_issued", so whoever could read /metrics learned whether an address had an account.
// RQ-ADM-01.
func TestMetricsDoNotRevealAccounts(t *testing.T) {
	w := newWorld(t, setup{})
	events := func() map[string]string {
		out := map[string]string{}
		for _, m := range regexp.MustCompile(`resetgate_events_total\{event="([a-z_]+)"\} (\d+)`).FindAllStringSubmatch(w.metrics(), -1) {
			out[m[1]] = m[2]
		}
		return out
	}
	w.requestLink(aliceEmail, aliceEmail)
	afterKnown := events()
	w.browser().post("/pwreset", "email=nobody%40example.com").expect(t, http.StatusSeeOther, "/pwreset/sent")
	w.waitLog("the unknown address's job", 1, func(l logLine) bool { return l.str("outcome") == "no_account" })
	afterUnknown := events()
	for _, e := range []string{"no_account", "token_issued"} {
		if _, ok := afterUnknown[e]; ok {
			t.Errorf("/metrics has event %q, which tells whether an address has an account", e)
		}
	}
	if afterUnknown["reset_handled"] == afterKnown["reset_handled"] {
		t.Errorf("reset_handled did not count the unknown address's request")
	}
}
