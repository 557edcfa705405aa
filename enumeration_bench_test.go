package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

// BenchmarkRequestKnownVsUnknown measures POST {prefix} for an existing and a non-existing
// address, interleaved so that drift hits both alike, through the whole public handler with
// the bbolt store, while the mail worker is stuck on an SMTP server that accepts connections
// and never answers (SMTP "slow"). It reports each median and their ratio, which SECURITY.md
// RQ-REQ-02 wants within 5 % of 1: the request path does no lookup and sends no mail, so
// nothing in it depends on the account.
//
//	go test -run '^$' -bench RequestKnownVsUnknown -benchtime 4000x .
func BenchmarkRequestKnownVsUnknown(b *testing.B) {
	users := sqliteUsers(b, "old-password-1")
	stall, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer stall.Close()
	go func() {
		for {
			c, err := stall.Accept()
			if err != nil {
				return
			}
			defer c.Close() // accepted, never answered
		}
	}()
	port := stall.Addr().(*net.TCPAddr).Port
	path := writeConfig(b, users, echoApp(b).URL, fmt.Sprintf("transport = \"smtp\"\n[mail.smtp]\nhost = \"127.0.0.1\"\nport = %d\ntls = \"none\"\ntimeout = \"30s\"\n[limits]\nper_ip = \"0\"\nper_email = \"0\"\n", port))
	cfg, err := loadConfig(path, env())
	if err != nil {
		b.Fatal(err)
	}
	cfg.AccessLog = "off"
	a, err := newApp(context.Background(), cfg, env(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go a.svc.Run(ctx)

	post := func(email string) time.Duration {
		req := httptest.NewRequest("POST", "/pwreset", strings.NewReader("email="+email))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		req.RemoteAddr = "192.0.2.1:1234"
		w := httptest.NewRecorder()
		start := time.Now()
		a.handler.ServeHTTP(w, req)
		d := time.Since(start)
		if w.Code != http.StatusSeeOther {
			b.Fatalf("POST = %d", w.Code)
		}
		return d
	}
	var known, unknown []time.Duration
	b.ResetTimer()
	for i := range b.N {
		if i%2 == 0 {
			known = append(known, post("alice%40example.com"))
		} else {
			unknown = append(unknown, post(fmt.Sprintf("nobody%d%%40example.com", i)))
		}
	}
	b.StopTimer()
	if len(known) == 0 || len(unknown) == 0 {
		return
	}
	mk, mu := median(known), median(unknown)
	b.ReportMetric(float64(mk.Microseconds()), "known-µs")
	b.ReportMetric(float64(mu.Microseconds()), "unknown-µs")
	b.ReportMetric(float64(mk)/float64(mu), "known/unknown")
}

func median(d []time.Duration) time.Duration {
	slices.Sort(d)
	return d[len(d)/2]
}
