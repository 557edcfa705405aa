package proxy

import (
	"net"
	"net/http"
	"net/http/httputil"
	"sync"
	"time"
)

// NewTransport returns the *http.Transport a [Proxy] uses when [Options.Transport] is nil,
// tuned for one upstream on the same host or network. Each setting, and why:
//
//   - Proxy: nil. HTTP_PROXY and friends are for outbound Internet traffic; honouring them
//     would silently route the app's traffic, cookies and all, through another machine.
//   - Protocols: HTTP/1.1 only. Legacy apps speak it, WebSocket upgrades need it, and it
//     keeps framing on the upstream side simple and identical for every request.
//   - DialContext: 5 s connect timeout (a LAN or loopback connect never legitimately takes
//     that long; a black-holed app should get the 504 page, not a hung browser) and 30 s
//     TCP keep-alive probes so dead pooled connections are noticed.
//   - TLSHandshakeTimeout: 10 s, for https upstreams, for the same reason.
//   - MaxIdleConns / MaxIdleConnsPerHost: 128. The default of 2 per host means that with 64
//     concurrent clients, 62 upstream connections are closed after every burst and reopened
//     on the next, costing a handshake per request and piling up TIME_WAIT sockets. The
//     pool only grows to the peak concurrency actually seen. The Proxy's direct path for
//     body-less GET and HEAD (direct.go) keeps a pool of its own with the same bound, so an
//     app sees up to twice as many idle keep-alive connections under mixed traffic.
//   - MaxConnsPerHost: 0 (no cap). Long polls and streams each hold a connection; a cap
//     would queue unrelated requests behind them.
//   - IdleConnTimeout: 1 s. Under load connections are never idle that long, so pooling is
//     unaffected; when traffic is sparse, closing first avoids the race in which the app
//     closes an idle connection (gunicorn's keep-alive is 2 s, Node's 5 s) just as a request
//     is written to it, which for a non-idempotent request surfaces as a 502.
//   - ResponseHeaderTimeout: 0 (none). Long polls and slow reports are legitimate; the
//     client's own disconnect cancels the upstream request.
//   - ExpectContinueTimeout: 1 s. A client's "Expect: 100-continue" is forwarded, and the
//     app gets a second to refuse a large upload before its body is sent.
//   - DisableCompression: true. Otherwise the Transport adds its own Accept-Encoding: gzip
//     when the client sent none and transparently decompresses; the app must see the
//     client's Accept-Encoding and the client must get the app's bytes.
//   - MaxResponseHeaderBytes: 1 MiB (the default is 10 MiB); no sane app sends more, and it
//     bounds memory per connection.
//   - Read/WriteBufferSize: default 4 KiB. Large bodies bypass the buffers when reads and
//     writes are bigger than them, and every pooled connection holds both, so bigger
//     buffers would cost resident memory without saving copies.
func NewTransport() *http.Transport {
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	return &http.Transport{
		Proxy:                  nil,
		Protocols:              &protocols,
		DialContext:            (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:    10 * time.Second,
		MaxIdleConns:           128,
		MaxIdleConnsPerHost:    128,
		MaxConnsPerHost:        0,
		IdleConnTimeout:        1 * time.Second,
		ResponseHeaderTimeout:  0,
		ExpectContinueTimeout:  1 * time.Second,
		DisableCompression:     true,
		MaxResponseHeaderBytes: 1 << 20,
	}
}

// bufferSize matches io.Copy's default and ReverseProxy's own: large enough that a body
// copy costs few syscalls, small enough that thousands of streams stay cheap.
const bufferSize = 32 << 10

// NewBufferPool returns the [httputil.BufferPool] a [Proxy] copies bodies with: 32 KiB
// buffers recycled through a sync.Pool. Without one, ReverseProxy allocates a fresh 32 KiB
// buffer for every response. It is exported so that benchmarks can give a bare ReverseProxy
// the same pool.
func NewBufferPool() httputil.BufferPool { return new(bufferPool) }

// bufferPool stores array pointers rather than slices: putting a slice into a sync.Pool
// boxes its header, one allocation per Put, which is what the pool is there to avoid.
type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() []byte {
	if buf, ok := b.p.Get().(*[bufferSize]byte); ok {
		return buf[:]
	}
	return new([bufferSize]byte)[:]
}

func (b *bufferPool) Put(buf []byte) {
	if cap(buf) < bufferSize {
		return
	}
	b.p.Put((*[bufferSize]byte)(buf[:bufferSize]))
}
