package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"

	"resetgate/internal/clientip"
	"resetgate/reset"
	"resetgate/reset/passhash"
	"resetgate/web"
)

// Config is config.toml. Key names are public and stable (DESIGN.md, config contract); every
// default is documented in the shipped, annotated config.toml.
type Config struct {
	Listen        string   `toml:"listen"`
	PublicURL     string   `toml:"public_url"`
	Upstream      string   `toml:"upstream"`
	Prefix        string   `toml:"prefix"`
	DataDir       string   `toml:"data_dir"`
	SiteName      string   `toml:"site_name"`
	LogFormat     string   `toml:"log_format"`
	LogLevel      string   `toml:"log_level"`
	AccessLog     string   `toml:"access_log"`
	ShutdownGrace duration `toml:"shutdown_grace"`
	TLSCert       string   `toml:"tls_cert"`
	TLSKey        string   `toml:"tls_key"`

	Users  UsersConfig  `toml:"users"`
	Mail   MailConfig   `toml:"mail"`
	Reset  ResetConfig  `toml:"reset"`
	Limits LimitsConfig `toml:"limits"`
	Store  StoreConfig  `toml:"store"`
	Admin  AdminConfig  `toml:"admin"`

	// Filled by Load and validate, not read from the file.
	path   string
	public *url.URL
	up     *url.URL
	rates  map[string]reset.Rate
}

// UsersConfig is [users]: the legacy app's user store.
type UsersConfig struct {
	Driver         string   `toml:"driver"`
	DSN            string   `toml:"dsn"`
	DSNEnv         string   `toml:"dsn_env"`
	DSNFile        string   `toml:"dsn_file"`
	Table          string   `toml:"table"`
	IDColumn       string   `toml:"id_column"`
	EmailColumn    string   `toml:"email_column"`
	PasswordColumn string   `toml:"password_column"`
	NameColumn     string   `toml:"name_column"`
	CaseSensitive  bool     `toml:"email_case_sensitive"`
	Hash           string   `toml:"hash"`
	FallbackHash   string   `toml:"fallback_hash"`
	UpgradeCost    bool     `toml:"upgrade_cost"`
	FindUser       string   `toml:"find_user"`
	SetPassword    string   `toml:"set_password"`
	AfterReset     []string `toml:"after_reset"`
}

// MailConfig is [mail].
type MailConfig struct {
	Transport    string     `toml:"transport"`
	From         string     `toml:"from"`
	TemplatesDir string     `toml:"templates_dir"`
	MaxAttempts  int        `toml:"max_attempts"`
	SMTP         SMTPConfig `toml:"smtp"`
}

// SMTPConfig is [mail.smtp].
type SMTPConfig struct {
	Host         string   `toml:"host"`
	Port         int      `toml:"port"`
	TLS          string   `toml:"tls"`
	Username     string   `toml:"username"`
	PasswordEnv  string   `toml:"password_env"`
	PasswordFile string   `toml:"password_file"`
	Timeout      duration `toml:"timeout"`
}

// ResetConfig is [reset].
type ResetConfig struct {
	TokenTTL          duration `toml:"token_ttl"`
	MinPasswordLength int      `toml:"min_password_length"`
	MaxPasswordLength int      `toml:"max_password_length"`
	MinStrength       int      `toml:"min_strength"`
	AfterResetURL     string   `toml:"after_reset_url"`
	TemplatesDir      string   `toml:"templates_dir"`
}

// LimitsConfig is [limits].
type LimitsConfig struct {
	PerEmail       string   `toml:"per_email"`
	PerIP          string   `toml:"per_ip"`
	TokenPerIP     string   `toml:"token_per_ip"`
	TokenGlobal    string   `toml:"token_global"`
	TrustedProxies []string `toml:"trusted_proxies"`
}

