package deploy

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"
)

// browser is an HTTP client with cookies that does not follow redirects, so a test sees each.
type browser struct{ c *http.Client }

func newBrowser(t *testing.T) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{&http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// expect sends one request and checks its status and, for a redirect, where it points.
func (b *browser) expect(t *testing.T, method, url, form string, status int, location string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(form))
	if err != nil {
		t.Fatal(err)
	}
	if form != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != status {
		t.Fatalf("%s %s: %s, want %d\n%s", method, url, resp.Status, status, body)
	}
	if got := resp.Header.Get("Location"); location != "" && got != location {
		t.Fatalf("%s %s: redirected to %q, want %q", method, url, got, location)
	}
}
