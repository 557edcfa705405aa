package proxy_test

import (
	"bufio"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/http/httputil"
	"strconv"
	"strings"
	"testing"

	"resetgate/proxy"
)

const bigBody = 64 << 20

// pattern returns n deterministic pseudo-random bytes: incompressible, and different at every
// offset, so a lost or repeated chunk changes the hash.
func pattern(seed uint64, n int64) io.Reader {
	return io.LimitReader(rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)}), n)
}

type transfer struct {
	n   int64
	sum [32]byte
}

func hashReader(r io.Reader) (transfer, error) {
	h := sha256.New()
	n, err := io.Copy(h, r)
	var t transfer
	t.n = n
	copy(t.sum[:], h.Sum(nil))
	return t, err
}

func TestLargeDownloadByteExact(t *testing.T) {
	for _, withLength := range []bool{true, false} {
		t.Run("Content-Length "+strconv.FormatBool(withLength), func(t *testing.T) {
			up := mustServe(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if withLength {
					w.Header().Set("Content-Length", strconv.Itoa(bigBody))
				}
				io.Copy(w, pattern(2, bigBody))
			}))
			front := mustServe(t, mustProxy(t, up.URL, nil))
			resp, err := client(t).Get(front.URL + "/download")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if withLength && resp.ContentLength != bigBody {
				t.Errorf("Content-Length = %d, want %d", resp.ContentLength, bigBody)
			}
			got, err := hashReader(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := hashReader(pattern(2, bigBody))
			if got != want {
				t.Errorf("download: got %d bytes (sha256 %x), want %d bytes (sha256 %x)", got.n, got.sum, want.n, want.sum)
			}
		})
	}
}

// TestServerSentEventsStream: the upstream sends each event only after the client has
// received the previous one, so a proxy that buffered the response would deadlock here.
func TestServerSentEventsStream(t *testing.T) {
	const events = 3
	ack := make(chan int)
	up := mustServe(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := 1; i <= events; i++ {
			fmt.Fprintf(w, "data: event %d\n\n", i)
			http.NewResponseController(w).Flush()
			select {
			case <-ack:
			case <-r.Context().Done():
				return
			}
		}
	}))
	front := mustServe(t, mustProxy(t, up.URL, nil))
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", front.URL+"/events", nil)
	resp, err := client(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	for i := 1; i <= events; i++ {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("event %d did not arrive before the response ended: %v (the proxy buffers the stream)", i, err)
		}
		if want := fmt.Sprintf("data: event %d\n", i); line != want {
			t.Fatalf("line %d = %q, want %q", i, line, want)
		}
		br.ReadString('\n') // blank line ending the event
		ack <- i
	}
}

func websocketAccept(key string) string {
	h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h[:])
}

