package main

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"resetgate/reset"
)

func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func TestShippedConfigLoads(t *testing.T) {
	cfg, err := loadConfig("config.toml", env("LEGACY_DSN", "postgres://app@127.0.0.1/app"))
	if err != nil {
		t.Fatalf("the shipped config.toml does not load: %v", err)
	}
	def := defaultConfig()
	// The annotated file documents the defaults: where it sets a key, it sets the default.
	for _, c := range []struct {
		key       string
		got, want any
	}{
		{"listen", cfg.Listen, def.Listen},
		{"prefix", cfg.Prefix, def.Prefix},
		{"data_dir", cfg.DataDir, def.DataDir},
		{"access_log", cfg.AccessLog, def.AccessLog},
		{"shutdown_grace", cfg.ShutdownGrace, def.ShutdownGrace},
		{"users.hash", cfg.Users.Hash, def.Users.Hash},
		{"users.fallback_hash", cfg.Users.FallbackHash, def.Users.FallbackHash},
		{"mail.transport", cfg.Mail.Transport, def.Mail.Transport},
		{"mail.max_attempts", cfg.Mail.MaxAttempts, def.Mail.MaxAttempts},
		{"mail.smtp.port", cfg.Mail.SMTP.Port, def.Mail.SMTP.Port},
		{"mail.smtp.tls", cfg.Mail.SMTP.TLS, def.Mail.SMTP.TLS},
		{"reset.token_ttl", cfg.Reset.TokenTTL, def.Reset.TokenTTL},
		{"reset.min_password_length", cfg.Reset.MinPasswordLength, def.Reset.MinPasswordLength},
		{"reset.min_strength", cfg.Reset.MinStrength, def.Reset.MinStrength},
		{"reset.wasnt_me_ttl", cfg.Reset.WasntMeTTL, def.Reset.WasntMeTTL},
		{"reset.code", cfg.Reset.Code, def.Reset.Code},
		{"reset.code_length", cfg.Reset.CodeLength, def.Reset.CodeLength},
		{"hooks.timeout", cfg.Hooks.Timeout, def.Hooks.Timeout},
		{"hooks.max_attempts", cfg.Hooks.MaxAttempts, def.Hooks.MaxAttempts},
		{"limits.per_email", cfg.Limits.PerEmail, def.Limits.PerEmail},
		{"limits.per_ip", cfg.Limits.PerIP, def.Limits.PerIP},
		{"limits.token_per_ip", cfg.Limits.TokenPerIP, def.Limits.TokenPerIP},
		{"limits.token_global", cfg.Limits.TokenGlobal, def.Limits.TokenGlobal},
		{"limits.pages_in_flight", cfg.Limits.PagesInFlight, def.Limits.PagesInFlight},
		{"store.backend", cfg.Store.Backend, def.Store.Backend},
		{"store.key_prefix", cfg.Store.KeyPrefix, def.Store.KeyPrefix},
		{"admin.listen", cfg.Admin.Listen, def.Admin.Listen},
		{"proxy.body_idle_timeout", cfg.Proxy.BodyIdleTimeout, def.Proxy.BodyIdleTimeout},
		{"proxy.body_min_rate", cfg.Proxy.BodyMinRate, def.Proxy.BodyMinRate},
		{"proxy.buffer_requests", cfg.Proxy.BufferRequests, def.Proxy.BufferRequests},
		{"proxy.buffer_max", cfg.Proxy.BufferMax, def.Proxy.BufferMax},
		{"proxy.allow_underscore_headers", cfg.Proxy.AllowUnderscoreHeaders, def.Proxy.AllowUnderscoreHeaders},
		{"abuse", cfg.Abuse, def.Abuse},
		{"ui.wrap_selector", cfg.UI.WrapSelector, def.UI.WrapSelector},
	} {
		if c.got != c.want {
			t.Errorf("config.toml sets %s = %v, but the default is %v", c.key, c.got, c.want)
		}
	}
	data, _ := os.ReadFile("config.toml")
	for _, key := range knownKeys {
		if last := key[strings.LastIndexByte(key, '.')+1:]; !strings.Contains(string(data), last) {
			t.Errorf("config.toml does not document %s", key)
		}
	}
}

