package main

import (
	"fmt"
	"net/url"
	"time"

	"resetgate/apphtml"
	"resetgate/reset"
	"resetgate/reset/ldap"
	"resetgate/reset/webhook"
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

	App    AppConfig    `toml:"app"`
	Users  UsersConfig  `toml:"users"`
	Mail   MailConfig   `toml:"mail"`
	Reset  ResetConfig  `toml:"reset"`
	Limits LimitsConfig `toml:"limits"`
	Store  StoreConfig  `toml:"store"`
	Admin  AdminConfig  `toml:"admin"`
	Inject InjectConfig `toml:"inject"`
	Proxy  ProxyConfig  `toml:"proxy"`
	Hooks  HooksConfig  `toml:"hooks"`
	Abuse  AbuseConfig  `toml:"abuse"`
	UI     UIConfig     `toml:"ui"`

	// Filled by Load and validate, not read from the file.
	path   string
	public *url.URL
	up     *url.URL
	rates  map[string]reset.Rate
	// autoRate is [abuse] auto_threshold, parsed.
	autoRate reset.Rate
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
			LDAP: LDAPConfig{
				TLS: "starttls", Filter: ldap.DefaultFilter, MailAttribute: ldap.DefaultMailAttribute,
				NameAttribute: ldap.DefaultNameAttribute, ChangedAttribute: ldap.DefaultChangedAttribute,
				PasswordWrite: "auto", Timeout: duration{ldap.DefaultTimeout},
			},
		},
		Mail: MailConfig{
			Transport: "outbox", MaxAttempts: reset.DefaultMaxAttempts,
			SMTP: SMTPConfig{Port: 587, TLS: "starttls", Timeout: duration{10 * time.Second}},
		},
		Reset: ResetConfig{
			TokenTTL: duration{reset.DefaultTokenTTL}, MinPasswordLength: reset.DefaultMinPassword,
			MaxPasswordLength: reset.DefaultMaxPassword, MinStrength: 3, WasntMeTTL: duration{reset.DefaultWasntMeTTL},
			Code: true, CodeLength: reset.DefaultCodeLength,
		},
		Limits: LimitsConfig{PerEmail: "3/hour", PerIP: "20/hour", TokenPerIP: "30/hour", TokenGlobal: "600/minute",
			QueueMax: 10000, MailGlobal: "1000/hour", MailPerDomain: "300/hour"},
		Store: StoreConfig{Backend: "bolt", KeyPrefix: "resetgate:"},
		Admin: AdminConfig{Listen: "127.0.0.1:9090", AuditKeep: reset.DefaultAuditKeep,
			AuditRetention: duration{reset.DefaultAuditRetention}},
		App:   AppConfig{LoginField: "email", SessionMaxAge: duration{reset.DefaultSessionMaxAge}},
		Proxy: ProxyConfig{BodyIdleTimeout: duration{30 * time.Second}, BodyMinRate: 500, BufferMax: size{16 << 20}},
		Hooks: HooksConfig{Timeout: duration{webhook.DefaultTimeout}, MaxAttempts: reset.DefaultMaxAttempts},
		Abuse: defaultAbuse(),
		UI:    UIConfig{WrapSelector: apphtml.DefaultWrapSelector},
	}
}

// drain is how long mail jobs in hand may still run at shutdown: the same grace as requests,
// since both drain side by side.
func (c *Config) drain() time.Duration { return max(c.ShutdownGrace.Duration, time.Second) }

// complain reports one problem with the value of a dotted key; validation calls it for each.
type complain func(key, format string, args ...any)

// validate checks every value and reports each problem through bad; it also resolves the
// parsed forms (URLs, rates) that the wiring uses.
func (c *Config) validate(getenv func(string) string, bad complain) {
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

	c.App.validate(c.public, bad)
	c.Users.validate(getenv, bad)
	c.Mail.validate(getenv, bad)
	c.Reset.validate(c.public, bad)
	c.rates = c.Limits.validate(bad)
	c.Store.validate(getenv, bad)
	c.Inject.validate(c.Prefix, bad)
	c.Proxy.validate(bad)
	c.Admin.validate(getenv, bad)
	c.Hooks.validate(getenv, bad)
	c.autoRate = c.Abuse.validate(getenv, bad)
	c.UI.validate(c.Prefix, bad)
}
