package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	_ "net/http/pprof" // the bare proxy's -admin listener serves profiles; nothing else uses DefaultServeMux
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The upstream's routes. Each proxy forwards them unchanged.
const (
	pathPage   = "/page"   // 2 KiB of HTML with Content-Length: the headline request
	pathLogin  = "/login"  // a sign-in page: resetgate-features injects, tracks and wraps it
	pathMiB    = "/1m"     // 1 MiB with Content-Length
	pathStream = "/stream" // ?n=bytes of the deterministic stream, with Content-Length
	pathSink   = "/sink"   // reads the whole body, answers {"bytes":n,"sha256":…}
	pathEcho   = "/echo"   // answers at once and echoes the body while still reading it
)

// pageSize is the headline page's size: a typical small HTML page of a legacy app.
const pageSize = 2048

// streamSeed fixes the deterministic byte stream of the transfers, so that the harness can
// compute the expected SHA-256 without trusting the other end.
var streamSeed = [32]byte{'r', 'e', 's', 'e', 't', 'g', 'a', 't', 'e', '-', 'b', 'e', 'n', 'c', 'h'}

// newStream returns the deterministic byte stream every transfer sends: ChaCha8 from a fixed
// seed, incompressible and cheap (well over 1 GB/s).
func newStream() io.Reader { return rand.NewChaCha8(streamSeed) }

// sinkResult is what /sink answers: how much arrived and its hash.
type sinkResult struct {
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// htmlPage returns an HTML document of exactly n bytes.
func htmlPage(n int) []byte {
	head := "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Legacy app</title></head>\n<body><main>\n"
	tail := "</main></body></html>\n"
	var b strings.Builder
	b.WriteString(head)
	for i := 0; b.Len() < n-len(tail)-64; i++ {
		fmt.Fprintf(&b, "<p>Row %d of the legacy report, with some text.</p>\n", i)
	}
	for b.Len() < n-len(tail)-1 {
		b.WriteByte(' ')
	}
	b.WriteByte('\n')
	b.WriteString(tail)
	return []byte(b.String())
}

// upstreamHandler is the stand-in for the legacy app. Headers are prebuilt so that the
// upstream's own cost stays small; it is the same for every target.
func upstreamHandler() http.Handler {
	page := htmlPage(pageSize)
	mib := make([]byte, 1<<20)
	newStream().Read(mib)
	htmlHeaders := map[string][]string{
		"Content-Type":   {"text/html; charset=utf-8"},
		"Content-Length": {strconv.Itoa(len(page))},
	}
	mibHeaders := map[string][]string{
		"Content-Type":   {"application/octet-stream"},
		"Content-Length": {strconv.Itoa(len(mib))},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+pathPage, func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		for k, v := range htmlHeaders {
			h[k] = v
		}
		w.Write(page)
	})
	mux.HandleFunc(pathLogin, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			http.SetCookie(w, &http.Cookie{Name: "session", Value: "bench-session", Path: "/", HttpOnly: true})
			http.Redirect(w, r, pathPage, http.StatusSeeOther)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, loginPage)
	})
	mux.HandleFunc("GET "+pathMiB, func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		for k, v := range mibHeaders {
			h[k] = v
		}
		w.Write(mib)
	})
	mux.HandleFunc("GET "+pathStream, func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.ParseInt(r.URL.Query().Get("n"), 10, 64)
		if err != nil || n < 0 {
			http.Error(w, "want ?n=bytes", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
		io.CopyBuffer(w, io.LimitReader(newStream(), n), make([]byte, 64<<10))
	})
	mux.HandleFunc("POST "+pathSink, func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		n, err := io.CopyBuffer(h, r.Body, make([]byte, 64<<10))
		if err != nil {
			http.Error(w, "body: "+err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(sinkResult{Bytes: n, SHA256: hex.EncodeToString(h.Sum(nil))})
	})
	mux.HandleFunc("POST "+pathEcho, func(w http.ResponseWriter, r *http.Request) {
		// The app answers while the request body is still arriving, as streaming APIs and
		// some upload handlers do: what a proxy without full duplex silently truncates.
		rc := http.NewResponseController(w)
		if err := rc.EnableFullDuplex(); err != nil {
			http.Error(w, "full duplex: "+err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.WriteHeader(http.StatusOK)
		rc.Flush()
		buf := make([]byte, 32<<10)
		for {
			n, err := r.Body.Read(buf)
			if n > 0 {
				if _, werr := w.Write(buf[:n]); werr != nil {
					return
				}
				rc.Flush()
			}
			if err != nil {
				return
			}
		}
	})
	return mux
}

// cmdUpstream runs the upstream until killed.
func cmdUpstream(args []string) error {
	fs := flag.NewFlagSet("upstream", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	return (&http.Server{Handler: upstreamHandler(), ReadHeaderTimeout: 10 * time.Second}).Serve(ln)
}

// bareTransport is the "tuned transport" of the Go floor: pooled keep-alive connections for
// 64+ concurrent clients (the default keeps only 2 idle per host), no proxy from the
// environment, no transparent compression.
func bareTransport() *http.Transport {
	return &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
		ForceAttemptHTTP2:     false,
	}
}

// barePool is a sync.Pool of 32 KiB copy buffers (ReverseProxy otherwise allocates one per
// response body). It pools array pointers, so that Put does not allocate a slice header: the
// floor should be as cheap as a careful hand-written proxy.
type barePool struct{ p sync.Pool }

func (b *barePool) Get() []byte {
	if p, ok := b.p.Get().(*[32 << 10]byte); ok {
		return p[:]
	}
	return new([32 << 10]byte)[:]
}

func (b *barePool) Put(buf []byte) {
	if cap(buf) >= 32<<10 {
		b.p.Put((*[32 << 10]byte)(buf[:32<<10]))
	}
}

// newBareProxy returns the Go floor: httputil.ReverseProxy with Rewrite (SetURL and
// SetXForwarded), the tuned transport and a buffer pool; with fullDuplex, it also enables
// HTTP/1 full duplex as resetgate does.
func newBareProxy(up *url.URL, fullDuplex bool) http.Handler {
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(up)
			pr.SetXForwarded()
		},
		Transport:  bareTransport(),
		BufferPool: new(barePool),
	}
	if !fullDuplex {
		return rp
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.NewResponseController(w).EnableFullDuplex()
		rp.ServeHTTP(w, r)
	})
}

