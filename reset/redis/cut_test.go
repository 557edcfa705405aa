package redis_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"resetgate/internal/testenv"
	"resetgate/reset"
	"resetgate/reset/redis"
	"resetgate/reset/resettest"
)

// cutProxy relays TCP between go-redis and the real Redis. Armed, it lets the next script
// call (EVALSHA or EVAL) through, waits for Redis' reply, which proves the script ran, and
// then closes the client's connection instead of relaying it: the cut of issue 20, item 4.
// go-redis sees EOF and sends the call again on a new connection, which the proxy relays.
type cutProxy struct {
	ln     net.Listener
	target string

	mu      sync.Mutex
	armed   bool
	cuts    int // replies withheld
	scripts int // script calls relayed
}

func startCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { p.relay(c) })
		}
	})
	return p
}

func (p *cutProxy) addr() string { return p.ln.Addr().String() }

// arm makes the proxy cut the reply to the next script call that runs.
func (p *cutProxy) arm() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.armed = true
}

// counts returns how many replies were cut and how many script calls went through.
func (p *cutProxy) counts() (cuts, scripts int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cuts, p.scripts
}

// isScriptCall reports whether a RESP command starts with EVALSHA or EVAL.
func isScriptCall(b []byte) bool {
	b = bytes.ToLower(b)
	return bytes.Contains(b, []byte("\r\nevalsha\r\n")) || bytes.Contains(b, []byte("\r\neval\r\n"))
}

func (p *cutProxy) relay(client net.Conn) {
	defer client.Close()
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer server.Close()
	var mu sync.Mutex
	cutting := false // a script call on this connection waits for its cut
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 64<<10)
		for {
			n, err := client.Read(buf)
			if n > 0 && isScriptCall(buf[:n]) {
				p.mu.Lock()
				p.scripts++
				mu.Lock()
				cutting = p.armed
				mu.Unlock()
				p.mu.Unlock()
			}
			if n > 0 {
				if _, err := server.Write(buf[:n]); err != nil {
					return
				}
			}
			if err != nil {
				server.Close()
				return
			}
		}
	}()
	buf := make([]byte, 64<<10)
	for {
		n, err := server.Read(buf)
		if n > 0 {
			mu.Lock()
			cut := cutting
			mu.Unlock()
			// A NOSCRIPT error means the script did not run: go-redis follows with EVAL,
			// whose reply is the one to cut.
			if cut && !bytes.HasPrefix(buf[:n], []byte("-NOSCRIPT")) {
				p.mu.Lock()
				p.armed = false
				p.cuts++
				p.mu.Unlock()
				client.Close()
				<-done
				return
			}
			if _, err := client.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				client.Close()
			}
			client.Close()
			<-done
			return
		}
	}
}

