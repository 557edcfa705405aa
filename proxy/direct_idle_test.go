package proxy

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/http/httputil"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// scriptedApp runs serve on every accepted connection; it counts connections.
type scriptedApp struct {
	ln    net.Listener
	conns atomic.Int32
}

func newScriptedApp(t *testing.T, serve func(n int32, c net.Conn, br *bufio.Reader)) *scriptedApp {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := &scriptedApp{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n := a.conns.Add(1)
			go func() {
				defer c.Close()
				serve(n, c, bufio.NewReader(c))
			}()
		}
	}()
	return a
}

func (a *scriptedApp) url() string { return "http://" + a.ln.Addr().String() }

// transports returns the direct transport and the stock one it replaces.
func bothTransports(t *testing.T) map[string]http.RoundTripper {
	stock := NewTransport()
	t.Cleanup(stock.CloseIdleConnections)
	return map[string]http.RoundTripper{"direct": testTransport(t), "http.Transport": stock}
}

// A legacy app that answers HEAD like GET (the classic `do_HEAD = do_GET`), writing the body
// a moment after the head. The Transport's read loop sees the unsolicited bytes arrive on the
// idle connection and drops it; the direct pool must notice them too (its peek before reuse),
// or the next request on it reads the HEAD's body as its own answer. Here the stray bytes look
// like a response, which is what a desync looks like: every later request on that connection
// would get the answer meant for the one before (another user's page).
func TestDirectUnsolicitedBytesOnIdleConnection(t *testing.T) {
	for name, rt := range bothTransports(t) {
		t.Run(name, func(t *testing.T) {
			app := newScriptedApp(t, func(_ int32, c net.Conn, br *bufio.Reader) {
				for i := 0; ; i++ {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					if req.Method == "HEAD" {
						io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
						time.Sleep(30 * time.Millisecond)
						io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\nsomebody else's page")
						continue
					}
					io.WriteString(c, ok("yours"))
				}
			})
			if _, _, err := get(t, rt, "HEAD", app.url()+"/", nil); err != nil {
				t.Fatal(err)
			}
			time.Sleep(100 * time.Millisecond) // well within the 1 s idle timeout
			_, body, err := get(t, rt, "GET", app.url()+"/", nil)
			if err != nil || body != "yours" {
				t.Errorf("GET after a HEAD whose body came late: %q, %v; want \"yours\"", body, err)
			}
		})
	}
}

