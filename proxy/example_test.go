package proxy_test

import (
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"resetgate/internal/clientip"
	"resetgate/proxy"
)

// How main wires the proxy: the client IP resolver from trusted_proxies, and a server whose
// settings the proxy relies on.
func ExampleNew() {
	upstream, _ := url.Parse("http://127.0.0.1:5000")     // config: upstream
	public, _ := url.Parse("https://app.example.com")     // config: public_url
	resolver, err := clientip.New([]string{"10.0.0.0/8"}) // config: limits.trusted_proxies
	if err != nil {
		slog.Error("bad trusted_proxies", "err", err)
		return
	}
	p, err := proxy.New(proxy.Options{
		Upstream:  upstream,
		PublicURL: public,
		ClientIP:  resolver.IP,
		Logger:    slog.Default(),
	})
	if err != nil {
		slog.Error("bad proxy options", "err", err)
		return
	}
	defer p.Close()

	srv := &http.Server{
		Addr:              "127.0.0.1:8080",
		Handler:           p, // in resetgate, behind the prefix dispatch
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		// Let "OPTIONS *" reach the app instead of net/http answering it.
		DisableGeneralOptionsHandler: true,
	}
	_ = srv // srv.ListenAndServe()
}
