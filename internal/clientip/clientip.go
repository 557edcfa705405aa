// Package clientip decides which IP address a request comes from: the socket peer, or — only
// when that peer is a configured trusted proxy — the address the proxy chain reports in
// X-Forwarded-For. Rate limits, the audit log and the proxy's own X-Forwarded-For all use it,
// so a client cannot pick its own identity by sending headers (SECURITY.md RQ-REQ-03, RQ-PRX-01).
package clientip

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// ErrInvalidEntry is wrapped by [New] for each trusted-proxy entry that is neither an IP
// address nor a CIDR prefix.
var ErrInvalidEntry = errors.New("not an IP address or CIDR prefix")

// Resolver finds a request's client IP. The zero value and a nil *Resolver trust no proxy and
// always answer the socket peer. A Resolver is immutable and safe for concurrent use.
type Resolver struct {
	trusted []netip.Prefix
}

// New returns a Resolver that believes X-Forwarded-For only when the socket peer lies in one of
// trustedCIDRs. Entries are CIDR prefixes ("10.0.0.0/8", "fd00::/8") or bare addresses
// ("192.0.2.7", "::1", taken as /32 or /128); surrounding spaces are ignored, host bits are
// masked off, and IPv4-mapped IPv6 forms are folded to IPv4. Every bad entry is reported, each
// wrapping [ErrInvalidEntry] and naming the entry and its index. An empty list trusts nobody.
//
// Trusting a prefix that also contains clients (or 0.0.0.0/0) lets those clients choose the
// address resetgate sees: list only the proxies in front of resetgate.
func New(trustedCIDRs []string) (*Resolver, error) {
	r := &Resolver{}
	var errs []error
	for i, entry := range trustedCIDRs {
		p, err := parseTrusted(strings.TrimSpace(entry))
		if err != nil {
			errs = append(errs, fmt.Errorf("trusted proxy %d (%q): %w", i, entry, ErrInvalidEntry))
			continue
		}
		r.trusted = append(r.trusted, p)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return r, nil
}

func parseTrusted(s string) (netip.Prefix, error) {
	if strings.IndexByte(s, '/') < 0 {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return netip.Prefix{}, ErrInvalidEntry
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	// "::ffff:10.0.0.0/104" means 10.0.0.0/8; peers are unmapped before matching, so the
	// prefix must be too or it would never match.
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// Trusted reports whether addr is one of the trusted proxies.
func (r *Resolver) Trusted(addr netip.Addr) bool {
	if r == nil {
		return false
	}
	addr = addr.Unmap()
	for _, p := range r.trusted {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// IP returns the client's address for req, without IPv6 zone and with IPv4-mapped IPv6
// addresses unmapped. It is the socket peer (req.RemoteAddr) unless that peer is trusted; then
// every X-Forwarded-For field line, taken as one comma-separated list in order, is walked from
// the right, skipping trusted hops, and the first untrusted hop is the client. An entry may
// carry a port ("192.0.2.1:4711", "[2001:db8::1]:443"). If the walk meets an entry that is not
// an address, or runs out of entries, the last address it established is returned (at worst
// the trusted peer itself): the client is then unknown, and it is safer to charge a trusted
// proxy than to believe a value further left, which anyone can write. The result is the zero
// Addr only when RemoteAddr itself is not an address (a Unix socket, a hand-made request).
//
// IP does not allocate, unless an address carries an IPv6 zone (which it then drops).
func (r *Resolver) IP(req *http.Request) netip.Addr {
	peer := parsePeer(req.RemoteAddr)
	if r == nil || len(r.trusted) == 0 || !peer.IsValid() || !r.Trusted(peer) {
		return peer
	}
	client := peer
	values := req.Header["X-Forwarded-For"]
	for i := len(values) - 1; i >= 0; i-- {
		list := values[i]
		for list != "" {
			var hop string
			if j := strings.LastIndexByte(list, ','); j >= 0 {
				hop, list = list[j+1:], list[:j]
			} else {
				hop, list = list, ""
			}
			hop = strings.TrimSpace(hop)
			if hop == "" {
				// Empty list elements are allowed by the list syntax (RFC 9110 §5.6.1).
				continue
			}
			a, ok := parseHop(hop)
			if !ok {
				return client
			}
			client = a
			if !r.Trusted(a) {
				return a
			}
		}
	}
	return client
}

// parsePeer parses a RemoteAddr as net/http sets it ("ip:port", "[ipv6]:port"), or a bare
// address as hand-made requests sometimes carry.
func parsePeer(s string) netip.Addr {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return normalize(ap.Addr())
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return normalize(a)
	}
	return netip.Addr{}
}

// parseHop parses one X-Forwarded-For element: an address, optionally with a port, IPv6
// optionally in brackets.
func parseHop(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		return normalize(a), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return normalize(ap.Addr()), true
	}
	if len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']' {
		if a, err := netip.ParseAddr(s[1 : len(s)-1]); err == nil {
			return normalize(a), true
		}
	}
	return netip.Addr{}, false
}

// normalize drops the zone (meaningless beyond one host, and a free way to mint distinct rate
// limit keys) and unmaps IPv4-mapped IPv6 so that one client has one identity.
func normalize(a netip.Addr) netip.Addr {
	return a.WithZone("").Unmap()
}
