package main

import (
	"strings"
	"testing"
	"time"
)

func TestConfigSessionTracking(t *testing.T) {
	cfg, err := parseConfig("c.toml", []byte(minimal+"[app]\nlogin_path = \"/login\"\nsession_cookies = [\"session\", \"remember_token\"]\n"), env())
	if err != nil {
		t.Fatalf("parseConfig = %v", err)
	}
	if !cfg.App.tracksSessions() || cfg.App.LoginField != "email" || cfg.App.SessionMaxAge.Duration != 720*time.Hour {
		t.Errorf("[app] = %+v, want tracking on with login_field \"email\" and session_max_age 720h by default", cfg.App)
	}
	off, err := parseConfig("c.toml", []byte(minimal+"[app]\nlogin_path = \"/login\"\n"), env())
	if err != nil || off.App.tracksSessions() {
		t.Errorf("without session_cookies: tracking on = %v (err %v), want off", off.App.tracksSessions(), err)
	}
	for _, tt := range []struct {
		name, app, key, want string
		line                 int
	}{
		{"cookies without a login path", "session_cookies = [\"session\"]\n", "app.session_cookies", "needs app.login_path", 8},
		{"a cookie name with a space", "login_path = \"/login\"\nsession_cookies = [\"my session\"]\n", "app.session_cookies", "not a cookie name", 9},
		{"a cookie listed twice", "login_path = \"/login\"\nsession_cookies = [\"s\", \"s\"]\n", "app.session_cookies", "listed twice", 9},
		{"an empty login field", "login_path = \"/login\"\nlogin_field = \" \"\n", "app.login_field", "must name", 9},
		{"a max age too short", "login_path = \"/login\"\nsession_max_age = \"10s\"\n", "app.session_max_age", "too short", 9},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ps := problems(t, minimal+"[app]\n"+tt.app, env())
			for _, p := range ps {
				if p.Key == tt.key && p.Line == tt.line && strings.Contains(p.String(), tt.want) {
					return
				}
			}
			t.Errorf("no %s problem at line %d saying %q among %v", tt.key, tt.line, tt.want, ps)
		})
	}
}

func TestTrackingSummary(t *testing.T) {
	on := AppConfig{LoginPath: "/login", LoginField: "email", SessionCookies: []string{"PHPSESSID"}, SessionMaxAge: duration{time.Hour}}
	if got := trackingSummary(&on); !strings.Contains(got, "tracking on") || !strings.Contains(got, "POST /login") || !strings.Contains(got, "PHPSESSID") {
		t.Errorf("trackingSummary(on) = %q, want it on, naming the path and the cookie", got)
	}
	if got := trackingSummary(&AppConfig{LoginPath: "/login"}); !strings.Contains(got, "tracking off") {
		t.Errorf("trackingSummary(no cookies) = %q, want off", got)
	}
}
