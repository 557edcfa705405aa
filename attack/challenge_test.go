package attack

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"resetgate/challenge"
)

// Issue 16, finding 9: ops could not raise the bar under attack. A botnet rotating addresses
// stays under every per-client limit and still makes the form queue mail for the addresses
// it lists; with [abuse] challenge on, each request must carry a solved proof of work.

var powRe = regexp.MustCompile(`data-pow="([^"]+)"`)

// solvedForm opens the request form in c and returns the solution of its challenge.
func solvedForm(t *testing.T, c *client, hdr ...string) string {
	t.Helper()
	r := c.get("/pwreset", hdr...)
	m := powRe.FindStringSubmatch(r.body)
	if r.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("GET /pwreset = %d without a proof-of-work challenge:\n%s", r.StatusCode, r.body)
	}
	var ch challenge.Challenge
	if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &ch); err != nil {
		t.Fatal(err)
	}
	s, err := challenge.Solve(ch)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestChallengeStopsUnsolvedFlood (finding 9): with challenge = "always", a scripted flood
// from 40 addresses that does not solve the proof of work queues no mail, and every answer is
// the same for known and unknown accounts; a solved request goes through once, and its
// solution cannot be replayed. RQ-REQ-10, RQ-REQ-01.
func TestChallengeStopsUnsolvedFlood(t *testing.T) {
	w := newWorld(t, setup{sqlite: true, conf: map[string]any{
		"abuse.challenge":        "always",
		"abuse.difficulty":       20000,
		"limits.trusted_proxies": []string{"127.0.0.1/32"},
	}})
	var mu sync.Mutex
	bodies := map[string]bool{}
	var wg sync.WaitGroup
	for ip := range 40 {
		wg.Go(func() {
			c := w.browser()
			for i := range 5 {
				email := []string{aliceEmail, bobEmail, carolEmail, "nobody@example.org", fmt.Sprintf("bot%d@example.org", ip)}[i]
				r := c.post("/pwreset", "email="+url.QueryEscape(email), "X-Forwarded-For", fmt.Sprintf("203.0.113.%d", ip+1))
				mu.Lock()
				// Each answer carries a fresh challenge; everything else must be the same.
				page := powRe.ReplaceAllString(strings.ReplaceAll(r.body, html.EscapeString(email), "EMAIL"), "CHALLENGE")
				bodies[fmt.Sprintf("%d %s", r.StatusCode, page)] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(bodies) != 1 {
		t.Errorf("the unsolved flood got %d different answers, want 1 (the same for every address)", len(bodies))
	}
	for b := range bodies {
		if !strings.HasPrefix(b, "400 ") || !strings.Contains(b, "Turn JavaScript on") {
			t.Errorf("an unsolved request got %.300s…, want 400 saying what to do", b)
		}
	}
	m := w.metrics()
	if got := metricValue(m, `resetgate_events_total{event="reset_requested"}`); got != 0 {
		t.Errorf("reset_requested = %v after an unsolved flood, want 0", got)
	}
	if got := metricValue(m, `resetgate_events_total{event="challenge_failed"}`); got != 200 {
		t.Errorf("challenge_failed = %v, want 200", got)
	}
	if got := metricValue(m, "resetgate_challenge_active"); got != 1 {
		t.Errorf("resetgate_challenge_active = %v, want 1", got)
	}

	// A browser that solves it: one link, one mail; the same solution again sends nothing.
	c := w.browser()
	sol := solvedForm(t, c)
	form := "email=" + url.QueryEscape(aliceEmail) + "&altcha=" + url.QueryEscape(sol)
	c.post("/pwreset", form).expect(t, http.StatusSeeOther, "/pwreset/sent")
	if r := c.post("/pwreset", form); r.StatusCode != http.StatusBadRequest {
		t.Errorf("a replayed solution = %d, want 400", r.StatusCode)
	}
	w.drain()
	if n := len(w.mails()); n != 1 {
		t.Errorf("%d mails after the flood and one solved request, want 1", n)
	}
}

// TestChallengeAutoSwitchesOn (finding 9): in auto mode the form works without a challenge
// until the rate crosses auto_threshold, then asks for one, and says so in a metric. RQ-REQ-10.
func TestChallengeAutoSwitchesOn(t *testing.T) {
	w := newWorld(t, setup{sqlite: true, conf: map[string]any{
		"abuse.challenge":      "auto",
		"abuse.auto_threshold": "5/hour",
		"abuse.difficulty":     20000,
	}})
	c := w.browser()
	if r := c.get("/pwreset"); powRe.MatchString(r.body) {
		t.Fatal("auto mode asks for a challenge before any traffic")
	}
	for i := range 5 {
		c.post("/pwreset", fmt.Sprintf("email=calm%d%%40example.org", i)).expect(t, http.StatusSeeOther, "/pwreset/sent")
	}
	if got := metricValue(w.metrics(), "resetgate_challenge_active"); got != 0 {
		t.Errorf("resetgate_challenge_active = %v at the threshold, want 0", got)
	}
	if r := c.post("/pwreset", "email=over%40example.org"); r.StatusCode != http.StatusBadRequest || !powRe.MatchString(r.body) {
		t.Fatalf("the request over the threshold = %d, want 400 with a challenge:\n%s", r.StatusCode, r.body)
	}
	m := w.metrics()
	if metricValue(m, "resetgate_challenge_active") != 1 || metricValue(m, `resetgate_events_total{event="challenge_switched_on"}`) != 1 {
		t.Errorf("after the threshold: active = %v, switched_on = %v, want 1 and 1", metricValue(m, "resetgate_challenge_active"),
			metricValue(m, `resetgate_events_total{event="challenge_switched_on"}`))
	}
	sol := solvedForm(t, c)
	c.post("/pwreset", "email=over%40example.org&altcha="+url.QueryEscape(sol)).expect(t, http.StatusSeeOther, "/pwreset/sent")
}