// StoreConfig is [store].
type StoreConfig struct {
	Backend           string   `toml:"backend"`
	RedisURL          string   `toml:"redis_url"`
	RedisURLEnv       string   `toml:"redis_url_env"`
	RedisURLFile      string   `toml:"redis_url_file"`
	RedisAddrs        []string `toml:"redis_addrs"`
	RedisMasterName   string   `toml:"redis_master_name"`
	RedisCluster      bool     `toml:"redis_cluster"`
	RedisPasswordEnv  string   `toml:"redis_password_env"`
	RedisPasswordFile string   `toml:"redis_password_file"`
	KeyPrefix         string   `toml:"key_prefix"`
}

// AdminConfig is [admin].
type AdminConfig struct {
	Listen string `toml:"listen"`
}

// duration is a time.Duration written as "1h", "30s" in TOML.
type duration struct{ time.Duration }

func (d *duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration (use e.g. \"30s\", \"15m\", \"1h\")", b)
	}
	d.Duration = v
	return nil
}

func (d duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// defaultConfig returns the configuration that an empty file means.
func defaultConfig() Config {
	return Config{
		Listen:        "127.0.0.1:8080",
		Prefix:        "/pwreset",
		DataDir:       "./data",
		LogFormat:     "auto",
		LogLevel:      "info",
		AccessLog:     "all",
		ShutdownGrace: duration{15 * time.Second},
		Users: UsersConfig{
			Driver: "sqlite", Table: "users", IDColumn: "id", EmailColumn: "email", PasswordColumn: "password",
			NameColumn: "name", Hash: "auto", UpgradeCost: true,
		},
		Mail: MailConfig{
			Transport: "outbox", MaxAttempts: reset.DefaultMaxAttempts,
			SMTP: SMTPConfig{Port: 587, TLS: "starttls", Timeout: duration{10 * time.Second}},
		},
		Reset: ResetConfig{
			TokenTTL: duration{reset.DefaultTokenTTL}, MinPasswordLength: reset.DefaultMinPassword,
			MaxPasswordLength: reset.DefaultMaxPassword, MinStrength: 3,
		},
		Limits: LimitsConfig{PerEmail: "3/hour", PerIP: "20/hour", TokenPerIP: "30/hour", TokenGlobal: "600/minute"},
		Store:  StoreConfig{Backend: "bolt", KeyPrefix: "resetgate:"},
		Admin:  AdminConfig{Listen: "127.0.0.1:9090"},
	}
}

// Problem is one thing wrong with a config file.
type Problem struct {
	Key  string // dotted, e.g. "users.dsn"
	Line int    // 0 when the key is absent from the file
	Msg  string
}

func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("line %d: %s: %s", p.Line, p.Key, p.Msg)
	}
	if p.Key == "" {
		return p.Msg
	}
	return fmt.Sprintf("%s: %s", p.Key, p.Msg)
}

// ConfigError lists every problem found in a config file at once.
type ConfigError struct {
	Path     string
	Problems []Problem
}

func (e *ConfigError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d problem(s):", e.Path, len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  " + p.String())
	}
	return b.String()
}

// loadConfig reads, decodes and validates the file at path. Unknown keys, type errors and
// invalid values are all reported together, each with its key and line.
func loadConfig(path string, getenv func(string) string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("config file %s not found (copy the annotated config.toml from the resetgate repository, or try `resetgate demo`)", path)
		}
		return nil, fmt.Errorf("read config: %w", err)
	}
	return parseConfig(path, data, getenv)
}

