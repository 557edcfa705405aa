// Package bench measures resetgate's cost against the proxies ops would otherwise use, and
// holds the Go benchmarks of the hot paths that no other package benchmarks: the proxy
// handler beside a bare httputil.ReverseProxy, the prefix dispatch, each page's render, the
// POST {prefix} handler, token creation and lookup, and link issue.
//
// The benchmarks here run with the others (`go test -run='^$' -bench=. ./...`) and are fast
// at -benchtime=1x. The side-by-side harness in cmd/harness (wrk against direct, a bare
// ReverseProxy, nginx, Caddy and resetgate; 1 GiB transfers; POST /pwreset; concurrent
// completions) is a program, not a test, so `go test ./...` never starts it: run it with
//
//	go run ./bench/cmd/harness -out BENCHMARKS.md
//
// from the module root (see bench/README.md).
package bench