func problems(t *testing.T, toml string, getenv func(string) string) []Problem {
	t.Helper()
	_, err := parseConfig("test.toml", []byte(toml), getenv)
	var cerr *ConfigError
	if !errors.As(err, &cerr) {
		t.Fatalf("parseConfig = %v, want a *ConfigError", err)
	}
	return cerr.Problems
}

const minimal = `public_url = "https://app.example.com"
upstream = "http://127.0.0.1:5000"
[users]
dsn = "file:app.db"
[mail]
from = "App <no-reply@example.com>"
`

func TestMinimalConfig(t *testing.T) {
	cfg, err := parseConfig("m.toml", []byte(minimal), env())
	if err != nil {
		t.Fatalf("parseConfig(minimal) = %v", err)
	}
	if cfg.public.Host != "app.example.com" || cfg.rates["limits.per_email"].N != 3 {
		t.Errorf("defaults not applied: %+v", cfg)
	}
}

func TestConfigProblems(t *testing.T) {
	tests := []struct {
		name    string
		toml    string
		wantKey string
		line    int
		want    string
	}{
		{"typo in a key", minimal + "[reset]\ntoken_tl = \"1h\"\n", "reset.token_tl", 8, "unknown key (did you mean reset.token_ttl?)"},
		{"bad challenge mode", minimal + "[abuse]\nchallenge = \"sometimes\"\n", "abuse.challenge", 8, `"sometimes" is not one of off, always, auto`},
		{"auto without a threshold", minimal + "[abuse]\nchallenge = \"auto\"\nauto_threshold = \"unlimited\"\n", "abuse.auto_threshold", 9, "never turns the challenge on"},
		{"difficulty too low", minimal + "[abuse]\ndifficulty = 10\n", "abuse.difficulty", 8, "outside 1000…10000000"},
		{"unknown captcha", minimal + "[abuse]\ncaptcha = \"nocaptcha\"\ncaptcha_site_key = \"k\"\ncaptcha_secret_env = \"CAPTCHA\"\n", "abuse.captcha", 8, "not one of turnstile"},
		{"captcha without secret", minimal + "[abuse]\ncaptcha = \"turnstile\"\ncaptcha_site_key = \"k\"\n", "abuse.captcha_secret", 0, "captcha_secret_env"},
		{"captcha secret inline", minimal + "[abuse]\ncaptcha_secret = \"x\"\n", "abuse.captcha_secret", 8, "captcha_secret_env or captcha_secret_file"},
		{"bad verify URL", minimal + "[abuse]\ncaptcha_verify_url = \"siteverify\"\n", "abuse.captcha_verify_url", 8, "absolute http"},
		{"inline secret", minimal + "[mail.smtp]\npassword = \"hunter2\"\n", "mail.smtp.password", 8, "password_env or password_file"},
		{"bad duration", minimal + "[reset]\ntoken_ttl = \"an hour\"\n", "reset.token_ttl", 8, "not a duration"},
		{"ttl over a day", minimal + "[reset]\ntoken_ttl = \"48h\"\n", "reset.token_ttl", 8, "outside 1m…24h"},
		{"bad rate", minimal + "[limits]\nper_ip = \"lots\"\n", "limits.per_ip", 8, "want N/unit"},
		{"negative pages", minimal + "[limits]\npages_in_flight = -1\n", "limits.pages_in_flight", 8, "must not be negative"},
		{"bad driver", strings.Replace(minimal, "[users]\n", "[users]\ndriver = \"oracle\"\n", 1), "users.driver", 4, `"oracle" is not one of`},
		{"bad hash", strings.Replace(minimal, "[users]\n", "[users]\nhash = \"md5\"\n", 1), "users.hash", 4, "md5"},
		{"public_url from Host", strings.Replace(minimal, "https://app.example.com", "app.example.com", 1), "public_url", 1, "absolute"},
		{"prefix with slash", "prefix = \"/pwreset/\"\n" + minimal, "prefix", 1, "no trailing slash"},
		{"key in the wrong table", minimal + "prefix = \"/x\"\n", "mail.prefix", 7, "did you mean prefix?"},
		{"bad proxy CIDR", minimal + "[limits]\ntrusted_proxies = [\"10.0.0.0/33\"]\n", "limits.trusted_proxies", 8, "10.0.0.0/33"},
		{"dsn env missing", strings.Replace(minimal, `dsn = "file:app.db"`, `dsn_env = "NOPE"`, 1), "users.dsn_env", 4, "NOPE is not set"},
		{"two dsn sources", strings.Replace(minimal, `dsn = "file:app.db"`, "dsn = \"x\"\ndsn_file = \"/x\"", 1), "users.dsn", 4, "only one"},
		{"smtp without password", minimal + "transport = \"smtp\"\n[mail.smtp]\nhost = \"smtp.example.com\"\nusername = \"u\"\n", "mail.smtp.password", 0, "password_env"},
		{"wrong type", minimal + "[reset]\nmin_password_length = \"eight\"\n", "reset.min_password_length", 8, `a number, got the string "eight"`},
		{"unquoted text", minimal + "[reset]\ntoken_ttl = 1h\n", "reset.token_ttl", 8, `text goes in double quotes: token_ttl = "1h"`},
		{"key set twice", minimal + "from = \"x\"\n", "mail.from", 7, "set twice (first on line 6)"},
		{"dotted key", minimal + "smtp.port = \"25\"\n", "mail.smtp.port", 7, `a number, got the string "25"`},
		{"unknown table", minimal + "[smpt]\nport = 25\n", "smpt", 7, "unknown key"},
		{"table given a value", minimal + "smtp = \"localhost\"\n", "mail.smtp", 7, `a table ([mail.smtp]), got the string "localhost"`},
		{"list of strings", minimal + "[limits]\ntrusted_proxies = \"10.0.0.0/8\"\n", "limits.trusted_proxies", 8, `a list of strings such as ["a", "b"], got the string`},
		{"bool as string", strings.Replace(minimal, "[users]\n", "[users]\nupgrade_cost = \"yes\"\n", 1), "users.upgrade_cost", 4, `true or false (without quotes), got the string "yes"`},
		{"driver and dsn disagree", strings.Replace(minimal, `dsn = "file:app.db"`, `dsn = "postgresql://app@db/app"`, 1), "users.driver", 0, `set driver = "postgres"`},
		{"bad strip header", minimal + "[proxy]\nstrip_headers = [\"X Auth\"]\n", "proxy.strip_headers", 8, "not a header name"},
		{"idle timeout zero", minimal + "[proxy]\nbody_idle_timeout = \"0s\"\n", "proxy.body_idle_timeout", 8, "outside 1s…1h"},
		{"negative rate", minimal + "[proxy]\nbody_min_rate = -1\n", "proxy.body_min_rate", 8, "bytes per second"},
		{"bad size", minimal + "[proxy]\nbuffer_max = \"lots\"\n", "proxy.buffer_max", 8, "not a size"},
		{"tiny buffer", minimal + "[proxy]\nbuffer_max = \"10B\"\n", "proxy.buffer_max", 8, "outside 1KiB…16GiB"},
		{"wrong type", minimal + "[reset]\nmin_password_length = \"eight\"\n", "reset.min_password_length", 8, ""},
		{"wasnt-me link for a year", minimal + "[reset]\nwasnt_me_ttl = \"8760h\"\n", "reset.wasnt_me_ttl", 8, "outside 1h…720h"},
		{"code too short", minimal + "[reset]\ncode_length = 4\n", "reset.code_length", 8, "outside 6…12"},
		{"code not a switch", minimal + "[reset]\ncode = \"yes\"\n", "reset.code", 8, "true or false"},
		{"hook without a secret", minimal + "[hooks]\nwasnt_me = \"http://127.0.0.1:5000/x\"\n", "hooks.secret", 0, "secret_env"},
		{"hook secret inline", minimal + "[hooks]\nsecret = \"s\"\n", "hooks.secret", 8, "unknown key"},
		{"hook URL relative", minimal + "[hooks]\npassword_changed = \"/internal/pw\"\nsecret_env = \"HOOK_SECRET\"\n", "hooks.password_changed", 8, "absolute"},
		{"hook timeout", minimal + "[hooks]\ntimeout = \"5m\"\n", "hooks.timeout", 8, "outside 1s…1m"},
		{"hook attempts", minimal + "[hooks]\nmax_attempts = 0\n", "hooks.max_attempts", 8, "outside 1…30"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps := problems(t, tt.toml, env())
			for _, p := range ps {
				if p.Key == tt.wantKey {
					if tt.line != 0 && p.Line != tt.line {
						t.Errorf("%s reported at line %d, want %d", p.Key, p.Line, tt.line)
					}
					if !strings.Contains(p.String(), tt.want) {
						t.Errorf("problem %q lacks %q", p, tt.want)
					}
					return
				}
			}
			t.Errorf("no problem for %s among %v", tt.wantKey, ps)
		})
	}
}

