package attack

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"resetgate/internal/testenv"
)

// protectedHeader reports whether a header name, compared as WSGI/CGI servers do (case
// folded, '_' as '-'), is one that describes the client or the original request.
func protectedHeader(name string) bool {
	n := strings.ReplaceAll(strings.ToLower(name), "_", "-")
	if strings.HasPrefix(n, "x-forwarded-") || n == "x-forwarded" {
		return true
	}
	switch n {
	case "forwarded", "x-real-ip", "x-client-ip", "true-client-ip", "cf-connecting-ip", "fastly-client-ip",
		"x-cluster-client-ip", "x-host", "x-original-host", "x-original-url", "x-rewrite-url", "x-url-scheme",
		"front-end-https", "http2-settings":
		return true
	}
	return false
}

// spoofHeaders are what a client sends to pose as someone else, elsewhere, over https.
const spoofHeaders = "X-Forwarded-For: 6.6.6.1\r\n" +
	"X_Forwarded_For: 6.6.6.2\r\n" +
	"x_forwarded_for: 6.6.6.3\r\n" +
	"X-Forwarded-Host: evil.example\r\n" +
	"X_Forwarded_Host: evil.example\r\n" +
	"X-Forwarded-Proto: http\r\n" +
	"X_Forwarded_Proto: http\r\n" +
	"X-Forwarded-Port: 6666\r\n" +
	"X-Forwarded-Prefix: /evil\r\n" +
	"X-Forwarded-Server: evil.example\r\n" +
	"X-Forwarded-Ssl: off\r\n" +
	"Forwarded: for=6.6.6.4;host=evil.example;proto=http\r\n" +
	"X-Real-IP: 6.6.6.5\r\n" +
	"X_Real_IP: 6.6.6.6\r\n" +
	"X-Client-IP: 6.6.6.7\r\n" +
	"True-Client-IP: 6.6.6.8\r\n" +
	"CF-Connecting-IP: 6.6.6.9\r\n" +
	"X-Original-URL: /admin\r\n" +
	"X-Rewrite-URL: /admin\r\n" +
	"X-Host: evil.example\r\n" +
	"X-Original-Host: evil.example\r\n" +
	"Front-End-Https: off\r\n" +
	"X-Url-Scheme: http\r\n"

// RQ-PRX-01, RQ-LNK-01: the app never receives a client's X-Forwarded-*, Forwarded, X-Real-IP
// or look-alike headers (underscore spellings included), and a client cannot make resetgate
// drop its own by naming them in Connection; the app's Host, X-Forwarded-For/-Host/-Proto
// describe the socket peer and public_url. Incidents: IP spoofing through X-Forwarded-For
// behind naive proxies (rate-limit and allowlist bypasses), hop-by-hop header abuse
// ("Connection: close, X-Forwarded-For" stripping the proxy's own header), X-Original-URL
// access-control bypasses (Symfony/Zend, CVE-2018-14773).
func TestClientCannotSetForwardingHeaders(t *testing.T) {
	t.Parallel()
	w := newWorld(t, setup{})
	resp := rawRequest(t, w.base, "GET /app/whoami?x=1 HTTP/1.1\r\nHost: evil.example\r\n"+spoofHeaders+
		"Connection: close, X-Forwarded-For, X-Forwarded-Host, X-Forwarded-Proto, Forwarded\r\n\r\n")
	if !strings.HasPrefix(resp, "HTTP/1.1 200") {
		t.Fatalf("proxied request answered %q", firstLine(resp))
	}
	resp = rawRequest(t, w.base, "POST http://evil.example/app/form HTTP/1.1\r\nHost: evil.example\r\n"+spoofHeaders+
		"Content-Length: 3\r\nConnection: close\r\n\r\na=1")
	if !strings.HasPrefix(resp, "HTTP/1.1 200") {
		t.Fatalf("absolute-form proxied request answered %q", firstLine(resp))
	}
	reqs := w.up.requests()
	if len(reqs) != 2 {
		t.Fatalf("the app received %d requests, want 2", len(reqs))
	}
	for _, r := range reqs {
		checkForwarding(t, r, "127.0.0.1")
	}
	if d := w.up.dump(); strings.Contains(d, "6.6.6.") || strings.Contains(d, "evil") || strings.Contains(d, "/admin") {
		t.Errorf("a spoofed value reached the app:\n%s", d)
	}
}