// cmdBare runs the bare proxy until killed. Its -admin listener (never the proxied one)
// serves /memstats and net/http/pprof, so allocations per request and profiles can be
// compared with resetgate's.
func cmdBare(args []string) error {
	fs := flag.NewFlagSet("bare", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "address")
	upstream := fs.String("upstream", "", "upstream URL")
	admin := fs.String("admin", "", "admin address for /memstats and /debug/pprof (empty: none)")
	fullDuplex := fs.Bool("fullduplex", false, "enable HTTP/1 full duplex")
	if err := fs.Parse(args); err != nil {
		return err
	}
	up, err := url.Parse(*upstream)
	if err != nil || up.Host == "" {
		return fmt.Errorf("bare: -upstream %q: want http://host:port", *upstream)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	if *admin != "" {
		http.HandleFunc("/memstats", func(w http.ResponseWriter, r *http.Request) {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			json.NewEncoder(w).Encode(memStats{Mallocs: m.Mallocs, TotalAlloc: m.TotalAlloc, NumGC: uint64(m.NumGC)})
		})
		aln, err := net.Listen("tcp", *admin)
		if err != nil {
			return err
		}
		go http.Serve(aln, nil)
	}
	srv := &http.Server{Handler: newBareProxy(up, *fullDuplex), ReadHeaderTimeout: 10 * time.Second}
	return srv.Serve(ln)
}

// memStats are the Go runtime counters read before and after a load run.
type memStats struct {
	Mallocs    uint64 `json:"mallocs"`
	TotalAlloc uint64 `json:"total_alloc"`
	NumGC      uint64 `json:"num_gc"`
}

// loginPage is the upstream's sign-in page: a form with a password field, where link
// injection puts its link, inside the <main> that wrap mode fills.
const loginPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in</title></head>
<body><header><a href="/">Legacy app</a></header>
<main><h1>Sign in</h1>
<form method="post" action="/login"><label>E-mail <input name="email" type="email"></label>
<label>Password <input name="password" type="password"></label><button>Sign in</button></form>
</main><footer>Legacy app</footer></body></html>
`
