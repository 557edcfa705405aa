package proxy_test

import (
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"resetgate/internal/clientip"
	"resetgate/proxy"
)

func TestNew(t *testing.T) {
	tests := []struct {
		name     string
		upstream string // "" = nil
		public   string // "" = nil
		wantErr  string // substring; "" = no error
	}{
		{name: "valid", upstream: "http://127.0.0.1:5000", public: "https://example.com"},
		{name: "upstream with base path", upstream: "http://127.0.0.1:5000/legacy/", public: "http://localhost:8080"},
		{name: "no upstream", public: "https://example.com", wantErr: "Upstream is required"},
		{name: "no public URL", upstream: "http://127.0.0.1:5000", wantErr: "PublicURL is required"},
		{name: "relative upstream", upstream: "/app", public: "https://example.com", wantErr: "Upstream"},
		{name: "upstream scheme", upstream: "ftp://127.0.0.1", public: "https://example.com", wantErr: "http:// or https://"},
		{name: "upstream without host", upstream: "http:///x", public: "https://example.com", wantErr: "no host"},
		{name: "upstream with query", upstream: "http://127.0.0.1:5000/?a=1", public: "https://example.com", wantErr: "query"},
		{name: "upstream with user info", upstream: "http://u:secret@127.0.0.1:5000", public: "https://example.com", wantErr: "user info"},
		{name: "public URL without scheme", upstream: "http://127.0.0.1:5000", public: "example.com", wantErr: "PublicURL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var o proxy.Options
			if tt.upstream != "" {
				o.Upstream = mustURL(t, tt.upstream)
			}
			if tt.public != "" {
				o.PublicURL = mustURL(t, tt.public)
			}
			p, err := proxy.New(o)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("New(%q, %q) = %v, want no error", tt.upstream, tt.public, err)
				}
				p.Close()
				return
			}
			if err == nil || !errors.Is(err, proxy.ErrInvalidOptions) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New(%q, %q) = %v, want an ErrInvalidOptions mentioning %q", tt.upstream, tt.public, err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("New error %q shows the upstream password", err)
			}
		})
	}
}

func TestNewDoesNotKeepCallerURLs(t *testing.T) {
	up := mustURL(t, "http://127.0.0.1:1/")
	if _, err := proxy.New(proxy.Options{Upstream: up, PublicURL: mustURL(t, publicURL)}); err != nil {
		t.Fatal(err)
	}
	if up.Path != "/" {
		t.Errorf("New modified the caller's Upstream: Path = %q, want %q", up.Path, "/")
	}
}