// checkForwarding requires the forwarding headers resetgate owns, with the given client, and
// no other client-describing header.
func checkForwarding(t *testing.T, r seen, client string) {
	t.Helper()
	if r.Host != "app.example" {
		t.Errorf("%s: Host %q, want app.example (public_url)", r.URI, r.Host)
	}
	for name, want := range map[string]string{"X-Forwarded-For": client, "X-Forwarded-Host": "app.example", "X-Forwarded-Proto": "https"} {
		if got := r.Header.Values(name); len(got) != 1 || got[0] != want {
			t.Errorf("%s: %s = %q, want exactly %q", r.URI, name, got, want)
		}
	}
	for k := range r.Header {
		switch http.CanonicalHeaderKey(k) {
		case "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto":
			if k == http.CanonicalHeaderKey(k) {
				continue
			}
		}
		if protectedHeader(k) {
			t.Errorf("%s: the app received client header %s: %v", r.URI, k, r.Header[k])
		}
	}
}

// werkzeugApp is a real werkzeug WSGI server with ProxyFix trusting one hop, answering with
// what the app believes about the request.
const werkzeugApp = `import sys, json
from werkzeug.wrappers import Request, Response
from werkzeug.serving import run_simple
from werkzeug.middleware.proxy_fix import ProxyFix

@Request.application
def app(request):
    env = {k: v for k, v in request.environ.items() if k.startswith("HTTP_")}
    env["remote_addr"] = request.remote_addr
    env["host"] = request.host
    env["scheme"] = request.scheme
    return Response(json.dumps(env), mimetype="application/json")

run_simple("127.0.0.1", int(sys.argv[1]), ProxyFix(app, x_for=1, x_proto=1, x_host=1))
`

