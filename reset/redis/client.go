package redis

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Options configure Open. Give either URL or Addrs.
type Options struct {
	// URL addresses a single node: redis://[user:password@]host:port/db, rediss://… for TLS,
	// or unix://[user:password@]/path/to/socket?db=N. Query parameters set go-redis options
	// (e.g. ?dial_timeout=3s); see go-redis' ParseURL.
	URL string
	// Addrs are, instead of URL: the Sentinel addresses when MasterName is set, else the
	// seed nodes of a Cluster when there are several (or Cluster is set), else one node.
	Addrs []string
	// MasterName names the Sentinel-monitored primary, and selects Sentinel (failover) mode.
	MasterName string
	// Cluster selects Cluster mode with a single seed address, such as a managed service's
	// configuration endpoint.
	Cluster bool

	// Username and Password authenticate to Redis; when set, they override those in URL, so
	// that the password can come from a secret file rather than the URL.
	Username, Password string
	// SentinelUsername and SentinelPassword authenticate to the Sentinels, when they
	// require it.
	SentinelUsername, SentinelPassword string
	// DB selects the database (not in Cluster mode). With URL, a nonzero DB overrides the
	// URL's.
	DB int
	// TLS, when set, encrypts connections with this configuration (with URL, overriding
	// the one rediss:// implies).
	TLS *tls.Config

	// KeyPrefix starts every key; empty means DefaultKeyPrefix. Replicas sharing state use
	// the same prefix; different prefixes keep deployments (or tests) apart in one database.
	// In Cluster mode it must contain a hash tag, e.g. "{resetgate}:" (see the package doc).
	KeyPrefix string

	// DialTimeout, ReadTimeout and WriteTimeout bound connecting, reading and writing; zero
	// means go-redis' defaults (5 s for dialing and reads, writes as reads). A context's
	// deadline also bounds every call.
	DialTimeout, ReadTimeout, WriteTimeout time.Duration
	// PoolSize is the number of connections per node; zero means go-redis' default (10 per
	// CPU).
	PoolSize int
}

// newClient makes the go-redis client for o without connecting, and describes its address.
func newClient(o Options) (c goredis.UniversalClient, addr string, cluster bool, err error) {
	switch {
	case o.URL != "" && len(o.Addrs) > 0:
		return nil, "", false, errors.New("give either a URL or addresses, not both")
	case o.URL != "":
		opt, err := parseURL(o.URL)
		if err != nil {
			return nil, "", false, err
		}
		if o.Username != "" {
			opt.Username = o.Username
		}
		if o.Password != "" {
			opt.Password = o.Password
		}
		if o.DB != 0 {
			opt.DB = o.DB
		}
		if o.TLS != nil {
			opt.TLSConfig = o.TLS
		}
		if o.DialTimeout != 0 {
			opt.DialTimeout = o.DialTimeout
		}
		if o.ReadTimeout != 0 {
			opt.ReadTimeout = o.ReadTimeout
		}
		if o.WriteTimeout != 0 {
			opt.WriteTimeout = o.WriteTimeout
		}
		if o.PoolSize != 0 {
			opt.PoolSize = o.PoolSize
		}
		opt.ContextTimeoutEnabled = true
		return goredis.NewClient(opt), opt.Addr, false, nil
	case len(o.Addrs) == 0:
		return nil, "", false, errors.New("no URL and no addresses")
	}
	uo := &goredis.UniversalOptions{
		Addrs:                 o.Addrs,
		MasterName:            o.MasterName,
		IsClusterMode:         o.Cluster,
		Username:              o.Username,
		Password:              o.Password,
		SentinelUsername:      o.SentinelUsername,
		SentinelPassword:      o.SentinelPassword,
		DB:                    o.DB,
		TLSConfig:             o.TLS,
		DialTimeout:           o.DialTimeout,
		ReadTimeout:           o.ReadTimeout,
		WriteTimeout:          o.WriteTimeout,
		PoolSize:              o.PoolSize,
		ContextTimeoutEnabled: true,
	}
	addr = strings.Join(o.Addrs, ",")
	switch {
	case o.MasterName != "":
		addr = fmt.Sprintf("primary %q via sentinels %s", o.MasterName, addr)
	case o.Cluster || len(o.Addrs) > 1:
		cluster = true
	}
	return goredis.NewUniversalClient(uo), addr, cluster, nil
}

