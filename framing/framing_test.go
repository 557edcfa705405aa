package framing

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// mustServe runs Guard(handler) on a framing.Listener and counts the requests handler gets.
func mustServe(t *testing.T, wrap bool) (addr string, served *atomic.Int32) {
	t.Helper()
	served = new(atomic.Int32)
	srv := httptest.NewUnstartedServer(Guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		served.Add(1)
		io.WriteString(w, "ok "+r.URL.Path)
	})))
	if wrap {
		srv.Listener = Listener(srv.Listener)
	}
	srv.Config.ConnContext = ConnContext
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String(), served
}

func exchange(t *testing.T, addr, payload string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, payload)
	b, _ := io.ReadAll(c)
	return string(b)
}

const hidden = "GET /hidden HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"

func TestGuard(t *testing.T) {
	tests := []struct {
		name       string
		wrap       bool
		payload    string
		wantServed int32
		wantFirst  string
	}{
		{"HTTP/1.0 with Transfer-Encoding and Content-Length", true,
			"POST /a HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + hidden, 0, "HTTP/1.0 400"},
		{"any case, behind a decoy head in the body: every matching head is checked", true,
			"POST /a HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 38\r\n\r\nPOST /a HTTP/1.0\r\nContent-Length: 0\r\n\r\n" +
				"POST /a HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 5\r\nTRANSFER-ENCODING: chunked\r\n\r\n0\r\n\r\n" + hidden, 0, "HTTP/1.0 400"},
		{"plain HTTP/1.0 keep-alive", true, "GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" + hidden, 2, "HTTP/1.0 200"},
		{"head out of sight (TLS): served, then closed", false, "POST /a HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + hidden, 1, "HTTP/1.0 200"},
		{"HTTP/1.1 untouched", true, "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 2, "HTTP/1.1 200"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, served := mustServe(t, tt.wrap)
			resp := exchange(t, addr, tt.payload)
			if !strings.HasPrefix(resp, tt.wantFirst) {
				t.Errorf("first answer %q, want %s", resp, tt.wantFirst)
			}
			if got := served.Load(); got != tt.wantServed {
				t.Errorf("handler served %d requests, want %d:\n%s", got, tt.wantServed, resp)
			}
			if strings.Contains(resp, "ok /hidden") && tt.wantServed < 2 {
				t.Errorf("the hidden request was served:\n%s", resp)
			}
		})
	}
}

func TestKeepIsBounded(t *testing.T) {
	c := &conn{}
	for range 100 {
		c.keep(make([]byte, 4096))
	}
	c.keep([]byte("end"))
	if len(c.kept) > maxKept || !strings.HasSuffix(string(c.kept), "end") {
		t.Errorf("kept %d bytes ending %q, want at most %d ending with the newest", len(c.kept), c.kept[len(c.kept)-3:], maxKept)
	}
	c.keep(make([]byte, 2*maxKept))
	if len(c.kept) != maxKept {
		t.Errorf("after one huge read kept %d bytes, want %d", len(c.kept), maxKept)
	}
}
