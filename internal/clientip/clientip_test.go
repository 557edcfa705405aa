package clientip_test

import (
	"errors"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"resetgate/internal/clientip"
)

func mustNew(t testing.TB, trusted ...string) *clientip.Resolver {
	t.Helper()
	r, err := clientip.New(trusted)
	if err != nil {
		t.Fatalf("New(%q) = %v", trusted, err)
	}
	return r
}

func request(remote string, xff ...string) *http.Request {
	req := &http.Request{RemoteAddr: remote, Header: http.Header{}}
	for _, v := range xff {
		req.Header.Add("X-Forwarded-For", v)
	}
	return req
}

func TestIP(t *testing.T) {
	tests := []struct {
		name    string
		trusted []string
		remote  string
		xff     []string
		header  http.Header // extra raw headers, keys exactly as a client could send them
		want    string      // "" = the zero Addr
	}{
		{name: "no proxies trusted: peer", remote: "198.51.100.7:5555", want: "198.51.100.7"},
		{name: "spoofed XFF from untrusted peer ignored", remote: "198.51.100.7:5555",
			xff: []string{"1.2.3.4"}, want: "198.51.100.7"},
		{name: "spoofed XFF ignored when a proxy is trusted but the peer is not it",
			trusted: []string{"10.0.0.0/8"}, remote: "198.51.100.7:5555", xff: []string{"10.1.1.1, 1.2.3.4"},
			want: "198.51.100.7"},
		{name: "trusted peer: rightmost hop is the client", trusted: []string{"10.0.0.1"},
			remote: "10.0.0.1:443", xff: []string{"203.0.113.9"}, want: "203.0.113.9"},
		{name: "client-written prefix to the left is not believed", trusted: []string{"10.0.0.1"},
			remote: "10.0.0.1:443", xff: []string{"1.1.1.1, 2.2.2.2, 203.0.113.9"}, want: "203.0.113.9"},
		{name: "trusted hops skipped from the right", trusted: []string{"10.0.0.0/8", "192.168.0.0/16"},
			remote: "10.0.0.1:443", xff: []string{"6.6.6.6, 203.0.113.9, 192.168.1.1, 10.2.3.4"},
			want: "203.0.113.9"},
		{name: "several XFF field lines are one list in order", trusted: []string{"10.0.0.0/8"},
			remote: "10.0.0.1:443", xff: []string{"6.6.6.6", "203.0.113.9, 10.9.9.9", "10.1.1.1"},
			want: "203.0.113.9"},
		{name: "spoof in an earlier field line does not win", trusted: []string{"10.0.0.0/8"},
			remote: "10.0.0.1:443", xff: []string{"1.2.3.4", "203.0.113.9"}, want: "203.0.113.9"},
		{name: "trusted peer without XFF: peer", trusted: []string{"10.0.0.0/8"},
			remote: "10.0.0.1:443", want: "10.0.0.1"},
		{name: "every hop trusted: leftmost", trusted: []string{"10.0.0.0/8"},
			remote: "10.0.0.1:443", xff: []string{"10.3.3.3, 10.2.2.2"}, want: "10.3.3.3"},
		{name: "garbage hop stops the walk at the last known address", trusted: []string{"10.0.0.0/8"},
			remote: "10.0.0.1:443", xff: []string{"203.0.113.9, unknown, 10.2.2.2"}, want: "10.2.2.2"},
		{name: "garbage rightmost: the trusted peer", trusted: []string{"10.0.0.0/8"},
			remote: "10.0.0.1:443", xff: []string{"203.0.113.9, <script>"}, want: "10.0.0.1"},
		{name: "garbage to the left of the client is never reached", trusted: []string{"10.0.0.0/8"},
			remote: "10.0.0.1:443", xff: []string{"not-an-ip, 203.0.113.9"}, want: "203.0.113.9"},
		{name: "obfuscated identifier (RFC 7239 style) is garbage", trusted: []string{"10.0.0.0/8"},
			remote: "10.0.0.1:443", xff: []string{"_hidden"}, want: "10.0.0.1"},
		{name: "empty list elements skipped", trusted: []string{"10.0.0.0/8"},
			remote: "10.0.0.1:443", xff: []string{" , 203.0.113.9 ,, ", ""}, want: "203.0.113.9"},
		{name: "hop with port", trusted: []string{"10.0.0.0/8"},
			remote: "10.0.0.1:443", xff: []string{"203.0.113.9:4711"}, want: "203.0.113.9"},
		{name: "IPv6 peer", remote: "[2001:db8::5]:443", want: "2001:db8::5"},
		{name: "IPv6 peer with zone loses the zone", remote: "[fe80::1%eth0]:443", want: "fe80::1"},
		{name: "IPv4-mapped peer is unmapped and matches an IPv4 prefix", trusted: []string{"10.0.0.0/8"},
			remote: "[::ffff:10.0.0.1]:443", xff: []string{"203.0.113.9"}, want: "203.0.113.9"},
		{name: "IPv6 trusted proxy, IPv6 client", trusted: []string{"fd00::/8"},
			remote: "[fd00::1]:443", xff: []string{"2001:db8::9, fd00::2"}, want: "2001:db8::9"},
		{name: "bracketed IPv6 hop with port", trusted: []string{"fd00::/8"},
			remote: "[fd00::1]:443", xff: []string{"[2001:db8::9]:443"}, want: "2001:db8::9"},
		{name: "bracketed IPv6 hop without port", trusted: []string{"fd00::/8"},
			remote: "[fd00::1]:443", xff: []string{"[2001:db8::9]"}, want: "2001:db8::9"},
		{name: "IPv4-mapped hop is unmapped", trusted: []string{"10.0.0.0/8"},
			remote: "10.0.0.1:443", xff: []string{"::ffff:203.0.113.9"}, want: "203.0.113.9"},
		{name: "zone in a hop is dropped", trusted: []string{"10.0.0.0/8"},
			remote: "10.0.0.1:443", xff: []string{"fe80::9%25eth0, fe80::9%eth1"}, want: "fe80::9"},
		{name: "underscore variant is not X-Forwarded-For", trusted: []string{"10.0.0.0/8"},
			remote: "10.0.0.1:443", header: http.Header{"X_forwarded_for": {"1.2.3.4"}}, want: "10.0.0.1"},
		{name: "mapped trusted prefix matches IPv4 peer", trusted: []string{"::ffff:10.0.0.0/104"},
			remote: "10.0.0.1:443", xff: []string{"203.0.113.9"}, want: "203.0.113.9"},
		{name: "host bits in a trusted prefix are masked", trusted: []string{"10.1.2.3/8"},
			remote: "10.9.9.9:443", xff: []string{"203.0.113.9"}, want: "203.0.113.9"},
		{name: "RemoteAddr without port", remote: "198.51.100.7", want: "198.51.100.7"},
		{name: "RemoteAddr not an address", remote: "@", want: ""},
		{name: "empty RemoteAddr", remote: "", trusted: []string{"10.0.0.0/8"}, xff: []string{"1.2.3.4"}, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustNew(t, tt.trusted...)
			req := request(tt.remote, tt.xff...)
			for k, v := range tt.header {
				req.Header[k] = v
			}
			got := r.IP(req)
			var want netip.Addr
			if tt.want != "" {
				want = netip.MustParseAddr(tt.want)
			}
			if got != want {
				t.Errorf("IP(RemoteAddr %q, XFF %q) = %v, want %v", tt.remote, tt.xff, got, want)
			}
		})
	}
}