func parseConfig(path string, data []byte, getenv func(string) string) (*Config, error) {
	cfg := defaultConfig()
	cfg.path = path
	lines := keyLines(data)
	cerr := &ConfigError{Path: path}
	dec := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		var strict *toml.StrictMissingError
		var de *toml.DecodeError
		switch {
		case errors.As(err, &strict):
			for _, e := range strict.Errors {
				key := strings.Join(e.Key(), ".")
				row, _ := e.Position()
				msg := "unknown key" + suggest(key)
				cerr.Problems = append(cerr.Problems, Problem{Key: key, Line: row, Msg: msg})
			}
		case errors.As(err, &de):
			row, _ := de.Position()
			key := strings.Join(de.Key(), ".")
			cerr.Problems = append(cerr.Problems, Problem{Key: key, Line: row, Msg: de.Error()})
			return nil, cerr // the rest of the file was not decoded: other checks would mislead
		default:
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	cfg.validate(getenv, func(key, format string, args ...any) {
		cerr.Problems = append(cerr.Problems, Problem{Key: key, Line: lines[key], Msg: fmt.Sprintf(format, args...)})
	})
	if len(cerr.Problems) > 0 {
		sort.SliceStable(cerr.Problems, func(i, j int) bool {
			a, b := cerr.Problems[i].Line, cerr.Problems[j].Line
			return a != 0 && (b == 0 || a < b)
		})
		return nil, cerr
	}
	return &cfg, nil
}

// suggest turns common mistakes into a hint: secrets written inline, and near-misses of a
// known key in the same table (one or two typed characters off).
func suggest(key string) string {
	table, last := "", key
	if i := strings.LastIndexByte(key, '.'); i >= 0 {
		table, last = key[:i+1], key[i+1:]
	}
	if last == "password" || last == "secret" || last == "redis_password" {
		return " (secrets are never read inline: use " + last + "_env or " + last + "_file)"
	}
	best, bestDist := "", 3
	for _, known := range knownKeys {
		kt, kl := "", known
		if i := strings.LastIndexByte(known, '.'); i >= 0 {
			kt, kl = known[:i+1], known[i+1:]
		}
		d := editDistance(strings.ToLower(strings.ReplaceAll(last, "-", "_")), kl)
		if kt != table {
			d++ // the right name in the wrong table is a likely mistake too
		}
		if d < bestDist {
			best, bestDist = known, d
		}
	}
	if best != "" {
		return fmt.Sprintf(" (did you mean %s?)", best)
	}
	return ""
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

var knownKeys = []string{
	"listen", "public_url", "upstream", "prefix", "data_dir", "site_name", "log_format", "log_level", "access_log",
	"shutdown_grace", "tls_cert", "tls_key",
	"users.driver", "users.dsn", "users.dsn_env", "users.dsn_file", "users.table", "users.id_column", "users.email_column",
	"users.password_column", "users.name_column", "users.email_case_sensitive", "users.hash", "users.fallback_hash", "users.upgrade_cost",
	"users.find_user", "users.set_password", "users.after_reset",
	"mail.transport", "mail.from", "mail.templates_dir", "mail.max_attempts", "mail.smtp.host", "mail.smtp.port",
	"mail.smtp.tls", "mail.smtp.username", "mail.smtp.password_env", "mail.smtp.password_file", "mail.smtp.timeout",
	"reset.token_ttl", "reset.min_password_length", "reset.max_password_length", "reset.min_strength",
	"reset.after_reset_url", "reset.templates_dir",
	"limits.per_email", "limits.per_ip", "limits.token_per_ip", "limits.token_global", "limits.trusted_proxies",
	"store.backend", "store.redis_url", "store.redis_url_env", "store.redis_url_file", "store.redis_addrs",
	"store.redis_master_name", "store.redis_cluster", "store.redis_password_env", "store.redis_password_file", "store.key_prefix",
	"admin.listen",
}

var (
	tableHeader = regexp.MustCompile(`^\[\s*([A-Za-z0-9_.-]+)\s*\]`)
	keyAssign   = regexp.MustCompile(`^([A-Za-z0-9_-]+)\s*=`)
	prefixRe    = regexp.MustCompile(`^(/[a-z0-9][a-z0-9._-]*)+$`)
)

// keyLines maps each dotted key to the line where the file sets it, for messages about values
// that decode but do not validate. It reads the plain layout config files use ([table] headers,
// one key = value per line) and skips multi-line strings.
func keyLines(data []byte) map[string]int {
	lines := map[string]int{}
	table := ""
	inString := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if inString != "" {
			if strings.Count(line, inString)%2 == 1 {
				inString = ""
			}
			continue
		}
		if m := tableHeader.FindStringSubmatch(line); m != nil {
			table = m[1] + "."
			continue
		}
		if m := keyAssign.FindStringSubmatch(line); m != nil {
			if _, seen := lines[table+m[1]]; !seen {
				lines[table+m[1]] = n
			}
			for _, q := range []string{`"""`, `'''`} {
				if strings.Count(line, q)%2 == 1 {
					inString = q
				}
			}
		}
	}
	return lines
}

// validate checks every value and reports each problem through bad; it also resolves the
// parsed forms (URLs, rates) that the wiring uses.
func (c *Config) validate(getenv func(string) string, bad func(key, format string, args ...any)) {
	if c.PublicURL == "" {
		bad("public_url", "required: the address users reach this site at, e.g. \"https://app.example.com\"; every link in mail is built from it, never from a request's Host header")
	} else if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		bad("public_url", "%q must be an absolute http:// or https:// URL with a host and no query, fragment or credentials", c.PublicURL)
	} else {
		c.public = u
	}
	if c.Upstream == "" {
		bad("upstream", "required: the legacy app's address, e.g. \"http://127.0.0.1:5000\"")
	} else if u, err := url.Parse(c.Upstream); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("upstream", "%q must be an absolute http:// or https:// URL", c.Upstream)
	} else {
		c.up = u
	}
	if !prefixRe.MatchString(c.Prefix) {
		bad("prefix", "%q must be a lower-case path such as \"/pwreset\" (no trailing slash)", c.Prefix)
	}
	if c.Listen == "" {
		bad("listen", "required, e.g. \"127.0.0.1:8080\" or \":8080\"")
	}
	if c.DataDir == "" {
		bad("data_dir", "required: where resetgate keeps its state file and outbox")
	}
	oneOf(bad, "log_format", c.LogFormat, "auto", "text", "json")
	oneOf(bad, "log_level", c.LogLevel, "debug", "info", "warn", "error")
	oneOf(bad, "access_log", c.AccessLog, "all", "reset", "off")
	if (c.TLSCert == "") != (c.TLSKey == "") {
		bad("tls_cert", "tls_cert and tls_key go together")
	}
	if c.ShutdownGrace.Duration < 0 {
		bad("shutdown_grace", "must not be negative")
	}

	u := &c.Users
	oneOf(bad, "users.driver", u.Driver, "sqlite", "postgres", "mysql")
	secretSource(bad, getenv, "users.dsn", u.DSN, u.DSNEnv, u.DSNFile, true)
	if _, err := passhash.NewPolicy(u.Hash, u.FallbackHash, nil); err != nil {
		bad("users.hash", "%v (known: auto, %s)", err, strings.Join(passhash.Names(), ", "))
	}

	m := &c.Mail
	oneOf(bad, "mail.transport", m.Transport, "outbox", "smtp")
	if m.From == "" {
		bad("mail.from", "required, e.g. \"Example App <no-reply@example.com>\"")
	}
	if m.MaxAttempts < 1 {
		bad("mail.max_attempts", "must be at least 1")
	}
	if m.Transport == "smtp" {
		if m.SMTP.Host == "" {
			bad("mail.smtp.host", "required with transport = \"smtp\"")
		}
		if m.SMTP.Port < 1 || m.SMTP.Port > 65535 {
			bad("mail.smtp.port", "%d is not a port", m.SMTP.Port)
		}
		oneOf(bad, "mail.smtp.tls", m.SMTP.TLS, "starttls", "tls", "none")
		if m.SMTP.Username != "" {
			secretSource(bad, getenv, "mail.smtp.password", "", m.SMTP.PasswordEnv, m.SMTP.PasswordFile, true)
		}
	}

	r := &c.Reset
	if r.TokenTTL.Duration < time.Minute || r.TokenTTL.Duration > reset.MaxTokenTTL {
		bad("reset.token_ttl", "%s is outside 1m…24h (links must expire within a day: SECURITY.md RQ-TOK-04)", r.TokenTTL.Duration)
	}
	if r.MinPasswordLength < 1 {
		bad("reset.min_password_length", "must be at least 1 (8 or more recommended)")
	}
	if r.MaxPasswordLength < 64 || r.MaxPasswordLength < r.MinPasswordLength {
		bad("reset.max_password_length", "must be at least 64 and at least min_password_length (NIST SP 800-63B: accept at least 64 characters)")
	}
	if c.public != nil {
		if err := web.CheckAfterResetURL(r.AfterResetURL, c.public); err != nil {
			bad("reset.after_reset_url", "%s", strings.TrimPrefix(err.Error(), "web: "))
		}
	}
	if r.MinStrength < 0 || r.MinStrength > 4 {
		bad("reset.min_strength", "%d is not a zxcvbn score (0–4)", r.MinStrength)
	}

	c.rates = map[string]reset.Rate{}
	for key, v := range map[string]string{"limits.per_email": c.Limits.PerEmail, "limits.per_ip": c.Limits.PerIP,
		"limits.token_per_ip": c.Limits.TokenPerIP, "limits.token_global": c.Limits.TokenGlobal} {
		rate, err := reset.ParseRate(v)
		if err != nil {
			bad(key, "%v", err)
		}
		c.rates[key] = rate
	}
	if _, err := clientip.New(c.Limits.TrustedProxies); err != nil {
		bad("limits.trusted_proxies", "%v", err)
	}

	s := &c.Store
	oneOf(bad, "store.backend", s.Backend, "bolt", "redis")
	if s.Backend == "redis" {
		if len(s.RedisAddrs) == 0 {
			secretSource(bad, getenv, "store.redis_url", s.RedisURL, s.RedisURLEnv, s.RedisURLFile, true)
		} else if s.RedisURL != "" || s.RedisURLEnv != "" || s.RedisURLFile != "" {
			bad("store.redis_addrs", "set either redis_url (one node) or redis_addrs (Sentinel or Cluster), not both")
		}
		secretSource(bad, getenv, "store.redis_password", "", s.RedisPasswordEnv, s.RedisPasswordFile, false)
		if s.RedisCluster && !strings.Contains(s.KeyPrefix, "{") {
			bad("store.key_prefix", "%q has no hash tag: in a Redis Cluster use e.g. \"{resetgate}:\" so all keys share one slot", s.KeyPrefix)
		}
	}
}

