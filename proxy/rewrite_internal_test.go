package proxy

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"slices"
	"testing"

	"resetgate/internal/clientip"
)

// browserRequest is a typical proxied page view: a dozen browser headers, a cookie, a query.
func browserRequest(remote string) *http.Request {
	r := httptest.NewRequest("GET", "http://public.example/app/orders/42?tab=items&page=2", nil)
	r.RemoteAddr = remote
	r.RequestURI = "/app/orders/42?tab=items&page=2"
	for k, v := range map[string]string{
		"Accept":                    "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
		"Accept-Encoding":           "gzip, deflate, br, zstd",
		"Accept-Language":           "en-GB,en;q=0.9",
		"Cache-Control":             "max-age=0",
		"Cookie":                    "session=eyJ1c2VyIjo0Mn0.Zx0.abc; theme=dark",
		"Referer":                   "https://public.example/app/orders",
		"Sec-Ch-Ua":                 `"Chromium";v="130"`,
		"Sec-Ch-Ua-Mobile":          "?0",
		"Sec-Ch-Ua-Platform":        `"Linux"`,
		"Sec-Fetch-Dest":            "document",
		"Sec-Fetch-Mode":            "navigate",
		"Sec-Fetch-Site":            "same-origin",
		"Upgrade-Insecure-Requests": "1",
		"User-Agent":                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36",
	} {
		r.Header.Set(k, v)
	}
	return r
}

func mustTestProxy(tb testing.TB, clientIP func(*http.Request) netip.Addr) *Proxy {
	tb.Helper()
	up, _ := url.Parse("http://127.0.0.1:5000")
	pub, _ := url.Parse("https://public.example")
	p, err := New(Options{Upstream: up, PublicURL: pub, ClientIP: clientIP})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(p.Close)
	return p
}

// BenchmarkRewrite measures the proxy's own per-request work on the outbound request:
// SetURL, the verbatim target, header hygiene and the forwarding headers, against the bare
// proxy's Rewrite (SetURL + SetXForwarded) on the same request. The outbound request is
// cloned once, outside the loop; each iteration first does what ReverseProxy does before
// calling Rewrite (delete Forwarded and X-Forwarded-For/-Host/-Proto) and, in the spoofed
// case, puts the spoofed headers back (map assignments of existing slices, no allocation).
func BenchmarkRewrite(b *testing.B) {
	resolver, err := clientip.New([]string{"10.0.0.0/8"})
	if err != nil {
		b.Fatal(err)
	}
	spoofed := http.Header{
		"X-Forwarded-For":  {"6.6.6.6"},
		"X_forwarded_host": {"evil.example"},
		"X-Real-Ip":        {"6.6.6.6"},
		"Forwarded":        {"for=6.6.6.6"},
	}
	for _, bb := range []struct {
		name     string
		clientIP func(*http.Request) netip.Addr
		remote   string
		extra    http.Header
	}{
		{"socket peer", nil, "198.51.100.7:5555", nil},
		{"resolver, untrusted peer", resolver.IP, "198.51.100.7:5555", nil},
		{"resolver, trusted proxy chain", resolver.IP, "10.0.0.1:5555", http.Header{"X-Forwarded-For": {"203.0.113.9, 10.1.1.1"}}},
		{"spoofed headers", nil, "198.51.100.7:5555", spoofed},
		{"baseline: SetURL and SetXForwarded", nil, "198.51.100.7:5555", nil},
	} {
		b.Run(bb.name, func(b *testing.B) {
			p := mustTestProxy(b, bb.clientIP)
			rewrite := p.rewrite
			if bb.name == "baseline: SetURL and SetXForwarded" {
				rewrite = func(pr *httputil.ProxyRequest) {
					pr.SetURL(p.upstream)
					pr.SetXForwarded()
				}
			}
			in := browserRequest(bb.remote)
			for k, v := range bb.extra {
				in.Header[k] = v
			}
			out := in.Clone(context.Background())
			pr := &httputil.ProxyRequest{In: in, Out: out}
			b.ReportAllocs()
			for b.Loop() {
				for _, k := range [...]string{"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"} {
					delete(out.Header, k)
				}
				for k, v := range bb.extra {
					out.Header[k] = v
				}
				rewrite(pr)
			}
		})
	}
}

func TestRewriteAllocations(t *testing.T) {
	p := mustTestProxy(t, nil)
	in := browserRequest("198.51.100.7:5555")
	out := in.Clone(context.Background())
	pr := &httputil.ProxyRequest{In: in, Out: out}
	// One allocation: the []string holding the X-Forwarded-For value.
	if n := testing.AllocsPerRun(100, func() { p.rewrite(pr) }); n > 1 {
		t.Errorf("rewrite allocates %v times per request, want at most 1", n)
	}
}

func TestBufferPoolReusesBuffers(t *testing.T) {
	pool := NewBufferPool()
	b := pool.Get()
	if len(b) != bufferSize {
		t.Fatalf("Get() returned %d bytes, want %d", len(b), bufferSize)
	}
	pool.Put(b)
	pool.Put(make([]byte, 10)) // too small: dropped, never handed out
	for range 4 {
		if g := pool.Get(); len(g) != bufferSize {
			t.Fatalf("Get() after Put of a short slice returned %d bytes, want %d", len(g), bufferSize)
		}
	}
}

func TestDropCookies(t *testing.T) {
	tests := []struct {
		in   []string
		want []string
	}{
		{[]string{"a=1; resetgate=xyz; b=2"}, []string{"a=1; b=2"}},
		{[]string{"resetgate=xyz"}, nil},
		{[]string{"__Host-resetgate=x", "session=abc"}, []string{"session=abc"}},
		{[]string{"notresetgate=1; resetgatex=2"}, []string{"notresetgate=1; resetgatex=2"}},
		{[]string{"session=abc"}, []string{"session=abc"}},
	}
	for _, tt := range tests {
		h := http.Header{"Cookie": append([]string(nil), tt.in...)}
		dropCookies(h, []string{"resetgate", "__Host-resetgate"})
		if got := h["Cookie"]; !slices.Equal(got, tt.want) {
			t.Errorf("dropCookies(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