// TestHeaderHygiene sends spoofed forwarding and identity headers, in every spelling a client
// can use, and checks on a real upstream that none of them arrives as sent (SECURITY.md
// RQ-PRX-01, RQ-LNK-*).
func TestHeaderHygiene(t *testing.T) {
	const spoof = "6.6.6.6" // marks every spoofed value; must appear nowhere upstream
	tests := []struct {
		name    string
		trusted []string // trusted proxies; nil = ClientIP nil (socket peer)
		host    string   // Host header the client sends; "" = the front server's address
		header  map[string][]string
		wantXFF string
	}{
		{name: "spoofed X-Forwarded-For", header: map[string][]string{"X-Forwarded-For": {spoof}}, wantXFF: "127.0.0.1"},
		{name: "several X-Forwarded-For lines",
			header: map[string][]string{"X-Forwarded-For": {spoof, spoof + ", 10.0.0.1"}}, wantXFF: "127.0.0.1"},
		{name: "spoofed X-Forwarded-Host, -Proto, -Port, -Prefix, -Ssl",
			header: map[string][]string{
				"X-Forwarded-Host": {spoof}, "X-Forwarded-Proto": {"http" + spoof}, "X-Forwarded-Port": {spoof},
				"X-Forwarded-Prefix": {"/" + spoof}, "X-Forwarded-Ssl": {"on" + spoof}, "X-Forwarded-Server": {spoof},
			}, wantXFF: "127.0.0.1"},
		{name: "spoofed Forwarded",
			header: map[string][]string{"Forwarded": {"for=" + spoof + ";host=" + spoof + ";proto=http"}}, wantXFF: "127.0.0.1"},
		{name: "spoofed X-Real-IP and other client-IP headers",
			header: map[string][]string{
				"X-Real-Ip": {spoof}, "X-Client-Ip": {spoof}, "True-Client-Ip": {spoof}, "Cf-Connecting-Ip": {spoof},
				"Fastly-Client-Ip": {spoof}, "X-Cluster-Client-Ip": {spoof},
			}, wantXFF: "127.0.0.1"},
		{name: "spoofed host, scheme and URL override headers",
			header: map[string][]string{
				"X-Host": {spoof}, "X-Original-Host": {spoof}, "X-Url-Scheme": {spoof}, "Front-End-Https": {spoof},
				"X-Original-Url": {"/" + spoof}, "X-Rewrite-Url": {"/" + spoof},
			}, wantXFF: "127.0.0.1"},
		{name: "underscore variants (werkzeug merges them into the real header)",
			header: map[string][]string{
				"X_Forwarded_For": {spoof}, "x_forwarded_host": {spoof}, "X_FORWARDED_PROTO": {spoof},
				"X_Real_IP": {spoof}, "x-forwarded_for": {spoof}, "X_Forwarded-Host": {spoof},
			}, wantXFF: "127.0.0.1"},
		{name: "odd case", header: map[string][]string{"x-FORWARDED-for": {spoof}, "FORWARDED": {"for=" + spoof}},
			wantXFF: "127.0.0.1"},
		{name: "spoofed Host header", host: spoof + ".example", wantXFF: "127.0.0.1"},
		{name: "trusted proxy: its X-Forwarded-For is believed, rightmost untrusted hop",
			trusted: []string{"127.0.0.1"}, header: map[string][]string{"X-Forwarded-For": {spoof + ", 203.0.113.9"}},
			wantXFF: "203.0.113.9"},
		{name: "trusted proxy: underscore variant still ignored and removed",
			trusted: []string{"127.0.0.1"}, header: map[string][]string{"X_Forwarded_For": {spoof}, "X-Forwarded-For": {"203.0.113.9"}},
			wantXFF: "203.0.113.9"},
		{name: "trusted proxy without X-Forwarded-For: the proxy itself", trusted: []string{"127.0.0.0/8"},
			wantXFF: "127.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := mustRecorder(t)
			p := mustProxy(t, up.URL, func(o *proxy.Options) {
				if tt.trusted != nil {
					r, err := clientip.New(tt.trusted)
					if err != nil {
						t.Fatal(err)
					}
					o.ClientIP = r.IP
				}
			})
			front := mustServe(t, p)

			req, err := http.NewRequest("GET", front.URL+"/page", nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.header {
				req.Header[k] = v // verbatim: the client writes these keys exactly as given
			}
			req.Header["X_custom_header"] = []string{"dropped"}
			req.Header["X-Custom-Header"] = []string{"kept"}
			req.Header["Cookie"] = []string{"session=abc"}
			if tt.host != "" {
				req.Host = tt.host
			}
			resp, err := client(t).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()

			reqs := up.requests()
			if len(reqs) != 1 {
				t.Fatalf("upstream saw %d requests, want 1", len(reqs))
			}
			got := reqs[0]
			if got.Host != "public.example:8443" {
				t.Errorf("upstream Host = %q, want %q", got.Host, "public.example:8443")
			}
			want := map[string]string{
				"X-Forwarded-For":   tt.wantXFF,
				"X-Forwarded-Host":  "public.example:8443",
				"X-Forwarded-Proto": "https",
			}
			for k, v := range want {
				if g := got.Header[k]; len(g) != 1 || g[0] != v {
					t.Errorf("upstream %s = %q, want [%q]", k, g, v)
				}
			}
			for k, vs := range got.Header {
				if _, ours := want[k]; proxy.ProtectedHeader(k) && !ours {
					t.Errorf("upstream received protected header %s: %q", k, vs)
				}
				for _, v := range vs {
					if strings.Contains(v, spoof) {
						t.Errorf("upstream header %s = %q carries a spoofed value", k, v)
					}
				}
			}
			if g := got.Header["X_custom_header"]; g != nil {
				t.Errorf("upstream X_custom_header = %q: headers with underscores must be dropped (RQ-PRX-05)", g)
			}
			if g := got.Header["X-Custom-Header"]; len(g) != 1 || g[0] != "kept" {
				t.Errorf("upstream X-Custom-Header = %q, want [kept]: unrelated headers must pass", g)
			}
			if g := got.Header.Get("Cookie"); g != "session=abc" {
				t.Errorf("upstream Cookie = %q, want session=abc", g)
			}
		})
	}
}

