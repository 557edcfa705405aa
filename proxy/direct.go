package proxy

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"sync"
	"time"
)

// directTransport sends the requests that make up most of an app's traffic, GET and HEAD
// without a body to a plain-HTTP upstream, over its own pool of HTTP/1.1 connections, on the
// calling goroutine. Everything else (bodies, upgrades, Expect, TLS upstreams) goes to
// fallback, the [http.Transport] of [NewTransport].
//
// http.Transport serves every request with two goroutines per connection, one writing and
// one reading, and hands each request and response between them and the caller through
// channels; on a proxy whose upstream answers in microseconds those hand-offs (channel
// operations, selects, wake-ups) were 8–10 % of the CPU per request (issue 17). A body-less
// request needs none of that: write it, read the answer, hand the connection back once the
// body has been read. Requests are written with [http.Request.Write], as the Transport writes
// them, and responses read with [http.ReadResponse], so the bytes on the wire are the same.
//
// It keeps the Transport's rules where they matter for such requests: responses' 1xx are
// passed to the client trace (ReverseProxy forwards 103 Early Hints through it); headers are
// bounded by maxHeaderBytes; a connection is reused only after its response was read to the
// end, without Connection: close, and closed after idleTimeout unused; a request that fails
// on a reused connection before any byte of an answer arrived (the app closed it while it was
// idle) is sent once more on a new one, which GET and HEAD allow; the request's context
// cancels the exchange at any point.
type directTransport struct {
	fallback       *http.Transport
	dial           func(ctx context.Context, network, addr string) (net.Conn, error)
	idleTimeout    time.Duration
	maxIdle        int
	maxHeaderBytes int64

	mu     sync.Mutex
	idle   map[string][]*directConn // by host:port, most recently used last
	reaper *time.Timer
}

// newDirectTransport wraps fallback, taking its dialer and limits.
func newDirectTransport(fallback *http.Transport) *directTransport {
	dial := fallback.DialContext
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	return &directTransport{
		fallback:       fallback,
		dial:           dial,
		idleTimeout:    fallback.IdleConnTimeout,
		maxIdle:        fallback.MaxIdleConnsPerHost,
		maxHeaderBytes: fallback.MaxResponseHeaderBytes,
		idle:           map[string][]*directConn{},
	}
}

// direct reports whether req can take the direct path.
func direct(req *http.Request) bool {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		return false
	}
	if req.URL.Scheme != "http" || (req.Body != nil && req.Body != http.NoBody) || req.ContentLength != 0 {
		return false
	}
	h := req.Header
	return len(h["Upgrade"]) == 0 && len(h["Expect"]) == 0 && len(req.TransferEncoding) == 0
}

func (t *directTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !direct(req) {
		return t.fallback.RoundTrip(req)
	}
	addr := req.URL.Host
	if req.URL.Port() == "" {
		addr = net.JoinHostPort(req.URL.Hostname(), "80")
	}
	ctx := req.Context()
	for {
		c, err := t.get(ctx, addr)
		if err != nil {
			return nil, err
		}
		resp, err := c.roundTrip(ctx, req)
		if err == nil {
			return resp, nil
		}
		c.close()
		if !c.reused || c.received > 0 || ctx.Err() != nil {
			return nil, err
		}
		// The app closed this pooled connection while it was idle; nothing was answered, and
		// the loop dials a new one (t.get reuses idle ones only while they are fresh).
	}
}

// CloseIdleConnections closes both transports' idle connections.
func (t *directTransport) CloseIdleConnections() {
	t.mu.Lock()
	idle := t.idle
	t.idle = map[string][]*directConn{}
	t.mu.Unlock()
	for _, cs := range idle {
		for _, c := range cs {
			c.close()
		}
	}
	t.fallback.CloseIdleConnections()
}