// mustOpenCut opens a store whose connections pass through a cutProxy, with one connection
// so that each call reuses it, and runs warm, a call that loads the scripts, before arming.
func mustOpenCut(t *testing.T) (*redis.Store, *cutProxy) {
	t.Helper()
	addr := testenv.Redis(t)
	p := startCutProxy(t, addr)
	s, err := redis.Open(t.Context(), redis.Options{Addrs: []string{p.addr()}, KeyPrefix: newPrefix(t, addr), PoolSize: 1})
	if err != nil {
		t.Fatalf("Open(through the proxy) = %v, want nil", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, p
}

// armed arms the proxy and returns a mark for wantCut.
func armed(p *cutProxy) [2]int {
	cuts, scripts := p.counts()
	p.arm()
	return [2]int{cuts, scripts}
}

// wantCut checks that since mark the proxy withheld exactly one reply and relayed the call
// twice: the first run and go-redis' resend.
func wantCut(t *testing.T, p *cutProxy, mark [2]int) {
	t.Helper()
	cuts, scripts := p.counts()
	if cuts-mark[0] != 1 || scripts-mark[1] < 2 {
		t.Fatalf("proxy cut %d replies and saw %d script calls, want 1 cut and the call sent twice", cuts-mark[0], scripts-mark[1])
	}
}

func TestCutReplyEnqueueStoresOneJob(t *testing.T) {
	s, p := mustOpenCut(t)
	at := now()
	warm := reset.Job{ID: resettest.NewJobID(at), Kind: reset.JobReset, Email: "warm@example.com", CreatedAt: at}
	if err := s.Enqueue(t.Context(), warm); err != nil {
		t.Fatalf("Enqueue(warm-up) = %v", err)
	}
	before := armed(p)
	j := reset.Job{ID: resettest.NewJobID(at), Kind: reset.JobReset, Email: "a@example.com", CreatedAt: at}
	if err := s.Enqueue(t.Context(), j); err != nil {
		t.Fatalf("Enqueue() with its reply cut = %v, want nil", err)
	}
	wantCut(t, p, before)
	js, err := s.Jobs(t.Context())
	if err != nil || len(js) != 2 || js[1].ID != j.ID {
		t.Errorf("Jobs() = %+v, %v, want the warm-up job and %q once", js, err, j.ID)
	}
}

func TestCutReplyClaimSucceeds(t *testing.T) {
	s, p := mustOpenCut(t)
	at := now()
	warm := newToken("warm", at, time.Hour)
	tok := newToken("u1", at, time.Hour)
	mustSaveToken(t, s, warm)
	mustSaveToken(t, s, tok)
	if _, err := s.ClaimToken(t.Context(), warm.ID, at, at.Add(time.Minute)); err != nil {
		t.Fatalf("ClaimToken(warm-up) = %v", err)
	}
	before := armed(p)
	until := at.Add(time.Minute)
	c, err := s.ClaimToken(t.Context(), tok.ID, at, until)
	if err != nil {
		t.Fatalf("the only ClaimToken, its reply cut = %v, want nil (not %v)", err, reset.ErrTokenClaimed)
	}
	wantCut(t, p, before)
	if got, err := s.Token(t.Context(), tok.ID); err != nil || got.ClaimedBy != c.ClaimedBy || !got.ClaimedUntil.Equal(until) {
		t.Errorf("Token() = %+v, %v, want claimed until %v by %q", got, err, until, c.ClaimedBy)
	}
	// The claim is the caller's: it can release it.
	before = armed(p)
	if err := s.ReleaseToken(t.Context(), tok.ID, c.ClaimedBy); err != nil {
		t.Errorf("ReleaseToken(), its reply cut = %v, want nil", err)
	}
	wantCut(t, p, before)
	if got, err := s.Token(t.Context(), tok.ID); err != nil || got.ClaimedBy != "" {
		t.Errorf("Token() after release = %+v, %v, want unclaimed", got, err)
	}
}

func TestCutReplyAllowCountsOnce(t *testing.T) {
	s, p := mustOpenCut(t)
	at := now()
	if _, _, err := s.Allow(t.Context(), "warm", 1, time.Hour, at); err != nil {
		t.Fatalf("Allow(warm-up) = %v", err)
	}
	before := armed(p)
	ok, _, err := s.Allow(t.Context(), "k", 1, time.Hour, at)
	if err != nil || !ok {
		t.Fatalf("Allow(n=1), the first event, its reply cut = %t, %v, want true, nil", ok, err)
	}
	wantCut(t, p, before)
	if ok, _, err := s.Allow(t.Context(), "k", 2, time.Hour, at); err != nil || !ok {
		t.Errorf("Allow(n=2) after it = %t, %v, want true: the cut event counted once", ok, err)
	}
	if ok, _, err := s.Allow(t.Context(), "k", 2, time.Hour, at); err != nil || ok {
		t.Errorf("Allow(n=2) a third time = %t, %v, want false", ok, err)
	}
}

func TestCutReplyLeaseAndRetry(t *testing.T) {
	s, p := mustOpenCut(t)
	at := now()
	for _, e := range []string{"a@example.com", "b@example.com"} {
		if err := s.Enqueue(t.Context(), reset.Job{ID: resettest.NewJobID(at), Kind: reset.JobReset, Email: e, CreatedAt: at}); err != nil {
			t.Fatalf("Enqueue(%q) = %v", e, err)
		}
	}
	until := at.Add(time.Minute)
	before := armed(p)
	j, err := s.NextJob(t.Context(), at, until)
	if err != nil || j.Email != "a@example.com" {
		t.Fatalf("NextJob(), its reply cut = %+v, %v, want the first job", j, err)
	}
	wantCut(t, p, before)
	if st, err := s.Stats(t.Context(), at); err != nil || st != (reset.QueueStats{Due: 1, Leased: 1}) {
		t.Errorf("Stats() = %+v, %v, want one leased (the resend took no second job) and one due", st, err)
	}
	j.Attempts, j.NotBefore, j.LastError = 1, until.Add(time.Minute), "421"
	before = armed(p)
	if err := s.RetryJob(t.Context(), j); err != nil {
		t.Fatalf("RetryJob(), its reply cut = %v, want nil", err)
	}
	wantCut(t, p, before)
	if st, err := s.Stats(t.Context(), at); err != nil || st != (reset.QueueStats{Due: 1, Delayed: 1}) {
		t.Errorf("Stats() after RetryJob = %+v, %v, want one delayed and one due", st, err)
	}
}