func TestProtectedHeader(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"X-Forwarded-For", true},
		{"X_Forwarded_For", true},
		{"x_forwarded-for", true},
		{"X-FORWARDED-PROTO", true},
		{"X-Forwarded-Anything", true},
		{"X-Forwarded", true},
		{"Forwarded", true},
		{"X-Real-Ip", true},
		{"X_REAL_IP", true},
		{"Http2-Settings", true},
		{"X-Original-Url", true},
		{"Client-IP", true},
		{"Proxy-Client-IP", true},
		{"WL-Proxy-Client-IP", true},
		{"X-Originating-IP", true},
		{"X-Remote-IP", true},
		{"X-Remote-Addr", true},
		{"X-ProxyUser-Ip", true},
		{"X-Original-Forwarded-For", true},
		{"X-Envoy-External-Address", true},
		{"X-Scheme", true},
		{"X-Script-Name", true},
		{"X-HTTP-Host-Override", true},
		{"X-Original-URI", true},
		{"X-Forwardedx", false},
		{"X-Forwarde", false},
		{"Forwarded-For", false},
		{"X-Real-Ips", false},
		{"Accept", false},
		{"X_custom_header", false},
		{"", false},
		{strings.Repeat("x", 300), false},
	}
	for _, tt := range tests {
		if got := proxy.ProtectedHeader(tt.name); got != tt.want {
			t.Errorf("ProtectedHeader(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestUnderscoreAndExtraHeaders(t *testing.T) {
	tests := []struct {
		name       string
		allow      bool
		strip      []string
		sent, want map[string]string // want: what arrives, "" for nothing
	}{
		{name: "underscores dropped by default",
			sent: map[string]string{"Remote_User": "admin", "X_Anything": "a", "Remote-User": "kept"},
			want: map[string]string{"Remote_User": "", "X_Anything": "", "Remote-User": "kept"}},
		{name: "underscores allowed, protected ones still dropped", allow: true,
			sent: map[string]string{"Remote_User": "admin", "X_Real_Ip": "6.6.6.6"},
			want: map[string]string{"Remote_User": "admin", "X_Real_Ip": ""}},
		{name: "strip_headers in any spelling", allow: true, strip: []string{"Remote-User", "x_auth_user"},
			sent: map[string]string{"Remote-User": "admin", "REMOTE_USER": "admin", "X-Auth-User": "admin", "X-Kept": "kept"},
			want: map[string]string{"Remote-User": "", "REMOTE_USER": "", "X-Auth-User": "", "X-Kept": "kept"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := mustRecorder(t)
			front := mustServe(t, mustProxy(t, up.URL, func(o *proxy.Options) {
				o.AllowUnderscoreHeaders, o.StripHeaders = tt.allow, tt.strip
			}))
			req, err := http.NewRequest("GET", front.URL+"/page", nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.sent {
				req.Header[k] = []string{v}
			}
			resp, err := client(t).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			got := up.requests()[0].Header
			for k, v := range tt.want {
				var vs []string
				for gk, gv := range got { // the upstream's net/http rewrites "Remote_User" as "Remote_user"
					if strings.EqualFold(gk, k) {
						vs = append(vs, gv...)
					}
				}
				if g := strings.Join(vs, ","); g != v {
					t.Errorf("upstream %s = %q, want %q", k, g, v)
				}
			}
		})
	}
}

func TestNewRefusesBadStripHeaders(t *testing.T) {
	_, err := proxy.New(proxy.Options{Upstream: mustURL(t, "http://app"), PublicURL: mustURL(t, "https://x"), StripHeaders: []string{"X Auth"}})
	if !errors.Is(err, proxy.ErrInvalidOptions) {
		t.Errorf("New(StripHeaders: [\"X Auth\"]) = %v, want ErrInvalidOptions", err)
	}
}

// TestTargetForwardedVerbatim checks that the app receives the request target byte for byte
// as the client wrote it (SECURITY.md RQ-PRX-04), on raw TCP so that no client library
// normalises it first.
func TestTargetForwardedVerbatim(t *testing.T) {
	tests := []struct {
		name, base, method, target, want string
	}{
		{name: "escaped slash", target: "/a%2Fb", want: "/a%2Fb"},
		{name: "lower-case escapes", target: "/a%2fb/%7e", want: "/a%2fb/%7e"},
		{name: "empty leading segment", target: "//x", want: "//x"},
		{name: "empty segments and query", target: "//x//y/?a=1", want: "//x//y/?a=1"},
		{name: "dot segments not cleaned", target: "/a/../b/./c", want: "/a/../b/./c"},
		{name: "matrix parameters", target: "/a;b=c/d;e", want: "/a;b=c/d;e"},
		{name: "query with ; and +", target: "/q?a=1;b=2&c=d+e%2Bf", want: "/q?a=1;b=2&c=d+e%2Bf"},
		{name: "undecodable query escapes", target: "/q?%zz&x=%", want: "/q?%zz&x=%"},
		{name: "empty query", target: "/q?", want: "/q?"},
		{name: "characters Go would escape", target: "/a|b/{c}^", want: "/a|b/{c}^"},
		{name: "raw UTF-8", target: "/caf\xc3\xa9", want: "/caf\xc3\xa9"},
		{name: "escaped NUL", target: "/a%00b", want: "/a%00b"},
		{name: "hash in target", target: "/a#frag", want: "/a#frag"},
		{name: "absolute form: path only, host ignored", target: "http://evil.example/p?q=1", want: "/p?q=1"},
		{name: "asterisk form", method: "OPTIONS", target: "*", want: "*"},
		{name: "base path: escaped slash", base: "/base/", target: "/a%2Fb", want: "/base/a%2Fb"},
		{name: "base path: empty segment", base: "/base", target: "//x", want: "/base//x"},
		{name: "base path: raw query", base: "/base", target: "/q?x;y+z", want: "/base/q?x;y+z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := mustRecorder(t)
			front := mustServe(t, mustProxy(t, up.URL+tt.base, nil))
			method := tt.method
			if method == "" {
				method = "GET"
			}
			resps := rawExchange(t, front.Listener.Addr().String(),
				method+" "+tt.target+" HTTP/1.1\r\nHost: client.example\r\nConnection: close\r\n\r\n")
			if len(resps) != 1 || resps[0].StatusCode != http.StatusOK {
				t.Fatalf("%s %q: got %d responses (first %v), want one 200", method, tt.target, len(resps), status(resps))
			}
			reqs := up.requests()
			if len(reqs) != 1 {
				t.Fatalf("upstream saw %d requests, want 1", len(reqs))
			}
			if reqs[0].RequestURI != tt.want {
				t.Errorf("upstream request target for %q = %q, want %q", tt.target, reqs[0].RequestURI, tt.want)
			}
			if reqs[0].Host != "public.example:8443" {
				t.Errorf("upstream Host for %q = %q, want public.example:8443", tt.target, reqs[0].Host)
			}
		})
	}
}

func status(resps []*http.Response) string {
	if len(resps) == 0 {
		return "none"
	}
	return resps[0].Status
}

func TestConnectAndH2PrefaceRefused(t *testing.T) {
	for _, raw := range []string{
		"CONNECT internal.example:22 HTTP/1.1\r\nHost: internal.example:22\r\n\r\n",
		"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
	} {
		up := mustRecorder(t)
		front := mustServe(t, mustProxy(t, up.URL, nil))
		resps := rawExchange(t, front.Listener.Addr().String(), raw)
		if len(resps) != 1 || resps[0].StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%q: got %s, want one 405", raw, status(resps))
		}
		if n := len(up.requests()); n != 0 {
			t.Errorf("%q: upstream saw %d requests, want 0", raw, n)
		}
	}
}

func TestAcceptEncodingForwardedFaithfully(t *testing.T) {
	up := mustServe(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Got-Accept-Encoding", strings.Join(r.Header["Accept-Encoding"], "|"))
		if r.Header.Get("Accept-Encoding") == "gzip" {
			w.Header().Set("Content-Encoding", "gzip")
			w.Write([]byte("not really gzip, and the proxy must not try to decode it"))
			return
		}
		w.Write([]byte("plain"))
	}))
	front := mustServe(t, mustProxy(t, up.URL, nil))
	for _, tt := range []struct{ send, wantSeen, wantBody string }{
		{"", "", "plain"},
		{"br", "br", "plain"},
		{"gzip", "gzip", "not really gzip, and the proxy must not try to decode it"},
	} {
		req, _ := http.NewRequest("GET", front.URL+"/", nil)
		if tt.send != "" {
			req.Header.Set("Accept-Encoding", tt.send)
		}
		resp, err := client(t).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body := readAll(t, resp.Body)
		resp.Body.Close()
		if got := resp.Header.Get("X-Got-Accept-Encoding"); got != tt.wantSeen {
			t.Errorf("client Accept-Encoding %q: upstream saw %q, want %q", tt.send, got, tt.wantSeen)
		}
		if body != tt.wantBody {
			t.Errorf("client Accept-Encoding %q: body = %q, want %q", tt.send, body, tt.wantBody)
		}
	}
}

