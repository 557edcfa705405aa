package main

import "resetgate/reset"

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

// validate checks [mail] and [mail.smtp].
func (m *MailConfig) validate(getenv func(string) string, bad complain) {
	oneOf(bad, "mail.transport", m.Transport, "outbox", "smtp")
	if m.From == "" {
		bad("mail.from", "required, e.g. \"Example App <no-reply@example.com>\"")
	}
	if m.MaxAttempts < 1 || m.MaxAttempts > reset.MaxMaxAttempts {
		bad("mail.max_attempts", "%d is outside 1…%d (the backoff reaches its 1h cap long before)", m.MaxAttempts, reset.MaxMaxAttempts)
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
}
