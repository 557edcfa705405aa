package web_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"resetgate/reset"
	"resetgate/web"
)

// fakeClock is the Service's and the pages' clock in one.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// sessionCookie returns resp's session cookie, failing when there is none.
func sessionCookie(t *testing.T, resp *http.Response) *http.Cookie {
	t.Helper()
	for _, c := range resp.Cookies() {
		if c.Name == "resetgate" {
			return c
		}
	}
	t.Fatalf("no session cookie in %v", resp.Header["Set-Cookie"])
	return nil
}

func TestSessionCookieLivesAsLongAsTheLink(t *testing.T) {
	clock := &fakeClock{t: time.Now()}
	s := newSite(t, func(ro *reset.Options, wo *web.Options) {
		ro.Now, wo.Now = clock.Now, clock.Now
		ro.TokenTTL = time.Hour
	})
	c := s.client(t)
	link := s.linkPath(t, c)

	for _, tt := range []struct {
		name    string
		advance time.Duration
		max     time.Duration
	}{
		{"link opened at once", 0, time.Hour},
		{"link opened 50 minutes later", 50 * time.Minute, 10 * time.Minute},
		{"link opened again, 9 minutes before it expires", time.Minute, 9 * time.Minute},
	} {
		clock.advance(tt.advance)
		resp, _ := s.do(t, c, "GET", link, "")
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("%s: GET link = %d", tt.name, resp.StatusCode)
		}
		if got := sessionCookie(t, resp).MaxAge; got <= 0 || time.Duration(got)*time.Second > tt.max {
			t.Errorf("%s: cookie Max-Age = %d s, want 1…%d (the token's remaining lifetime)", tt.name, got, int(tt.max/time.Second))
		}
	}

	resp, _ := s.do(t, c, "POST", "/pwreset/new", "password=correct+horse+battery+staple&password2=correct+horse+battery+staple")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST /pwreset/new = %d", resp.StatusCode)
	}
	if got := sessionCookie(t, resp).MaxAge; got <= 0 || got > 5*60 {
		t.Errorf("after the reset, the cookie (a notice, no token) lives %d s, want at most 300", got)
	}
	resp, _ = s.do(t, c, "GET", "/pwreset/done", "")
	if got := sessionCookie(t, resp).MaxAge; got >= 0 {
		t.Errorf("after the notice was shown, the empty cookie lives %d s, want it deleted", got)
	}
}
