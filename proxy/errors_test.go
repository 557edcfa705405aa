package proxy_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"resetgate/proxy"
)

// deadUpstream returns the URL of a loopback port nobody listens on.
func deadUpstream(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

func TestUpstreamDownServesBrandedPage(t *testing.T) {
	const secret = "tok3n-SECRET-value"
	var logs logBuffer
	upstream := deadUpstream(t)
	front := mustServe(t, mustProxy(t, upstream, func(o *proxy.Options) {
		o.Logger = newLogger(&logs)
		o.ErrorPage = testErrorPage
	}))

	for _, method := range []string{"GET", "POST"} {
		req, _ := http.NewRequest(method, front.URL+"/account/settings?token="+secret+"&next=/x", strings.NewReader("a=b"))
		req.Header.Set("Accept-Language", "de")
		resp, err := client(t).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body := readAll(t, resp.Body)
		resp.Body.Close()

		if resp.StatusCode != http.StatusBadGateway {
			t.Errorf("%s with upstream down: status %s, want 502", method, resp.Status)
		}
		for k, want := range map[string]string{
			"Content-Type":           "text/html; charset=utf-8",
			"Cache-Control":          "no-store",
			"X-Content-Type-Options": "nosniff",
		} {
			if got := resp.Header.Get(k); got != want {
				t.Errorf("%s: %s = %q, want %q", method, k, got, want)
			}
		}
		if !strings.Contains(body, "Die Anwendung antwortet gerade nicht") || !strings.Contains(body, `<html lang="de" dir="ltr">`) {
			t.Errorf("%s: page lacks the explanation:\n%s", method, body)
		}
		port := upstream[strings.LastIndexByte(upstream, ':')+1:]
		for _, leak := range []string{"refused", "dial", "tcp", "127.0.0.1", port, secret, "Go", "httputil"} {
			if strings.Contains(body, leak) {
				t.Errorf("%s: page leaks %q:\n%s", method, leak, body)
			}
		}
	}

	l := logs.String()
	if !strings.Contains(l, "level=ERROR") || !strings.Contains(l, "upstream request failed") ||
		!strings.Contains(l, "path=/account/settings") || !strings.Contains(l, "status=502") {
		t.Errorf("log lacks the failure record:\n%s", l)
	}
	if !strings.Contains(l, "connection refused") {
		t.Errorf("log lacks the cause:\n%s", l)
	}
	if strings.Contains(l, secret) || strings.Contains(l, "token=") {
		t.Errorf("log contains the query string:\n%s", l)
	}
}

// testErrorPage is an ErrorPage as main's: the page in the client's language.
func testErrorPage(r *http.Request, status int) []byte {
	t := proxy.ErrorText{Lang: "en", Dir: "ltr", Title: "The application is taking too long to answer"}
	switch {
	case r.Header.Get("Accept-Language") == "de":
		t = proxy.ErrorText{Lang: "de", Dir: "ltr", Title: "Die Anwendung antwortet gerade nicht", Retry: "Erneut versuchen"}
	case status == http.StatusBadGateway:
		t.Title = "The application is not answering right now"
	}
	page, err := proxy.RenderErrorPage(status, t)
	if err != nil {
		panic(err)
	}
	return page
}

// Without an ErrorPage the page is self-contained and has the status alone, no words of its own.
func TestErrorPageSelfContained(t *testing.T) {
	front := mustServe(t, mustProxy(t, deadUpstream(t), nil))
	resp, err := client(t).Get(front.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(t, resp.Body)
	resp.Body.Close()
	if !strings.Contains(body, "<h1>Bad Gateway</h1>") || !strings.Contains(body, `<p class="code">502</p>`) {
		t.Errorf("bare page:\n%s", body)
	}
	for _, external := range []string{"http:", "https:", "//", "<script", "<link", "@import", "url("} {
		if strings.Contains(body, external) {
			t.Errorf("error page references %q; it must be self-contained:\n%s", external, body)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("Content-Security-Policy = %q, want default-src 'none'", csp)
	}
	if !strings.Contains(body, `<html lang="en" dir="ltr">`) || !strings.Contains(body, `name="viewport"`) {
		t.Errorf("error page lacks lang or viewport:\n%s", body)
	}
}

// blockingUpstream accepts requests and answers none until the test ends.
func blockingUpstream(t *testing.T) (url string, arrived <-chan struct{}) {
	t.Helper()
	release := make(chan struct{})
	got := make(chan struct{}, 16)
	up := mustServe(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(release) })
	return up.URL, got
}

func TestTimeoutServes504(t *testing.T) {
	t.Run("transport timeout", func(t *testing.T) {
		upstream, _ := blockingUpstream(t)
		tr := proxy.NewTransport()
		tr.ResponseHeaderTimeout = 10 * time.Millisecond // any value: the upstream never answers
		var logs logBuffer
		front := mustServe(t, mustProxy(t, upstream, func(o *proxy.Options) {
			o.Transport = tr
			o.Logger = newLogger(&logs)
			o.ErrorPage = testErrorPage
		}))
		resp, err := client(t).Get(front.URL + "/slow")
		if err != nil {
			t.Fatal(err)
		}
		body := readAll(t, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusGatewayTimeout || !strings.Contains(body, "taking too long") {
			t.Errorf("status %s, body %q; want 504 and the timeout page", resp.Status, body)
		}
		if !strings.Contains(logs.String(), "status=504") {
			t.Errorf("log lacks the 504 record:\n%s", logs.String())
		}
	})
	t.Run("request deadline", func(t *testing.T) {
		upstream, _ := blockingUpstream(t)
		p := mustProxy(t, upstream, nil)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		rec := httptest.NewRecorder()
		req := httptest.NewRequestWithContext(ctx, "GET", "/slow", nil)
		p.ServeHTTP(rec, req)
		if rec.Code != http.StatusGatewayTimeout {
			t.Errorf("status %d, want 504", rec.Code)
		}
	})
}

func TestClientCanceledGetsNoPageAndNoErrorLog(t *testing.T) {
	upstream, arrived := blockingUpstream(t)
	var logs logBuffer
	p := mustProxy(t, upstream, func(o *proxy.Options) { o.Logger = newLogger(&logs) })
	ctx, cancel := context.WithCancel(context.Background())
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.ServeHTTP(rec, httptest.NewRequestWithContext(ctx, "GET", "/wait?token=x", nil))
	}()
	wait(t, arrived, "request reaching the upstream")
	cancel()
	wait(t, done, "ServeHTTP returning after the client canceled")
	if rec.Body.Len() != 0 || rec.Header().Get("Content-Type") != "" {
		t.Errorf("canceled request got a response: %d %q", rec.Code, rec.Body.String())
	}
	if l := logs.String(); strings.Contains(l, "level=ERROR") {
		t.Errorf("canceled request logged an error:\n%s", l)
	}
}

// TestUnreadBodyKeepAlive: the app answers without reading the request body, and the client
// reuses the connection. With full duplex on, net/http would panic the connection on the
// second request unless the proxy closes the body (golang/go#68560); mustServe fails the
// test on any logged panic.
func TestUnreadBodyKeepAlive(t *testing.T) {
	up := mustServe(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusRequestEntityTooLarge)
	}))
	front := mustServe(t, mustProxy(t, up.URL, nil))
	c := client(t)
	for i := range 3 {
		resp, err := c.Post(front.URL+"/upload", "text/plain", strings.NewReader(strings.Repeat("x", 4096)))
		if err != nil {
			t.Fatalf("POST %d: %v", i, err)
		}
		readAll(t, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("POST %d: status %s, want 413", i, resp.Status)
		}
	}
}