// RQ-PRX-01: checked on the real thing: werkzeug's WSGI server folds "X_Forwarded_For" and
// "X-Forwarded-For" into one HTTP_X_FORWARDED_FOR (joining both values), so a forwarded
// underscore header would let the client choose what ProxyFix takes as the client address,
// host and scheme. Behind resetgate, the Flask app must see 127.0.0.1, app.example, https.
// Incident: the underscore/dash ambiguity exploited against WSGI/CGI apps behind proxies that
// do not normalise header names (nginx's underscores_in_headers discussions, CVE-2016-5385
// "httpoxy" for the CGI variable family).
func TestWerkzeugSeesOnlyResetgatesForwarding(t *testing.T) {
	t.Parallel()
	py := needPython(t, "werkzeug")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(py, "-c", werkzeugApp, strconv.Itoa(port))
	out := &testenv.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for deadline := time.Now().Add(20 * time.Second); ; {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("werkzeug did not start:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	w := newWorld(t, setup{sqlite: true, conf: map[string]any{"upstream": "http://" + addr}})
	resp := rawRequest(t, w.base, "GET /whoami HTTP/1.1\r\nHost: evil.example\r\n"+spoofHeaders+"Connection: close\r\n\r\n")
	_, body, _ := strings.Cut(resp, "\r\n\r\n")
	var env map[string]string
	if err := json.Unmarshal([]byte(body), &env); err != nil {
		t.Fatalf("werkzeug answered %q: %v", resp, err)
	}
	if env["remote_addr"] != "127.0.0.1" || env["host"] != "app.example" || env["scheme"] != "https" {
		t.Errorf("the Flask app believes remote_addr=%q host=%q scheme=%q, want 127.0.0.1 app.example https", env["remote_addr"], env["host"], env["scheme"])
	}
	if env["HTTP_X_FORWARDED_FOR"] != "127.0.0.1" {
		t.Errorf("HTTP_X_FORWARDED_FOR = %q, want 127.0.0.1", env["HTTP_X_FORWARDED_FOR"])
	}
	for k, v := range env {
		if strings.Contains(v, "6.6.6.") || strings.Contains(v, "evil") {
			t.Errorf("the app's environ has %s=%q", k, v)
		}
	}
}

// RQ-REQ-03, RQ-PRX-01: behind trusted proxies the client is the rightmost untrusted
// X-Forwarded-For hop: forging hops further left changes nothing (rate limits, audit log and
// the app all see the same client), and trusted hops are skipped. Incident: rate limits keyed
// on the leftmost X-Forwarded-For entry, which the client writes (e.g. the Django/Rails
// "get_client_ip" snippets behind load balancers).
func TestTrustedProxiesRightmostUntrustedHop(t *testing.T) {
	t.Parallel()
	w := newWorld(t, setup{conf: map[string]any{
		"limits.per_ip":          "2/hour",
		"limits.trusted_proxies": []string{"127.0.0.1/32", "10.0.0.0/8"},
	}})
	c := w.browser()
	c.post("/pwreset", "email=nobody1%40example.com", "X-Forwarded-For", "198.51.100.1, 203.0.113.9").expect(t, http.StatusSeeOther, "/pwreset/sent")
	c.post("/pwreset", "email=nobody2%40example.com", "X-Forwarded-For", "198.51.100.2, 203.0.113.9, 10.1.2.3").expect(t, http.StatusSeeOther, "/pwreset/sent")
	if r := c.post("/pwreset", "email=nobody3%40example.com", "X-Forwarded-For", "198.51.100.3", "X-Forwarded-For", "203.0.113.9"); r.StatusCode != http.StatusTooManyRequests {
		t.Errorf("3rd request from 203.0.113.9 behind forged left hops = %d, want 429", r.StatusCode)
	}
	c.post("/pwreset", "email=nobody4%40example.com", "X-Forwarded-For", "203.0.113.10").expect(t, http.StatusSeeOther, "/pwreset/sent")
	w.sync()
	for _, l := range w.logs("reset requested") {
		if ip := l.str("ip"); ip != "203.0.113.9" && ip != "203.0.113.10" {
			t.Errorf("audit record with client %q, want the rightmost untrusted hop", ip)
		}
	}
	c.get("/app/page", "X-Forwarded-For", "6.6.6.6, 203.0.113.50, 10.9.9.9")
	reqs := w.up.requests()
	if len(reqs) != 1 {
		t.Fatalf("the app received %d requests, want 1", len(reqs))
	}
	checkForwarding(t, reqs[0], "203.0.113.50")
}

// RQ-PRX-02: an h2c upgrade never reaches the app (it would open an HTTP/2 tunnel whose
// requests resetgate never sees), nor does an HTTP/2 prior-knowledge preface. Incident: h2c
// smuggling through reverse proxies (Bishop Fox, 2020) bypassing path-based access control.
func TestNoH2CTunnel(t *testing.T) {
	t.Parallel()
	w := newWorld(t, setup{})
	var wg sync.WaitGroup
	for _, up := range []string{"h2c", "H2C", "websocket, h2c"} {
		wg.Go(func() {
			// The connection may stay open after the answer; 3 s only bounds the wait.
			resp := rawRequestFor(w.base, "GET /app/h2c HTTP/1.1\r\nHost: app.example\r\nConnection: Upgrade, HTTP2-Settings\r\n"+
				"Upgrade: "+up+"\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n", 3*time.Second)
			if !strings.HasPrefix(resp, "HTTP/1.1 200") {
				t.Errorf("Upgrade: %s answered %q, want the app's plain 200", up, firstLine(resp))
			}
		})
	}
	wg.Go(func() { rawRequestFor(w.base, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 3*time.Second) })
	wg.Wait()
	if n := len(w.up.requests()); n != 3 {
		t.Errorf("the app received %d requests, want the 3 plain GETs", n)
	}
	for _, r := range w.up.requests() {
		if strings.Contains(strings.ToLower(strings.Join(r.Header.Values("Upgrade"), ",")), "h2c") || r.Header.Get("HTTP2-Settings") != "" {
			t.Errorf("the app received an h2c upgrade: %v", r.Header)
		}
		if r.Method == "PRI" {
			t.Errorf("the app received the HTTP/2 preface")
		}
	}
}

// smuggled is the request hidden behind an ambiguous one.
const smuggled = "GET /smuggled HTTP/1.1\r\nHost: app.example\r\n\r\n"

// ambiguousFramings give a request two possible lengths: Content-Length and
// Transfer-Encoding together, obfuscated Transfer-Encoding, conflicting Content-Lengths.
var ambiguousFramings = map[string]string{
	"CL.TE":               "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	"TE.CL":               "Transfer-Encoding: chunked\r\nContent-Length: 60\r\n\r\n0\r\n\r\n",
	"TE twice":            "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
	"TE list":             "Transfer-Encoding: identity, chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
	"TE xchunked":         "Transfer-Encoding: xchunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
	"TE with space":       "Transfer-Encoding : chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
	"TE obs-fold":         "Transfer-Encoding:\r\n chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
	"two Content-Lengths": "Content-Length: 0\r\nContent-Length: 48\r\n\r\n",
	"Content-Length list": "Content-Length: 0, 48\r\n\r\n",
	"Content-Length plus": "Content-Length: +0\r\n\r\n",
}

// checkNoSmuggling sends every ambiguous framing to path over raw TCP with a second request
// behind it, and requires that the hidden request is never served: the ambiguous request gets
// exactly one answer (served or refused) and then the server closes the connection (RFC 9112
// §6.1: "the server MUST close the connection after responding"). No answer at all (a failed
// connection, a crash, a hang) is a failure too: it proves nothing.
func checkNoSmuggling(t *testing.T, w *world, path string) {
	t.Helper()
	var wg sync.WaitGroup
	for name, framing := range ambiguousFramings {
		wg.Go(func() {
			payload := "POST " + path + " HTTP/1.1\r\nHost: app.example\r\nContent-Type: application/x-www-form-urlencoded\r\n" +
				"Sec-Fetch-Site: same-origin\r\n" + framing + smuggled
			resp, closed, err := exchange(w.base, payload, closeGuard)
			switch n := strings.Count(resp, "HTTP/1.1 "); {
			case err != nil:
				t.Errorf("%s to %s: %v", name, path, err)
			case n == 0:
				t.Errorf("%s to %s: no answer at all (%q): the check proves nothing", name, path, resp)
			case n > 1:
				t.Errorf("%s to %s: %d responses on one connection (the hidden request was served)", name, path, n)
			case !closed:
				t.Errorf("%s to %s: the connection stayed open after the answer, so the rest may be read as a request:\n%s", name, path, resp)
			}
		})
	}
	wg.Wait()
	for _, r := range w.up.requests() {
		if strings.Contains(r.URI, "smuggled") {
			t.Errorf("the app received the smuggled request %s %s", r.Method, r.URI)
		}
	}
}

// RQ-PRX-02: ambiguous request framing never hides a second request from a front end that
// frames by the other header, for requests resetgate forwards to the app. Incidents:
// CL.TE/TE.CL request smuggling (Watchfire 2005, PortSwigger 2019) used to poison caches and
// hijack other users' requests.
func TestNoRequestSmugglingToTheApp(t *testing.T) {
	t.Parallel()
	checkNoSmuggling(t, newWorld(t, setup{}), "/app/upload")
}

// RQ-PRX-02: the same for requests to resetgate's own pages: a CL.TE request to /pwreset must
// not leave its hidden request to be read as the next one (which resetgate then forwards to
// the app, unseen by a front end that framed by Content-Length).
func TestNoRequestSmugglingThroughResetPages(t *testing.T) {
	t.Parallel()
	checkNoSmuggling(t, newWorld(t, setup{}), "/pwreset")
}

// closeGuard bounds how long exchange waits for the server to close the connection, which a
// healthy server does within milliseconds of answering: it only ends a hang.
const closeGuard = 30 * time.Second

// exchange writes payload on a fresh connection to base and reads until the server closes the
// connection (closed) or wait passes; err is a failed dial, write or read.
func exchange(base, payload string, wait time.Duration) (resp string, closed bool, err error) {
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		return "", false, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(wait))
	if _, err := io.WriteString(conn, payload); err != nil {
		return "", false, err
	}
	b, err := io.ReadAll(conn)
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return string(b), false, nil
	case errors.Is(err, syscall.ECONNRESET):
		// A server that closes with the hidden request still unread makes the kernel send
		// RST: closed all the same.
		return string(b), true, nil
	}
	return string(b), err == nil, err
}