// TestWebSocketUpgrade performs the RFC 6455 opening handshake through the proxy with
// net/http's Hijack on the upstream side, then sends bytes both ways over the upgraded
// connection (the framing layer is irrelevant to the proxy, which copies bytes).
func TestWebSocketUpgrade(t *testing.T) {
	upgradeSeen := make(chan http.Header, 1)
	up := mustServe(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") || !strings.Contains(strings.ToLower(r.Header.Get("Connection")), "upgrade") {
			http.Error(w, "expected a websocket upgrade", http.StatusBadRequest)
			return
		}
		upgradeSeen <- r.Header.Clone()
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("upstream Hijack: %v", err)
			return
		}
		defer conn.Close()
		fmt.Fprintf(brw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
			websocketAccept(r.Header.Get("Sec-WebSocket-Key")))
		brw.WriteString("hello from upstream\n")
		brw.Flush()
		for {
			line, err := brw.ReadString('\n')
			if err != nil {
				return
			}
			brw.WriteString(strings.ToUpper(line))
			brw.Flush()
		}
	}))
	front := mustServe(t, mustProxy(t, up.URL, nil))

	c, err := net.Dial("tcp", front.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const key = "dGhlIHNhbXBsZSBub25jZQ=="
	fmt.Fprintf(c, "GET /socket HTTP/1.1\r\nHost: client.example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"+
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: %s\r\nX-Forwarded-For: 6.6.6.6\r\n\r\n", key)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: "GET"})
	if err != nil {
		t.Fatalf("read handshake response: %v", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake status = %s, want 101", resp.Status)
	}
	if got, want := resp.Header.Get("Sec-WebSocket-Accept"), websocketAccept(key); got != want {
		t.Errorf("Sec-WebSocket-Accept = %q, want %q", got, want)
	}
	h := wait(t, upgradeSeen, "upgrade request reaching the upstream")
	if got := h.Get("X-Forwarded-For"); got != "127.0.0.1" {
		t.Errorf("upstream X-Forwarded-For on upgrade = %q, want 127.0.0.1", got)
	}
	if got := h.Get("Sec-Websocket-Key"); got != key {
		t.Errorf("upstream Sec-WebSocket-Key = %q, want %q", got, key)
	}

	if line, err := br.ReadString('\n'); err != nil || line != "hello from upstream\n" {
		t.Fatalf("first message from upstream = %q, %v", line, err)
	}
	big := strings.Repeat("abcdefgh", 64<<10) + "\n" // 512 KiB, more than any buffer on the way
	for _, msg := range []string{"ping\n", big} {
		if _, err := io.WriteString(c, msg); err != nil {
			t.Fatalf("write %d bytes upstream: %v", len(msg), err)
		}
		line, err := br.ReadString('\n')
		if err != nil || line != strings.ToUpper(msg) {
			t.Fatalf("echo of %d bytes: got %d bytes, %v", len(msg), len(line), err)
		}
	}
}

// TestUnsafeUpgradesStripped: an upstream that would switch to h2c if asked never sees the
// request to, so no HTTP/2 tunnel opens behind the proxy (SECURITY.md RQ-PRX-02); nor does
// an upgrade request that carries a body. The control case shows that a plain ReverseProxy
// forwards the h2c upgrade and the tunnel opens.
func TestUnsafeUpgradesStripped(t *testing.T) {
	h2cUpstream := func(t *testing.T) (*recorder, string) {
		up := mustRecorder(t)
		h2c := mustServe(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(strings.ToLower(r.Header.Get("Upgrade")), "h2c") {
				conn, brw, err := http.NewResponseController(w).Hijack()
				if err != nil {
					return
				}
				defer conn.Close()
				brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n")
				brw.Flush()
				return
			}
			up.Config.Handler.ServeHTTP(w, r)
		}))
		return up, h2c.URL
	}
	upgrades := []struct{ name, headers, body string }{
		{"h2c", "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n", ""},
		{"upper case", "Connection: upgrade\r\nUpgrade: H2C\r\n", ""},
		{"h2c listed after websocket", "Connection: Upgrade\r\nUpgrade: websocket, h2c\r\nHttp2_Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n", ""},
		{"websocket upgrade with a body", "Connection: Upgrade\r\nUpgrade: websocket\r\nContent-Length: 3\r\n", "abc"},
	}
	for _, tt := range upgrades {
		t.Run(tt.name, func(t *testing.T) {
			up, addr := h2cUpstream(t)
			front := mustServe(t, mustProxy(t, addr, nil))
			resps := rawExchange(t, front.Listener.Addr().String(),
				"GET /x HTTP/1.1\r\nHost: client.example\r\nConnection: close\r\n"+tt.headers+"\r\n"+tt.body)
			if len(resps) != 1 || resps[0].StatusCode != http.StatusOK {
				t.Fatalf("got %s, want one 200 (the upgrade must not happen)", status(resps))
			}
			reqs := up.requests()
			if len(reqs) != 1 {
				t.Fatalf("upstream saw %d plain requests, want 1", len(reqs))
			}
			for _, k := range []string{"Upgrade", "Connection", "Http2-Settings", "Http2_settings"} {
				if v, ok := reqs[0].Header[k]; ok {
					t.Errorf("upstream received %s: %q", k, v)
				}
			}
			if reqs[0].Body != tt.body {
				t.Errorf("upstream received body %q, want %q", reqs[0].Body, tt.body)
			}
		})
	}
	t.Run("control: plain ReverseProxy opens the tunnel", func(t *testing.T) {
		_, addr := h2cUpstream(t)
		u := mustURL(t, addr)
		front := mustServe(t, &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(u) }})
		resps := rawExchange(t, front.Listener.Addr().String(),
			"GET /x HTTP/1.1\r\nHost: client.example\r\nConnection: close\r\n"+upgrades[0].headers+"\r\n")
		if len(resps) != 1 || resps[0].StatusCode != http.StatusSwitchingProtocols {
			t.Errorf("plain ReverseProxy: got %s, want 101 (if this changed, net/http now strips h2c itself)", status(resps))
		}
	})
}

// Compile-time check that the package's pool satisfies what ReverseProxy expects.
var _ httputil.BufferPool = proxy.NewBufferPool()

// TestExpectContinue: the client's "Expect: 100-continue" reaches the app, the app's 100
// Continue reaches the client, and only then is the body sent and echoed.
func TestExpectContinue(t *testing.T) {
	up := mustServe(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Got-Expect", r.Header.Get("Expect"))
		io.Copy(w, r.Body) // reading the body makes net/http send 100 Continue
	}))
	front := mustServe(t, mustProxy(t, up.URL, nil))
	tr := &http.Transport{DisableCompression: true, ExpectContinueTimeout: hangGuard}
	t.Cleanup(tr.CloseIdleConnections)
	got100 := false
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{Got100Continue: func() { got100 = true }})
	req, _ := http.NewRequestWithContext(ctx, "PUT", front.URL+"/upload", strings.NewReader("payload"))
	req.Header.Set("Expect", "100-continue")
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(t, resp.Body)
	resp.Body.Close()
	if !got100 {
		t.Error("client never received 100 Continue")
	}
	if got := resp.Header.Get("X-Got-Expect"); got != "100-continue" {
		t.Errorf("upstream Expect = %q, want 100-continue", got)
	}
	if body != "payload" {
		t.Errorf("echo = %q, want payload", body)
	}
}