func oneOf(bad func(key, format string, args ...any), key, v string, allowed ...string) {
	for _, a := range allowed {
		if v == a {
			return
		}
	}
	bad(key, "%q is not one of %s", v, strings.Join(allowed, ", "))
}

// secretSource checks that exactly one of inline, name_env and name_file is set (inline may
// be disallowed by passing ""), and that the env variable or file is there.
func secretSource(bad func(key, format string, args ...any), getenv func(string) string, key, inline, env, file string, required bool) {
	n := 0
	for _, v := range []string{inline, env, file} {
		if v != "" {
			n++
		}
	}
	switch {
	case n == 0 && required:
		bad(key, "required: set %s_env (an environment variable's name) or %s_file (a file's path)", key, key)
	case n > 1:
		bad(key, "set only one of %s, %s_env and %s_file", key, key, key)
	case env != "" && getenv(env) == "":
		bad(key+"_env", "the environment variable %s is not set or empty", env)
	case file != "":
		if _, err := os.Stat(file); err != nil {
			bad(key+"_file", "%v", err)
		}
	}
}

// secret resolves a value set inline, through an environment variable or in a file (whose
// trailing newline is dropped, as editors and `echo` add one).
func secret(getenv func(string) string, inline, env, file string) (string, error) {
	switch {
	case env != "":
		return getenv(env), nil
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", err
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	return inline, nil
}
