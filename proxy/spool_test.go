package proxy_test

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"resetgate/proxy"
)

type arrival struct {
	length int64
	te     []string
	body   []byte
	err    error
}

// TestBufferedRequests: with BufferRequests the app is called only once the body is
// complete and gets it with a Content-Length (chunked bodies included), spooled to a temp
// file past 64 KiB and removed afterwards; a body over BufferMax streams as without it.
func TestBufferedRequests(t *testing.T) {
	for _, tt := range []struct {
		name     string
		size     int
		chunked  bool
		max      int64
		buffered bool
	}{
		{"small body, in memory", 1000, false, 1 << 20, true},
		{"chunked body, sent on with a length", 1000, true, 1 << 20, true},
		{"body over 64 KiB, spooled to a file", 300 << 10, false, 1 << 20, true},
		{"chunked body over buffer_max streams", 300 << 10, true, 100 << 10, false},
		{"Content-Length over buffer_max streams", 300 << 10, false, 100 << 10, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := make(chan arrival, 1)
			up := mustServe(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				a := arrival{length: r.ContentLength, te: r.TransferEncoding}
				a.body, a.err = io.ReadAll(r.Body)
				got <- a
			}))
			spool := t.TempDir()
			front := mustServe(t, mustProxy(t, up.URL, func(o *proxy.Options) {
				o.BufferRequests, o.BufferMax, o.SpoolDir = true, tt.max, spool
			}))
			conn, err := net.Dial("tcp", front.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			body := bytes.Repeat([]byte("0123456789abcdef"), tt.size/16)
			half := len(body) / 2
			var first, second []byte
			if tt.chunked {
				io.WriteString(conn, "POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
				first = append([]byte(strconv.FormatInt(int64(half), 16)+"\r\n"), append(body[:half:half], "\r\n"...)...)
				second = append([]byte(strconv.FormatInt(int64(len(body)-half), 16)+"\r\n"), append(body[half:], "\r\n0\r\n\r\n"...)...)
			} else {
				io.WriteString(conn, "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n\r\n")
				first, second = body[:half], body[half:]
			}
			conn.Write(first)
			if tt.buffered {
				select {
				case <-got:
					t.Fatal("the app was called before the whole body had arrived")
				case <-time.After(300 * time.Millisecond): // room for the wrong behaviour to show
				}
			}
			conn.Write(second)
			a := <-got
			if a.err != nil || !bytes.Equal(a.body, body) {
				t.Fatalf("the app read %d bytes (%v), want the %d sent", len(a.body), a.err, len(body))
			}
			if tt.buffered && (a.length != int64(len(body)) || a.te != nil) {
				t.Errorf("the app got Content-Length %d, Transfer-Encoding %v; want %d and none", a.length, a.te, len(body))
			}
			// The answer comes after the proxy's handler has returned and closed the spool.
			if _, err := http.ReadResponse(bufio.NewReader(conn), nil); err != nil {
				t.Fatal(err)
			}
			if left, _ := os.ReadDir(spool); len(left) != 0 {
				t.Errorf("the spool directory still holds %d file(s)", len(left))
			}
		})
	}
}