func TestConfigReportsEveryProblemAtOnce(t *testing.T) {
	ps := problems(t, "listen = \"\"\nlog_level = \"loud\"\n[users]\ndriver = \"x\"\n[mail]\ntransport = \"pigeon\"\n", env())
	keys := map[string]bool{}
	for _, p := range ps {
		keys[p.Key] = true
	}
	for _, k := range []string{"public_url", "upstream", "listen", "log_level", "users.driver", "users.dsn", "mail.transport", "mail.from"} {
		if !keys[k] {
			t.Errorf("problem for %s missing; got %v", k, ps)
		}
	}
}

// TestConfigTypeErrorsHideNothing is issue 19's report: a value of the wrong type used to stop
// the whole check with Go's own words (main.SMTPConfig.Port of type int).
func TestConfigTypeErrorsHideNothing(t *testing.T) {
	_, err := parseConfig("app.toml", []byte(minimal+`transport = "smtp"
[mail.smtp]
host = "smtp.example.com"
port = "587"
tls = "startls"
[reset]
token_ttl = 3600
min_strength = "3"
[limits]
per_ip = "lots"
`), env())
	var cerr *ConfigError
	if !errors.As(err, &cerr) {
		t.Fatalf("parseConfig = %v, want a *ConfigError", err)
	}
	want := []string{
		`line 10: mail.smtp.port: a number, got the string "587" (write numbers without quotes)`,
		`line 11: mail.smtp.tls: "startls" is not one of starttls, tls, none`,
		`line 13: reset.token_ttl: a duration in double quotes such as "30s", "15m" or "1h", got the number 3600`,
		`line 14: reset.min_strength: a number, got the string "3" (write numbers without quotes)`,
		`line 16: limits.per_ip: `,
	}
	if len(cerr.Problems) != len(want) {
		t.Errorf("parseConfig reported %d problems, want %d:\n%v", len(cerr.Problems), len(want), cerr)
	}
	for i, w := range want {
		if i < len(cerr.Problems) && !strings.HasPrefix(cerr.Problems[i].String(), w) {
			t.Errorf("problem %d = %q, want %q…", i, cerr.Problems[i], w)
		}
	}
	for _, p := range cerr.Problems {
		for _, leak := range []string{"toml:", "main.", "struct field", "of type"} {
			if strings.Contains(p.String(), leak) {
				t.Errorf("problem %q leaks Go's words %q", p, leak)
			}
		}
	}
}