// A server that says "408 Request Timeout" before closing an idle keep-alive connection
// (golang.org/issue/32310). The Transport recognises the 408 on the idle connection and
// retries on a new one; the direct path sees it waiting on the idle connection and dials.
func TestDirect408OnIdleConnection(t *testing.T) {
	for name, rt := range bothTransports(t) {
		t.Run(name, func(t *testing.T) {
			app := newScriptedApp(t, func(_ int32, c net.Conn, br *bufio.Reader) {
				if _, err := http.ReadRequest(br); err != nil {
					return
				}
				io.WriteString(c, ok("page"))
				time.Sleep(30 * time.Millisecond) // the app's keep-alive timeout
				io.WriteString(c, "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
			})
			if _, _, err := get(t, rt, "GET", app.url()+"/", nil); err != nil {
				t.Fatal(err)
			}
			time.Sleep(100 * time.Millisecond)
			resp, body, err := get(t, rt, "GET", app.url()+"/", nil)
			if err != nil || resp.StatusCode != 200 || body != "page" {
				code := 0
				if resp != nil {
					code = resp.StatusCode
				}
				t.Errorf("second GET: status %d %q, %v; want 200 \"page\"", code, body, err)
			}
		})
	}
}

// ReverseProxy always installs Got1xxResponse, and since Go 1.24 the Transport then sets no
// count on interim responses (the caller sees each one), and neither may the direct path: an
// app may send 102 Processing as a heartbeat during a long request.
func TestDirectManyInterimResponses(t *testing.T) {
	for name, rt := range bothTransports(t) {
		t.Run(name, func(t *testing.T) {
			app := newScriptedApp(t, func(_ int32, c net.Conn, br *bufio.Reader) {
				if _, err := http.ReadRequest(br); err != nil {
					return
				}
				for range 6 {
					io.WriteString(c, "HTTP/1.1 102 Processing\r\n\r\n")
				}
				io.WriteString(c, ok("report"))
			})
			var n int
			trace := &httptrace.ClientTrace{Got1xxResponse: func(int, textproto.MIMEHeader) error { n++; return nil }}
			_, body, err := get(t, rt, "GET", app.url()+"/", func(r *http.Request) {
				*r = *r.WithContext(httptrace.WithClientTrace(r.Context(), trace))
			})
			if err != nil || body != "report" {
				t.Errorf("six 102s then 200: %q, %v (%d interim seen); want \"report\"", body, err, n)
			}
		})
	}
}

// With a trace that sees them, the Transport gives each 1xx head its own header budget, and so
// does the direct path: several large 1xx heads do not add up against one limit.
func TestDirectInterimHeadsEachHaveTheHeaderLimit(t *testing.T) {
	for name, rt := range bothTransports(t) {
		t.Run(name, func(t *testing.T) {
			app := newScriptedApp(t, func(_ int32, c net.Conn, br *bufio.Reader) {
				if _, err := http.ReadRequest(br); err != nil {
					return
				}
				link := strings.Repeat("a", 400<<10)
				for range 3 {
					io.WriteString(c, "HTTP/1.1 103 Early Hints\r\nLink: <"+link+">; rel=preload\r\n\r\n")
				}
				io.WriteString(c, ok("page"))
			})
			trace := &httptrace.ClientTrace{Got1xxResponse: func(int, textproto.MIMEHeader) error { return nil }}
			_, body, err := get(t, rt, "GET", app.url()+"/", func(r *http.Request) {
				*r = *r.WithContext(httptrace.WithClientTrace(r.Context(), trace))
			})
			if err != nil || body != "page" {
				t.Errorf("three 400 KiB 103s then 200: %q, %v; want \"page\"", body, err)
			}
		})
	}
}

// When the client goes away mid-body, the Transport's body read returns context.Canceled,
// which ReverseProxy treats as a normal end; the direct body must too, not the deadline its
// cancellation set ("i/o timeout"), which ReverseProxy would log as "read error during body
// copy" (at Warn) for every browser that leaves a stream or download, like a slow app.
func TestDirectCancelledBodyReadIsContextCanceled(t *testing.T) {
	for name, rt := range bothTransports(t) {
		t.Run(name, func(t *testing.T) {
			app := newScriptedApp(t, func(_ int32, c net.Conn, br *bufio.Reader) {
				if _, err := http.ReadRequest(br); err != nil {
					return
				}
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
				time.Sleep(5 * time.Second)
			})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "GET", app.url()+"/events", nil)
			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			buf := make([]byte, 5)
			if _, err := io.ReadFull(resp.Body, buf); err != nil {
				t.Fatal(err)
			}
			time.AfterFunc(50*time.Millisecond, cancel)
			_, err = resp.Body.Read(buf)
			if !errors.Is(err, context.Canceled) {
				t.Errorf("body read after the client left: %v; want context.Canceled", err)
			}
		})
	}
}