// get returns the most recently used idle connection to addr that is still fresh and quiet,
// or a new one.
//
// Quiet: nothing has arrived on it since its last response ended. http.Transport reads every
// idle connection all the time and drops one on which anything arrives; here, where nothing
// reads an idle connection, one look before reuse (a non-blocking peek) does the same. Bytes
// on an idle connection answer nothing that was asked (a 408 the app sends before closing, or
// the late body of a response to HEAD that the app wrote anyway), and taken for the next
// request's answer they would give one visitor a response meant for no one, or chosen by
// another (response-queue poisoning). A connection the app has closed is dropped the same way,
// before a request is wasted on it.
func (t *directTransport) get(ctx context.Context, addr string) (*directConn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	now := time.Now()
	for {
		t.mu.Lock()
		cs := t.idle[addr]
		n := len(cs)
		if n == 0 {
			t.mu.Unlock()
			break
		}
		c := cs[n-1]
		t.idle[addr] = cs[:n-1]
		t.mu.Unlock()
		if t.idleTimeout > 0 && now.Sub(c.idleSince) >= t.idleTimeout {
			c.close() // the freshest is stale, so all are; the reaper takes the rest
			break
		}
		if c.br.Buffered() == 0 && quiet(c.conn) {
			c.reused = true
			return c, nil
		}
		c.close()
	}
	nc, err := t.dial(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	c := &directConn{t: t, addr: addr, conn: nc}
	c.br = bufio.NewReader(countingReader{c})
	c.bw = bufio.NewWriter(nc)
	return c, nil
}

// put returns c to the pool, or closes it if the pool is full.
func (t *directTransport) put(c *directConn) {
	c.idleSince = time.Now()
	t.mu.Lock()
	cs := t.idle[c.addr]
	// Bytes after the response's end are no answer to anything: the connection is out of step.
	if c.br.Buffered() > 0 || (t.maxIdle > 0 && len(cs) >= t.maxIdle) {
		t.mu.Unlock()
		c.close()
		return
	}
	t.idle[c.addr] = append(cs, c)
	if t.idleTimeout > 0 && t.reaper == nil {
		t.reaper = time.AfterFunc(t.idleTimeout, t.reap)
	}
	t.mu.Unlock()
}

// reap closes the connections idle for longer than idleTimeout, and runs again while any
// remain.
func (t *directTransport) reap() {
	now := time.Now()
	var stale []*directConn
	next := time.Duration(-1) // until the oldest connection left goes stale
	t.mu.Lock()
	for addr, cs := range t.idle {
		n := 0
		for n < len(cs) && now.Sub(cs[n].idleSince) >= t.idleTimeout {
			n++
		}
		stale = append(stale, cs[:n]...)
		t.idle[addr] = append(cs[:0], cs[n:]...)
		if len(t.idle[addr]) == 0 {
			delete(t.idle, addr)
			continue
		}
		if left := t.idleTimeout - now.Sub(t.idle[addr][0].idleSince); next < 0 || left < next {
			next = left
		}
	}
	if next >= 0 {
		t.reaper.Reset(next)
	} else {
		t.reaper = nil
	}
	t.mu.Unlock()
	for _, c := range stale {
		c.close()
	}
}

// directConn is one pooled upstream connection.
type directConn struct {
	t         *directTransport
	addr      string
	conn      net.Conn
	br        *bufio.Reader
	bw        *bufio.Writer
	reused    bool      // it served a request before this one
	received  int64     // bytes read during this exchange
	limit     int64     // > 0: reading more than this many bytes of a head is an error
	idleSince time.Time // when it went back to the pool
}

// errHeadTooLarge is the error for a response head beyond maxHeaderBytes, as the Transport's.
var errHeadTooLarge = errors.New("net/http: server response headers exceeded the limit")

// countingReader counts what a directConn reads and enforces the head limit.
type countingReader struct{ c *directConn }

func (r countingReader) Read(p []byte) (int, error) {
	c := r.c
	if c.limit > 0 {
		if c.received >= c.limit {
			return 0, errHeadTooLarge
		}
		p = p[:min(int64(len(p)), c.limit-c.received)]
	}
	n, err := c.conn.Read(p)
	c.received += int64(n)
	return n, err
}

// aLongTimeAgo is a deadline that has passed: setting it makes blocked reads and writes
// return at once.
var aLongTimeAgo = time.Unix(1, 0)

// roundTrip writes req and reads its response head; the body is read by the caller, and
// the connection goes back to the pool once it has been read to its end.
func (c *directConn) roundTrip(ctx context.Context, req *http.Request) (*http.Response, error) {
	c.received = 0
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { c.conn.SetDeadline(aLongTimeAgo) })
	if err := req.Write(c.bw); err != nil {
		stop()
		return nil, err
	}
	if err := c.bw.Flush(); err != nil {
		stop()
		return nil, ctxErr(ctx, err)
	}
	trace := httptrace.ContextClientTrace(ctx)
	var resp *http.Response
	for interim := 0; ; interim++ {
		if c.t.maxHeaderBytes > 0 {
			// Each head has the limit to itself. The bufio.Reader may have read into what
			// follows the head with it: its buffer counts in.
			c.limit = c.received - int64(c.br.Buffered()) + c.t.maxHeaderBytes + int64(c.br.Size())
		}
		var err error
		if resp, err = http.ReadResponse(c.br, req); err != nil {
			stop()
			return nil, ctxErr(ctx, err)
		}
		code := resp.StatusCode
		if code < 100 || code > 199 || code == http.StatusSwitchingProtocols {
			break
		}
		// A 1xx before the answer goes to the trace (ReverseProxy forwards it to the client),
		// as many as the app sends; without a trace to take them, at most 5, as the
		// Transport allows.
		if trace == nil || trace.Got1xxResponse == nil {
			if interim == 4 {
				stop()
				return nil, errors.New("net/http: too many 1xx informational responses")
			}
			continue
		}
		if err := trace.Got1xxResponse(code, textproto.MIMEHeader(resp.Header)); err != nil {
			stop()
			return nil, err
		}
	}
	c.limit = 0
	if resp.StatusCode == http.StatusSwitchingProtocols {
		stop()
		return nil, errors.New("net/http: 101 Switching Protocols to a request that asked for no upgrade")
	}
	b := &directBody{ctx: ctx, c: c, body: resp.Body, stop: stop, keep: !resp.Close && !req.Close}
	if resp.Body == http.NoBody {
		b.finish(true)
	}
	resp.Body = b
	return resp, nil
}