func TestConfigSyntaxErrors(t *testing.T) {
	tests := []struct {
		name string
		toml string
		want []string // every problem, in order
	}{
		{"two unquoted values, both reported, and the rest checked",
			"public_url = https://app.example.com\nupstream = \"http://127.0.0.1:5000\"\n[users]\ndsn = \"file:app.db\"\ndriver = \"oracle\"\n[mail]\nfrom = App <no-reply@example.com>\n",
			[]string{
				`line 1: public_url: not valid TOML: unexpected character 'h' at start of value; text goes in double quotes: public_url = "https://app.example.com"`,
				`line 5: users.driver: "oracle" is not one of sqlite, postgres, mysql, ldap`,
				`line 7: mail.from: not valid TOML: unexpected character 'A' at start of value; text goes in double quotes: from = "App <no-reply@example.com>"`,
			}},
		{"broken table header stops the check, saying so",
			minimal + "[reset\ntoken_ttl = \"1h\"\n",
			[]string{
				`line 7: not valid TOML: expected ']' to close table name`,
				`line 7: the rest of the file was not checked: fix this line first`,
			}},
		{"unterminated string",
			minimal + "[reset]\nafter_reset_url = \"/login\n",
			[]string{`line 8: reset.after_reset_url: not valid TOML: basic strings cannot have new lines`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, p := range problems(t, tt.toml, env()) {
				got = append(got, p.String())
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// TestConfigFieldKindsAreDecoded keeps decodeTable in step with Config: every field of every
// table must be of a kind it decodes.
func TestConfigFieldKindsAreDecoded(t *testing.T) {
	var walk func(t reflect.Type, prefix string) []string
	walk = func(typ reflect.Type, prefix string) (bad []string) {
		for i := range typ.NumField() {
			f := typ.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
			if !f.IsExported() || name == "" {
				continue
			}
			ft := f.Type
			switch {
			case reflect.PointerTo(ft).Implements(textUnmarshaler):
			case ft.Kind() == reflect.Struct:
				bad = append(bad, walk(ft, prefix+name+".")...)
			case ft.Kind() == reflect.String, ft.Kind() == reflect.Int, ft.Kind() == reflect.Bool:
			case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.String:
			default:
				bad = append(bad, prefix+name+" ("+ft.String()+")")
			}
		}
		return bad
	}
	if bad := walk(reflect.TypeFor[Config](), ""); len(bad) > 0 {
		t.Errorf("decodeTable cannot decode %s: teach it the kind", strings.Join(bad, ", "))
	}
}

func TestMissingConfigFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "none.toml")
	for _, cmd := range []string{"serve", "check", "doctor", "send-link"} {
		code, _, errOut := cli(t, env(), "", cmd, "-config", path, "x@example.com")
		if code != 2 || !strings.Contains(errOut, path+": file not found") {
			t.Errorf("%s with a missing config = %d %q, want 2 and \"file not found\"", cmd, code, errOut)
		}
	}
}

func TestSecretFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "dsn")
	os.WriteFile(f, []byte("postgres://x@y/z\n"), 0o600)
	got, err := secret(env(), "", "", f)
	if err != nil || got != "postgres://x@y/z" {
		t.Errorf("secret(file) = %q, %v; want the value without its newline", got, err)
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add(minimal)
	f.Add("[users]\nafter_reset = [\"\"\"\nx\n\"\"\"]\n")
	f.Add("a.b.c = 1\n[[x]]\n")
	f.Add(minimal + "[mail.smtp]\nport = \"587\"\ntimeout = 3\n[limits]\ntrusted_proxies = [1, \"x\"]\n")
	f.Add("public_url = x\nupstream = y\n[users]\ndsn = z = 1\n")
	f.Add("[users]\nafter_reset = \"x\"\n[mail]\nsmtp = 1\n[[reset]]\n")
	f.Fuzz(func(t *testing.T, s string) {
		cfg, err := parseConfig("fuzz.toml", []byte(s), env())
		if err == nil {
			if cfg.public == nil || cfg.up == nil {
				t.Errorf("a config without a valid public_url or upstream was accepted")
			}
			return
		}
		var cerr *ConfigError
		if !errors.As(err, &cerr) || len(cerr.Problems) == 0 {
			t.Fatalf("parseConfig = %v, want a *ConfigError listing problems", err)
		}
		lines := strings.Count(s, "\n") + 1
		for _, p := range cerr.Problems {
			if p.Msg == "" || p.Line < 0 || p.Line > lines {
				t.Errorf("problem %+v: empty, or on a line the file does not have", p)
			}
			for _, leak := range []string{"toml:", "main.", "struct field"} {
				if strings.Contains(p.Msg, leak) {
					t.Errorf("problem %q leaks Go's words %q", p, leak)
				}
			}
		}
	})
}

func TestAppLoginPath(t *testing.T) {
	tests := []struct {
		name, toml, want string
	}{
		{"login_path wins", minimal + "[app]\nlogin_path = \"/signin\"\n[reset]\nafter_reset_url = \"/login\"\n", "/signin"},
		{"else after_reset_url", minimal + "[reset]\nafter_reset_url = \"/login\"\n", "/login"},
		{"else none known", minimal, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parseConfig("c.toml", []byte(tt.toml), env())
			if err != nil {
				t.Fatalf("parseConfig = %v", err)
			}
			if got := cfg.signInURL(); got != tt.want {
				t.Errorf("signInURL() = %q, want %q", got, tt.want)
			}
		})
	}
	for _, bad := range []string{"login", "https://evil.example/login", "//evil.example", `/\evil`} {
		t.Run("refuses "+bad, func(t *testing.T) {
			ps := problems(t, minimal+"[app]\nlogin_path = '"+bad+"'\n", env())
			for _, p := range ps {
				if p.Key == "app.login_path" && p.Line == 8 && strings.Contains(p.String(), "starting with a single /") {
					return
				}
			}
			t.Errorf("login_path %q: no app.login_path problem at line 8 among %v", bad, ps)
		})
	}
}

func TestHooksConfig(t *testing.T) {
	hooks := minimal + "[hooks]\nwasnt_me = \"http://127.0.0.1:5000/internal/wasnt-me\"\nsecret_env = \"HOOK_SECRET\"\n"
	ps := problems(t, hooks, env("HOOK_SECRET", "short"))
	if len(ps) != 1 || ps[0].Key != "hooks.secret_env" || ps[0].Line != 9 || !strings.Contains(ps[0].String(), "at least 16") {
		t.Errorf("a short hook secret: problems = %v, want one for hooks.secret_env on line 9 saying at least 16", ps)
	}
	cfg, err := parseConfig("h.toml", []byte(hooks), env("HOOK_SECRET", "0123456789abcdef0123"))
	if err != nil {
		t.Fatalf("parseConfig = %v", err)
	}
	h, err := openHooks(cfg, env("HOOK_SECRET", "0123456789abcdef0123"))
	if err != nil || h == nil || !h.Wants(reset.HookWasntMe) || h.Wants(reset.HookPasswordChanged) {
		t.Errorf("openHooks = %v, %v; want a sender for wasnt_me only", h, err)
	}
	if h, err := openHooks(&Config{Hooks: defaultConfig().Hooks}, env()); h != nil || err != nil {
		t.Errorf("openHooks without receivers = %v, %v; want nil, nil", h, err)
	}
}

// Two loads of the same file differ in nothing a reload reports, though each has its own
// catalogue.
func TestReloadOfAnUnchangedFileReportsNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(path, []byte(minimal+"[ui]\nlanguages = [\"en\", \"de\"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a, errA := loadConfig(path, env())
	b, errB := loadConfig(path, env())
	if errA != nil || errB != nil {
		t.Fatal(errA, errB)
	}
	if got := structuralChanges(a, b); len(got) > 0 {
		t.Errorf("structuralChanges of one file loaded twice = %q, want none", got)
	}
}

func TestReloadSaysHooksNeedARestart(t *testing.T) {
	old, updated := defaultConfig(), defaultConfig()
	updated.Hooks.WasntMe = "http://127.0.0.1:5000/internal/wasnt-me"
	updated.Reset.WasntMeTTL.Duration = 2 * 24 * time.Hour
	if got := strings.Join(structuralChanges(&old, &updated), ", "); got != "reset.wasnt_me_ttl, hooks" {
		t.Errorf("structuralChanges = %q, want reset.wasnt_me_ttl, hooks", got)
	}
}