func TestClientIPFunc(t *testing.T) {
	for _, tt := range []struct {
		name    string
		ip      netip.Addr
		wantXFF []string
	}{
		{"resolved address", netip.MustParseAddr("2001:db8::7"), []string{"2001:db8::7"}},
		{"no address: header omitted", netip.Addr{}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			up := mustRecorder(t)
			front := mustServe(t, mustProxy(t, up.URL, func(o *proxy.Options) {
				o.ClientIP = func(*http.Request) netip.Addr { return tt.ip }
			}))
			req, _ := http.NewRequest("GET", front.URL+"/", nil)
			req.Header.Set("X-Forwarded-For", "6.6.6.6")
			resp, err := client(t).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			got := up.requests()[0].Header["X-Forwarded-For"]
			if strings.Join(got, ",") != strings.Join(tt.wantXFF, ",") {
				t.Errorf("upstream X-Forwarded-For = %q, want %q", got, tt.wantXFF)
			}
		})
	}
}

// TestCloseClosesIdleConnections uses a transport without idle timeout, so only Close can
// close the pooled connection.
func TestCloseClosesIdleConnections(t *testing.T) {
	closed := make(chan struct{}, 1)
	up := mustServe(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }),
		func(s *http.Server) {
			s.ConnState = func(_ net.Conn, s http.ConnState) {
				if s == http.StateClosed {
					closed <- struct{}{}
				}
			}
		})
	tr := proxy.NewTransport()
	tr.IdleConnTimeout = 0
	p := mustProxy(t, up.URL, func(o *proxy.Options) { o.Transport = tr })
	front := mustServe(t, p)
	resp, err := client(t).Get(front.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp.Body)
	resp.Body.Close()
	p.Close()
	wait(t, closed, "upstream connection closed after Proxy.Close")
}

func TestNewTransportSettings(t *testing.T) {
	tr := proxy.NewTransport()
	if tr.Proxy != nil {
		t.Error("NewTransport().Proxy is set; environment proxies must not reroute app traffic")
	}
	if !tr.DisableCompression {
		t.Error("NewTransport().DisableCompression = false, want true (forward Accept-Encoding faithfully)")
	}
	if tr.MaxIdleConnsPerHost < 64 || tr.MaxIdleConns < tr.MaxIdleConnsPerHost {
		t.Errorf("NewTransport() idle pool = %d per host, %d total; want ≥ 64 per host and total ≥ per host",
			tr.MaxIdleConnsPerHost, tr.MaxIdleConns)
	}
	if tr.ResponseHeaderTimeout != 0 {
		t.Errorf("NewTransport().ResponseHeaderTimeout = %v, want 0 (long polls)", tr.ResponseHeaderTimeout)
	}
	if tr.Protocols == nil || tr.Protocols.HTTP2() || !tr.Protocols.HTTP1() {
		t.Errorf("NewTransport().Protocols = %v, want HTTP/1 only", tr.Protocols)
	}
}
