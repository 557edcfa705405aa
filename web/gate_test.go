package web_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"resetgate/internal/admission"
	"resetgate/reset"
	"resetgate/web"
)

func gatedSite(t *testing.T, g *admission.Gate, mod func(*reset.Options)) *site {
	return newSite(t, func(ro *reset.Options, wo *web.Options) {
		wo.Gate = g
		ro.Waiting = admission.Leave
		if mod != nil {
			mod(ro)
		}
	})
}

// holdAll takes every place of g until the test ends or the returned func is called.
func holdAll(t *testing.T, g *admission.Gate) func() {
	n := g.Stats().Places
	var dones []func()
	for range n {
		_, done, err := g.Enter(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		dones = append(dones, done)
	}
	release := func() {
		for _, d := range dones {
			d()
		}
		dones = nil
	}
	t.Cleanup(release)
	return release
}

// With every place taken a page waits its turn and is served once one frees; the stylesheet
// it needs does not wait.
func TestGateQueuesPagesButNotAssets(t *testing.T) {
	g := admission.New(1, time.Minute)
	s := gatedSite(t, g, nil)
	release := holdAll(t, g)
	got := make(chan int, 1)
	go func() {
		resp, err := s.client(t).Get(s.srv.URL + "/pwreset")
		if err != nil {
			t.Errorf("GET /pwreset: %v", err)
			got <- 0
			return
		}
		resp.Body.Close()
		got <- resp.StatusCode
	}()
	waitUntil(t, func() bool { return g.Stats().Waiting == 1 })
	if resp, _ := s.do(t, s.client(t), "GET", "/pwreset/static/style.css", ""); resp.StatusCode != http.StatusOK {
		t.Errorf("stylesheet while the pages wait = %d, want 200 at once", resp.StatusCode)
	}
	select {
	case code := <-got:
		t.Fatalf("the page was answered (%d) while every place was taken", code)
	case <-time.After(50 * time.Millisecond):
	}
	release()
	if code := <-got; code != http.StatusOK {
		t.Errorf("the page after its turn = %d, want 200", code)
	}
}

func TestGateTurnsAwayWithAPage(t *testing.T) {
	g := admission.New(1, 30*time.Millisecond)
	s := gatedSite(t, g, nil)
	holdAll(t, g)
	resp, body := s.do(t, s.client(t), "GET", "/pwreset", "")
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "5" || !strings.Contains(body, "<html") {
		t.Errorf("turned away = %d, Retry-After %q, want 503, 5 and the error page\n%s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	if away := g.Stats().TurnedAway; away != 1 {
		t.Errorf("turned away counted %d, want 1", away)
	}
}

// A form's body is read before the request queues: a client trickling it holds no place.
func TestGateReadsTheBodyBeforeWaiting(t *testing.T) {
	g := admission.New(1, time.Minute)
	s := gatedSite(t, g, nil)
	release := holdAll(t, g)
	body := "email=alice%40example.com"
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", s.srv.URL+"/pwreset", pr)
	req.ContentLength = int64(len(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	got := make(chan int, 1)
	go func() {
		resp, err := s.client(t).Do(req)
		if err != nil {
			t.Error(err)
			got <- 0
			return
		}
		resp.Body.Close()
		got <- resp.StatusCode
	}()
	io.WriteString(pw, body[:10])
	time.Sleep(200 * time.Millisecond) // time enough for the head to reach the gate, were it to queue now
	if w := g.Stats().Waiting; w != 0 {
		t.Fatalf("%d requests queued while the body was still arriving, want 0", w)
	}
	io.WriteString(pw, body[10:])
	pw.Close()
	waitUntil(t, func() bool { return g.Stats().Waiting == 1 })
	release()
	if code := <-got; code != http.StatusSeeOther {
		t.Errorf("POST /pwreset after its turn = %d, want 303", code)
	}
}

func TestGateKeepsTheOversizedBodyAnswer(t *testing.T) {
	s := gatedSite(t, admission.New(4, time.Minute), nil)
	body := "email=" + strings.Repeat("a", web.MaxBodyBytes) + "%40example.com"
	resp, _ := s.do(t, s.client(t), "POST", "/pwreset", body)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("oversized body behind the gate = %d, want 400", resp.StatusCode)
	}
}

// blockingHashers hash only once released, so that a completion sits in its hash slot.
type blockingHashers struct {
	started, release chan struct{}
	once             *sync.Once
}

// newBlockingHashers returns hashers that hash once letGo is called. Tests defer letGo: the
// deferred call runs before the servers' Cleanup, which would otherwise wait for the hash
// forever when a test fails.
func newBlockingHashers() blockingHashers {
	return blockingHashers{make(chan struct{}, 1), make(chan struct{}), new(sync.Once)}
}

func (b blockingHashers) letGo() { b.once.Do(func() { close(b.release) }) }

func (b blockingHashers) For(string, string) (reset.Hasher, error) { return b, nil }
func (b blockingHashers) Hash(pw string) (string, error) {
	b.started <- struct{}{}
	<-b.release
	return "test$" + pw, nil
}
func (blockingHashers) MaxPasswordBytes() int { return 0 }
func (blockingHashers) Scheme() string        { return "test" }

// submit posts a new password in the background and delivers the answer (nil, with the test
// failed, when there is none).
func submit(t *testing.T, s *site, c *http.Client, password string) <-chan *http.Response {
	got := make(chan *http.Response, 1)
	go func() {
		req, _ := http.NewRequest("POST", s.srv.URL+"/pwreset/new", strings.NewReader("password="+password+"&password2="+password))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		resp, err := c.Do(req)
		if err != nil {
			t.Errorf("POST /pwreset/new: %v", err)
			got <- nil
			return
		}
		resp.Body.Close()
		got <- resp
	}()
	return got
}

// wantRedirect checks that resp is a 303 to location.
func wantRedirect(t *testing.T, what string, resp *http.Response, location string) {
	t.Helper()
	if resp == nil {
		return // submit failed the test already
	}
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != location {
		t.Errorf("%s = %d → %q, want 303 → %s", what, resp.StatusCode, resp.Header.Get("Location"), location)
	}
}

// formServed checks that the request form is served now: a page stuck behind a gate fails
// after 5 s rather than hangs.
func formServed(t *testing.T, s *site, while string) {
	t.Helper()
	c := s.client(t)
	c.Timeout = 5 * time.Second
	if resp, _ := s.do(t, c, "GET", "/pwreset", ""); resp.StatusCode != http.StatusOK {
		t.Errorf("the request form while %s = %d, want 200", while, resp.StatusCode)
	}
}

// A completion waiting for or holding a hash slot has left the gate (reset.Options.Waiting):
// with one place, the other pages are still served while it hashes.
func TestGateLetsPagesPastAHashingCompletion(t *testing.T) {
	g := admission.New(1, time.Minute)
	bh := newBlockingHashers()
	defer bh.letGo()
	s := gatedSite(t, g, func(ro *reset.Options) { ro.Hashers = bh })
	c := s.client(t)
	s.do(t, c, "GET", s.linkPath(t, c), "")
	done := submit(t, s, c, "long+enough+secret")
	<-bh.started
	formServed(t, s, "a completion hashes")
	bh.letGo()
	wantRedirect(t, "the completion", <-done, "/pwreset/done")
	if st := g.Stats(); st.Inside != 0 || st.Waiting != 0 {
		t.Errorf("afterwards %+v, want nobody inside or waiting", st)
	}
}

func waitUntil(t *testing.T, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
	}
}

// New-password submissions wait at their own door: with one place and a completion hashing,
// the next submission waits there, while the other pages are served.
func TestCompletionsWaitAtTheirDoor(t *testing.T) {
	door := admission.New(1, 0)
	bh := newBlockingHashers()
	defer bh.letGo()
	s := newSite(t, func(ro *reset.Options, wo *web.Options) {
		wo.Gate, wo.Completions, ro.Waiting, ro.Hashers = admission.New(1, time.Minute), door, admission.Leave, bh
	})
	c := s.client(t)
	s.do(t, c, "GET", s.linkPath(t, c), "")
	first := submit(t, s, c, "long+enough+secret")
	<-bh.started
	second := submit(t, s, s.client(t), "another+long+secret") // no session: its answer is /invalid
	waitUntil(t, func() bool { return door.Stats().Waiting == 1 })
	formServed(t, s, "a completion waits at the door")
	bh.letGo()
	wantRedirect(t, "the first completion", <-first, "/pwreset/done")
	wantRedirect(t, "the second submission, once in", <-second, "/pwreset/invalid")
	if st := door.Stats(); st.Inside != 0 || st.Waiting != 0 {
		t.Errorf("door afterwards: %+v, want nobody inside or waiting", st)
	}
}