// ctxErr prefers the context's error to the one a cancelled exchange produced (a deadline
// in the past).
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return err
}

func (c *directConn) close() { c.conn.Close() }

// directBody is a response body read from a directConn; its end gives the connection back.
type directBody struct {
	ctx  context.Context
	c    *directConn
	body io.ReadCloser
	stop func() bool
	keep bool // the connection may be reused once the body is read
	mu   sync.Mutex
	done bool
}

func (b *directBody) Read(p []byte) (int, error) {
	n, err := b.body.Read(p)
	if err != nil {
		b.finish(err == io.EOF)
		if err != io.EOF {
			// A cancelled exchange ends in the deadline the cancellation set; say why it
			// was cancelled, as the Transport does (ReverseProxy logs no error for a client
			// that went away).
			err = ctxErr(b.ctx, err)
		}
	}
	return n, err
}

func (b *directBody) Close() error {
	b.finish(false)
	return nil
}

// finish ends the exchange once: the connection goes back to the pool when the body was read
// to its end, may be kept and the context's cancellation did not fire; otherwise it closes.
func (b *directBody) finish(complete bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		return
	}
	b.done = true
	cancelled := !b.stop()
	if complete && b.keep && !cancelled {
		b.c.t.put(b.c)
		return
	}
	b.c.close()
}