// probeSentinels asks each Sentinel in turn for the address of o.MasterName, once each, and
// returns nil at the first answer, else every Sentinel's error.
func probeSentinels(ctx context.Context, o Options) error {
	var errs []error
	for _, a := range o.Addrs {
		sc := goredis.NewSentinelClient(&goredis.Options{
			Addr: a, Username: o.SentinelUsername, Password: o.SentinelPassword, TLSConfig: o.TLS,
			DialTimeout: o.DialTimeout, ReadTimeout: o.ReadTimeout, WriteTimeout: o.WriteTimeout,
			MaxRetries: -1, DialerRetries: 1, ContextTimeoutEnabled: true,
		})
		_, err := sc.GetMasterAddrByName(ctx, o.MasterName).Result()
		sc.Close()
		switch {
		case err == nil:
			return nil
		case errors.Is(err, goredis.Nil):
			err = fmt.Errorf("sentinel %s: monitors no primary named %q", a, o.MasterName)
		default:
			err = fmt.Errorf("sentinel %s: %w", a, err)
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// parseURL is goredis.ParseURL without the URL in its errors: net/url quotes the whole
// string, password included.
func parseURL(raw string) (*goredis.Options, error) {
	if _, err := url.Parse(raw); err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("invalid URL: %w", err)
	}
	opt, err := goredis.ParseURL(raw)
	if err != nil {
		// go-redis' messages name neither the password nor the host; drop their "redis: ".
		return nil, fmt.Errorf("invalid URL: %s", strings.TrimPrefix(err.Error(), "redis: "))
	}
	return opt, nil
}

// hasHashTag reports whether every key starting with prefix hashes by a tag within prefix:
// Redis hashes the part between the first "{" and the next "}" when it is not empty.
func hasHashTag(prefix string) bool {
	i := strings.IndexByte(prefix, '{')
	if i < 0 {
		return false
	}
	j := strings.IndexByte(prefix[i+1:], '}')
	return j > 0
}

// Info returns the server's version, e.g. "7.2.4", or "valkey 8.0.1" for Valkey (which also
// reports a Redis-compatible redis_version), for `resetgate check`.
func (s *Store) Info(ctx context.Context) (version string, err error) {
	info, err := s.c.Info(ctx, "server").Result()
	if err != nil {
		return "", fmt.Errorf("redis: info %s: %w", s.addr, err)
	}
	if v := infoField(info, "valkey_version"); v != "" {
		return "valkey " + v, nil
	}
	if v := infoField(info, "redis_version"); v != "" {
		return v, nil
	}
	return "", fmt.Errorf("redis: info %s: no redis_version in the reply", s.addr)
}

// Warnings returns what, in the server's configuration, puts resetgate's state at risk, each
// a sentence for `resetgate check`: a maxmemory-policy other than noeviction, under which
// Redis may drop tokens, queued mail and the shared secrets to free memory, and persistence
// without the append-only file. None means the configuration is as the package doc asks.
func (s *Store) Warnings(ctx context.Context) ([]string, error) {
	info, err := s.c.Info(ctx, "memory", "persistence").Result()
	if err != nil {
		return nil, fmt.Errorf("redis: info %s: %w", s.addr, err)
	}
	var warnings []string
	if p := infoField(info, "maxmemory_policy"); p != "" && p != "noeviction" {
		warnings = append(warnings, fmt.Sprintf("maxmemory-policy is %s, not noeviction: under memory pressure Redis may evict tokens, queued mail and the session secret", p))
	}
	if infoField(info, "aof_enabled") == "0" {
		warnings = append(warnings, "appendonly is off: a restart of Redis loses every write since its last snapshot, queued mail included (set appendonly yes, appendfsync everysec)")
	}
	return warnings, nil
}

// infoField returns a field of an INFO reply ("name:value" lines), or "".
func infoField(info, name string) string {
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
			return v
		}
	}
	return ""
}
