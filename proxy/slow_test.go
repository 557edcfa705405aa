package proxy_test

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"resetgate/minrate"
	"resetgate/proxy"
)

// tight are limits small enough for tests: a second to start, 1000 B/s, a second of silence.
var tight = minrate.Limits{Initial: time.Second, MinRate: 1000, Idle: time.Second}

// TestTrickledBodyIsCut: a body that keeps sending, but below the minimum rate, is cut, and
// the app's handler sees its body end in an error rather than waiting for ever.
func TestTrickledBodyIsCut(t *testing.T) {
	for _, tt := range []struct {
		name  string
		gap   time.Duration // between single bytes
		burst int           // bytes sent at once first, to bank credit
	}{
		{"one byte every 200 ms (5 B/s, well under 1000)", 200 * time.Millisecond, 0},
		{"fast start, then a trickle: banked credit drains", 200 * time.Millisecond, 64 << 10},
		{"silent after the headers", time.Hour, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			bodyErr := make(chan error, 1)
			up := mustServe(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, err := io.Copy(io.Discard, r.Body)
				bodyErr <- err
			}))
			front := mustServe(t, mustProxy(t, up.URL, func(o *proxy.Options) { o.Slow = tight }))
			conn, err := net.Dial("tcp", front.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			io.WriteString(conn, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\n")
			conn.Write(make([]byte, tt.burst))
			stop := make(chan struct{})
			defer close(stop)
			go func() {
				for {
					select {
					case <-stop:
						return
					case <-time.After(tt.gap):
						if _, err := conn.Write([]byte("a")); err != nil {
							return
						}
					}
				}
			}()
			select {
			case err := <-bodyErr:
				if err == nil {
					t.Errorf("the app read the whole body without error")
				}
			case <-time.After(time.Minute): // bounds the test only
				t.Fatal("the trickled body was never cut")
			}
		})
	}
}

// TestSlowReaderIsCut: a client that stops reading a large response loses its connection,
// and the app's writes end, instead of the proxy waiting on it for ever.
func TestSlowReaderIsCut(t *testing.T) {
	writeErr := make(chan error, 1)
	up := mustServe(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := []byte(strings.Repeat("x", 32<<10))
		for {
			if _, err := w.Write(chunk); err != nil {
				writeErr <- err
				return
			}
		}
	}))
	front := mustServe(t, mustProxy(t, up.URL, func(o *proxy.Options) { o.Slow = tight }))
	conn, err := net.Dial("tcp", front.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET /endless HTTP/1.1\r\nHost: x\r\n\r\n")
	select {
	case <-writeErr:
	case <-time.After(time.Minute): // bounds the test only
		t.Fatal("a client that reads nothing held the response for a minute")
	}
}

// TestQuietStreamNotCut: a response that is silent between events longer than Idle, to a
// client that reads everything, is not cut: only a write under way can miss its deadline.
func TestQuietStreamNotCut(t *testing.T) {
	up := mustServe(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range 3 {
			io.WriteString(w, "data: "+string(rune('a'+i))+"\n\n")
			http.NewResponseController(w).Flush()
			time.Sleep(2 * tight.Idle)
		}
	}))
	front := mustServe(t, mustProxy(t, up.URL, func(o *proxy.Options) { o.Slow = tight }))
	resp, err := client(t).Get(front.URL + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || string(b) != "data: a\n\ndata: b\n\ndata: c\n\n" {
		t.Errorf("quiet stream: got %q, %v; want all three events", b, err)
	}
}
