package attack

import (
	"strings"
	"testing"
	"time"
)

// RQ-PRX-07, RQ-PRX-02: an HTTP/1.0 request with both Transfer-Encoding and Content-Length is
// refused (400) and its connection closed, so the bytes behind it are never read as another
// request, whether it was meant for the app or for resetgate's pages. net/http ignores
// Transfer-Encoding on HTTP/1.0 (framing by Content-Length) and removes it before any handler
// runs, so the HTTP/1.1 guard never saw it; with "Connection: keep-alive" the tail was served
// as a second request. Issue 16, finding 3; RFC 9112 §6.1 ("MUST treat the message as if the
// framing is faulty ... and close the connection"). A plain HTTP/1.0 keep-alive exchange
// still works.
func TestHTTP10TransferEncodingRefused(t *testing.T) {
	t.Parallel()
	w := newWorld(t, setup{})
	hidden := "GET /smuggled HTTP/1.0\r\nHost: app.example\r\nConnection: keep-alive\r\n\r\n"
	for _, tt := range []struct{ name, te string }{
		{"chunked", "Transfer-Encoding: chunked\r\n"},
		{"lower case", "transfer-encoding: chunked\r\n"},
		{"identity", "Transfer-Encoding: identity\r\n"},
	} {
		for _, path := range []string{"/app/upload", "/pwreset"} {
			payload := "POST " + path + " HTTP/1.0\r\nHost: app.example\r\nConnection: keep-alive\r\n" +
				"Content-Type: application/x-www-form-urlencoded\r\nSec-Fetch-Site: same-origin\r\n" +
				"Content-Length: 5\r\n" + tt.te + "\r\n0\r\n\r\n" + hidden
			resp := rawRequestFor(w.base, payload, 5*time.Second)
			if !strings.HasPrefix(resp, "HTTP/1.0 400") && !strings.HasPrefix(resp, "HTTP/1.1 400") {
				t.Errorf("%s to %s answered %q, want 400", tt.name, path, firstLine(resp))
			}
			if n := strings.Count("\n"+resp, "\nHTTP/1."); n > 1 {
				t.Errorf("%s to %s: %d responses on one connection (the hidden request was served):\n%s", tt.name, path, n, resp)
			}
		}
	}
	for _, r := range w.up.requests() {
		t.Errorf("the app received %s %s from an HTTP/1.0 request with Transfer-Encoding", r.Method, r.URI)
	}

	// Control: without Transfer-Encoding, HTTP/1.0 keep-alive carries two requests.
	two := "GET /app/one HTTP/1.0\r\nHost: app.example\r\nConnection: keep-alive\r\n\r\n" +
		"GET /app/two HTTP/1.0\r\nHost: app.example\r\n\r\n"
	resp := rawRequestFor(w.base, two, 5*time.Second)
	if n := strings.Count("\n"+resp, "\nHTTP/1.0 200"); n != 2 {
		t.Errorf("two plain HTTP/1.0 keep-alive requests got %d answers of 200:\n%s", n, resp)
	}
}