// The Transport closes each idle connection idleTimeout after it went idle; the direct pool's
// one timer is re-armed for the oldest connection left, so none stays open much longer than
// idleTimeout (get never hands out a stale one either way).
func TestDirectIdleConnectionsCloseOnTime(t *testing.T) {
	app := newRawApp(t, func(int, *http.Request) string { return ok("hi") })
	tr := testTransport(t)
	tr.idleTimeout = 200 * time.Millisecond
	var resps []*http.Response
	for range 2 { // two connections, bodies unread
		req, _ := http.NewRequest("GET", app.url()+"/", nil)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resps = append(resps, resp)
	}
	for _, resp := range resps { // idle at 0 ms (arms the reaper) and at 10 ms
		io.ReadAll(resp.Body)
		resp.Body.Close()
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(290 * time.Millisecond) // the second has been idle for 1.4× the timeout
	tr.mu.Lock()
	n := 0
	for _, cs := range tr.idle {
		n += len(cs)
	}
	tr.mu.Unlock()
	if n != 0 {
		t.Errorf("%d connection(s) still open after 1.4× the idle timeout", n)
	}
}

// Stress: concurrent GET/HEAD through a ReverseProxy on the direct transport, some clients
// leaving mid-body; every completed answer must be its own request's (no desync), and no
// connection may be left behind.
func TestDirectStressNoDesync(t *testing.T) {
	up := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.URL.Query().Get("id")
		body := reviewBody(id)
		if strings.HasSuffix(id, "7") {
			w.(http.Flusher).Flush() // chunked
		} else {
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		}
		io.WriteString(w, body[:len(body)/2])
		time.Sleep(time.Millisecond)
		io.WriteString(w, body[len(body)/2:])
	})}
	var open atomic.Int32
	up.ConnState = func(_ net.Conn, st http.ConnState) {
		switch st {
		case http.StateNew:
			open.Add(1)
		case http.StateClosed, http.StateHijacked:
			open.Add(-1)
		}
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go up.Serve(ln)
	defer up.Close()
	tr := testTransport(t)
	target, _ := url.Parse("http://" + ln.Addr().String())
	rp := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(target) }, Transport: tr,
		ErrorLog: log.New(io.Discard, "", 0)}
	front := httptest.NewServer(rp)
	defer front.Close()
	var wg sync.WaitGroup
	var bad atomic.Int32
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 60 {
				id := strconv.Itoa(g*1000 + i)
				method := "GET"
				if i%5 == 0 {
					method = "HEAD"
				}
				ctx, cancel := context.WithCancel(context.Background())
				req, _ := http.NewRequestWithContext(ctx, method, front.URL+"/?id="+id, nil)
				resp, err := client.Do(req)
				if err != nil {
					cancel()
					bad.Add(1)
					continue
				}
				if i%7 == 3 {
					resp.Body.Read(make([]byte, 3))
					cancel()
					resp.Body.Close()
					continue
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				cancel()
				want := reviewBody(id)
				if method == "HEAD" {
					want = ""
				}
				if err != nil || string(b) != want {
					bad.Add(1)
					t.Errorf("%s id=%s: %d bytes starting %.20q, %v", method, id, len(b), b, err)
				}
			}
		}()
	}
	wg.Wait()
	if n := bad.Load(); n > 0 {
		t.Errorf("%d bad exchanges", n)
	}
	client.CloseIdleConnections()
	front.Close()
	tr.CloseIdleConnections()
	deadline := time.Now().Add(3 * time.Second)
	for open.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d upstream connections still open after CloseIdleConnections: leaked", open.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func reviewBody(id string) string {
	n, _ := strconv.Atoi(id)
	return strings.Repeat(id+",", 1+n*137%5000)
}

// End to end through proxy.New's default transport: an app whose HEAD handler is its GET
// handler (head flushed, then the body) and a JSONP endpoint, whose body starts with the
// callback name from the query. An attacker's HEAD puts a response of their own on the idle
// upstream connection; the next visitor's GET must not get it instead of their page (with the
// reflection anywhere but at the start, a poisoned connection would give them a 502).
func TestDirectHeadBodyCannotPoisonTheNextVisitor(t *testing.T) {
	for name, tr := range map[string]http.RoundTripper{"default (direct)": nil, "http.Transport": NewTransport()} {
		t.Run(name, func(t *testing.T) { headBodyPoison(t, tr) })
	}
}

func headBodyPoison(t *testing.T, tr http.RoundTripper) {
	app := newScriptedApp(t, func(_ int32, c net.Conn, br *bufio.Reader) {
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			page := req.URL.Query().Get("callback") + "({\"ok\":true})"
			if req.URL.Path == "/account" {
				page = "your account"
			}
			// Head first (flushed), then the page, for GET and, wrongly, for HEAD.
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: "+strconv.Itoa(len(page))+"\r\n\r\n")
			time.Sleep(20 * time.Millisecond)
			io.WriteString(c, page)
		}
	})
	p, err := New(Options{Upstream: mustParse(t, app.url()), PublicURL: mustParse(t, "https://public.example"), Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	front := httptest.NewServer(p)
	defer front.Close()

	fake := "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 29\r\n\r\n<script>steal()</script>pwned"
	attack, _ := http.NewRequest("HEAD", front.URL+"/api?callback="+url.QueryEscape(fake), nil)
	resp, err := http.DefaultTransport.RoundTrip(attack)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	time.Sleep(100 * time.Millisecond)

	victim := &http.Transport{}
	defer victim.CloseIdleConnections()
	req, _ := http.NewRequest("GET", front.URL+"/account", nil)
	resp, err = victim.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "your account" {
		t.Errorf("the visitor's GET /account got %d %.60q; want \"your account\"", resp.StatusCode, body)
	}
}

func mustParse(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
