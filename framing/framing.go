// Package framing refuses HTTP/1.0 requests whose framing net/http resolves silently: one
// with a Transfer-Encoding header is framed by its Content-Length, and the header is removed
// before any handler runs, so a handler cannot see that the request was ambiguous. RFC 9112
// §6.1 says such a message "MUST [be treated] as if the framing is faulty, even if a
// Content-Length is present, and close the connection after processing the message";
// otherwise a front end that frames it by Transfer-Encoding disagrees with resetgate about
// where the next request starts (SECURITY.md RQ-PRX-07, issue 16 finding 3).
//
// [Listener] keeps the raw bytes of request heads as the server reads them; [Guard], the
// outermost handler, finds the head of each HTTP/1.0 request among them and answers 400 with
// Connection: close when it holds Transfer-Encoding. When the head cannot be found (it was
// read together with an earlier request's body, or the connection is TLS, whose plaintext
// the listener never sees), the request is served but its connection is closed after the
// answer, so nothing behind it is ever parsed. HTTP/1.1 and HTTP/2 requests are left to
// net/http and the guards in web and proxy. The package knows nothing of resets or the app.
package framing

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"sync"
)

// maxKept bounds the raw bytes kept per connection: a full header block (resetgate allows
// 64 KiB) plus one read of the server's 4 KiB buffer.
const maxKept = 64<<10 + 8<<10

// Listener wraps ln so that [Guard] can inspect the heads of HTTP/1.0 requests. Pass the
// returned listener's connections to [ConnContext] through http.Server.ConnContext.
func Listener(ln net.Listener) net.Listener { return listener{ln} }

type listener struct{ net.Listener }

func (l listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &conn{Conn: c, armed: true}, nil
}

// conn records what the server reads while it is between requests (armed): from the
// connection's start until a handler starts, and again from when a handler returns. Body
// bytes, read while a handler runs, are not copied, except the one-byte reads with which
// net/http watches for the next request (or the client going away) once a body is done: that
// byte is the next request line's first.
type conn struct {
	net.Conn
	mu    sync.Mutex
	armed bool
	kept  []byte
}

func (c *conn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.mu.Lock()
		if c.armed || n == 1 {
			c.keep(p[:n])
		}
		c.mu.Unlock()
	}
	return n, err
}

// keep appends b, dropping the oldest bytes beyond maxKept.
func (c *conn) keep(b []byte) {
	if len(b) >= maxKept {
		c.kept = append(c.kept[:0], b[len(b)-maxKept:]...)
		return
	}
	if over := len(c.kept) + len(b) - maxKept; over > 0 {
		c.kept = c.kept[:copy(c.kept, c.kept[over:])]
	}
	c.kept = append(c.kept, b...)
}

type connKey struct{}

// ConnContext is an http.Server.ConnContext that makes the connection known to [Guard].
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	if fc, ok := c.(*conn); ok {
		return context.WithValue(ctx, connKey{}, fc)
	}
	return ctx
}

// Guard refuses HTTP/1.0 requests with Transfer-Encoding (see the package comment) and
// passes everything else to next.
func Guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := r.Context().Value(connKey{}).(*conn)
		if c != nil {
			c.mu.Lock()
			var found, te bool
			if r.ProtoMajor == 1 && r.ProtoMinor == 0 {
				found, te = inspect(c.kept, r)
			}
			c.kept, c.armed = c.kept[:0], false
			c.mu.Unlock()
			defer func() {
				c.mu.Lock()
				c.armed = true
				c.mu.Unlock()
			}()
			if te {
				w.Header().Set("Connection", "close")
				http.Error(w, "Bad Request: Transfer-Encoding is not allowed in this protocol version", http.StatusBadRequest)
				return
			}
			if found {
				next.ServeHTTP(w, r)
				return
			}
		}
		if r.ProtoMajor == 1 && r.ProtoMinor == 0 {
			// The head is out of sight: serve the request, but read nothing after it.
			w.Header().Set("Connection", "close")
		}
		next.ServeHTTP(w, r)
	})
}

// inspect looks in kept for the heads that start with r's request line and reports whether
// there is one, and whether any of them has a Transfer-Encoding field. Every match is
// checked: bytes before the real head (a previous body) could carry a decoy head, and a
// false alarm only refuses the sender's own request.
func inspect(kept []byte, r *http.Request) (found, te bool) {
	line := r.Method + " " + r.RequestURI + " " + r.Proto
	rest := kept
	for {
		i := bytes.Index(rest, []byte(line))
		if i < 0 {
			return found, te
		}
		head := rest[i+len(line):]
		if len(head) == 0 || head[0] != '\r' && head[0] != '\n' {
			rest = head
			continue
		}
		found = true
		end := bytes.Index(head, []byte("\n\r\n"))
		if e := bytes.Index(head, []byte("\n\n")); e >= 0 && (end < 0 || e < end) {
			end = e
		}
		if end < 0 {
			end = len(head)
		}
		if hasTransferEncoding(head[:end]) {
			te = true
		}
		rest = head[end:]
	}
}

// hasTransferEncoding reports whether a header block (lines after the request line) has a
// field named Transfer-Encoding, in any case.
func hasTransferEncoding(block []byte) bool {
	const name = "transfer-encoding"
	for len(block) > 0 {
		var l []byte
		if i := bytes.IndexByte(block, '\n'); i >= 0 {
			l, block = block[:i], block[i+1:]
		} else {
			l, block = block, nil
		}
		l = bytes.TrimLeft(l, "\r\n")
		if len(l) > len(name) && bytes.EqualFold(l[:len(name)], []byte(name)) {
			if rest := bytes.TrimLeft(l[len(name):], " \t"); len(rest) > 0 && rest[0] == ':' {
				return true
			}
		}
	}
	return false
}