func TestNilAndZeroResolverAnswerThePeer(t *testing.T) {
	req := request("198.51.100.7:1", "1.2.3.4")
	var nilR *clientip.Resolver
	if got := nilR.IP(req); got != netip.MustParseAddr("198.51.100.7") {
		t.Errorf("(*Resolver)(nil).IP = %v, want 198.51.100.7", got)
	}
	if got := new(clientip.Resolver).IP(req); got != netip.MustParseAddr("198.51.100.7") {
		t.Errorf("Resolver{}.IP = %v, want 198.51.100.7", got)
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		entries []string
		wantErr []string // substrings of the error, one per bad entry; nil = no error
	}{
		{name: "empty list", entries: nil},
		{name: "CIDRs and bare addresses", entries: []string{"10.0.0.0/8", " 192.0.2.7 ", "::1", "fd00::/8"}},
		{name: "garbage entry named", entries: []string{"10.0.0.0/8", "proxy.internal"},
			wantErr: []string{`1 ("proxy.internal")`}},
		{name: "every bad entry reported", entries: []string{"10.0.0.0/33", "", "1.2.3"},
			wantErr: []string{`0 ("10.0.0.0/33")`, `1 ("")`, `2 ("1.2.3")`}},
		{name: "zone refused", entries: []string{"fe80::1%eth0"}, wantErr: []string{`"fe80::1%eth0"`}},
		{name: "port refused", entries: []string{"10.0.0.1:80"}, wantErr: []string{`"10.0.0.1:80"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := clientip.New(tt.entries)
			if tt.wantErr == nil {
				if err != nil || r == nil {
					t.Fatalf("New(%q) = %v, %v, want a resolver", tt.entries, r, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("New(%q) = nil error, want one naming %q", tt.entries, tt.wantErr)
			}
			if !errors.Is(err, clientip.ErrInvalidEntry) {
				t.Errorf("New(%q) = %v, want it to wrap ErrInvalidEntry", tt.entries, err)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("New(%q) = %q, want it to mention %s", tt.entries, err, w)
				}
			}
		})
	}
}

func TestIPDoesNotAllocate(t *testing.T) {
	for _, tt := range []struct {
		name    string
		trusted []string
		req     *http.Request
	}{
		{"no proxies trusted", nil, request("198.51.100.7:5555", "1.2.3.4")},
		{"trusted chain", []string{"10.0.0.0/8"}, request("10.0.0.1:443", "6.6.6.6, 203.0.113.9, 10.2.3.4", "10.1.1.1")},
		{"IPv6", []string{"fd00::/8"}, request("[fd00::1]:443", "2001:db8::9")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := mustNew(t, tt.trusted...)
			if n := testing.AllocsPerRun(100, func() { r.IP(tt.req) }); n != 0 {
				t.Errorf("IP allocates %v times per call, want 0", n)
			}
		})
	}
}

// FuzzIP checks the resolver's invariants on arbitrary input: it never panics, an untrusted
// peer is always the answer, the answer is always normalised, and when the peer is trusted the
// answer is the peer or an address written in X-Forwarded-For.
func FuzzIP(f *testing.F) {
	f.Add("10.0.0.1:443", "203.0.113.9, 10.2.3.4", "1.2.3.4")
	f.Add("[fd00::1]:443", "[2001:db8::9]:443", "")
	f.Add("198.51.100.7:5555", "1.2.3.4", "")
	f.Add("10.0.0.1:1", "unknown, , ,", "::ffff:10.0.0.1")
	f.Add("[::ffff:10.0.0.1]:1", "fe80::1%eth0", "[::1]")
	f.Fuzz(func(t *testing.T, remote, xff1, xff2 string) {
		r := mustNew(t, "10.0.0.0/8", "fd00::/8", "::1")
		req := request(remote, xff1, xff2)
		got := r.IP(req)

		var peer netip.Addr
		if ap, err := netip.ParseAddrPort(remote); err == nil {
			peer = ap.Addr().WithZone("").Unmap()
		} else if a, err := netip.ParseAddr(remote); err == nil {
			peer = a.WithZone("").Unmap()
		}
		if !peer.IsValid() {
			if got.IsValid() {
				t.Fatalf("IP(%q) = %v for an unparsable peer, want the zero Addr", remote, got)
			}
			return
		}
		if got.Zone() != "" || got.Is4In6() {
			t.Fatalf("IP(%q, %q, %q) = %v, not normalised", remote, xff1, xff2, got)
		}
		if !r.Trusted(peer) && got != peer {
			t.Fatalf("IP(%q, %q, %q) = %v for an untrusted peer, want %v", remote, xff1, xff2, got, peer)
		}
		if got != peer && !written(got, xff1, xff2) {
			t.Fatalf("IP(%q, %q, %q) = %v, which is neither the peer nor in X-Forwarded-For", remote, xff1, xff2, got)
		}
	})
}

// written reports whether a appears as an element of the X-Forwarded-For values, in one of
// the spellings the resolver documents (address, address:port, [IPv6]:port, [IPv6]).
func written(a netip.Addr, values ...string) bool {
	for _, v := range values {
		for _, e := range strings.Split(v, ",") {
			e = strings.TrimSpace(e)
			var found []netip.Addr
			if p, err := netip.ParseAddr(e); err == nil {
				found = append(found, p)
			}
			if ap, err := netip.ParseAddrPort(e); err == nil {
				found = append(found, ap.Addr())
			}
			if p, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(e, "["), "]")); err == nil {
				found = append(found, p)
			}
			for _, p := range found {
				if p.WithZone("").Unmap() == a {
					return true
				}
			}
		}
	}
	return false
}

func BenchmarkIP(b *testing.B) {
	for _, bb := range []struct {
		name    string
		trusted []string
		req     *http.Request
	}{
		{"untrusted peer", nil, request("198.51.100.7:5555")},
		{"trusted chain", []string{"10.0.0.0/8"}, request("10.0.0.1:443", "6.6.6.6, 203.0.113.9, 10.2.3.4")},
	} {
		b.Run(bb.name, func(b *testing.B) {
			r := mustNew(b, bb.trusted...)
			b.ReportAllocs()
			for b.Loop() {
				r.IP(bb.req)
			}
		})
	}
}
