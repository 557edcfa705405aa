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
	_, _, n, _ := g.Stats()
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
		resp, _ := s.do(t, s.client(t), "GET", "/pwreset", "")
		got <- resp.StatusCode
	}()
	waitUntil(t, func() bool { _, w, _, _ := g.Stats(); return w == 1 })
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
	if _, _, _, away := g.Stats(); away != 1 {
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
	time.Sleep(50 * time.Millisecond)
	if _, w, _, _ := g.Stats(); w != 0 {
		t.Fatalf("%d requests queued while the body was still arriving, want 0", w)
	}
	io.WriteString(pw, body[10:])
	pw.Close()
	waitUntil(t, func() bool { _, w, _, _ := g.Stats(); return w == 1 })
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
type blockingHashers struct{ started, release chan struct{} }

func (b blockingHashers) For(string, string) (reset.Hasher, error) { return b, nil }
func (b blockingHashers) Hash(pw string) (string, error) {
	b.started <- struct{}{}
	<-b.release
	return "test$" + pw, nil
}
func (blockingHashers) MaxPasswordBytes() int { return 0 }
func (blockingHashers) Scheme() string        { return "test" }

// A completion waiting for or holding a hash slot has left the gate (reset.Options.Waiting):
// with one place, the other pages are still served while it hashes.
func TestGateLetsPagesPastAHashingCompletion(t *testing.T) {
	g := admission.New(1, time.Minute)
	bh := blockingHashers{make(chan struct{}, 1), make(chan struct{})}
	s := gatedSite(t, g, func(ro *reset.Options) { ro.Hashers = bh })
	var once sync.Once
	release := func() { once.Do(func() { close(bh.release) }) }
	t.Cleanup(release) // before the servers' Cleanup: a failed test must not hang closing them
	c := s.client(t)
	s.do(t, c, "GET", s.linkPath(t, c), "")
	done := make(chan *http.Response, 1)
	go func() {
		resp, _ := s.do(t, c, "POST", "/pwreset/new", "password=long+enough+secret&password2=long+enough+secret")
		done <- resp
	}()
	<-bh.started
	other := s.client(t)
	other.Timeout = 5 * time.Second // a page stuck behind the hash fails rather than hangs
	if resp, _ := s.do(t, other, "GET", "/pwreset", ""); resp.StatusCode != http.StatusOK {
		t.Errorf("the request form while a completion hashes = %d, want 200", resp.StatusCode)
	}
	release()
	if resp := <-done; resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/pwreset/done" {
		t.Errorf("the completion = %d → %q, want 303 → /pwreset/done", resp.StatusCode, resp.Header.Get("Location"))
	}
	if in, w, _, _ := g.Stats(); in != 0 || w != 0 {
		t.Errorf("afterwards %d inside and %d waiting, want none", in, w)
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
	bh := blockingHashers{make(chan struct{}, 1), make(chan struct{})}
	s := newSite(t, func(ro *reset.Options, wo *web.Options) {
		wo.Gate, wo.Completions, ro.Waiting, ro.Hashers = admission.New(1, time.Minute), door, admission.Leave, bh
	})
	var once sync.Once
	release := func() { once.Do(func() { close(bh.release) }) }
	t.Cleanup(release)
	c := s.client(t)
	s.do(t, c, "GET", s.linkPath(t, c), "")
	first := make(chan *http.Response, 1)
	go func() {
		resp, _ := s.do(t, c, "POST", "/pwreset/new", "password=long+enough+secret&password2=long+enough+secret")
		first <- resp
	}()
	<-bh.started
	second := make(chan int, 1)
	go func() {
		resp, _ := s.do(t, s.client(t), "POST", "/pwreset/new", "password=another+long+secret&password2=another+long+secret")
		second <- resp.StatusCode
	}()
	waitUntil(t, func() bool { _, w, _, _ := door.Stats(); return w == 1 })
	other := s.client(t)
	other.Timeout = 5 * time.Second
	if resp, _ := s.do(t, other, "GET", "/pwreset", ""); resp.StatusCode != http.StatusOK {
		t.Errorf("the request form while a completion waits at the door = %d, want 200", resp.StatusCode)
	}
	release()
	if resp := <-first; resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/pwreset/done" {
		t.Errorf("the first completion = %d → %q, want 303 → /pwreset/done", resp.StatusCode, resp.Header.Get("Location"))
	}
	if code := <-second; code == 0 {
		t.Error("the second submission got no answer")
	}
	if in, w, _, _ := door.Stats(); in != 0 || w != 0 {
		t.Errorf("door afterwards: %d inside, %d waiting, want none", in, w)
	}
}
