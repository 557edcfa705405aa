package proxy_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// TestSmuggling sends requests with ambiguous framing on raw TCP, each hiding a second
// request ("GET /smuggled") that a parser with the other reading of the framing would see,
// and checks that the upstream receives at most the one request the client sent, never the
// hidden one, and that the client connection is closed afterwards (SECURITY.md RQ-PRX-02).
//
// What net/http's server does with each (Go 1.26), which the wantStatus column pins down:
//   - Content-Length and Transfer-Encoding: chunked together: Transfer-Encoding wins and
//     Content-Length is dropped (RFC 9112 §6.3), but the connection is kept open and the bytes
//     after the last chunk are parsed as the next request. Proxy.ServeHTTP closes the
//     connection after every chunked request, so those bytes are never parsed.
//   - Several Content-Length fields: identical values are merged; different values, or a
//     list in one field, are a 400.
//   - Any Transfer-Encoding other than exactly one "chunked" (case-insensitive, surrounding
//     whitespace allowed) is a 501; a space before the colon is a 400. Transfer-Encoding is
//     ignored on HTTP/1.0 requests, which then use Content-Length.
//
// On the upstream side the Transport always writes exactly one of Content-Length or
// Transfer-Encoding, which the test checks on the raw bytes the upstream read.
func TestSmuggling(t *testing.T) {
	const hidden = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
	withCL := func(head, body string) string {
		return head + "Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
	}
	tests := []struct {
		name       string
		raw        string
		wantStatus int
		wantBody   string // body the upstream must receive for POST /a; ignored when no request is expected
		wantNoReq  bool   // the upstream must see no request at all
	}{
		{
			name:       "CL.TE: Content-Length covers a request after the last chunk",
			raw:        withCL("POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n"+hidden),
			wantStatus: http.StatusOK, wantBody: "",
		},
		{
			name: "CL.TE with Content-Length first",
			raw: "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: " + strconv.Itoa(len("0\r\n\r\n"+hidden)) +
				"\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + hidden,
			wantStatus: http.StatusOK, wantBody: "",
		},
		{
			name: "TE.CL: short Content-Length, request inside the chunk",
			raw: "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n" +
				strconv.FormatInt(int64(len(hidden)), 16) + "\r\n" + hidden + "\r\n0\r\n\r\n",
			wantStatus: http.StatusOK, wantBody: hidden,
		},
		{
			name:       "duplicate Content-Length with different values",
			raw:        "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: " + strconv.Itoa(len(hidden)) + "\r\n\r\n" + hidden,
			wantStatus: http.StatusBadRequest, wantNoReq: true,
		},
		{
			name:       "duplicate identical Content-Length",
			raw:        "POST /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
			wantStatus: http.StatusOK, wantBody: "hello",
		},
		{
			name:       "Content-Length list in one field",
			raw:        "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 0, " + strconv.Itoa(len(hidden)) + "\r\n\r\n" + hidden,
			wantStatus: http.StatusBadRequest, wantNoReq: true,
		},
		{
			name:       "signed Content-Length",
			raw:        "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: +" + strconv.Itoa(len(hidden)) + "\r\n\r\n" + hidden,
			wantStatus: http.StatusBadRequest, wantNoReq: true,
		},
		{
			name:       "obfuscated TE: xchunked",
			raw:        withCL("POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n", "0\r\n\r\n"+hidden),
			wantStatus: http.StatusNotImplemented, wantNoReq: true,
		},
		{
			name:       "obfuscated TE: chunked, identity",
			raw:        withCL("POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n", "0\r\n\r\n"+hidden),
			wantStatus: http.StatusNotImplemented, wantNoReq: true,
		},
		{
			name:       "obfuscated TE: two fields",
			raw:        withCL("POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n", "0\r\n\r\n"+hidden),
			wantStatus: http.StatusNotImplemented, wantNoReq: true,
		},
		{
			name:       "obfuscated TE: space before colon",
			raw:        withCL("POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n", "0\r\n\r\n"+hidden),
			wantStatus: http.StatusBadRequest, wantNoReq: true,
		},
		{
			name:       "obfuscated TE: line folding",
			raw:        withCL("POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: x\r\n chunked\r\n", "0\r\n\r\n"+hidden),
			wantStatus: http.StatusNotImplemented, wantNoReq: true,
		},
		{
			name:       "obfuscated TE: tab and upper case still mean chunked",
			raw:        withCL("POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\tCHUNKED \r\n", "0\r\n\r\n"+hidden),
			wantStatus: http.StatusOK, wantBody: "",
		},
		{
			name:       "HTTP/1.0 ignores TE and uses Content-Length",
			raw:        withCL("POST /a HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n"+hidden),
			wantStatus: http.StatusOK, wantBody: "0\r\n\r\n" + hidden,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := mustRecorder(t)
			front := mustServe(t, mustProxy(t, up.URL, nil))
			resps := rawExchange(t, front.Listener.Addr().String(), tt.raw)
			if len(resps) != 1 {
				t.Fatalf("client got %d responses, want 1 and the connection closed", len(resps))
			}
			if resps[0].StatusCode != tt.wantStatus {
				t.Errorf("status = %s, want %d", resps[0].Status, tt.wantStatus)
			}

			reqs := up.requests()
			for _, r := range reqs {
				if strings.Contains(r.RequestURI, "smuggled") {
					t.Errorf("upstream received the hidden request %s %s", r.Method, r.RequestURI)
				}
			}
			if tt.wantNoReq {
				if len(reqs) != 0 {
					t.Errorf("upstream saw %d requests, want none", len(reqs))
				}
				return
			}
			if len(reqs) != 1 {
				t.Fatalf("upstream saw %d requests, want 1", len(reqs))
			}
			if r := reqs[0]; r.Method != "POST" || r.RequestURI != "/a" || r.Body != tt.wantBody {
				t.Errorf("upstream saw %s %s with body %q, want POST /a with body %q", r.Method, r.RequestURI, r.Body, tt.wantBody)
			}
			head, _, _ := strings.Cut(strings.ToLower(up.rawBytes()), "\r\n\r\n")
			if cl, te := strings.Count(head, "\ncontent-length:"), strings.Count(head, "\ntransfer-encoding:"); cl+te > 1 {
				t.Errorf("upstream request head has %d Content-Length and %d Transfer-Encoding fields, want at most one in all:\n%s", cl, te, head)
			}
		})
	}
}