// rawRequestFor is rawRequest with a shorter wait and no test failure on I/O errors: a
// server that keeps the connection open after an ambiguous request is answered within
// milliseconds, so the wait only bounds the test.
func rawRequestFor(base, payload string, wait time.Duration) string {
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		return ""
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(wait))
	io.WriteString(conn, payload)
	b, _ := io.ReadAll(conn)
	return string(b)
}

// Server limits: a megabyte of headers gets 431 and never reaches the app; a client that
// never finishes its headers is cut off (ReadHeaderTimeout). Incidents: header-flood and
// Slowloris denial of service against servers without limits (CVE-2007-6750 for Apache).
func TestHeaderLimitsAndSlowClients(t *testing.T) {
	t.Parallel()
	w := newWorld(t, setup{})
	big := "GET /app/big HTTP/1.1\r\nHost: app.example\r\nX-Big: " + strings.Repeat("a", 1<<20) + "\r\n\r\n"
	if resp := rawRequestFor(w.base, big, 10*time.Second); !strings.HasPrefix(resp, "HTTP/1.1 431") {
		t.Errorf("1 MiB header answered %q, want 431", firstLine(resp))
	}
	var many strings.Builder
	many.WriteString("GET /pwreset HTTP/1.1\r\nHost: app.example\r\n")
	for i := range 5000 {
		fmt.Fprintf(&many, "X-H%d: %s\r\n", i, strings.Repeat("b", 30))
	}
	many.WriteString("\r\n")
	if resp := rawRequestFor(w.base, many.String(), 10*time.Second); !strings.HasPrefix(resp, "HTTP/1.1 431") {
		t.Errorf("5000 headers answered %q, want 431", firstLine(resp))
	}
	if n := len(w.up.requests()); n != 0 {
		t.Errorf("the app received %d oversized request(s)", n)
	}

	conn, err := net.Dial("tcp", strings.TrimPrefix(w.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET /app/slow HTTP/1.1\r\nHost: app.example\r\nX-Slow: ")
	// resetgate's header timeout is 10 s; a minute means there is none.
	conn.SetReadDeadline(time.Now().Add(time.Minute))
	if _, err := io.ReadAll(conn); err != nil {
		t.Errorf("a client that never finishes its headers was not cut off: %v", err)
	}
}

// RQ-PRX-04: resetgate and the app agree on who owns a path. Spellings that some server
// might decode into the reset area are answered by resetgate (and never forwarded, so no
// token can reach the app or its logs that way), and legacy paths reach the app byte for
// byte, never cleaned or re-encoded. Incidents: path-confusion bypasses between proxies and
// apps (Orange Tsai's "Breaking Parser Logic", Black Hat 2018; ";/" and "..;/" tricks
// against Tomcat/Spring behind nginx).
func TestProxyAndAppAgreeOnPaths(t *testing.T) {
	t.Parallel()
	w := newWorld(t, setup{})
	tok := w.requestLink("alice@example.com", aliceEmail)
	for _, p := range []string{
		"//pwreset/" + tok, "/PWRESET/" + tok, "/Pwreset/new", "/%70wreset/" + tok, "/%2570wreset/" + tok,
		"/pwreset%2F" + tok, "/pwreset/./new", "/x/../pwreset/" + tok, "/pwreset;a=b/" + tok, "/.;/pwreset/" + tok,
		"/%2e/pwreset/" + tok, "/pwreset/%2e%2e/pwreset/" + tok, "/pwreset//" + tok, "/pwreset\\" + tok, "/static/..%2Fpwreset/" + tok,
		"/pwreset/static/../../../../etc/passwd", "/pwreset/static/..%2F..%2Fgo.mod", "/pwreset/static/%2e%2e/templates/new.html",
	} {
		resp := rawRequest(t, w.base, "GET "+p+" HTTP/1.1\r\nHost: app.example\r\nConnection: close\r\n\r\n")
		if !strings.HasPrefix(resp, "HTTP/1.1 404") && !strings.HasPrefix(resp, "HTTP/1.1 400") {
			t.Errorf("GET %s answered %q, want resetgate's 404 (or 400)", redact(p, tok), firstLine(resp))
		}
		if strings.Contains(resp, "root:") || strings.Contains(resp, "module resetgate") || strings.Contains(resp, "{{define") {
			t.Errorf("GET %s serves a file outside the static directory", redact(p, tok))
		}
	}
	for _, r := range w.up.requests() {
		t.Errorf("the app received a reset-area spelling: %s", redact(r.URI, tok))
	}
	for _, p := range []string{"/api/items%2F7?a=1&b=%20x;y", "/a//b", "/a/./b/../c", "/caf%C3%A9?q=%ZZ", "/a|b", "/pwresetx", "/pwreset-old/x", "/app;jsessionid=1"} {
		rawRequest(t, w.base, "GET "+p+" HTTP/1.1\r\nHost: app.example\r\nConnection: close\r\n\r\n")
	}
	got := w.up.requests()
	want := []string{"/api/items%2F7?a=1&b=%20x;y", "/a//b", "/a/./b/../c", "/caf%C3%A9?q=%ZZ", "/a|b", "/pwresetx", "/pwreset-old/x", "/app;jsessionid=1"}
	if len(got) != len(want) {
		t.Fatalf("the app received %d legacy requests, want %d", len(got), len(want))
	}
	for i, r := range got {
		if r.URI != want[i] {
			t.Errorf("the app received %q for %q: the target was rewritten", r.URI, want[i])
		}
	}
}
